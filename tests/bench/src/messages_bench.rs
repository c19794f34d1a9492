//! The Anthropic Messages route (`/v1/messages`) in-process, beside the same Claude body sent
//! straight to the emulator's InvokeModel with the Rust SDK: added latency and first-byte
//! overhead, with the same targets as the chat route.

use std::time::Instant;

use aws_sdk_bedrockruntime::primitives::Blob;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};

use crate::error::BenchError;
use crate::harness::{self, BenchRouter, Counts, MODEL, PROMPT, Stack};
use crate::report::{Row, Target};
use crate::stats::percentile;

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn messages_body(stream: bool) -> Value {
    json!({"model": MODEL, "max_tokens": 256, "stream": stream,
           "messages": [{"role": "user", "content": PROMPT}]})
}

fn invoke_body() -> Blob {
    let body = json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256,
                      "messages": [{"role": "user", "content": PROMPT}]});
    Blob::new(body.to_string().into_bytes())
}

fn bad(what: &str, detail: impl Into<String>) -> BenchError {
    BenchError::BadAnswer {
        what: what.into(),
        detail: detail.into(),
    }
}

/// One `/v1/messages` call through the handler; the offset of the first body frame and of
/// the end, in ms.
async fn router_call(router: &BenchRouter, stream: bool) -> Result<(f64, f64), BenchError> {
    let start = Instant::now();
    let req = harness::request("POST", "/v1/messages", &messages_body(stream))?;
    let response = router.handle(req).await;
    if response.status() != http::StatusCode::OK {
        return Err(bad(
            "the router's /v1/messages",
            response.status().to_string(),
        ));
    }
    let mut body = response.into_body();
    let mut first = None;
    let mut bytes = 0;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame;
        if let Ok(data) = frame.into_data() {
            first.get_or_insert_with(|| ms(start.elapsed()));
            bytes += data.len();
        }
    }
    match first {
        Some(first) if bytes > 0 => Ok((first, ms(start.elapsed()))),
        _ => Err(bad("the router's /v1/messages", "an empty answer")),
    }
}

/// The same body straight to InvokeModel(WithResponseStream) on the profile.
pub(crate) async fn direct_call(stack: &Stack, stream: bool) -> Result<(f64, f64), BenchError> {
    let client = stack.runtime_client();
    let start = Instant::now();
    if stream {
        let mut out = client
            .invoke_model_with_response_stream()
            .model_id(&stack.profile_arn)
            .body(invoke_body())
            .send()
            .await
            .map_err(|e| BenchError::Sdk(format!("InvokeModelWithResponseStream: {e:?}")))?;
        let mut first = None;
        loop {
            match out.body.recv().await {
                Ok(Some(_)) => {
                    first.get_or_insert_with(|| ms(start.elapsed()));
                }
                Ok(None) => break,
                Err(e) => return Err(BenchError::Sdk(format!("stream chunk: {e:?}"))),
            }
        }
        let first = first.ok_or_else(|| bad("InvokeModelWithResponseStream", "no chunk"))?;
        Ok((first, ms(start.elapsed())))
    } else {
        let out = client
            .invoke_model()
            .model_id(&stack.profile_arn)
            .body(invoke_body())
            .send()
            .await
            .map_err(|e| BenchError::Sdk(format!("InvokeModel: {e:?}")))?;
        if out.body.as_ref().is_empty() {
            return Err(bad("InvokeModel", "an empty body"));
        }
        let t = ms(start.elapsed());
        Ok((t, t))
    }
}

/// Added latency (whole answers) and first-byte overhead (streams), interleaved call by call.
pub async fn messages(stack: &Stack, counts: Counts) -> Result<Vec<Row>, BenchError> {
    let router = stack.router()?;
    for stream in [false, true] {
        for _ in 0..10.min(counts.latency_calls) {
            router_call(&router, stream).await?;
            direct_call(stack, stream).await?;
        }
    }
    let (mut a50, mut a99, mut first) = (vec![], vec![], vec![]);
    for _ in 0..counts.repeats {
        let (mut via, mut direct) = (vec![], vec![]);
        for _ in 0..counts.latency_calls {
            via.push(router_call(&router, false).await?.1);
            direct.push(direct_call(stack, false).await?.1);
        }
        a50.push(percentile(&via, 50.0) - percentile(&direct, 50.0));
        a99.push(percentile(&via, 99.0) - percentile(&direct, 99.0));
        let (mut via_first, mut direct_first) = (vec![], vec![]);
        for _ in 0..counts.streams {
            via_first.push(router_call(&router, true).await?.0);
            direct_first.push(direct_call(stack, true).await?.0);
        }
        first.push(percentile(&via_first, 50.0) - percentile(&direct_first, 50.0));
    }
    let s = "anthropic messages (in-process)";
    Ok(vec![
        Row::new(s, "added latency p50", "ms")
            .values(&a50)
            .target(Target::at_most(0.15))
            .note(format!(
                "{} calls a run, Claude through InvokeModel",
                counts.latency_calls
            )),
        Row::new(s, "added latency p99", "ms")
            .values(&a99)
            .target(Target::at_most(0.3)),
        Row::new(s, "first-byte overhead", "ms")
            .values(&first)
            .target(Target::at_most(0.3))
            .note(format!("{} streams a run", counts.streams)),
    ])
}
