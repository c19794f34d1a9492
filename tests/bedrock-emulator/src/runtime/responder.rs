//! Deterministic model outputs: the same request always gets the same answer.
//!
//! The rules (documented in docs/emulator-runtime.md):
//! - Tokens: a token is a run of letters/digits or one other non-space character; every count
//!   (input, output, maxTokens) uses this rule. Input counts every text of the system prompt, the
//!   messages (text, tool inputs and results) and the tool specifications.
//! - Text: one of [`PHRASES`], chosen by a hash of the last user text, followed by
//!   `You said: <that text>`. After a tool result the reply reports the result instead.
//! - Tool use: forced (`any`: first tool, `tool`: the named one) always calls; `auto` calls the
//!   first offered tool whose name appears in the last user text (case-insensitive). Inputs are
//!   filled from the tool's JSON schema properties.
//! - Reasoning: when asked for and supported, a reasoning block precedes the answer; its
//!   signature is a base64 SHA-256 of the reasoning text.
//! - `maxTokens` cuts the output at that many tokens (stop reason `max_tokens`, any tool call is
//!   dropped); the first stop sequence found in the text cuts it (stop reason `stop_sequence`).

use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub const PHRASES: [&str; 8] = [
    "Here is a deterministic answer from the local Bedrock.",
    "The emulator has considered your message.",
    "This reply was produced without a real model.",
    "A reproducible response follows.",
    "Thank you for the question; here is the emulated answer.",
    "The local model echoes your words.",
    "Emulated inference complete.",
    "Same input, same output: that is the rule here.",
];

#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    Auto,
    Any,
    Tool(String),
}

#[derive(Debug, Clone)]
pub struct ToolDef {
    pub name: String,
    pub schema: Value,
}

/// A request reduced to what the responder needs, from any input format.
#[derive(Debug, Clone, Default)]
pub struct Prompt {
    /// Every input text, for the token count.
    pub texts: Vec<String>,
    pub last_user_text: String,
    /// The last user message carried a tool result with this text.
    pub tool_result: Option<String>,
    pub max_tokens: Option<u32>,
    pub stop_sequences: Vec<String>,
    pub tools: Vec<ToolDef>,
    pub tool_choice: Option<ToolChoice>,
    pub reasoning: bool,
    /// Digest and token count of each prompt prefix marked for caching that is long enough
    /// to be cached, shortest first.
    pub cache_checkpoints: Vec<(String, u32)>,
    /// An embedding model's request (texts, dimensions, output types).
    pub embedding: Option<super::embed::EmbedRequest>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub input: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    /// A guardrail blocked the input or the answer (see `guardrails`).
    GuardrailIntervened,
}

impl StopReason {
    /// The Converse (and Anthropic Messages) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::EndTurn => "end_turn",
            StopReason::ToolUse => "tool_use",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
            StopReason::GuardrailIntervened => "guardrail_intervened",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub reasoning: Option<(String, String)>,
    pub text: Option<String>,
    pub tool_call: Option<ToolCall>,
    pub stop_reason: StopReason,
    /// The stop sequence that ended the text, when one did.
    pub stop_sequence: Option<String>,
    /// Uncached input tokens (the whole input when nothing was cached).
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// Input tokens read from the prompt cache.
    pub cache_read_tokens: u32,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: u32,
}

/// Splits text into tokens as defined above, keeping each token's byte range.
pub fn token_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            spans.push((s, i));
        }
        if !c.is_whitespace() {
            spans.push((i, i + c.len_utf8()));
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

pub fn count_tokens(text: &str) -> u32 {
    token_spans(text).len() as u32
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Keeps the first `limit` tokens of `text` (with the whitespace between them).
fn truncate_tokens(text: &str, limit: u32) -> String {
    let spans = token_spans(text);
    match spans.get(limit as usize) {
        Some((start, _)) => text[..*start].trim_end().to_string(),
        None => text.to_string(),
    }
}

fn schema_value(schema: &Value, seed: &[u8; 32], echo: &str, depth: usize) -> Value {
    let kind = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string");
    match kind {
        "integer" => json!(seed[0] % 100),
        "number" => json!(f64::from(seed[1] % 100) + 0.5),
        "boolean" => json!(seed[2].is_multiple_of(2)),
        "array" => json!([]),
        "object" if depth < 4 => {
            let mut out = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    out.insert(name.clone(), schema_value(sub, seed, echo, depth + 1));
                }
            }
            Value::Object(out)
        }
        "object" => json!({}),
        _ => match schema
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            Some(first) => first.clone(),
            None => json!(echo),
        },
    }
}

