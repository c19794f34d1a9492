//! The fault matrix through the handler and the real SDK against the local Bedrock: 5xx, dropped
//! connections, a Bedrock slower than the invocation's time. For each, what the caller sees, and
//! that nothing is lost or double-counted: the emulator's fault rules count how many calls reached
//! Bedrock, the router's `x-router-attempts` and its one metrics document per request must agree
//! with them, and a stream that has started is never sent again.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::StatusCode;
use http_body_util::BodyExt as _;
use lambda_http::RequestExt as _;
use serde_json::{Value, json};

use super::{
    Harness, SONNET, admin, admin_exchange, call, chat, event_frames, request, sse_data, start,
};

/// Adds a fault rule; returns its ID.
async fn fault(h: &Harness, rule: Value) -> u64 {
    let (status, body) =
        admin_exchange(&h.emulator.url(), "POST", "/_emulator/runtime/faults", rule).await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_u64()
        .unwrap()
}

/// How many more calls the rule will fire for (`None`: it fired its last and is gone).
async fn remaining(h: &Harness, id: u64) -> Option<u64> {
    let (status, body) = admin_exchange(
        &h.emulator.url(),
        "GET",
        "/_emulator/runtime/faults",
        json!(null),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rules: Value = serde_json::from_str(&body).unwrap();
    let list = rules
        .get("faults")
        .unwrap_or(&rules)
        .as_array()
        .unwrap()
        .clone();
    list.iter()
        .find(|r| r["id"].as_u64() == Some(id))
        .map(|r| r["remaining"].as_u64().unwrap())
}

/// The metrics documents written so far, parsed.
fn documents(h: &Harness) -> Vec<Value> {
    h.sink
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn only_document(h: &Harness) -> Value {
    let docs = documents(h);
    assert_eq!(docs.len(), 1, "one metrics document per request: {docs:?}");
    docs.into_iter().next().unwrap()
}

/// The request's one metrics document, checked for its attempts and outcome.
fn counted_once(h: &Harness, attempts: f64, outcome: &str) -> Value {
    let doc = only_document(h);
    assert_eq!(doc["Requests"].as_f64(), Some(1.0), "{doc}");
    assert_eq!(doc["Attempts"].as_f64(), Some(attempts), "{doc}");
    assert_eq!(doc["Outcome"], outcome, "{doc}");
    doc
}

/// Installs `rule`, sends `body` to the chat route; the answer and the rule's remaining count.
async fn chat_meeting(
    h: &Harness,
    rule: Value,
    body: Value,
) -> (StatusCode, http::HeaderMap, String, Option<u64>) {
    let id = fault(h, rule).await;
    let (status, headers, text) = call(h, "POST", "/v1/chat/completions", body).await;
    (status, headers, text, remaining(h, id).await)
}

/// The whole body of a handler response.
async fn text_of(response: http::Response<router::RouterBody>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn streamed(model: &str, content: &str) -> Value {
    let mut body = chat(model, content);
    body["stream"] = json!(true);
    body
}

/// A request as Lambda hands it over, with `left` until the invocation's deadline.
fn with_deadline(path: &str, body: &Value, left: Duration) -> lambda_http::Request {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let mut context = lambda_runtime::Context::default();
    context.deadline = u64::try_from((now + left).as_millis()).unwrap();
    request("POST", path, body).with_lambda_context(context)
}

#[tokio::test]
async fn one_internal_error_is_retried_and_the_request_counted_once() {
    let h = start().await;
    let (status, headers, text, left) = chat_meeting(
        &h,
        json!({"kind": "error", "code": "InternalServerException", "operation": "Converse", "count": 1}),
        chat(SONNET, "hello"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers["x-router-attempts"], "2");
    assert_eq!(left, None, "the fault fired once");
    let doc = counted_once(&h, 2.0, "ok");
    assert!(doc["OutputTokens"].as_f64().unwrap() > 0.0);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_lasting_outage_is_a_503_after_every_attempt_and_no_more() {
    let h = start().await;
    let (status, headers, text, left) = chat_meeting(
        &h,
        json!({"kind": "error", "code": "ServiceUnavailableException", "count": 10}),
        chat(SONNET, "hello"),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["type"], "api_error");
    assert_eq!(headers["x-router-attempts"], "3");
    assert_eq!(left, Some(7), "three calls reached Bedrock");
    counted_once(&h, 3.0, "server_error");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_connection_dropped_before_the_answer_is_retried() {
    let h = start().await;
    let (status, headers, text, left) = chat_meeting(
        &h,
        json!({"kind": "drop", "operation": "Converse", "count": 1}),
        chat(SONNET, "hello"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers["x-router-attempts"], "2");
    assert_eq!(left, None);
    counted_once(&h, 2.0, "ok");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_connection_dropped_mid_stream_ends_it_with_an_error_and_is_never_resent() {
    let h = start().await;
    let (status, headers, text, left) = chat_meeting(
        &h,
        json!({"kind": "drop", "operation": "ConverseStream", "afterEvents": 3, "count": 2}),
        streamed(SONNET, "a long answer that will be cut"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-router-attempts"], "1");
    let frames = sse_data(&text);
    let last: Value = serde_json::from_str(frames.last().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "api_error", "{text}");
    assert!(!text.contains("[DONE]"));
    assert!(
        frames.len() >= 2,
        "what arrived before the drop was forwarded: {text}"
    );
    // Once bytes reached the caller the stream is committed: no second call to Bedrock.
    assert_eq!(left, Some(1));
    counted_once(&h, 1.0, "server_error");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_bedrock_slower_than_the_invocation_is_a_504_before_lambda_would_kill_it() {
    let h = start().await;
    let rule = fault(
        &h,
        json!({"kind": "latency", "latencyMs": 30000, "operation": "Converse", "count": 1}),
    )
    .await;
    let started = Instant::now();
    let response = h
        .router
        .handle(with_deadline(
            "/v1/chat/completions",
            &chat(SONNET, "hello"),
            Duration::from_millis(1500),
        ))
        .await;
    let elapsed = started.elapsed();
    let status = response.status();
    let text = text_of(response).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], "timeout");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("raise the router function's timeout"),
        "{text}"
    );
    // Answered inside the invocation, with the reserve left to write it.
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert_eq!(remaining(&h, rule).await, None);
    counted_once(&h, 1.0, "server_error");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_stream_still_running_at_the_deadline_ends_with_a_timeout_event() {
    let h = start().await;
    admin(
        &h.emulator.url(),
        "PUT",
        "/_emulator/runtime/pacing",
        json!({"delayMs": 300}),
    )
    .await;
    let started = Instant::now();
    let response = h
        .router
        .handle(with_deadline(
            "/v1/chat/completions",
            &streamed(
                SONNET,
                "a slow answer with many many words in it to outlast the deadline",
            ),
            Duration::from_millis(2000),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = text_of(response).await;
    let elapsed = started.elapsed();
    let frames = sse_data(&text);
    let last: Value = serde_json::from_str(frames.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "timeout", "{text}");
    assert!(!text.contains("[DONE]"));
    assert!(frames.len() >= 3, "the text so far was forwarded: {text}");
    assert!(elapsed < Duration::from_millis(2000), "{elapsed:?}");
    let doc = counted_once(&h, 1.0, "server_error");
    assert!(doc["TimeToFirstToken"].is_number());
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_native_stream_cut_by_the_deadline_ends_with_a_stream_member_the_sdk_knows() {
    let h = start().await;
    admin(
        &h.emulator.url(),
        "PUT",
        "/_emulator/runtime/pacing",
        json!({"delayMs": 300}),
    )
    .await;
    let body = json!({"messages": [{"role": "user", "content": [{"text": "a slow answer with many words"}]}]});
    let req = with_deadline(
        &format!("/model/{SONNET}/converse-stream"),
        &body,
        Duration::from_millis(1500),
    );
    let response = h.router.handle(req).await;
    assert_eq!(response.status(), StatusCode::OK);
    let frames = event_frames(response.into_body().collect().await.unwrap().to_bytes());
    let last = frames.last().unwrap();
    assert_eq!(
        last.0, "modelStreamErrorException",
        "ConverseStream has no model-timeout member: {frames:?}"
    );
    assert!(
        last.1["message"].as_str().unwrap().contains("time ran out"),
        "{last:?}"
    );
    h.emulator.shutdown().await;
}
