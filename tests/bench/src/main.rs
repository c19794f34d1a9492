//! Benchmarks: what the router and the verifier cost, each figure beside its floor measured in
//! the same run (direct SDK calls to the local Bedrock; reading and splitting the same log
//! bytes), with min/median/max over repeated runs and the targets marked pass or miss.
//!
//! `bench [--quick] [--out DIR]` prints a Markdown table and writes `results.json` and
//! `results.svg` to DIR (default `target/bench`). Everything talks to 127.0.0.1 only; every
//! process it starts is killed before it returns. It makes no timing assertions: it measures.

mod budget_bench;
mod cli_bench;
mod cpu;
mod embeddings_bench;
mod error;
mod harness;
mod load;
mod many_streams;
mod messages_bench;
mod package;
mod report;
mod router_bench;
mod runtime_api;
mod sized;
mod stats;
mod stream_bench;
mod verifier_bench;
mod watch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::error::BenchError;
use crate::harness::Stack;
use crate::report::{Report, Row};
use crate::router_bench::Counts;

/// The functions' allocator, so the handler and the verifier are measured as they ship.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    quick: bool,
    out: Option<PathBuf>,
    /// Run only the sections whose names contain this (developers re-measuring one thing).
    only: Option<String>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, BenchError> {
    let mut parsed = Args {
        quick: false,
        out: None,
        only: None,
    };
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => parsed.quick = true,
            "--out" => {
                let dir = args.next().ok_or_else(|| BenchError::Usage(a.clone()))?;
                parsed.out = Some(PathBuf::from(dir));
            }
            "--only" => {
                let name = args.next().ok_or_else(|| BenchError::Usage(a.clone()))?;
                parsed.only = Some(name);
            }
            _ => return Err(BenchError::Usage(a)),
        }
    }
    Ok(parsed)
}

/// Everything a section needs to know about how much to do.
struct Plan {
    counts: Counts,
    cold_requests: usize,
    /// Requests per environment in the Lambda-sized section (the first is the cold one).
    sized_requests: usize,
    many: many_streams::ManyCounts,
    verifier_records: u64,
    watch: watch::WatchCounts,
    load: load::LoadCounts,
}

fn plan(quick: bool) -> Plan {
    if quick {
        Plan {
            counts: Counts {
                repeats: 2,
                latency_calls: 30,
                streams: 2,
                concurrent_streams: 16,
                pace_ms: 10,
                throughput_window: Duration::from_millis(200),
            },
            cold_requests: 20,
            sized_requests: 5,
            many: many_streams::ManyCounts {
                vcpus: vec![1, 2],
                levels: vec![8, 32],
                per_caller: 2,
            },
            verifier_records: 2_000,
            watch: watch::WatchCounts {
                repeats: 2,
                latency_calls: 20,
                window: Duration::from_millis(300),
                concurrency: 16,
                ready_within: Duration::from_secs(60),
            },
            load: load::LoadCounts {
                requests: 2_000,
                callers: 64,
            },
        }
    } else {
        Plan {
            counts: Counts {
                repeats: 5,
                latency_calls: 2_000,
                streams: 20,
                concurrent_streams: 16,
                pace_ms: 10,
                throughput_window: Duration::from_millis(1_500),
            },
            cold_requests: 1_000,
            sized_requests: 100,
            many: many_streams::ManyCounts {
                vcpus: vec![1, 2],
                levels: vec![8, 16, 32, 64, 128, 256],
                per_caller: 10,
            },
            verifier_records: 40_000,
            watch: watch::WatchCounts {
                repeats: 3,
                latency_calls: 100,
                window: Duration::from_millis(1_500),
                concurrency: 16,
                ready_within: Duration::from_secs(60),
            },
            load: load::LoadCounts {
                requests: 100_000,
                callers: 64,
            },
        }
    }
}

fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(cmd).args(args).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown");
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    json!({
        "cpu": model,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory_mib": cpu::status_kib(&meminfo, "MemTotal").map(|k| k / 1024),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "rustc": command_line("rustc", &["--version"]),
        "loadavg_at_start": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
    })
}

/// A section that failed still gets a row saying so; the run goes on and exits non-zero.
fn section(
    rows: &mut Vec<Row>,
    failures: &mut Vec<String>,
    name: &str,
    result: Result<Vec<Row>, BenchError>,
) {
    match result {
        Ok(r) => rows.extend(r),
        Err(e) => {
            eprintln!("section {name} failed: {e}");
            failures.push(format!("{name}: {e}"));
            rows.push(Row::new(name, "section failed", "").note(e.to_string()));
        }
    }
}

