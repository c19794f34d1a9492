//! Each release bootstrap at the CPU share Lambda gives a memory size: Lambda allocates CPU in
//! proportion to memory, one full vCPU at 1,769 MB, so a 128 MB function gets 128/1769 of a
//! core. The bootstrap runs under the bench's own Runtime API inside a cgroup v1 `cpu` child
//! whose CFS quota is that share of a 10 ms period (13.8 ms at 128 MB, see `cfs`). The period is short on purpose: with the
//! kernel's default 100 ms period a function that answers in a few milliseconds and then waits
//! for the next event never uses up a quota of 7.2 ms, so it is never throttled and every size
//! looks like a full core; at 10 ms (close to Lambda's own accounting granularity) a request
//! that needs more CPU than its slice is paused until the next period, as on Lambda.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::BenchError;
use crate::harness::Stack;
use crate::report::{Row, Target};
use crate::runtime_api::{
    Function, Outcome, Reaped, RuntimeApi, functions, lambda_command, router_event,
};
use crate::stats::percentile;

/// The Lambda memory sizes compared, in MB. 1,769 MB is the size that buys one full vCPU.
pub const SIZES_MB: [u32; 4] = [128, 256, 512, 1_769];
const FULL_VCPU_MB: u32 = 1_769;
/// CFS period in microseconds (see the module comment for why it is short).
const PERIOD_US: u64 = 10_000;
/// The kernel refuses a quota under 1 ms.
const MIN_QUOTA_US: u64 = 1_000;
const CGROUP_ROOT: &str = "/sys/fs/cgroup/cpu";

/// (period, quota) in µs giving `mb` its Lambda CPU share: a 10 ms period, lengthened only
/// where the share of 10 ms would be under the kernel's 1 ms minimum quota (128 MB).
pub fn cfs(mb: u32) -> (u64, u64) {
    let (mb, full) = (u64::from(mb), u64::from(FULL_VCPU_MB));
    let period = PERIOD_US.max((MIN_QUOTA_US * full).div_ceil(mb));
    (period, period * mb / full)
}

/// A cgroup v1 `cpu` child with a quota; removed when dropped (after its processes are gone).
pub(crate) struct CpuGroup {
    dir: PathBuf,
}

