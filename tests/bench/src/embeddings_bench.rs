//! `/v1/embeddings` through the router beside the same InvokeModel made straight to the local
//! Bedrock with the Rust SDK, interleaved call by call as the chat row is, so the router's own
//! work on an embedding (parse, resolve, body shaping, the answer's vectors re-encoded for
//! OpenAI) shows as a difference measured side by side, with the chat route's targets.

use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::primitives::Blob;
use serde_json::{Value, json};

use crate::error::BenchError;
use crate::harness::{self, BenchRouter, Counts, PROMPT, REGION, Stack};
use crate::report::{Row, Target};
use crate::router_bench::answer_of;
use crate::stats::percentile;

/// Titan Text Embeddings V2: one text a call, its vector at the default 1,024 floats.
const TITAN: &str = "amazon.titan-embed-text-v2:0";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn bad(what: &str, detail: impl Into<String>) -> BenchError {
    BenchError::BadAnswer {
        what: what.into(),
        detail: detail.into(),
    }
}

/// An application profile over Titan on the stack's emulator, and a router serving it.
async fn titan_router(stack: &Stack) -> Result<(BenchRouter, String), BenchError> {
    let arn = harness::create_profile(
        &stack.sdk,
        format!("bench-embed-{}", stack.emulator.local_addr().port()),
        format!("arn:aws:bedrock:{REGION}::foundation-model/{TITAN}"),
    )
    .await?;
    let yaml = format!(
        "models: [\"{TITAN}\"]\ninferenceProfiles:\n  \"{TITAN}\": \"{arn}\"\ndefaultRegion: {REGION}\n"
    );
    Ok((harness::router_for(&stack.sdk, &yaml)?, arn))
}

async fn router_call(router: &BenchRouter) -> Result<f64, BenchError> {
    let body = json!({"model": TITAN, "input": PROMPT});
    let t = Instant::now();
    let (status, answer) =
        answer_of(router, harness::request("POST", "/v1/embeddings", &body)?).await?;
    let elapsed = ms(t.elapsed());
    let value: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
    let size = value
        .pointer("/data/0/embedding")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if status != http::StatusCode::OK || size != 1024 {
        return Err(bad(
            "the router's embeddings",
            format!("{status}, a vector of {size}"),
        ));
    }
    Ok(elapsed)
}

async fn direct_call(
    client: &aws_sdk_bedrockruntime::Client,
    arn: &str,
) -> Result<f64, BenchError> {
    let body = json!({"inputText": PROMPT, "dimensions": 1024, "normalize": true,
                      "embeddingTypes": ["float"]});
    let t = Instant::now();
    let out = client
        .invoke_model()
        .model_id(arn)
        .content_type("application/json")
        .accept("application/json")
        .body(Blob::new(body.to_string().into_bytes()))
        .send()
        .await
        .map_err(|e| BenchError::Sdk(format!("InvokeModel: {e:?}")))?;
    // Read the vector as a caller would.
    let value: Value = serde_json::from_slice(out.body().as_ref())
        .map_err(|e| bad("InvokeModel", e.to_string()))?;
    let elapsed = ms(t.elapsed());
    if value["embedding"].as_array().map_or(0, Vec::len) != 1024 {
        return Err(bad("InvokeModel", "no 1,024-float embedding"));
    }
    Ok(elapsed)
}

/// Added latency of `/v1/embeddings` (one text) over the direct InvokeModel.
pub async fn embeddings(stack: &Stack, counts: Counts) -> Result<Vec<Row>, BenchError> {
    let (router, arn) = titan_router(stack).await?;
    let client = stack.runtime_client();
    for _ in 0..20.min(counts.latency_calls) {
        router_call(&router).await?;
        direct_call(&client, &arn).await?;
    }
    let (mut added50, mut added99) = (vec![], vec![]);
    for _ in 0..counts.repeats {
        let (mut via, mut direct) = (vec![], vec![]);
        for _ in 0..counts.latency_calls {
            via.push(router_call(&router).await?);
            direct.push(direct_call(&client, &arn).await?);
        }
        added50.push(percentile(&via, 50.0) - percentile(&direct, 50.0));
        added99.push(percentile(&via, 99.0) - percentile(&direct, 99.0));
    }
    let s = "embeddings (in-process)";
    Ok(vec![
        Row::new(s, "added latency p50, /v1/embeddings", "ms")
            .values(&added50)
            .target(Target::at_most(0.15))
            .note(format!(
                "Titan V2, 1,024 floats; {} calls a run, beside the chat route's row",
                counts.latency_calls
            )),
        Row::new(s, "added latency p99, /v1/embeddings", "ms")
            .values(&added99)
            .target(Target::at_most(0.3)),
    ])
}
