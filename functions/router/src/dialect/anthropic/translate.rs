//! Anthropic Messages ⇄ Converse, for served models that are not Claude (Nova, Llama,
//! Mistral...): text, images, documents, tools and tool results, system, stop reasons and
//! usage; `cache_control` becomes a `cachePoint` where the model caches. What has no Converse
//! equivalent (thinking settings, metadata, server tools) is dropped and named.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::caps::Target;
use crate::converse::{
    BlockStart, BytesSource, CachePoint, ContentBlock, ConverseRequest, ConverseResponse, Delta,
    DocumentBlock, Empty, ImageBlock, InferenceConfig, InputSchema, Message, NamedTool,
    ReasoningBlock, ReasoningDelta, Role, StreamEvent, SystemBlock, Tool, ToolChoice, ToolConfig,
    ToolResultBlock, ToolResultContent, ToolSpec, ToolUseBlock, Usage,
};
use crate::dialect::Dialect;
use crate::error::{Rendered, RouterError, error_body};
use crate::metrics::RequestRecord;
use crate::relay::Encoder;
use crate::sse;

/// Top-level fields that carry over to Converse.
const CARRIED: [&str; 9] = [
    "model",
    "max_tokens",
    "messages",
    "system",
    "temperature",
    "top_p",
    "stop_sequences",
    "tools",
    "tool_choice",
];

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
        #[serde(default)]
        cache_control: Option<Value>,
    },
    Image {
        source: Source,
        #[serde(default)]
        cache_control: Option<Value>,
    },
    Document {
        source: Source,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        cache_control: Option<Value>,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
        #[serde(default)]
        cache_control: Option<Value>,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(default)]
        content: Option<ToolResultBody>,
        #[serde(default)]
        is_error: Option<bool>,
        #[serde(default)]
        cache_control: Option<Value>,
    },
    Thinking {
        #[allow(dead_code)]
        thinking: String,
    },
    RedactedThinking {
        #[allow(dead_code)]
        data: String,
    },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Source {
    Base64 { media_type: String, data: String },
    Text { data: String },
    Url {},
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ToolResultBody {
    Text(String),
    Blocks(Vec<Block>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Blocks(Vec<Block>),
}

#[derive(Deserialize)]
struct AnthropicMessage {
    role: Role,
    content: Content,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum System {
    Text(String),
    Blocks(Vec<Block>),
}

#[derive(Deserialize)]
struct AnthropicTool {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    input_schema: Option<Value>,
    #[serde(default)]
    cache_control: Option<Value>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum AnthropicToolChoice {
    Auto {},
    Any {},
    Tool { name: String },
    None {},
}

fn parse<T: serde::de::DeserializeOwned>(field: &str, value: &Value) -> Result<T, RouterError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = match e.path().to_string().as_str() {
            "." => field.to_owned(),
            p => format!("{field}.{p}"),
        };
        RouterError::invalid(path.clone(), format!("`{path}`: {}", e.inner()))
    })
}

fn unsupported(target: &Target, feature: &str, param: &str, remedy: &str) -> RouterError {
    RouterError::Unsupported {
        model: target.friendly_id.clone(),
        feature: feature.to_owned(),
        param: param.to_owned(),
        remedy: remedy.to_owned(),
    }
}

/// Builds the Converse request; the second value names what was dropped.
pub fn to_converse(
    body: &Map<String, Value>,
    target: &Target,
) -> Result<(ConverseRequest, Vec<String>), RouterError> {
    let caps = &target.caps;
    let mut dropped: BTreeSet<String> = body
        .keys()
        .filter(|k| !CARRIED.contains(&k.as_str()) && k.as_str() != "stream")
        .cloned()
        .collect();
    let mut translator = Translator {
        target,
        dropped: &mut dropped,
    };

    let mut system = Vec::new();
    if let Some(value) = body.get("system") {
        match parse::<System>("system", value)? {
            System::Text(text) => system.push(SystemBlock::Text(text)),
            System::Blocks(blocks) => {
                for (i, block) in blocks.into_iter().enumerate() {
                    match block {
                        Block::Text {
                            text,
                            cache_control,
                        } => {
                            system.push(SystemBlock::Text(text));
                            if translator.cache(cache_control) {
                                system.push(SystemBlock::CachePoint(CachePoint::default_point()));
                            }
                        }
                        _ => {
                            return Err(RouterError::invalid(
                                format!("system[{i}]"),
                                "system blocks must be text blocks",
                            ));
                        }
                    }
                }
            }
        }
    }

    let raw_messages: Vec<AnthropicMessage> = parse(
        "messages",
        body.get("messages").unwrap_or(&Value::Array(Vec::new())),
    )?;
    let mut messages = Vec::with_capacity(raw_messages.len());
    for (i, m) in raw_messages.into_iter().enumerate() {
        let content = match m.content {
            Content::Text(text) => vec![ContentBlock::Text(text)],
            Content::Blocks(blocks) => translator.blocks(blocks, &format!("messages[{i}]"))?,
        };
        if content.is_empty() {
            return Err(RouterError::invalid(
                format!("messages[{i}].content"),
                format!("`messages[{i}].content` holds nothing this model can take"),
            ));
        }
        messages.push(Message {
            role: m.role,
            content,
        });
    }

    let mut inference = InferenceConfig::default();
    if let Some(max) = body.get("max_tokens").and_then(Value::as_u64) {
        let max = u32::try_from(max).unwrap_or(u32::MAX);
        if max > caps.max_output_tokens {
            translator
                .dropped
                .insert(format!("max_tokens={max}->{}", caps.max_output_tokens));
        }
        inference.max_tokens = Some(max.min(caps.max_output_tokens));
    }
    inference.temperature = body
        .get("temperature")
        .map(|v| parse::<f32>("temperature", v))
        .transpose()?;
    inference.top_p = body
        .get("top_p")
        .map(|v| parse::<f32>("top_p", v))
        .transpose()?;
    if let Some(stops) = body.get("stop_sequences") {
        inference.stop_sequences = parse("stop_sequences", stops)?;
    }

    let tool_config = match body.get("tools") {
        Some(value) => {
            let tools: Vec<AnthropicTool> = parse("tools", value)?;
            translator.tools(tools, body.get("tool_choice"))?
        }
        None => None,
    };

    let request = ConverseRequest {
        messages,
        system,
        inference_config: (inference != InferenceConfig::default()).then_some(inference),
        tool_config,
        ..ConverseRequest::default()
    };
    Ok((request, dropped.into_iter().collect()))
}

struct Translator<'a> {
    target: &'a Target,
    dropped: &'a mut BTreeSet<String>,
}

