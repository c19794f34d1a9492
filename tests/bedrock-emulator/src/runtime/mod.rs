//! The Bedrock runtime (Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream).
//!
//! Placeholder that keeps the interface of `crate::state` compiling until the runtime lands:
//! every call is answered with a clear 501 so no client mistakes it for a model answer.

use std::sync::Arc;

use http::{Request, Response, StatusCode};

use crate::state::{ApiError, EmulatorState};
pub use crate::state::{Body, RuntimeContext};

/// The four runtime operations, by their route suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Converse,
    ConverseStream,
    InvokeModel,
    InvokeModelWithResponseStream,
}

impl Operation {
    /// The operation named by the last path segment of `/model/{modelId}/{suffix}`.
    pub fn from_path_suffix(suffix: &str) -> Option<Self> {
        match suffix {
            "converse" => Some(Self::Converse),
            "converse-stream" => Some(Self::ConverseStream),
            "invoke" => Some(Self::InvokeModel),
            "invoke-with-response-stream" => Some(Self::InvokeModelWithResponseStream),
            _ => None,
        }
    }
}

/// The runtime's own state.
#[derive(Debug, Default)]
pub struct RuntimeState;

impl RuntimeState {
    /// Back to the initial state (called by `POST /_emulator/reset`).
    pub fn reset(&self) {}
}

fn not_available() -> Response<Body> {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "UnknownOperationException",
        "runtime not available",
    )
    .into_response()
}

/// Serves one runtime call.
pub async fn handle(
    _ctx: &RuntimeContext,
    _op: Operation,
    _model_id: &str,
    _request: Request<bytes::Bytes>,
) -> Response<Body> {
    not_available()
}

/// Serves `/_emulator/runtime/...`.
pub async fn admin(_state: &Arc<EmulatorState>, _request: Request<bytes::Bytes>) -> Response<Body> {
    not_available()
}
