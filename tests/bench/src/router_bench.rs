//! The router's handler in-process against the in-process emulator, beside the same calls made
//! straight to the emulator with the Rust SDK: latency, streaming and throughput.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, InferenceConfiguration, Message,
};
use http_body_util::BodyExt as _;

use crate::error::BenchError;
use crate::harness::{
    self, BenchRouter, EMULATOR_THREAD, PROMPT, Stack, chat_body, converse_body,
    converse_stream_path,
};
use crate::report::{Row, Target};
use crate::stats::{mean, percentile};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One chat completion through the handler with `body`; the status and the whole body.
pub async fn handler_answer(
    router: &BenchRouter,
    body: &serde_json::Value,
) -> Result<(http::StatusCode, bytes::Bytes), BenchError> {
    let req = harness::request("POST", "/v1/chat/completions", body)?;
    answer_of(router, req).await
}

/// Any request through the handler; the status and the whole body.
pub async fn answer_of(
    router: &BenchRouter,
    req: lambda_http::Request,
) -> Result<(http::StatusCode, bytes::Bytes), BenchError> {
    let response = router.handle(req).await;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| BenchError::BadAnswer {
            what: "the router".into(),
            detail: format!("an unreadable body: {e}"),
        })?
        .to_bytes();
    Ok((status, body))
}

/// One non-streaming completion through the handler; the body is read to the end.
pub async fn router_call(router: &BenchRouter) -> Result<(), BenchError> {
    let (status, body) = handler_answer(router, &chat_body()).await?;
    if status != http::StatusCode::OK || body.is_empty() {
        return Err(BenchError::BadAnswer {
            what: "the router".into(),
            detail: format!("{status}: {}", String::from_utf8_lossy(&body)),
        });
    }
    Ok(())
}

fn user_message() -> Result<Message, BenchError> {
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(PROMPT.to_owned()))
        .build()
        .map_err(|e| BenchError::Setup(format!("message: {e}")))
}

/// The same completion straight to the emulator (the floor).
pub async fn direct_call(
    client: &aws_sdk_bedrockruntime::Client,
    profile_arn: &str,
) -> Result<(), BenchError> {
    let out = client
        .converse()
        .model_id(profile_arn)
        .messages(user_message()?)
        .inference_config(InferenceConfiguration::builder().max_tokens(256).build())
        .send()
        .await
        .map_err(|e| BenchError::Sdk(format!("Converse: {e:?}")))?;
    if out.output().is_none() {
        return Err(BenchError::BadAnswer {
            what: "Converse".into(),
            detail: "no output".into(),
        });
    }
    Ok(())
}

pub use crate::harness::Counts;

/// Router overhead: p50/p99 of router calls and direct calls, interleaved so drift hits both.
pub async fn latency(stack: &Stack, counts: Counts) -> Result<Vec<Row>, BenchError> {
    let router = stack.router()?;
    let client = stack.runtime_client();
    for _ in 0..20.min(counts.latency_calls) {
        router_call(&router).await?;
        direct_call(&client, &stack.profile_arn).await?;
    }
    let (mut r50, mut r99, mut d50, mut d99) = (vec![], vec![], vec![], vec![]);
    for _ in 0..counts.repeats {
        let (mut via, mut direct) = (vec![], vec![]);
        for _ in 0..counts.latency_calls {
            let t = Instant::now();
            router_call(&router).await?;
            via.push(ms(t.elapsed()));
            let t = Instant::now();
            direct_call(&client, &stack.profile_arn).await?;
            direct.push(ms(t.elapsed()));
        }
        r50.push(percentile(&via, 50.0));
        r99.push(percentile(&via, 99.0));
        d50.push(percentile(&direct, 50.0));
        d99.push(percentile(&direct, 99.0));
    }
    let added = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<_>>();
    let s = "router overhead (in-process)";
    let n = format!("{} calls a run", counts.latency_calls);
    Ok(vec![
        Row::new(s, "added latency p50", "ms")
            .values(&added(&r50, &d50))
            .target(Target::at_most(0.15))
            .note(n.clone()),
        Row::new(s, "added latency p99", "ms")
            .values(&added(&r99, &d99))
            .target(Target::at_most(0.3)),
        Row::new(s, "p50 via router", "ms")
            .values(&r50)
            .floor_with_ratio(&r50, &d50),
        Row::new(s, "p99 via router", "ms")
            .values(&r99)
            .floor_with_ratio(&r99, &d99),
    ])
}

