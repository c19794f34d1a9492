//! InvokeModel and InvokeModelWithResponseStream bodies in each provider's native format:
//! Anthropic Messages (Claude), Nova's messages-v1 and Meta Llama's `generation` format.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::converse::{self, constraint};
use super::fail::Fail;
use super::models::{Capabilities, Family};
use super::responder::{self, Prompt, Reply, StopReason, ToolChoice, ToolDef};

fn malformed(detail: &str) -> Fail {
    Fail::validation(format!(
        "Malformed input request: {detail}, please reformat your input and try again."
    ))
}

fn required<'a>(body: &'a Value, key: &str) -> Result<&'a Value, Fail> {
    body.get(key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| malformed(&format!("#: required key [{key}] not found")))
}

/// Parses a native request body for the model's provider.
pub fn parse(body: &Value, caps: &Capabilities, foundation_model_id: &str) -> Result<Prompt, Fail> {
    if !body.is_object() {
        return Err(malformed("#: expected type: JSONObject"));
    }
    match caps.family {
        Family::Anthropic => parse_anthropic(body, caps),
        Family::Nova => parse_nova(body, caps),
        Family::Llama => parse_llama(body, caps),
        Family::Embedding(embedder) => super::embed::parse(body, embedder),
        Family::Other => Err(Fail::validation(format!(
            "The local Bedrock has no native request format for {foundation_model_id}; use Converse for this model."
        ))),
    }
}

fn anthropic_text(
    content: &Value,
    path: &str,
    texts: &mut Vec<String>,
    results: &mut Vec<String>,
) -> Result<Vec<String>, Fail> {
    let mut own = Vec::new();
    match content {
        Value::String(s) => own.push(s.clone()),
        Value::Array(blocks) => {
            for (j, block) in blocks.iter().enumerate() {
                let kind = block.get("type").and_then(Value::as_str).ok_or_else(|| {
                    malformed(&format!("#/{path}/{j}: required key [type] not found"))
                })?;
                match kind {
                    "text" => own.push(
                        block
                            .get("text")
                            .and_then(Value::as_str)
                            .ok_or_else(|| {
                                malformed(&format!("#/{path}/{j}: required key [text] not found"))
                            })?
                            .to_string(),
                    ),
                    "tool_result" => {
                        let text = match block.get("content") {
                            Some(Value::String(s)) => s.clone(),
                            Some(Value::Array(parts)) => parts
                                .iter()
                                .filter_map(|p| p.get("text").and_then(Value::as_str))
                                .collect::<Vec<_>>()
                                .join(" "),
                            _ => String::new(),
                        };
                        texts.push(text.clone());
                        results.push(text);
                    }
                    "tool_use" => {
                        texts.push(block.get("input").map(Value::to_string).unwrap_or_default())
                    }
                    "image" | "document" | "thinking" | "redacted_thinking" => {}
                    other => {
                        return Err(malformed(&format!(
                            "#/{path}/{j}/type: {other} is not a valid enum value"
                        )));
                    }
                }
            }
        }
        _ => {
            return Err(malformed(&format!(
                "#/{path}: expected type: String or JSONArray"
            )));
        }
    }
    texts.extend(own.iter().cloned());
    Ok(own)
}

/// The only `anthropic_version` Bedrock takes in an InvokeModel body.
pub const BEDROCK_ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// Top-level keys every Claude model takes on InvokeModel. `model` and `stream` are not among
/// them: Bedrock takes the model from the path and the streaming from the operation.
const ANTHROPIC_KEYS: &[&str] = &[
    "anthropic_version",
    "anthropic_beta",
    "max_tokens",
    "messages",
    "system",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "metadata",
];

