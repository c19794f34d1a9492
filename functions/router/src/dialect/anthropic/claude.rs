//! Claude behind InvokeModel: the caller's Anthropic body goes through almost untouched, so
//! thinking, tools, images, documents, `cache_control` and citations reach the model as sent.
//! Only what Bedrock would refuse for the target model is changed, and every change is named
//! (in `x-router-dropped` and the metrics), so a request never fails on a beta or a field.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use shared::claude_features::ClaudeModel;

use crate::caps::Target;
use crate::error::RouterError;

/// The `anthropic_version` Bedrock requires in a Claude body.
pub const BEDROCK_ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// What the router changed in a body on its way to Bedrock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adjustments {
    /// `anthropic_beta` values the model does not take on Bedrock.
    pub betas: Vec<String>,
    /// Top-level fields the model does not take on Bedrock.
    pub fields: Vec<String>,
    /// Values brought within what the model takes (`max_tokens=128000->64000`).
    pub changed: Vec<String>,
}

impl Adjustments {
    /// How many things were dropped or changed (the metric).
    pub fn count(&self) -> usize {
        self.betas.len() + self.fields.len() + self.changed.len()
    }

    /// The `x-router-dropped` header value, or `None` when nothing was changed.
    pub fn header(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.betas.is_empty() {
            parts.push(format!("anthropic_beta={}", self.betas.join(",")));
        }
        if !self.fields.is_empty() {
            parts.push(format!("fields={}", self.fields.join(",")));
        }
        if !self.changed.is_empty() {
            parts.push(format!("changed={}", self.changed.join(",")));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// The Claude model a target runs, when it is one.
pub fn claude_of(target: &Target) -> Option<ClaudeModel> {
    if !target.caps.family.starts_with("claude") {
        return None;
    }
    ClaudeModel::of(&target.friendly_id)
        .or_else(|| ClaudeModel::of(&target.call_id))
        .or_else(|| ClaudeModel::of(&target.caps.family))
}

/// The betas a caller asked for: the `anthropic-beta` header (comma-separated) and the body's
/// `anthropic_beta` list, in that order, without repeats.
pub fn requested_betas(header: Option<&str>, body: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let from_header = header
        .into_iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_owned);
    let from_body = body
        .get("anthropic_beta")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned);
    for beta in from_header.chain(from_body) {
        if !out.contains(&beta) {
            out.push(beta);
        }
    }
    out
}

/// Turns an Anthropic Messages body into the InvokeModel body Bedrock takes for `model`:
/// `model` and `stream` go (the path names the model; the operation says whether it streams),
/// `anthropic_version` is Bedrock's, betas and fields the model does not take are dropped,
/// `max_tokens` is brought within the model's output limit (a thinking budget below it), and
/// adaptive thinking becomes a budget on models that only know budgets.
pub fn prepare_claude_body(
    mut body: Map<String, Value>,
    model: ClaudeModel,
    max_output_tokens: u32,
    betas: &[String],
) -> Result<(Bytes, Adjustments), RouterError> {
    let mut adjusted = Adjustments::default();
    body.remove("model");
    body.remove("stream");
    body.insert(
        "anthropic_version".into(),
        Value::String(BEDROCK_ANTHROPIC_VERSION.into()),
    );
    let (kept, dropped): (Vec<&String>, Vec<&String>) =
        betas.iter().partition(|b| model.accepts_beta(b));
    adjusted.betas = dropped.into_iter().cloned().collect();
    if kept.is_empty() {
        body.remove("anthropic_beta");
    } else {
        body.insert("anthropic_beta".into(), json!(kept));
    }
    let unknown: Vec<String> = body
        .keys()
        .filter(|k| !model.accepts_field(k))
        .cloned()
        .collect();
    for field in unknown {
        body.remove(&field);
        adjusted.fields.push(field);
    }
    if let Some(max) = body.get("max_tokens").and_then(Value::as_u64)
        && max > u64::from(max_output_tokens)
    {
        body.insert("max_tokens".into(), json!(max_output_tokens));
        adjusted
            .changed
            .push(format!("max_tokens={max}->{max_output_tokens}"));
    }
    let max_tokens = body
        .get("max_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(u64::from(max_output_tokens));
    if let Some(thinking) = body.get_mut("thinking").and_then(Value::as_object_mut) {
        if thinking.get("type").and_then(Value::as_str) == Some("adaptive")
            && !model.adaptive_thinking()
        {
            // A budget just under max_tokens leaves the model the same room it would have
            // chosen within; Bedrock refuses a budget that is not below max_tokens.
            let budget = max_tokens.saturating_sub(1).max(1024);
            thinking.clear();
            thinking.insert("type".into(), json!("enabled"));
            thinking.insert("budget_tokens".into(), json!(budget));
            adjusted
                .changed
                .push(format!("thinking=adaptive->enabled:{budget}"));
        }
        if let Some(budget) = thinking.get("budget_tokens").and_then(Value::as_u64)
            && budget >= max_tokens
        {
            let lowered = max_tokens.saturating_sub(1);
            thinking.insert("budget_tokens".into(), json!(lowered));
            adjusted
                .changed
                .push(format!("thinking.budget_tokens={budget}->{lowered}"));
        }
    }
    let bytes = serde_json::to_vec(&body)
        .map_err(|e| RouterError::Internal(format!("body serialisation failed: {e}")))?;
    Ok((Bytes::from(bytes), adjusted))
}

/// The usage Bedrock reports in an Anthropic answer or stream event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct ClaudeUsage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
}

/// Just the `type` of a stream chunk, so the bulk of a stream (text deltas) is relayed without
/// being rebuilt.
#[derive(Deserialize)]
struct ChunkType<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}