/// Arrival offsets (ms from the call) of each stream event.
async fn router_stream(router: &BenchRouter) -> Result<Vec<f64>, BenchError> {
    stream_offsets(router, &converse_stream_path(), &converse_body()).await
}

/// Arrival offsets of each event-stream message of a streaming route (each message starts with
/// its total length, so messages are counted without decoding them).
async fn stream_offsets(
    router: &BenchRouter,
    path: &str,
    body: &serde_json::Value,
) -> Result<Vec<f64>, BenchError> {
    let start = Instant::now();
    let response = router.handle(harness::request("POST", path, body)?).await;
    if response.status() != http::StatusCode::OK {
        return Err(BenchError::BadAnswer {
            what: format!("the router's {path}"),
            detail: response.status().to_string(),
        });
    }
    let mut body = response.into_body();
    let (mut offsets, mut pending) = (vec![], Vec::<u8>::new());
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame;
        let at = ms(start.elapsed());
        if let Ok(data) = frame.into_data() {
            pending.extend_from_slice(&data);
            while let Some(len) = pending
                .first_chunk::<4>()
                .map(|b| u32::from_be_bytes(*b) as usize)
            {
                if len < 16 {
                    return Err(BenchError::BadAnswer {
                        what: format!("the router's {path}"),
                        detail: format!("an event-stream message of {len} bytes"),
                    });
                }
                if pending.len() < len {
                    break;
                }
                offsets.push(at);
                pending.drain(..len);
            }
        }
    }
    Ok(offsets)
}

pub(crate) async fn direct_stream(
    client: &aws_sdk_bedrockruntime::Client,
    profile_arn: &str,
) -> Result<Vec<f64>, BenchError> {
    let start = Instant::now();
    let mut out = client
        .converse_stream()
        .model_id(profile_arn)
        .messages(user_message()?)
        .inference_config(InferenceConfiguration::builder().max_tokens(256).build())
        .send()
        .await
        .map_err(|e| BenchError::Sdk(format!("ConverseStream: {e:?}")))?;
    let mut offsets = vec![];
    loop {
        match out.stream.recv().await {
            Ok(Some(_)) => offsets.push(ms(start.elapsed())),
            Ok(None) => break,
            Err(e) => return Err(BenchError::Sdk(format!("ConverseStream event: {e:?}"))),
        }
    }
    Ok(offsets)
}

fn check_events(what: &str, offsets: &[f64]) -> Result<(), BenchError> {
    if offsets.len() < 2 {
        return Err(BenchError::BadAnswer {
            what: what.into(),
            detail: format!("{} stream events (expected several)", offsets.len()),
        });
    }
    Ok(())
}

/// Per event index, the median offset over streams; then the mean over events after the first.
fn later_event_offset(streams: &[Vec<f64>], events: usize) -> f64 {
    let per_event: Vec<f64> = (1..events)
        .map(|i| {
            let at: Vec<f64> = streams.iter().filter_map(|s| s.get(i).copied()).collect();
            percentile(&at, 50.0)
        })
        .collect();
    mean(&per_event)
}

/// First-event offsets of `n` router streams started together.
async fn concurrent_router(router: &Arc<BenchRouter>, n: usize) -> Result<Vec<f64>, BenchError> {
    let tasks = (0..n)
        .map(|_| {
            let router = Arc::clone(router);
            tokio::spawn(async move { router_stream(&router).await })
        })
        .collect();
    first_offsets("the router's stream", tasks).await
}

/// The first-event offset of each stream task, each stream checked whole.
async fn first_offsets(
    what: &str,
    tasks: Vec<tokio::task::JoinHandle<Result<Vec<f64>, BenchError>>>,
) -> Result<Vec<f64>, BenchError> {
    let mut firsts = vec![];
    for t in tasks {
        let offsets = t
            .await
            .map_err(|e| BenchError::Setup(format!("stream task: {e}")))??;
        check_events(what, &offsets)?;
        firsts.push(offsets[0]);
    }
    Ok(firsts)
}

/// First-event offsets of `n` direct streams started together.
async fn concurrent_direct(paced: &Stack, n: usize) -> Result<Vec<f64>, BenchError> {
    let client = paced.runtime_client();
    let tasks = (0..n)
        .map(|_| {
            let (client, arn) = (client.clone(), paced.profile_arn.clone());
            tokio::spawn(async move { direct_stream(&client, &arn).await })
        })
        .collect();
    first_offsets("ConverseStream", tasks).await
}