/// Refuses keys the model does not take and betas it does not know, as Bedrock does.
fn check_anthropic_keys(body: &Value, caps: &Capabilities) -> Result<(), Fail> {
    let version = required(body, "anthropic_version")?;
    if version.as_str() != Some(BEDROCK_ANTHROPIC_VERSION) {
        return Err(malformed(&format!(
            "#/anthropic_version: {} is not a valid enum value",
            version
                .as_str()
                .map_or_else(|| version.to_string(), str::to_string)
        )));
    }
    let betas: Vec<&str> = match body.get("anthropic_beta") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|b| {
                b.as_str()
                    .ok_or_else(|| malformed("#/anthropic_beta: expected type: String"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(malformed("#/anthropic_beta: expected type: JSONArray")),
    };
    if betas.iter().any(|b| !caps.accepts_beta(b)) {
        return Err(Fail::validation("invalid beta flag"));
    }
    let Some(object) = body.as_object() else {
        return Err(malformed("#: expected type: JSONObject"));
    };
    for key in object.keys() {
        let allowed = ANTHROPIC_KEYS.contains(&key.as_str())
            || (key == "thinking" && caps.reasoning.is_some())
            || (key == "context_management" && betas.contains(&"context-management-2025-06-27"))
            || (key == "output_config" && caps.accepts_beta("effort-2025-11-24"));
        if !allowed {
            return Err(malformed(&format!(
                "#: extraneous key [{key}] is not permitted"
            )));
        }
    }
    Ok(())
}

/// Most `cache_control` blocks one request may carry.
const MAX_CACHE_CHECKPOINTS: usize = 4;

/// The tokens one block adds to the prompt, counted as the input count counts them.
fn block_tokens(block: &Value) -> u32 {
    let count = responder::count_tokens;
    match block {
        Value::String(s) => count(s),
        _ => match block.get("type").and_then(Value::as_str) {
            Some("text") => block.get("text").and_then(Value::as_str).map_or(0, count),
            Some("tool_result") => match block.get("content") {
                Some(Value::String(s)) => count(s),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .map(count)
                    .sum(),
                _ => 0,
            },
            Some("tool_use") => block.get("input").map_or(0, |i| count(&i.to_string())),
            // A tool definition: its name and input schema.
            _ if block.get("name").is_some() => {
                block.get("name").and_then(Value::as_str).map_or(0, count)
                    + count(
                        &block
                            .get("input_schema")
                            .cloned()
                            .unwrap_or_else(|| json!({}))
                            .to_string(),
                    )
            }
            _ => 0,
        },
    }
}

/// The prompt prefixes ending at each `cache_control` block, in Anthropic's cache order
/// (tools, then system, then messages): a digest of the prefix and its token count.
fn cache_checkpoints(body: &Value) -> Result<Vec<(String, u32)>, Fail> {
    let mut blocks: Vec<Value> = Vec::new();
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        blocks.extend(tools.iter().cloned());
    }
    if let Some(Value::Array(system)) = body.get("system") {
        blocks.extend(system.iter().cloned());
    } else if let Some(system) = body.get("system").filter(|s| s.is_string()) {
        blocks.push(system.clone());
    }
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        for message in messages {
            match message.get("content") {
                Some(Value::Array(content)) => blocks.extend(content.iter().cloned()),
                Some(other) => blocks.push(other.clone()),
                None => {}
            }
        }
    }
    let mut hasher = Sha256::new();
    let mut tokens = 0;
    let mut checkpoints = Vec::new();
    for mut block in blocks {
        tokens += block_tokens(&block);
        let marked = block
            .as_object_mut()
            .and_then(|o| o.remove("cache_control"))
            .is_some();
        hasher.update(block.to_string().as_bytes());
        if marked {
            let digest = hasher.clone().finalize();
            checkpoints.push((digest.iter().map(|b| format!("{b:02x}")).collect(), tokens));
        }
    }
    if checkpoints.len() > MAX_CACHE_CHECKPOINTS {
        return Err(Fail::validation(format!(
            "The model returned the following errors: A maximum of {MAX_CACHE_CHECKPOINTS} blocks with cache_control may be provided. Found {}.",
            checkpoints.len()
        )));
    }
    Ok(checkpoints)
}

