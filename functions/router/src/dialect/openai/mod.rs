//! OpenAI chat-completions ⇄ Converse. This file parses a request and shapes its Converse
//! body; [`answer`] shapes the answers and [`route`] serves the routes.
//!
//! Parsing is field by field so each refusal names the parameter at fault (`messages[2].content`),
//! and shaping is decided by the target's capabilities: a feature the model cannot take is a 400
//! that says so, never a silent drop.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use shared::catalog::{Effort, ReasoningShape};
use shared::json::type_name;

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

fn wrong_type(param: &str, expected: &str, got: &Value) -> RouterError {
    RouterError::invalid(
        param,
        format!("`{param}` must be {expected}, got {}", type_name(got)),
    )
}

fn as_str<'a>(param: &str, v: &'a Value) -> Result<&'a str, RouterError> {
    v.as_str().ok_or_else(|| wrong_type(param, "a string", v))
}

fn as_bool(param: &str, v: &Value) -> Result<bool, RouterError> {
    v.as_bool().ok_or_else(|| wrong_type(param, "a boolean", v))
}

fn as_object<'a>(param: &str, v: &'a Value) -> Result<&'a Map<String, Value>, RouterError> {
    v.as_object()
        .ok_or_else(|| wrong_type(param, "an object", v))
}

fn as_array<'a>(param: &str, v: &'a Value) -> Result<&'a Vec<Value>, RouterError> {
    v.as_array().ok_or_else(|| wrong_type(param, "an array", v))
}

fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// First pass: the fields needed to route (model, stream), with type checks on every known key.
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
    let model = match get(&body, "model") {
        None => {
            return Err(RouterError::invalid(
                "model",
                "`model` is required: send one of the IDs listed by GET /v1/models",
            ));
        }
        Some(v) => as_str("model", v)?,
    };
    if model.is_empty() {
        return Err(RouterError::invalid(
            "model",
            "`model` must not be empty: send one of the IDs listed by GET /v1/models",
        ));
    }
    let stream = match get(&body, "stream") {
        None => false,
        Some(v) => as_bool("stream", v)?,
    };
    let include_usage = match get(&body, "stream_options") {
        None => false,
        Some(v) => {
            let opts = as_object("stream_options", v)?;
            if !stream {
                return Err(RouterError::invalid(
                    "stream_options",
                    "`stream_options` is only allowed when `stream` is true",
                ));
            }
            match get(opts, "include_usage") {
                None => false,
                Some(v) => as_bool("stream_options.include_usage", v)?,
            }
        }
    };
    Ok(ChatRequest {
        model: model.to_owned(),
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

fn number_in(param: &str, v: &Value, lo: f64, hi: f64) -> Result<f32, RouterError> {
    let n = v.as_f64().ok_or_else(|| wrong_type(param, "a number", v))?;
    if !(lo..=hi).contains(&n) {
        return Err(RouterError::invalid(
            param,
            format!("`{param}` must be between {lo} and {hi} for Bedrock models, got {n}"),
        ));
    }
    Ok(n as f32)
}

fn positive_int(param: &str, v: &Value) -> Result<u32, RouterError> {
    match v.as_u64() {
        Some(n) if n >= 1 => u32::try_from(n)
            .map_err(|_| RouterError::invalid(param, format!("`{param}` is too large ({n})"))),
        _ => Err(RouterError::invalid(
            param,
            format!("`{param}` must be a positive integer"),
        )),
    }
}

/// Rejects parameters Bedrock cannot honour, when the caller set them to a non-default value.
fn refuse_unsupported_knobs(chat: &ChatRequest, target: &Target) -> Result<(), RouterError> {
    let body = &chat.body;
    if let Some(n) = get(body, "n")
        && n.as_u64() != Some(1)
    {
        return Err(unsupported(
            target,
            "more than one choice (`n`)",
            "n",
            "send n=1 or omit it, and make separate requests for more completions",
        ));
    }
    if let Some(v) = get(body, "logprobs")
        && v != &Value::Bool(false)
    {
        return Err(unsupported(
            target,
            "log probabilities",
            "logprobs",
            "omit `logprobs`",
        ));
    }
    if get(body, "top_logprobs").is_some() {
        return Err(unsupported(
            target,
            "log probabilities",
            "top_logprobs",
            "omit `top_logprobs`",
        ));
    }
    if let Some(v) = get(body, "logit_bias")
        && v.as_object().is_none_or(|m| !m.is_empty())
    {
        return Err(unsupported(
            target,
            "logit bias",
            "logit_bias",
            "omit `logit_bias`",
        ));
    }
    for key in ["frequency_penalty", "presence_penalty"] {
        if let Some(v) = get(body, key)
            && v.as_f64() != Some(0.0)
        {
            return Err(unsupported(target, key, key, "omit it or send 0"));
        }
    }
    if get(body, "audio").is_some() {
        return Err(unsupported(target, "audio output", "audio", "omit `audio`"));
    }
    if let Some(v) = get(body, "modalities") {
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
    for key in ["prediction", "web_search_options"] {
        if get(body, key).is_some() {
            return Err(unsupported(target, key, key, "omit it"));
        }
    }
    for key in ["functions", "function_call"] {
        if get(body, key).is_some() {
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
    refuse_unsupported_knobs(chat, target)?;
    if chat.stream && !caps.streaming {
        return Err(unsupported(
            target,
            "streaming",
            "stream",
            "send stream=false",
        ));
    }
    let body = &chat.body;
    let messages_value = get(body, "messages").ok_or_else(|| {
        RouterError::invalid(
            "messages",
            "`messages` is required and must hold at least one message",
        )
    })?;
    let raw_messages = as_array("messages", messages_value)?;
    if raw_messages.is_empty() {
        return Err(RouterError::invalid(
            "messages",
            "`messages` must hold at least one message",
        ));
    }
    if raw_messages.len() > MAX_MESSAGES {
        return Err(RouterError::invalid(
            "messages",
            format!(
                "`messages` holds {} messages; at most {MAX_MESSAGES} are accepted",
                raw_messages.len()
            ),
        ));
    }

    let mut conv = Conversation::new(target);
    for (i, m) in raw_messages.iter().enumerate() {
        conv.push(i, m)?;
    }
    let (system, messages, has_tool_blocks) = conv.finish()?;

    let mut inference = InferenceConfig::default();
    let max_tokens = match (get(body, "max_completion_tokens"), get(body, "max_tokens")) {
        (Some(v), _) => Some((
            "max_completion_tokens",
            positive_int("max_completion_tokens", v)?,
        )),
        (None, Some(v)) => Some(("max_tokens", positive_int("max_tokens", v)?)),
        (None, None) => None,
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
    if let Some(v) = get(body, "temperature") {
        inference.temperature = Some(number_in("temperature", v, 0.0, 1.0)?);
    }
    if let Some(v) = get(body, "top_p") {
        inference.top_p = Some(number_in("top_p", v, 0.0, 1.0)?);
    }
    if let Some(v) = get(body, "stop") {
        inference.stop_sequences = parse_stop(v)?;
    }

    let mut additional = Map::new();
    let mut reasoning = false;
    if let Some(v) = get(body, "reasoning_effort") {
        let effort = as_str("reasoning_effort", v)?;
        reasoning = apply_reasoning(effort, target, &mut inference, &mut additional)?;
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

fn parse_stop(v: &Value) -> Result<Vec<String>, RouterError> {
    let list: Vec<&Value> = match v {
        Value::String(_) => vec![v],
        Value::Array(items) => items.iter().collect(),
        other => return Err(wrong_type("stop", "a string or an array of strings", other)),
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
            let s = as_str(&param, s)?;
            if s.is_empty() {
                return Err(RouterError::invalid(
                    param,
                    "stop sequences must not be empty",
                ));
            }
            Ok(s.to_owned())
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
    let Some(tools_value) = get(body, "tools") else {
        if get(body, "tool_choice").is_some() {
            return Err(RouterError::invalid(
                "tool_choice",
                "`tool_choice` needs `tools`: send the tool definitions too",
            ));
        }
        return Ok(None);
    };
    let raw = as_array("tools", tools_value)?;
    if raw.is_empty() {
        return Err(RouterError::invalid(
            "tools",
            "`tools` must not be empty; omit it instead",
        ));
    }
    if raw.len() > MAX_TOOLS {
        return Err(RouterError::invalid(
            "tools",
            format!(
                "`tools` holds {} tools; at most {MAX_TOOLS} are accepted",
                raw.len()
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
    let mut tools = Vec::with_capacity(raw.len());
    let mut names = Vec::with_capacity(raw.len());
    for (i, t) in raw.iter().enumerate() {
        let param = format!("tools[{i}]");
        let obj = as_object(&param, t)?;
        match get(obj, "type")
            .map(|v| as_str(&format!("{param}.type"), v))
            .transpose()?
        {
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
        let f = as_object(
            &format!("{param}.function"),
            get(obj, "function").ok_or_else(|| {
                RouterError::invalid(
                    format!("{param}.function"),
                    format!("`{param}.function` is required"),
                )
            })?,
        )?;
        let name_param = format!("{param}.function.name");
        let name = as_str(
            &name_param,
            get(f, "name").ok_or_else(|| {
                RouterError::invalid(&name_param, format!("`{name_param}` is required"))
            })?,
        )?;
        if !valid_tool_name(name) {
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
        names.push(name);
        let description = get(f, "description")
            .map(|v| as_str(&format!("{param}.function.description"), v).map(str::to_owned))
            .transpose()?;
        let schema = match get(f, "parameters") {
            None => json!({"type": "object", "properties": {}}),
            Some(v) => {
                as_object(&format!("{param}.function.parameters"), v)?;
                v.clone()
            }
        };
        tools.push(Tool::ToolSpec(ToolSpec {
            name: name.to_owned(),
            description,
            input_schema: InputSchema { json: schema },
        }));
    }
    let tool_choice = match get(body, "tool_choice") {
        None => None,
        Some(Value::String(s)) => match s.as_str() {
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
        Some(Value::Object(obj)) => {
            let name = obj
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
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
                name: name.to_owned(),
            }))
        }
        Some(other) => return Err(wrong_type("tool_choice", "a string or an object", other)),
    };
    Ok(Some(ToolConfig { tools, tool_choice }))
}

fn parse_response_format(
    body: &Map<String, Value>,
    target: &Target,
) -> Result<Option<OutputConfig>, RouterError> {
    let Some(v) = get(body, "response_format") else {
        return Ok(None);
    };
    let obj = as_object("response_format", v)?;
    let kind = get(obj, "type")
        .map(|t| as_str("response_format.type", t))
        .transpose()?;
    let (schema, name, description) = match kind {
        Some("text") => return Ok(None),
        Some("json_object") => (json!({"type": "object"}), None, None),
        Some("json_schema") => {
            let js = as_object(
                "response_format.json_schema",
                get(obj, "json_schema").ok_or_else(|| {
                    RouterError::invalid(
                        "response_format.json_schema",
                        "`response_format.json_schema` is required when type is json_schema",
                    )
                })?,
            )?;
            let schema = get(js, "schema").ok_or_else(|| {
                RouterError::invalid(
                    "response_format.json_schema.schema",
                    "`response_format.json_schema.schema` is required",
                )
            })?;
            as_object("response_format.json_schema.schema", schema)?;
            let name = get(js, "name")
                .map(|n| as_str("response_format.json_schema.name", n).map(str::to_owned))
                .transpose()?;
            let description = get(js, "description")
                .map(|n| as_str("response_format.json_schema.description", n).map(str::to_owned))
                .transpose()?;
            (schema.clone(), name, description)
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

    fn push(&mut self, i: usize, m: &Value) -> Result<(), RouterError> {
        let param = format!("messages[{i}]");
        let obj = as_object(&param, m)?;
        let role_param = format!("{param}.role");
        let role = as_str(
            &role_param,
            get(obj, "role").ok_or_else(|| {
                RouterError::invalid(&role_param, format!("`{role_param}` is required"))
            })?,
        )?;
        let content = get(obj, "content");
        let content_param = format!("{param}.content");
        match role {
            "system" | "developer" => {
                let content = content.ok_or_else(|| {
                    RouterError::invalid(
                        &content_param,
                        format!("`{content_param}` is required for a {role} message"),
                    )
                })?;
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
                let content = content.ok_or_else(|| {
                    RouterError::invalid(
                        &content_param,
                        format!("`{content_param}` is required for a user message"),
                    )
                })?;
                let blocks = self.parse_content(&content_param, content, PartsAllowed::User)?;
                self.append(Role::User, blocks);
            }
            "assistant" => {
                let mut blocks = match content {
                    None => Vec::new(),
                    Some(Value::String(s)) if s.is_empty() => Vec::new(),
                    Some(c) => self.parse_content(&content_param, c, PartsAllowed::Assistant)?,
                };
                if let Some(calls) = get(obj, "tool_calls") {
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
                let id = as_str(
                    &id_param,
                    get(obj, "tool_call_id").ok_or_else(|| {
                        RouterError::invalid(
                            &id_param,
                            format!("`{id_param}` is required for a tool message"),
                        )
                    })?,
                )?;
                if !valid_tool_id(id) {
                    return Err(RouterError::invalid(
                        id_param,
                        format!(
                            "tool_call_id `{id}` must be 1 to 64 letters, digits, `_`, `.`, `:` or `-`"
                        ),
                    ));
                }
                let content = content.ok_or_else(|| {
                    RouterError::invalid(
                        &content_param,
                        format!("`{content_param}` is required for a tool message"),
                    )
                })?;
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
                        tool_use_id: id.to_owned(),
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
        v: &Value,
    ) -> Result<Vec<ContentBlock>, RouterError> {
        let calls = as_array(param, v)?;
        let mut out = Vec::with_capacity(calls.len());
        for (j, c) in calls.iter().enumerate() {
            let p = format!("{param}[{j}]");
            let obj = as_object(&p, c)?;
            let id = get(obj, "id")
                .map(|v| as_str(&format!("{p}.id"), v))
                .transpose()?
                .unwrap_or("");
            if !valid_tool_id(id) {
                return Err(RouterError::invalid(
                    format!("{p}.id"),
                    format!(
                        "tool call id `{id}` must be 1 to 64 letters, digits, `_`, `.`, `:` or `-`"
                    ),
                ));
            }
            let f = as_object(
                &format!("{p}.function"),
                get(obj, "function").ok_or_else(|| {
                    RouterError::invalid(
                        format!("{p}.function"),
                        format!("`{p}.function` is required"),
                    )
                })?,
            )?;
            let name = get(f, "name")
                .map(|v| as_str(&format!("{p}.function.name"), v))
                .transpose()?
                .unwrap_or("");
            if !valid_tool_name(name) {
                return Err(RouterError::invalid(
                    format!("{p}.function.name"),
                    format!("tool name `{name}` must be 1 to 64 letters, digits, `_` or `-`"),
                ));
            }
            let args_param = format!("{p}.function.arguments");
            let args = get(f, "arguments")
                .map(|v| as_str(&args_param, v))
                .transpose()?
                .unwrap_or("");
            let input = if args.trim().is_empty() {
                json!({})
            } else {
                let parsed: Value = serde_json::from_str(args).map_err(|e| {
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
                tool_use_id: id.to_owned(),
                name: name.to_owned(),
                input,
            }));
        }
        Ok(out)
    }

    fn parse_content(
        &mut self,
        param: &str,
        content: &Value,
        allowed: PartsAllowed,
    ) -> Result<Vec<ContentBlock>, RouterError> {
        match content {
            Value::String(s) => {
                if s.trim().is_empty() {
                    return Err(RouterError::invalid(
                        param,
                        format!("`{param}` must not be empty or blank"),
                    ));
                }
                Ok(vec![ContentBlock::Text(s.clone())])
            }
            Value::Array(parts) => {
                if parts.is_empty() {
                    return Err(RouterError::invalid(
                        param,
                        format!("`{param}` must hold at least one content part"),
                    ));
                }
                let mut blocks = Vec::with_capacity(parts.len());
                for (k, part) in parts.iter().enumerate() {
                    let p = format!("{param}[{k}]");
                    let obj = as_object(&p, part)?;
                    let kind = get(obj, "type")
                        .map(|v| as_str(&format!("{p}.type"), v))
                        .transpose()?
                        .ok_or_else(|| {
                            RouterError::invalid(
                                format!("{p}.type"),
                                format!("`{p}.type` is required"),
                            )
                        })?;
                    match (kind, allowed) {
                        ("text", _) | ("refusal", PartsAllowed::Assistant) => {
                            let key = if kind == "text" { "text" } else { "refusal" };
                            let text = as_str(
                                &format!("{p}.{key}"),
                                get(obj, key).ok_or_else(|| {
                                    RouterError::invalid(
                                        format!("{p}.{key}"),
                                        format!("`{p}.{key}` is required"),
                                    )
                                })?,
                            )?;
                            if text.trim().is_empty() {
                                return Err(RouterError::invalid(
                                    format!("{p}.{key}"),
                                    format!("`{p}.{key}` must not be empty or blank"),
                                ));
                            }
                            blocks.push(ContentBlock::Text(text.to_owned()));
                        }
                        ("image_url", PartsAllowed::User) => blocks.push(self.image_part(&p, obj)?),
                        ("file", PartsAllowed::User) => blocks.push(self.file_part(&p, obj)?),
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
                    if let Some(cc) = get(obj, "cache_control") {
                        as_object(&format!("{p}.cache_control"), cc)?;
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
            other => Err(wrong_type(
                param,
                "a string or an array of content parts",
                other,
            )),
        }
    }

    fn image_part(
        &mut self,
        p: &str,
        obj: &Map<String, Value>,
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
        let url = match get(obj, "image_url") {
            Some(Value::Object(o)) => get(o, "url").map(|v| as_str(&url_param, v)).transpose()?,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => {
                return Err(wrong_type(
                    &format!("{p}.image_url"),
                    "an object with `url`",
                    other,
                ));
            }
            None => None,
        }
        .ok_or_else(|| RouterError::invalid(&url_param, format!("`{url_param}` is required")))?;
        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Err(RouterError::invalid(
                url_param,
                "image URLs are not fetched by this router; send the image inline as a data URL (data:image/png;base64,...)",
            ));
        }
        let (mime, bytes, len) = parse_data_url(&url_param, url)?;
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
        obj: &Map<String, Value>,
    ) -> Result<ContentBlock, RouterError> {
        if !self.target.caps.document_input {
            return Err(unsupported(
                self.target,
                "document input",
                p,
                "send text only or pick a model with document input from GET /v1/models",
            ));
        }
        let file = as_object(
            &format!("{p}.file"),
            get(obj, "file").ok_or_else(|| {
                RouterError::invalid(format!("{p}.file"), format!("`{p}.file` is required"))
            })?,
        )?;
        if get(file, "file_id").is_some() {
            return Err(RouterError::invalid(
                format!("{p}.file.file_id"),
                "uploaded file IDs are not supported; send the document inline in `file_data` as a data URL",
            ));
        }
        let data_param = format!("{p}.file.file_data");
        let data = as_str(
            &data_param,
            get(file, "file_data").ok_or_else(|| {
                RouterError::invalid(&data_param, format!("`{data_param}` is required"))
            })?,
        )?;
        let (mime, bytes, len) = parse_data_url(&data_param, data)?;
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
        let filename = get(file, "filename").and_then(Value::as_str).unwrap_or("");
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