fn pick_tool(prompt: &Prompt) -> Option<&ToolDef> {
    match prompt.tool_choice.as_ref()? {
        ToolChoice::Any => prompt.tools.first(),
        ToolChoice::Tool(name) => prompt.tools.iter().find(|t| &t.name == name),
        ToolChoice::Auto => {
            // After a tool result the model answers instead of calling again.
            if prompt.tool_result.is_some() {
                return None;
            }
            let asked = prompt.last_user_text.to_lowercase();
            prompt
                .tools
                .iter()
                .find(|t| asked.contains(&t.name.to_lowercase()))
        }
    }
}

/// Produces the reply. A forced tool choice (`any`/`tool`) gets no leading text, as models do.
/// The input tokens of a prompt: what InvokeModel and Converse report and CountTokens counts.
pub fn input_tokens(prompt: &Prompt) -> u32 {
    prompt
        .texts
        .iter()
        .map(|t| count_tokens(t))
        .sum::<u32>()
        .max(1)
}

pub fn respond(prompt: &Prompt) -> Reply {
    let seed = digest(&prompt.last_user_text);
    let input_tokens = input_tokens(prompt);
    let echo: String = prompt.last_user_text.chars().take(200).collect();

    let reasoning_text = prompt.reasoning.then(|| {
        format!(
            "The user wrote {} tokens; the answer follows the emulator's rules.",
            count_tokens(&prompt.last_user_text)
        )
    });
    let tool = pick_tool(prompt);
    let forced = matches!(
        prompt.tool_choice,
        Some(ToolChoice::Any) | Some(ToolChoice::Tool(_))
    );
    let mut text = match (&prompt.tool_result, tool) {
        (_, Some(_)) if forced => None,
        (_, Some(t)) => Some(format!("I will use the {} tool.", t.name)),
        (Some(result), None) => Some(format!(
            "The tool returned: {}",
            result.chars().take(200).collect::<String>()
        )),
        (None, None) => Some(format!(
            "{} You said: {echo}",
            PHRASES[(seed[0] as usize) % PHRASES.len()]
        )),
    };
    let mut tool_call = tool.map(|t| ToolCall {
        id: format!(
            "tooluse_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(&seed[..16])
                .replace('-', "0")
        ),
        name: t.name.clone(),
        input: {
            let mut schema = t.schema.clone();
            if schema.get("type").is_none() {
                schema["type"] = json!("object");
            }
            schema_value(&schema, &seed, &echo, 0)
        },
    });
    let mut stop_reason = if tool_call.is_some() {
        StopReason::ToolUse
    } else {
        StopReason::EndTurn
    };
    let mut stop_sequence = None;

    if let Some(t) = text.as_mut() {
        let earliest = prompt
            .stop_sequences
            .iter()
            .filter_map(|s| t.find(s.as_str()).map(|at| (at, s)))
            .min_by_key(|(at, _)| *at);
        if let Some((at, seq)) = earliest {
            t.truncate(at);
            stop_reason = StopReason::StopSequence;
            stop_sequence = Some(seq.clone());
            tool_call = None;
        }
    }

    let reasoning_tokens = reasoning_text.as_deref().map_or(0, count_tokens);
    let text_tokens = text.as_deref().map_or(0, count_tokens);
    let tool_tokens = tool_call
        .as_ref()
        .map_or(0, |c| count_tokens(&c.input.to_string()));
    let mut output_tokens = reasoning_tokens + text_tokens + tool_tokens;
    let mut reasoning_text = reasoning_text;
    if let Some(max) = prompt.max_tokens
        && output_tokens > max
    {
        stop_reason = StopReason::MaxTokens;
        stop_sequence = None;
        tool_call = None;
        let reasoning_budget = reasoning_tokens.min(max);
        reasoning_text = reasoning_text.map(|r| truncate_tokens(&r, reasoning_budget));
        let left = max - reasoning_budget;
        text = text.map(|t| truncate_tokens(&t, left));
        output_tokens = max;
    }
    let reasoning = reasoning_text.map(|r| {
        let signature = base64::engine::general_purpose::STANDARD.encode(digest(&r));
        (r, signature)
    });
    Reply {
        reasoning,
        text,
        tool_call,
        stop_reason,
        stop_sequence,
        input_tokens,
        output_tokens,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
    }
}

impl Reply {
    /// Splits the input count into cache reads, cache writes and the rest: the longest
    /// checkpoint already in `cache` is read, the longest one after it is written, and every
    /// checkpoint is cached from now on.
    pub fn apply_prompt_cache(
        &mut self,
        checkpoints: &[(String, u32)],
        cache: &mut std::collections::HashSet<String>,
    ) {
        let read = checkpoints
            .iter()
            .filter(|(digest, _)| cache.contains(digest))
            .map(|(_, tokens)| *tokens)
            .max()
            .unwrap_or(0);
        let written = checkpoints
            .iter()
            .map(|(_, tokens)| *tokens)
            .max()
            .unwrap_or(0)
            .saturating_sub(read);
        for (digest, _) in checkpoints {
            cache.insert(digest.clone());
        }
        let cached = (read + written).min(self.input_tokens);
        self.cache_read_tokens = read.min(cached);
        self.cache_write_tokens = cached - self.cache_read_tokens;
        self.input_tokens -= cached;
    }
}