fn parse_anthropic(body: &Value, caps: &Capabilities) -> Result<Prompt, Fail> {
    check_anthropic_keys(body, caps)?;
    let max = required(body, "max_tokens")?;
    let messages = required(body, "messages")?
        .as_array()
        .ok_or_else(|| malformed("#/messages: expected type: JSONArray"))?;
    let mut prompt = Prompt::default();
    let max = max
        .as_u64()
        .filter(|n| *n >= 1)
        .ok_or_else(|| malformed("#/max_tokens: expected minimum: 1"))?;
    if max > u64::from(caps.max_output_tokens) {
        return Err(Fail::validation(format!(
            "The maximum tokens you requested exceeds the model limit of {}. Try again with a maximum tokens value that is lower than {}.",
            caps.max_output_tokens, caps.max_output_tokens
        )));
    }
    prompt.max_tokens = Some(max as u32);
    match body.get("system") {
        Some(Value::String(s)) => prompt.texts.push(s.clone()),
        Some(Value::Array(blocks)) => prompt.texts.extend(
            blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str).map(str::to_string)),
        ),
        _ => {}
    }
    if messages.is_empty() {
        return Err(Fail::validation(
            "The model returned the following errors: messages: at least one message is required",
        ));
    }
    for (i, message) in messages.iter().enumerate() {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(&format!("#/messages/{i}: required key [role] not found")))?;
        if role != "user" && role != "assistant" {
            return Err(malformed(&format!(
                "#/messages/{i}/role: {role} is not a valid enum value"
            )));
        }
        let content = message.get("content").ok_or_else(|| {
            malformed(&format!("#/messages/{i}: required key [content] not found"))
        })?;
        let mut results = Vec::new();
        let own = anthropic_text(
            content,
            &format!("messages/{i}/content"),
            &mut prompt.texts,
            &mut results,
        )?;
        if role == "user" {
            prompt.last_user_text = own.join(" ");
            prompt.tool_result = results.last().cloned();
            if prompt.tool_result.is_some() {
                prompt.last_user_text = results.join(" ");
            }
        }
    }
    if let Some(stops) = body.get("stop_sequences").and_then(Value::as_array) {
        prompt.stop_sequences = stops
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
    }
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        for (i, tool) in tools.iter().enumerate() {
            let name = tool
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| malformed(&format!("#/tools/{i}: required key [name] not found")))?;
            let schema = tool
                .get("input_schema")
                .cloned()
                .unwrap_or_else(|| json!({}));
            prompt.texts.push(name.to_string());
            prompt.texts.push(schema.to_string());
            prompt.tools.push(ToolDef {
                name: name.to_string(),
                schema,
            });
        }
        if !prompt.tools.is_empty() {
            prompt.tool_choice = Some(ToolChoice::Auto);
        }
    }
    if let Some(choice) = body.get("tool_choice").filter(|v| !v.is_null()) {
        prompt.tool_choice = match choice.get("type").and_then(Value::as_str) {
            Some("auto") => Some(ToolChoice::Auto),
            Some("any") => Some(ToolChoice::Any),
            Some("none") => None,
            Some("tool") => {
                let name = choice
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| malformed("#/tool_choice: required key [name] not found"))?;
                if !prompt.tools.iter().any(|t| t.name == name) {
                    return Err(Fail::validation(format!(
                        "The model returned the following errors: tool_choice.name: Tool '{name}' not found in provided tools"
                    )));
                }
                Some(ToolChoice::Tool(name.to_string()))
            }
            _ => return Err(malformed("#/tool_choice/type: not a valid enum value")),
        };
    }
    let thinking_only: Value = body
        .get("thinking")
        .map(|t| json!({ "thinking": t }))
        .unwrap_or_else(|| json!({}));
    prompt.reasoning = converse::reasoning_requested(
        &thinking_only,
        caps,
        prompt.max_tokens,
        prompt.tool_choice.as_ref(),
    )?;
    if let Some(min) = caps.cache_min_tokens {
        prompt.cache_checkpoints = cache_checkpoints(body)?
            .into_iter()
            .filter(|(_, tokens)| *tokens >= min)
            .collect();
    }
    Ok(prompt)
}

/// Nova's native body is Converse-shaped with snake_case inference settings; it is renamed and
/// checked by the Converse rules.
fn parse_nova(body: &Value, caps: &Capabilities) -> Result<Prompt, Fail> {
    if let Some(version) = body.get("schemaVersion")
        && version != "messages-v1"
    {
        return Err(constraint(
            version,
            "schemaVersion",
            "satisfy enum value set: [messages-v1]",
        ));
    }
    let mut converse_body = Map::new();
    for key in ["messages", "system", "toolConfig"] {
        if let Some(v) = body.get(key) {
            converse_body.insert(key.to_string(), v.clone());
        }
    }
    if let Some(config) = body.get("inferenceConfig").and_then(Value::as_object) {
        let mut renamed = Map::new();
        for (key, value) in config {
            let name = match key.as_str() {
                "max_new_tokens" | "maxTokens" => "maxTokens",
                "top_p" | "topP" => "topP",
                "stopSequences" => "stopSequences",
                "temperature" => "temperature",
                _ => continue,
            };
            renamed.insert(name.to_string(), value.clone());
        }
        converse_body.insert("inferenceConfig".into(), Value::Object(renamed));
    }
    let mut extra = Map::new();
    if let Some(r) = body.get("reasoningConfig") {
        extra.insert("reasoningConfig".into(), r.clone());
    }
    if !extra.is_empty() {
        converse_body.insert("additionalModelRequestFields".into(), Value::Object(extra));
    }
    Ok(converse::check(&Value::Object(converse_body), caps)?.prompt)
}

