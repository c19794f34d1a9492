//! InvokeModel, InvokeModelWithResponseStream and CountTokens as Bedrock answers them: the
//! model's native body passes through (a Claude body is first made one Bedrock takes for the
//! target model, every change named in `x-router-dropped`), InvokeModel's headers are carried
//! to Bedrock, and the stream goes back as event-stream `chunk` frames as each chunk arrives.

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::bedrock::{Bedrock, CountTokensInput, InvokeRequest};
use crate::caps::Target;
use crate::converse::ConverseRequest;
use crate::dialect::anthropic::{claude_of, prepare_claude_body, requested_betas};
use crate::directory::Directory;
use crate::error::{Rendered, RouterError};
use crate::eventstream;
use crate::handler::{Call, MAX_METADATA_ENTRIES};
use crate::metrics::RequestRecord;
use crate::relay::{Encoder, Relay, Reply};

use super::model_id;
use super::stream::stream_exception_member;

/// `POST /model/{modelId}/invoke`.
pub async fn invoke<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    raw_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Reply, RouterError> {
    let (target, request) = prepare(call, raw_id, headers, body, "accept").await?;
    let started = std::time::Instant::now();
    let (response, _) = call.invoke(&target, request).await?;
    // Bedrock's own figure is not in the SDK's output; the time the router waited on Bedrock
    // (every attempt included) is the closest honest stand-in, and callers that log it keep working.
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let usage = body_usage(&response.body);
    if let Some((input, output)) = usage {
        call.record.input_tokens = input;
        call.record.output_tokens = output;
    }
    let mut answer = Response::new(response.body);
    let out = answer.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&response.content_type) {
        out.insert(header::CONTENT_TYPE, v);
    }
    if let Some((input, output)) = usage {
        out.insert("x-amzn-bedrock-input-token-count", input.into());
        out.insert("x-amzn-bedrock-output-token-count", output.into());
    }
    out.insert("x-amzn-bedrock-invocation-latency", latency_ms.into());
    Ok(Reply::Whole(answer))
}

/// `POST /model/{modelId}/invoke-with-response-stream`.
pub async fn invoke_stream<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    raw_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Reply, RouterError> {
    let (target, request) = prepare(call, raw_id, headers, body, "x-amzn-bedrock-accept").await?;
    let (first, events, used) = call.invoke_stream(&target, request).await?;
    Ok(Reply::Stream(Box::new(Relay {
        first,
        events,
        target: used,
        deadline: call.deadline,
        encoder: ChunkFrames,
    })))
}

/// `POST /model/{modelId}/count-tokens`: Bedrock's CountTokens request
/// (`{"input": {"invokeModel": {"body": base64}}}` or `{"input": {"converse": {...}}}`),
/// counted on the foundation model under the team's profile.
pub async fn count_tokens<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    raw_id: &str,
    body: &[u8],
) -> Result<Reply, RouterError> {
    #[derive(Deserialize)]
    struct CountTokensRequest {
        input: Input,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    enum Input {
        InvokeModel { body: String },
        Converse(Box<ConverseRequest>),
    }
    let value = call.json_body(body)?;
    let request: CountTokensRequest = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        RouterError::invalid(
            path.clone(),
            format!(
                "the body does not match CountTokens' request shape (`{{\"input\": {{\"invokeModel\": {{\"body\": <base64>}}}}}}` or `{{\"input\": {{\"converse\": {{...}}}}}}`) at `{path}`: {}",
                e.inner()
            ),
        )
    })?;
    let target = model_id::target(call, raw_id).await?;
    let input = match request.input {
        Input::InvokeModel { body } => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(body.as_bytes())
                .map_err(|e| {
                    RouterError::invalid(
                        "input.invokeModel.body",
                        format!("`input.invokeModel.body` is not valid base64: {e}"),
                    )
                })?;
            CountTokensInput::InvokeModel(model_body(call, &target, &raw)?)
        }
        Input::Converse(request) => {
            super::check_native(&request, &target)?;
            CountTokensInput::Converse(request)
        }
    };
    let tokens = call.count_tokens(&target, input).await?;
    Ok(crate::relay::json_reply(
        StatusCode::OK,
        &json!({ "inputTokens": tokens }),
    ))
}