fn run(args: Args) -> Result<ExitCode, BenchError> {
    harness::set_local_env();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root
        .canonicalize()
        .map_err(|e| BenchError::io(root.display().to_string(), e))?;
    let out = args.out.unwrap_or_else(|| root.join("target/bench"));
    std::fs::create_dir_all(&out).map_err(|e| BenchError::io(out.display().to_string(), e))?;
    let plan = plan(args.quick);
    let machine = machine();

    let emu_rt = harness::emulator_runtime()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-rt")
        .enable_all()
        .build()
        .map_err(|e| BenchError::Setup(format!("runtime: {e}")))?;
    let stack = Stack::start(&emu_rt, None)?;
    let paced = Stack::start(&emu_rt, Some(plan.counts.pace_ms))?;

    let mut rows = vec![];
    let mut failures = vec![];
    let started = Instant::now();
    let only = args.only.clone();
    let stage = |name: &str| {
        let wanted = only.as_deref().is_none_or(|o| name.contains(o));
        if wanted {
            eprintln!("[{:>6.1} s] {name}", started.elapsed().as_secs_f64());
        }
        wanted
    };

    if stage("router overhead (in-process)") {
        let r = rt.block_on(router_bench::latency(&stack, plan.counts));
        section(&mut rows, &mut failures, "router overhead", r);
    }
    if stage("streaming") {
        let r = rt.block_on(router_bench::streaming(&paced, plan.counts));
        section(&mut rows, &mut failures, "streaming", r);
    }
    if stage("Bedrock-API invoke routes") {
        let r = rt.block_on(router_bench::invoke(&stack, &paced, plan.counts));
        section(&mut rows, &mut failures, "invoke routes", r);
    }
    if stage("budgets (in-process)") {
        let r = rt.block_on(budget_bench::budgets(&stack, plan.counts));
        section(&mut rows, &mut failures, "budgets", r);
    }
    if stage("anthropic messages (in-process)") {
        let r = rt.block_on(messages_bench::messages(&stack, plan.counts));
        section(&mut rows, &mut failures, "anthropic messages", r);
    }
    if stage("embeddings (in-process)") {
        let r = rt.block_on(embeddings_bench::embeddings(&stack, plan.counts));
        section(&mut rows, &mut failures, "embeddings", r);
    }
    if stage("throughput") {
        let r = rt.block_on(router_bench::throughput(&stack, plan.counts));
        section(&mut rows, &mut failures, "throughput", r);
    }
    if stage("cold start and memory") {
        let r = rt.block_on(runtime_api::cold_start(
            &root,
            &stack,
            plan.counts.repeats,
            plan.cold_requests,
        ));
        section(&mut rows, &mut failures, "cold start", r);
    }
    if stage("Lambda-sized CPU") {
        let r = rt.block_on(sized::sized(
            &root,
            &stack,
            plan.counts.repeats,
            plan.sized_requests,
        ));
        section(&mut rows, &mut failures, "Lambda-sized CPU", r);
    }
    if stage("many streams per environment") {
        let r = rt.block_on(many_streams::many_streams(&root, &paced, &plan.many));
        section(&mut rows, &mut failures, "many streams per environment", r);
    }
    if stage("verifier") {
        let r = verifier_bench::verifier(&out, plan.verifier_records, plan.counts.repeats);
        section(&mut rows, &mut failures, "verifier", r);
    }
    if stage("verifier stream") {
        let mut r = stream_bench::stream(&out, plan.verifier_records, plan.counts.repeats);
        if let Ok(rows) = &mut r {
            let cold = rt.block_on(stream_bench::cold_start(&root, &stack, plan.counts.repeats));
            section(rows, &mut failures, "verifier stream cold start", cold);
        }
        section(&mut rows, &mut failures, "verifier stream", r);
    }
    if stage("cli") {
        rows.extend(cli_bench::cli(&root, plan.counts.repeats));
    }
    if stage("package size") {
        rows.extend(package::package_sizes(&root));
    }
    if stage("router under cargo lambda watch") {
        let r = rt.block_on(watch::watch(&root, &out, &stack, plan.watch));
        section(&mut rows, &mut failures, "cargo lambda watch", r);
    }
    if stage("load") {
        let r = rt.block_on(load::load(&root, &out, &stack, plan.load));
        section(&mut rows, &mut failures, "load", r);
    }
    eprintln!("[{:>6.1} s] done", started.elapsed().as_secs_f64());

    for name in ["log-window.jsonl", "log-window-quarter.jsonl"] {
        let _ = std::fs::remove_file(out.join(name));
    }
    rt.block_on(async {
        drop(paced);
    });
    emu_rt.block_on(async move {
        stack.emulator.shutdown().await;
    });

    let report = Report {
        mode: if args.quick { "quick" } else { "full" }.into(),
        repeats: plan.counts.repeats,
        machine,
        rows,
    };
    let json_path = out.join("results.json");
    let svg_path = out.join("results.svg");
    let json = serde_json::to_string_pretty(&report.to_json())
        .map_err(|e| BenchError::Setup(format!("results JSON: {e}")))?;
    std::fs::write(&json_path, json)
        .map_err(|e| BenchError::io(json_path.display().to_string(), e))?;
    std::fs::write(&svg_path, report.svg())
        .map_err(|e| BenchError::io(svg_path.display().to_string(), e))?;
    println!("{}", report.table());
    println!("machine: {}", report.machine);
    println!("wrote {} and {}", json_path.display(), svg_path.display());
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{} section(s) failed: {}",
            failures.len(),
            failures.join("; ")
        );
        Ok(ExitCode::FAILURE)
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, BenchError> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn quick_and_out_are_the_only_arguments() {
        let a = args(&["--quick", "--out", "/tmp/x"]).unwrap();
        assert!(a.quick);
        assert_eq!(a.out, Some(PathBuf::from("/tmp/x")));
        assert!(!args(&[]).unwrap().quick);
    }

    #[test]
    fn an_unknown_argument_or_a_missing_directory_is_a_usage_error() {
        assert!(matches!(args(&["--fast"]), Err(BenchError::Usage(a)) if a == "--fast"));
        assert!(matches!(args(&["--out"]), Err(BenchError::Usage(_))));
    }

    #[test]
    fn quick_mode_does_less_of_everything_but_still_runs_each_section() {
        let (q, f) = (plan(true), plan(false));
        assert!(q.counts.repeats >= 2 && q.counts.repeats < f.counts.repeats);
        assert!(q.counts.latency_calls < f.counts.latency_calls);
        assert!(q.cold_requests < f.cold_requests && q.cold_requests > 0);
        assert!(q.verifier_records < f.verifier_records && q.verifier_records > 0);
        assert_eq!(f.cold_requests, 1_000);
        assert_eq!(q.counts.concurrent_streams, 16);
    }
}