impl Translator<'_> {
    /// Whether a `cache_control` becomes a cache point (the model caches); otherwise it is
    /// dropped and named.
    fn cache(&mut self, cache_control: Option<Value>) -> bool {
        match cache_control {
            Some(_) if self.target.caps.prompt_caching.is_some() => true,
            Some(_) => {
                self.dropped.insert("cache_control".into());
                false
            }
            None => false,
        }
    }

    fn image(&self, source: Source, param: &str) -> Result<ImageBlock, RouterError> {
        if !self.target.caps.image_input {
            return Err(unsupported(
                self.target,
                "image input",
                param,
                "send text only",
            ));
        }
        match source {
            Source::Base64 { media_type, data } => {
                let format = media_type
                    .strip_prefix("image/")
                    .filter(|f| matches!(*f, "png" | "jpeg" | "gif" | "webp"))
                    .ok_or_else(|| {
                        RouterError::invalid(
                            format!("{param}.source.media_type"),
                            format!("image media type `{media_type}` is not one of image/png, image/jpeg, image/gif, image/webp"),
                        )
                    })?;
                Ok(ImageBlock {
                    format: format.to_owned(),
                    source: BytesSource { bytes: data },
                })
            }
            _ => Err(RouterError::invalid(
                format!("{param}.source"),
                "send images as base64 sources; the router does not fetch URLs",
            )),
        }
    }

    fn blocks(&mut self, blocks: Vec<Block>, at: &str) -> Result<Vec<ContentBlock>, RouterError> {
        let mut out = Vec::with_capacity(blocks.len());
        for (j, block) in blocks.into_iter().enumerate() {
            let param = format!("{at}.content[{j}]");
            let cache_control = match block {
                Block::Text {
                    text,
                    cache_control,
                } => {
                    out.push(ContentBlock::Text(text));
                    cache_control
                }
                Block::Image {
                    source,
                    cache_control,
                } => {
                    out.push(ContentBlock::Image(self.image(source, &param)?));
                    cache_control
                }
                Block::Document {
                    source,
                    title,
                    cache_control,
                } => {
                    if !self.target.caps.document_input {
                        return Err(unsupported(
                            self.target,
                            "document input",
                            &param,
                            "send text only",
                        ));
                    }
                    let (format, bytes) = match source {
                        Source::Base64 { media_type, data } => {
                            let format = match media_type.as_str() {
                                "application/pdf" => "pdf",
                                "text/plain" => "txt",
                                "text/csv" => "csv",
                                "text/html" => "html",
                                "text/markdown" => "md",
                                other => {
                                    return Err(RouterError::invalid(
                                        format!("{param}.source.media_type"),
                                        format!(
                                            "document media type `{other}` cannot be sent to this model"
                                        ),
                                    ));
                                }
                            };
                            (format, data)
                        }
                        Source::Text { data } => (
                            "txt",
                            base64::engine::general_purpose::STANDARD.encode(data),
                        ),
                        Source::Url {} => {
                            return Err(RouterError::invalid(
                                format!("{param}.source"),
                                "send documents as base64 or text sources; the router does not fetch URLs",
                            ));
                        }
                    };
                    out.push(ContentBlock::Document(DocumentBlock {
                        format: format.to_owned(),
                        name: document_name(title.as_deref(), j),
                        source: BytesSource { bytes },
                    }));
                    cache_control
                }
                Block::ToolUse {
                    id,
                    name,
                    input,
                    cache_control,
                } => {
                    self.require_tools(&param)?;
                    out.push(ContentBlock::ToolUse(ToolUseBlock {
                        tool_use_id: id,
                        name,
                        input,
                    }));
                    cache_control
                }
                Block::ToolResult {
                    tool_use_id,
                    content,
                    is_error,
                    cache_control,
                } => {
                    self.require_tools(&param)?;
                    let content = match content {
                        None => vec![ToolResultContent::Text(String::new())],
                        Some(ToolResultBody::Text(text)) => vec![ToolResultContent::Text(text)],
                        Some(ToolResultBody::Blocks(blocks)) => {
                            let mut items = Vec::new();
                            for (k, b) in blocks.into_iter().enumerate() {
                                match b {
                                    Block::Text { text, .. } => {
                                        items.push(ToolResultContent::Text(text));
                                    }
                                    Block::Image { source, .. } => {
                                        items.push(ToolResultContent::Image(
                                            self.image(source, &format!("{param}.content[{k}]"))?,
                                        ))
                                    }
                                    _ => {
                                        return Err(RouterError::invalid(
                                            format!("{param}.content[{k}]"),
                                            "tool results may hold text and image blocks",
                                        ));
                                    }
                                }
                            }
                            items
                        }
                    };
                    out.push(ContentBlock::ToolResult(ToolResultBlock {
                        tool_use_id,
                        content,
                        status: is_error.filter(|e| *e).map(|_| "error".to_owned()),
                    }));
                    cache_control
                }
                // Thinking from an earlier Claude turn means nothing to another model.
                Block::Thinking { .. } | Block::RedactedThinking { .. } => {
                    self.dropped.insert("thinking blocks".into());
                    None
                }
            };
            if self.cache(cache_control) {
                out.push(ContentBlock::CachePoint(CachePoint::default_point()));
            }
        }
        Ok(out)
    }

    fn require_tools(&self, param: &str) -> Result<(), RouterError> {
        if self.target.caps.tool_use {
            Ok(())
        } else {
            Err(unsupported(
                self.target,
                "tool use",
                param,
                "remove tool blocks",
            ))
        }
    }

    fn tools(
        &mut self,
        tools: Vec<AnthropicTool>,
        choice: Option<&Value>,
    ) -> Result<Option<ToolConfig>, RouterError> {
        if tools.is_empty() {
            return Ok(None);
        }
        self.require_tools("tools")?;
        let mut out = Vec::with_capacity(tools.len());
        for (i, tool) in tools.into_iter().enumerate() {
            match (tool.kind.as_deref(), tool.input_schema) {
                (None | Some("custom"), Some(schema)) => {
                    out.push(Tool::ToolSpec(ToolSpec {
                        name: tool.name,
                        description: tool.description,
                        input_schema: InputSchema { json: schema },
                    }));
                    if self.cache(tool.cache_control) {
                        out.push(Tool::CachePoint(CachePoint::default_point()));
                    }
                }
                (None | Some("custom"), None) => {
                    return Err(RouterError::invalid(
                        format!("tools[{i}].input_schema"),
                        format!("`tools[{i}].input_schema` is required"),
                    ));
                }
                // Anthropic-defined and server tools (web search, bash, text editor...) run
                // only on Claude.
                (Some(kind), _) => {
                    self.dropped.insert(format!("tools:{kind}"));
                }
            }
        }
        if !out.iter().any(|t| matches!(t, Tool::ToolSpec(_))) {
            return Ok(None);
        }
        let tool_choice = match choice {
            None => None,
            Some(value) => match parse::<AnthropicToolChoice>("tool_choice", value)? {
                AnthropicToolChoice::Auto {} => Some(ToolChoice::Auto(Empty {})),
                AnthropicToolChoice::Any {} => Some(ToolChoice::Any(Empty {})),
                AnthropicToolChoice::Tool { name } => Some(ToolChoice::Tool(NamedTool { name })),
                AnthropicToolChoice::None {} => {
                    self.dropped.insert("tool_choice:none".into());
                    None
                }
            },
        };
        Ok(Some(ToolConfig {
            tools: out,
            tool_choice,
        }))
    }
}

