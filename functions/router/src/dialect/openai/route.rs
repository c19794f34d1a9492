//! The OpenAI routes: chat completions (whole and streamed) and the model list.

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use super::{ChunkTranslator, caps_json, from_converse, parse_chat_request, to_converse};
use crate::bedrock::Bedrock;
use crate::converse::StreamEvent;
use crate::dialect::Dialect;
use crate::directory::Directory;
use crate::error::{Rendered, RouterError, error_body};
use crate::handler::Call;
use crate::metrics::RequestRecord;
use crate::relay::{Encoder, Relay, Reply, json_reply};
use crate::routes::decode_label;
use crate::sse;

/// `GET /v1/models`: the tenant's models with their capabilities.
pub fn models<B: Bedrock, D: Directory>(call: &Call<'_, B, D>) -> Result<Reply, RouterError> {
    Ok(json_reply(
        StatusCode::OK,
        &json!({"object": "list", "data": listed(call.directory())}),
    ))
}

/// `GET /v1/models/{id}`: one model, found the way a completion would find it.
pub fn model<B: Bedrock, D: Directory>(
    call: &Call<'_, B, D>,
    raw_id: &str,
) -> Result<Reply, RouterError> {
    let id = decode_label(raw_id)?;
    let resolution = call.directory().resolve(&id)?;
    let entry = listed(call.directory())
        .into_iter()
        .find(|m| m["id"] == resolution.friendly_id.as_str())
        .ok_or_else(|| {
            RouterError::Internal(format!(
                "`{}` resolves but is not listed",
                resolution.friendly_id
            ))
        })?;
    Ok(json_reply(StatusCode::OK, &entry))
}

fn listed<D: Directory>(dir: &D) -> Vec<Value> {
    dir.list()
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id,
                "object": "model",
                "created": 0,
                "owned_by": if m.via_profile { "bedrock-application-inference-profile" } else { "bedrock" },
                "capabilities": m.caps.as_ref().map(|caps| {
                    let mut caps = caps_json(caps);
                    caps["embeddings"] = super::embeddings::Embedder::of(&m.id)
                        .map_or(Value::Null, super::embeddings::Embedder::caps_json);
                    caps
                }),
            })
        })
        .collect()
}

/// `POST /v1/chat/completions`.
pub async fn chat<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Reply, RouterError> {
    let chat = parse_chat_request(call.json_body(body)?)?;
    let target = call.target(&chat.model).await?;
    let mut request = to_converse(&chat, &target)?;
    call.cache_prompt(&mut request, &target, headers)?;
    call.attribute(&mut request, &target)?;
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = chrono::Utc::now().timestamp();
    tracing::info!(model = %target.friendly_id, tenant = %call.tenant.name, profiles = target.sites.len(), stream = chat.stream, "chat completion");
    if chat.stream {
        let (first, events, used) = call.converse_stream(&target, request).await?;
        Ok(Reply::Stream(Box::new(Relay {
            first,
            events,
            target: used,
            deadline: call.deadline,
            encoder: ChunkEncoder(ChunkTranslator::new(
                id,
                created,
                chat.model.clone(),
                chat.include_usage,
            )),
        })))
    } else {
        let (response, _) = call.converse(&target, request).await?;
        Ok(json_reply(
            StatusCode::OK,
            &from_converse(&response, &target.friendly_id, &id, created),
        ))
    }
}

/// OpenAI's stream framing: `data: <chunk>` lines, `data: [DONE]` at the end.
struct ChunkEncoder(ChunkTranslator);

impl Encoder<StreamEvent> for ChunkEncoder {
    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }

    fn event(&mut self, event: &StreamEvent, record: &mut RequestRecord) -> Option<Bytes> {
        record.note_converse_event(event);
        let chunks = self.0.on_event(event);
        if chunks.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        for chunk in &chunks {
            out.extend_from_slice(&sse::data(chunk));
        }
        Some(Bytes::from(out))
    }

    fn error(&mut self, _err: &RouterError, rendered: &Rendered) -> Bytes {
        sse::data(&error_body(rendered, Dialect::OpenAi))
    }

    fn end(&mut self) -> Option<Bytes> {
        Some(sse::done())
    }
}
