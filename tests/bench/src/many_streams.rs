//! Many streams per environment: the release router in the mode Lambda Managed Instances run it
//! in (`AWS_LAMBDA_MAX_CONCURRENCY` set, so one process polls for that many invocations at once),
//! inside a cgroup holding it to 1 or 2 vCPUs. `K` streamed chat completions stay in flight
//! against the local Bedrock paced at 10 ms per event (each restarted as it ends, staggered over
//! one stream's length), and each stream's first body byte is timed from the moment its event was
//! handed out. Beside it, the same `K` streams straight to the local Bedrock with the SDK from
//! the bench process (not limited). The difference is the first-byte overhead the environment
//! adds at that load; the section reports the most streams each size holds within the target.

use std::sync::Arc;
use std::time::Duration;

use crate::error::BenchError;
use crate::harness::Stack;
use crate::report::{Row, Target};
use crate::runtime_api::{Outcome, RuntimeApi, functions, router_event};
use crate::sized::{CpuGroup, ms_between, spawn_in};
use crate::stats::percentile;

/// The first-byte overhead an environment may add at its CPU share (issue's target, p50).
const TARGET_MS: f64 = 2.0;

/// How much the section does.
#[derive(Clone, Debug)]
pub struct ManyCounts {
    /// vCPUs per environment (1,769 MB each).
    pub vcpus: Vec<u32>,
    /// Streams in flight per environment (= `AWS_LAMBDA_MAX_CONCURRENCY`).
    pub levels: Vec<usize>,
    /// Streams each of the `K` callers runs one after another, after a first one that warms its
    /// connections and is not counted.
    pub per_caller: usize,
}

/// First-byte times (ms) of the streams one run kept in flight, and the calls that failed.
#[derive(Default)]
struct Run {
    first_ms: Vec<f64>,
    failures: usize,
    first_failure: Option<String>,
}

impl Run {
    fn merge(&mut self, other: Run) {
        self.first_ms.extend(other.first_ms);
        self.failures += other.failures;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }
}

/// `k` callers, started `stagger` apart, each running `1 + per_caller` streams with `open` (the
/// first one uncounted). `open` gives a stream's time to its first byte.
async fn in_flight<F, Fut>(k: usize, per_caller: usize, stagger: Duration, open: F) -> Run
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<f64, String>> + Send,
{
    let callers: Vec<_> = (0..k)
        .map(|c| {
            let open = open.clone();
            tokio::spawn(async move {
                tokio::time::sleep(stagger * c as u32).await;
                let mut run = Run::default();
                for i in 0..=per_caller {
                    match open(format!("many-{c}-{i}")).await {
                        Ok(t) if i > 0 => run.first_ms.push(t),
                        Ok(_) => {}
                        Err(e) => {
                            run.failures += 1;
                            run.first_failure.get_or_insert(e);
                        }
                    }
                }
                run
            })
        })
        .collect();
    let mut all = Run::default();
    for caller in callers {
        match caller.await {
            Ok(run) => all.merge(run),
            Err(e) => {
                all.failures += 1;
                all.first_failure.get_or_insert(format!("caller task: {e}"));
            }
        }
    }
    all
}

/// `k` streams in flight through one router environment (its bootstrap already polling `api`).
async fn through_router(
    api: &Arc<RuntimeApi>,
    event: &Arc<String>,
    k: usize,
    per_caller: usize,
    stagger: Duration,
    round: usize,
) -> Run {
    let (api, event) = (Arc::clone(api), Arc::clone(event));
    in_flight(k, per_caller, stagger, move |id| {
        let (api, event) = (Arc::clone(&api), Arc::clone(&event));
        async move {
            let id = format!("r{round}-{id}");
            let answer = api
                .invoke_shared(&id, &event, Duration::from_secs(60))
                .await
                .map_err(|e| e.to_string())?;
            if let Outcome::Error(e) = answer.outcome {
                return Err(e);
            }
            ms_between(answer.handed_out, answer.first_byte)
                .ok_or_else(|| "a streamed answer without a body after its prelude".to_owned())
        }
    })
    .await
}

/// The same `k` streams straight to the local Bedrock.
async fn direct(paced: &Stack, k: usize, per_caller: usize, stagger: Duration) -> Run {
    let (client, arn) = (paced.runtime_client(), paced.profile_arn.clone());
    in_flight(k, per_caller, stagger, move |_| {
        let (client, arn) = (client.clone(), arn.clone());
        async move {
            let offsets = crate::router_bench::direct_stream(&client, &arn)
                .await
                .map_err(|e| e.to_string())?;
            offsets
                .first()
                .copied()
                .ok_or_else(|| "a stream without events".to_owned())
        }
    })
    .await
}