/// A Converse document name: letters, digits, spaces, hyphens, parentheses and brackets only.
fn document_name(title: Option<&str>, index: usize) -> String {
    let cleaned: String = title
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " -()[]".contains(*c))
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.is_empty() {
        format!("document-{}", index + 1)
    } else {
        cleaned
    }
}

/// Converse's stop reason in Anthropic's words.
fn stop_reason(converse: &str) -> &'static str {
    match converse {
        "tool_use" => "tool_use",
        "max_tokens" => "max_tokens",
        "stop_sequence" => "stop_sequence",
        "guardrail_intervened" | "content_filtered" => "refusal",
        "model_context_window_exceeded" => "model_context_window_exceeded",
        _ => "end_turn",
    }
}

fn usage_json(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens.unwrap_or(0),
        "cache_creation_input_tokens": usage.cache_write_input_tokens.unwrap_or(0),
    })
}

fn message_id() -> String {
    format!("msg_bdrk_{}", uuid::Uuid::new_v4().simple())
}

/// A Converse answer as an Anthropic message.
pub fn from_converse(response: &ConverseResponse, model: &str) -> Value {
    let mut content = Vec::new();
    for block in &response.output.message.content {
        match block {
            ContentBlock::Text(text) => content.push(json!({"type": "text", "text": text})),
            ContentBlock::ToolUse(t) => content.push(
                json!({"type": "tool_use", "id": t.tool_use_id, "name": t.name, "input": t.input}),
            ),
            ContentBlock::ReasoningContent(ReasoningBlock::ReasoningText(r)) => content.push(
                json!({"type": "thinking", "thinking": r.text, "signature": r.signature.clone().unwrap_or_default()}),
            ),
            ContentBlock::ReasoningContent(ReasoningBlock::RedactedContent(data)) => {
                content.push(json!({"type": "redacted_thinking", "data": data}));
            }
            _ => {}
        }
    }
    json!({
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(&response.stop_reason),
        "stop_sequence": null,
        "usage": usage_json(&response.usage),
    })
}

