//! Converse and ConverseStream: server-side validation of the request (the SDKs check almost
//! nothing), reduction to a [`Prompt`], and the response or the ordered stream events.

use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::fail::Fail;
use super::models::{Capabilities, Reasoning, ThinkingTypes};
use super::responder::{self, Prompt, Reply, ToolChoice, ToolDef};

/// AWS's wording for a constraint failure on one member.
pub fn constraint(value: &Value, path: &str, rule: &str) -> Fail {
    let shown = match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    };
    Fail::validation(format!(
        "1 validation error detected: Value '{shown}' at '{path}' failed to satisfy constraint: Member must {rule}"
    ))
}

fn not_null(path: &str) -> Fail {
    Fail::validation(format!(
        "1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
    ))
}

fn type_error(path: &str, expected: &str) -> Fail {
    Fail::validation(format!(
        "Malformed input request: {path} must be {expected}, please reformat your input and try again."
    ))
}

fn enum_check(value: &Value, path: &str, allowed: &[&str]) -> Result<(), Fail> {
    match value.as_str() {
        Some(s) if allowed.contains(&s) => Ok(()),
        _ => Err(constraint(
            value,
            path,
            &format!("satisfy enum value set: [{}]", allowed.join(", ")),
        )),
    }
}

/// The one member of a union object, or the error AWS gives for zero or several members.
fn union_member<'a>(
    value: &'a Value,
    path: &str,
    members: &[&str],
) -> Result<(&'a str, &'a Value), Fail> {
    let object = value
        .as_object()
        .ok_or_else(|| type_error(path, "an object"))?;
    let set: Vec<(&String, &Value)> = object.iter().filter(|(_, v)| !v.is_null()).collect();
    if set.len() != 1 {
        return Err(Fail::validation(format!(
            "1 validation error detected: Value at '{path}' failed to satisfy constraint: Member must have exactly one member set, but had {}",
            set.len()
        )));
    }
    let (name, inner) = set[0];
    if !members.contains(&name.as_str()) {
        return Err(Fail::validation(format!(
            "1 validation error detected: Value at '{path}' failed to satisfy constraint: Member must be one of [{}], but was '{name}'",
            members.join(", ")
        )));
    }
    Ok((name.as_str(), inner))
}