/// The length of one paced stream (ms), from a direct call: callers are staggered over it.
async fn stream_length_ms(paced: &Stack) -> Result<f64, BenchError> {
    let offsets =
        crate::router_bench::direct_stream(&paced.runtime_client(), &paced.profile_arn).await?;
    offsets
        .last()
        .copied()
        .ok_or_else(|| BenchError::BadAnswer {
            what: "ConverseStream".into(),
            detail: "a stream without events".into(),
        })
}

pub async fn many_streams(
    root: &std::path::Path,
    paced: &Stack,
    counts: &ManyCounts,
) -> Result<Vec<Row>, BenchError> {
    let s = "many streams per environment (AWS_LAMBDA_MAX_CONCURRENCY, paced 10 ms/event)";
    let mut rows = vec![];
    let binary = root.join("target/release/router");
    if !binary.exists() {
        rows.push(
            Row::new(s, "router", "")
                .note(format!("not measured: {} is missing", binary.display())),
        );
        return Ok(rows);
    }
    let template = std::fs::read_to_string(root.join("events/router/chat-completion-stream.json"))
        .map_err(|e| BenchError::io("events/router/chat-completion-stream.json", e))?;
    let event = Arc::new(router_event(&template, "/v1/chat/completions", None)?);
    let stream_ms = stream_length_ms(paced).await?;
    for &vcpus in &counts.vcpus {
        let mb = 1_769 * vcpus;
        let group = match CpuGroup::create(mb) {
            Ok(g) => g,
            Err(e) => {
                rows.push(
                    Row::new(s, format!("{vcpus} vCPU: cgroup"), "").note(format!(
                        "not measured: could not create a CPU-limited cgroup ({e})"
                    )),
                );
                return Ok(rows);
            }
        };
        let mut held = 0;
        for &k in &counts.levels {
            let api = Arc::new(RuntimeApi::start().await?);
            let mut f = functions(root, paced, &api)?
                .into_iter()
                .find(|f| f.name == "router")
                .ok_or_else(|| BenchError::Setup("no router function".into()))?;
            f.env
                .push(("AWS_LAMBDA_MAX_CONCURRENCY".into(), k.to_string()));
            let child = spawn_in(&group, &binary, &f, &api)?;
            let stagger = Duration::from_secs_f64(stream_ms / 1e3 / k as f64);
            // Router, then direct, twice: each side meets the other's leftovers equally.
            let (mut via, mut straight) = (Run::default(), Run::default());
            for round in 0..2 {
                via.merge(through_router(&api, &event, k, counts.per_caller, stagger, round).await);
                straight.merge(direct(paced, k, counts.per_caller, stagger).await);
            }
            drop(child);
            if via.first_ms.is_empty() || straight.first_ms.is_empty() {
                rows.push(
                    Row::new(s, format!("{vcpus} vCPU, {k} streams"), "").note(format!(
                        "not measured: {} router and {} direct calls failed, first: {}",
                        via.failures,
                        straight.failures,
                        via.first_failure
                            .or(straight.first_failure)
                            .unwrap_or_default()
                    )),
                );
                continue;
            }
            let added = |p: f64| percentile(&via.first_ms, p) - percentile(&straight.first_ms, p);
            let failures = match &via.first_failure {
                None => String::new(),
                Some(e) => format!("; {} router calls failed, first: {e}", via.failures),
            };
            rows.push(
                Row::new(
                    s,
                    format!("{vcpus} vCPU, {k} streams in flight: added first byte p50"),
                    "ms",
                )
                .values(&[added(50.0)])
                .target(Target::at_most(TARGET_MS))
                .note(format!(
                    "event handed out → first body byte {:.3} ms vs straight to the local Bedrock {:.3} ms, {} streams{failures}",
                    percentile(&via.first_ms, 50.0),
                    percentile(&straight.first_ms, 50.0),
                    via.first_ms.len()
                )),
            );
            rows.push(
                Row::new(
                    s,
                    format!("{vcpus} vCPU, {k} streams in flight: added first byte p99"),
                    "ms",
                )
                .values(&[added(99.0)]),
            );
            if added(50.0) <= TARGET_MS && via.failures == 0 {
                held = held.max(k);
            }
        }
        rows.push(
            Row::new(
                s,
                format!("{vcpus} vCPU: most streams in flight within {TARGET_MS} ms added first byte (p50)"),
                "streams",
            )
            .values(&[held as f64])
            .note(format!(
                "of the levels tried: {:?}; one stream lasts {stream_ms:.0} ms",
                counts.levels
            )),
        );
        drop(group);
    }
    Ok(rows)
}
