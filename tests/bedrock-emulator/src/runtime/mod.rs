//! The Bedrock runtime (`bedrock-runtime`): Converse, ConverseStream, InvokeModel and
//! InvokeModelWithResponseStream, with deterministic replies, real event streams, invocation
//! logs delivered to CloudWatch Logs, and injectable faults. See docs/emulator-runtime.md.

mod converse;
mod eventstream;
mod fail;
mod faults;
mod invoke;
mod logs;
mod models;
mod responder;
mod service;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{Value, json};

pub use crate::state::{Body, RuntimeContext};
use crate::state::{EmulatorState, full_body};
pub use faults::{FaultKind, FaultSpec};
pub use logs::Stats as LogStats;
pub use service::{Op as Operation, PACE_HEADER, identity_arn};

/// Environment variable giving the default pause between stream events, in milliseconds.
pub const PACE_ENV: &str = "BEDROCK_EMULATOR_PACE_MS";

impl Operation {
    /// The operation for the last path segment of `POST /model/{modelId}/{suffix}`.
    pub fn from_path_suffix(suffix: &str) -> Option<Self> {
        match suffix {
            "converse" => Some(Operation::Converse),
            "converse-stream" => Some(Operation::ConverseStream),
            "invoke" => Some(Operation::InvokeModel),
            "invoke-with-response-stream" => Some(Operation::InvokeModelWithResponseStream),
            _ => None,
        }
    }
}

/// The runtime's own state inside the emulator.
pub struct RuntimeState {
    faults: faults::Faults,
    logs: logs::Shipper,
    default_pace_ms: u64,
    pace_ms: AtomicU64,
}

impl Default for RuntimeState {
    fn default() -> Self {
        let default_pace_ms = std::env::var(PACE_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Self {
            faults: faults::Faults::default(),
            logs: logs::Shipper::default(),
            default_pace_ms,
            pace_ms: AtomicU64::new(default_pace_ms),
        }
    }
}

impl RuntimeState {
    /// Clears faults and restores the starting pace; queued log records are still delivered.
    pub fn reset(&self) {
        self.faults.clear();
        self.pace_ms.store(self.default_pace_ms, Ordering::SeqCst);
    }

    /// The pause between stream events for calls that do not set their own.
    pub fn pace_ms(&self) -> u64 {
        self.pace_ms.load(Ordering::SeqCst)
    }

    /// Sets the global pace (also what a `--pace-ms` option would call).
    pub fn set_pace_ms(&self, ms: u64) {
        self.pace_ms.store(ms, Ordering::SeqCst);
    }

    /// Adds a fault rule (what the admin route and a seed file's runtime section call).
    pub fn add_fault(&self, spec: FaultSpec) -> Result<u64, String> {
        self.faults.add(spec).map(|rule| rule.id)
    }

    /// Waits until every queued invocation-log record is delivered; call before shutdown.
    pub async fn flush_logs(&self) -> LogStats {
        self.logs.flush().await
    }
}

/// Serves one runtime call (the server routes `POST /model/{modelId}/{op}` here).
pub async fn handle(
    ctx: &RuntimeContext,
    op: Operation,
    model_id: &str,
    request: Request<Bytes>,
) -> Response<Body> {
    let mut response = service::serve(ctx, op, model_id, request).await;
    if let Ok(id) = HeaderValue::from_str(&ctx.request.request_id) {
        response.headers_mut().insert("x-amzn-RequestId", id);
    }
    response
}

fn admin_json(status: StatusCode, body: Value) -> Response<Body> {
    let mut response = Response::new(full_body(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn admin_error(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    admin_json(status, json!({ "message": message.into() }))
}

/// The runtime's admin routes under `/_emulator/runtime/` (no authentication):
/// - `GET|POST|DELETE faults`, `DELETE faults/{id}`: fault rules;
/// - `GET|PUT pacing` with `{"delayMs": N}`: the global pause between stream events;
/// - `GET logs`: delivery counts; `POST logs/flush`: waits until queued records are delivered.
pub async fn admin(state: &Arc<EmulatorState>, request: Request<Bytes>) -> Response<Body> {
    let path = request.uri().path().trim_end_matches('/').to_string();
    let rest = path.strip_prefix("/_emulator/runtime").unwrap_or(&path);
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let runtime = &state.runtime;
    match (request.method(), segments.as_slice()) {
        (&Method::GET, ["faults"]) => {
            admin_json(StatusCode::OK, json!({ "faults": runtime.faults.list() }))
        }
        (&Method::POST, ["faults"]) => match serde_json::from_slice::<FaultSpec>(request.body()) {
            Ok(spec) => match runtime.faults.add(spec) {
                Ok(rule) => admin_json(StatusCode::CREATED, json!(rule)),
                Err(e) => admin_error(StatusCode::BAD_REQUEST, e),
            },
            Err(e) => admin_error(StatusCode::BAD_REQUEST, format!("invalid fault: {e}")),
        },
        (&Method::DELETE, ["faults"]) => {
            runtime.faults.clear();
            admin_json(StatusCode::OK, json!({}))
        }
        (&Method::DELETE, ["faults", id]) => match id.parse::<u64>() {
            Ok(id) if runtime.faults.remove(id) => admin_json(StatusCode::OK, json!({})),
            _ => admin_error(StatusCode::NOT_FOUND, format!("no fault with id {id}")),
        },
        (&Method::GET, ["pacing"]) => {
            admin_json(StatusCode::OK, json!({ "delayMs": runtime.pace_ms() }))
        }
        (&Method::PUT, ["pacing"]) => {
            let delay = serde_json::from_slice::<Value>(request.body())
                .ok()
                .and_then(|v| v.get("delayMs").and_then(Value::as_u64));
            match delay {
                Some(ms) if ms <= 60_000 => {
                    runtime.set_pace_ms(ms);
                    admin_json(StatusCode::OK, json!({ "delayMs": ms }))
                }
                _ => admin_error(
                    StatusCode::BAD_REQUEST,
                    "pacing needs {\"delayMs\": N} with N between 0 and 60000",
                ),
            }
        }
        (&Method::GET, ["logs"]) => admin_json(StatusCode::OK, json!(runtime.logs.stats())),
        (&Method::POST, ["logs", "flush"]) => {
            admin_json(StatusCode::OK, json!(runtime.flush_logs().await))
        }
        _ => admin_error(
            StatusCode::NOT_FOUND,
            format!("no runtime admin route {} {path}", request.method()),
        ),
    }
}