fn matches_charset(s: &str, extra: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

fn check_len(value: &Value, s: &str, path: &str, min: usize, max: usize) -> Result<(), Fail> {
    let n = s.chars().count();
    if n < min {
        return Err(constraint(
            value,
            path,
            &format!("have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(constraint(
            value,
            path,
            &format!("have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

fn required_str<'a>(object: &'a Value, key: &str, path: &str) -> Result<&'a str, Fail> {
    match object.get(key) {
        None | Some(Value::Null) => Err(not_null(&format!("{path}.{key}"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(type_error(&format!("{path}.{key}"), "a string")),
    }
}

/// Media `source` union: `bytes` (valid, non-empty base64) or `s3Location{uri}`, plus the extra
/// members a document source allows.
fn check_source(source: Option<&Value>, path: &str, allowed: &[&str]) -> Result<(), Fail> {
    let source = source.ok_or_else(|| not_null(&format!("{path}.source")))?;
    let spath = format!("{path}.source");
    let (member, inner) = union_member(source, &spath, allowed)?;
    match member {
        "bytes" => {
            let text = inner
                .as_str()
                .ok_or_else(|| type_error(&format!("{spath}.bytes"), "a base64 string"))?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| {
                    Fail::validation(format!(
                        "Invalid base64 in {spath}.bytes: the value is not valid base64."
                    ))
                })?;
            if decoded.is_empty() {
                return Err(constraint(
                    inner,
                    &format!("{spath}.bytes"),
                    "have length greater than or equal to 1",
                ));
            }
        }
        "s3Location" => {
            let uri = required_str(inner, "uri", &format!("{spath}.s3Location"))?;
            if !uri.starts_with("s3://") {
                return Err(constraint(
                    &json!(uri),
                    &format!("{spath}.s3Location.uri"),
                    "satisfy regular expression pattern: s3://[a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9](/.*)?",
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

const IMAGE_FORMATS: [&str; 4] = ["png", "jpeg", "gif", "webp"];
const DOCUMENT_FORMATS: [&str; 9] = [
    "pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md",
];

fn check_image(image: &Value, path: &str) -> Result<(), Fail> {
    let format = image
        .get("format")
        .ok_or_else(|| not_null(&format!("{path}.format")))?;
    enum_check(format, &format!("{path}.format"), &IMAGE_FORMATS)?;
    check_source(image.get("source"), path, &["bytes", "s3Location"])
}

fn check_tool_use_id(value: &Value, id: &str, path: &str) -> Result<(), Fail> {
    check_len(value, id, path, 1, 64)?;
    if !matches_charset(id, "_.:-") {
        return Err(constraint(
            value,
            path,
            "satisfy regular expression pattern: [a-zA-Z0-9_.:-]+",
        ));
    }
    Ok(())
}

fn check_tool_name(value: &Value, name: &str, path: &str) -> Result<(), Fail> {
    check_len(value, name, path, 1, 64)?;
    if !matches_charset(name, "_-") {
        return Err(constraint(
            value,
            path,
            "satisfy regular expression pattern: [a-zA-Z0-9_-]+",
        ));
    }
    Ok(())
}

/// What one message contributed to the prompt.
#[derive(Default)]
struct MessageText {
    texts: Vec<String>,
    tool_results: Vec<String>,
    has_tool_blocks: bool,
}

fn check_block(block: &Value, path: &str, out: &mut MessageText) -> Result<(), Fail> {
    const MEMBERS: [&str; 15] = [
        "text",
        "image",
        "document",
        "video",
        "audio",
        "toolUse",
        "toolResult",
        "guardContent",
        "cachePoint",
        "reasoningContent",
        "citationsContent",
        "searchResult",
        "toolAddition",
        "toolRemoval",
        "thinking",
    ];
    let (member, inner) = union_member(block, path, &MEMBERS[..14])?;
    let mpath = format!("{path}.{member}");
    match member {
        "text" => {
            let text = inner
                .as_str()
                .ok_or_else(|| type_error(&mpath, "a string"))?;
            if text.trim().is_empty() {
                return Err(Fail::validation(format!(
                    "The text field in the ContentBlock object at {} is blank. Add text to the text field, and try again.",
                    path.replace(".member", "")
                )));
            }
            out.texts.push(text.to_string());
        }
        "image" => check_image(inner, &mpath)?,
        "document" => {
            if let Some(format) = inner.get("format") {
                enum_check(format, &format!("{mpath}.format"), &DOCUMENT_FORMATS)?;
            }
            let name = required_str(inner, "name", &mpath)?;
            check_len(&json!(name), name, &format!("{mpath}.name"), 1, 200)?;
            check_source(
                inner.get("source"),
                &mpath,
                &["bytes", "s3Location", "text", "content"],
            )?;
        }
        "video" | "audio" => {
            inner
                .get("format")
                .ok_or_else(|| not_null(&format!("{mpath}.format")))?;
            check_source(inner.get("source"), &mpath, &["bytes", "s3Location"])?;
        }
        "toolUse" => {
            let id = required_str(inner, "toolUseId", &mpath)?;
            check_tool_use_id(&json!(id), id, &format!("{mpath}.toolUseId"))?;
            let name = required_str(inner, "name", &mpath)?;
            check_tool_name(&json!(name), name, &format!("{mpath}.name"))?;
            let input = inner
                .get("input")
                .ok_or_else(|| not_null(&format!("{mpath}.input")))?;
            out.texts.push(input.to_string());
            out.has_tool_blocks = true;
        }
        "toolResult" => {
            let id = required_str(inner, "toolUseId", &mpath)?;
            check_tool_use_id(&json!(id), id, &format!("{mpath}.toolUseId"))?;
            if let Some(status) = inner.get("status") {
                enum_check(status, &format!("{mpath}.status"), &["success", "error"])?;
            }
            let content = inner
                .get("content")
                .ok_or_else(|| not_null(&format!("{mpath}.content")))?
                .as_array()
                .ok_or_else(|| type_error(&format!("{mpath}.content"), "a list"))?;
            let mut result = Vec::new();
            for (i, part) in content.iter().enumerate() {
                let ppath = format!("{mpath}.content.{}.member", i + 1);
                let (kind, value) = union_member(
                    part,
                    &ppath,
                    &["json", "text", "image", "document", "video", "searchResult"],
                )?;
                match kind {
                    "text" => result.push(value.as_str().unwrap_or_default().to_string()),
                    "json" => result.push(value.to_string()),
                    "image" => check_image(value, &format!("{ppath}.image"))?,
                    _ => {}
                }
            }
            out.texts.extend(result.iter().cloned());
            out.tool_results.push(result.join(" "));
            out.has_tool_blocks = true;
        }
        "cachePoint" => check_cache_point(inner, &mpath)?,
        "reasoningContent" => {
            let (kind, value) = union_member(inner, &mpath, &["reasoningText", "redactedContent"])?;
            if kind == "reasoningText" {
                required_str(value, "text", &format!("{mpath}.reasoningText"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_cache_point(point: &Value, path: &str) -> Result<(), Fail> {
    let kind = point
        .get("type")
        .ok_or_else(|| not_null(&format!("{path}.type")))?;
    enum_check(kind, &format!("{path}.type"), &["default"])?;
    if let Some(ttl) = point.get("ttl").filter(|v| !v.is_null()) {
        enum_check(ttl, &format!("{path}.ttl"), &["5m", "1h"])?;
    }
    Ok(())
}

/// Most `cachePoint`s one request may carry (Claude's and Nova's limit).
const MAX_CACHE_POINTS: usize = 4;

/// The prompt prefixes ending at each `cachePoint`, in the order the cache reads a prompt (tool
/// definitions, system, messages): a digest of the prefix and its token count, counted as
/// [`check`] counts input tokens. A one-hour entry may not follow a five-minute one.
fn cache_points(body: &Value) -> Result<Vec<(String, u32)>, Fail> {
    let tokens = |texts: &[String]| {
        texts
            .iter()
            .map(|t| responder::count_tokens(t))
            .sum::<u32>()
    };
    let list = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let mut blocks: Vec<(Value, u32)> = Vec::new();
    for tool in list(body.pointer("/toolConfig/tools")) {
        let n = match (tool.get("toolSpec"), tool.get("systemTool")) {
            (Some(spec), _) => {
                let mut texts = Vec::new();
                if let Some(d) = spec.get("description").and_then(Value::as_str) {
                    texts.push(d.to_string());
                }
                if let Some(schema) = spec.pointer("/inputSchema/json") {
                    texts.push(schema.to_string());
                }
                if let Some(name) = spec.get("name").and_then(Value::as_str) {
                    texts.push(name.to_string());
                }
                tokens(&texts)
            }
            (None, Some(t)) => t
                .get("name")
                .and_then(Value::as_str)
                .map_or(0, responder::count_tokens),
            _ => 0,
        };
        blocks.push((tool, n));
    }
    for block in list(body.get("system")) {
        let n = block
            .get("text")
            .and_then(Value::as_str)
            .map_or(0, responder::count_tokens);
        blocks.push((block, n));
    }
    for message in list(body.get("messages")) {
        for block in list(message.get("content")) {
            let mut parts = MessageText::default();
            // Already validated by `check`; this only collects the texts it counted.
            let _ = check_block(&block, "", &mut parts);
            let n = tokens(&parts.texts);
            blocks.push((block, n));
        }
    }
    let mut hasher = Sha256::new();
    let mut prefix = 0;
    let mut points = Vec::new();
    let mut shortest_so_far = "1h";
    for (block, n) in blocks {
        match block.get("cachePoint") {
            Some(point) => {
                let ttl = point.get("ttl").and_then(Value::as_str).unwrap_or("5m");
                if ttl == "1h" && shortest_so_far == "5m" {
                    return Err(Fail::validation(
                        "The model returned the following errors: a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. Note that blocks are processed in the following order: `tools`, `system`, `messages`.",
                    ));
                }
                if ttl == "5m" {
                    shortest_so_far = "5m";
                }
                let digest = hasher.clone().finalize();
                points.push((digest.iter().map(|b| format!("{b:02x}")).collect(), prefix));
            }
            None => {
                prefix += n;
                hasher.update(block.to_string().as_bytes());
            }
        }
    }
    if points.len() > MAX_CACHE_POINTS {
        return Err(Fail::validation(format!(
            "The model returned the following errors: A maximum of {MAX_CACHE_POINTS} blocks with cache_control may be provided. Found {}.",
            points.len()
        )));
    }
    Ok(points)
}

/// A validated Converse request, reduced for the responder.
#[derive(Debug)]
pub struct Checked {
    pub prompt: Prompt,
    pub request_metadata: Option<Map<String, Value>>,
}

pub fn check_request_metadata(value: &Value) -> Result<Map<String, Value>, Fail> {
    let map = value
        .as_object()
        .ok_or_else(|| type_error("requestMetadata", "a map of strings"))?;
    if map.is_empty() {
        return Err(constraint(
            value,
            "requestMetadata",
            "have length greater than or equal to 1",
        ));
    }
    if map.len() > 16 {
        return Err(constraint(
            value,
            "requestMetadata",
            "have length less than or equal to 16",
        ));
    }
    const EXTRA: &str = " \t\n\r:_@$#=/+,-.";
    for (key, v) in map {
        let kv = json!(key);
        check_len(&kv, key, "requestMetadata.key", 1, 256)?;
        if !matches_charset(key, EXTRA) {
            return Err(constraint(
                &kv,
                "requestMetadata.key",
                "satisfy regular expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{1,256}",
            ));
        }
        let s = v
            .as_str()
            .ok_or_else(|| type_error(&format!("requestMetadata.{key}"), "a string"))?;
        check_len(v, s, &format!("requestMetadata.{key}"), 0, 256)?;
        if !matches_charset(s, EXTRA) {
            return Err(constraint(
                v,
                &format!("requestMetadata.{key}"),
                "satisfy regular expression pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{0,256}",
            ));
        }
    }
    Ok(map.clone())
}

fn check_unit_float(config: &Value, key: &str) -> Result<(), Fail> {
    if let Some(v) = config.get(key).filter(|v| !v.is_null()) {
        let path = format!("inferenceConfig.{key}");
        let f = v.as_f64().ok_or_else(|| type_error(&path, "a number"))?;
        if f < 0.0 {
            return Err(constraint(
                v,
                &path,
                "have value greater than or equal to 0",
            ));
        }
        if f > 1.0 {
            return Err(constraint(v, &path, "have value less than or equal to 1"));
        }
    }
    Ok(())
}

/// Validates a Converse/ConverseStream body for a model and reduces it to a prompt.
pub fn check(body: &Value, caps: &Capabilities) -> Result<Checked, Fail> {
    if !body.is_object() {
        return Err(Fail::validation(
            "Malformed input request: the request body must be a JSON object, please reformat your input and try again.",
        ));
    }
    let mut prompt = Prompt::default();

    if let Some(system) = body.get("system").filter(|v| !v.is_null()) {
        let list = system
            .as_array()
            .ok_or_else(|| type_error("system", "a list"))?;
        for (i, block) in list.iter().enumerate() {
            let path = format!("system.{}.member", i + 1);
            let (member, inner) =
                union_member(block, &path, &["text", "guardContent", "cachePoint"])?;
            if member == "cachePoint" {
                check_cache_point(inner, &format!("{path}.cachePoint"))?;
            }
            if member == "text" {
                let text = inner
                    .as_str()
                    .ok_or_else(|| type_error(&format!("{path}.text"), "a string"))?;
                check_len(inner, text, &format!("{path}.text"), 1, usize::MAX)?;
                prompt.texts.push(text.to_string());
            }
        }
    }

    let messages = match body.get("messages") {
        None | Some(Value::Null) => return Err(not_null("messages")),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(type_error("messages", "a list")),
    };
    if messages.is_empty() {
        return Err(Fail::validation(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
        ));
    }
    let mut previous_role = "";
    let mut has_tool_blocks = false;
    for (i, message) in messages.iter().enumerate() {
        let path = format!("messages.{}.member", i + 1);
        if !message.is_object() {
            return Err(type_error(&path, "an object"));
        }
        let role_value = message
            .get("role")
            .ok_or_else(|| not_null(&format!("{path}.role")))?;
        enum_check(role_value, &format!("{path}.role"), &["user", "assistant"])?;
        let role = role_value.as_str().unwrap_or_default();
        if i == 0 && role != "user" {
            return Err(Fail::validation(
                "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
            ));
        }
        if role == previous_role {
            return Err(Fail::validation(
                "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.",
            ));
        }
        previous_role = role;
        let content = match message.get("content") {
            None | Some(Value::Null) => return Err(not_null(&format!("{path}.content"))),
            Some(Value::Array(list)) => list,
            Some(_) => return Err(type_error(&format!("{path}.content"), "a list")),
        };
        if content.is_empty() {
            return Err(Fail::validation(format!(
                "The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again."
            )));
        }
        let mut parts = MessageText::default();
        for (j, block) in content.iter().enumerate() {
            check_block(
                block,
                &format!("{path}.content.{}.member", j + 1),
                &mut parts,
            )?;
        }
        has_tool_blocks |= parts.has_tool_blocks;
        prompt.texts.extend(parts.texts.iter().cloned());
        if role == "user" {
            prompt.last_user_text = parts.texts.join(" ");
            prompt.tool_result = parts.tool_results.last().cloned();
            if prompt.tool_result.is_some() {
                // The tool result text is what the model answers about.
                prompt.last_user_text = parts.tool_results.join(" ");
            }
        }
    }

    if let Some(config) = body.get("inferenceConfig").filter(|v| !v.is_null()) {
        if !config.is_object() {
            return Err(type_error("inferenceConfig", "an object"));
        }
        if let Some(v) = config.get("maxTokens").filter(|v| !v.is_null()) {
            let n = v
                .as_i64()
                .ok_or_else(|| type_error("inferenceConfig.maxTokens", "an integer"))?;
            if n < 1 {
                return Err(constraint(
                    v,
                    "inferenceConfig.maxTokens",
                    "have value greater than or equal to 1",
                ));
            }
            if n > i64::from(caps.max_output_tokens) {
                return Err(Fail::validation(format!(
                    "The maximum tokens you requested exceeds the model limit of {}. Try again with a maximum tokens value that is lower than {}.",
                    caps.max_output_tokens, caps.max_output_tokens
                )));
            }
            prompt.max_tokens = Some(n as u32);
        }
        check_unit_float(config, "temperature")?;
        check_unit_float(config, "topP")?;
        if let Some(v) = config.get("stopSequences").filter(|v| !v.is_null()) {
            let list = v
                .as_array()
                .ok_or_else(|| type_error("inferenceConfig.stopSequences", "a list"))?;
            if list.len() > 2500 {
                return Err(constraint(
                    v,
                    "inferenceConfig.stopSequences",
                    "have length less than or equal to 2500",
                ));
            }
            for (i, s) in list.iter().enumerate() {
                let path = format!("inferenceConfig.stopSequences.{}.member", i + 1);
                let text = s.as_str().ok_or_else(|| type_error(&path, "a string"))?;
                check_len(s, text, &path, 1, usize::MAX)?;
                prompt.stop_sequences.push(text.to_string());
            }
        }
    }

    match body.get("toolConfig").filter(|v| !v.is_null()) {
        None if has_tool_blocks => {
            return Err(Fail::validation(
                "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
            ));
        }
        None => {}
        Some(config) => {
            let tools = match config.get("tools") {
                None | Some(Value::Null) => return Err(not_null("toolConfig.tools")),
                Some(Value::Array(list)) => list,
                Some(_) => return Err(type_error("toolConfig.tools", "a list")),
            };
            if tools.is_empty() {
                return Err(constraint(
                    &json!(tools),
                    "toolConfig.tools",
                    "have length greater than or equal to 1",
                ));
            }
            for (i, tool) in tools.iter().enumerate() {
                let path = format!("toolConfig.tools.{}.member", i + 1);
                let (member, inner) =
                    union_member(tool, &path, &["toolSpec", "systemTool", "cachePoint"])?;
                let name = match member {
                    "toolSpec" | "systemTool" => {
                        required_str(inner, "name", &format!("{path}.{member}"))?
                    }
                    _ => {
                        check_cache_point(inner, &format!("{path}.cachePoint"))?;
                        continue;
                    }
                };
                check_tool_name(&json!(name), name, &format!("{path}.{member}.name"))?;
                if prompt.tools.iter().any(|t| t.name == name) {
                    return Err(Fail::validation(format!(
                        "The model returned the following errors: tools: Tool names must be unique. Duplicate name: {name}"
                    )));
                }
                let mut schema = json!({});
                if member == "toolSpec" {
                    if let Some(d) = inner.get("description").and_then(Value::as_str) {
                        check_len(
                            &json!(d),
                            d,
                            &format!("{path}.toolSpec.description"),
                            1,
                            usize::MAX,
                        )?;
                        prompt.texts.push(d.to_string());
                    }
                    let input_schema = inner
                        .get("inputSchema")
                        .ok_or_else(|| not_null(&format!("{path}.toolSpec.inputSchema")))?;
                    let (_, json_schema) = union_member(
                        input_schema,
                        &format!("{path}.toolSpec.inputSchema"),
                        &["json"],
                    )?;
                    if !json_schema.is_object() {
                        return Err(type_error(
                            &format!("{path}.toolSpec.inputSchema.json"),
                            "a JSON object",
                        ));
                    }
                    prompt.texts.push(json_schema.to_string());
                    schema = json_schema.clone();
                }
                prompt.texts.push(name.to_string());
                prompt.tools.push(ToolDef {
                    name: name.to_string(),
                    schema,
                });
            }
            prompt.tool_choice = Some(ToolChoice::Auto);
            if let Some(choice) = config.get("toolChoice").filter(|v| !v.is_null()) {
                let (member, inner) =
                    union_member(choice, "toolConfig.toolChoice", &["auto", "any", "tool"])?;
                prompt.tool_choice = Some(match member {
                    "auto" => ToolChoice::Auto,
                    "any" => ToolChoice::Any,
                    _ => {
                        let name = required_str(inner, "name", "toolConfig.toolChoice.tool")?;
                        check_tool_name(&json!(name), name, "toolConfig.toolChoice.tool.name")?;
                        if !prompt.tools.iter().any(|t| t.name == name) {
                            return Err(Fail::validation(format!(
                                "The model returned the following errors: tool_choice.name: Tool '{name}' not found in provided tools"
                            )));
                        }
                        ToolChoice::Tool(name.to_string())
                    }
                });
            }
        }
    }

    let request_metadata = match body.get("requestMetadata").filter(|v| !v.is_null()) {
        Some(v) => Some(check_request_metadata(v)?),
        None => None,
    };

    if let Some(paths) = body
        .get("additionalModelResponseFieldPaths")
        .filter(|v| !v.is_null())
    {
        let list = paths
            .as_array()
            .ok_or_else(|| type_error("additionalModelResponseFieldPaths", "a list"))?;
        if list.len() > 10 {
            return Err(constraint(
                paths,
                "additionalModelResponseFieldPaths",
                "have length less than or equal to 10",
            ));
        }
        for (i, p) in list.iter().enumerate() {
            let path = format!("additionalModelResponseFieldPaths.{}.member", i + 1);
            let s = p.as_str().ok_or_else(|| type_error(&path, "a string"))?;
            check_len(p, s, &path, 1, 256)?;
        }
    }
    if let Some(perf) = body.get("performanceConfig").filter(|v| !v.is_null())
        && let Some(latency) = perf.get("latency")
    {
        enum_check(
            latency,
            "performanceConfig.latency",
            &["standard", "optimized"],
        )?;
    }
    if let Some(tier) = body.get("serviceTier").filter(|v| !v.is_null()) {
        let kind = tier
            .get("type")
            .ok_or_else(|| not_null("serviceTier.type"))?;
        enum_check(
            kind,
            "serviceTier.type",
            &["priority", "default", "flex", "reserved"],
        )?;
    }

    if let Some(guardrail) = body.get("guardrailConfig").filter(|v| !v.is_null()) {
        check_guardrail(guardrail)?;
    }
    if let Some(extra) = body
        .get("additionalModelRequestFields")
        .filter(|v| !v.is_null())
    {
        if !extra.is_object() {
            return Err(type_error("additionalModelRequestFields", "a JSON object"));
        }
        prompt.reasoning =
            reasoning_requested(extra, caps, prompt.max_tokens, prompt.tool_choice.as_ref())?;
    }
    if let Some(min) = caps.cache_min_tokens {
        prompt.cache_checkpoints = cache_points(body)?
            .into_iter()
            .filter(|(_, tokens)| *tokens >= min)
            .collect();
    }
    Ok(Checked {
        prompt,
        request_metadata,
    })
}

/// `guardrailConfig`: identifier (ID or guardrail ARN), version (number or DRAFT), trace enum,
/// and for streams the processing mode.
fn check_guardrail(config: &Value) -> Result<(), Fail> {
    if !config.is_object() {
        return Err(type_error("guardrailConfig", "an object"));
    }
    if let Some(id) = config.get("guardrailIdentifier").filter(|v| !v.is_null()) {
        let text = id
            .as_str()
            .ok_or_else(|| type_error("guardrailConfig.guardrailIdentifier", "a string"))?;
        check_len(id, text, "guardrailConfig.guardrailIdentifier", 0, 2048)?;
        let plain = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        };
        let arn_ok = text.starts_with("arn:aws")
            && text
                .rsplit_once(":guardrail/")
                .is_some_and(|(_, id)| !id.is_empty() && plain(id));
        if !(plain(text) || arn_ok) {
            return Err(constraint(
                id,
                "guardrailConfig.guardrailIdentifier",
                "satisfy regular expression pattern: (([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))",
            ));
        }
    }
    if let Some(version) = config.get("guardrailVersion").filter(|v| !v.is_null()) {
        let text = version
            .as_str()
            .ok_or_else(|| type_error("guardrailConfig.guardrailVersion", "a string"))?;
        let numeric = !text.is_empty()
            && text.len() <= 8
            && text.chars().all(|c| c.is_ascii_digit())
            && !text.starts_with('0');
        if !(text.is_empty() || text == "DRAFT" || numeric) {
            return Err(constraint(
                version,
                "guardrailConfig.guardrailVersion",
                "satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))",
            ));
        }
    }
    if let Some(trace) = config.get("trace").filter(|v| !v.is_null()) {
        enum_check(
            trace,
            "guardrailConfig.trace",
            &["enabled", "disabled", "enabled_full"],
        )?;
    }
    if let Some(mode) = config.get("streamProcessingMode").filter(|v| !v.is_null()) {
        enum_check(
            mode,
            "guardrailConfig.streamProcessingMode",
            &["sync", "async"],
        )?;
    }
    Ok(())
}

/// Reads the provider's reasoning switch from the extra request fields. An unsupported switch is
/// refused the way the provider refuses unknown keys.
pub fn reasoning_requested(
    extra: &Value,
    caps: &Capabilities,
    max_tokens: Option<u32>,
    tool_choice: Option<&ToolChoice>,
) -> Result<bool, Fail> {
    let thinking = extra.get("thinking").filter(|v| !v.is_null());
    let reasoning_config = extra
        .get("reasoningConfig")
        .or_else(|| extra.get("reasoning_config"))
        .filter(|v| !v.is_null());
    match (caps.reasoning, thinking, reasoning_config) {
        (Some(Reasoning::Thinking), Some(t), _) => {
            match t.get("type").and_then(Value::as_str) {
                Some("enabled") if caps.thinking_types == ThinkingTypes::Adaptive => {
                    return Err(Fail::validation(
                        "The model returned the following errors: thinking.type.enabled is not supported for this model. Use thinking.type.adaptive instead.",
                    ));
                }
                Some("enabled") => {}
                Some("adaptive") if caps.thinking_types == ThinkingTypes::Budget => {
                    return Err(Fail::validation(
                        "The model returned the following errors: thinking.type.adaptive is not supported for this model. Use thinking.type.enabled with budget_tokens instead.",
                    ));
                }
                // Adaptive thinking decides its own budget; it only needs room to answer.
                Some("adaptive") => return Ok(true),
                Some("disabled") => return Ok(false),
                _ => {
                    return Err(Fail::validation(
                        "The model returned the following errors: thinking.type: Input tag does not match any of the expected tags: 'enabled', 'adaptive', 'disabled'",
                    ));
                }
            }
            let budget = t.get("budget_tokens").and_then(Value::as_u64).ok_or_else(|| {
                Fail::validation("The model returned the following errors: thinking.enabled.budget_tokens: Field required")
            })?;
            if budget < 1024 {
                return Err(Fail::validation(
                    "The model returned the following errors: thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
                ));
            }
            if let Some(max) = max_tokens
                && u64::from(max) <= budget
            {
                return Err(Fail::validation(format!(
                    "The model returned the following errors: `max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size (max_tokens={max}, budget_tokens={budget})"
                )));
            }
            if matches!(
                tool_choice,
                Some(ToolChoice::Any) | Some(ToolChoice::Tool(_))
            ) {
                return Err(Fail::validation(
                    "The model returned the following errors: Thinking may not be enabled when tool_choice forces tool use.",
                ));
            }
            Ok(true)
        }
        (Some(Reasoning::ReasoningConfig), _, Some(r)) => {
            Ok(r.get("type").and_then(Value::as_str) == Some("enabled"))
        }
        (_, Some(_), _) => Err(Fail::validation(
            "The model returned the following errors: Malformed input request: extraneous key [thinking] is not permitted, please reformat your input and try again.",
        )),
        (_, _, Some(_)) => Err(Fail::validation(
            "The model returned the following errors: Malformed input request: extraneous key [reasoningConfig] is not permitted, please reformat your input and try again.",
        )),
        _ => Ok(false),
    }
}

/// Converse counts cache reads and writes beside `inputTokens`, and all of them in
/// `totalTokens`.
fn usage(reply: &Reply) -> Value {
    json!({
        "inputTokens": reply.input_tokens,
        "outputTokens": reply.output_tokens,
        "totalTokens": reply.input_tokens + reply.output_tokens + reply.cache_read_tokens + reply.cache_write_tokens,
        "cacheReadInputTokens": reply.cache_read_tokens,
        "cacheWriteInputTokens": reply.cache_write_tokens,
    })
}

/// The Converse response body.
pub fn response(reply: &Reply, latency_ms: u64) -> Value {
    let mut content = Vec::new();
    if let Some((text, signature)) = &reply.reasoning {
        content.push(
            json!({"reasoningContent": {"reasoningText": {"text": text, "signature": signature}}}),
        );
    }
    if let Some(text) = &reply.text {
        content.push(json!({ "text": text }));
    }
    if let Some(call) = &reply.tool_call {
        content.push(
            json!({"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.input}}),
        );
    }
    json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": reply.stop_reason.as_str(),
        "usage": usage(reply),
        "metrics": {"latencyMs": latency_ms},
    })
}

/// The ConverseStream events in Bedrock's order: messageStart, per block [contentBlockStart
/// for toolUse] deltas and contentBlockStop, messageStop, metadata last.
pub fn stream_events(reply: &Reply, latency_ms: u64) -> Vec<(&'static str, Value)> {
    let mut events = vec![("messageStart", json!({"role": "assistant"}))];
    let mut index = 0;
    if let Some((text, signature)) = &reply.reasoning {
        for piece in responder::chunks(text) {
            events.push((
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"reasoningContent": {"text": piece}}}),
            ));
        }
        events.push(("contentBlockDelta", json!({"contentBlockIndex": index, "delta": {"reasoningContent": {"signature": signature}}})));
        events.push(("contentBlockStop", json!({"contentBlockIndex": index})));
        index += 1;
    }
    if let Some(text) = &reply.text {
        for piece in responder::chunks(text) {
            events.push((
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"text": piece}}),
            ));
        }
        events.push(("contentBlockStop", json!({"contentBlockIndex": index})));
        index += 1;
    }
    if let Some(call) = &reply.tool_call {
        events.push(("contentBlockStart", json!({"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": call.id, "name": call.name}}})));
        for piece in split_json(&call.input.to_string()) {
            events.push((
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}),
            ));
        }
        events.push(("contentBlockStop", json!({"contentBlockIndex": index})));
    }
    events.push((
        "messageStop",
        json!({"stopReason": reply.stop_reason.as_str()}),
    ));
    events.push((
        "metadata",
        json!({"usage": usage(reply), "metrics": {"latencyMs": latency_ms}}),
    ));
    events
}

/// Partial JSON text in pieces of at most 16 characters, as providers stream tool inputs.
pub fn split_json(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(16).map(|c| c.iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::models::capabilities;

    fn claude() -> Capabilities {
        capabilities("anthropic.claude-sonnet-4-5-20250929-v1:0")
    }

    fn err(body: Value) -> String {
        match check(&body, &claude()) {
            Ok(_) => panic!("accepted {body}"),
            Err(e) => {
                assert_eq!(e.code, "ValidationException");
                e.message
            }
        }
    }

    #[test]
    fn missing_or_empty_messages_are_refused() {
        assert!(
            err(json!({}))
                .contains("at 'messages' failed to satisfy constraint: Member must not be null")
        );
        assert!(err(json!({"messages": []})).contains("must start with a user message"));
    }

    #[test]
    fn roles_must_be_known_start_with_user_and_alternate() {
        assert!(
            err(json!({"messages": [{"role": "bot", "content": [{"text": "x"}]}]}))
                .contains("enum value set: [user, assistant]")
        );
        assert!(
            err(json!({"messages": [{"role": "assistant", "content": [{"text": "x"}]}]}))
                .contains("start with a user message")
        );
        assert!(err(json!({"messages": [{"role": "user", "content": [{"text": "x"}]}, {"role": "user", "content": [{"text": "y"}]}]})).contains("alternate"));
    }

    #[test]
    fn content_blocks_need_exactly_one_member() {
        let m =
            err(json!({"messages": [{"role": "user", "content": [{"text": "x", "image": {}}]}]}));
        assert!(
            m.contains("messages.1.member.content.1.member") && m.contains("exactly one member"),
            "{m}"
        );
        assert!(
            err(json!({"messages": [{"role": "user", "content": []}]}))
                .contains("messages.0 is empty")
        );
        assert!(
            err(json!({"messages": [{"role": "user", "content": [{"text": "  "}]}]}))
                .contains("is blank")
        );
    }

    #[test]
    fn cache_points_close_prefixes_from_the_models_minimum_in_cache_order() {
        let long = "word ".repeat(1500);
        let body = |system_point: Value, message_point: Value| {
            json!({
                "system": [{"text": long}, system_point],
                "messages": [{"role": "user", "content": [{"text": "short question"}, message_point]}],
                "toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}, {"cachePoint": {"type": "default"}}]},
            })
        };
        let points = check(
            &body(
                json!({"cachePoint": {"type": "default"}}),
                json!({"cachePoint": {"type": "default", "ttl": "5m"}}),
            ),
            &claude(),
        )
        .unwrap()
        .prompt
        .cache_checkpoints;
        // The tools' prefix (about 10 tokens) is below Sonnet 4.5's 1,024; the system prompt's
        // and the message's are above it, the message's two tokens longer.
        let tokens: Vec<u32> = points.iter().map(|(_, t)| *t).collect();
        assert_eq!(tokens.len(), 2, "{tokens:?}");
        assert_eq!(tokens[1] - tokens[0], 2);
        assert!(tokens[0] >= 1500);

        let one_hour_late = body(
            json!({"cachePoint": {"type": "default"}}),
            json!({"cachePoint": {"type": "default", "ttl": "1h"}}),
        );
        assert!(
            err(one_hour_late)
                .contains("a ttl='1h' cache_control block must not come after a ttl='5m'")
        );
        assert!(
            err(body(
                json!({"cachePoint": {"type": "default", "ttl": "2h"}}),
                json!({"text": "x"})
            ))
            .contains("system.2.member.cachePoint.ttl")
        );

        let five = json!({"system": [{"text": "a"}, {"cachePoint": {"type": "default"}}, {"text": "b"}, {"cachePoint": {"type": "default"}}, {"text": "c"}, {"cachePoint": {"type": "default"}}, {"text": "d"}, {"cachePoint": {"type": "default"}}],
                          "messages": [{"role": "user", "content": [{"text": "x"}, {"cachePoint": {"type": "default"}}]}]});
        assert!(
            err(five)
                .contains("A maximum of 4 blocks with cache_control may be provided. Found 5.")
        );
    }

    #[test]
    fn a_repeated_converse_prefix_is_written_then_read_and_counted_in_the_total() {
        let body = json!({
            "system": [{"text": "word ".repeat(1500)}, {"cachePoint": {"type": "default"}}],
            "messages": [{"role": "user", "content": [{"text": "hello"}]}],
        });
        let prompt = check(&body, &claude()).unwrap().prompt;
        let mut cache = std::collections::HashSet::new();
        let mut first = responder::respond(&prompt);
        first.apply_prompt_cache(&prompt.cache_checkpoints, &mut cache);
        let mut second = responder::respond(&prompt);
        second.apply_prompt_cache(&prompt.cache_checkpoints, &mut cache);
        let (u1, u2) = (usage(&first), usage(&second));
        assert_eq!(u1["cacheWriteInputTokens"], 1500);
        assert_eq!(u1["cacheReadInputTokens"], 0);
        assert_eq!(u2["cacheReadInputTokens"], 1500);
        assert_eq!(u2["inputTokens"], 1, "the user turn after the checkpoint");
        assert_eq!(
            u2["totalTokens"].as_u64(),
            Some(1 + 1500 + u64::from(second.output_tokens))
        );
    }

    #[test]
    fn inference_config_ranges_are_enforced() {
        let base = |cfg: Value| json!({"messages": [{"role": "user", "content": [{"text": "x"}]}], "inferenceConfig": cfg});
        assert!(err(base(json!({"temperature": 1.5}))).contains("less than or equal to 1"));
        assert!(err(base(json!({"maxTokens": 0}))).contains("greater than or equal to 1"));
        assert!(
            err(base(json!({"maxTokens": 999_999}))).contains("exceeds the model limit of 64000")
        );
        assert!(
            err(base(json!({"stopSequences": [""]}))).contains("length greater than or equal to 1")
        );
    }

    #[test]
    fn images_need_a_known_format_and_valid_base64() {
        let image =
            |img: Value| json!({"messages": [{"role": "user", "content": [{"image": img}]}]});
        assert!(
            err(image(json!({"format": "bmp", "source": {"bytes": "AAAA"}})))
                .contains("[png, jpeg, gif, webp]")
        );
        assert!(
            err(image(
                json!({"format": "png", "source": {"bytes": "!!notbase64"}})
            ))
            .contains("not valid base64")
        );
        assert!(
            check(
                &image(json!({"format": "png", "source": {"bytes": "iVBORw0KGgo="}})),
                &claude()
            )
            .is_ok()
        );
    }

    #[test]
    fn request_metadata_keys_values_and_size_are_checked() {
        let md = |m: Value| json!({"messages": [{"role": "user", "content": [{"text": "x"}]}], "requestMetadata": m});
        assert!(err(md(json!({}))).contains("greater than or equal to 1"));
        let many: Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(err(md(Value::Object(many))).contains("less than or equal to 16"));
        assert!(err(md(json!({"bad*key": "v"}))).contains("regular expression"));
        let ok = check(&md(json!({"team": "search", "env": "dev-1"})), &claude()).unwrap();
        assert_eq!(ok.request_metadata.unwrap()["team"], "search");
    }

    #[test]
    fn tool_blocks_need_a_tool_config_and_choices_must_name_offered_tools() {
        let with_use = json!({"messages": [{"role": "user", "content": [{"text": "x"}]}, {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}]}]});
        assert!(err(with_use).contains("toolConfig field must be defined"));
        let tools = |choice: Value| json!({"messages": [{"role": "user", "content": [{"text": "x"}]}], "toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}], "toolChoice": choice}});
        assert!(err(tools(json!({"tool": {"name": "g"}}))).contains("Tool 'g' not found"));
        let ok = check(&tools(json!({"any": {}})), &claude()).unwrap();
        assert_eq!(ok.prompt.tool_choice, Some(ToolChoice::Any));
    }

    #[test]
    fn thinking_is_honoured_on_claude_and_refused_on_nova_pro() {
        let body = json!({"messages": [{"role": "user", "content": [{"text": "x"}]}], "inferenceConfig": {"maxTokens": 4000}, "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 2000}}});
        assert!(check(&body, &claude()).unwrap().prompt.reasoning);
        let nova = capabilities("amazon.nova-pro-v1:0");
        assert!(
            check(&body, &nova)
                .unwrap_err()
                .message
                .contains("extraneous key [thinking]")
        );
    }

    #[test]
    fn stream_events_follow_bedrocks_order_with_metadata_last() {
        let mut p = Prompt {
            last_user_text: "use f".into(),
            texts: vec!["use f".into()],
            ..Prompt::default()
        };
        p.tools = vec![ToolDef {
            name: "f".into(),
            schema: json!({"type": "object", "properties": {"a": {"type": "string"}}}),
        }];
        p.tool_choice = Some(ToolChoice::Auto);
        let reply = responder::respond(&p);
        let events = stream_events(&reply, 5);
        let names: Vec<&str> = events.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.first(), Some(&"messageStart"));
        assert_eq!(&names[names.len() - 2..], &["messageStop", "metadata"]);
        let start = names
            .iter()
            .position(|n| *n == "contentBlockStart")
            .unwrap();
        assert_eq!(events[start].1["contentBlockIndex"], 1);
        let input: String = events
            .iter()
            .filter_map(|(_, v)| v["delta"]["toolUse"]["input"].as_str())
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&input).unwrap(),
            reply.tool_call.unwrap().input
        );
        assert_eq!(events[names.len() - 2].1["stopReason"], "tool_use");
    }

    #[test]
    fn guardrail_identifiers_versions_and_trace_are_checked() {
        let g = |cfg: Value| json!({"messages": [{"role": "user", "content": [{"text": "x"}]}], "guardrailConfig": cfg});
        assert!(
            err(g(
                json!({"guardrailIdentifier": "Bad Id", "guardrailVersion": "1"})
            ))
            .contains("guardrailIdentifier")
        );
        assert!(
            err(g(
                json!({"guardrailIdentifier": "abc123", "guardrailVersion": "01"})
            ))
            .contains("guardrailVersion")
        );
        assert!(
            err(g(
                json!({"guardrailIdentifier": "abc123", "guardrailVersion": "1", "trace": "on"})
            ))
            .contains("[enabled, disabled, enabled_full]")
        );
        let arn = "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123";
        assert!(
            check(
                &g(json!({"guardrailIdentifier": arn, "guardrailVersion": "DRAFT"})),
                &claude()
            )
            .is_ok()
        );
    }
}