fn parse_llama(body: &Value, caps: &Capabilities) -> Result<Prompt, Fail> {
    let text = required(body, "prompt")?
        .as_str()
        .ok_or_else(|| malformed("#/prompt: expected type: String"))?;
    let mut prompt = Prompt {
        texts: vec![text.to_string()],
        last_user_text: text.to_string(),
        ..Prompt::default()
    };
    if let Some(max) = body.get("max_gen_len").filter(|v| !v.is_null()) {
        let n = max
            .as_u64()
            .filter(|n| *n >= 1 && *n <= u64::from(caps.max_output_tokens))
            .ok_or_else(|| {
                malformed(&format!(
                    "#/max_gen_len: must be an integer between 1 and {}",
                    caps.max_output_tokens
                ))
            })?;
        prompt.max_tokens = Some(n as u32);
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            let f = v.as_f64().unwrap_or(-1.0);
            if !(0.0..=1.0).contains(&f) {
                return Err(malformed(&format!(
                    "#/{key}: must be a number between 0 and 1"
                )));
            }
        }
    }
    Ok(prompt)
}

fn message_id(prompt_text: &str) -> String {
    let digest = Sha256::digest(prompt_text.as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("msg_bdrk_{hex}")
}

fn anthropic_content(reply: &Reply) -> Vec<Value> {
    let mut content = Vec::new();
    if let Some((text, signature)) = &reply.reasoning {
        content.push(json!({"type": "thinking", "thinking": text, "signature": signature}));
    }
    if let Some(text) = &reply.text {
        content.push(json!({"type": "text", "text": text}));
    }
    if let Some(call) = &reply.tool_call {
        content.push(
            json!({"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}),
        );
    }
    content
}

fn llama_stop(reply: &Reply) -> &'static str {
    if reply.stop_reason == StopReason::MaxTokens {
        "length"
    } else {
        "stop"
    }
}

/// The InvokeModel response body.
pub fn response(
    family: Family,
    reply: &Reply,
    prompt: &Prompt,
    foundation_model_id: &str,
) -> Value {
    match family {
        Family::Anthropic => json!({
            "id": message_id(&prompt.last_user_text),
            "type": "message",
            "role": "assistant",
            "model": foundation_model_id.split(':').next().unwrap_or(foundation_model_id).trim_start_matches("anthropic."),
            "content": anthropic_content(reply),
            "stop_reason": reply.stop_reason.as_str(),
            "stop_sequence": reply.stop_sequence,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
                      "cache_creation_input_tokens": reply.cache_write_tokens,
                      "cache_read_input_tokens": reply.cache_read_tokens},
        }),
        Family::Nova => {
            let converse = converse::response(reply, 0);
            json!({
                "output": converse["output"],
                "stopReason": reply.stop_reason.as_str(),
                "usage": {"inputTokens": reply.input_tokens, "outputTokens": reply.output_tokens,
                          "totalTokens": reply.input_tokens + reply.output_tokens
                              + reply.cache_read_tokens + reply.cache_write_tokens,
                          "cacheReadInputTokenCount": reply.cache_read_tokens,
                          "cacheWriteInputTokenCount": reply.cache_write_tokens},
            })
        }
        Family::Embedding(embedder) => match &prompt.embedding {
            Some(request) => super::embed::response(
                embedder,
                request,
                reply.input_tokens,
                &message_id(&prompt.last_user_text),
            ),
            None => json!({}),
        },
        Family::Llama | Family::Other => json!({
            "generation": reply.text.clone().unwrap_or_default(),
            "prompt_token_count": reply.input_tokens,
            "generation_token_count": reply.output_tokens,
            "stop_reason": llama_stop(reply),
        }),
    }
}

/// The decoded chunk objects of InvokeModelWithResponseStream, in order. The caller adds
/// `amazon-bedrock-invocationMetrics` to the last one once the latency is known.
pub fn stream_chunks(
    family: Family,
    reply: &Reply,
    prompt: &Prompt,
    foundation_model_id: &str,
) -> Vec<Value> {
    match family {
        Family::Anthropic => {
            let mut out = Vec::new();
            let mut message = response(family, reply, prompt, foundation_model_id);
            message["content"] = json!([]);
            message["stop_reason"] = Value::Null;
            message["stop_sequence"] = Value::Null;
            message["usage"]["output_tokens"] = json!(1);
            out.push(json!({"type": "message_start", "message": message}));
            let mut index = 0;
            if let Some((text, signature)) = &reply.reasoning {
                out.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "thinking", "thinking": ""}}));
                for piece in responder::chunks(text) {
                    out.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": piece}}));
                }
                out.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": signature}}));
                out.push(json!({"type": "content_block_stop", "index": index}));
                index += 1;
            }
            if let Some(text) = &reply.text {
                out.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}));
                for piece in responder::chunks(text) {
                    out.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}));
                }
                out.push(json!({"type": "content_block_stop", "index": index}));
                index += 1;
            }
            if let Some(call) = &reply.tool_call {
                out.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}}));
                for piece in converse::split_json(&call.input.to_string()) {
                    out.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": piece}}));
                }
                out.push(json!({"type": "content_block_stop", "index": index}));
            }
            out.push(json!({"type": "message_delta", "delta": {"stop_reason": reply.stop_reason.as_str(), "stop_sequence": reply.stop_sequence}, "usage": {"output_tokens": reply.output_tokens}}));
            out.push(json!({"type": "message_stop"}));
            out
        }
        Family::Nova => converse::stream_events(reply, 0)
            .into_iter()
            .map(|(name, mut payload)| {
                if name == "metadata" {
                    payload = json!({"usage": {"inputTokens": reply.input_tokens, "outputTokens": reply.output_tokens}, "metrics": {}, "trace": {}});
                }
                json!({ name: payload })
            })
            .collect(),
        // Embedding models do not stream; the operation refuses them before this.
        Family::Embedding(_) => Vec::new(),
        Family::Llama | Family::Other => {
            let text = reply.text.clone().unwrap_or_default();
            let pieces = responder::chunks(&text);
            let count = pieces.len().max(1);
            let mut generated = 0;
            (0..count)
                .map(|i| {
                    let piece = pieces.get(i).cloned().unwrap_or_default();
                    generated += responder::count_tokens(&piece);
                    let last = i + 1 == count;
                    json!({
                        "generation": piece,
                        "prompt_token_count": if i == 0 { json!(reply.input_tokens) } else { Value::Null },
                        "generation_token_count": if last { reply.output_tokens } else { generated },
                        "stop_reason": if last { json!(llama_stop(reply)) } else { Value::Null },
                    })
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::models::capabilities;

    const SONNET: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";

    #[test]
    fn anthropic_requires_version_and_max_tokens() {
        let caps = capabilities(SONNET);
        let e = parse(&json!({"messages": []}), &caps, SONNET).unwrap_err();
        assert!(
            e.message
                .contains("required key [anthropic_version] not found")
        );
        let e = parse(
            &json!({"anthropic_version": "bedrock-2023-05-31", "messages": []}),
            &caps,
            SONNET,
        )
        .unwrap_err();
        assert!(e.message.contains("required key [max_tokens] not found"));
    }

    #[test]
    fn an_anthropic_reply_is_a_messages_api_object() {
        let caps = capabilities(SONNET);
        let body = json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                          "messages": [{"role": "user", "content": "Hello there"}]});
        let prompt = parse(&body, &caps, SONNET).unwrap();
        let reply = responder::respond(&prompt);
        let out = response(Family::Anthropic, &reply, &prompt, SONNET);
        assert_eq!(out["type"], "message");
        assert_eq!(out["content"][0]["type"], "text");
        assert!(
            out["content"][0]["text"]
                .as_str()
                .unwrap()
                .ends_with("You said: Hello there")
        );
        assert_eq!(out["usage"]["input_tokens"], 2);
        assert_eq!(out["stop_reason"], "end_turn");
        let chunks = stream_chunks(Family::Anthropic, &reply, &prompt, SONNET);
        assert_eq!(chunks[0]["type"], "message_start");
        assert_eq!(chunks.last().unwrap()["type"], "message_stop");
        let text: String = chunks
            .iter()
            .filter_map(|c| c["delta"]["text"].as_str())
            .collect();
        assert_eq!(text, out["content"][0]["text"]);
    }

    fn claude_body(extra: Value) -> Value {
        let mut body = json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                              "messages": [{"role": "user", "content": "Hello there"}]});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    }

    fn refusal(id: &str, body: Value) -> String {
        match parse(&body, &capabilities(id), id) {
            Ok(_) => panic!("accepted {body}"),
            Err(e) => {
                assert_eq!(e.code, "ValidationException");
                e.message
            }
        }
    }

    #[test]
    fn anthropic_bodies_are_refused_as_bedrock_refuses_them() {
        const OPUS55: &str = "anthropic.claude-opus-5-5";
        let e = refusal(
            SONNET,
            claude_body(json!({"anthropic_version": "2023-06-01"})),
        );
        assert!(
            e.contains("#/anthropic_version: 2023-06-01 is not a valid enum value"),
            "{e}"
        );
        for key in ["foo", "model", "stream"] {
            let e = refusal(SONNET, claude_body(json!({ key: true })));
            assert_eq!(
                e,
                format!(
                    "Malformed input request: #: extraneous key [{key}] is not permitted, please reformat your input and try again."
                )
            );
        }
        let e = refusal(OPUS55, claude_body(json!({"max_tokens": 128_001})));
        assert!(e.contains("exceeds the model limit of 128000"), "{e}");
        let e = refusal(
            OPUS55,
            claude_body(
                json!({"anthropic_beta": ["interleaved-thinking-2025-05-14", "claude-code-20250219"]}),
            ),
        );
        assert_eq!(e, "invalid beta flag");
        // A beta newer than the model is refused too.
        let e = refusal(
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
            claude_body(json!({"anthropic_beta": ["context-management-2025-06-27"]})),
        );
        assert_eq!(e, "invalid beta flag");
        let e = refusal(
            SONNET,
            claude_body(json!({"anthropic_beta": "context-1m-2025-08-07"})),
        );
        assert!(e.contains("expected type: JSONArray"), "{e}");
        // context_management is a key only with its beta.
        let e = refusal(
            SONNET,
            claude_body(json!({"context_management": {"edits": []}})),
        );
        assert!(e.contains("extraneous key [context_management]"), "{e}");
        let e = refusal(
            "anthropic.claude-3-haiku-20240307-v1:0",
            claude_body(json!({"thinking": {"type": "enabled", "budget_tokens": 1024}})),
        );
        assert!(e.contains("extraneous key [thinking]"), "{e}");
    }

    #[test]
    fn claude_code_shaped_bodies_are_accepted_on_the_models_that_take_them() {
        const OPUS55: &str = "anthropic.claude-opus-5-5";
        let body = claude_body(json!({
            "max_tokens": 128_000,
            "anthropic_beta": ["interleaved-thinking-2025-05-14", "context-management-2025-06-27", "effort-2025-11-24"],
            "thinking": {"type": "adaptive"},
            "context_management": {"edits": []},
            "output_config": {"effort": "high"},
            "metadata": {"user_id": "u"},
            "system": [{"type": "text", "text": "You are terse."}],
        }));
        let prompt = parse(&body, &capabilities(OPUS55), OPUS55).unwrap();
        assert!(prompt.reasoning);
        let reply = responder::respond(&prompt);
        let out = response(Family::Anthropic, &reply, &prompt, OPUS55);
        assert_eq!(out["content"][0]["type"], "thinking");
        assert!(out["content"][0]["signature"].is_string());
        let e = refusal(
            OPUS55,
            claude_body(
                json!({"max_tokens": 4000, "thinking": {"type": "enabled", "budget_tokens": 2000}}),
            ),
        );
        assert!(e.contains("Use thinking.type.adaptive"), "{e}");
        let e = refusal(
            SONNET,
            claude_body(json!({"thinking": {"type": "adaptive"}})),
        );
        assert!(e.contains("thinking.type.adaptive is not supported"), "{e}");
    }

    #[test]
    fn a_repeated_cached_prefix_is_written_once_then_read() {
        let long = "word ".repeat(1500);
        let body = claude_body(json!({
            "system": [{"type": "text", "text": long, "cache_control": {"type": "ephemeral"}}],
        }));
        let caps = capabilities(SONNET);
        let prompt = parse(&body, &caps, SONNET).unwrap();
        assert_eq!(prompt.cache_checkpoints.len(), 1);
        assert_eq!(prompt.cache_checkpoints[0].1, 1500);
        let mut cache = std::collections::HashSet::new();
        let mut first = responder::respond(&prompt);
        let total = first.input_tokens;
        first.apply_prompt_cache(&prompt.cache_checkpoints, &mut cache);
        assert_eq!(
            (first.cache_write_tokens, first.cache_read_tokens),
            (1500, 0)
        );
        assert_eq!(first.input_tokens, total - 1500);
        let mut second = responder::respond(&prompt);
        second.apply_prompt_cache(&prompt.cache_checkpoints, &mut cache);
        assert_eq!(
            (second.cache_write_tokens, second.cache_read_tokens),
            (0, 1500)
        );
        let out = response(Family::Anthropic, &second, &prompt, SONNET);
        assert_eq!(out["usage"]["cache_read_input_tokens"], 1500);
        assert_eq!(out["usage"]["input_tokens"], total - 1500);

        // Below the model's minimum (4096 for Haiku 4.5) nothing is cached.
        const HAIKU: &str = "anthropic.claude-haiku-4-5-20251001-v1:0";
        let prompt = parse(&body, &capabilities(HAIKU), HAIKU).unwrap();
        assert!(prompt.cache_checkpoints.is_empty());

        let marked = json!({"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}});
        let e = refusal(
            SONNET,
            claude_body(json!({"system": [marked, marked, marked, marked, marked]})),
        );
        assert!(
            e.contains("A maximum of 4 blocks with cache_control"),
            "{e}"
        );
    }

    #[test]
    fn a_streamed_tool_call_arrives_as_input_json_deltas() {
        let body = claude_body(json!({
            "messages": [{"role": "user", "content": "use get_weather for Paris"}],
            "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
            "tool_choice": {"type": "tool", "name": "get_weather"},
        }));
        let prompt = parse(&body, &capabilities(SONNET), SONNET).unwrap();
        let reply = responder::respond(&prompt);
        let chunks = stream_chunks(Family::Anthropic, &reply, &prompt, SONNET);
        let types: Vec<&str> = chunks.iter().filter_map(|c| c["type"].as_str()).collect();
        assert_eq!(types.first(), Some(&"message_start"));
        assert!(types.ends_with(&["content_block_stop", "message_delta", "message_stop"]));
        let json: String = chunks
            .iter()
            .filter(|c| c["delta"]["type"] == "input_json_delta")
            .filter_map(|c| c["delta"]["partial_json"].as_str())
            .collect();
        let input: Value = serde_json::from_str(&json).unwrap();
        assert!(input["city"].is_string());
        let delta = chunks
            .iter()
            .find(|c| c["type"] == "message_delta")
            .unwrap();
        assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    }

    #[test]
    fn nova_native_bodies_use_snake_case_limits() {
        let id = "amazon.nova-pro-v1:0";
        let caps = capabilities(id);
        let body = json!({"schemaVersion": "messages-v1", "messages": [{"role": "user", "content": [{"text": "count to ten please"}]}],
                          "inferenceConfig": {"max_new_tokens": 2}});
        let prompt = parse(&body, &caps, id).unwrap();
        let reply = responder::respond(&prompt);
        let out = response(Family::Nova, &reply, &prompt, id);
        assert_eq!(out["stopReason"], "max_tokens");
        assert_eq!(out["usage"]["outputTokens"], 2);
        assert!(out["output"]["message"]["content"][0]["text"].is_string());
        let chunks = stream_chunks(Family::Nova, &reply, &prompt, id);
        assert!(chunks[0]["messageStart"].is_object());
        assert!(chunks.last().unwrap()["metadata"]["usage"].is_object());
    }

    #[test]
    fn llama_replies_with_a_generation() {
        let id = "meta.llama3-1-70b-instruct-v1:0";
        let caps = capabilities(id);
        let prompt = parse(
            &json!({"prompt": "What is the capital of Sudan?", "max_gen_len": 512}),
            &caps,
            id,
        )
        .unwrap();
        let reply = responder::respond(&prompt);
        let out = response(Family::Llama, &reply, &prompt, id);
        assert_eq!(out["prompt_token_count"], 7);
        assert_eq!(out["stop_reason"], "stop");
        let chunks = stream_chunks(Family::Llama, &reply, &prompt, id);
        assert_eq!(chunks.last().unwrap()["stop_reason"], "stop");
        let text: String = chunks
            .iter()
            .filter_map(|c| c["generation"].as_str())
            .collect();
        assert_eq!(text, out["generation"]);
    }
}
