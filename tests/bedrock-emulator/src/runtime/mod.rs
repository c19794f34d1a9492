//! The Bedrock runtime (`bedrock-runtime`): Converse, ConverseStream, InvokeModel and
//! InvokeModelWithResponseStream, with deterministic replies, real event streams, invocation
//! logs delivered to CloudWatch Logs, and injectable faults. See docs/emulator-runtime.md.

mod converse;
mod count;
mod embed;
mod eventstream;
mod fail;
mod faults;
mod guardrails;
mod invoke;
mod logs;
mod models;
mod responder;
mod service;
pub(crate) mod store;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{Value, json};

pub use crate::state::{Body, RuntimeContext};
use crate::state::{EmulatorState, full_body};
pub use faults::{FaultKind, FaultSpec};
pub use logs::Stats as LogStats;
pub use service::{Op as Operation, PACE_HEADER, identity_arn};
pub use store::{MAX_PACE_MS, RuntimeSeed, RuntimeState};

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

/// Serves CountTokens (`POST /model/{modelId}/count-tokens`).
pub fn count_tokens(ctx: &RuntimeContext, model_id: &str, body: &[u8]) -> Response<Body> {
    let mut response = match count::count(ctx, model_id, body) {
        Ok(value) => admin_json(StatusCode::OK, value),
        Err(fail) => service::error_response(&fail),
    };
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
/// - `GET logs`: delivery counts; `POST logs/flush`: waits until queued records are delivered;
/// - `GET|DELETE guardrails`, `PUT guardrails/{id}` with `{"blockedWords": [...],
///   "blockedInputMessaging"?, "blockedOutputsMessaging"?}`: the guardrails calls may name.
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
                Some(ms) if ms <= MAX_PACE_MS => {
                    runtime.set_pace_ms(ms);
                    admin_json(StatusCode::OK, json!({ "delayMs": ms }))
                }
                _ => admin_error(
                    StatusCode::BAD_REQUEST,
                    "pacing needs {\"delayMs\": N} with N between 0 and 60000",
                ),
            }
        }
        (&Method::GET, ["guardrails"]) => admin_json(
            StatusCode::OK,
            json!({ "guardrails": runtime.guardrails.list() }),
        ),
        (&Method::DELETE, ["guardrails"]) => {
            runtime.guardrails.clear();
            admin_json(StatusCode::OK, json!({}))
        }
        (&Method::PUT, ["guardrails", id]) => {
            match serde_json::from_slice::<guardrails::GuardrailRule>(request.body()) {
                Ok(rule) => match runtime.guardrails.put(id, rule.clone()) {
                    Ok(()) => admin_json(StatusCode::OK, json!({ "id": id, "guardrail": rule })),
                    Err(e) => admin_error(StatusCode::BAD_REQUEST, e),
                },
                Err(e) => admin_error(StatusCode::BAD_REQUEST, format!("invalid guardrail: {e}")),
            }
        }
        (&Method::GET, ["logs"]) => admin_json(StatusCode::OK, json!(runtime.log_stats())),
        (&Method::POST, ["logs", "flush"]) => {
            admin_json(StatusCode::OK, json!(runtime.flush_logs().await))
        }
        _ => admin_error(
            StatusCode::NOT_FOUND,
            format!("no runtime admin route {} {path}", request.method()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_faults_and_pace_survive_a_reset_and_bad_seeds_are_refused() {
        let state = RuntimeState::default();
        let seed: RuntimeSeed = serde_json::from_value(json!({
            "faults": [{"kind": "throttling", "model": "*nova*"}],
            "paceMs": 25
        }))
        .unwrap();
        state.seed(seed).unwrap();
        let id = state
            .add_fault(serde_json::from_value(json!({"kind": "error"})).unwrap())
            .unwrap();
        assert!(state.faults.list().iter().any(|rule| rule.id == id));
        state.faults.clear();
        state.set_pace_ms(0);
        state.reset();
        assert_eq!(state.faults.list().len(), 1);
        assert_eq!(state.pace_ms(), 25);
        let bad: RuntimeSeed =
            serde_json::from_value(json!({"faults": [{"kind": "latency"}]})).unwrap();
        assert!(state.seed(bad).unwrap_err().contains("runtime.faults[0]"));
        let slow: RuntimeSeed = serde_json::from_value(json!({"paceMs": 60_001})).unwrap();
        assert!(state.seed(slow).unwrap_err().contains("runtime.paceMs"));
        assert_eq!(state.pace_ms(), 25, "a refused seed changes nothing");
    }
}
