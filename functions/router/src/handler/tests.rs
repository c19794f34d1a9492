//! Handler tests against the in-memory Bedrock and a fixed directory.

use std::sync::Arc;

use http_body_util::BodyExt as _;
use serde_json::{Value, json};

use super::*;
use crate::DEFAULT_MAX_BODY_BYTES;
use crate::bedrock::CallSite;
use crate::bedrock::fake::FakeBedrock;
use crate::caps::Caps;
use crate::config::max_body_bytes;
use crate::converse::ContentBlock;
use crate::converse::{
    ContentBlockDelta, ConverseOutput, ConverseResponse, Delta, Message, MessageStart, MessageStop,
    Metrics, Role, StreamMetadata, Usage,
};
use crate::dialect::openai::tests_support::full_caps;
use crate::directory::{Listed, Resolution};
use crate::error::BedrockError;
use crate::error::{BedrockErrorKind, RouterError};
use crate::metrics::MemorySink;
use http::{StatusCode, header};

const ARN: &str =
    "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abcdefghij12";
const WEST_ARN: &str =
    "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/westwestwest";
const UNKNOWN_ARN: &str =
    "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/zzzzzzzzzz99";

struct FixedDirectory;

impl Directory for FixedDirectory {
    fn resolve(&self, model: &str) -> Result<Resolution, RouterError> {
        match model {
            "claude" => Ok(Resolution {
                friendly_id: "claude".into(),
                call_id: ARN.into(),
                region: "eu-west-1".into(),
                is_profile: true,
                caps: Some(full_caps()),
                alternates: Vec::new(),
            }),
            "team-model" => Ok(Resolution {
                friendly_id: "team-model".into(),
                call_id: UNKNOWN_ARN.into(),
                region: "eu-west-1".into(),
                is_profile: true,
                caps: None,
                alternates: Vec::new(),
            }),
            "pooled" => Ok(Resolution {
                friendly_id: "pooled".into(),
                call_id: ARN.into(),
                region: "eu-west-1".into(),
                is_profile: true,
                caps: Some(full_caps()),
                alternates: vec![CallSite {
                    model_id: WEST_ARN.into(),
                    region: "us-west-2".into(),
                }],
            }),
            "claude-sonnet-4-5" => Ok(Resolution {
                friendly_id: "claude-sonnet-4-5".into(),
                call_id: ARN.into(),
                region: "eu-west-1".into(),
                is_profile: true,
                caps: Some(Caps {
                    family: "claude-sonnet-4.5".into(),
                    ..full_caps()
                }),
                alternates: Vec::new(),
            }),
            "titan" => Ok(Resolution {
                friendly_id: "titan".into(),
                call_id: "amazon.titan-text-express-v1".into(),
                region: "us-east-1".into(),
                is_profile: false,
                caps: Some(Caps::conservative()),
                alternates: Vec::new(),
            }),
            other => Err(RouterError::UnknownModel {
                model: other.to_owned(),
                message: format!(
                    "model `{other}` is not served here; available models: claude, team-model, titan"
                ),
            }),
        }
    }

    fn list(&self) -> Vec<Listed> {
        vec![
            Listed {
                id: "claude".into(),
                via_profile: true,
                caps: Some(full_caps()),
            },
            Listed {
                id: "titan".into(),
                via_profile: false,
                caps: Some(Caps::conservative()),
            },
        ]
    }

    fn caps_for_model(&self, model_id: &str) -> Option<Caps> {
        model_id.contains("claude").then(full_caps)
    }
}

struct Harness {
    router: Router<Arc<FakeBedrock>, FixedDirectory>,
    fake: Arc<FakeBedrock>,
    sink: MemorySink,
}

fn harness() -> Harness {
    let fake = Arc::new(FakeBedrock::default());
    let sink = MemorySink::default();
    let router = Router::new(
        Arc::clone(&fake),
        FixedDirectory,
        Arc::new(sink.clone()),
        DEFAULT_MAX_BODY_BYTES,
    );
    Harness { router, fake, sink }
}

fn request(method: &str, path: &str, body: &str) -> lambda_http::Request {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(lambda_http::Body::from(body.to_owned()))
        .unwrap()
}

async fn call(
    h: &Harness,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, http::HeaderMap, String) {
    let response = h.router.handle(request(method, path, body)).await;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

fn text_reply(text: &str) -> ConverseResponse {
    ConverseResponse {
        output: ConverseOutput {
            message: Message {
                role: Role::Assistant,
                content: vec![ContentBlock::Text(text.into())],
            },
        },
        stop_reason: "end_turn".into(),
        usage: Usage {
            input_tokens: 4,
            output_tokens: 2,
            total_tokens: 6,
            ..Usage::default()
        },
        metrics: Metrics { latency_ms: 5 },
        additional_model_response_fields: None,
    }
}

fn stream_events(texts: &[&str]) -> Vec<Result<StreamEvent, BedrockError>> {
    let mut events = vec![Ok(StreamEvent::MessageStart(MessageStart {
        role: Role::Assistant,
    }))];
    for t in texts {
        events.push(Ok(StreamEvent::ContentBlockDelta(ContentBlockDelta {
            delta: Delta::Text((*t).into()),
            content_block_index: 0,
        })));
    }
    events.push(Ok(StreamEvent::MessageStop(MessageStop {
        stop_reason: "end_turn".into(),
        additional_model_response_fields: None,
    })));
    events.push(Ok(StreamEvent::Metadata(StreamMetadata {
        usage: Usage {
            input_tokens: 3,
            output_tokens: 2,
            total_tokens: 5,
            ..Usage::default()
        },
        metrics: Metrics { latency_ms: 7 },
    })));
    events
}

const HELLO: &str = r#"{"model":"claude","messages":[{"role":"user","content":"hi"}]}"#;

#[tokio::test]
async fn a_completion_goes_to_the_profile_arn_in_its_region_and_answers_with_the_friendly_id() {
    let h = harness();
    *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("hello")));
    let (status, _, body) = call(&h, "POST", "/v1/chat/completions", HELLO).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["model"], "claude");
    assert_eq!(v["choices"][0]["message"]["content"], "hello");
    let calls = h.fake.calls.lock().unwrap();
    assert_eq!(
        calls[0].0,
        CallSite {
            model_id: ARN.into(),
            region: "eu-west-1".into()
        }
    );
    assert_eq!(calls[0].1.request_metadata["model"], "claude");
}

