//! `openai_request`: the router's chat-completions body handling — JSON parse (as the handler
//! does it), `router::dialect::openai::parse_chat_request`, then `router::dialect::openai::to_converse` for a
//! fixed set of targets whose capabilities differ (Claude through a profile, Nova, Llama,
//! DeepSeek R1, and an unknown model with the conservative capabilities).
//!
//! Invariants: nothing panics; every refusal renders as a 4xx (a caller's body can never be a
//! server error); an accepted translation respects the target's capabilities and Bedrock's
//! limits, and survives the trip through the Converse wire shape (the native route and the
//! emulator read exactly that JSON).

use router::bedrock::CallSite;
use router::caps::{Caps, Target};
use router::converse::{ContentBlock, ConverseRequest, SystemBlock, Tool, ToolResultContent};
use router::dialect::openai::{
    MAX_DOCUMENTS, MAX_IMAGES, MAX_MESSAGES, MAX_STOP_SEQUENCES, parse_chat_request, to_converse,
};
use router::error::{RouterError, render};
use serde_json::Value;
use shared::catalog::capabilities_for;

const PROFILE_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12";

/// The targets every accepted body is translated for.
pub fn targets() -> Vec<Target> {
    let target = |friendly: &str, call_id: &str, caps: Caps| Target {
        friendly_id: friendly.to_owned(),
        call_id: call_id.to_owned(),
        region: "us-east-1".to_owned(),
        is_profile: call_id.starts_with("arn:"),
        caps,
        sites: vec![CallSite {
            model_id: call_id.to_owned(),
            region: "us-east-1".to_owned(),
        }],
        model_id: None,
    };
    vec![
        target(
            "claude-sonnet",
            PROFILE_ARN,
            capabilities_for("anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ),
        target(
            "amazon.nova-pro-v1:0",
            "amazon.nova-pro-v1:0",
            capabilities_for("amazon.nova-pro-v1:0"),
        ),
        target(
            "llama",
            "us.meta.llama3-2-11b-instruct-v1:0",
            capabilities_for("meta.llama3-2-11b-instruct-v1:0"),
        ),
        target(
            "deepseek.r1-v1:0",
            "us.deepseek.r1-v1:0",
            capabilities_for("deepseek.r1-v1:0"),
        ),
        target("my model/é", "my-model", Caps::conservative()),
    ]
}

thread_local! {
    static TARGETS: Vec<Target> = targets();
}

/// The fuzz entry point: the request body as it arrives.
pub fn run(data: &[u8]) {
    TARGETS.with(|targets| check(data, targets));
}

fn assert_client_error(err: &RouterError, input: &[u8]) {
    let rendered = render(err);
    assert!(
        rendered.status.is_client_error(),
        "a body was answered {} ({err}): {:?}",
        rendered.status,
        String::from_utf8_lossy(input)
    );
    assert!(!rendered.message.is_empty(), "empty refusal for {input:?}");
}

/// Parses and translates `body` for every target and checks the invariants.
pub fn check(body: &[u8], targets: &[Target]) {
    // The handler refuses a blank body before parsing and parses with serde_json.
    if body.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let model = value.get("model").cloned();
    let chat = match parse_chat_request(value) {
        Ok(chat) => chat,
        Err(e) => return assert_client_error(&e, body),
    };
    assert_eq!(
        model.as_ref().and_then(Value::as_str),
        Some(chat.model.as_str()),
        "the routed model is not the body's `model`"
    );
    for target in targets {
        match to_converse(&chat, target) {
            Ok(request) => {
                assert!(
                    !chat.stream || target.caps.streaming,
                    "stream accepted for a model that cannot stream"
                );
                check_request(&request, target, body);
            }
            Err(e) => assert_client_error(&e, body),
        }
    }
}

fn check_request(request: &ConverseRequest, target: &Target, body: &[u8]) {
    let caps = &target.caps;
    let shown = || String::from_utf8_lossy(body).into_owned();
    assert!(!request.messages.is_empty(), "no messages: {}", shown());
    assert!(request.messages.len() <= MAX_MESSAGES);

    if let Some(inference) = &request.inference_config {
        if let Some(n) = inference.max_tokens {
            assert!(
                n >= 1 && n <= caps.max_output_tokens,
                "maxTokens {n} for {}: {}",
                caps.family,
                shown()
            );
        }
        for v in [inference.temperature, inference.top_p]
            .into_iter()
            .flatten()
        {
            assert!((0.0..=1.0).contains(&v), "sampling value {v}: {}", shown());
        }
        assert!(inference.stop_sequences.len() <= MAX_STOP_SEQUENCES);
    }

    let mut images = 0;
    let mut documents = 0;
    let mut cache_points = 0;
    for block in request.messages.iter().flat_map(|m| &m.content) {
        match block {
            ContentBlock::Image(i) => {
                images += 1;
                assert!(!i.source.bytes.is_empty(), "empty image: {}", shown());
            }
            ContentBlock::Document(d) => {
                documents += 1;
                assert!(!d.source.bytes.is_empty(), "empty document: {}", shown());
            }
            ContentBlock::ToolResult(r) => {
                images += r
                    .content
                    .iter()
                    .filter(|c| matches!(c, ToolResultContent::Image(_)))
                    .count();
            }
            ContentBlock::CachePoint(_) => cache_points += 1,
            _ => {}
        }
    }
    cache_points += request
        .system
        .iter()
        .filter(|b| matches!(b, SystemBlock::CachePoint(_)))
        .count();
    if let Some(tools) = &request.tool_config {
        assert!(caps.tool_use, "tools sent to {}: {}", caps.family, shown());
        cache_points += tools
            .tools
            .iter()
            .filter(|t| matches!(t, Tool::CachePoint(_)))
            .count();
    }
    assert!(
        images == 0 || caps.image_input,
        "images sent to {}: {}",
        caps.family,
        shown()
    );
    assert!(images <= MAX_IMAGES, "{images} images: {}", shown());
    assert!(
        documents == 0 || caps.document_input,
        "documents sent to {}: {}",
        caps.family,
        shown()
    );
    assert!(documents <= MAX_DOCUMENTS, "{documents} documents");
    assert!(
        cache_points == 0 || caps.prompt_caching.is_some(),
        "cache points sent to {}: {}",
        caps.family,
        shown()
    );
    if let Some(output) = &request.output_config {
        assert!(
            caps.json_schema_output,
            "output schema sent to {}",
            caps.family
        );
        if let Some(format) = &output.text_format {
            assert!(
                serde_json::from_str::<Value>(&format.structure.json_schema.schema).is_ok(),
                "the schema sent is not JSON: {}",
                shown()
            );
        }
    }

    // requestMetadata values must match `[a-zA-Z0-9\s:_@$#=/+,-.]{0,256}`.
    for value in request.request_metadata.values() {
        assert!(value.chars().count() <= 256, "metadata too long: {value:?}");
        assert!(
            value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " :_@$#=/+,-.".contains(c)),
            "metadata value {value:?} breaks Bedrock's pattern"
        );
    }

    let wire = serde_json::to_value(request).expect("a Converse request serialises");
    let back: ConverseRequest = serde_json::from_value(wire.clone())
        .unwrap_or_else(|e| panic!("the Converse shape {wire} is refused: {e}; {}", shown()));
    assert_eq!(
        &back, request,
        "the Converse wire shape changed the request"
    );
}