/// Time to first event of `probes` streams started one after another while `n` other streams
/// stay in flight. The background streams start staggered over one stream's length and each
/// restarts as soon as it ends, so the probes meet the steady load of `n` paced streams (events
/// arriving all the time), not a burst of `n` starts in the same instant.
async fn probes_in_flight<F, Fut>(
    what: &str,
    n: usize,
    stream_ms: f64,
    probes: usize,
    open: F,
) -> Result<Vec<f64>, BenchError>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Vec<f64>, BenchError>> + Send,
{
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stagger = Duration::from_secs_f64(stream_ms / 1000.0 / n.max(1) as f64);
    let background: Vec<_> = (0..n)
        .map(|i| {
            let (open, stop) = (open.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                tokio::time::sleep(stagger * i as u32).await;
                let mut streams = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    open().await?;
                    streams += 1;
                    // A stream that ends at once must not keep the probes off the thread.
                    tokio::task::yield_now().await;
                }
                Ok::<u64, BenchError>(streams)
            })
        })
        .collect();
    // One full stream length, so every background stream is running before the first probe.
    tokio::time::sleep(Duration::from_secs_f64(stream_ms / 1000.0) + stagger * n as u32).await;
    let probed = async {
        let mut firsts = Vec::with_capacity(probes);
        for _ in 0..probes {
            let offsets = open().await?;
            check_events(what, &offsets)?;
            firsts.push(offsets[0]);
        }
        Ok::<_, BenchError>(firsts)
    }
    .await;
    stop.store(true, Ordering::Relaxed);
    for task in background {
        let streams = task
            .await
            .map_err(|e| BenchError::Setup(format!("background stream task: {e}")))??;
        if streams == 0 {
            return Err(BenchError::BadAnswer {
                what: what.into(),
                detail: "a background stream never finished while the probes ran".into(),
            });
        }
    }
    probed
}

/// Streaming against a paced emulator: first byte and per-event delay, one stream at a time
/// and with many in flight.
pub async fn streaming(paced: &Stack, counts: Counts) -> Result<Vec<Row>, BenchError> {
    let router = Arc::new(paced.router()?);
    let client = paced.runtime_client();
    // Warm both sides with a round in flight, so each has its pool of connections open and
    // neither pays for connection set-up inside the measurement.
    concurrent_router(&router, counts.concurrent_streams).await?;
    concurrent_direct(paced, counts.concurrent_streams).await?;
    let (mut rt, mut dt, mut delay, mut crt, mut cdt, mut cmax) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut prt, mut pdt) = (vec![], vec![]);
    for _ in 0..counts.repeats {
        let (mut via, mut direct) = (vec![], vec![]);
        for _ in 0..counts.streams {
            let v = router_stream(&router).await?;
            check_events("the router's stream", &v)?;
            via.push(v);
            let d = direct_stream(&client, &paced.profile_arn).await?;
            check_events("ConverseStream", &d)?;
            direct.push(d);
        }
        let firsts = |s: &[Vec<f64>]| s.iter().map(|o| o[0]).collect::<Vec<_>>();
        rt.push(percentile(&firsts(&via), 50.0));
        dt.push(percentile(&firsts(&direct), 50.0));
        let events = via.iter().chain(&direct).map(Vec::len).min().unwrap_or(0);
        delay.push(later_event_offset(&via, events) - later_event_offset(&direct, events));

        let stream_ms = percentile(
            &via.iter()
                .chain(&direct)
                .filter_map(|o| o.last().copied())
                .collect::<Vec<_>>(),
            50.0,
        );
        let r = Arc::clone(&router);
        let probes_via = probes_in_flight(
            "the router's stream",
            counts.concurrent_streams,
            stream_ms,
            counts.streams,
            move || {
                let r = Arc::clone(&r);
                async move { router_stream(&r).await }
            },
        )
        .await?;
        let (c, a) = (client.clone(), Arc::new(paced.profile_arn.clone()));
        let probes_direct = probes_in_flight(
            "ConverseStream",
            counts.concurrent_streams,
            stream_ms,
            counts.streams,
            move || {
                let (c, a) = (c.clone(), Arc::clone(&a));
                async move { direct_stream(&c, &a).await }
            },
        )
        .await?;
        prt.push(percentile(&probes_via, 50.0));
        pdt.push(percentile(&probes_direct, 50.0));

        let firsts_via = concurrent_router(&router, counts.concurrent_streams).await?;
        let firsts_direct = concurrent_direct(paced, counts.concurrent_streams).await?;
        crt.push(percentile(&firsts_via, 50.0));
        cdt.push(percentile(&firsts_direct, 50.0));
        cmax.push(percentile(&firsts_via, 100.0));
    }
    let diff = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<_>>();
    let s = "streaming (in-process, paced)";
    let c = counts.concurrent_streams;
    Ok(vec![
        Row::new(s, "added time to first byte", "ms")
            .values(&diff(&rt, &dt))
            .target(Target::at_most(0.3))
            .note(format!("pace {} ms/event", counts.pace_ms)),
        Row::new(s, "time to first byte via router", "ms")
            .values(&rt)
            .floor_with_ratio(&rt, &dt),
        Row::new(s, "added per-event forwarding delay", "ms").values(&delay),
        Row::new(s, format!("added TTFB, {c} streams in flight"), "ms")
            .values(&diff(&prt, &pdt))
            .target(Target::at_most(0.3))
            .note(format!(
                "a stream started while {c} others stream (staggered, each restarted as it ends)"
            )),
        Row::new(s, format!("TTFB via router, {c} in flight"), "ms")
            .values(&prt)
            .floor_with_ratio(&prt, &pdt),
        Row::new(s, format!("router TTFB change, {c} in flight vs none"), "ms")
            .values(&diff(&prt, &rt))
            .note("unchanged means about 0"),
        Row::new(s, format!("added TTFB, {c} streams started together"), "ms")
            .values(&diff(&crt, &cdt))
            .note(format!(
                "all {c} requests in the same instant on one core: each waits for the ones before it"
            )),
        Row::new(s, format!("TTFB via router, {c} started together (median)"), "ms")
            .values(&crt)
            .floor_with_ratio(&crt, &cdt),
        Row::new(s, format!("TTFB via router, {c} started together (slowest)"), "ms")
            .values(&cmax),
    ])
}