#[tokio::test]
async fn a_streamed_completion_ends_with_usage_and_done() {
    let h = harness();
    *h.fake.events.lock().unwrap() = stream_events(&["Hel", "lo"]);
    let body = r#"{"model":"claude","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}"#;
    let (status, headers, text) = call(&h, "POST", "/v1/chat/completions", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/event-stream");
    let datas: Vec<&str> = text.split("\n\n").filter(|s| !s.is_empty()).collect();
    assert_eq!(datas.last(), Some(&"data: [DONE]"));
    let chunks: Vec<Value> = datas[..datas.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    let content: String = chunks
        .iter()
        .filter_map(|c| {
            c["choices"]
                .get(0)
                .and_then(|ch| ch["delta"]["content"].as_str())
        })
        .collect();
    assert_eq!(content, "Hello");
    assert_eq!(chunks.last().unwrap()["usage"]["total_tokens"], 5);
    assert!(chunks.iter().all(|c| c["model"] == "claude"));
}

#[tokio::test]
async fn a_stream_failing_at_once_is_a_real_http_status() {
    let h = harness();
    *h.fake.events.lock().unwrap() = vec![Err(BedrockError::new(
        BedrockErrorKind::Throttling,
        "slow down",
    ))];
    let body = r#"{"model":"claude","messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    let (status, headers, _) = call(&h, "POST", "/v1/chat/completions", body).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::RETRY_AFTER], "2");
}

#[tokio::test]
async fn a_stream_failing_mid_way_ends_with_an_error_event() {
    let h = harness();
    let mut events = stream_events(&["partial"]);
    events.truncate(2);
    events.push(Err(BedrockError::new(
        BedrockErrorKind::ModelStreamError,
        "boom inside",
    )));
    *h.fake.events.lock().unwrap() = events;
    let body = r#"{"model":"claude","messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    let (status, _, text) = call(&h, "POST", "/v1/chat/completions", body).await;
    assert_eq!(status, StatusCode::OK);
    let last = text.split("\n\n").filter(|s| !s.is_empty()).last().unwrap();
    let v: Value = serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(v["error"]["type"], "api_error");
    assert!(!text.contains("boom inside"));
    assert!(!text.contains("[DONE]"));
    let doc: Value = serde_json::from_str(&h.sink.0.lock().unwrap()[0]).unwrap();
    assert_eq!(doc["Outcome"], "server_error");
}

#[tokio::test]
async fn the_native_stream_route_sends_bedrock_event_stream_frames() {
    let h = harness();
    *h.fake.events.lock().unwrap() = stream_events(&["Hi"]);
    let body = r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
    let response = h
        .router
        .handle(request("POST", "/model/claude/converse-stream", body))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/vnd.amazon.eventstream"
    );
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let frames: Vec<(String, Value)> = crate::eventstream::read_frames(bytes)
        .unwrap()
        .into_iter()
        .map(|(name, payload)| (name, serde_json::from_slice(&payload).unwrap()))
        .collect();
    assert_eq!(
        frames[0],
        ("messageStart".into(), json!({"role": "assistant"}))
    );
    assert!(
        frames
            .iter()
            .any(|(t, p)| t == "contentBlockDelta" && p["delta"]["text"] == "Hi")
    );
    assert_eq!(frames.last().unwrap().0, "metadata");
}

#[tokio::test]
async fn the_native_stream_route_sends_named_events_when_asked_for_them() {
    let h = harness();
    *h.fake.events.lock().unwrap() = stream_events(&["Hi"]);
    let body = r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
    let mut req = request("POST", "/model/claude/converse-stream", body);
    req.headers_mut().insert(
        header::ACCEPT,
        http::HeaderValue::from_static("text/event-stream"),
    );
    let response = h.router.handle(req).await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        text.starts_with(
            "event: messageStart\ndata: {\"messageStart\":{\"role\":\"assistant\"}}\n\n"
        ),
        "{text}"
    );
    assert!(text.contains("event: metadata\n"));
    assert!(!text.contains("[DONE]"));
}

#[tokio::test]
async fn the_native_converse_route_returns_bedrocks_shape_and_tags_the_call() {
    let h = harness();
    *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("yo")));
    let body = r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"requestMetadata":{"team":"a"}}"#;
    let (status, _, text) = call(&h, "POST", "/model/claude/converse", body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["output"]["message"]["content"][0]["text"], "yo");
    assert_eq!(v["stopReason"], "end_turn");
    let calls = h.fake.calls.lock().unwrap();
    assert_eq!(calls[0].1.request_metadata["model"], "claude");
    assert_eq!(calls[0].1.request_metadata["team"], "a");
}

#[tokio::test]
async fn a_percent_encoded_model_in_the_path_is_decoded() {
    let h = harness();
    let (status, headers, text) = call(
        &h,
        "POST",
        "/model/no%3Asuch/converse",
        r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["x-amzn-ErrorType"], "ResourceNotFoundException");
    assert!(text.contains("model `no:such` is not served"), "{text}");
}

#[tokio::test]
async fn models_lists_friendly_ids_without_arns() {
    let h = harness();
    let (status, _, text) = call(&h, "GET", "/v1/models", "").await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"][0]["id"], "claude");
    assert_eq!(v["data"][0]["capabilities"]["tool_use"], true);
    assert!(!text.contains("arn:"));
}

#[tokio::test]
async fn a_wrong_method_is_a_405_with_an_allow_header() {
    let h = harness();
    let (status, headers, _) = call(&h, "DELETE", "/v1/chat/completions", "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers[header::ALLOW], "POST");
}

#[tokio::test]
async fn health_answers_ok_under_the_lambda_url_prefix_too() {
    let h = harness();
    let (status, _, text) = call(&h, "GET", "/lambda-url/router/health", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, r#"{"status":"ok"}"#);
}

#[tokio::test]
async fn a_profile_with_an_unknown_friendly_id_takes_capabilities_from_its_model_once() {
    let h = harness();
    h.fake.profile_models.lock().unwrap().insert(
        UNKNOWN_ARN.into(),
        "anthropic.claude-sonnet-4-5-20250929-v1:0".into(),
    );
    *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("ok")));
    let body = r#"{"model":"team-model","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}"#;
    for _ in 0..2 {
        let (status, _, text) = call(&h, "POST", "/v1/chat/completions", body).await;
        assert_eq!(status, StatusCode::OK, "{text}");
    }
    assert_eq!(*h.fake.profile_lookups.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_missing_profile_is_a_404_naming_its_region() {
    let h = harness();
    *h.fake.reply.lock().unwrap() = Some(Err(BedrockError::new(
        BedrockErrorKind::ResourceNotFound,
        "The specified resource ARN was not found.",
    )));
    let (status, _, text) = call(&h, "POST", "/v1/chat/completions", HELLO).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text.contains("eu-west-1, the ARN's region"), "{text}");
}

#[tokio::test]
async fn every_request_emits_exactly_one_metrics_document() {
    let h = harness();
    *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("x")));
    call(&h, "POST", "/v1/chat/completions", HELLO).await;
    call(&h, "POST", "/v1/chat/completions", "{").await;
    call(&h, "GET", "/health", "").await;
    let lines = h.sink.0.lock().unwrap();
    assert_eq!(lines.len(), 3);
    let first: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["Model"], "claude");
    assert_eq!(first["InputTokens"].as_f64(), Some(4.0));
    let second: Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(second["Outcome"], "client_error");
    assert_eq!(second["Model"], "-");
}

