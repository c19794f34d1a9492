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

fn parse_anthropic(body: &Value, caps: &Capabilities) -> Result<Prompt, Fail> {
    required(body, "anthropic_version")?;
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
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        }),
        Family::Nova => {
            let converse = converse::response(reply, 0);
            json!({
                "output": converse["output"],
                "stopReason": reply.stop_reason.as_str(),
                "usage": {"inputTokens": reply.input_tokens, "outputTokens": reply.output_tokens,
                          "totalTokens": reply.input_tokens + reply.output_tokens,
                          "cacheReadInputTokenCount": 0, "cacheWriteInputTokenCount": 0},
            })
        }
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
