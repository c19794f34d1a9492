//! Load: a fixed number of completions (half streamed) from many concurrent callers, through the
//! handler in-process and through the Lambda runtime emulator with one router instance per
//! caller. It counts errors (any non-200, any stream without its `[DONE]` or with an error
//! event) and samples resident memory as the run goes, to show it stays flat.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::Value;

use crate::cpu::status_kib;
use crate::error::BenchError;
use crate::harness::{BenchRouter, Stack, chat_body};
use crate::report::{Row, Target};
use crate::router_bench::handler_answer;
use crate::watch;

/// How much load to apply.
#[derive(Debug, Clone, Copy)]
pub struct LoadCounts {
    pub requests: usize,
    pub callers: usize,
}

/// Request `i` streams when `i` is odd, so both kinds interleave from the start.
fn body_for(i: usize) -> Value {
    let mut body = chat_body();
    if i % 2 == 1 {
        body["stream"] = Value::Bool(true);
    }
    body
}

/// Whether a 200 answer is whole: a JSON completion, or a stream that ended with `[DONE]`.
fn complete(streamed: bool, body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    if streamed {
        text.trim_end().ends_with("data: [DONE]") && !text.contains("\"error\"")
    } else {
        serde_json::from_slice::<Value>(body).is_ok_and(|v| v["choices"][0]["message"].is_object())
    }
}

fn rss_mib(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    status_kib(&status, "VmRSS").map(|k| k as f64 / 1024.0)
}

/// What a run measured: errors, the rate, and memory after 10 % and after all requests.
struct Outcome {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    seconds: f64,
    rss_early: f64,
    rss_end: f64,
}

/// Shared progress: the next request index, answers so far and the early memory sample.
struct Progress {
    next: AtomicUsize,
    ok: AtomicU64,
    errors: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
    early: std::sync::Mutex<Option<f64>>,
}