/// The bad-input corpus: each entry must be a 4xx whose message contains the expected words.
fn corpus() -> Vec<(&'static str, &'static str, String, &'static str)> {
    // Just under the Function URL's 6 MB request cap, as text and as an inline image.
    let big_text = format!(
        r#"{{"model":"claude","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "a".repeat(6_000_000)
    );
    let big_image = format!(
        r#"{{"model":"claude","messages":[{{"role":"user","content":[{{"type":"image_url","image_url":{{"url":"data:image/png;base64,{}"}}}}]}}]}}"#,
        "A".repeat(6_100_000)
    );
    let under_limit_image = format!(
        r#"{{"model":"claude","messages":[{{"role":"user","content":[{{"type":"image_url","image_url":{{"url":"data:image/png;base64,{}"}}}}]}}]}}"#,
        "A".repeat(5_000_004)
    );
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let user = |content: &str| {
        format!(r#"{{"model":"claude","messages":[{{"role":"user","content":{content}}}]}}"#)
    };
    let with = |extra: &str| {
        format!(r#"{{"model":"claude","messages":[{{"role":"user","content":"hi"}}],{extra}}}"#)
    };
    let many_tools = format!(
        r#"{{"model":"claude","messages":[{{"role":"user","content":"hi"}}],"tools":[{}]}}"#,
        (0..129)
            .map(|i| format!(r#"{{"type":"function","function":{{"name":"t{i}"}}}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let chat = "/v1/chat/completions";
    vec![
        ("POST", chat, "{".into(), "not valid JSON"),
        ("POST", chat, format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)), "recursion limit exceeded"),
        ("POST", chat, "{\"model\":\"claude\",\"model\":1}".into(), "`model` must be a string"),
        ("POST", chat, "".into(), "body is empty"),
        ("POST", chat, "[1,2]".into(), "must be a JSON object"),
        ("POST", chat, "null".into(), "must be a JSON object"),
        ("POST", chat, r#"{"messages":[{"role":"user","content":"hi"}]}"#.into(), "`model` is required"),
        ("POST", chat, r#"{"model":42,"messages":[]}"#.into(), "`model` must be a string"),
        ("POST", chat, r#"{"model":"","messages":[]}"#.into(), "must not be empty"),
        ("POST", chat, r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#.into(), "available models: claude"),
        ("POST", chat, r#"{"model":"claude"}"#.into(), "`messages` is required"),
        ("POST", chat, r#"{"model":"claude","messages":[]}"#.into(), "at least one message"),
        ("POST", chat, r#"{"model":"claude","messages":"hi"}"#.into(), "`messages` must be an array"),
        ("POST", chat, r#"{"model":"claude","messages":[42]}"#.into(), "`messages[0]` must be an object"),
        ("POST", chat, r#"{"model":"claude","messages":[{"content":"hi"}]}"#.into(), "`messages[0].role` is required"),
        ("POST", chat, r#"{"model":"claude","messages":[{"role":"wizard","content":"hi"}]}"#.into(), "role `wizard` is not one of"),
        ("POST", chat, r#"{"model":"claude","messages":[{"role":"function","content":"hi","name":"f"}]}"#.into(), "deprecated"),
        ("POST", chat, r#"{"model":"claude","messages":[{"role":"system","content":"only rules"}]}"#.into(), "add at least one user message"),
        ("POST", chat, user(r#""""#), "must not be empty or blank"),
        ("POST", chat, user(r#""   ""#), "must not be empty or blank"),
        ("POST", chat, user("[]"), "at least one content part"),
        ("POST", chat, user("42"), "a string or an array of content parts"),
        ("POST", chat, user(r#"[{"type":"video","video":{}}]"#), "content part type `video`"),
        ("POST", chat, user(r#"[{"text":"no type"}]"#), "`messages[0].content[0].type` is required"),
        ("POST", chat, user(r#"[{"type":"image_url","image_url":{"url":"http://169.254.169.254/latest/meta-data"}}]"#), "not fetched"),
        ("POST", chat, user(r#"[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]"#), "not fetched"),
        ("POST", chat, user(r#"[{"type":"image_url","image_url":{"url":"data:image/png;base64,@@@notbase64"}}]"#), "not valid base64"),
        ("POST", chat, user(r#"[{"type":"image_url","image_url":{"url":"data:image/png,rawbytes"}}]"#), "must be base64-encoded"),
        ("POST", chat, user(&format!(r#"[{{"type":"image_url","image_url":{{"url":"data:image/bmp;base64,{png}"}}}}]"#)), "image type `image/bmp`"),
        ("POST", chat, user(r#"[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]"#), "expected a data URL"),
        ("POST", chat, user(r#"[{"type":"image_url"}]"#), "`messages[0].content[0].image_url.url` is required"),
        ("POST", chat, user(r#"[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]"#), "does not support audio input"),
        ("POST", chat, user(r#"[{"type":"file","file":{"file_id":"file-123"}}]"#), "uploaded file IDs are not supported"),
        ("POST", chat, with(r#""temperature":"hot""#), "`temperature` must be a number"),
        ("POST", chat, with(r#""temperature":1.5"#), "between 0 and 1"),
        ("POST", chat, with(r#""top_p":-0.1"#), "between 0 and 1"),
        ("POST", chat, with(r#""temperature":0.5,"top_p":0.5"#), "not both"),
        ("POST", chat, with(r#""max_tokens":0"#), "positive integer"),
        ("POST", chat, with(r#""max_tokens":-5"#), "positive integer"),
        ("POST", chat, with(r#""max_completion_tokens":10000000"#), "at most 64000 output tokens"),
        ("POST", chat, with(r#""stream":"yes""#), "`stream` must be a boolean"),
        ("POST", chat, with(r#""stream_options":{"include_usage":true}"#), "only allowed when `stream` is true"),
        ("POST", chat, with(r#""stop":["a","b","c","d","e"]"#), "at most 4 are accepted"),
        ("POST", chat, with(r#""stop":[""]"#), "must not be empty"),
        ("POST", chat, with(r#""stop":7"#), "a string or an array of strings"),
        ("POST", chat, with(r#""n":3"#), "more than one choice"),
        ("POST", chat, with(r#""logprobs":true"#), "log probabilities"),
        ("POST", chat, with(r#""frequency_penalty":0.5"#), "frequency_penalty"),
        ("POST", chat, with(r#""functions":[]"#), "deprecated function-calling API"),
        ("POST", chat, with(r#""bogus_field":1"#), "unrecognized request argument `bogus_field`"),
        ("POST", chat, with(r#""reasoning_effort":"extreme""#), "must be one of none, minimal, low, medium, high"),
        ("POST", chat, with(r#""reasoning_effort":"high","max_completion_tokens":100"#), "thinking budget of at least 1024"),
        ("POST", chat, with(r#""tools":[]"#), "`tools` must not be empty"),
        ("POST", chat, with(r#""tools":{"a":1}"#), "`tools` must be an array"),
        ("POST", chat, with(r#""tools":[{"type":"retrieval"}]"#), "`tools[0].type` must be `function`, got `retrieval`"),
        ("POST", chat, with(r#""tools":[{"type":"function","function":{"name":"bad name!"}}]"#), "tool name `bad name!`"),
        ("POST", chat, with(r#""tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"a"}}]"#), "defined twice"),
        ("POST", chat, with(r#""tools":[{"type":"function","function":{"name":"a","parameters":"x"}}]"#), "parameters` must be an object"),
        ("POST", chat, with(r#""tool_choice":"auto""#), "needs `tools`"),
        ("POST", chat, with(r#""tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"function","function":{"name":"b"}}"#), "which is not in `tools`"),
        ("POST", chat, with(r#""tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":"sometimes""#), "`tool_choice` must be"),
        ("POST", chat, many_tools, "at most 128 are accepted"),
        ("POST", chat, with(r#""response_format":{"type":"yaml"}"#), "must be text, json_object or json_schema"),
        ("POST", chat, with(r#""response_format":{"type":"json_schema"}"#), "json_schema` is required"),
        ("POST", chat, r#"{"model":"claude","messages":[{"role":"assistant","content":null}]}"#.into(), "neither content nor tool_calls"),
        ("POST", chat, r#"{"model":"claude","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{not json"}}]}]}"#.into(), "must be a JSON object encoded as a string"),
        ("POST", chat, r#"{"model":"claude","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}"#.into(), "must encode a JSON object"),
        ("POST", chat, r#"{"model":"claude","messages":[{"role":"tool","content":"42"}]}"#.into(), "tool_call_id` is required"),
        ("POST", chat, r#"{"model":"claude","messages":[{"role":"tool","tool_call_id":"bad id!","content":"42"}]}"#.into(), "tool_call_id `bad id!`"),
        ("POST", chat, r#"{"model":"titan","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a"}}]}"#.into(), "does not support tool use"),
        ("POST", chat, r#"{"model":"titan","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low"}"#.into(), "does not support reasoning"),
        ("POST", chat, r#"{"model":"titan","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}"#.into(), "structured JSON output"),
        ("POST", chat, r#"{"model":"titan","messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]}]}"#.into(), "prompt caching"),
        ("POST", chat, big_text, "the router accepts at most 5242880 bytes"),
        ("POST", chat, big_image, "the router accepts at most 5242880 bytes"),
        ("POST", chat, under_limit_image, "Bedrock accepts at most 3750000 bytes per image"),
        ("GET", chat, "".into(), "use POST"),
        ("POST", "/v1/models", "".into(), "use GET"),
        ("POST", "/v1/completions", HELLO.into(), "no route for POST /v1/completions"),
        ("GET", "/", "".into(), "no route"),
        ("POST", "/model/claude/start-async-invoke", "{}".into(), "no route"),
        ("POST", "/model/claude/converse", r#"{"messages":[]}"#.into(), "at least one message"),
        ("POST", "/model/claude/converse", r#"{"messages":[{"role":"system","content":[{"text":"x"}]}]}"#.into(), "unknown variant `system`"),
        ("POST", "/model/claude/converse", r#"{"messages":[{"role":"user","content":[{"video":{}}]}]}"#.into(), "unknown variant `video`"),
        ("POST", "/model/claude/converse", r#"{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"%%%"}}}]}]}"#.into(), "not valid base64"),
        ("POST", "/model/claude/converse", r#"{"messages":[{"role":"user","content":[]}]}"#.into(), "at least one content block"),
        ("POST", "/model/claude/converse", r#"{"modelId":"x","messages":[{"role":"user","content":[{"text":"hi"}]}]}"#.into(), "unknown field `modelId`"),
        ("POST", "/model/titan/converse", r#"{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"aGk="}}}]}]}"#.into(), "does not support image input"),
        ("POST", "/model/claude/converse", r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":999999}}"#.into(), "at most 64000 output tokens"),
        ("POST", "/model/titan/converse", r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"system":[{"text":"s"},{"cachePoint":{"type":"default"}}]}"#.into(), "does not support prompt caching"),
        ("POST", "/model/claude/converse", r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"guardrailConfig":{}}"#.into(), "missing field `guardrailIdentifier`"),
        ("POST", "/model/nope/converse-stream", r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#.into(), "model `nope` is not served"),
    ]
}

#[tokio::test]
async fn every_entry_of_the_bad_input_corpus_gets_a_specific_4xx() {
    let h = harness();
    *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("should not be reached")));
    let corpus = corpus();
    assert!(corpus.len() >= 40);
    for (method, path, body, expected) in corpus {
        let (status, _, text) = call(&h, method, path, &body).await;
        let shown = &body[..body.len().min(120)];
        assert!(
            status.is_client_error(),
            "{method} {path} {shown} -> {status} {text}"
        );
        assert!(
            text.contains(expected),
            "{method} {path} {shown}: expected `{expected}` in {text}"
        );
    }
    assert!(
        h.fake.calls.lock().unwrap().is_empty(),
        "no bad request reached Bedrock"
    );
}

/// Every Function URL event in `events/router/` runs through the handler with the status its
/// name promises.
#[tokio::test]
async fn the_function_url_events_get_the_statuses_their_names_promise() {
    let config = shared::config::ProfileConfig::parse(
        &format!("models: [\"us.anthropic.claude-opus-5-5\"]\ninferenceProfiles:\n  \"us.anthropic.claude-opus-5-5\": \"{ARN}\"\n"),
        |_| None,
    )
    .unwrap();
    let fake = Arc::new(FakeBedrock::default());
    *fake.reply.lock().unwrap() = Some(Ok(text_reply("fine")));
    *fake.events.lock().unwrap() = stream_events(&["1, 2"]);
    let router = Router::new(
        Arc::clone(&fake),
        crate::profiles::ProfileDirectory::new(shared::profile_map::ProfileMap::new(&config)),
        Arc::new(MemorySink::default()),
        DEFAULT_MAX_BODY_BYTES,
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/router");
    let expected = [
        ("chat-completion", 200),
        ("chat-completion-stream", 200),
        ("converse", 200),
        ("models", 200),
        ("health", 200),
        ("bad-request-unknown-model", 404),
        ("bad-request-http-image", 400),
        ("bad-request-binary-body", 400),
    ];
    for (name, status) in expected {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let request = lambda_http::request::from_str(&text).unwrap();
        let response = router.handle(request).await;
        assert_eq!(response.status().as_u16(), status, "{name}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(!body.is_empty(), "{name}");
    }
    let calls = fake.calls.lock().unwrap();
    assert_eq!(calls.len(), 3);
    assert!(
        calls
            .iter()
            .all(|(site, _)| site.model_id == ARN && site.region == "eu-west-1")
    );
}

#[tokio::test]
async fn one_model_can_be_retrieved_by_its_percent_encoded_id() {
    let h = harness();
    let (status, _, text) = call(&h, "GET", "/v1/models/claude", "").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["id"], "claude");
    let (status, _, text) = call(&h, "GET", "/v1/models/gpt%2D4", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text.contains("model `gpt-4` is not served"), "{text}");
}

#[tokio::test]
async fn a_profile_that_no_longer_exists_is_a_404_when_its_capabilities_are_looked_up() {
    let h = harness();
    let body = r#"{"model":"team-model","messages":[{"role":"user","content":"hi"}]}"#;
    let (status, _, text) = call(&h, "POST", "/v1/chat/completions", body).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    assert!(text.contains("eu-west-1, the ARN's region"), "{text}");
}

#[tokio::test]
async fn a_profile_whose_lookup_is_denied_is_served_with_conservative_capabilities() {
    let h = harness();
    *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("ok")));
    *h.fake.profile_error.lock().unwrap() = Some(BedrockError::new(
        BedrockErrorKind::AccessDenied,
        "no GetInferenceProfile",
    ));
    let plain = r#"{"model":"team-model","messages":[{"role":"user","content":"hi"}]}"#;
    let (status, _, text) = call(&h, "POST", "/v1/chat/completions", plain).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let tools = r#"{"model":"team-model","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}"#;
    let (status, _, text) = call(&h, "POST", "/v1/chat/completions", tools).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("does not support tool use"), "{text}");
    assert_eq!(
        *h.fake.profile_lookups.lock().unwrap(),
        1,
        "the fallback is cached too"
    );
}

#[test]
fn the_body_limit_defaults_below_the_function_url_cap_and_refuses_nonsense() {
    assert_eq!(max_body_bytes(None).unwrap(), DEFAULT_MAX_BODY_BYTES);
    assert_eq!(max_body_bytes(Some("1000")).unwrap(), 1000);
    for bad in ["0", "-1", "lots", "7000000"] {
        let err = max_body_bytes(Some(bad)).unwrap_err();
        assert!(err.to_string().contains("ROUTER_MAX_BODY_BYTES"), "{err}");
    }
}

mod fuzz {
    //! Arbitrary JSON in every field of an otherwise valid request: never a 5xx, never a panic.

    use super::*;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,12}".prop_map(Value::String),
            prop::sample::select(vec![
                "user",
                "assistant",
                "tool",
                "system",
                "function",
                "text",
                "image_url",
                "data:image/png;base64,AAAA",
                "https://x",
                "auto",
                "required",
                "none",
                "json_schema",
                "high"
            ])
            .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "role",
                        "content",
                        "type",
                        "text",
                        "image_url",
                        "url",
                        "tool_calls",
                        "id",
                        "function",
                        "name",
                        "arguments",
                        "tool_call_id",
                        "parameters",
                        "json_schema",
                        "schema"
                    ]),
                    inner,
                    0..4,
                )
                .prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    const FIELDS: &[&str] = &[
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "response_format",
        "reasoning_effort",
        "n",
        "model",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_json_in_any_field_never_gets_a_server_error(
            field in prop::sample::select(FIELDS),
            value in json_value(),
            message in json_value(),
        ) {
            let h = harness();
            *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("ok")));
            *h.fake.events.lock().unwrap() = stream_events(&["ok"]);
            let mut body = json!({"model": "claude", "messages": [{"role": "user", "content": "hi"}, message]});
            body[field] = value;
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let (status, _, text) = runtime.block_on(call(&h, "POST", "/v1/chat/completions", &body.to_string()));
            prop_assert!(status.as_u16() < 500, "{} -> {} {}", body, status, text);
        }
    }
}

const POOLED: &str = r#"{"model":"pooled","messages":[{"role":"user","content":"hi"}]}"#;

fn throttled() -> BedrockError {
    BedrockError::new(BedrockErrorKind::Throttling, "Too many requests")
}

#[tokio::test]
async fn requests_alternate_between_a_models_profiles() {
    let h = harness();
    *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("ok")));
    let mut used = Vec::new();
    for _ in 0..4 {
        let (status, headers, body) = call(&h, "POST", "/v1/chat/completions", POOLED).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["x-router-attempts"], "1");
        used.push(headers["x-router-profile"].to_str().unwrap().to_owned());
    }
    assert_eq!(used, vec![ARN, WEST_ARN, ARN, WEST_ARN]);
}

#[tokio::test]
async fn a_throttled_profile_fails_over_to_the_next_with_every_call_answered() {
    let h = harness();
    *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("ok")));
    h.fake
        .failing_sites
        .lock()
        .unwrap()
        .insert(ARN.into(), throttled());
    for _ in 0..4 {
        let (status, headers, body) = call(&h, "POST", "/v1/chat/completions", POOLED).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["x-router-profile"], WEST_ARN);
        assert_eq!(headers["x-router-region"], "us-west-2");
    }
    let lines = h.sink.0.lock().unwrap();
    let attempts: Vec<f64> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["Attempts"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(attempts, vec![2.0, 1.0, 2.0, 1.0]);
    let doc: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(doc["Region"], "us-west-2");
    assert_eq!(doc["Tenant"], "default");
}

#[tokio::test]
async fn a_stream_fails_over_before_its_first_event_only() {
    let h = harness();
    *h.fake.events.lock().unwrap() = stream_events(&["Hel", "lo"]);
    h.fake.failing_sites.lock().unwrap().insert(
        ARN.into(),
        BedrockError::new(BedrockErrorKind::ServiceUnavailable, "unavailable"),
    );
    let body = r#"{"model":"pooled","messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    let (status, headers, text) = call(&h, "POST", "/v1/chat/completions", body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers["x-router-attempts"], "2");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
}

#[tokio::test]
async fn a_stream_that_delivered_data_is_never_sent_again() {
    let h = harness();
    let mut events = stream_events(&["Hel", "lo"]);
    events.truncate(2);
    events.push(Err(throttled()));
    *h.fake.events.lock().unwrap() = events;
    let body = r#"{"model":"pooled","messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    let (status, headers, text) = call(&h, "POST", "/v1/chat/completions", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-router-attempts"], "1");
    assert!(text.contains("Hel"), "{text}");
    assert!(text.contains("\"error\""), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    assert_eq!(h.fake.calls.lock().unwrap().len(), 1, "not re-sent");
}

#[tokio::test]
async fn client_errors_are_not_failed_over() {
    for kind in [
        BedrockErrorKind::Validation,
        BedrockErrorKind::AccessDenied,
        BedrockErrorKind::ResourceNotFound,
    ] {
        let h = harness();
        *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("ok")));
        h.fake
            .failing_sites
            .lock()
            .unwrap()
            .insert(ARN.into(), BedrockError::new(kind, "no"));
        let (status, headers, _) = call(&h, "POST", "/v1/chat/completions", POOLED).await;
        assert!(status.is_client_error(), "{kind:?}: {status}");
        assert_eq!(headers["x-router-attempts"], "1", "{kind:?}");
        assert_eq!(h.fake.calls.lock().unwrap().len(), 1, "{kind:?}");
    }
}

#[tokio::test]
async fn a_single_profile_is_retried_with_back_off_then_429() {
    let h = harness();
    *h.fake.reply.lock().unwrap() = Some(Err(throttled()));
    let (status, headers, _) = call(&h, "POST", "/v1/chat/completions", HELLO).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["x-router-attempts"], "3");
    assert_eq!(headers["retry-after"], "2");
    assert_eq!(h.fake.calls.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn the_tenant_is_written_into_request_metadata_on_both_routes() {
    let h = harness();
    *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("ok")));
    call(&h, "POST", "/v1/chat/completions", HELLO).await;
    call(
        &h,
        "POST",
        "/model/claude/converse",
        r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#,
    )
    .await;
    let calls = h.fake.calls.lock().unwrap();
    assert_eq!(calls.len(), 2);
    for (_, req) in calls.iter() {
        assert_eq!(req.request_metadata["tenant"], "default");
    }
}

/// The tenant events in `events/router/`: an IAM-signed caller and an API-key caller.
#[tokio::test]
async fn the_tenant_events_are_served_as_their_tenant() {
    use crate::auth::{AuthMode, Authenticator};
    use shared::tenants::TenantsConfig;
    let doc = format!(
        "models: [\"us.anthropic.claude-opus-5-5\"]\ninferenceProfiles:\n  \"us.anthropic.claude-opus-5-5\": \"{ARN}\"\n\
         tenants:\n  team-a:\n    apiKeys: [e15d388571c6cc808017b58600f644309709d68ec20ef11c132b99ac48e92a66]\n    principals: [\"arn:aws:sts::123456789012:assumed-role/TeamA/*\"]\n    inferenceProfiles:\n      \"us.anthropic.claude-opus-5-5\": \"{WEST_ARN}\"\n"
    );
    let config = shared::config::ProfileConfig::parse(&doc, |_| None).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/router");
    let event = |name: &str| {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        lambda_http::request::from_str(&text).unwrap()
    };
    for (mode, name, status, tenant) in [
        (
            AuthMode::AwsIam,
            "chat-completion-iam-tenant",
            200,
            Some("team-a"),
        ),
        (AuthMode::AwsIam, "chat-completion", 200, Some("default")),
        (
            AuthMode::ApiKey,
            "chat-completion-api-key",
            200,
            Some("team-a"),
        ),
        (AuthMode::ApiKey, "chat-completion", 401, None),
    ] {
        let fake = Arc::new(FakeBedrock::default());
        *fake.reply.lock().unwrap() = Some(Ok(text_reply("fine")));
        let tenants = TenantsConfig::parse(&doc, &config, |_| None).unwrap();
        let router = Router::with_tenants(
            RouterParts {
                bedrock: Arc::clone(&fake),
                shared: crate::profiles::ProfileDirectory::new(
                    shared::profile_map::ProfileMap::new(&config),
                ),
                auth: Authenticator::new(mode, tenants).unwrap(),
                sink: Arc::new(MemorySink::default()),
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                retry: RetryPolicy::default(),
            },
            |t| crate::profiles::ProfileDirectory::new(TenantsConfig::profile_map(t)),
        );
        let response = router.handle(event(name)).await;
        assert_eq!(response.status().as_u16(), status, "{mode:?} {name}");
        let calls = fake.calls.lock().unwrap();
        match tenant {
            Some(t) => {
                assert_eq!(calls[0].1.request_metadata["tenant"], t, "{name}");
                let expected = if t == "team-a" { WEST_ARN } else { ARN };
                assert_eq!(calls[0].0.model_id, expected, "{name}");
            }
            None => assert!(calls.is_empty()),
        }
    }
}

/// A tenant's guardrail goes on every call it makes, whatever the route, in place of one the
/// caller named; a tenant without one is not filtered.
#[tokio::test]
async fn a_tenants_guardrail_is_put_on_every_route_and_replaces_the_callers() {
    use crate::auth::{AuthMode, Authenticator};
    use shared::tenants::TenantsConfig;
    let key_a = shared::tenants::KeyHash::of("sk-guarded-a").to_hex();
    let key_b = shared::tenants::KeyHash::of("sk-open-b").to_hex();
    let doc = format!(
        "models: [\"us.anthropic.claude-opus-5-5\"]\ninferenceProfiles:\n  \"us.anthropic.claude-opus-5-5\": \"{ARN}\"\n\
         tenants:\n  team-a:\n    apiKeys: [{key_a}]\n    guardrail: {{id: abc123xyz789, version: 3, trace: true}}\n  team-b:\n    apiKeys: [{key_b}]\n"
    );
    let config = shared::config::ProfileConfig::parse(&doc, |_| None).unwrap();
    let tenants = TenantsConfig::parse(&doc, &config, |_| None).unwrap();
    let fake = Arc::new(FakeBedrock::default());
    let router = Router::with_tenants(
        RouterParts {
            bedrock: Arc::clone(&fake),
            shared: crate::profiles::ProfileDirectory::new(shared::profile_map::ProfileMap::new(
                &config,
            )),
            auth: Authenticator::new(AuthMode::ApiKey, tenants).unwrap(),
            sink: Arc::new(MemorySink::default()),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            retry: RetryPolicy::default(),
        },
        |t| crate::profiles::ProfileDirectory::new(TenantsConfig::profile_map(t)),
    );
    let chat =
        r#"{"model":"us.anthropic.claude-opus-5-5","messages":[{"role":"user","content":"hi"}]}"#;
    let invoke = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#;
    let converse = r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"guardrailConfig":{"guardrailIdentifier":"callers","guardrailVersion":"DRAFT"}}"#;
    for key in ["sk-guarded-a", "sk-open-b"] {
        let bearer = format!("Bearer {key}");
        let auth = [("authorization", bearer.as_str())];
        for (path, body, extra) in [
            ("/v1/chat/completions", chat, None),
            (
                "/model/us.anthropic.claude-opus-5-5/converse",
                converse,
                None,
            ),
            (
                "/model/us.anthropic.claude-opus-5-5/invoke",
                invoke,
                Some(("x-amzn-bedrock-guardrailidentifier", "callers")),
            ),
        ] {
            *fake.reply.lock().unwrap() = Some(Ok(text_reply("fine")));
            *fake.invoke_reply.lock().unwrap() = Some(Ok(crate::bedrock::InvokeResponse {
                body: bytes::Bytes::from_static(
                    br#"{"content":[],"usage":{"input_tokens":1,"output_tokens":1}}"#,
                ),
                content_type: "application/json".into(),
            }));
            let mut headers = auth.to_vec();
            headers.extend(extra);
            let response = router
                .handle(request_with("POST", path, body, &headers))
                .await;
            assert_eq!(response.status(), StatusCode::OK, "{key} {path}");
        }
        let calls = std::mem::take(&mut *fake.calls.lock().unwrap());
        let invocations = std::mem::take(&mut *fake.invocations.lock().unwrap());
        assert_eq!((calls.len(), invocations.len()), (2, 1), "{key}");
        let guard = calls[0].1.guardrail_config.as_ref();
        let invoked = &invocations[0].1;
        if key == "sk-guarded-a" {
            for c in &calls {
                let g = c.1.guardrail_config.as_ref().unwrap();
                assert_eq!(
                    (
                        g.guardrail_identifier.as_str(),
                        g.guardrail_version.as_str()
                    ),
                    ("abc123xyz789", "3")
                );
                assert_eq!(g.trace.as_deref(), Some("enabled"));
            }
            assert_eq!(
                invoked.guardrail_identifier.as_deref(),
                Some("abc123xyz789")
            );
            assert_eq!(invoked.guardrail_version.as_deref(), Some("3"));
            assert_eq!(invoked.trace.as_deref(), Some("ENABLED"));
        } else {
            assert!(guard.is_none(), "no guardrail on an OpenAI call of team-b");
            // A tenant without a guardrail keeps the one its caller named.
            let own = calls[1].1.guardrail_config.as_ref().unwrap();
            assert_eq!(own.guardrail_identifier, "callers");
            assert_eq!(invoked.guardrail_identifier.as_deref(), Some("callers"));
        }
    }
}

/// `ROUTER_GUARDRAIL` covers the tenants that name none, the default tenant included, so an
/// IAM binding to that guardrail never refuses the router's own calls.
#[tokio::test]
async fn the_default_guardrail_covers_tenants_without_their_own() {
    let mut h = harness();
    let default = crate::config::guardrail(Some("abc123xyz789:4")).unwrap();
    h.router = h.router.clone().with_default_guardrail(default);
    *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("fine")));
    let body = r#"{"model":"claude","messages":[{"role":"user","content":"hi"}]}"#;
    let (status, _, text) = call_with(&h, "/v1/chat/completions", body, &[]).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let calls = h.fake.calls.lock().unwrap();
    let g = calls[0].1.guardrail_config.as_ref().unwrap();
    assert_eq!(
        (
            g.guardrail_identifier.as_str(),
            g.guardrail_version.as_str()
        ),
        ("abc123xyz789", "4")
    );
}

fn request_with(
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> lambda_http::Request {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder
        .body(lambda_http::Body::from(body.to_owned()))
        .unwrap()
}

async fn call_with(
    h: &Harness,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, http::HeaderMap, String) {
    let response = h
        .router
        .handle(request_with("POST", path, body, headers))
        .await;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

const CLAUDE_CODE_BETAS: &str =
    "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27";

#[tokio::test]
async fn messages_to_claude_go_through_invoke_model_on_the_profile_with_only_refused_betas_dropped()
{
    let h = harness();
    *h.fake.invoke_reply.lock().unwrap() = Some(Ok(crate::bedrock::InvokeResponse {
        body: bytes::Bytes::from_static(br#"{"id":"msg_1","type":"message","role":"assistant","model":"anthropic.claude-sonnet-4-5","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":9,"output_tokens":2,"cache_read_input_tokens":4}}"#),
        content_type: "application/json".into(),
    }));
    let body = r#"{"model":"claude-sonnet-4-5","max_tokens":128000,"metadata":{"user_id":"u"},"messages":[{"role":"user","content":"hi"}]}"#;
    let (status, headers, text) = call_with(
        &h,
        "/v1/messages?beta=true",
        body,
        &[
            ("anthropic-beta", CLAUDE_CODE_BETAS),
            ("anthropic-version", "2023-06-01"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        answer["model"], "claude-sonnet-4-5",
        "the caller's name comes back"
    );
    assert_eq!(answer["content"][0]["text"], "hi");
    assert_eq!(
        headers["x-router-dropped"],
        "anthropic_beta=claude-code-20250219; fields=metadata; changed=max_tokens=128000->64000"
    );
    assert_eq!(headers["x-router-profile"], ARN);
    let invocations = h.fake.invocations.lock().unwrap();
    let (site, sent) = &invocations[0];
    assert_eq!(site.model_id, ARN);
    let sent_body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(sent_body["anthropic_version"], "bedrock-2023-05-31");
    assert_eq!(
        sent_body["anthropic_beta"],
        json!([
            "interleaved-thinking-2025-05-14",
            "context-management-2025-06-27"
        ])
    );
    assert_eq!(sent.request_metadata["tenant"], "default");
    drop(invocations);
    drop(h.router);
    let metrics = h.sink.0.lock().unwrap().join("\n");
    assert!(metrics.contains("\"Adjustments\":3"), "{metrics}");
    assert!(metrics.contains("\"CacheReadTokens\":4"), "{metrics}");
}

#[tokio::test]
async fn a_streamed_claude_answer_is_relayed_as_anthropic_events_without_bedrocks_metrics() {
    let h = harness();
    *h.fake.chunks.lock().unwrap() = vec![
        Ok(bytes::Bytes::from_static(br#"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":5,"output_tokens":1}}}"#)),
        Ok(bytes::Bytes::from_static(br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#)),
        Ok(bytes::Bytes::from_static(br#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}"#)),
        Ok(bytes::Bytes::from_static(br#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":5}}"#)),
    ];
    let body = r#"{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let (status, headers, text) = call_with(&h, "/v1/messages", body, &[]).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers[header::CONTENT_TYPE], "text/event-stream");
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        events,
        vec![
            "message_start",
            "content_block_delta",
            "message_delta",
            "message_stop"
        ]
    );
    assert!(!text.contains("invocationMetrics"), "{text}");
    assert!(text.contains("data: {\"type\":\"message_stop\"}"), "{text}");
    drop(h.router);
    let metrics = h.sink.0.lock().unwrap().join("\n");
    assert!(metrics.contains("\"InputTokens\":5"), "{metrics}");
    assert!(metrics.contains("\"OutputTokens\":7"), "{metrics}");
}

#[tokio::test]
async fn messages_to_a_model_that_is_not_claude_answer_in_anthropics_shape_through_converse() {
    let h = harness();
    *h.fake.reply.lock().unwrap() = Some(Ok(text_reply("hello from titan")));
    let body = r#"{"model":"titan","max_tokens":100,"system":"be brief","messages":[{"role":"user","content":"hi"}]}"#;
    let (status, _, text) = call_with(&h, "/v1/messages", body, &[]).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["type"], "message");
    assert_eq!(answer["content"][0]["text"], "hello from titan");
    assert_eq!(answer["model"], "titan");
    assert!(h.fake.invocations.lock().unwrap().is_empty());
    let calls = h.fake.calls.lock().unwrap();
    assert_eq!(calls[0].1.request_metadata["model"], "titan");
}

#[tokio::test]
async fn messages_errors_come_in_anthropics_shape_and_statuses() {
    let h = harness();
    let unknown =
        r#"{"model":"gpt-4o","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#;
    let (status, _, text) = call_with(&h, "/v1/messages", unknown, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "not_found_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("available models"),
        "{text}"
    );

    let no_max = r#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}"#;
    let (status, _, text) = call_with(&h, "/v1/messages", no_max, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        text.contains("invalid_request_error") && text.contains("max_tokens"),
        "{text}"
    );

    let bad_role = r#"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"robot","content":"hi"}]}"#;
    let (status, _, text) = call_with(&h, "/v1/messages", bad_role, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("messages[0].role"), "{text}");

    *h.fake.invoke_reply.lock().unwrap() = Some(Err(BedrockError::new(
        BedrockErrorKind::ServiceUnavailable,
        "down",
    )));
    let fine = r#"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let (status, _, text) = call_with(&h, "/v1/messages", fine, &[]).await;
    assert_eq!(status.as_u16(), 529, "{text}");
    assert!(text.contains("overloaded_error"), "{text}");
}

#[tokio::test]
async fn count_tokens_asks_bedrock_on_the_base_model_and_passes_its_refusal_on() {
    let h = harness();
    h.fake.profile_models.lock().unwrap().insert(
        ARN.into(),
        "anthropic.claude-sonnet-4-5-20250929-v1:0".into(),
    );
    *h.fake.token_count.lock().unwrap() = Some(Ok(42));
    let body = r#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}"#;
    let (status, _, text) = call_with(&h, "/v1/messages/count_tokens", body, &[]).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"input_tokens": 42})
    );
    {
        let counted = h.fake.counted.lock().unwrap();
        assert_eq!(counted[0].0, "anthropic.claude-sonnet-4-5-20250929-v1:0");
        assert_eq!(counted[0].1, "eu-west-1");
    }
    *h.fake.token_count.lock().unwrap() = Some(Err(BedrockError::new(
        BedrockErrorKind::Validation,
        "The provided model doesn't support counting tokens.",
    )));
    let (status, _, text) = call_with(&h, "/v1/messages/count_tokens", body, &[]).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "never an invented number: {text}"
    );
    assert!(text.contains("support counting tokens"), "{text}");
}

#[tokio::test]
async fn bedrock_invoke_sends_a_claude_body_to_the_profile_and_answers_with_bedrocks_token_headers()
{
    let h = harness();
    *h.fake.invoke_reply.lock().unwrap() = Some(Ok(crate::bedrock::InvokeResponse {
        body: bytes::Bytes::from_static(
            br#"{"type":"message","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":6,"output_tokens":3}}"#,
        ),
        content_type: "application/json".into(),
    }));
    let body = r#"{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["claude-code-20250219","interleaved-thinking-2025-05-14"],"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"#;
    let (status, headers, text) = call_with(&h, "/model/claude-sonnet-4-5/invoke", body, &[]).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers["x-amzn-bedrock-input-token-count"], "6");
    assert_eq!(headers["x-amzn-bedrock-output-token-count"], "3");
    let latency: u64 = headers["x-amzn-bedrock-invocation-latency"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(latency < 10_000, "{latency}");
    assert_eq!(
        headers["x-router-dropped"],
        "anthropic_beta=claude-code-20250219"
    );
    let invocations = h.fake.invocations.lock().unwrap();
    assert_eq!(invocations[0].0.model_id, ARN);
    let sent: Value = serde_json::from_slice(&invocations[0].1.body).unwrap();
    assert_eq!(
        sent["anthropic_beta"],
        json!(["interleaved-thinking-2025-05-14"])
    );
}

#[tokio::test]
async fn a_profile_arn_that_is_not_the_tenants_is_refused_without_a_bedrock_call() {
    let h = harness();
    let foreign = "arn%3Aaws%3Abedrock%3Aeu-west-1%3A999999999999%3Aapplication-inference-profile%2Fqqqqqqqqqq11";
    let body = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let (status, headers, text) =
        call_with(&h, &format!("/model/{foreign}/invoke"), body, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert_eq!(headers["x-amzn-ErrorType"], "AccessDeniedException");
    assert!(h.fake.invocations.lock().unwrap().is_empty());
    let (status, _, _) = call_with(
        &h,
        "/model/anthropic.claude-opus-4-1-20250805-v1%3A0/invoke",
        body,
        &[],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a model the tenant does not serve"
    );
    assert!(h.fake.invocations.lock().unwrap().is_empty());
}
