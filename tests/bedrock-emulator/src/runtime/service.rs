//! One runtime call from routing to response: resolve the model ID, check access, apply
//! faults, validate and answer (whole or streamed), and queue the invocation-log record.

use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::converse;
use super::eventstream;
use super::fail::{Fail, canonical_code};
use super::faults::{FaultKind, FaultSpec};
use super::guardrails;
use super::invoke;
use super::models::{self, Capabilities};
use super::responder::{self, Prompt, Reply};
use crate::state::{ApiError, Body, BoxError, RuntimeContext, RuntimeModel};

/// The four runtime operations, named as in invocation logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Converse,
    ConverseStream,
    InvokeModel,
    InvokeModelWithResponseStream,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Converse => "Converse",
            Op::ConverseStream => "ConverseStream",
            Op::InvokeModel => "InvokeModel",
            Op::InvokeModelWithResponseStream => "InvokeModelWithResponseStream",
        }
    }
    fn streaming(self) -> bool {
        matches!(self, Op::ConverseStream | Op::InvokeModelWithResponseStream)
    }
    fn converse(self) -> bool {
        matches!(self, Op::Converse | Op::ConverseStream)
    }
}

/// Per-call pacing header (milliseconds between stream events); overrides the global setting.
pub const PACE_HEADER: &str = "x-emulator-pace-ms";

pub const MARKETPLACE_DENIED: &str = "Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model. Refer to the Amazon Bedrock documentation for further details. Your AWS Marketplace subscription for this model cannot be completed at this time. If you recently fixed this issue, try again after 15 minutes.";

pub(super) fn from_api(e: ApiError) -> Fail {
    Fail {
        code: canonical_code(&e.error_type).unwrap_or("InternalServerException"),
        status: e.status.as_u16(),
        message: e.message,
    }
}

