//! The Anthropic Messages API: `POST /v1/messages` and `POST /v1/messages/count_tokens`, for
//! Claude Code and the Anthropic SDKs.
//!
//! The caller's model name (a friendly ID, an Anthropic name such as `claude-opus-5-5`, a
//! model or system-profile ID) resolves to the tenant's profile. A Claude target gets the body
//! as sent through InvokeModel ([`claude`]); any other served model answers through Converse,
//! translated both ways ([`translate`]), so every served model answers an Anthropic client.

pub mod claude;
pub use claude::{Adjustments, claude_of, prepare_claude_body, requested_betas};
pub mod translate;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use self::claude::{Chunk, ClaudeUsage, read_chunk};
use crate::bedrock::{Bedrock, CountTokensInput, InvokeRequest};
use crate::dialect::Dialect;
use crate::directory::Directory;
use crate::error::{Rendered, RouterError, error_body};
use crate::handler::Call;
use crate::metrics::RequestRecord;
use crate::relay::{Encoder, Relay, Reply, json_reply};
use crate::sse;

/// What the router reads of a Messages request before deciding where it goes; the body itself
/// travels on as the caller wrote it.
#[derive(Debug, Deserialize)]
struct MessagesRequest {
    model: String,
    /// Required by `/v1/messages`, absent from `count_tokens`.
    #[serde(default)]
    max_tokens: Option<u64>,
    messages: Vec<MessageShape>,
    #[serde(default)]
    stream: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct MessageShape {
    #[allow(dead_code)]
    role: RoleShape,
    #[allow(dead_code)]
    content: ContentShape,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RoleShape {
    User,
    Assistant,
}

#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a string or a list of content blocks")]
enum ContentShape {
    #[allow(dead_code)]
    Text(String),
    #[allow(dead_code)]
    Blocks(Vec<Map<String, Value>>),
}

/// The body as an object and its shape, or a 400 naming the field at fault.
fn read_request(value: Value) -> Result<(Map<String, Value>, MessagesRequest), RouterError> {
    let Value::Object(object) = value else {
        return Err(RouterError::invalid(
            "body",
            "the body must be a JSON object (an Anthropic Messages request)",
        ));
    };
    let shape: MessagesRequest = serde_path_to_error::deserialize(Value::Object(object.clone()))
        .map_err(|e| {
            let path = e.path().to_string();
            RouterError::invalid(path.clone(), format!("`{path}`: {}", e.inner()))
        })?;
    if shape.messages.is_empty() {
        return Err(RouterError::invalid(
            "messages",
            "`messages` must hold at least one message",
        ));
    }
    Ok((object, shape))
}

/// `POST /v1/messages`.
pub async fn messages<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Reply, RouterError> {
    let (object, shape) = read_request(call.json_body(body)?)?;
    match shape.max_tokens {
        Some(n) if n > 0 => {}
        _ => {
            return Err(RouterError::invalid(
                "max_tokens",
                "`max_tokens` is required: a whole number of at least 1",
            ));
        }
    }
    let target = call.target(&shape.model).await?;
    let stream = shape.stream.unwrap_or(false);
    tracing::info!(model = %target.friendly_id, tenant = %call.tenant.name, profiles = target.sites.len(), stream, "anthropic messages");
    match claude_of(&target) {
        Some(model) => {
            let betas = requested_betas(header(headers, "anthropic-beta"), &object);
            let (body, adjusted) =
                prepare_claude_body(object, model, target.caps.max_output_tokens, &betas)?;
            call.record.adjustments = u32::try_from(adjusted.count()).unwrap_or(u32::MAX);
            call.record.adjusted = adjusted.header();
            let request = InvokeRequest {
                body,
                accept: Some("application/json".into()),
                request_metadata: call.attribution(&target),
                ..InvokeRequest::default()
            };
            if stream {
                let (first, events, used) = call.invoke_stream(&target, request).await?;
                Ok(Reply::Stream(Box::new(Relay {
                    first,
                    events,
                    target: used,
                    deadline: call.deadline,
                    encoder: ClaudeEvents,
                })))
            } else {
                let (response, _) = call.invoke(&target, request).await?;
                let mut answer: Value = serde_json::from_slice(&response.body).map_err(|e| {
                    RouterError::Internal(format!("Bedrock's Claude answer is not JSON: {e}"))
                })?;
                if let Some(usage) = answer
                    .get("usage")
                    .cloned()
                    .and_then(|u| serde_json::from_value::<ClaudeUsage>(u).ok())
                {
                    note_claude_usage(call.record, &usage);
                }
                // The caller's name for the model, as Anthropic's API answers.
                answer["model"] = Value::String(shape.model);
                Ok(json_reply(StatusCode::OK, &answer))
            }
        }
        None => {
            let (mut request, dropped) = translate::to_converse(&object, &target)?;
            if !dropped.is_empty() {
                call.record.adjustments = u32::try_from(dropped.len()).unwrap_or(u32::MAX);
                call.record.adjusted = Some(format!("fields={}", dropped.join(",")));
            }
            call.attribute(&mut request, &target)?;
            if stream {
                let (first, events, used) = call.converse_stream(&target, request).await?;
                Ok(Reply::Stream(Box::new(Relay {
                    first,
                    events,
                    target: used,
                    deadline: call.deadline,
                    encoder: translate::MessageEvents::new(&shape.model),
                })))
            } else {
                let (response, _) = call.converse(&target, request).await?;
                Ok(json_reply(
                    StatusCode::OK,
                    &translate::from_converse(&response, &shape.model),
                ))
            }
        }
    }
}

/// `POST /v1/messages/count_tokens`: Bedrock's CountTokens on the target's base model. Where
/// Bedrock cannot count for that model, its refusal is passed on (never an invented number:
/// Claude Code falls back to its own estimate only on a non-2xx answer).
pub async fn count_tokens<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Reply, RouterError> {
    let (mut object, shape) = read_request(call.json_body(body)?)?;
    let target = call.target(&shape.model).await?;
    let input = match claude_of(&target) {
        Some(model) => {
            // InvokeModel's body needs max_tokens; counting input does not depend on it.
            object
                .entry("max_tokens")
                .or_insert_with(|| json!(target.caps.max_output_tokens));
            let betas = requested_betas(header(headers, "anthropic-beta"), &object);
            let (body, _) =
                prepare_claude_body(object, model, target.caps.max_output_tokens, &betas)?;
            CountTokensInput::InvokeModel(body)
        }
        None => {
            let (request, _) = translate::to_converse(&object, &target)?;
            CountTokensInput::Converse(Box::new(request))
        }
    };
    let tokens = call.count_tokens(&target, input).await?;
    Ok(json_reply(StatusCode::OK, &json!({"input_tokens": tokens})))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn note_claude_usage(record: &mut RequestRecord, usage: &ClaudeUsage) {
    if usage.input_tokens > 0 || usage.cache_read_input_tokens > 0 {
        record.input_tokens = usage.input_tokens;
        record.cache_read_tokens = usage.cache_read_input_tokens;
        record.cache_write_tokens = usage.cache_creation_input_tokens;
    }
    if usage.output_tokens > 0 {
        record.output_tokens = usage.output_tokens;
    }
}

/// Claude's own stream events relayed as Anthropic server-sent events (`event: <type>`), with
/// Bedrock's invocation metrics read for usage and not passed on.
struct ClaudeEvents;

impl Encoder<Bytes> for ClaudeEvents {
    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }

    fn event(&mut self, chunk: &Bytes, record: &mut RequestRecord) -> Option<Bytes> {
        let (kind, json) = match read_chunk(chunk.clone()) {
            Ok(Chunk::Pass { kind, json }) => {
                if kind.starts_with("content_block") {
                    record.mark_first_token();
                }
                (kind, json)
            }
            Ok(Chunk::Start { json, usage }) => {
                note_claude_usage(record, &usage);
                ("message_start".to_owned(), json)
            }
            Ok(Chunk::Delta { json, usage }) => {
                note_claude_usage(record, &usage);
                ("message_delta".to_owned(), json)
            }
            Ok(Chunk::Stop { json, .. }) => ("message_stop".to_owned(), json),
            Err(detail) => {
                tracing::warn!(%detail, "skipped a stream chunk that is not an Anthropic event");
                return None;
            }
        };
        Some(sse::raw_event(&kind, &json))
    }

    fn error(&mut self, _err: &RouterError, rendered: &Rendered) -> Bytes {
        sse::event("error", &error_body(rendered, Dialect::Anthropic))
    }
}
