//! Bedrock's own runtime API, so existing Bedrock code only changes its endpoint:
//! `/model/{modelId}/converse` and `/converse-stream` take and return Converse's JSON shapes
//! unchanged (the stream in Bedrock's event-stream framing); the router only
//! resolves `modelId` to the tenant's profile, checks the body against the
//! model's capabilities and adds its attribution. [`invoke`] serves the InvokeModel family and
//! CountTokens, [`control`] the profile reads.

use http::StatusCode;

use crate::bedrock::Bedrock;
use crate::caps::Target;
use crate::converse::{ContentBlock, ConverseRequest, SystemBlock, Tool, ToolResultContent};
use crate::directory::Directory;
use crate::error::RouterError;
use crate::handler::Call;
use crate::relay::{OpenStream, Relay, Reply, json_reply};

pub mod control;
pub mod invoke;
mod model_id;
mod stream;

/// Whether the caller asked for server-sent events instead of Bedrock's event stream.
fn wants_sse(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/event-stream"))
}

/// `POST /model/{modelId}/converse`.
pub async fn converse<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    raw_id: &str,
    body: &[u8],
) -> Result<Reply, RouterError> {
    let (target, request) = prepare(call, raw_id, body, false).await?;
    let (response, _) = call.converse(&target, request).await?;
    let body = serde_json::to_value(&response)
        .map_err(|e| RouterError::Internal(format!("response serialisation failed: {e}")))?;
    Ok(json_reply(StatusCode::OK, &body))
}

/// `POST /model/{modelId}/converse-stream`: Bedrock's event stream, or server-sent events
/// for a caller that asks for them with `Accept: text/event-stream`.
pub async fn converse_stream<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    raw_id: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Reply, RouterError> {
    let (target, request) = prepare(call, raw_id, body, true).await?;
    let (first, events, used) = call.converse_stream(&target, request).await?;
    let deadline = call.deadline;
    let relay: Box<dyn OpenStream> = if wants_sse(headers) {
        Box::new(Relay {
            first,
            events,
            target: used,
            deadline,
            encoder: stream::NamedEvents,
        })
    } else {
        Box::new(Relay {
            first,
            events,
            target: used,
            deadline,
            encoder: stream::ConverseFrames,
        })
    };
    Ok(Reply::Stream(relay))
}

async fn prepare<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    raw_id: &str,
    body: &[u8],
    stream: bool,
) -> Result<(Target, ConverseRequest), RouterError> {
    let value = call.json_body(body)?;
    let mut request: ConverseRequest = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        RouterError::invalid(
            if path == "." {
                "body".to_owned()
            } else {
                path.clone()
            },
            format!(
                "the body does not match the Converse request shape at `{path}`: {}",
                e.inner()
            ),
        )
    })?;
    let target = model_id::target(call, raw_id).await?;
    check_native(&request, &target)?;
    call.attribute(&mut request, &target)?;
    tracing::info!(model = %target.friendly_id, tenant = %call.tenant.name, profiles = target.sites.len(), stream, "native converse");
    Ok((target, request))
}

/// Checks a native request against the model's capabilities, so a feature the model cannot
/// take is refused with its parameter named instead of failing inside Bedrock.
pub(super) fn check_native(request: &ConverseRequest, target: &Target) -> Result<(), RouterError> {
    let unsupported = |feature: &str, param: &str, remedy: &str| RouterError::Unsupported {
        model: target.friendly_id.clone(),
        feature: feature.to_owned(),
        param: param.to_owned(),
        remedy: remedy.to_owned(),
    };
    if request.messages.is_empty() {
        return Err(RouterError::invalid(
            "messages",
            "`messages` must hold at least one message",
        ));
    }
    let caps = &target.caps;
    for (i, m) in request.messages.iter().enumerate() {
        if m.content.is_empty() {
            return Err(RouterError::invalid(
                format!("messages[{i}].content"),
                format!("`messages[{i}].content` must hold at least one content block"),
            ));
        }
        for (j, block) in m.content.iter().enumerate() {
            let param = format!("messages[{i}].content[{j}]");
            match block {
                ContentBlock::Image(img) => {
                    if !caps.image_input {
                        return Err(unsupported("image input", &param, "send text only"));
                    }
                    check_base64(&param, &img.source.bytes)?;
                }
                ContentBlock::Document(doc) => {
                    if !caps.document_input {
                        return Err(unsupported("document input", &param, "send text only"));
                    }
                    check_base64(&param, &doc.source.bytes)?;
                }
                ContentBlock::ToolUse(_) | ContentBlock::ToolResult(_) if !caps.tool_use => {
                    return Err(unsupported("tool use", &param, "remove tool blocks"));
                }
                ContentBlock::ToolResult(r) => {
                    for c in &r.content {
                        if let ToolResultContent::Image(img) = c {
                            check_base64(&param, &img.source.bytes)?;
                        }
                    }
                }
                ContentBlock::CachePoint(_) if caps.prompt_caching.is_none() => {
                    return Err(unsupported(
                        "prompt caching",
                        &param,
                        "remove cachePoint blocks",
                    ));
                }
                ContentBlock::Text(t) if t.is_empty() => {
                    return Err(RouterError::invalid(param, "text blocks must not be empty"));
                }
                _ => {}
            }
        }
    }
    for (i, block) in request.system.iter().enumerate() {
        match block {
            SystemBlock::Text(t) if t.is_empty() => {
                return Err(RouterError::invalid(
                    format!("system[{i}]"),
                    "system text blocks must not be empty",
                ));
            }
            SystemBlock::CachePoint(_) if caps.prompt_caching.is_none() => {
                return Err(unsupported(
                    "prompt caching",
                    &format!("system[{i}]"),
                    "remove cachePoint blocks",
                ));
            }
            _ => {}
        }
    }
    if let Some(tc) = &request.tool_config
        && caps.prompt_caching.is_none()
        && tc.tools.iter().any(|t| matches!(t, Tool::CachePoint(_)))
    {
        return Err(unsupported(
            "prompt caching",
            "toolConfig.tools",
            "remove cachePoint entries",
        ));
    }
    if request.tool_config.is_some() && !caps.tool_use {
        return Err(unsupported("tool use", "toolConfig", "omit toolConfig"));
    }
    if request.output_config.is_some() && !caps.json_schema_output {
        return Err(unsupported(
            "structured output",
            "outputConfig",
            "omit outputConfig",
        ));
    }
    if let Some(max) = request.inference_config.as_ref().and_then(|c| c.max_tokens)
        && max > caps.max_output_tokens
    {
        return Err(RouterError::invalid(
            "inferenceConfig.maxTokens",
            format!(
                "`inferenceConfig.maxTokens` is {max}, but model `{}` produces at most {} output tokens",
                target.friendly_id, caps.max_output_tokens
            ),
        ));
    }
    Ok(())
}

fn check_base64(param: &str, b64: &str) -> Result<(), RouterError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map(|_| ())
        .map_err(|e| {
            RouterError::invalid(param, format!("`{param}` bytes are not valid base64: {e}"))
        })
}
