//! The router's handler in-process against the in-process local Bedrock, through the real AWS
//! SDK: profile resolution, both route families, streaming, faults and error mapping, and (in
//! `tenants`) API keys, per-tenant profiles and failover across a model's profiles.

#[path = "router/faults.rs"]
mod faults;
#[path = "router/runtime_loop.rs"]
mod runtime_loop;
#[path = "router/tenants.rs"]
mod tenants;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrock::config::Credentials;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use bedrock_emulator::{Emulator, Options, RunningEmulator};
use http::StatusCode;
use http_body_util::BodyExt as _;
use router::bedrock::SdkBedrock;
use router::metrics::MemorySink;
use router::profiles::ProfileDirectory;
use router::{DEFAULT_MAX_BODY_BYTES, Router};
use serde_json::{Value, json};
use shared::config::ProfileConfig;
use shared::profile_map::ProfileMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REGION: &str = "us-east-1";
const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const SONNET_FM: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const NOVA: &str = "amazon.nova-pro-v1:0";
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn set_local_env() {
    // Nothing here may look for real credentials or the instance-metadata address.
    // SAFETY: set before any client exists; every test sets the same values.
    unsafe {
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_REGION", REGION);
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE");
        std::env::set_var(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
    }
}

struct Harness {
    emulator: RunningEmulator,
    router: Router<SdkBedrock, ProfileDirectory>,
    sink: MemorySink,
    profile_arn: String,
}

fn sdk_config(url: &str) -> SdkConfig {
    sdk_config_in(url, REGION)
}

fn sdk_config_in(url: &str, region: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_bedrock::config::SharedCredentialsProvider::new(
            Credentials::new("AKIAIOSFODNN7EXAMPLE", "secret", None, None, "test"),
        ))
        .endpoint_url(url)
        .retry_config(RetryConfig::disabled())
        .build()
}

async fn start() -> Harness {
    set_local_env();
    let emulator = Emulator::start(Options::default()).await.unwrap();
    let sdk = sdk_config(&emulator.url());
    let control = aws_sdk_bedrock::Client::new(&sdk);
    let created = control
        .create_inference_profile()
        .inference_profile_name("router-sonnet")
        .model_source(
            aws_sdk_bedrock::types::InferenceProfileModelSource::CopyFrom(format!(
                "arn:aws:bedrock:{REGION}:123456789012:inference-profile/{SONNET}"
            )),
        )
        .send()
        .await
        .unwrap();
    let profile_arn = created.inference_profile_arn().to_owned();
    assert!(
        profile_arn.contains(":application-inference-profile/"),
        "{profile_arn}"
    );
    let yaml = format!(
        "models: [\"{SONNET}\", team-sonnet, \"{NOVA}\"]\n\
         inferenceProfiles:\n  \"{SONNET}\": \"{profile_arn}\"\n  team-sonnet: \"{profile_arn}\"\n\
         defaultRegion: {REGION}\n"
    );
    let config = ProfileConfig::parse(&yaml, |_| None).unwrap();
    let sink = MemorySink::default();
    let router = Router::new(
        SdkBedrock::new(sdk),
        ProfileDirectory::new(ProfileMap::new(&config)),
        Arc::new(sink.clone()),
        DEFAULT_MAX_BODY_BYTES,
    );
    Harness {
        emulator,
        router,
        sink,
        profile_arn,
    }
}

fn request(method: &str, path: &str, body: &Value) -> lambda_http::Request {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(lambda_http::Body::from(if body.is_null() {
            String::new()
        } else {
            body.to_string()
        }))
        .unwrap()
}

async fn call(
    h: &Harness,
    method: &str,
    path: &str,
    body: Value,
) -> (StatusCode, http::HeaderMap, String) {
    let response = h.router.handle(request(method, path, &body)).await;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

fn sse_data(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter_map(|block| {
            block
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(str::to_owned)
        })
        .collect()
}

/// One plain HTTP/1.1 exchange with the emulator's admin routes.
async fn admin(url: &str, method: &str, path: &str, body: Value) -> u16 {
    admin_exchange(url, method, path, body).await.0
}

/// The status and body of one admin exchange.
async fn admin_exchange(url: &str, method: &str, path: &str, body: Value) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.to_string();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (raw[9..12].parse().unwrap(), body)
}

