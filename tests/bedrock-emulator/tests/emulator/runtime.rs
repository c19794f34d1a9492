//! The runtime driven by the real Rust SDK (`aws-sdk-bedrockruntime`): all four operations,
//! streaming included, for every model ID form, and every injected fault surfacing as the
//! SDK's typed error. The emulator runs in-process on a free loopback port.

use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime as brt;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    AnyToolChoice, ContentBlock, ContentBlockDelta, ConversationRole, ConverseOutput,
    ConverseStreamOutput, InferenceConfiguration, Message, ReasoningContentBlock, ResponseStream,
    StopReason, Tool, ToolChoice, ToolConfiguration, ToolInputSchema, ToolSpecification,
};
use bedrock_emulator::{Emulator, Options, RunningEmulator};

use crate::set_local_env;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const NOVA: &str = "amazon.nova-pro-v1:0";
const SONNET_FM: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const SONNET_PROFILE: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const CLAUDE_37_PROFILE: &str = "us.anthropic.claude-3-7-sonnet-20250219-v1:0";

struct Harness {
    emulator: RunningEmulator,
    client: brt::Client,
}

async fn start() -> Harness {
    start_with(Options::default()).await
}

async fn start_with(options: Options) -> Harness {
    set_local_env();
    let emulator = Emulator::start(options).await.unwrap();
    Harness {
        client: crate::runtime_client(&emulator.url(), REGION, crate::ACCESS_KEY),
        emulator,
    }
}

/// One plain HTTP/1.1 exchange with the admin routes.
async fn admin(url: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
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
    let status = raw[9..12].parse().unwrap();
    let payload = raw.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}

async fn fault(h: &Harness, spec: Value) {
    let (status, body) = admin(&h.emulator.url(), "POST", "/_emulator/runtime/faults", spec).await;
    assert_eq!(status, 201, "{body}");
}

async fn app_profile_arn(h: &Harness) -> String {
    let control = crate::bedrock_client(&h.emulator.url(), REGION, crate::ACCESS_KEY);
    control
        .create_inference_profile()
        .inference_profile_name("runtime-tests")
        .model_source(
            aws_sdk_bedrock::types::InferenceProfileModelSource::CopyFrom(format!(
                "arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{SONNET_PROFILE}"
            )),
        )
        .send()
        .await
        .unwrap()
        .inference_profile_arn
}

fn user(text: &str) -> Message {
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(text.into()))
        .build()
        .unwrap()
}

fn reply_text(output: Option<&ConverseOutput>) -> String {
    let Some(ConverseOutput::Message(message)) = output else {
        panic!("no message")
    };
    message
        .content()
        .iter()
        .filter_map(|b| b.as_text().ok().cloned())
        .collect()
}

async fn every_model_id_form(h: &Harness) -> Vec<String> {
    vec![
        NOVA.to_string(),
        format!("arn:aws:bedrock:{REGION}::foundation-model/{NOVA}"),
        SONNET_PROFILE.to_string(),
        format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{SONNET_PROFILE}"),
        app_profile_arn(h).await,
    ]
}

async fn collect_converse_stream(
    h: &Harness,
    model: &str,
    text: &str,
) -> (Vec<&'static str>, String, Option<StopReason>, i32) {
    let mut out = h
        .client
        .converse_stream()
        .model_id(model)
        .messages(user(text))
        .send()
        .await
        .unwrap();
    let (mut names, mut streamed, mut stop, mut output_tokens) =
        (Vec::new(), String::new(), None, -1);
    while let Some(event) = out.stream.recv().await.unwrap() {
        names.push(match &event {
            ConverseStreamOutput::MessageStart(_) => "messageStart",
            ConverseStreamOutput::ContentBlockStart(_) => "contentBlockStart",
            ConverseStreamOutput::ContentBlockDelta(d) => {
                if let Some(ContentBlockDelta::Text(t)) = d.delta() {
                    streamed.push_str(t);
                }
                "contentBlockDelta"
            }
            ConverseStreamOutput::ContentBlockStop(_) => "contentBlockStop",
            ConverseStreamOutput::MessageStop(s) => {
                stop = Some(s.stop_reason().clone());
                "messageStop"
            }
            ConverseStreamOutput::Metadata(m) => {
                output_tokens = m.usage().unwrap().output_tokens();
                "metadata"
            }
            _ => "unknown",
        });
    }
    (names, streamed, stop, output_tokens)
}