impl Progress {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            next: AtomicUsize::new(0),
            ok: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            first_error: std::sync::Mutex::new(None),
            early: std::sync::Mutex::new(None),
        })
    }

    /// The next request index, or `None` when all are taken; the request at 10 % of the run
    /// first takes the early memory sample.
    fn claim(&self, total: usize, sample: impl Fn() -> Option<f64>) -> Option<usize> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= total {
            return None;
        }
        if i == total / 10
            && let Ok(mut early) = self.early.lock()
        {
            *early = sample();
        }
        Some(i)
    }

    fn record(&self, result: Result<(), String>) {
        match result {
            Ok(()) => self.ok.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert(e);
                }
                self.errors.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

/// Request `i` through the handler: `Ok` only for a whole answer.
async fn handler_call(router: &BenchRouter, i: usize) -> Result<(), String> {
    let (status, body) = handler_answer(router, &body_for(i))
        .await
        .map_err(|e| e.to_string())?;
    judge(i, status.as_u16(), &body)
}

/// `Ok` for a 200 whose body is whole for request `i`'s kind; the reason otherwise.
fn judge(i: usize, status: u16, body: &[u8]) -> Result<(), String> {
    if status == 200 && complete(i % 2 == 1, body) {
        Ok(())
    } else {
        Err(format!(
            "{status}: {}",
            String::from_utf8_lossy(body)
                .chars()
                .take(200)
                .collect::<String>()
        ))
    }
}

/// The handler in-process: `callers` tasks share one router, as one Lambda instance would
/// share it between concurrent invocations. Memory is this process's (router, SDK and the
/// in-process emulator together).
async fn in_process(stack: &Stack, counts: LoadCounts) -> Result<Outcome, BenchError> {
    let router = Arc::new(stack.router()?);
    let progress = Progress::new();
    let start = Instant::now();
    let mut tasks = vec![];
    for _ in 0..counts.callers {
        let (router, progress) = (Arc::clone(&router), Arc::clone(&progress));
        tasks.push(tokio::spawn(async move {
            while let Some(i) = progress.claim(counts.requests, || rss_mib(None)) {
                progress.record(handler_call(&router, i).await);
            }
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| BenchError::Setup(format!("a caller task failed: {e}")))?;
    }
    outcome(&progress, start, rss_mib(None))
}

fn outcome(
    progress: &Progress,
    start: Instant,
    rss_end: Option<f64>,
) -> Result<Outcome, BenchError> {
    let seconds = start.elapsed().as_secs_f64();
    let early = progress.early.lock().ok().and_then(|e| *e);
    let (Some(rss_early), Some(rss_end)) = (early, rss_end) else {
        return Err(BenchError::Setup(
            "resident memory could not be read from /proc".into(),
        ));
    };
    Ok(Outcome {
        ok: progress.ok.load(Ordering::Relaxed),
        errors: progress.errors.load(Ordering::Relaxed),
        first_error: progress.first_error.lock().ok().and_then(|e| e.clone()),
        seconds,
        rss_early,
        rss_end,
    })
}

/// Through `cargo lambda watch --only-lambda-apis` with one release router instance per
/// caller; memory is the largest instance's.
async fn under_watch(
    root: &std::path::Path,
    out_dir: &std::path::Path,
    stack: &Stack,
    counts: LoadCounts,
) -> Result<Option<Outcome>, BenchError> {
    let Some(session) = watch::Session::start(root, out_dir, stack, counts.callers).await? else {
        return Ok(None);
    };
    let pids = session.instance_pids();
    let largest = move || {
        pids.iter()
            .filter_map(|pid| rss_mib(Some(*pid)))
            .fold(None, |max: Option<f64>, v| {
                Some(max.map_or(v, |m| m.max(v)))
            })
    };
    let progress = Progress::new();
    let port = session.port();
    let start = Instant::now();
    let mut tasks = vec![];
    for _ in 0..counts.callers {
        let progress = Arc::clone(&progress);
        let largest = largest.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = match watch::Conn::open(port).await {
                Ok(c) => c,
                Err(e) => {
                    progress.record(Err(e.to_string()));
                    return;
                }
            };
            while let Some(i) = progress.claim(counts.requests, &largest) {
                let result = match conn
                    .call("POST", watch::CHAT, &body_for(i).to_string())
                    .await
                {
                    Ok((status, body)) => judge(i, status, &body),
                    Err(e) => Err(e.to_string()),
                };
                progress.record(result);
            }
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| BenchError::Setup(format!("a caller task failed: {e}")))?;
    }
    let end = largest();
    drop(session);
    outcome(&progress, start, end).map(Some)
}

fn rows(section: &str, counts: LoadCounts, o: &Outcome, memory: &str) -> Vec<Row> {
    let errors_note = match &o.first_error {
        None => format!("{} answered whole, half of them streamed", o.ok),
        Some(e) => format!("first error: {e}"),
    };
    vec![
        Row::new(
            section,
            format!(
                "errors in {} requests at {} callers",
                counts.requests, counts.callers
            ),
            "errors",
        )
        .values(&[o.errors as f64])
        .target(Target::at_most(0.0))
        .note(errors_note),
        Row::new(section, "requests per second", "req/s")
            .values(&[(o.ok + o.errors) as f64 / o.seconds])
            .note(format!("{:.1} s for the run", o.seconds)),
        Row::new(
            section,
            format!("{memory} after 10 % of the requests"),
            "MiB",
        )
        .values(&[o.rss_early]),
        Row::new(section, format!("{memory} after all requests"), "MiB").values(&[o.rss_end]),
        Row::new(
            section,
            "resident memory growth from 10 % to the end",
            "MiB",
        )
        .values(&[o.rss_end - o.rss_early])
        .target(Target::at_most(5.0))
        .note("flat: what the first 10 % left resident covers the rest"),
    ]
}

/// Both load runs, as report rows.
pub async fn load(
    root: &std::path::Path,
    out_dir: &std::path::Path,
    stack: &Stack,
    counts: LoadCounts,
) -> Result<Vec<Row>, BenchError> {
    let mut all = vec![];
    let o = in_process(stack, counts).await?;
    all.extend(rows(
        "load (handler in-process)",
        counts,
        &o,
        "VmRSS of router + SDK + emulator",
    ));
    let section = "load (under cargo lambda watch)";
    match under_watch(root, out_dir, stack, counts).await? {
        Some(o) => all.extend(rows(section, counts, &o, "largest router instance's VmRSS")),
        None => all.push(
            Row::new(section, "errors", "errors")
                .note("not measured: cargo-lambda or target/release/router is missing"),
        ),
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_requests_stream_and_even_ones_do_not() {
        assert!(body_for(0).get("stream").is_none());
        assert_eq!(body_for(1)["stream"], true);
    }

    #[test]
    fn a_whole_answer_is_told_from_a_cut_or_failed_one() {
        assert!(complete(
            false,
            br#"{"choices":[{"message":{"content":"hi"}}]}"#
        ));
        assert!(!complete(false, b"{\"error\":{}}"));
        assert!(complete(
            true,
            b"data: {\"choices\":[]}\n\ndata: [DONE]\n\n"
        ));
        assert!(!complete(true, b"data: {\"choices\":[]}\n\n"));
        assert!(!complete(
            true,
            b"data: {\"error\":{\"message\":\"x\"}}\n\ndata: [DONE]\n\n"
        ));
    }
}