/// The target and the InvokeModel request for a path's model, with the caller's headers and
/// the router's attribution.
async fn prepare<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    raw_id: &str,
    headers: &HeaderMap,
    body: &[u8],
    accept_header: &str,
) -> Result<(Target, InvokeRequest), RouterError> {
    call.check_size(body)?;
    let target = model_id::target(call, raw_id).await?;
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut request_metadata = match text("x-amzn-bedrock-request-metadata") {
        None => Default::default(),
        Some(raw) => serde_json::from_str::<std::collections::BTreeMap<String, String>>(&raw)
            .map_err(|e| {
                RouterError::invalid(
                    "X-Amzn-Bedrock-Request-Metadata",
                    format!(
                        "`X-Amzn-Bedrock-Request-Metadata` must be a JSON object of strings: {e}"
                    ),
                )
            })?,
    };
    request_metadata.extend(call.attribution(&target));
    if request_metadata.len() > MAX_METADATA_ENTRIES {
        return Err(RouterError::invalid(
            "X-Amzn-Bedrock-Request-Metadata",
            format!(
                "request metadata may hold at most {} entries of your own; the router adds `model` and `tenant`",
                MAX_METADATA_ENTRIES - 2
            ),
        ));
    }
    let body = model_body(call, &target, body)?;
    tracing::info!(model = %target.friendly_id, tenant = %call.tenant.name, profiles = target.sites.len(), "native invoke");
    let request = InvokeRequest {
        body,
        content_type: text("content-type"),
        accept: text(accept_header),
        trace: text("x-amzn-bedrock-trace"),
        guardrail_identifier: text("x-amzn-bedrock-guardrailidentifier"),
        guardrail_version: text("x-amzn-bedrock-guardrailversion"),
        performance_config_latency: text("x-amzn-bedrock-performanceconfig-latency"),
        request_metadata,
    };
    Ok((target, request))
}

/// The body Bedrock gets: a Claude target's body made one the model takes there (every
/// change noted in the record), any other model's unchanged.
fn model_body<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    target: &Target,
    body: &[u8],
) -> Result<Bytes, RouterError> {
    let Some(model) = claude_of(target) else {
        return Ok(Bytes::copy_from_slice(body));
    };
    let object: Map<String, Value> = match call.json_body(body)? {
        Value::Object(object) => object,
        _ => {
            return Err(RouterError::invalid(
                "body",
                "a Claude InvokeModel body must be a JSON object (an Anthropic Messages request)",
            ));
        }
    };
    let betas = requested_betas(None, &object);
    let (body, adjusted) =
        prepare_claude_body(object, model, target.caps.max_output_tokens, &betas)?;
    call.record.adjustments = u32::try_from(adjusted.count()).unwrap_or(u32::MAX);
    call.record.adjusted = adjusted.header();
    Ok(body)
}

/// Input and output tokens from a model's answer: Anthropic's `usage.input_tokens`, Converse-
/// style `usage.inputTokens`, or Bedrock's `amazon-bedrock-invocationMetrics`.
fn body_usage(body: &[u8]) -> Option<(u64, u64)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let pair = |o: &Value, input: &str, output: &str| {
        Some((o.get(input)?.as_u64()?, o.get(output)?.as_u64()?))
    };
    value
        .get("amazon-bedrock-invocationMetrics")
        .and_then(|m| pair(m, "inputTokenCount", "outputTokenCount"))
        .or_else(|| {
            let usage = value.get("usage")?;
            pair(usage, "input_tokens", "output_tokens")
                .or_else(|| pair(usage, "inputTokens", "outputTokens"))
        })
}

/// InvokeModelWithResponseStream's chunks as Bedrock frames them: `:event-type chunk` with
/// `{"bytes": "<base64 of the model's chunk>"}`.
struct ChunkFrames;

impl Encoder<Bytes> for ChunkFrames {
    fn content_type(&self) -> &'static str {
        eventstream::CONTENT_TYPE
    }

    fn event(&mut self, chunk: &Bytes, record: &mut RequestRecord) -> Option<Bytes> {
        record.mark_first_token();
        // Only the last chunk carries Bedrock's metrics; the others are not parsed whole.
        if chunk
            .windows(b"invocationMetrics".len())
            .any(|w| w == b"invocationMetrics")
            && let Some((input, output)) = body_usage(chunk)
        {
            record.input_tokens = input;
            record.output_tokens = output;
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(chunk);
        Some(eventstream::event("chunk", &json!({ "bytes": encoded })))
    }

    fn error(&mut self, err: &RouterError, rendered: &Rendered) -> Bytes {
        let member = match err {
            RouterError::Bedrock { source, .. } => stream_exception_member(source.kind, true),
            _ => "internalServerException",
        };
        eventstream::exception(member, &rendered.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_read_from_each_shape_a_model_answers_in() {
        assert_eq!(
            body_usage(br#"{"usage":{"input_tokens":3,"output_tokens":5}}"#),
            Some((3, 5))
        );
        assert_eq!(
            body_usage(br#"{"usage":{"inputTokens":2,"outputTokens":1}}"#),
            Some((2, 1))
        );
        assert_eq!(
            body_usage(
                br#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":7,"outputTokenCount":9}}"#
            ),
            Some((7, 9))
        );
        assert_eq!(body_usage(b"not json"), None);
    }
}