pub fn error_response(fail: &Fail) -> Response<Body> {
    let status = StatusCode::from_u16(fail.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut error = ApiError::new(status, fail.code, fail.message.clone());
    if fail.code == "ModelStreamErrorException" || fail.code == "ModelErrorException" {
        error = error.with_member("originalStatusCode", json!(500));
    }
    error.into_response()
}

/// A body that fails at once: hyper closes the connection without completing a response.
fn dropped() -> Response<Body> {
    let stream = futures_util::stream::once(async {
        Err::<Frame<Bytes>, BoxError>("connection dropped by an injected fault".into())
    });
    let mut response = Response::new(StreamBody::new(stream).boxed_unsync());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// What the log record needs to know about the call so far.
struct Draft {
    op: Op,
    model_id: String,
    input: Value,
    input_tokens: u32,
    cache_read_tokens: u32,
    cache_write_tokens: u32,
    request_metadata: Option<Map<String, Value>>,
    inference_region: Option<String>,
    started: Instant,
}

/// `identity.arn` from the caller's access key ID: temporary keys (`ASIA...`) stand for an
/// assumed role, long-term keys for an IAM user named after the key.
pub fn identity_arn(account: &str, access_key_id: &str) -> String {
    if access_key_id.starts_with("ASIA") {
        format!("arn:aws:sts::{account}:assumed-role/BedrockEmulatorRole/{access_key_id}")
    } else {
        format!("arn:aws:iam::{account}:user/{access_key_id}")
    }
}

fn log_record(
    ctx: &RuntimeContext,
    draft: &Draft,
    output: Option<(Value, u32)>,
    error: Option<&str>,
    text_delivery: bool,
) -> Value {
    let rc = &ctx.request;
    let mut input = json!({"inputContentType": "application/json", "inputTokenCount": draft.input_tokens,
        "cacheReadInputTokenCount": draft.cache_read_tokens, "cacheWriteInputTokenCount": draft.cache_write_tokens});
    if text_delivery {
        input["inputBodyJson"] = draft.input.clone();
    }
    let mut record = json!({
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "accountId": ctx.state.account_id(),
        "identity": {"arn": identity_arn(ctx.state.account_id(), &rc.access_key_id)},
        "region": rc.region,
        "requestId": rc.request_id,
        "operation": draft.op.name(),
        "modelId": draft.model_id,
        "input": input,
    });
    if let Some((body, tokens)) = output {
        let mut out = json!({"outputContentType": "application/json", "outputTokenCount": tokens});
        if text_delivery {
            out["outputBodyJson"] = body;
        }
        record["output"] = out;
    }
    if let Some(md) = &draft.request_metadata {
        record["requestMetadata"] = Value::Object(md.clone());
    }
    if let Some(r) = &draft.inference_region {
        record["inferenceRegion"] = json!(r);
    }
    if let Some(code) = error {
        record["errorCode"] = json!(code);
    }
    record
}

/// Queues the record when logging is configured for the caller's region.
fn write_log(
    ctx: &RuntimeContext,
    draft: &Draft,
    output: Option<(Value, u32)>,
    error: Option<&str>,
) {
    let Some(config) = ctx.state.logging_config(&ctx.request.region) else {
        return;
    };
    let Some(group) = config
        .pointer("/cloudWatchConfig/logGroupName")
        .and_then(Value::as_str)
    else {
        return;
    };
    let Some(endpoint) = ctx.state.logs_endpoint() else {
        tracing::warn!("invocation logging is configured but the emulator has no --logs-endpoint");
        return;
    };
    let text_delivery = config
        .get("textDataDeliveryEnabled")
        .and_then(Value::as_bool)
        != Some(false);
    let record = log_record(ctx, draft, output, error, text_delivery);
    ctx.state.runtime.logs.send(
        endpoint,
        &ctx.request.region,
        group,
        record.to_string(),
        chrono::Utc::now().timestamp_millis(),
    );
}

fn pick_region(model: &RuntimeModel, request_id: &str, fallback: &str) -> String {
    if model.inference_regions.is_empty() {
        return fallback.to_string();
    }
    // Cross-region routing is spread by request, deterministically per request ID.
    let digest = Sha256::digest(request_id.as_bytes());
    model.inference_regions[digest[0] as usize % model.inference_regions.len()].clone()
}

fn header_metadata(request: &Request<Bytes>) -> Result<Option<Map<String, Value>>, Fail> {
    let Some(raw) = request.headers().get("x-amzn-bedrock-request-metadata") else {
        return Ok(None);
    };
    let text = raw.to_str().map_err(|_| {
        Fail::validation("The X-Amzn-Bedrock-Request-Metadata header must be ASCII text.")
    })?;
    if text.len() > 8500 {
        return Err(converse::constraint(
            &json!(text),
            "requestMetadata",
            "have length less than or equal to 8500",
        ));
    }
    let value: Value = serde_json::from_str(text).map_err(|_| {
        Fail::validation("The X-Amzn-Bedrock-Request-Metadata header must be a JSON object of string keys and values.")
    })?;
    converse::check_request_metadata(&value).map(Some)
}

fn pace(ctx: &RuntimeContext, request: &Request<Bytes>) -> Duration {
    let per_call = request
        .headers()
        .get(PACE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    Duration::from_millis(per_call.unwrap_or_else(|| ctx.state.runtime.pace_ms()))
}

struct Prepared {
    model: RuntimeModel,
    caps: Capabilities,
    prompt: Prompt,
    reply: Reply,
    stream_fault: Option<FaultSpec>,
    /// The call's guardrail intervened.
    guardrail_intervened: bool,
    /// `trace.guardrail`, when the call asked for it.
    guardrail_trace: Option<Value>,
}

enum Early {
    Fail(Fail),
    Drop,
}

impl From<Fail> for Early {
    fn from(f: Fail) -> Self {
        Early::Fail(f)
    }
}

async fn prepare(
    ctx: &RuntimeContext,
    op: Op,
    model_id: &str,
    request: &Request<Bytes>,
    draft: &mut Draft,
) -> Result<Prepared, Early> {
    let region = &ctx.request.region;
    let model = ctx
        .state
        .runtime_model(region, model_id)
        .map_err(from_api)?;
    draft.inference_region = Some(pick_region(&model, &ctx.request.request_id, region));
    if model.called_on_demand && !model.on_demand_supported {
        return Err(Fail::validation(format!(
            "Invocation of model ID {} with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.",
            model.foundation_model_id
        ))
        .into());
    }
    if !model.access.is_invocable() {
        return Err(Fail::new("AccessDeniedException", MARKETPLACE_DENIED).into());
    }
    if op.streaming() && !model.response_streaming {
        return Err(Fail::validation("The model is unsupported for streaming.").into());
    }

    let mut stream_fault = None;
    for fault in ctx.state.runtime.faults.take(
        op.name(),
        model_id,
        &model.foundation_model_id,
        op.streaming(),
    ) {
        match fault.kind {
            FaultKind::Latency => {
                tokio::time::sleep(Duration::from_millis(fault.latency_ms.unwrap_or(0))).await
            }
            FaultKind::Throttling | FaultKind::Error => return Err(fault.fail().into()),
            FaultKind::Drop if fault.after_events.is_none() => return Err(Early::Drop),
            FaultKind::Drop | FaultKind::StreamError => stream_fault = Some(fault),
        }
    }

    let caps = models::capabilities(&model.foundation_model_id);
    let body: Value = if request.body().is_empty() && op.converse() {
        json!({})
    } else {
        serde_json::from_slice(request.body()).map_err(|e| {
            Fail::validation(format!("Malformed input request: the body is not valid JSON ({e}), please reformat your input and try again."))
        })?
    };
    if op.converse() && matches!(caps.family, models::Family::Embedding(_)) {
        return Err(Fail::validation("This action doesn't support the model that you provided. Try again with a supported text or chat model.").into());
    }
    let prompt = if op.converse() {
        let checked = converse::check(&body, &caps)?;
        draft.request_metadata = checked.request_metadata;
        checked.prompt
    } else {
        // The content type is not checked: the SDKs send application/octet-stream or nothing
        // when the caller sets none, and the body itself must parse as JSON anyway.
        draft.request_metadata = header_metadata(request)?;
        invoke::parse(&body, &caps, &model.foundation_model_id)?
    };
    let guardrail = if op.converse() {
        guardrails::from_converse(&body)
    } else {
        guardrails::from_headers(request.headers())?
    };
    let mut reply = responder::respond(&prompt);
    let applied = match &guardrail {
        Some(call) => Some(
            ctx.state
                .runtime
                .guardrails
                .apply(call, &prompt, &mut reply)?,
        ),
        None => None,
    };
    if prompt.embedding.is_some() {
        // An embedding has no output tokens; Bedrock reports 0.
        reply.output_tokens = 0;
    }
    if !prompt.cache_checkpoints.is_empty() {
        // Cache entries are per foundation model, as Bedrock's are.
        let keyed: Vec<(String, u32)> = prompt
            .cache_checkpoints
            .iter()
            .map(|(digest, tokens)| (format!("{}/{digest}", model.foundation_model_id), *tokens))
            .collect();
        ctx.state
            .runtime
            .with_prompt_cache(|cache| reply.apply_prompt_cache(&keyed, cache));
    }
    draft.input_tokens = reply.input_tokens;
    draft.cache_read_tokens = reply.cache_read_tokens;
    draft.cache_write_tokens = reply.cache_write_tokens;
    Ok(Prepared {
        model,
        caps,
        prompt,
        reply,
        stream_fault,
        guardrail_intervened: applied.as_ref().is_some_and(|a| a.intervened),
        guardrail_trace: applied.and_then(|a| a.trace),
    })
}

/// Serves one runtime call.
pub async fn serve(
    ctx: &RuntimeContext,
    op: Op,
    model_id: &str,
    request: Request<Bytes>,
) -> Response<Body> {
    let input = serde_json::from_slice::<Value>(request.body())
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(request.body()).into_owned()));
    let mut draft = Draft {
        op,
        model_id: model_id.to_string(),
        input,
        input_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        request_metadata: None,
        inference_region: None,
        started: Instant::now(),
    };
    let prepared = match prepare(ctx, op, model_id, &request, &mut draft).await {
        Ok(p) => p,
        Err(Early::Fail(fail)) => {
            write_log(ctx, &draft, None, Some(fail.code));
            return error_response(&fail);
        }
        Err(Early::Drop) => {
            write_log(ctx, &draft, None, Some("ConnectionDropped"));
            return dropped();
        }
    };
    let pace = pace(ctx, &request);
    match op {
        Op::Converse | Op::InvokeModel => {
            let body = if op == Op::Converse {
                let mut body = converse::response(&prepared.reply, latency(&draft));
                if let Some(trace) = &prepared.guardrail_trace {
                    body["trace"] = json!({ "guardrail": trace });
                }
                body
            } else {
                let mut body = invoke::response(
                    prepared.caps.family,
                    &prepared.reply,
                    &prepared.prompt,
                    &prepared.model.foundation_model_id,
                );
                mark_invoke_guardrail(&mut body, &prepared);
                body
            };
            let bytes = Bytes::from(body.to_string());
            write_log(
                ctx,
                &draft,
                Some((body, prepared.reply.output_tokens)),
                None,
            );
            json_response(bytes, &prepared.reply, &draft)
        }
        Op::ConverseStream => {
            let mut events = converse::stream_events(&prepared.reply, latency(&draft));
            if let (Some(trace), Some((_, metadata))) =
                (&prepared.guardrail_trace, events.last_mut())
            {
                metadata["trace"] = json!({ "guardrail": trace });
            }
            let aggregated = converse::response(&prepared.reply, latency(&draft));
            let frames = events
                .into_iter()
                .enumerate()
                .map(|(i, (name, mut payload))| {
                    if name != "metadata" {
                        payload["p"] = json!(eventstream::padding(i as u64 * 7 + 3));
                    }
                    eventstream::event(name, &payload)
                })
                .collect();
            stream(ctx, draft, frames, prepared, pace, Some(aggregated), None)
        }
        Op::InvokeModelWithResponseStream => {
            let mut chunks = invoke::stream_chunks(
                prepared.caps.family,
                &prepared.reply,
                &prepared.prompt,
                &prepared.model.foundation_model_id,
            );
            let metrics = json!({
                "inputTokenCount": prepared.reply.input_tokens,
                "outputTokenCount": prepared.reply.output_tokens,
                "cacheReadInputTokenCount": prepared.reply.cache_read_tokens,
                "cacheWriteInputTokenCount": prepared.reply.cache_write_tokens,
                "invocationLatency": latency(&draft) + pace.as_millis() as u64 * chunks.len() as u64,
                "firstByteLatency": latency(&draft),
            });
            if let Some(last) = chunks.last_mut() {
                last["amazon-bedrock-invocationMetrics"] = metrics;
                mark_invoke_guardrail(last, &prepared);
            }
            let frames = chunks
                .iter()
                .enumerate()
                .map(|(i, chunk)| {
                    let bytes = base64::engine::general_purpose::STANDARD.encode(chunk.to_string());
                    eventstream::event(
                        "chunk",
                        &json!({"bytes": bytes, "p": eventstream::padding(i as u64 * 5 + 11)}),
                    )
                })
                .collect();
            stream(
                ctx,
                draft,
                frames,
                prepared,
                pace,
                None,
                Some(Value::Array(chunks)),
            )
        }
    }
}

/// An InvokeModel answer a guardrail changed says so as Bedrock's does
/// (`amazon-bedrock-guardrailAction`, `amazon-bedrock-trace`); the model's own stop reason
/// field keeps its family's vocabulary.
fn mark_invoke_guardrail(body: &mut Value, prepared: &Prepared) {
    if !prepared.guardrail_intervened && prepared.guardrail_trace.is_none() {
        return;
    }
    if let Some(object) = body.as_object_mut() {
        object.insert(
            "amazon-bedrock-guardrailAction".into(),
            json!(if prepared.guardrail_intervened {
                "INTERVENED"
            } else {
                "NONE"
            }),
        );
        if let Some(trace) = &prepared.guardrail_trace {
            object.insert("amazon-bedrock-trace".into(), json!({ "guardrail": trace }));
        }
        for key in ["stop_reason", "stopReason"] {
            if object.get(key).and_then(Value::as_str) == Some("guardrail_intervened") {
                object.insert(key.into(), json!("end_turn"));
            }
        }
    }
}

fn latency(draft: &Draft) -> u64 {
    (draft.started.elapsed().as_millis() as u64).max(1)
}

fn json_response(body: Bytes, reply: &Reply, draft: &Draft) -> Response<Body> {
    let mut response = Response::new(crate::state::full_body(body));
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "x-amzn-bedrock-input-token-count",
        HeaderValue::from(reply.input_tokens),
    );
    headers.insert(
        "x-amzn-bedrock-output-token-count",
        HeaderValue::from(reply.output_tokens),
    );
    headers.insert(
        "x-amzn-bedrock-invocation-latency",
        HeaderValue::from(latency(draft)),
    );
    response
}

