//! OpenAI chat-completions ⇄ Converse. This file translates a request into its Converse body;
//! [`request`] holds the request's typed shapes, [`answer`] shapes the answers and [`route`]
//! serves the routes.
//!
//! Each top-level parameter is read into its typed shape when the translation reaches it, so a
//! refusal names the parameter at fault (`messages[2].content`), and a body with several faults
//! is refused for the first one met: the model is routed before the messages are read, and the
//! parameters Bedrock cannot honour are refused before anything else is judged. A parameter is
//! read whole, so a wrong JSON type anywhere in it (say in the fifth message) is named before
//! what its values mean (an image for a text-only model in the first). Shaping is decided by the
//! target's capabilities: a feature the model cannot take is a 400 that says so, never a silent
//! drop.

use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::Engine as _;
use serde::de::IgnoredAny;
use serde_json::{Map, Value, json};

use shared::catalog::{Effort, ReasoningShape};
use shared::json::type_name;

use self::request::{
    Content, FilePart, Flag, ImageUrl, ImageUrlObject, JsonSchemaFormat, JsonSchemaSpec, List,
    Loose, Object, Part, Real, ResponseFormatKind, Stop, StreamOptions, Text, ToolCall,
    ToolDefinition, Turn, UnsupportedParameters, field, read,
};
use crate::caps::Target;
use crate::converse::{
    BytesSource, CachePoint, ContentBlock, ConverseRequest, DocumentBlock, Empty, ImageBlock,
    InferenceConfig, InputSchema, JsonSchemaDefinition, Message, NamedTool, OutputConfig, Role,
    SystemBlock, TextFormat, TextFormatStructure, Tool, ToolChoice, ToolConfig, ToolResultBlock,
    ToolResultContent, ToolSpec, ToolUseBlock,
};
use crate::error::RouterError;

mod answer;
pub mod embeddings;
mod request;
mod route;

pub use answer::{ChunkTranslator, caps_json, finish_reason, from_converse};
pub use route::{chat, model, models};

pub const MAX_MESSAGES: usize = 2000;
pub const MAX_TOOLS: usize = 128;
pub const MAX_STOP_SEQUENCES: usize = 4;
pub const MAX_IMAGES: usize = 20;
/// Bedrock's per-image limit (decoded bytes).
pub const MAX_IMAGE_BYTES: usize = 3_750_000;
pub const MAX_DOCUMENTS: usize = 5;
pub const MAX_DOCUMENT_BYTES: usize = 4_500_000;

/// The parts of a chat-completions request the handler needs besides the Converse body.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub stream: bool,
    pub include_usage: bool,
    body: Map<String, Value>,
}

/// Top-level keys accepted without effect: they change nothing Bedrock could honour.
const IGNORED_KEYS: &[&str] = &[
    "user",
    "seed",
    "store",
    "metadata",
    "parallel_tool_calls",
    "service_tier",
    "safety_identifier",
    "prompt_cache_key",
];

const KNOWN_KEYS: &[&str] = &[
    "model",
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
    "logprobs",
    "top_logprobs",
    "logit_bias",
    "frequency_penalty",
    "presence_penalty",
    "audio",
    "modalities",
    "prediction",
    "functions",
    "function_call",
    "web_search_options",
];

fn required(param: &str, detail: &str) -> RouterError {
    RouterError::invalid(param, format!("`{param}` is required{detail}"))
}