/// One Claude stream chunk, as the relay needs it.
pub enum Chunk {
    /// Relayed as it came: its type (the SSE `event:` name) and its JSON.
    Pass { kind: String, json: Bytes },
    /// `message_start`: its usage holds the input tokens.
    Start { json: Bytes, usage: ClaudeUsage },
    /// `message_delta`: its usage holds the output tokens.
    Delta { json: Bytes, usage: ClaudeUsage },
    /// `message_stop`, with Bedrock's `amazon-bedrock-invocationMetrics` taken out.
    Stop { json: Bytes, metrics: Option<Value> },
}

/// Reads one chunk of InvokeModelWithResponseStream.
pub fn read_chunk(json: Bytes) -> Result<Chunk, String> {
    let kind = serde_json::from_slice::<ChunkType<'_>>(&json)
        .map_err(|e| format!("a stream chunk is not an Anthropic event: {e}"))?
        .kind
        .into_owned();
    let usage_at = |value: &Value, pointer: &str| {
        value
            .pointer(pointer)
            .cloned()
            .and_then(|u| serde_json::from_value::<ClaudeUsage>(u).ok())
            .unwrap_or_default()
    };
    Ok(match kind.as_str() {
        "message_start" | "message_delta" | "message_stop" => {
            let mut value: Value =
                serde_json::from_slice(&json).map_err(|e| format!("bad {kind} chunk: {e}"))?;
            match kind.as_str() {
                "message_start" => Chunk::Start {
                    usage: usage_at(&value, "/message/usage"),
                    json,
                },
                "message_delta" => Chunk::Delta {
                    usage: usage_at(&value, "/usage"),
                    json,
                },
                _ => {
                    let metrics = value
                        .as_object_mut()
                        .and_then(|o| o.remove("amazon-bedrock-invocationMetrics"));
                    let json = match &metrics {
                        Some(_) => Bytes::from(serde_json::to_vec(&value).unwrap_or_default()),
                        None => json,
                    };
                    Chunk::Stop { json, metrics }
                }
            }
        }
        _ => Chunk::Pass { kind, json },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn as_json(b: &Bytes) -> Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn a_claude_code_request_loses_only_what_bedrock_refuses_and_says_so() {
        let request = body(json!({
            "model": "claude-opus-5-5",
            "stream": true,
            "max_tokens": 128000,
            "thinking": {"type": "adaptive"},
            "context_management": {"edits": []},
            "output_config": {"effort": "high"},
            "metadata": {"user_id": "u"},
            "system": [{"type": "text", "text": "You are Claude Code", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "say hi"}],
            "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
        }));
        let betas: Vec<String> = [
            "claude-code-20250219",
            "interleaved-thinking-2025-05-14",
            "context-management-2025-06-27",
            "effort-2025-11-24",
        ]
        .map(String::from)
        .to_vec();
        let opus = ClaudeModel::of("claude-opus-5-5").unwrap();
        let (bytes, adjusted) = prepare_claude_body(request, opus, 128000, &betas).unwrap();
        let sent = as_json(&bytes);
        assert_eq!(sent["anthropic_version"], BEDROCK_ANTHROPIC_VERSION);
        assert_eq!(
            sent["anthropic_beta"],
            json!([
                "interleaved-thinking-2025-05-14",
                "context-management-2025-06-27",
                "effort-2025-11-24"
            ])
        );
        assert!(sent.get("model").is_none() && sent.get("stream").is_none());
        assert!(sent.get("metadata").is_none());
        assert_eq!(sent["thinking"], json!({"type": "adaptive"}));
        assert_eq!(sent["system"][0]["cache_control"]["type"], "ephemeral");
        assert_eq!(adjusted.betas, vec!["claude-code-20250219"]);
        assert_eq!(adjusted.fields, vec!["metadata"]);
        assert_eq!(
            adjusted.header().unwrap(),
            "anthropic_beta=claude-code-20250219; fields=metadata"
        );
    }

    #[test]
    fn an_older_claude_gets_a_thinking_budget_and_its_own_output_limit() {
        let request = body(json!({
            "max_tokens": 128000,
            "thinking": {"type": "adaptive"},
            "output_config": {"effort": "high"},
            "messages": [{"role": "user", "content": "hi"}],
        }));
        let sonnet = ClaudeModel::of("us.anthropic.claude-sonnet-4-5-20250929-v1:0").unwrap();
        let (bytes, adjusted) = prepare_claude_body(request, sonnet, 64000, &[]).unwrap();
        let sent = as_json(&bytes);
        assert_eq!(sent["max_tokens"], 64000);
        assert_eq!(
            sent["thinking"],
            json!({"type": "enabled", "budget_tokens": 63999})
        );
        assert!(sent.get("output_config").is_none());
        assert_eq!(
            adjusted.changed,
            vec![
                "max_tokens=128000->64000",
                "thinking=adaptive->enabled:63999"
            ]
        );
        assert_eq!(adjusted.fields, vec!["output_config"]);
        assert!(sent.get("anthropic_beta").is_none());
    }

    #[test]
    fn a_thinking_budget_at_max_tokens_is_lowered_below_it() {
        let request = body(json!({
            "max_tokens": 2048,
            "thinking": {"type": "enabled", "budget_tokens": 4096},
            "messages": [{"role": "user", "content": "hi"}],
        }));
        let haiku = ClaudeModel::of("claude-haiku-4-5-20251001").unwrap();
        let (bytes, _) = prepare_claude_body(request, haiku, 64000, &[]).unwrap();
        assert_eq!(as_json(&bytes)["thinking"]["budget_tokens"], 2047);
    }

    #[test]
    fn betas_come_from_the_header_and_the_body_once_each() {
        let b = body(json!({"anthropic_beta": ["a", "b"]}));
        assert_eq!(requested_betas(Some("b, c,"), &b), vec!["b", "c", "a"]);
        assert!(requested_betas(None, &Map::new()).is_empty());
    }

    #[test]
    fn stream_chunks_are_typed_and_invocation_metrics_are_taken_out() {
        let stop = Bytes::from_static(br#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":3,"outputTokenCount":2}}"#);
        match read_chunk(stop).unwrap() {
            Chunk::Stop { json, metrics } => {
                assert_eq!(as_json(&json), json!({"type": "message_stop"}));
                assert_eq!(metrics.unwrap()["inputTokenCount"], 3);
            }
            _ => panic!("not a stop"),
        }
        let start = Bytes::from_static(br#"{"type":"message_start","message":{"usage":{"input_tokens":7,"cache_read_input_tokens":5,"output_tokens":1}}}"#);
        match read_chunk(start).unwrap() {
            Chunk::Start { usage, .. } => {
                assert_eq!(usage.input_tokens, 7);
                assert_eq!(usage.cache_read_input_tokens, 5);
            }
            _ => panic!("not a start"),
        }
        let delta = Bytes::from_static(br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#);
        assert!(
            matches!(read_chunk(delta.clone()).unwrap(), Chunk::Pass { kind, json } if kind == "content_block_delta" && json == delta)
        );
        assert!(read_chunk(Bytes::from_static(b"not json")).is_err());
    }
}