/// ConverseStream events as Anthropic's stream: `message_start`, content blocks opened
/// before their first delta, and `message_delta` + `message_stop` once the usage is known
/// (Converse sends it after the stop).
pub struct MessageEvents {
    model: String,
    /// Content blocks opened so far, by index, and whether they are still open.
    open: BTreeMap<u32, bool>,
    stop_reason: Option<String>,
    finished: bool,
}

impl MessageEvents {
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            open: BTreeMap::new(),
            stop_reason: None,
            finished: false,
        }
    }

    fn start_block(&mut self, out: &mut Vec<u8>, index: u32, block: Value) {
        if self.open.insert(index, true).is_none() {
            out.extend_from_slice(&sse::event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": index, "content_block": block}),
            ));
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>, usage: Option<&Usage>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let reason = stop_reason(self.stop_reason.as_deref().unwrap_or("end_turn"));
        let usage = usage.map_or_else(|| json!({"output_tokens": 0}), usage_json);
        out.extend_from_slice(&sse::event(
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": null}, "usage": usage}),
        ));
        out.extend_from_slice(&sse::event(
            "message_stop",
            &json!({"type": "message_stop"}),
        ));
    }
}

impl Encoder<StreamEvent> for MessageEvents {
    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }

    fn event(&mut self, event: &StreamEvent, record: &mut RequestRecord) -> Option<Bytes> {
        record.note_converse_event(event);
        let mut out = Vec::new();
        match event {
            StreamEvent::MessageStart(_) => out.extend_from_slice(&sse::event(
                "message_start",
                &json!({"type": "message_start", "message": {
                    "id": message_id(), "type": "message", "role": "assistant", "model": self.model,
                    "content": [], "stop_reason": null, "stop_sequence": null,
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                }}),
            )),
            StreamEvent::ContentBlockStart(start) => {
                let BlockStart::ToolUse(tool) = &start.start;
                self.start_block(
                    &mut out,
                    start.content_block_index,
                    json!({"type": "tool_use", "id": tool.tool_use_id, "name": tool.name, "input": {}}),
                );
            }
            StreamEvent::ContentBlockDelta(d) => {
                let index = d.content_block_index;
                let delta = match &d.delta {
                    Delta::Text(text) => {
                        self.start_block(&mut out, index, json!({"type": "text", "text": ""}));
                        json!({"type": "text_delta", "text": text})
                    }
                    Delta::ToolUse(t) => {
                        json!({"type": "input_json_delta", "partial_json": t.input})
                    }
                    Delta::ReasoningContent(r) => {
                        self.start_block(
                            &mut out,
                            index,
                            json!({"type": "thinking", "thinking": ""}),
                        );
                        match r {
                            ReasoningDelta::Text(t) => {
                                json!({"type": "thinking_delta", "thinking": t})
                            }
                            ReasoningDelta::Signature(s) => {
                                json!({"type": "signature_delta", "signature": s})
                            }
                            ReasoningDelta::RedactedContent(_) => return None,
                        }
                    }
                };
                out.extend_from_slice(&sse::event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": index, "delta": delta}),
                ));
            }
            StreamEvent::ContentBlockStop(stop) => {
                if let Some(open) = self.open.get_mut(&stop.content_block_index)
                    && *open
                {
                    *open = false;
                    out.extend_from_slice(&sse::event(
                        "content_block_stop",
                        &json!({"type": "content_block_stop", "index": stop.content_block_index}),
                    ));
                }
            }
            StreamEvent::MessageStop(stop) => self.stop_reason = Some(stop.stop_reason.clone()),
            StreamEvent::Metadata(meta) => self.finish(&mut out, Some(&meta.usage)),
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }

    fn error(&mut self, _err: &RouterError, rendered: &Rendered) -> Bytes {
        self.finished = true;
        sse::event("error", &error_body(rendered, Dialect::Anthropic))
    }

    fn end(&mut self) -> Option<Bytes> {
        let mut out = Vec::new();
        self.finish(&mut out, None);
        (!out.is_empty()).then(|| Bytes::from(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::Caps;
    use crate::converse::{
        ContentBlockDelta, ContentBlockStart, ContentBlockStop, ConverseOutput, MessageStart,
        MessageStop, Metrics, StreamMetadata, ToolUseDelta, ToolUseStart,
    };

    fn nova() -> Target {
        let mut caps = Caps::conservative();
        caps.family = "nova-pro".into();
        caps.tool_use = true;
        caps.image_input = true;
        caps.document_input = true;
        caps.prompt_caching =
            shared::catalog::capabilities_for("amazon.nova-pro-v1:0").prompt_caching;
        caps.max_output_tokens = 10000;
        Target {
            friendly_id: "nova".into(),
            call_id: "us.amazon.nova-pro-v1:0".into(),
            region: "us-east-1".into(),
            is_profile: false,
            caps,
            sites: Vec::new(),
            model_id: None,
        }
    }

    fn translate(body: Value) -> Result<(ConverseRequest, Vec<String>), RouterError> {
        to_converse(body.as_object().unwrap(), &nova())
    }

    #[test]
    fn a_claude_code_style_request_becomes_converse_with_cache_points_and_named_drops() {
        let (request, dropped) = translate(json!({
            "model": "claude-opus-5-5",
            "max_tokens": 128000,
            "stream": true,
            "thinking": {"type": "adaptive"},
            "metadata": {"user_id": "u"},
            "system": [{"type": "text", "text": "You are helpful", "cache_control": {"type": "ephemeral"}}],
            "tools": [
                {"name": "Bash", "description": "run", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}},
                {"type": "web_search_20250305", "name": "web_search"}
            ],
            "tool_choice": {"type": "auto"},
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "s"},
                    {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"cmd": "ls"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "a.txt", "is_error": false},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}, "title": "My notes.txt"}
                ]}
            ]
        }))
        .unwrap();
        assert_eq!(
            dropped,
            vec![
                "max_tokens=128000->10000",
                "metadata",
                "thinking",
                "thinking blocks",
                "tools:web_search_20250305"
            ]
        );
        assert_eq!(
            request.system,
            vec![
                SystemBlock::Text("You are helpful".into()),
                SystemBlock::CachePoint(CachePoint::default_point())
            ]
        );
        assert_eq!(request.inference_config.unwrap().max_tokens, Some(10000));
        let tools = request.tool_config.unwrap();
        assert_eq!(tools.tools.len(), 2, "the spec and its cache point");
        assert_eq!(tools.tool_choice, Some(ToolChoice::Auto(Empty {})));
        assert_eq!(request.messages.len(), 3);
        assert!(
            matches!(&request.messages[1].content[..], [ContentBlock::ToolUse(t)] if t.tool_use_id == "t1")
        );
        match &request.messages[2].content[..] {
            [
                ContentBlock::ToolResult(r),
                ContentBlock::Image(i),
                ContentBlock::Document(d),
            ] => {
                assert_eq!(r.status, None);
                assert_eq!(i.format, "png");
                assert_eq!(d.name, "My notestxt");
                assert_eq!(d.format, "txt");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_blocks_name_their_place() {
        let err = translate(json!({"max_tokens": 5, "messages": [
            {"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "http://x"}}]}
        ]}))
        .unwrap_err();
        assert!(err.to_string().contains("base64"), "{err}");
        let err = translate(json!({"max_tokens": 5, "messages": [
            {"role": "user", "content": [{"type": "video"}]}
        ]}))
        .unwrap_err();
        assert!(
            matches!(err, RouterError::InvalidRequest { param: Some(p), .. } if p.starts_with("messages"))
        );
    }

    #[test]
    fn a_converse_answer_reads_as_an_anthropic_message() {
        let response = ConverseResponse {
            output: ConverseOutput {
                message: Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Text("hello".into()),
                        ContentBlock::ToolUse(ToolUseBlock {
                            tool_use_id: "t1".into(),
                            name: "Bash".into(),
                            input: json!({"cmd": "ls"}),
                        }),
                    ],
                },
            },
            stop_reason: "tool_use".into(),
            usage: Usage {
                input_tokens: 10,
                output_tokens: 5,
                total_tokens: 15,
                cache_read_input_tokens: Some(4),
                cache_write_input_tokens: None,
            },
            metrics: Metrics { latency_ms: 1 },
            additional_model_response_fields: None,
        };
        let message = from_converse(&response, "claude-opus-5-5");
        assert_eq!(message["type"], "message");
        assert_eq!(message["model"], "claude-opus-5-5");
        assert_eq!(message["stop_reason"], "tool_use");
        assert_eq!(message["content"][1]["type"], "tool_use");
        assert_eq!(message["usage"]["cache_read_input_tokens"], 4);
        assert!(message["id"].as_str().unwrap().starts_with("msg_"));
    }

    fn stream_of(events: &[StreamEvent]) -> String {
        let sink: std::sync::Arc<dyn crate::metrics::MetricsSink> =
            std::sync::Arc::new(crate::metrics::MemorySink::default());
        let mut record = RequestRecord::new(sink, crate::metrics::RouteName::Messages);
        let mut encoder = MessageEvents::new("claude-opus-5-5");
        let mut out = String::new();
        for e in events {
            if let Some(b) = encoder.event(e, &mut record) {
                out.push_str(std::str::from_utf8(&b).unwrap());
            }
        }
        if let Some(b) = encoder.end() {
            out.push_str(std::str::from_utf8(&b).unwrap());
        }
        out
    }

    fn names(sse: &str) -> Vec<&str> {
        sse.lines()
            .filter_map(|l| l.strip_prefix("event: "))
            .collect()
    }

    #[test]
    fn a_converse_stream_reads_as_anthropics_event_sequence() {
        let events = [
            StreamEvent::MessageStart(MessageStart {
                role: Role::Assistant,
            }),
            StreamEvent::ContentBlockDelta(ContentBlockDelta {
                delta: Delta::Text("hi".into()),
                content_block_index: 0,
            }),
            StreamEvent::ContentBlockStop(ContentBlockStop {
                content_block_index: 0,
            }),
            StreamEvent::ContentBlockStart(ContentBlockStart {
                start: BlockStart::ToolUse(ToolUseStart {
                    tool_use_id: "t1".into(),
                    name: "Bash".into(),
                }),
                content_block_index: 1,
            }),
            StreamEvent::ContentBlockDelta(ContentBlockDelta {
                delta: Delta::ToolUse(ToolUseDelta {
                    input: "{\"cmd\":".into(),
                }),
                content_block_index: 1,
            }),
            StreamEvent::ContentBlockStop(ContentBlockStop {
                content_block_index: 1,
            }),
            StreamEvent::MessageStop(MessageStop {
                stop_reason: "tool_use".into(),
                additional_model_response_fields: None,
            }),
            StreamEvent::Metadata(StreamMetadata {
                usage: Usage {
                    input_tokens: 3,
                    output_tokens: 2,
                    total_tokens: 5,
                    ..Usage::default()
                },
                metrics: Metrics { latency_ms: 1 },
            }),
        ];
        let sse = stream_of(&events);
        assert_eq!(
            names(&sse),
            vec![
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert!(sse.contains("\"stop_reason\":\"tool_use\""), "{sse}");
        assert!(sse.contains("\"partial_json\":\"{\\\"cmd\\\":\""), "{sse}");
    }

    #[test]
    fn a_stream_without_usage_still_ends_with_message_stop() {
        let sse = stream_of(&[StreamEvent::MessageStart(MessageStart {
            role: Role::Assistant,
        })]);
        assert_eq!(
            names(&sse),
            vec!["message_start", "message_delta", "message_stop"]
        );
    }
}