/// First pass: the fields needed to route (model, stream), refusing unknown keys.
pub fn parse_chat_request(body: Value) -> Result<ChatRequest, RouterError> {
    let Value::Object(body) = body else {
        return Err(RouterError::invalid(
            "body",
            format!(
                "the request body must be a JSON object, got {}",
                type_name(&body)
            ),
        ));
    };
    if let Some(unknown) = body
        .keys()
        .find(|k| !KNOWN_KEYS.contains(&k.as_str()) && !IGNORED_KEYS.contains(&k.as_str()))
    {
        return Err(RouterError::invalid(
            unknown.clone(),
            format!(
                "unrecognized request argument `{unknown}`; see docs/router.md for the supported chat-completions parameters"
            ),
        ));
    }
    let Some(Text(model)) = field(&body, "model")? else {
        return Err(RouterError::invalid(
            "model",
            "`model` is required: send one of the IDs listed by GET /v1/models",
        ));
    };
    if model.is_empty() {
        return Err(RouterError::invalid(
            "model",
            "`model` must not be empty: send one of the IDs listed by GET /v1/models",
        ));
    }
    let model = model.into_owned();
    let stream = field::<Flag>(&body, "stream")?.is_some_and(|Flag(on)| on);
    let include_usage = match field::<Object<StreamOptions>>(&body, "stream_options")? {
        None => false,
        Some(Object(options)) => {
            if !stream {
                return Err(RouterError::invalid(
                    "stream_options",
                    "`stream_options` is only allowed when `stream` is true",
                ));
            }
            options.include_usage.is_some_and(|Flag(on)| on)
        }
    };
    Ok(ChatRequest {
        model,
        stream,
        include_usage,
        body,
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

fn number_in(param: &str, Real(n): Real, lo: f64, hi: f64) -> Result<f32, RouterError> {
    if !(lo..=hi).contains(&n) {
        return Err(RouterError::invalid(
            param,
            format!("`{param}` must be between {lo} and {hi} for Bedrock models, got {n}"),
        ));
    }
    Ok(n as f32)
}

fn positive_int(param: &str, n: &Loose<'_>) -> Result<u32, RouterError> {
    match n.count() {
        Some(n) if n >= 1 => u32::try_from(n)
            .map_err(|_| RouterError::invalid(param, format!("`{param}` is too large ({n})"))),
        _ => Err(RouterError::invalid(
            param,
            format!("`{param}` must be a positive integer"),
        )),
    }
}

/// Rejects parameters Bedrock cannot honour, when the caller set them to a non-default value.
fn refuse_unsupported_parameters(chat: &ChatRequest, target: &Target) -> Result<(), RouterError> {
    let sent: UnsupportedParameters = read("", &chat.body)?;
    if let Some(n) = &sent.n
        && n.as_u64() != Some(1)
    {
        return Err(unsupported(
            target,
            "more than one choice (`n`)",
            "n",
            "send n=1 or omit it, and make separate requests for more completions",
        ));
    }
    if let Some(v) = &sent.logprobs
        && v != &Value::Bool(false)
    {
        return Err(unsupported(
            target,
            "log probabilities",
            "logprobs",
            "omit `logprobs`",
        ));
    }
    if sent.top_logprobs.is_some() {
        return Err(unsupported(
            target,
            "log probabilities",
            "top_logprobs",
            "omit `top_logprobs`",
        ));
    }
    if let Some(v) = &sent.logit_bias
        && v.as_object().is_none_or(|m| !m.is_empty())
    {
        return Err(unsupported(
            target,
            "logit bias",
            "logit_bias",
            "omit `logit_bias`",
        ));
    }
    for (key, v) in [
        ("frequency_penalty", &sent.frequency_penalty),
        ("presence_penalty", &sent.presence_penalty),
    ] {
        if let Some(v) = v
            && v.as_f64() != Some(0.0)
        {
            return Err(unsupported(target, key, key, "omit it or send 0"));
        }
    }
    if sent.audio.is_some() {
        return Err(unsupported(target, "audio output", "audio", "omit `audio`"));
    }
    if let Some(v) = &sent.modalities {
        let only_text = v
            .as_array()
            .is_some_and(|a| a.iter().all(|m| m.as_str() == Some("text")));
        if !only_text {
            return Err(unsupported(
                target,
                "output modalities other than text",
                "modalities",
                "send [\"text\"] or omit it",
            ));
        }
    }
    for (key, set) in [
        ("prediction", sent.prediction.is_some()),
        ("web_search_options", sent.web_search_options.is_some()),
    ] {
        if set {
            return Err(unsupported(target, key, key, "omit it"));
        }
    }
    for (key, set) in [
        ("functions", sent.functions.is_some()),
        ("function_call", sent.function_call.is_some()),
    ] {
        if set {
            return Err(RouterError::invalid(
                key,
                format!(
                    "`{key}` is the deprecated function-calling API; send `tools` and `tool_choice` instead"
                ),
            ));
        }
    }
    Ok(())
}

/// Second pass: the full translation into a Converse request, shaped for the target model.
pub fn to_converse(chat: &ChatRequest, target: &Target) -> Result<ConverseRequest, RouterError> {
    let caps = &target.caps;
    refuse_unsupported_parameters(chat, target)?;
    if chat.stream && !caps.streaming {
        return Err(unsupported(
            target,
            "streaming",
            "stream",
            "send stream=false",
        ));
    }
    let body = &chat.body;
    let List(turns) = field::<List<Object<Turn>>>(body, "messages")?.ok_or_else(|| {
        RouterError::invalid(
            "messages",
            "`messages` is required and must hold at least one message",
        )
    })?;
    if turns.is_empty() {
        return Err(RouterError::invalid(
            "messages",
            "`messages` must hold at least one message",
        ));
    }
    if turns.len() > MAX_MESSAGES {
        return Err(RouterError::invalid(
            "messages",
            format!(
                "`messages` holds {} messages; at most {MAX_MESSAGES} are accepted",
                turns.len()
            ),
        ));
    }

    let mut conv = Conversation::new(target);
    for (i, Object(turn)) in turns.into_iter().enumerate() {
        conv.push(i, turn)?;
    }
    let (system, messages, has_tool_blocks) = conv.finish()?;

    let mut inference = InferenceConfig::default();
    let max_tokens = match field::<Loose>(body, "max_completion_tokens")? {
        Some(n) => Some((
            "max_completion_tokens",
            positive_int("max_completion_tokens", &n)?,
        )),
        None => match field::<Loose>(body, "max_tokens")? {
            Some(n) => Some(("max_tokens", positive_int("max_tokens", &n)?)),
            None => None,
        },
    };
    if let Some((param, n)) = max_tokens {
        if n > caps.max_output_tokens {
            return Err(RouterError::invalid(
                param,
                format!(
                    "`{param}` is {n}, but model `{}` produces at most {} output tokens; lower it",
                    target.friendly_id, caps.max_output_tokens
                ),
            ));
        }
        inference.max_tokens = Some(n);
    }
    if let Some(v) = field(body, "temperature")? {
        inference.temperature = Some(number_in("temperature", v, 0.0, 1.0)?);
    }
    if let Some(v) = field(body, "top_p")? {
        inference.top_p = Some(number_in("top_p", v, 0.0, 1.0)?);
    }
    if let Some(stop) = field(body, "stop")? {
        inference.stop_sequences = parse_stop(stop)?;
    }

    let mut additional = Map::new();
    let mut reasoning = false;
    if let Some(Text(effort)) = field(body, "reasoning_effort")? {
        reasoning = apply_reasoning(&effort, target, &mut inference, &mut additional)?;
    }
    caps.check_sampling(inference.temperature, inference.top_p, reasoning)
        .map_err(|violation| {
            let param = if inference.temperature.is_some()
                && !matches!(
                    violation,
                    shared::catalog::SamplingViolation::TopPWhileReasoning { .. }
                ) {
                "temperature"
            } else {
                "top_p"
            };
            unsupported(
                target,
                &format!("this sampling combination ({violation})"),
                param,
                "adjust `temperature` / `top_p` as described",
            )
        })?;

    let tool_config = parse_tools(body, target, has_tool_blocks)?;
    let output_config = parse_response_format(body, target)?;

    let mut request_metadata = BTreeMap::new();
    request_metadata.insert(
        "model".to_owned(),
        crate::converse::metadata_value(&target.friendly_id),
    );
    Ok(ConverseRequest {
        messages,
        system,
        inference_config: (inference != InferenceConfig::default()).then_some(inference),
        tool_config,
        additional_model_request_fields: (!additional.is_empty())
            .then_some(Value::Object(additional)),
        additional_model_response_field_paths: Vec::new(),
        request_metadata,
        output_config,
        // The tenant's guardrail, if it has one, is put on by the call itself.
        guardrail_config: None,
    })
}

fn parse_stop(stop: Stop<'_>) -> Result<Vec<String>, RouterError> {
    let list = match stop {
        Stop::Text(s) => vec![Loose::Text(s)],
        Stop::List(items) => items,
    };
    if list.len() > MAX_STOP_SEQUENCES {
        return Err(RouterError::invalid(
            "stop",
            format!(
                "`stop` holds {} sequences; at most {MAX_STOP_SEQUENCES} are accepted",
                list.len()
            ),
        ));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, s)| {
            let param = format!("stop[{i}]");
            let s = match s {
                Loose::Text(s) => s,
                other => {
                    return Err(RouterError::invalid(
                        &param,
                        format!("`{param}` must be a string, got {}", other.kind()),
                    ));
                }
            };
            if s.is_empty() {
                return Err(RouterError::invalid(
                    param,
                    "stop sequences must not be empty",
                ));
            }
            Ok(s.into_owned())
        })
        .collect()
}

/// Switches reasoning on as the model expects; returns whether it is on.
fn apply_reasoning(
    effort: &str,
    target: &Target,
    inference: &mut InferenceConfig,
    additional: &mut Map<String, Value>,
) -> Result<bool, RouterError> {
    let (effort, default_max) = match effort {
        "none" | "minimal" => return Ok(false),
        "low" => (Effort::Low, 8192u32),
        "medium" => (Effort::Medium, 16384),
        "high" => (Effort::High, 32768),
        other => {
            return Err(RouterError::invalid(
                "reasoning_effort",
                format!(
                    "`reasoning_effort` must be one of none, minimal, low, medium, high; got `{other}`"
                ),
            ));
        }
    };
    let Some(shape) = target.caps.reasoning else {
        return Err(unsupported(
            target,
            "reasoning",
            "reasoning_effort",
            "omit `reasoning_effort` or pick a reasoning model from GET /v1/models",
        ));
    };
    let max_tokens = match inference.max_tokens {
        Some(n) => n,
        None => {
            let n = default_max.min(target.caps.max_output_tokens);
            if matches!(shape, ReasoningShape::AnthropicThinking { .. }) {
                inference.max_tokens = Some(n);
            }
            n
        }
    };
    match (shape, shape.request_fields(effort, max_tokens)) {
        (_, Some(Value::Object(fields))) => additional.extend(fields),
        (ReasoningShape::AnthropicThinking { min_budget_tokens }, _) => {
            return Err(RouterError::invalid(
                "max_completion_tokens",
                format!(
                    "reasoning needs a thinking budget of at least {min_budget_tokens} tokens below the output limit; send max_completion_tokens above {min_budget_tokens}"
                ),
            ));
        }
        // Always-on reasoning has no switch to send.
        _ => {}
    }
    Ok(true)
}

fn valid_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn valid_tool_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
}

fn parse_tools(
    body: &Map<String, Value>,
    target: &Target,
    has_tool_blocks: bool,
) -> Result<Option<ToolConfig>, RouterError> {
    // The list's length and the model's tool use are judged before the entries are read: a
    // model without tool use says so whatever the definitions hold.
    let Some(List(entries)) = field::<List<IgnoredAny>>(body, "tools")? else {
        if field::<IgnoredAny>(body, "tool_choice")?.is_some() {
            return Err(RouterError::invalid(
                "tool_choice",
                "`tool_choice` needs `tools`: send the tool definitions too",
            ));
        }
        return Ok(None);
    };
    if entries.is_empty() {
        return Err(RouterError::invalid(
            "tools",
            "`tools` must not be empty; omit it instead",
        ));
    }
    if entries.len() > MAX_TOOLS {
        return Err(RouterError::invalid(
            "tools",
            format!(
                "`tools` holds {} tools; at most {MAX_TOOLS} are accepted",
                entries.len()
            ),
        ));
    }
    if !target.caps.tool_use {
        return Err(unsupported(
            target,
            "tool use",
            "tools",
            "omit `tools` or pick a model with tool use from GET /v1/models",
        ));
    }
    let List(definitions) =
        field::<List<Object<ToolDefinition>>>(body, "tools")?.unwrap_or(List(Vec::new()));
    let mut tools = Vec::with_capacity(definitions.len());
    let mut names: Vec<Cow<'_, str>> = Vec::with_capacity(definitions.len());
    for (i, Object(definition)) in definitions.into_iter().enumerate() {
        let param = format!("tools[{i}]");
        match definition.kind.as_ref().map(|Text(kind)| kind.as_ref()) {
            Some("function") => {}
            other => {
                return Err(RouterError::invalid(
                    format!("{param}.type"),
                    format!(
                        "`{param}.type` must be `function`, got `{}`",
                        other.unwrap_or("(missing)")
                    ),
                ));
            }
        }
        let Some(Object(function)) = definition.function else {
            return Err(required(&format!("{param}.function"), ""));
        };
        let name_param = format!("{param}.function.name");
        let Some(Text(name)) = function.name else {
            return Err(required(&name_param, ""));
        };
        if !valid_tool_name(&name) {
            return Err(RouterError::invalid(
                name_param,
                format!("tool name `{name}` must be 1 to 64 letters, digits, `_` or `-`"),
            ));
        }
        if names.contains(&name) {
            return Err(RouterError::invalid(
                name_param,
                format!("tool name `{name}` is defined twice"),
            ));
        }
        let schema = match function.parameters {
            None => json!({"type": "object", "properties": {}}),
            Some(Object(parameters)) => Value::Object(parameters),
        };
        tools.push(Tool::ToolSpec(ToolSpec {
            name: name.clone().into_owned(),
            description: function.description.map(|Text(d)| d.into_owned()),
            input_schema: InputSchema { json: schema },
        }));
        names.push(name);
    }
    let tool_choice = match field(body, "tool_choice")? {
        None => None,
        Some(request::ToolChoice::Text(mode)) => match mode.as_ref() {
            "auto" => Some(ToolChoice::Auto(Empty {})),
            "required" => Some(ToolChoice::Any(Empty {})),
            "none" => {
                // Converse has no "none": with no tool history the tools are simply not offered;
                // with tool history Bedrock needs the definitions, so the model may still choose.
                if has_tool_blocks {
                    Some(ToolChoice::Auto(Empty {}))
                } else {
                    return Ok(None);
                }
            }
            other => {
                return Err(RouterError::invalid(
                    "tool_choice",
                    format!(
                        "`tool_choice` must be \"auto\", \"required\", \"none\" or {{\"type\":\"function\",\"function\":{{\"name\":...}}}}; got \"{other}\""
                    ),
                ));
            }
        },
        Some(request::ToolChoice::Object(choice)) => {
            let name = choice.name().ok_or_else(|| {
                RouterError::invalid(
                    "tool_choice",
                    "`tool_choice.function.name` is required when `tool_choice` is an object",
                )
            })?;
            if !names.contains(&name) {
                return Err(RouterError::invalid(
                    "tool_choice",
                    format!("`tool_choice` names tool `{name}`, which is not in `tools`"),
                ));
            }
            Some(ToolChoice::Tool(NamedTool {
                name: name.into_owned(),
            }))
        }
    };
    Ok(Some(ToolConfig { tools, tool_choice }))
}

fn parse_response_format(
    body: &Map<String, Value>,
    target: &Target,
) -> Result<Option<OutputConfig>, RouterError> {
    // The kind is read first: the other fields count only for the kind that has them.
    let Some(Object(ResponseFormatKind { kind })) = field(body, "response_format")? else {
        return Ok(None);
    };
    let (schema, name, description) = match kind.as_ref().map(|Text(kind)| kind.as_ref()) {
        Some("text") => return Ok(None),
        Some("json_object") => (json!({"type": "object"}), None, None),
        Some("json_schema") => {
            let spec = field::<Object<JsonSchemaFormat>>(body, "response_format")?
                .and_then(|Object(format)| format.json_schema);
            let Some(Object(JsonSchemaSpec {
                schema,
                name,
                description,
            })) = spec
            else {
                return Err(required(
                    "response_format.json_schema",
                    " when type is json_schema",
                ));
            };
            let Some(Object(schema)) = schema else {
                return Err(required("response_format.json_schema.schema", ""));
            };
            (
                Value::Object(schema),
                name.map(|Text(n)| n.into_owned()),
                description.map(|Text(d)| d.into_owned()),
            )
        }
        other => {
            return Err(RouterError::invalid(
                "response_format.type",
                format!(
                    "`response_format.type` must be text, json_object or json_schema; got {other:?}"
                ),
            ));
        }
    };
    if !target.caps.json_schema_output {
        return Err(unsupported(
            target,
            "structured JSON output (`response_format`)",
            "response_format",
            "omit `response_format` (ask for JSON in the prompt instead) or pick a model that supports it",
        ));
    }
    Ok(Some(OutputConfig {
        text_format: Some(TextFormat {
            kind: "json_schema".into(),
            structure: TextFormatStructure {
                json_schema: JsonSchemaDefinition {
                    schema: schema.to_string(),
                    name,
                    description,
                },
            },
        }),
    }))
}

/// Builds Converse's alternating messages from OpenAI's flat list.
struct Conversation<'a> {
    target: &'a Target,
    system: Vec<SystemBlock>,
    messages: Vec<Message>,
    images: usize,
    documents: usize,
    has_tool_blocks: bool,
}

