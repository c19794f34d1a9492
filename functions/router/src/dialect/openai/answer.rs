//! OpenAI answers: a Converse response as a `chat.completion`, ConverseStream events as
//! `chat.completion.chunk`s, and the capability summary `GET /v1/models` shows.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::caps::Caps;
use crate::converse::{
    BlockStart, ContentBlock, ConverseResponse, Delta, ReasoningBlock, ReasoningDelta, StreamEvent,
    Usage,
};

/// Bedrock's stop reason in OpenAI's words.
pub fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "tool_use" => "tool_calls",
        "max_tokens" | "model_context_window_exceeded" => "length",
        "guardrail_intervened" | "content_filtered" => "content_filter",
        _ => "stop",
    }
}

/// OpenAI counts cached tokens inside `prompt_tokens` (`prompt_tokens_details.cached_tokens`
/// read from the cache, `cache_write_tokens` written to it); Converse counts them beside
/// `inputTokens`, so they are added back.
fn usage_json(u: &Usage) -> Value {
    let read = u.cache_read_input_tokens.unwrap_or(0);
    let written = u.cache_write_input_tokens.unwrap_or(0);
    // Saturating: the counts come from Bedrock's answer and are not ours to trust.
    let prompt = u.input_tokens.saturating_add(read).saturating_add(written);
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens.max(prompt.saturating_add(u.output_tokens)),
        "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": written},
    })
}

/// A chat.completion object for a Converse response.
pub fn from_converse(resp: &ConverseResponse, model: &str, id: &str, created: i64) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    for block in &resp.output.message.content {
        match block {
            ContentBlock::Text(t) => text.push_str(t),
            ContentBlock::ToolUse(t) => tool_calls.push(json!({
                "id": t.tool_use_id,
                "type": "function",
                "function": {"name": t.name, "arguments": t.input.to_string()},
            })),
            ContentBlock::ReasoningContent(ReasoningBlock::ReasoningText(r)) => {
                reasoning.push_str(&r.text)
            }
            _ => {}
        }
    }
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && !tool_calls.is_empty() { Value::Null } else { Value::String(text) },
        "refusal": null,
    });
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    if !reasoning.is_empty() {
        message["reasoning_content"] = Value::String(reasoning);
    }
    json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(&resp.stop_reason), "logprobs": null}],
        "usage": usage_json(&resp.usage),
    })
}

/// Turns ConverseStream events into chat.completion.chunk objects as they arrive.
pub struct ChunkTranslator {
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
    tool_indexes: BTreeMap<u32, usize>,
}

impl ChunkTranslator {
    pub fn new(id: String, created: i64, model: String, include_usage: bool) -> Self {
        Self {
            id,
            created,
            model,
            include_usage,
            tool_indexes: BTreeMap::new(),
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        })
    }

    /// The chunks for one event (zero or one today; a list keeps the door open).
    pub fn on_event(&mut self, event: &StreamEvent) -> Vec<Value> {
        match event {
            StreamEvent::MessageStart(_) => {
                vec![self.chunk(json!({"role": "assistant", "content": ""}), None)]
            }
            StreamEvent::ContentBlockStart(start) => {
                let BlockStart::ToolUse(tool) = &start.start;
                let index = self.tool_indexes.len();
                self.tool_indexes.insert(start.content_block_index, index);
                vec![self.chunk(
                    json!({"tool_calls": [{"index": index, "id": tool.tool_use_id, "type": "function",
                                           "function": {"name": tool.name, "arguments": ""}}]}),
                    None,
                )]
            }
            StreamEvent::ContentBlockDelta(d) => match &d.delta {
                Delta::Text(t) => vec![self.chunk(json!({"content": t}), None)],
                Delta::ToolUse(t) => {
                    let index = self
                        .tool_indexes
                        .get(&d.content_block_index)
                        .copied()
                        .unwrap_or(0);
                    vec![self.chunk(
                        json!({"tool_calls": [{"index": index, "function": {"arguments": t.input}}]}),
                        None,
                    )]
                }
                Delta::ReasoningContent(ReasoningDelta::Text(t)) => {
                    vec![self.chunk(json!({"reasoning_content": t}), None)]
                }
                Delta::ReasoningContent(_) => Vec::new(),
            },
            StreamEvent::ContentBlockStop(_) => Vec::new(),
            StreamEvent::MessageStop(stop) => {
                vec![self.chunk(json!({}), Some(finish_reason(&stop.stop_reason)))]
            }
            StreamEvent::Metadata(meta) => {
                if self.include_usage {
                    vec![json!({
                        "id": self.id,
                        "object": "chat.completion.chunk",
                        "created": self.created,
                        "model": self.model,
                        "choices": [],
                        "usage": usage_json(&meta.usage),
                    })]
                } else {
                    Vec::new()
                }
            }
        }
    }
}

/// The capability summary `GET /v1/models` shows for a model.
pub fn caps_json(caps: &Caps) -> Value {
    json!({
        "streaming": caps.streaming,
        "tool_use": caps.tool_use,
        "image_input": caps.image_input,
        "document_input": caps.document_input,
        "family": caps.family,
        "reasoning": caps.reasoning.is_some(),
        "prompt_caching": caps.prompt_caching.is_some(),
        "json_schema_output": caps.json_schema_output,
        "max_output_tokens": caps.max_output_tokens,
    })
}