#[tokio::test]
async fn converse_answers_every_model_id_form_with_the_same_deterministic_reply() {
    let h = start().await;
    let mut texts = Vec::new();
    for model in every_model_id_form(&h).await {
        let out = h
            .client
            .converse()
            .model_id(&model)
            .messages(user("Hello emulator"))
            .send()
            .await
            .unwrap();
        let text = reply_text(out.output());
        assert!(
            text.ends_with("You said: Hello emulator"),
            "{model}: {text}"
        );
        assert_eq!(out.stop_reason(), &StopReason::EndTurn);
        let usage = out.usage().unwrap();
        assert_eq!(usage.input_tokens(), 2);
        assert!(usage.output_tokens() > 4);
        assert_eq!(
            usage.total_tokens(),
            usage.input_tokens() + usage.output_tokens()
        );
        assert!(out.metrics().unwrap().latency_ms() >= 1);
        texts.push(text);
    }
    assert!(texts.windows(2).all(|w| w[0] == w[1]));
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn converse_stream_sends_events_in_bedrocks_order_for_every_model_id_form() {
    let h = start().await;
    for model in every_model_id_form(&h).await {
        let whole = h
            .client
            .converse()
            .model_id(&model)
            .messages(user("stream this please"))
            .send()
            .await
            .unwrap();
        let (names, streamed, stop, output_tokens) =
            collect_converse_stream(&h, &model, "stream this please").await;
        assert_eq!(names.first(), Some(&"messageStart"), "{model}");
        assert_eq!(
            &names[names.len() - 3..],
            &["contentBlockStop", "messageStop", "metadata"]
        );
        assert!(names.iter().filter(|n| **n == "contentBlockDelta").count() >= 2);
        assert!(
            !names.contains(&"contentBlockStart"),
            "no start event for text blocks"
        );
        assert_eq!(streamed, reply_text(whole.output()));
        assert_eq!(stop, Some(StopReason::EndTurn));
        assert_eq!(output_tokens, whole.usage().unwrap().output_tokens());
    }
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn invoke_model_speaks_anthropic_messages_for_claude_and_nova_format_for_nova() {
    let h = start().await;
    let claude_body = json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
                             "messages": [{"role": "user", "content": "What is the capital of Sudan?"}]});
    let profile_arn = app_profile_arn(&h).await;
    for model in [SONNET_PROFILE.to_string(), profile_arn] {
        let out = h
            .client
            .invoke_model()
            .model_id(&model)
            .content_type("application/json")
            .body(Blob::new(claude_body.to_string()))
            .send()
            .await
            .unwrap();
        assert_eq!(out.content_type(), "application/json");
        let body: Value = serde_json::from_slice(out.body().as_ref()).unwrap();
        assert_eq!(body["type"], "message");
        assert_eq!(body["role"], "assistant");
        assert!(body["id"].as_str().unwrap().starts_with("msg_bdrk_"));
        assert!(
            body["content"][0]["text"]
                .as_str()
                .unwrap()
                .ends_with("You said: What is the capital of Sudan?")
        );
        assert_eq!(body["stop_reason"], "end_turn");
        assert_eq!(body["usage"]["input_tokens"], 7);
    }
    let nova_body = json!({"schemaVersion": "messages-v1", "messages": [{"role": "user", "content": [{"text": "Hi Nova"}]}],
                           "inferenceConfig": {"max_new_tokens": 100}});
    for model in [
        NOVA.to_string(),
        format!("arn:aws:bedrock:{REGION}::foundation-model/{NOVA}"),
    ] {
        let out = h
            .client
            .invoke_model()
            .model_id(&model)
            .content_type("application/json")
            .body(Blob::new(nova_body.to_string()))
            .send()
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(out.body().as_ref()).unwrap();
        assert!(
            body["output"]["message"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .ends_with("You said: Hi Nova")
        );
        assert_eq!(body["stopReason"], "end_turn");
        assert_eq!(body["usage"]["inputTokens"], 2);
    }
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn invoke_model_with_response_stream_yields_native_chunks_and_invocation_metrics_last() {
    let h = start().await;
    let claude_body = json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
                             "messages": [{"role": "user", "content": "Tell me something"}]});
    let models = every_model_id_form(&h).await;
    for model in &models[2..] {
        let mut out = h
            .client
            .invoke_model_with_response_stream()
            .model_id(model)
            .content_type("application/json")
            .body(Blob::new(claude_body.to_string()))
            .send()
            .await
            .unwrap();
        assert_eq!(out.content_type(), "application/json");
        let mut chunks = Vec::new();
        while let Some(event) = out.body.recv().await.unwrap() {
            let ResponseStream::Chunk(part) = event else {
                panic!("unexpected event")
            };
            chunks.push(serde_json::from_slice::<Value>(part.bytes().unwrap().as_ref()).unwrap());
        }
        let kinds: Vec<&str> = chunks.iter().map(|c| c["type"].as_str().unwrap()).collect();
        assert_eq!(kinds.first(), Some(&"message_start"));
        assert_eq!(
            &kinds[kinds.len() - 2..],
            &["message_delta", "message_stop"]
        );
        let metrics = &chunks.last().unwrap()["amazon-bedrock-invocationMetrics"];
        assert_eq!(metrics["inputTokenCount"], 3);
        assert_eq!(
            metrics["outputTokenCount"],
            chunks[kinds.len() - 2]["usage"]["output_tokens"]
        );
        let text: String = chunks
            .iter()
            .filter_map(|c| c["delta"]["text"].as_str())
            .collect();
        assert!(
            text.ends_with("You said: Tell me something"),
            "{model}: {text}"
        );
    }
    let nova_body = json!({"messages": [{"role": "user", "content": [{"text": "Hi Nova"}]}]});
    for model in &models[..2] {
        let mut out = h
            .client
            .invoke_model_with_response_stream()
            .model_id(model)
            .body(Blob::new(nova_body.to_string()))
            .send()
            .await
            .unwrap();
        let mut chunks = Vec::new();
        while let Some(ResponseStream::Chunk(part)) = out.body.recv().await.unwrap() {
            chunks.push(serde_json::from_slice::<Value>(part.bytes().unwrap().as_ref()).unwrap());
        }
        assert!(chunks[0]["messageStart"].is_object());
        assert_eq!(
            chunks[chunks.len() - 2]["messageStop"]["stopReason"],
            "end_turn"
        );
        assert_eq!(
            chunks.last().unwrap()["amazon-bedrock-invocationMetrics"]["inputTokenCount"],
            2
        );
    }
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn unknown_ids_profile_only_models_on_demand_and_models_without_access_fail_as_bedrock_does()
{
    let h = start().await;
    let err = h
        .client
        .converse()
        .model_id("anthropic.claude-nonexistent-v9:0")
        .messages(user("x"))
        .send()
        .await
        .unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_validation_exception());
    assert_eq!(
        err.meta().message(),
        Some("The provided model identifier is invalid.")
    );

    let err = h
        .client
        .converse()
        .model_id(SONNET_FM)
        .messages(user("x"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert_eq!(
        err.meta().message().unwrap(),
        format!(
            "Invocation of model ID {SONNET_FM} with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model."
        )
    );

    let (status, _) = admin(
        &h.emulator.url(),
        "PUT",
        &format!("/_emulator/model-access/{SONNET_FM}?region={REGION}"),
        json!({"agreementAvailability": {"status": "NOT_AVAILABLE"}}),
    )
    .await;
    assert_eq!(status, 200);
    let err = h
        .client
        .converse_stream()
        .model_id(SONNET_PROFILE)
        .messages(user("x"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_access_denied_exception());
    assert!(
        err.meta()
            .message()
            .unwrap()
            .contains("AWS Marketplace subscription for this model")
    );
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn invalid_converse_requests_are_refused_with_validation_exceptions() {
    let h = start().await;
    let err = h
        .client
        .converse()
        .model_id(NOVA)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert!(err.meta().message().unwrap().contains("'messages'"));
    let config = InferenceConfiguration::builder().temperature(1.5).build();
    let err = h
        .client
        .converse()
        .model_id(NOVA)
        .messages(user("x"))
        .inference_config(config)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        err.meta()
            .message()
            .unwrap()
            .contains("inferenceConfig.temperature"),
        "{err:?}"
    );
    let err = h
        .client
        .converse()
        .model_id(NOVA)
        .messages(user("x"))
        .request_metadata("bad*key", "v")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    let assistant_first = Message::builder()
        .role(ConversationRole::Assistant)
        .content(ContentBlock::Text("hi".into()))
        .build()
        .unwrap();
    let err = h
        .client
        .converse()
        .model_id(NOVA)
        .messages(assistant_first)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        err.meta()
            .message()
            .unwrap()
            .contains("must start with a user message")
    );
    h.emulator.shutdown().await;
}

fn weather_tool() -> ToolConfiguration {
    let schema = aws_smithy_types::Document::Object(
        [
            ("type".to_string(), "object".into()),
            (
                "properties".to_string(),
                aws_smithy_types::Document::Object(
                    [(
                        "city".to_string(),
                        aws_smithy_types::Document::Object(
                            [("type".to_string(), "string".into())].into(),
                        ),
                    )]
                    .into(),
                ),
            ),
        ]
        .into(),
    );
    ToolConfiguration::builder()
        .tools(Tool::ToolSpec(
            ToolSpecification::builder()
                .name("get_weather")
                .input_schema(ToolInputSchema::Json(schema))
                .build()
                .unwrap(),
        ))
        .tool_choice(ToolChoice::Any(AnyToolChoice::builder().build()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn forced_tool_choice_returns_a_tool_use_block_whole_and_streamed() {
    let h = start().await;
    let out = h
        .client
        .converse()
        .model_id(SONNET_PROFILE)
        .messages(user("weather in Paris"))
        .tool_config(weather_tool())
        .send()
        .await
        .unwrap();
    assert_eq!(out.stop_reason(), &StopReason::ToolUse);
    let Some(ConverseOutput::Message(message)) = out.output() else {
        panic!()
    };
    let tool_use = message.content()[0].as_tool_use().unwrap();
    assert_eq!(tool_use.name(), "get_weather");
    assert!(tool_use.tool_use_id().starts_with("tooluse_"));
    let input = tool_use.input().as_object().unwrap();
    assert_eq!(input["city"].as_string(), Some("weather in Paris"));

    let mut stream = h
        .client
        .converse_stream()
        .model_id(SONNET_PROFILE)
        .messages(user("weather in Paris"))
        .tool_config(weather_tool())
        .send()
        .await
        .unwrap();
    let (mut started, mut json_text, mut stop) = (None, String::new(), None);
    while let Some(event) = stream.stream.recv().await.unwrap() {
        match event {
            ConverseStreamOutput::ContentBlockStart(s) => {
                started = s
                    .start()
                    .and_then(|s| s.as_tool_use().ok())
                    .map(|t| t.name().to_string())
            }
            ConverseStreamOutput::ContentBlockDelta(d) => {
                if let Some(ContentBlockDelta::ToolUse(t)) = d.delta() {
                    json_text.push_str(t.input());
                }
            }
            ConverseStreamOutput::MessageStop(s) => stop = Some(s.stop_reason().clone()),
            _ => {}
        }
    }
    assert_eq!(started.as_deref(), Some("get_weather"));
    assert_eq!(
        serde_json::from_str::<Value>(&json_text).unwrap(),
        json!({"city": "weather in Paris"})
    );
    assert_eq!(stop, Some(StopReason::ToolUse));
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn thinking_requests_get_signed_reasoning_blocks_and_limits_are_honoured() {
    let h = start().await;
    let thinking = aws_smithy_types::Document::Object(
        [(
            "thinking".to_string(),
            aws_smithy_types::Document::Object(
                [
                    ("type".to_string(), "enabled".into()),
                    (
                        "budget_tokens".to_string(),
                        aws_smithy_types::Document::Number(aws_smithy_types::Number::PosInt(1024)),
                    ),
                ]
                .into(),
            ),
        )]
        .into(),
    );
    let out = h
        .client
        .converse()
        .model_id(CLAUDE_37_PROFILE)
        .messages(user("think first"))
        .inference_config(InferenceConfiguration::builder().max_tokens(2000).build())
        .additional_model_request_fields(thinking)
        .send()
        .await
        .unwrap();
    let Some(ConverseOutput::Message(message)) = out.output() else {
        panic!()
    };
    let Some(ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(reasoning))) =
        message.content().first()
    else {
        panic!("no reasoning block: {message:?}")
    };
    assert!(!reasoning.text().is_empty());
    assert_eq!(reasoning.signature().unwrap().len(), 44);

    let out = h
        .client
        .converse()
        .model_id(NOVA)
        .messages(user("a long answer please"))
        .inference_config(InferenceConfiguration::builder().max_tokens(3).build())
        .send()
        .await
        .unwrap();
    assert_eq!(out.stop_reason(), &StopReason::MaxTokens);
    assert_eq!(out.usage().unwrap().output_tokens(), 3);

    let out = h
        .client
        .converse()
        .model_id(NOVA)
        .messages(user("say STOP now"))
        .inference_config(
            InferenceConfiguration::builder()
                .stop_sequences("STOP")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.stop_reason(), &StopReason::StopSequence);
    assert!(!reply_text(out.output()).contains("STOP"));
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn counted_throttling_and_5xx_faults_surface_as_typed_errors_then_clear() {
    let h = start().await;
    fault(
        &h,
        json!({"kind": "throttling", "model": "*nova-pro*", "count": 1}),
    )
    .await;
    let err = h
        .client
        .converse()
        .model_id(NOVA)
        .messages(user("x"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_throttling_exception(), "{err:?}");
    assert_eq!(
        err.meta().message(),
        Some("Too many requests, please wait before trying again.")
    );
    assert!(
        h.client
            .converse()
            .model_id(NOVA)
            .messages(user("x"))
            .send()
            .await
            .is_ok()
    );

    fault(&h, json!({"kind": "error", "code": "ServiceUnavailableException", "operation": "InvokeModel", "count": 1})).await;
    let body = json!({"messages": [{"role": "user", "content": [{"text": "x"}]}]}).to_string();
    let err = h
        .client
        .invoke_model()
        .model_id(NOVA)
        .body(Blob::new(body.clone()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_service_unavailable_exception(), "{err:?}");
    fault(&h, json!({"kind": "error", "count": 1})).await;
    let err = h
        .client
        .invoke_model_with_response_stream()
        .model_id(NOVA)
        .body(Blob::new(body))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_internal_server_exception(), "{err:?}");

    fault(&h, json!({"kind": "latency", "latencyMs": 300, "count": 1})).await;
    let started = Instant::now();
    h.client
        .converse()
        .model_id(NOVA)
        .messages(user("x"))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_stream_that_fails_midway_ends_with_the_typed_exception_event() {
    let h = start().await;
    fault(&h, json!({"kind": "stream-error", "code": "ThrottlingException", "operation": "ConverseStream", "afterEvents": 2, "count": 1})).await;
    let mut out = h
        .client
        .converse_stream()
        .model_id(NOVA)
        .messages(user("stream please"))
        .send()
        .await
        .unwrap();
    let mut seen = 0;
    let err = loop {
        match out.stream.recv().await {
            Ok(Some(_)) => seen += 1,
            Ok(None) => panic!("stream ended without the fault"),
            Err(e) => break e,
        }
    };
    assert_eq!(seen, 2);
    let err = err.into_service_error();
    assert!(
        matches!(
            err,
            brt::types::error::ConverseStreamOutputError::ThrottlingException(_)
        ),
        "{err:?}"
    );

    fault(&h, json!({"kind": "stream-error", "operation": "InvokeModelWithResponseStream", "afterEvents": 1, "count": 1})).await;
    let body = json!({"messages": [{"role": "user", "content": [{"text": "x"}]}]}).to_string();
    let mut out = h
        .client
        .invoke_model_with_response_stream()
        .model_id(NOVA)
        .body(Blob::new(body))
        .send()
        .await
        .unwrap();
    assert!(out.body.recv().await.unwrap().is_some());
    let err = out.body.recv().await.unwrap_err().into_service_error();
    let brt::types::error::ResponseStreamError::ModelStreamErrorException(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.original_status_code(), Some(500));
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn dropped_connections_fail_the_call_without_a_response() {
    let h = start().await;
    fault(
        &h,
        json!({"kind": "drop", "operation": "Converse", "count": 1}),
    )
    .await;
    let err = h
        .client
        .converse()
        .model_id(NOVA)
        .messages(user("x"))
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error().is_none(),
        "a drop is not a modeled error: {err:?}"
    );

    fault(
        &h,
        json!({"kind": "drop", "operation": "ConverseStream", "afterEvents": 2, "count": 1}),
    )
    .await;
    let mut out = h
        .client
        .converse_stream()
        .model_id(NOVA)
        .messages(user("x"))
        .send()
        .await
        .unwrap();
    let mut seen = 0;
    let err = loop {
        match out.stream.recv().await {
            Ok(Some(_)) => seen += 1,
            Ok(None) => panic!("stream completed despite the drop"),
            Err(e) => break e,
        }
    };
    assert_eq!(seen, 2);
    assert!(err.as_service_error().is_none(), "{err:?}");
    assert!(
        h.client
            .converse()
            .model_id(NOVA)
            .messages(user("x"))
            .send()
            .await
            .is_ok()
    );
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn paced_streams_deliver_each_event_as_it_is_produced() {
    let h = start().await;
    let (status, body) = admin(
        &h.emulator.url(),
        "PUT",
        "/_emulator/runtime/pacing",
        json!({"delayMs": 100}),
    )
    .await;
    assert_eq!((status, body["delayMs"].as_u64()), (200, Some(100)));
    let started = Instant::now();
    let mut out = h
        .client
        .converse_stream()
        .model_id(NOVA)
        .messages(user("pace me"))
        .send()
        .await
        .unwrap();
    let mut arrivals = Vec::new();
    while out.stream.recv().await.unwrap().is_some() {
        arrivals.push(started.elapsed());
    }
    let total = *arrivals.last().unwrap();
    assert!(arrivals.len() >= 5);
    assert!(total >= Duration::from_millis(100 * (arrivals.len() as u64 - 1)));
    assert!(
        arrivals[0] < total / 2,
        "the first event must arrive long before the last: {arrivals:?}"
    );
    for gap in arrivals.windows(2) {
        assert!(gap[1] - gap[0] >= Duration::from_millis(80), "{arrivals:?}");
    }
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_per_call_pace_header_overrides_the_unpaced_default() {
    let h = start().await;
    let started = Instant::now();
    let mut out = h
        .client
        .converse_stream()
        .model_id(NOVA)
        .messages(user("pace this call"))
        .customize()
        .mutate_request(|request| {
            request.headers_mut().insert("x-emulator-pace-ms", "60");
        })
        .send()
        .await
        .unwrap();
    let mut arrivals = Vec::new();
    while out.stream.recv().await.unwrap().is_some() {
        arrivals.push(started.elapsed());
    }
    assert!(arrivals.len() >= 5);
    for gap in arrivals.windows(2) {
        assert!(gap[1] - gap[0] >= Duration::from_millis(50), "{arrivals:?}");
    }
    let started = Instant::now();
    let mut out = h
        .client
        .converse_stream()
        .model_id(NOVA)
        .messages(user("pace this call"))
        .send()
        .await
        .unwrap();
    while out.stream.recv().await.unwrap().is_some() {}
    assert!(started.elapsed() < Duration::from_millis(50 * (arrivals.len() as u64 - 1)));
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn llama_through_its_profile_answers_in_the_generation_format() {
    let h = start().await;
    let body = json!({"prompt": "What is the capital of Sudan?", "max_gen_len": 3});
    let out = h
        .client
        .invoke_model()
        .model_id("us.meta.llama3-3-70b-instruct-v1:0")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(out.body().as_ref()).unwrap();
    assert_eq!(body["prompt_token_count"], 7);
    assert_eq!(body["generation_token_count"], 3);
    assert_eq!(body["stop_reason"], "length");
    let mut stream = h
        .client
        .invoke_model_with_response_stream()
        .model_id("us.meta.llama3-3-70b-instruct-v1:0")
        .body(Blob::new(json!({"prompt": "Hi"}).to_string()))
        .send()
        .await
        .unwrap();
    let mut chunks = Vec::new();
    while let Some(ResponseStream::Chunk(part)) = stream.body.recv().await.unwrap() {
        chunks.push(serde_json::from_slice::<Value>(part.bytes().unwrap().as_ref()).unwrap());
    }
    let text: String = chunks
        .iter()
        .filter_map(|c| c["generation"].as_str())
        .collect();
    assert!(text.ends_with("You said: Hi"));
    assert_eq!(chunks.last().unwrap()["stop_reason"], "stop");
    h.emulator.shutdown().await;
}

/// moto's server (from the project's Python environment) as the local CloudWatch Logs; stopped
/// when dropped.
struct Moto {
    child: std::process::Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_moto() -> Moto {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let binary = repo.join(".venv/bin/moto_server");
    assert!(
        binary.exists(),
        "{} is missing: run scripts/setup-python.sh",
        binary.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "moto did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    moto
}

#[tokio::test]
async fn invocation_records_reach_cloudwatch_logs_with_the_callers_model_id_and_metadata() {
    set_local_env();
    let moto = start_moto().await;
    let emulator = Emulator::start(Options {
        logs_endpoint: Some(moto.url.clone()),
        ..Options::default()
    })
    .await
    .unwrap();
    let bedrock = crate::bedrock_client(&emulator.url(), REGION, "ASIAEXAMPLETEMPKEY");
    let runtime = crate::runtime_client(&emulator.url(), REGION, "ASIAEXAMPLETEMPKEY");
    let logs = crate::logs_client(&moto.url);
    let group = "/rust/runtime-tests";
    bedrock
        .put_model_invocation_logging_configuration()
        .logging_config(
            aws_sdk_bedrock::types::LoggingConfig::builder()
                .cloud_watch_config(
                    aws_sdk_bedrock::types::CloudWatchConfig::builder()
                        .log_group_name(group)
                        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/BedrockLogs"))
                        .build()
                        .unwrap(),
                )
                .text_data_delivery_enabled(true)
                .build(),
        )
        .send()
        .await
        .unwrap();

    let arn = format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{SONNET_PROFILE}");
    let out = runtime
        .converse()
        .model_id(&arn)
        .messages(user("log this"))
        .request_metadata("tenant", "acme")
        .send()
        .await
        .unwrap();
    runtime
        .converse()
        .model_id(SONNET_FM)
        .messages(user("x"))
        .send()
        .await
        .unwrap_err();
    let stats = emulator.state().runtime.flush_logs().await;
    assert_eq!((stats.queued, stats.delivered, stats.failed), (2, 2, 0));

    let events = logs
        .filter_log_events()
        .log_group_name(group)
        .log_stream_names("aws/bedrock/modelinvocations")
        .send()
        .await
        .unwrap()
        .events
        .unwrap_or_default();
    let records: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(e.message().unwrap()).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    let ok = &records[0];
    assert_eq!(ok["modelId"], arn.as_str());
    assert_eq!(ok["operation"], "Converse");
    assert_eq!(
        ok["identity"]["arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/BedrockEmulatorRole/ASIAEXAMPLETEMPKEY")
    );
    assert_eq!(ok["requestMetadata"], json!({"tenant": "acme"}));
    assert_eq!(
        ok["input"]["inputTokenCount"],
        out.usage().unwrap().input_tokens()
    );
    assert_eq!(
        ok["output"]["outputTokenCount"],
        out.usage().unwrap().output_tokens()
    );
    assert!(ok["inferenceRegion"].as_str().unwrap().starts_with("us-"));
    assert_eq!(records[1]["errorCode"], "ValidationException");
    assert_eq!(records[1]["modelId"], SONNET_FM);
    emulator.shutdown().await;
}

/// Whole-stream times of `calls` unpaced ConverseStream calls on one pooled connection, sorted.
async fn stream_times(h: &Harness, calls: usize) -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..calls {
        let started = Instant::now();
        let mut out = h
            .client
            .converse_stream()
            .model_id(NOVA)
            .messages(user("how fast is a small stream"))
            .send()
            .await
            .unwrap();
        let mut events = 0;
        while out.stream.recv().await.unwrap().is_some() {
            events += 1;
        }
        assert!(events >= 5);
        times.push(started.elapsed());
    }
    times.sort();
    times
}

#[tokio::test]
async fn small_stream_frames_leave_at_once_without_a_delayed_ack_stall() {
    let h = start().await;
    // Warm the pooled connection so the first call's connect does not count.
    stream_times(&h, 1).await;
    let times = stream_times(&h, 15).await;
    let median = times[times.len() / 2];
    eprintln!(
        "unpaced ConverseStream: median {median:?}, max {:?}",
        times[times.len() - 1]
    );
    // Each frame held back by Nagle's algorithm waits ~40 ms for the client's delayed ACK; the
    // work itself takes a few milliseconds.
    assert!(median < Duration::from_millis(25), "{times:?}");
    h.emulator.shutdown().await;
}

/// Writes a seed file unique to this process and test; the caller removes it.
fn seed_file(name: &str, yaml: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "bedrock-emulator-{name}-{}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, yaml).unwrap();
    path
}

fn logging_seed(name: &str, group: &str) -> std::path::PathBuf {
    seed_file(
        name,
        &format!(
            "loggingConfigurations:\n  {REGION}:\n    cloudWatchConfig: {{ logGroupName: {group}, roleArn: \"arn:aws:iam::{ACCOUNT}:role/r\" }}\n"
        ),
    )
}

#[tokio::test]
async fn records_queued_when_the_emulator_stops_are_delivered_by_shutdown() {
    let moto = start_moto().await;
    let group = "/rust/shutdown-flush";
    let seed = logging_seed("shutdown-flush", group);
    let h = start_with(Options {
        logs_endpoint: Some(moto.url.clone()),
        seed: Some(seed.clone()),
        ..Options::default()
    })
    .await;
    for i in 0..5 {
        h.client
            .converse()
            .model_id(NOVA)
            .messages(user(&format!("record {i}")))
            .send()
            .await
            .unwrap();
    }
    let state = h.emulator.state().clone();
    h.emulator.shutdown().await;
    // Read right after shutdown, without any flush of our own.
    let stats = state.runtime.log_stats();
    assert_eq!((stats.queued, stats.delivered, stats.failed), (5, 5, 0));
    let logs = crate::logs_client(&moto.url);
    let events = logs
        .filter_log_events()
        .log_group_name(group)
        .send()
        .await
        .unwrap()
        .events
        .unwrap_or_default();
    assert_eq!(events.len(), 5);
    std::fs::remove_file(&seed).unwrap();
}

#[tokio::test]
async fn a_dead_logs_endpoint_cannot_hold_shutdown_past_the_flush_timeout() {
    // A port nothing listens on: every delivery attempt is refused and retried for seconds.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let seed = logging_seed("dead-logs", "/rust/dead-logs");
    let h = start_with(Options {
        logs_endpoint: Some(format!("http://{dead}")),
        seed: Some(seed.clone()),
        log_flush_timeout: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    h.client
        .converse()
        .model_id(NOVA)
        .messages(user("nobody will read this"))
        .send()
        .await
        .unwrap();
    let state = h.emulator.state().clone();
    let started = Instant::now();
    h.emulator.shutdown().await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(1000),
        "shutdown took {took:?}"
    );
    assert_eq!(state.runtime.log_stats().delivered, 0);
    std::fs::remove_file(&seed).unwrap();
}

#[tokio::test]
async fn a_seed_files_runtime_section_sets_faults_and_pace_that_survive_a_reset() {
    let seed = seed_file(
        "runtime-section",
        "runtime:\n  paceMs: 30\n  faults:\n    - kind: throttling\n      model: \"*nova*\"\n      operation: Converse\n",
    );
    let h = start_with(Options {
        seed: Some(seed.clone()),
        ..Options::default()
    })
    .await;
    let url = h.emulator.url();
    for round in 0..2 {
        let (_, pacing) = admin(&url, "GET", "/_emulator/runtime/pacing", Value::Null).await;
        assert_eq!(pacing["delayMs"], 30, "round {round}");
        let err = h
            .client
            .converse()
            .model_id(NOVA)
            .messages(user("seeded fault"))
            .send()
            .await
            .unwrap_err();
        assert!(
            err.as_service_error()
                .is_some_and(|e| e.is_throttling_exception()),
            "round {round}: {err:?}"
        );
        // Change both, then reset: the seeded values come back.
        admin(
            &url,
            "PUT",
            "/_emulator/runtime/pacing",
            json!({"delayMs": 0}),
        )
        .await;
        admin(&url, "DELETE", "/_emulator/runtime/faults", Value::Null).await;
        let (status, _) = admin(&url, "POST", "/_emulator/reset", Value::Null).await;
        assert_eq!(status, 200);
    }
    h.emulator.shutdown().await;

    // The command line's pace wins over the seed file's.
    let h = start_with(Options {
        seed: Some(seed.clone()),
        pace_ms: Some(5),
        ..Options::default()
    })
    .await;
    admin(&h.emulator.url(), "POST", "/_emulator/reset", Value::Null).await;
    let (_, pacing) = admin(
        &h.emulator.url(),
        "GET",
        "/_emulator/runtime/pacing",
        Value::Null,
    )
    .await;
    assert_eq!(pacing["delayMs"], 5);
    h.emulator.shutdown().await;

    std::fs::write(&seed, "runtime:\n  faults:\n    - kind: latency\n").unwrap();
    let err = Emulator::start(Options {
        seed: Some(seed.clone()),
        ..Options::default()
    })
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("runtime.faults[0]") && err.contains(&seed.display().to_string()),
        "{err}"
    );
    std::fs::remove_file(&seed).unwrap();
}

const OPUS_55_PROFILE: &str = "us.anthropic.claude-opus-5-5";

fn messages_body(extra: Value) -> Value {
    let mut body = json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 500,
                          "messages": [{"role": "user", "content": "How many tokens is this?"}]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

#[tokio::test]
async fn an_unknown_beta_and_an_extraneous_key_are_sdk_validation_errors() {
    let h = start().await;
    for (extra, message) in [
        (
            json!({"anthropic_beta": ["claude-code-20250219"]}),
            "invalid beta flag",
        ),
        (
            json!({"stream": true}),
            "extraneous key [stream] is not permitted",
        ),
    ] {
        let err = h
            .client
            .invoke_model()
            .model_id(OPUS_55_PROFILE)
            .body(Blob::new(messages_body(extra).to_string()))
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_validation_exception(), "{err:?}");
        assert!(
            err.meta().message().unwrap_or_default().contains(message),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn count_tokens_matches_what_invoke_model_and_converse_report() {
    use brt::types::{ConverseTokensRequest, CountTokensInput, InvokeModelTokensRequest};
    let h = start().await;
    let body = messages_body(json!({"system": "You count words."}));
    let invoked: Value = serde_json::from_slice(
        h.client
            .invoke_model()
            .model_id(OPUS_55_PROFILE)
            .body(Blob::new(body.to_string()))
            .send()
            .await
            .unwrap()
            .body()
            .as_ref(),
    )
    .unwrap();
    for model in ["anthropic.claude-opus-5-5", OPUS_55_PROFILE] {
        let counted = h
            .client
            .count_tokens()
            .model_id(model)
            .input(CountTokensInput::InvokeModel(
                InvokeModelTokensRequest::builder()
                    .body(Blob::new(body.to_string()))
                    .build()
                    .unwrap(),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(
            i64::from(counted.input_tokens()),
            invoked["usage"]["input_tokens"].as_i64().unwrap()
        );
    }
    let message = Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text("How many tokens is this?".into()))
        .build()
        .unwrap();
    let conversed = h
        .client
        .converse()
        .model_id(OPUS_55_PROFILE)
        .messages(message.clone())
        .send()
        .await
        .unwrap();
    let counted = h
        .client
        .count_tokens()
        .model_id("anthropic.claude-opus-5-5")
        .input(CountTokensInput::Converse(
            ConverseTokensRequest::builder().messages(message).build(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        counted.input_tokens(),
        conversed.usage().unwrap().input_tokens()
    );
    let err = h
        .client
        .count_tokens()
        .model_id(NOVA)
        .input(CountTokensInput::InvokeModel(
            InvokeModelTokensRequest::builder()
                .body(Blob::new("{}"))
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(
        err.meta()
            .message()
            .unwrap_or_default()
            .contains("doesn't support counting tokens"),
        "{err:?}"
    );
}