struct Window {
    ok: u64,
    errors: u64,
    secs: f64,
    cpu_secs: f64,
}

/// `callers` tasks call back to back for `window`; CPU is that of every thread but the
/// emulator's.
async fn run_window<F, Fut>(callers: usize, window: Duration, call: F) -> Window
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), BenchError>> + Send,
{
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let (_, cpu_before) = crate::cpu::split_cpu_seconds(EMULATOR_THREAD);
    let start = Instant::now();
    let deadline = start + window;
    let mut tasks = vec![];
    for _ in 0..callers {
        let (call, ok, errors) = (call.clone(), Arc::clone(&ok), Arc::clone(&errors));
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                match call().await {
                    Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        if t.await.is_err() {
            errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let (_, cpu_after) = crate::cpu::split_cpu_seconds(EMULATOR_THREAD);
    Window {
        ok: ok.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        secs,
        cpu_secs: cpu_after - cpu_before,
    }
}

/// Requests per second at 1, 16 and 64 callers, router versus direct, and the requests per
/// CPU-second of the caller side (the handler's cost per core).
pub async fn throughput(stack: &Stack, counts: Counts) -> Result<Vec<Row>, BenchError> {
    let router = Arc::new(stack.router()?);
    let client = stack.runtime_client();
    let arn = Arc::new(stack.profile_arn.clone());
    let mut rows = vec![];
    let s = "throughput (in-process)";
    for callers in [1usize, 16, 64] {
        let (mut rps, mut drps, mut core, mut dcore, mut errors) =
            (vec![], vec![], vec![], vec![], 0u64);
        for _ in 0..counts.repeats {
            let r = Arc::clone(&router);
            let w = run_window(callers, counts.throughput_window, move || {
                let r = Arc::clone(&r);
                async move { router_call(&r).await }
            })
            .await;
            let (c, a) = (client.clone(), Arc::clone(&arn));
            let d = run_window(callers, counts.throughput_window, move || {
                let (c, a) = (c.clone(), Arc::clone(&a));
                async move { direct_call(&c, &a).await }
            })
            .await;
            errors += w.errors + d.errors;
            rps.push(w.ok as f64 / w.secs);
            drps.push(d.ok as f64 / d.secs);
            core.push(w.ok as f64 / w.cpu_secs);
            dcore.push(d.ok as f64 / d.cpu_secs);
        }
        rows.push(
            Row::new(s, format!("req/s at {callers} callers"), "req/s")
                .values(&rps)
                .floor_with_ratio(&rps, &drps)
                .note(format!("{errors} errors")),
        );
        rows.push(
            Row::new(s, format!("errors at {callers} callers"), "errors")
                .values(&[errors as f64])
                .target(Target::at_most(0.0)),
        );
        let per_core = Row::new(
            s,
            format!("req per CPU-second at {callers} callers"),
            "req/s",
        )
        .values(&core)
        .floor_with_ratio(&core, &dcore)
        .note("caller + handler + SDK threads; the emulator's excluded");
        rows.push(if callers == 16 {
            per_core.target(Target::at_least(6000.0))
        } else {
            per_core
        });
    }
    Ok(rows)
}

/// InvokeModel and InvokeModelWithResponseStream through the router's Bedrock-API routes beside
/// the same calls straight to the emulator: added latency, and added time to first byte (paced).
pub async fn invoke(stack: &Stack, paced: &Stack, counts: Counts) -> Result<Vec<Row>, BenchError> {
    use crate::messages_bench::direct_call;
    let body = serde_json::json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256,
        "messages": [{"role": "user", "content": PROMPT}]});
    let path = |op: &str| format!("/model/{}/{op}", harness::MODEL.replace(':', "%3A"));
    let (router, prouter) = (stack.router()?, paced.router()?);
    let (mut added, mut ttfb) = (vec![], vec![]);
    for round in 0..=counts.repeats {
        let (mut via, mut direct, mut fvia, mut fdirect) = (vec![], vec![], vec![], vec![]);
        for _ in 0..counts.latency_calls {
            let t = Instant::now();
            let response = router
                .handle(harness::request("POST", &path("invoke"), &body)?)
                .await;
            let status = response.status();
            let answer = response.into_body().collect().await.map(|b| b.to_bytes());
            if status != http::StatusCode::OK || answer.is_err() {
                return Err(BenchError::BadAnswer {
                    what: "the router's invoke".into(),
                    detail: status.to_string(),
                });
            }
            via.push(ms(t.elapsed()));
            direct.push(direct_call(stack, false).await?.1);
        }
        for _ in 0..counts.streams {
            let v = stream_offsets(&prouter, &path("invoke-with-response-stream"), &body).await?;
            check_events("the router's invoke stream", &v)?;
            fvia.push(v[0]);
            fdirect.push(direct_call(paced, true).await?.0);
        }
        // Round 0 warms both sides' connections and is not counted.
        if round > 0 {
            added.push(percentile(&via, 50.0) - percentile(&direct, 50.0));
            ttfb.push(percentile(&fvia, 50.0) - percentile(&fdirect, 50.0));
        }
    }
    let s = "Bedrock-API invoke routes (in-process)";
    Ok(vec![
        Row::new(s, "added latency p50, /invoke", "ms")
            .values(&added)
            .target(Target::at_most(0.15))
            .note(format!(
                "{} calls a run, beside the chat route's row",
                counts.latency_calls
            )),
        Row::new(
            s,
            "added time to first byte, /invoke-with-response-stream",
            "ms",
        )
        .values(&ttfb)
        .target(Target::at_most(0.3))
        .note(format!("pace {} ms/event", counts.pace_ms)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn probes_meet_every_background_stream_running() {
        let running = Arc::new(AtomicUsize::new(0));
        let busiest = Arc::new(AtomicUsize::new(0));
        let (r, b) = (Arc::clone(&running), Arc::clone(&busiest));
        let firsts = probes_in_flight("a stream", 4, 20.0, 3, move || {
            let (r, b) = (Arc::clone(&r), Arc::clone(&b));
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                b.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                Ok(vec![0.5, 1.5])
            }
        })
        .await
        .unwrap();
        assert_eq!(firsts, vec![0.5, 0.5, 0.5]);
        // Four background streams plus the probe at once.
        assert_eq!(busiest.load(Ordering::SeqCst), 5);
        assert_eq!(
            running.load(Ordering::SeqCst),
            0,
            "every stream was awaited"
        );
    }

    #[tokio::test]
    async fn a_failing_stream_fails_the_measurement() {
        let err = probes_in_flight("a stream", 2, 5.0, 2, || async {
            Err::<Vec<f64>, _>(BenchError::Sdk("refused".into()))
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
    }

    #[tokio::test]
    async fn a_stream_without_events_is_not_a_probe() {
        let err = probes_in_flight("a stream", 1, 5.0, 1, || async { Ok(vec![]) })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("stream events"), "{err}");
    }
}