fn chat(model: &str, content: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": content}]})
}

#[tokio::test]
async fn a_completion_through_the_profile_answers_with_the_friendly_id_and_usage() {
    let h = start().await;
    let (status, _, body) = call(
        &h,
        "POST",
        "/v1/chat/completions",
        chat(SONNET, "hello there"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["model"], SONNET);
    assert!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("You said: hello there"),
        "{v}"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(!body.contains("arn:"));
    let doc: Value = serde_json::from_str(&h.sink.0.lock().unwrap()[0]).unwrap();
    assert_eq!(doc["Model"], SONNET);
    assert_eq!(doc["Outcome"], "ok");
    assert!(doc["OutputTokens"].as_f64().unwrap() > 0.0);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_streamed_completion_carries_the_same_text_as_the_plain_one_then_usage_and_done() {
    let h = start().await;
    let (_, _, plain) = call(
        &h,
        "POST",
        "/v1/chat/completions",
        chat(SONNET, "stream me"),
    )
    .await;
    let plain: Value = serde_json::from_str(&plain).unwrap();
    let mut body = chat(SONNET, "stream me");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (status, headers, text) = call(&h, "POST", "/v1/chat/completions", body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers["content-type"], "text/event-stream");
    let data = sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let streamed: String = chunks
        .iter()
        .filter_map(|c| {
            c["choices"]
                .get(0)
                .and_then(|ch| ch["delta"]["content"].as_str())
        })
        .collect();
    assert_eq!(
        streamed,
        plain["choices"][0]["message"]["content"].as_str().unwrap()
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(
        usage["completion_tokens"],
        plain["usage"]["completion_tokens"]
    );
    let doc: Value = serde_json::from_str(&h.sink.0.lock().unwrap()[1]).unwrap();
    assert!(doc["TimeToFirstToken"].as_f64().is_some(), "{doc}");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_tool_call_and_its_follow_up_round_trip_through_converse() {
    let h = start().await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "description": "weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
    let first = json!({"model": SONNET, "messages": [{"role": "user", "content": "call get_weather for Paris"}], "tools": tools});
    let (status, _, body) = call(&h, "POST", "/v1/chat/completions", first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls", "{v}");
    let call_0 = v["choices"][0]["message"]["tool_calls"][0].clone();
    assert_eq!(call_0["function"]["name"], "get_weather");
    let args: Value =
        serde_json::from_str(call_0["function"]["arguments"].as_str().unwrap()).unwrap();
    assert!(args.get("city").is_some(), "{args}");
    let follow_up = json!({"model": SONNET, "tools": tools, "messages": [
        {"role": "user", "content": "call get_weather for Paris"},
        {"role": "assistant", "content": null, "tool_calls": [call_0]},
        {"role": "tool", "tool_call_id": call_0["id"], "content": "sunny, 21 C"}
    ]});
    let (status, _, body) = call(&h, "POST", "/v1/chat/completions", follow_up).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("sunny, 21 C"),
        "{v}"
    );
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn streamed_tool_calls_arrive_as_indexed_deltas() {
    let h = start().await;
    let body = json!({"model": SONNET, "stream": true, "messages": [{"role": "user", "content": "use lookup please"}],
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
        "tool_choice": "required"});
    let (status, _, text) = call(&h, "POST", "/v1/chat/completions", body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let chunks: Vec<Value> = sse_data(&text)
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let start = chunks
        .iter()
        .find(|c| c["choices"][0]["delta"]["tool_calls"][0]["id"].is_string())
        .unwrap();
    assert_eq!(
        start["choices"][0]["delta"]["tool_calls"][0]["function"]["name"],
        "lookup"
    );
    let args: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert!(
        serde_json::from_str::<Value>(&args).unwrap().is_object(),
        "{args}"
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn images_and_json_schema_output_reach_a_model_that_takes_them() {
    let h = start().await;
    let body = json!({"model": SONNET, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "describe"},
        {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}")}}]}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "d", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}});
    let (status, _, text) = call(&h, "POST", "/v1/chat/completions", body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn an_unmapped_model_is_called_by_its_own_id_in_the_default_region() {
    let h = start().await;
    let (status, _, body) = call(&h, "POST", "/v1/chat/completions", chat(NOVA, "hi nova")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["model"], NOVA);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_friendly_id_the_catalog_does_not_know_gets_capabilities_from_the_profile() {
    let h = start().await;
    let body = json!({"model": "team-sonnet", "messages": [{"role": "user", "content": "call f"}],
        "tools": [{"type": "function", "function": {"name": "f"}}]});
    let (status, _, text) = call(&h, "POST", "/v1/chat/completions", body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["model"], "team-sonnet");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn models_lists_friendly_ids_with_capabilities_and_no_arns() {
    let h = start().await;
    let (status, _, text) = call(&h, "GET", "/v1/models", Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![SONNET, "team-sonnet", NOVA]);
    assert_eq!(v["data"][0]["capabilities"]["image_input"], true);
    assert!(!text.contains(&h.profile_arn));
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn the_native_routes_speak_converse_and_stream_named_events() {
    let h = start().await;
    let path = format!("/model/{}/converse", SONNET.replace(':', "%3A"));
    let body = json!({"messages": [{"role": "user", "content": [{"text": "native hi"}]}], "inferenceConfig": {"maxTokens": 50}});
    let (status, _, text) = call(&h, "POST", &path, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["output"]["message"]["role"], "assistant");
    assert!(v["usage"]["totalTokens"].as_u64().unwrap() > 0);
    let response = h
        .router
        .handle(request("POST", &format!("{path}-stream"), &body))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.amazon.eventstream"
    );
    let frames = event_frames(response.into_body().collect().await.unwrap().to_bytes());
    assert_eq!(frames.first().map(|f| f.0.as_str()), Some("messageStart"));
    assert_eq!(frames.last().map(|f| f.0.as_str()), Some("metadata"));
    assert!(
        frames
            .iter()
            .any(|(t, p)| t == "contentBlockDelta" && p["delta"]["text"].is_string())
    );
    let mut sse = request("POST", &format!("{path}-stream"), &body);
    sse.headers_mut().insert(
        "accept",
        http::HeaderValue::from_static("text/event-stream"),
    );
    let response = h.router.handle(sse).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"messageStart"));
    assert_eq!(events.last(), Some(&"metadata"));
    assert!(events.contains(&"contentBlockDelta"));
    h.emulator.shutdown().await;
}

/// The `(:event-type or :exception-type, JSON payload)` of every event-stream frame.
fn event_frames(bytes: bytes::Bytes) -> Vec<(String, Value)> {
    router::eventstream::read_frames(bytes)
        .unwrap()
        .into_iter()
        .map(|(name, payload)| (name, serde_json::from_slice(&payload).unwrap()))
        .collect()
}

#[tokio::test]
async fn throttling_before_the_stream_is_a_429_with_retry_after() {
    let h = start().await;
    let status = admin(
        &h.emulator.url(),
        "POST",
        "/_emulator/runtime/faults",
        json!({"kind": "throttling", "count": 6}),
    )
    .await;
    assert_eq!(status, 201);
    // The router makes three attempts with back-off (the SDK's own retries are off).
    let (status, headers, text) =
        call(&h, "POST", "/v1/chat/completions", chat(SONNET, "hi")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{text}");
    assert_eq!(headers["retry-after"], "2");
    assert_eq!(headers["x-router-attempts"], "3");
    let mut streamed = chat(SONNET, "hi");
    streamed["stream"] = json!(true);
    let (status, _, text) = call(&h, "POST", "/v1/chat/completions", streamed).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_error");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_stream_failing_mid_way_ends_with_an_error_event_on_both_routes() {
    let h = start().await;
    admin(
        &h.emulator.url(),
        "POST",
        "/_emulator/runtime/faults",
        json!({"kind": "stream-error", "afterEvents": 3, "count": 2}),
    )
    .await;
    let mut body = chat(SONNET, "a long answer please");
    body["stream"] = json!(true);
    let (status, _, text) = call(&h, "POST", "/v1/chat/completions", body).await;
    assert_eq!(status, StatusCode::OK);
    let last = sse_data(&text).pop().unwrap();
    let v: Value = serde_json::from_str(&last).unwrap();
    assert!(v["error"]["message"].is_string(), "{text}");
    assert!(!text.contains("[DONE]"));
    let path = format!("/model/{SONNET}/converse-stream");
    let response = h
        .router
        .handle(request(
            "POST",
            &path,
            &json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let frames = event_frames(response.into_body().collect().await.unwrap().to_bytes());
    let last = frames.last().unwrap();
    assert_eq!(last.0, "modelStreamErrorException", "{frames:?}");
    assert!(last.1["message"].is_string());
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_missing_model_agreement_is_a_403_saying_so() {
    let h = start().await;
    let status = admin(
        &h.emulator.url(),
        "PUT",
        &format!("/_emulator/model-access/{SONNET_FM}"),
        json!({"agreementAvailability": {"status": "NOT_AVAILABLE"}}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, text) = call(&h, "POST", "/v1/chat/completions", chat(SONNET, "hi")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("model agreement"), "{text}");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_deleted_profile_is_a_404_naming_the_arns_region() {
    let h = start().await;
    let control = aws_sdk_bedrock::Client::new(&sdk_config(&h.emulator.url()));
    control
        .delete_inference_profile()
        .inference_profile_identifier(&h.profile_arn)
        .send()
        .await
        .unwrap();
    let (status, headers, text) = call(
        &h,
        "POST",
        &format!("/model/{SONNET}/converse"),
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    assert_eq!(headers["x-amzn-ErrorType"], "ResourceNotFoundException");
    assert!(text.contains("us-east-1, the ARN's region"), "{text}");
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_caller_that_goes_away_stops_the_stream_and_is_still_counted() {
    let h = start().await;
    admin(
        &h.emulator.url(),
        "PUT",
        "/_emulator/runtime/pacing",
        json!({"delayMs": 300}),
    )
    .await;
    let mut body = chat(SONNET, "a slow answer with many many words in it");
    body["stream"] = json!(true);
    let response = h
        .router
        .handle(request("POST", "/v1/chat/completions", &body))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(first.is_data());
    let started = Instant::now();
    drop(body);
    assert!(started.elapsed() < Duration::from_millis(300));
    let lines = h.sink.0.lock().unwrap().clone();
    assert_eq!(
        lines.len(),
        1,
        "the request is counted when the caller leaves"
    );
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_profile_in_another_region_is_called_in_that_region() {
    set_local_env();
    let emulator = Emulator::start(Options::default()).await.unwrap();
    let west = aws_sdk_bedrock::Client::new(&sdk_config_in(&emulator.url(), "us-west-2"));
    let arn = west
        .create_inference_profile()
        .inference_profile_name("west-sonnet")
        .model_source(
            aws_sdk_bedrock::types::InferenceProfileModelSource::CopyFrom(format!(
                "arn:aws:bedrock:us-west-2:123456789012:inference-profile/{SONNET}"
            )),
        )
        .send()
        .await
        .unwrap()
        .inference_profile_arn()
        .to_owned();
    assert!(arn.starts_with("arn:aws:bedrock:us-west-2:"), "{arn}");
    // The function itself runs in us-east-1; only the ARN says where the profile lives.
    let yaml = format!(
        "models: [west-sonnet]\ninferenceProfiles:\n  west-sonnet: \"{arn}\"\ndefaultRegion: {REGION}\n"
    );
    let config = ProfileConfig::parse(&yaml, |_| None).unwrap();
    let router = Router::new(
        SdkBedrock::new(sdk_config(&emulator.url())),
        ProfileDirectory::new(ProfileMap::new(&config)),
        Arc::new(MemorySink::default()),
        DEFAULT_MAX_BODY_BYTES,
    );
    let body = json!({"model": "west-sonnet", "messages": [{"role": "user", "content": "call f"}],
        "tools": [{"type": "function", "function": {"name": "f"}}]});
    let response = router
        .handle(request("POST", "/v1/chat/completions", &body))
        .await;
    let status = response.status();
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&text));
    let v: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(v["model"], "west-sonnet");
    assert_eq!(
        v["choices"][0]["finish_reason"], "tool_calls",
        "capabilities came from the profile's model: {v}"
    );
    emulator.shutdown().await;
}