impl CpuGroup {
    pub(crate) fn create(mb: u32) -> Result<Self, String> {
        let dir = Path::new(CGROUP_ROOT).join(format!("bench-sized-{}-{mb}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let group = Self { dir };
        let (period, quota) = cfs(mb);
        group.write("cpu.cfs_period_us", period)?;
        group.write("cpu.cfs_quota_us", quota)?;
        Ok(group)
    }

    fn write(&self, file: &str, value: u64) -> Result<(), String> {
        let path = self.dir.join(file);
        std::fs::write(&path, value.to_string())
            .map_err(|e| format!("write {}: {e}", path.display()))
    }
}

impl Drop for CpuGroup {
    fn drop(&mut self) {
        // The killed bootstrap may take a moment to leave the group.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// What one environment is sent, and what its warm requests are compared with.
#[derive(Clone)]
struct Case {
    /// The bootstrap (`target/release/<binary>`) and its entry in [`functions`].
    binary: &'static str,
    /// The function as the row names call it (the binary, or the binary and how it is set up).
    who: &'static str,
    /// Run with API keys from Secrets Manager and a budget ([`keyed_router_env`]).
    keyed: bool,
    /// What a warm request is, for the row names.
    what: &'static str,
    /// This case's lives give the function's cold-start rows (one case per function does).
    cold_rows: bool,
    event: String,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Timed from the event handed out to the whole answer.
    Whole,
    /// A streamed router answer: its first body byte beside the same call's first event straight
    /// to the local Bedrock.
    Streamed(Direct),
    /// A subscription batch of this many log-message bytes: the verifier's throughput.
    Batch(u64),
    /// A new custom-resource create each time.
    Create,
}

/// The direct call a streamed route is compared with.
#[derive(Clone, Copy, PartialEq)]
enum Direct {
    ConverseStream,
    InvokeModelWithResponseStream,
}

impl Direct {
    /// The direct call's time to its first event, in ms.
    async fn first_event_ms(self, stack: &Stack) -> Result<f64, BenchError> {
        match self {
            Self::ConverseStream => {
                let offsets =
                    crate::router_bench::direct_stream(&stack.runtime_client(), &stack.profile_arn)
                        .await?;
                offsets
                    .first()
                    .copied()
                    .ok_or_else(|| BenchError::BadAnswer {
                        what: "ConverseStream".into(),
                        detail: "no event".into(),
                    })
            }
            Self::InvokeModelWithResponseStream => {
                Ok(crate::messages_bench::direct_call(stack, true).await?.0)
            }
        }
    }
}

/// Per-request events: the provisioner gets a new logical id each time, so every request is a
/// real create rather than a conflict with the profile the previous one made.
fn event(c: &Case, mb: u32, life: usize, i: usize) -> String {
    if c.kind != Kind::Create {
        return c.event.clone();
    }
    let mut e: Value = serde_json::from_str(&c.event).unwrap_or(Value::Null);
    e["LogicalResourceId"] = Value::String(format!("Sized{mb}x{life}x{i}"));
    e["RequestId"] = Value::String(format!("sized-{mb}-{life}-{i}"));
    e.to_string()
}

#[derive(Default)]
struct Life {
    cold_ms: f64,
    /// Spawn → the first poll for an event: what Lambda reports as Init Duration.
    init_ms: f64,
    /// Warm requests: event handed out → whole answer.
    warm_ms: Vec<f64>,
    /// Warm streamed requests: event handed out → first body byte, and the direct call's
    /// first event right after it.
    first_byte_ms: Vec<f64>,
    direct_first_ms: Vec<f64>,
    /// Warm router requests: whole answer → the next poll for an event, the billed time after
    /// the answer (where the on-demand router settles a budgeted tenant's spend write).
    after_ms: Vec<f64>,
    errors: usize,
    first_error: Option<String>,
}

/// Milliseconds from `answered` to the function's next poll for an event (within 2 s).
async fn next_poll_after(api: &RuntimeApi, answered: Instant) -> Option<f64> {
    let give_up = Instant::now() + Duration::from_secs(2);
    loop {
        if let Some(polled) = api.last_poll().filter(|p| *p >= answered) {
            return ms_between(Some(answered), Some(polled));
        }
        if Instant::now() > give_up {
            return None;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

pub(crate) fn ms_between(from: Option<Instant>, to: Option<Instant>) -> Option<f64> {
    Some((to?.checked_duration_since(from?)?).as_secs_f64() * 1e3)
}

/// Starts `binary` as Lambda would for `f`, inside `group`: a shell joins the group and then
/// execs the bootstrap, so init is charged to the quota.
pub(crate) fn spawn_in(
    group: &CpuGroup,
    binary: &Path,
    f: &Function,
    api: &RuntimeApi,
) -> Result<Reaped, BenchError> {
    let script = "echo $$ > \"$1/cgroup.procs\" && exec \"$2\"";
    let args: [&OsStr; 5] = [
        OsStr::new("-c"),
        OsStr::new(script),
        OsStr::new("sh"),
        group.dir.as_os_str(),
        binary.as_os_str(),
    ];
    let mut cmd = lambda_command(Path::new("/bin/sh"), &args, f, api);
    Ok(Reaped(cmd.spawn().map_err(|e| {
        BenchError::io(binary.display().to_string(), e)
    })?))
}

/// One environment inside `group`: spawn → first answer, then `requests - 1` warm requests.
#[allow(clippy::too_many_arguments)]
async fn life_in(
    group: &CpuGroup,
    binary: &Path,
    f: &Function,
    case: &Case,
    stack: &Stack,
    api: &mut RuntimeApi,
    mb: u32,
    index: usize,
    requests: usize,
) -> Result<Life, BenchError> {
    let start = Instant::now();
    let child = spawn_in(group, binary, f, api)?;
    let mut life = Life {
        cold_ms: f64::NAN,
        init_ms: f64::NAN,
        ..Life::default()
    };
    // An on-demand environment holds one invocation for the whole Bedrock call, seconds in which
    // it uses almost no CPU, so each request meets a refilled quota. Back to back against an
    // instant local Bedrock, requests would instead share one period's quota and measure a
    // saturated environment. Two CFS periods of idle between requests give each a fresh one.
    let idle = Duration::from_micros(2 * cfs(mb).0);
    for i in 0..requests.max(1) {
        if i > 0 {
            tokio::time::sleep(idle).await;
        }
        let id = format!("sized-{}-{mb}-{index}-{i}", child.0.id());
        let answer = api
            .invoke(&id, &event(case, mb, index, i), Duration::from_secs(60))
            .await?;
        if answer.request_id != id {
            return Err(BenchError::BadAnswer {
                what: f.name.into(),
                detail: format!("an answer for {} while {id} was asked", answer.request_id),
            });
        }
        if let Outcome::Error(e) = answer.outcome {
            life.errors += 1;
            life.first_error.get_or_insert(e);
            continue;
        }
        if i == 0 {
            life.cold_ms = (answer.at - start).as_secs_f64() * 1e3;
            if let Some(polled) = api.first_poll() {
                life.init_ms = (polled - start).as_secs_f64() * 1e3;
            }
            continue;
        }
        if let Some(t) = ms_between(answer.handed_out, Some(answer.at)) {
            life.warm_ms.push(t);
        }
        if case.binary == "router" && case.kind == Kind::Whole {
            life.after_ms.extend(next_poll_after(api, answer.at).await);
        }
        if let Kind::Streamed(direct) = case.kind {
            let first = ms_between(answer.handed_out, answer.first_byte).ok_or_else(|| {
                BenchError::BadAnswer {
                    what: f.name.into(),
                    detail: "a streamed answer without a body after its prelude".into(),
                }
            })?;
            life.first_byte_ms.push(first);
            life.direct_first_ms
                .push(direct.first_event_ms(stack).await?);
        }
    }
    drop(child);
    Ok(life)
}

fn provisioner_create(root: &Path, api: &RuntimeApi) -> Result<String, BenchError> {
    let path = root.join("events/provisioner/create.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| BenchError::io(path.display().to_string(), e))?;
    let mut e: Value = serde_json::from_str(&text)
        .map_err(|e| BenchError::Setup(format!("{}: {e}", path.display())))?;
    e["ResponseURL"] = Value::String(format!("{}/cloudformation-response", api.url()));
    Ok(e.to_string())
}

/// The router as a deployment with teams runs it: API keys (`ROUTER_AUTH_MODE=NONE`) whose hashes
/// come from Secrets Manager at init, and a tenant with a budget, so the spend store is set up at
/// init and every answer's spend is written. The Runtime API stand-in answers Secrets Manager and
/// DynamoDB (`api_url`, see [`crate::runtime_api`]).
fn keyed_router_env(stack: &Stack, api_url: &str) -> Vec<(String, String)> {
    let config = format!(
        "{}tenants:\n  team-a:\n    budget: {{monthlyUsd: 1000}}\n",
        stack.profile_yaml()
    );
    let kv = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    vec![
        kv("PROFILES_CONFIG", &config),
        kv("ROUTER_AUTH_MODE", "NONE"),
        kv(
            "ROUTER_API_KEYS_SECRET_ARN",
            crate::runtime_api::bench_secret_arn(),
        ),
        kv("AWS_ENDPOINT_URL_SECRETS_MANAGER", api_url),
        kv("SPEND_TABLE_NAME", "bench-spend"),
        kv("AWS_ENDPOINT_URL_DYNAMODB", api_url),
    ]
}

/// `event` with the bench tenant's API key, as an OpenAI SDK sends it.
fn with_api_key(event: &str) -> Result<String, BenchError> {
    let mut e: Value =
        serde_json::from_str(event).map_err(|e| BenchError::Setup(format!("router event: {e}")))?;
    e["headers"]["authorization"] =
        Value::String(format!("Bearer {}", crate::runtime_api::BENCH_API_KEY));
    Ok(e.to_string())
}

/// Records in the verifier's subscription batch: enough for one full batch (1 MiB of messages).
const BATCH_RECORDS: u64 = 4_000;

/// Every case at one size, each with the events it needs (the provisioner's response URL is the
/// life's own Runtime API, so its event is filled in per life).
fn cases(root: &Path) -> Result<Vec<Case>, BenchError> {
    let read = |p: &str| {
        let path = root.join(p);
        std::fs::read_to_string(&path).map_err(|e| BenchError::io(path.display().to_string(), e))
    };
    let chat = read("events/router/chat-completion.json")?;
    let stream = read("events/router/chat-completion-stream.json")?;
    let messages = serde_json::json!({"max_tokens": 256, "stream": true,
        "messages": [{"role": "user", "content": crate::harness::PROMPT}]});
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::io(dir.display().to_string(), e))?;
    let batch = crate::stream_bench::batches(&dir, BATCH_RECORDS)?;
    let (Some(payload), Some(&bytes)) =
        (batch.payloads.first(), batch.payload_message_bytes.first())
    else {
        return Err(BenchError::Setup("no subscription batch was made".into()));
    };
    Ok(vec![
        Case {
            binary: "router",
            who: "router",
            keyed: false,
            what: "chat request (Runtime API event → answer, local Bedrock)",
            cold_rows: true,
            event: router_event(&chat, "/v1/chat/completions", None)?,
            kind: Kind::Whole,
        },
        Case {
            binary: "router",
            who: "router",
            keyed: false,
            what: "chat stream",
            cold_rows: false,
            event: router_event(&stream, "/v1/chat/completions", None)?,
            kind: Kind::Streamed(Direct::ConverseStream),
        },
        Case {
            binary: "router",
            who: "router",
            keyed: false,
            what: "/v1/messages stream",
            cold_rows: false,
            event: router_event(&stream, "/v1/messages", Some(messages))?,
            kind: Kind::Streamed(Direct::InvokeModelWithResponseStream),
        },
        Case {
            binary: "router",
            who: "router with keys and a budget",
            keyed: true,
            what: "chat request (Runtime API event → answer, local Bedrock)",
            cold_rows: true,
            event: with_api_key(&router_event(&chat, "/v1/chat/completions", None)?)?,
            kind: Kind::Whole,
        },
        Case {
            binary: "verifier",
            who: "verifier",
            keyed: false,
            what: "scheduled run (empty log window)",
            cold_rows: true,
            event: read("events/verifier/scheduled.json")?,
            kind: Kind::Whole,
        },
        Case {
            binary: "verifier",
            who: "verifier",
            keyed: false,
            what: "subscription batch",
            cold_rows: false,
            event: String::from_utf8_lossy(payload).into_owned(),
            kind: Kind::Batch(bytes),
        },
        Case {
            binary: "provisioner",
            who: "provisioner",
            keyed: false,
            what: "custom-resource create",
            cold_rows: true,
            event: String::new(),
            kind: Kind::Create,
        },
    ])
}

/// Cold start, warm request time, streamed first-byte overhead and verifier throughput of each
/// bootstrap at each size's CPU share.
pub async fn sized(
    root: &Path,
    stack: &Stack,
    repeats: usize,
    requests: usize,
) -> Result<Vec<Row>, BenchError> {
    let s = "Lambda-sized CPU (cgroup v1 cpu, 10 ms CFS period)";
    let mut rows = vec![];
    let cases = cases(root)?;
    for mb in SIZES_MB {
        let group = match CpuGroup::create(mb) {
            Ok(g) => g,
            Err(e) => {
                // Not permitted here (e.g. a CI container without a writable cgroup): say so and
                // measure nothing rather than report unthrottled figures as a size's.
                rows.push(Row::new(s, format!("{mb} MB: cgroup"), "").note(format!(
                    "not measured: could not create a CPU-limited cgroup ({e})"
                )));
                return Ok(rows);
            }
        };
        let (period, quota) = cfs(mb);
        let share = quota as f64 / period as f64;
        for case in &cases {
            let name = case.binary;
            let binary = root.join("target/release").join(name);
            if !binary.exists() {
                rows.push(
                    Row::new(s, format!("{mb} MB {name} {}", case.what), "ms")
                        .note(format!("not measured: {} is missing", binary.display())),
                );
                continue;
            }
            let mut lives = vec![];
            for life_index in 0..repeats {
                let mut api = RuntimeApi::start().await?;
                let mut f = functions(root, stack, &api)?
                    .into_iter()
                    .find(|f| f.name == name)
                    .ok_or_else(|| BenchError::Setup(format!("no function {name}")))?;
                if case.keyed {
                    f.env.extend(keyed_router_env(stack, &api.url()));
                }
                let mut case_here = case.clone();
                if case.kind == Kind::Create {
                    case_here.event = provisioner_create(root, &api)?;
                }
                let life = life_in(
                    &group, &binary, &f, &case_here, stack, &mut api, mb, life_index, requests,
                )
                .await?;
                lives.push(life);
            }
            rows.extend(case_rows(s, mb, share, (quota, period), case, &lives));
        }
        drop(group);
    }
    Ok(rows)
}

/// The rows one case's lives at one size give.
fn case_rows(
    s: &str,
    mb: u32,
    share: f64,
    (quota, period): (u64, u64),
    case: &Case,
    lives: &[Life],
) -> Vec<Row> {
    let name = case.who;
    let all = |f: fn(&Life) -> &Vec<f64>| -> Vec<f64> {
        lives.iter().flat_map(|l| f(l).iter().copied()).collect()
    };
    let cold: Vec<f64> = lives
        .iter()
        .map(|l| l.cold_ms)
        .filter(|c| c.is_finite())
        .collect();
    let init: Vec<f64> = lives
        .iter()
        .map(|l| l.init_ms)
        .filter(|c| c.is_finite())
        .collect();
    let errors: usize = lives.iter().map(|l| l.errors).sum();
    let first_error = lives.iter().find_map(|l| l.first_error.clone());
    let answered = match &first_error {
        None => format!(
            "share {share:.3} vCPU ({quota}/{period} µs); every invocation answered with a success"
        ),
        Some(e) => {
            format!("share {share:.3} vCPU ({quota}/{period} µs); {errors} failed, first: {e}")
        }
    };
    let mut rows = vec![];
    if case.cold_rows {
        rows.push(
            Row::new(s, format!("{mb} MB {name} spawn → first answer"), "ms")
                .values(&cold)
                .target(Target::at_most(150.0))
                .note(answered.clone()),
        );
        // The split of that time: init (Lambda's Init Duration) and the first invocation.
        let first: Vec<f64> = lives
            .iter()
            .filter(|l| l.cold_ms.is_finite() && l.init_ms.is_finite())
            .map(|l| l.cold_ms - l.init_ms)
            .collect();
        rows.push(
            Row::new(s, format!("{mb} MB {name} of which init"), "ms")
                .values(&init)
                .note("spawn → first poll for an event"),
        );
        rows.push(
            Row::new(s, format!("{mb} MB {name} of which first invocation"), "ms")
                .values(&first)
                .note("event handed out → answer, the first calls on new connections"),
        );
    } else if first_error.is_some() {
        rows.push(Row::new(s, format!("{mb} MB {name} {}", case.what), "").note(answered.clone()));
    }
    let warm = all(|l| &l.warm_ms);
    if warm.is_empty() {
        return rows;
    }
    match case.kind {
        Kind::Whole | Kind::Create => {
            for (p, label) in [(50.0, "p50"), (99.0, "p99")] {
                let mut row = Row::new(s, format!("{mb} MB {name} {} {label}", case.what), "ms")
                    .values(&[percentile(&warm, p)]);
                if case.binary == "router" && label == "p50" {
                    row = row.target(Target::at_most(2.0));
                }
                rows.push(row.note(format!("{} warm requests", warm.len())));
            }
            let after = all(|l| &l.after_ms);
            if !after.is_empty() {
                for (p, label) in [(50.0, "p50"), (99.0, "p99")] {
                    rows.push(
                        Row::new(s, format!("{mb} MB {name} answer → next poll {label}"), "ms")
                            .values(&[percentile(&after, p)])
                            .note(format!(
                                "billed time after the answer's last byte (a budgeted tenant's spend write settles in it; the stand-in answers DynamoDB at once), {} warm requests",
                                after.len()
                            )),
                    );
                }
            }
        }
        Kind::Streamed(_) => {
            let (via, direct) = (all(|l| &l.first_byte_ms), all(|l| &l.direct_first_ms));
            for (p, label) in [(50.0, "p50"), (99.0, "p99")] {
                let added = percentile(&via, p) - percentile(&direct, p);
                let mut row = Row::new(
                    s,
                    format!("{mb} MB router {} added first byte {label}", case.what),
                    "ms",
                )
                .values(&[added]);
                if label == "p50" {
                    row = row.target(Target::at_most(2.0));
                }
                rows.push(row.note(format!(
                    "event handed out → first body byte {:.3} ms vs the same call straight to the local Bedrock {:.3} ms (full core), {} warm streams",
                    percentile(&via, p),
                    percentile(&direct, p),
                    via.len()
                )));
            }
        }
        Kind::Batch(bytes) => {
            let mbs: Vec<f64> = warm
                .iter()
                .map(|t| bytes as f64 / 1e6 / (t / 1e3))
                .collect();
            rows.push(
                Row::new(s, format!("{mb} MB verifier {} throughput", case.what), "MB/s")
                    .values(&mbs)
                    .note(format!(
                        "{:.2} MB of log messages per batch (event handed out → answer), {} warm batches",
                        bytes as f64 / 1e6,
                        mbs.len()
                    )),
            );
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_is_the_memory_share_of_one_vcpu() {
        assert_eq!(cfs(1_769), (10_000, 10_000));
        assert_eq!(cfs(512), (10_000, 2_894));
        assert_eq!(cfs(256), (10_000, 1_447));
        // 128 MB's share of 10 ms (0.72 ms) is under the kernel's minimum quota, so its period
        // is lengthened until the quota is 1 ms: the same share, a coarser slice.
        let (period, quota) = cfs(128);
        assert_eq!(quota, 1_000);
        assert!((quota as f64 / period as f64 - 128.0 / 1769.0).abs() < 1e-4);
    }
}