/// Splits text into streaming pieces of a few tokens each, keeping the spacing, so the
/// concatenated deltas equal the whole text.
pub fn chunks(text: &str) -> Vec<String> {
    const TOKENS_PER_CHUNK: usize = 3;
    let spans = token_spans(text);
    if spans.is_empty() {
        return if text.is_empty() {
            Vec::new()
        } else {
            vec![text.to_string()]
        };
    }
    let mut out = Vec::new();
    let mut from = 0;
    for group in spans.chunks(TOKENS_PER_CHUNK).skip(1) {
        let cut = group[0].0;
        out.push(text[from..cut].to_string());
        from = cut;
    }
    out.push(text[from..].to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(text: &str) -> Prompt {
        Prompt {
            texts: vec![text.into()],
            last_user_text: text.into(),
            ..Prompt::default()
        }
    }

    #[test]
    fn tokens_are_words_and_single_punctuation_marks() {
        assert_eq!(count_tokens("Hello, world!"), 4);
        assert_eq!(count_tokens("  "), 0);
        assert_eq!(count_tokens("a1 b2"), 2);
    }

    #[test]
    fn the_same_prompt_gets_the_same_reply_and_echoes_the_user() {
        let a = respond(&prompt("What is the capital of Sudan?"));
        assert_eq!(a, respond(&prompt("What is the capital of Sudan?")));
        let text = a.text.unwrap();
        assert!(text.ends_with("You said: What is the capital of Sudan?"));
        assert_eq!(a.output_tokens, count_tokens(&text));
        assert_eq!(a.input_tokens, 7);
        assert_eq!(a.stop_reason, StopReason::EndTurn);
    }

    #[test]
    fn max_tokens_cuts_the_text_and_reports_max_tokens() {
        let mut p = prompt("tell me a long story please");
        p.max_tokens = Some(3);
        let r = respond(&p);
        assert_eq!(r.stop_reason, StopReason::MaxTokens);
        assert_eq!(r.output_tokens, 3);
        assert_eq!(count_tokens(r.text.as_deref().unwrap()), 3);
    }

    #[test]
    fn a_stop_sequence_in_the_echo_ends_the_text_before_it() {
        let mut p = prompt("say STOP now");
        p.stop_sequences = vec!["STOP".into()];
        let r = respond(&p);
        assert_eq!(r.stop_reason, StopReason::StopSequence);
        assert_eq!(r.stop_sequence.as_deref(), Some("STOP"));
        assert!(r.text.unwrap().ends_with("You said: say "));
    }

    #[test]
    fn a_forced_tool_is_called_with_inputs_from_its_schema() {
        let mut p = prompt("weather in Paris");
        p.tools = vec![ToolDef {
            name: "get_weather".into(),
            schema: json!({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}),
        }];
        p.tool_choice = Some(ToolChoice::Any);
        let r = respond(&p);
        assert_eq!(r.stop_reason, StopReason::ToolUse);
        assert!(r.text.is_none());
        let call = r.tool_call.unwrap();
        assert_eq!(call.name, "get_weather");
        assert_eq!(call.input["city"], "weather in Paris");
        assert!(call.input["days"].is_u64());
        assert!(call.id.starts_with("tooluse_"));
    }

    #[test]
    fn auto_calls_a_tool_only_when_the_user_names_it() {
        let mut p = prompt("hello there");
        p.tools = vec![ToolDef {
            name: "lookup".into(),
            schema: json!({}),
        }];
        p.tool_choice = Some(ToolChoice::Auto);
        assert!(respond(&p).tool_call.is_none());
        p.last_user_text = "please use LOOKUP".into();
        let r = respond(&p);
        assert_eq!(r.tool_call.unwrap().name, "lookup");
        assert_eq!(r.text.as_deref(), Some("I will use the lookup tool."));
    }

    #[test]
    fn reasoning_comes_with_a_signature() {
        let mut p = prompt("think");
        p.reasoning = true;
        let (text, signature) = respond(&p).reasoning.unwrap();
        assert!(!text.is_empty());
        assert_eq!(signature.len(), 44);
    }

    #[test]
    fn chunks_concatenate_to_the_text() {
        let text = "The emulator has considered your message. You said: hi";
        let parts = chunks(text);
        assert!(parts.len() > 2);
        assert_eq!(parts.concat(), text);
    }
}