/// Streams frames as they are produced: a task sends each frame into a channel that the
/// response body reads, pausing `pace` between frames, and writes the log once the stream ends.
fn stream(
    ctx: &RuntimeContext,
    draft: Draft,
    frames: Vec<Bytes>,
    prepared: Prepared,
    pace: Duration,
    converse_output: Option<Value>,
    invoke_output: Option<Value>,
) -> Response<Body> {
    let ctx = ctx.clone();
    let fault = prepared.stream_fault.clone();
    let output_tokens = prepared.reply.output_tokens;
    let is_invoke = invoke_output.is_some();
    let fault_at = fault
        .as_ref()
        .map(|f| f.after_events.unwrap_or(1).min(frames.len()));
    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, BoxError>>(4);
    tokio::spawn(async move {
        let mut error: Option<&'static str> = None;
        for (i, frame) in frames.into_iter().enumerate() {
            if i > 0 && !pace.is_zero() {
                tokio::time::sleep(pace).await;
            }
            if fault_at == Some(i) {
                error = Some(send_fault(&tx, fault.as_ref(), is_invoke).await);
                break;
            }
            if tx.send(Ok(Frame::data(frame))).await.is_err() {
                error = Some("ClientDisconnected");
                break;
            }
        }
        if error.is_none() && fault_at.is_some() {
            // A fault placed after the last event still fires, at the end.
            error = Some(send_fault(&tx, fault.as_ref(), is_invoke).await);
        }
        drop(tx);
        let output = match error {
            Some(_) => None,
            None => converse_output
                .or(invoke_output)
                .map(|o| (o, output_tokens)),
        };
        write_log(&ctx, &draft, output, error);
    });
    let body_stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Response::new(StreamBody::new(body_stream).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    if is_invoke {
        headers.insert(
            "x-amzn-bedrock-content-type",
            HeaderValue::from_static("application/json"),
        );
    }
    response
}

async fn send_fault(
    tx: &mpsc::Sender<Result<Frame<Bytes>, BoxError>>,
    fault: Option<&FaultSpec>,
    is_invoke: bool,
) -> &'static str {
    let Some(fault) = fault else {
        return "InternalServerException";
    };
    if fault.kind == FaultKind::Drop {
        // Let the server write out the frames already produced before the connection goes, so
        // the client sees the stream break mid-way rather than before its first event.
        while tx.capacity() < tx.max_capacity() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = tx
            .send(Err(
                "connection dropped mid-stream by an injected fault".into()
            ))
            .await;
        return "ConnectionDropped";
    }
    let mut fail = fault.fail();
    // ConverseStream has no modelTimeoutException event; the SDK would not recognise it.
    if !is_invoke && fail.code == "ModelTimeoutException" {
        fail = Fail::new("ModelStreamErrorException", fail.message);
    }
    let mut payload = json!({"message": fail.message});
    if fail.code == "ModelStreamErrorException" {
        payload["originalStatusCode"] = json!(500);
        payload["originalMessage"] = json!(fail.message);
    }
    let frame = eventstream::exception(&fail.stream_member(), &payload);
    let _ = tx.send(Ok(Frame::data(frame))).await;
    fail.code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_arns_follow_the_key_kind() {
        assert_eq!(
            identity_arn("123456789012", "AKIAIOSFODNN7EXAMPLE"),
            "arn:aws:iam::123456789012:user/AKIAIOSFODNN7EXAMPLE"
        );
        assert_eq!(
            identity_arn("123456789012", "ASIAXYZ"),
            "arn:aws:sts::123456789012:assumed-role/BedrockEmulatorRole/ASIAXYZ"
        );
    }
}