impl<'a> Conversation<'a> {
    fn new(target: &'a Target) -> Self {
        Self {
            target,
            system: Vec::new(),
            messages: Vec::new(),
            images: 0,
            documents: 0,
            has_tool_blocks: false,
        }
    }

    fn append(&mut self, role: Role, blocks: Vec<ContentBlock>) {
        match self.messages.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => self.messages.push(Message {
                role,
                content: blocks,
            }),
        }
    }

    fn push(&mut self, i: usize, turn: Turn<'_>) -> Result<(), RouterError> {
        let param = format!("messages[{i}]");
        let role_param = format!("{param}.role");
        let Some(Text(role)) = turn.role else {
            return Err(required(&role_param, ""));
        };
        let content_param = format!("{param}.content");
        let content = turn.content;
        let required_content =
            |role: &str| required(&content_param, &format!(" for a {role} message"));
        match role.as_ref() {
            "system" | "developer" => {
                let content = content.ok_or_else(|| required_content(&role))?;
                let blocks = self.parse_content(&content_param, content, PartsAllowed::TextOnly)?;
                // Text-only parsing yields text and cache points, the two system block kinds.
                self.system
                    .extend(blocks.into_iter().filter_map(|block| match block {
                        ContentBlock::Text(t) => Some(SystemBlock::Text(t)),
                        ContentBlock::CachePoint(c) => Some(SystemBlock::CachePoint(c)),
                        _ => None,
                    }));
            }
            "user" => {
                let content = content.ok_or_else(|| required_content("user"))?;
                let blocks = self.parse_content(&content_param, content, PartsAllowed::User)?;
                self.append(Role::User, blocks);
            }
            "assistant" => {
                let mut blocks = match content {
                    None => Vec::new(),
                    Some(Content::Text(s)) if s.is_empty() => Vec::new(),
                    Some(c) => self.parse_content(&content_param, c, PartsAllowed::Assistant)?,
                };
                if let Some(List(calls)) = turn.tool_calls {
                    blocks.extend(self.parse_tool_calls(&format!("{param}.tool_calls"), calls)?);
                }
                if blocks.is_empty() {
                    return Err(RouterError::invalid(
                        content_param,
                        format!(
                            "`{param}` has neither content nor tool_calls; an assistant message needs one of them"
                        ),
                    ));
                }
                self.append(Role::Assistant, blocks);
            }
            "tool" => {
                let id_param = format!("{param}.tool_call_id");
                let Some(Text(id)) = turn.tool_call_id else {
                    return Err(required(&id_param, " for a tool message"));
                };
                if !valid_tool_id(&id) {
                    return Err(RouterError::invalid(
                        id_param,
                        format!(
                            "tool_call_id `{id}` must be 1 to 64 letters, digits, `_`, `.`, `:` or `-`"
                        ),
                    ));
                }
                let content = content.ok_or_else(|| required_content("tool"))?;
                let texts = self.parse_content(&content_param, content, PartsAllowed::TextOnly)?;
                let content = texts
                    .into_iter()
                    .filter_map(|b| match b {
                        ContentBlock::Text(t) => Some(ToolResultContent::Text(t)),
                        _ => None,
                    })
                    .collect();
                self.has_tool_blocks = true;
                self.append(
                    Role::User,
                    vec![ContentBlock::ToolResult(ToolResultBlock {
                        tool_use_id: id.into_owned(),
                        content,
                        status: None,
                    })],
                );
            }
            "function" => {
                return Err(RouterError::invalid(
                    role_param,
                    "role `function` is the deprecated function-calling API; send a `tool` message with `tool_call_id` instead",
                ));
            }
            other => {
                return Err(RouterError::invalid(
                    role_param,
                    format!(
                        "role `{other}` is not one of system, developer, user, assistant, tool"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn parse_tool_calls(
        &mut self,
        param: &str,
        calls: Vec<Object<ToolCall<'_>>>,
    ) -> Result<Vec<ContentBlock>, RouterError> {
        let mut out = Vec::with_capacity(calls.len());
        for (j, Object(call)) in calls.into_iter().enumerate() {
            let p = format!("{param}[{j}]");
            let id = call.id.map_or(Cow::Borrowed(""), |Text(id)| id);
            if !valid_tool_id(&id) {
                return Err(RouterError::invalid(
                    format!("{p}.id"),
                    format!(
                        "tool call id `{id}` must be 1 to 64 letters, digits, `_`, `.`, `:` or `-`"
                    ),
                ));
            }
            let Some(Object(function)) = call.function else {
                return Err(required(&format!("{p}.function"), ""));
            };
            let name = function.name.map_or(Cow::Borrowed(""), |Text(name)| name);
            if !valid_tool_name(&name) {
                return Err(RouterError::invalid(
                    format!("{p}.function.name"),
                    format!("tool name `{name}` must be 1 to 64 letters, digits, `_` or `-`"),
                ));
            }
            let args_param = format!("{p}.function.arguments");
            let args = function
                .arguments
                .map_or(Cow::Borrowed(""), |Text(args)| args);
            let input = if args.trim().is_empty() {
                json!({})
            } else {
                let parsed: Value = serde_json::from_str(&args).map_err(|e| {
                    RouterError::invalid(
                        &args_param,
                        format!("`{args_param}` must be a JSON object encoded as a string: {e}"),
                    )
                })?;
                if !parsed.is_object() {
                    return Err(RouterError::invalid(
                        &args_param,
                        format!(
                            "`{args_param}` must encode a JSON object, got {}",
                            type_name(&parsed)
                        ),
                    ));
                }
                parsed
            };
            self.has_tool_blocks = true;
            out.push(ContentBlock::ToolUse(ToolUseBlock {
                tool_use_id: id.into_owned(),
                name: name.into_owned(),
                input,
            }));
        }
        Ok(out)
    }

    fn parse_content(
        &mut self,
        param: &str,
        content: Content<'_>,
        allowed: PartsAllowed,
    ) -> Result<Vec<ContentBlock>, RouterError> {
        let parts = match content {
            Content::Text(s) => {
                if s.trim().is_empty() {
                    return Err(RouterError::invalid(
                        param,
                        format!("`{param}` must not be empty or blank"),
                    ));
                }
                return Ok(vec![ContentBlock::Text(s.into_owned())]);
            }
            Content::List(parts) => parts,
        };
        if parts.is_empty() {
            return Err(RouterError::invalid(
                param,
                format!("`{param}` must hold at least one content part"),
            ));
        }
        let mut blocks = Vec::with_capacity(parts.len());
        for (k, Object(part)) in parts.into_iter().enumerate() {
            let p = format!("{param}[{k}]");
            let Part {
                kind,
                text,
                refusal,
                image_url,
                file,
                cache_control,
            } = part;
            let Some(Text(kind)) = kind else {
                return Err(required(&format!("{p}.type"), ""));
            };
            match (kind.as_ref(), allowed) {
                ("text", _) => blocks.push(text_part(&format!("{p}.text"), text)?),
                ("refusal", PartsAllowed::Assistant) => {
                    blocks.push(text_part(&format!("{p}.refusal"), refusal)?);
                }
                ("image_url", PartsAllowed::User) => blocks.push(self.image_part(&p, image_url)?),
                ("file", PartsAllowed::User) => blocks.push(self.file_part(&p, file)?),
                ("input_audio", PartsAllowed::User) => {
                    return Err(unsupported(
                        self.target,
                        "audio input",
                        &p,
                        "send text, images or documents",
                    ));
                }
                (other, _) => {
                    return Err(RouterError::invalid(
                        format!("{p}.type"),
                        format!(
                            "content part type `{other}` is not allowed here; {}",
                            allowed.hint()
                        ),
                    ));
                }
            }
            if cache_control.is_some() {
                if self.target.caps.prompt_caching.is_none() {
                    return Err(unsupported(
                        self.target,
                        "prompt caching",
                        &format!("{p}.cache_control"),
                        "omit `cache_control`",
                    ));
                }
                blocks.push(ContentBlock::CachePoint(CachePoint::default_point()));
            }
        }
        Ok(blocks)
    }

    fn image_part(
        &mut self,
        p: &str,
        image_url: Option<ImageUrl<'_>>,
    ) -> Result<ContentBlock, RouterError> {
        if !self.target.caps.image_input {
            return Err(unsupported(
                self.target,
                "image input",
                p,
                "send text only or pick a model with image input from GET /v1/models",
            ));
        }
        let url_param = format!("{p}.image_url.url");
        let url = match image_url {
            Some(ImageUrl::Object(ImageUrlObject { url })) => url.map(|Text(url)| url),
            Some(ImageUrl::Text(url)) => Some(url),
            None => None,
        }
        .ok_or_else(|| required(&url_param, ""))?;
        let lower = url.get(..8).unwrap_or(&url).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Err(RouterError::invalid(
                url_param,
                "image URLs are not fetched by this router; send the image inline as a data URL (data:image/png;base64,...)",
            ));
        }
        let (mime, bytes, len) = parse_data_url(&url_param, &url)?;
        let format = match mime.as_str() {
            "image/png" => "png",
            "image/jpeg" | "image/jpg" => "jpeg",
            "image/gif" => "gif",
            "image/webp" => "webp",
            other => {
                return Err(RouterError::invalid(
                    url_param,
                    format!(
                        "image type `{other}` is not supported; send image/png, image/jpeg, image/gif or image/webp"
                    ),
                ));
            }
        };
        if len > MAX_IMAGE_BYTES {
            return Err(RouterError::invalid(
                url_param,
                format!(
                    "image is {len} bytes; Bedrock accepts at most {MAX_IMAGE_BYTES} bytes per image"
                ),
            ));
        }
        self.images += 1;
        if self.images > MAX_IMAGES {
            return Err(RouterError::invalid(
                url_param,
                format!("at most {MAX_IMAGES} images are accepted per request"),
            ));
        }
        Ok(ContentBlock::Image(ImageBlock {
            format: format.to_owned(),
            source: BytesSource { bytes },
        }))
    }

    fn file_part(
        &mut self,
        p: &str,
        file: Option<Object<FilePart<'_>>>,
    ) -> Result<ContentBlock, RouterError> {
        if !self.target.caps.document_input {
            return Err(unsupported(
                self.target,
                "document input",
                p,
                "send text only or pick a model with document input from GET /v1/models",
            ));
        }
        let Some(Object(file)) = file else {
            return Err(required(&format!("{p}.file"), ""));
        };
        if file.file_id.is_some() {
            return Err(RouterError::invalid(
                format!("{p}.file.file_id"),
                "uploaded file IDs are not supported; send the document inline in `file_data` as a data URL",
            ));
        }
        let data_param = format!("{p}.file.file_data");
        let Some(Text(data)) = file.file_data else {
            return Err(required(&data_param, ""));
        };
        let (mime, bytes, len) = parse_data_url(&data_param, &data)?;
        let format = match mime.as_str() {
            "application/pdf" => "pdf",
            "text/csv" => "csv",
            "application/msword" => "doc",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
            "application/vnd.ms-excel" => "xls",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
            "text/html" => "html",
            "text/plain" => "txt",
            "text/markdown" => "md",
            other => {
                return Err(RouterError::invalid(
                    data_param,
                    format!(
                        "document type `{other}` is not supported; send pdf, csv, doc, docx, xls, xlsx, html, txt or md"
                    ),
                ));
            }
        };
        if len > MAX_DOCUMENT_BYTES {
            return Err(RouterError::invalid(
                data_param,
                format!(
                    "document is {len} bytes; Bedrock accepts at most {MAX_DOCUMENT_BYTES} bytes per document"
                ),
            ));
        }
        self.documents += 1;
        if self.documents > MAX_DOCUMENTS {
            return Err(RouterError::invalid(
                data_param,
                format!("at most {MAX_DOCUMENTS} documents are accepted per request"),
            ));
        }
        let filename = match &file.filename {
            Some(Loose::Text(name)) => name.as_ref(),
            _ => "",
        };
        Ok(ContentBlock::Document(DocumentBlock {
            format: format.to_owned(),
            name: document_name(filename, self.documents),
            source: BytesSource { bytes },
        }))
    }

    fn finish(self) -> Result<(Vec<SystemBlock>, Vec<Message>, bool), RouterError> {
        if self.messages.is_empty() {
            return Err(RouterError::invalid(
                "messages",
                "`messages` holds only system or developer messages; add at least one user message",
            ));
        }
        Ok((self.system, self.messages, self.has_tool_blocks))
    }
}

/// A `text` or `refusal` part's words.
fn text_part(param: &str, text: Option<Text<'_>>) -> Result<ContentBlock, RouterError> {
    let Some(Text(text)) = text else {
        return Err(required(param, ""));
    };
    if text.trim().is_empty() {
        return Err(RouterError::invalid(
            param,
            format!("`{param}` must not be empty or blank"),
        ));
    }
    Ok(ContentBlock::Text(text.into_owned()))
}

#[derive(Debug, Clone, Copy)]
enum PartsAllowed {
    TextOnly,
    User,
    Assistant,
}

impl PartsAllowed {
    fn hint(self) -> &'static str {
        match self {
            Self::TextOnly => {
                "only `text` parts are allowed in system, developer and tool messages"
            }
            Self::User => "user messages take `text`, `image_url` and `file` parts",
            Self::Assistant => "assistant messages take `text` and `refusal` parts",
        }
    }
}

/// Document names allow letters, digits, single spaces, hyphens, parentheses and brackets.
fn document_name(filename: &str, n: usize) -> String {
    let stem = filename.rsplit_once('.').map_or(filename, |(s, _)| s);
    let mut out = String::new();
    for c in stem.chars() {
        let c = if c.is_ascii_alphanumeric() || "-()[]".contains(c) {
            c
        } else {
            ' '
        };
        if !(c == ' ' && (out.is_empty() || out.ends_with(' '))) {
            out.push(c);
        }
        if out.len() >= 200 {
            break;
        }
    }
    let out = out.trim_end().to_owned();
    if out.is_empty() {
        format!("document-{n}")
    } else {
        out
    }
}

/// Splits `data:<mime>;base64,<payload>`, checks the base64, and returns (mime, base64, decoded length).
fn parse_data_url(param: &str, url: &str) -> Result<(String, String, usize), RouterError> {
    let rest = url.strip_prefix("data:").ok_or_else(|| {
        RouterError::invalid(param, "expected a data URL like data:image/png;base64,iVBOR...; other URL schemes are not accepted")
    })?;
    let (meta, payload) = rest.split_once(',').ok_or_else(|| {
        RouterError::invalid(
            param,
            "data URL has no `,` separating the media type from the data",
        )
    })?;
    let mime = meta.strip_suffix(";base64").ok_or_else(|| {
        RouterError::invalid(
            param,
            "data URL must be base64-encoded (data:<type>;base64,<data>)",
        )
    })?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|e| {
            RouterError::invalid(param, format!("data URL payload is not valid base64: {e}"))
        })?;
    if decoded.is_empty() {
        return Err(RouterError::invalid(param, "data URL payload is empty"));
    }
    Ok((mime.to_ascii_lowercase(), payload.to_owned(), decoded.len()))
}

#[cfg(test)]
pub(crate) mod tests_support {
    use shared::catalog::{ReasoningShape, SamplingRule};

    use crate::caps::Caps;

    /// A model that can do everything the router shapes for.
    pub fn full_caps() -> Caps {
        Caps {
            family: "claude-test".into(),
            streaming: true,
            tool_use: true,
            image_input: true,
            document_input: true,
            reasoning: Some(ReasoningShape::AnthropicThinking {
                min_budget_tokens: 1024,
            }),
            prompt_caching: shared::catalog::capabilities_for(
                "anthropic.claude-sonnet-4-5-20250929-v1:0",
            )
            .prompt_caching,
            sampling: SamplingRule::TemperatureOrTopP,
            max_output_tokens: 64000,
            json_schema_output: true,
            on_demand: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::full_caps;
    use super::*;
    use crate::caps::Caps;
    use crate::converse::{
        BlockStart, ConverseResponse, Delta, StreamEvent, Usage, metadata_value,
    };
    use crate::converse::{
        ContentBlockDelta, ContentBlockStart, ConverseOutput, MessageStart, MessageStop, Metrics,
        StreamMetadata, ToolUseDelta, ToolUseStart,
    };

    fn target(caps: Caps) -> Target {
        Target {
            friendly_id: "claude".into(),
            call_id:
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12"
                    .into(),
            region: "us-east-1".into(),
            is_profile: true,
            caps,
            sites: Vec::new(),
            model_id: None,
        }
    }

    fn translate(body: Value, caps: Caps) -> Result<ConverseRequest, RouterError> {
        let chat = parse_chat_request(body)?;
        to_converse(&chat, &target(caps))
    }

    fn message_of(err: RouterError) -> String {
        err.to_string()
    }

    const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

    #[test]
    fn a_full_conversation_becomes_alternating_converse_messages() {
        let req = translate(
            json!({
                "model": "claude",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "developer", "content": [{"type": "text", "text": "use tools"}]},
                    {"role": "user", "content": [{"type": "text", "text": "what is in this?"}, {"type": "image_url", "image_url": {"url": PNG}}]},
                    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{\"x\":1}"}}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
                    {"role": "user", "content": "thanks"}
                ],
                "tools": [{"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}}],
                "tool_choice": "required",
                "max_completion_tokens": 100,
                "temperature": 0.2,
                "stop": "END"
            }),
            full_caps(),
        )
        .unwrap();
        assert_eq!(
            req.system,
            vec![
                SystemBlock::Text("be brief".into()),
                SystemBlock::Text("use tools".into())
            ]
        );
        assert_eq!(req.messages.len(), 3);
        assert_eq!(req.messages[0].role, Role::User);
        assert!(matches!(&req.messages[0].content[1], ContentBlock::Image(i) if i.format == "png"));
        assert!(
            matches!(&req.messages[1].content[0], ContentBlock::ToolUse(t) if t.input == json!({"x": 1}))
        );
        // The tool result and the next user turn merge into one user message.
        assert_eq!(req.messages[2].content.len(), 2);
        let inference = req.inference_config.unwrap();
        assert_eq!(inference.max_tokens, Some(100));
        assert_eq!(inference.stop_sequences, vec!["END".to_owned()]);
        assert_eq!(
            req.tool_config.unwrap().tool_choice,
            Some(ToolChoice::Any(Empty {}))
        );
        assert_eq!(req.request_metadata["model"], "claude");
    }

    #[test]
    fn an_http_image_url_is_refused_without_fetching() {
        let err = translate(
            json!({"model": "claude", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}),
            full_caps(),
        )
        .unwrap_err();
        assert!(message_of(err).contains("not fetched"));
    }

    #[test]
    fn images_are_refused_for_a_text_only_model() {
        let err = translate(
            json!({"model": "claude", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG}}]}]}),
            Caps::conservative(),
        )
        .unwrap_err();
        assert!(matches!(err, RouterError::Unsupported { .. }), "{err}");
    }

    #[test]
    fn temperature_and_top_p_together_are_refused_where_the_model_forbids_it() {
        let body = json!({"model": "claude", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5, "top_p": 0.9});
        assert!(translate(body.clone(), full_caps()).is_err());
        assert!(
            translate(
                body,
                Caps {
                    sampling: shared::catalog::SamplingRule::Independent,
                    ..full_caps()
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn reasoning_effort_becomes_an_anthropic_thinking_budget() {
        let req = translate(
            json!({"model": "claude", "messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "low"}),
            full_caps(),
        )
        .unwrap();
        assert_eq!(
            req.additional_model_request_fields,
            Some(json!({"thinking": {"type": "enabled", "budget_tokens": 1024}}))
        );
        assert_eq!(req.inference_config.unwrap().max_tokens, Some(8192));
    }

    #[test]
    fn reasoning_effort_on_a_model_without_reasoning_is_a_clear_400() {
        let err = translate(
            json!({"model": "claude", "messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "high"}),
            Caps::conservative(),
        )
        .unwrap_err();
        assert!(message_of(err).contains("does not support reasoning"));
    }

    #[test]
    fn max_tokens_above_the_models_limit_is_refused() {
        let err = translate(
            json!({"model": "claude", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100000}),
            full_caps(),
        )
        .unwrap_err();
        assert!(message_of(err).contains("at most 64000 output tokens"));
    }

    #[test]
    fn response_format_json_schema_becomes_output_config() {
        let req = translate(
            json!({"model": "claude", "messages": [{"role": "user", "content": "hi"}],
                   "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}}),
            full_caps(),
        )
        .unwrap();
        let tf = req.output_config.unwrap().text_format.unwrap();
        assert_eq!(tf.structure.json_schema.schema, "{\"type\":\"object\"}");
        let err = translate(
            json!({"model": "claude", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}}),
            Caps::conservative(),
        )
        .unwrap_err();
        assert!(matches!(err, RouterError::Unsupported { .. }));
    }

    #[test]
    fn cache_control_adds_a_cache_point_after_the_part() {
        let req = translate(
            json!({"model": "claude", "messages": [
                {"role": "system", "content": [{"type": "text", "text": "long rules", "cache_control": {"type": "ephemeral"}}]},
                {"role": "user", "content": "hi"}]}),
            full_caps(),
        )
        .unwrap();
        assert_eq!(
            req.system[1],
            SystemBlock::CachePoint(CachePoint::default_point())
        );
    }

    #[test]
    fn request_metadata_values_are_kept_within_bedrocks_pattern() {
        assert_eq!(metadata_value("claude-sonnet:v1"), "claude-sonnet:v1");
        assert_eq!(metadata_value("a\"b{c}"), "a_b_c_");
    }

    #[test]
    fn a_converse_response_becomes_a_chat_completion_with_the_friendly_model() {
        let resp = ConverseResponse {
            output: ConverseOutput {
                message: Message {
                    role: Role::Assistant,
                    content: vec![ContentBlock::ToolUse(ToolUseBlock {
                        tool_use_id: "t1".into(),
                        name: "look".into(),
                        input: json!({"x": 1}),
                    })],
                },
            },
            stop_reason: "tool_use".into(),
            usage: Usage {
                input_tokens: 5,
                output_tokens: 7,
                total_tokens: 12,
                ..Usage::default()
            },
            metrics: Metrics { latency_ms: 3 },
            additional_model_response_fields: None,
        };
        let out = from_converse(&resp, "claude", "chatcmpl-1", 1);
        assert_eq!(out["model"], "claude");
        assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(out["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(
            out["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            "{\"x\":1}"
        );
        assert_eq!(out["usage"]["total_tokens"], 12);
    }

    #[test]
    fn stream_events_become_chunks_with_tool_call_indexes() {
        let mut t = ChunkTranslator::new("c".into(), 1, "claude".into(), true);
        let role = t.on_event(&StreamEvent::MessageStart(MessageStart {
            role: Role::Assistant,
        }));
        assert_eq!(role[0]["choices"][0]["delta"]["role"], "assistant");
        let start = t.on_event(&StreamEvent::ContentBlockStart(ContentBlockStart {
            start: BlockStart::ToolUse(ToolUseStart {
                tool_use_id: "t1".into(),
                name: "look".into(),
            }),
            content_block_index: 1,
        }));
        assert_eq!(start[0]["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
        let delta = t.on_event(&StreamEvent::ContentBlockDelta(ContentBlockDelta {
            delta: Delta::ToolUse(ToolUseDelta {
                input: "{\"x\"".into(),
            }),
            content_block_index: 1,
        }));
        assert_eq!(
            delta[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
            "{\"x\""
        );
        let stop = t.on_event(&StreamEvent::MessageStop(MessageStop {
            stop_reason: "tool_use".into(),
            additional_model_response_fields: None,
        }));
        assert_eq!(stop[0]["choices"][0]["finish_reason"], "tool_calls");
        let usage = t.on_event(&StreamEvent::Metadata(StreamMetadata {
            usage: Usage {
                input_tokens: 1,
                output_tokens: 2,
                total_tokens: 3,
                ..Usage::default()
            },
            metrics: Metrics { latency_ms: 1 },
        }));
        assert_eq!(usage[0]["usage"]["completion_tokens"], 2);
        assert_eq!(usage[0]["choices"], json!([]));
    }

    #[test]
    fn usage_chunk_is_omitted_unless_asked_for() {
        let mut t = ChunkTranslator::new("c".into(), 1, "claude".into(), false);
        let chunks = t.on_event(&StreamEvent::Metadata(StreamMetadata {
            usage: Usage::default(),
            metrics: Metrics::default(),
        }));
        assert!(chunks.is_empty());
    }

    #[test]
    fn document_names_are_reduced_to_what_bedrock_accepts() {
        assert_eq!(document_name("Q3 report_final!.pdf", 1), "Q3 report final");
        assert_eq!(document_name("", 2), "document-2");
    }
}
