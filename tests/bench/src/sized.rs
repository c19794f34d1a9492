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
use crate::runtime_api::{Function, Outcome, Reaped, RuntimeApi, functions, lambda_command};
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
struct CpuGroup {
    dir: PathBuf,
}

impl CpuGroup {
    fn create(mb: u32) -> Result<Self, String> {
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

/// Per-request events: the provisioner gets a new logical id each time, so every request is a
/// real create rather than a conflict with the profile the previous one made.
fn event(f: &Function, mb: u32, life: usize, i: usize) -> String {
    if f.name != "provisioner" {
        return f.event.clone();
    }
    let mut e: Value = serde_json::from_str(&f.event).unwrap_or(Value::Null);
    e["LogicalResourceId"] = Value::String(format!("Sized{mb}x{life}x{i}"));
    e["RequestId"] = Value::String(format!("sized-{mb}-{life}-{i}"));
    e.to_string()
}

struct Life {
    cold_ms: f64,
    /// Spawn → the first poll for an event: what Lambda reports as Init Duration.
    init_ms: f64,
    warm_ms: Vec<f64>,
    errors: usize,
    first_error: Option<String>,
}

/// One environment inside `group`: spawn → first answer, then `requests - 1` warm requests.
async fn life_in(
    group: &CpuGroup,
    binary: &Path,
    f: &Function,
    api: &mut RuntimeApi,
    mb: u32,
    index: usize,
    requests: usize,
) -> Result<Life, BenchError> {
    // The shell joins the group and then execs the bootstrap, so init is charged to the quota.
    let script = "echo $$ > \"$1/cgroup.procs\" && exec \"$2\"";
    let args: [&OsStr; 5] = [
        OsStr::new("-c"),
        OsStr::new(script),
        OsStr::new("sh"),
        group.dir.as_os_str(),
        binary.as_os_str(),
    ];
    let mut cmd = lambda_command(Path::new("/bin/sh"), &args, f, api);
    let start = Instant::now();
    let child = Reaped(
        cmd.spawn()
            .map_err(|e| BenchError::io(binary.display().to_string(), e))?,
    );
    let mut life = Life {
        cold_ms: f64::NAN,
        init_ms: f64::NAN,
        warm_ms: vec![],
        errors: 0,
        first_error: None,
    };
    for i in 0..requests.max(1) {
        let id = format!("sized-{}-{mb}-{index}-{i}", child.0.id());
        let sent = Instant::now();
        let answer = api
            .invoke(&id, &event(f, mb, index, i), Duration::from_secs(60))
            .await?;
        if i == 0 {
            life.cold_ms = (answer.at - start).as_secs_f64() * 1e3;
            if let Some(polled) = api.first_poll() {
                life.init_ms = (polled - start).as_secs_f64() * 1e3;
            }
        } else {
            life.warm_ms.push((answer.at - sent).as_secs_f64() * 1e3);
        }
        if answer.request_id != id {
            return Err(BenchError::BadAnswer {
                what: f.name.into(),
                detail: format!("an answer for {} while {id} was asked", answer.request_id),
            });
        }
        if let Outcome::Error(e) = answer.outcome {
            life.errors += 1;
            life.first_error.get_or_insert(e);
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

/// Cold start and warm request time of each bootstrap at each size's CPU share.
pub async fn sized(
    root: &Path,
    stack: &Stack,
    repeats: usize,
    requests: usize,
) -> Result<Vec<Row>, BenchError> {
    let s = "Lambda-sized CPU (cgroup v1 cpu, 10 ms CFS period)";
    let mut rows = vec![];
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
        for (index, name) in ["router", "verifier", "provisioner"]
            .into_iter()
            .enumerate()
        {
            let binary = root.join("target/release").join(name);
            if !binary.exists() {
                rows.push(
                    Row::new(s, format!("{mb} MB {name} spawn → first answer"), "ms")
                        .note(format!("not measured: {} is missing", binary.display())),
                );
                continue;
            }
            let (mut cold, mut init, mut warm, mut errors, mut first_error) =
                (vec![], vec![], vec![], 0, None);
            for life_index in 0..repeats {
                let mut api = RuntimeApi::start().await?;
                let mut all = functions(root, stack, &api)?;
                let mut f = all.swap_remove(index);
                if name == "provisioner" {
                    f.event = provisioner_create(root, &api)?;
                }
                let life = life_in(&group, &binary, &f, &mut api, mb, life_index, requests).await?;
                cold.push(life.cold_ms);
                init.push(life.init_ms);
                warm.extend(life.warm_ms);
                errors += life.errors;
                if first_error.is_none() {
                    first_error = life.first_error;
                }
            }
            let answered = match &first_error {
                None => format!(
                    "share {share:.3} vCPU ({quota}/{period} µs); every invocation answered with a response"
                ),
                Some(e) => format!(
                    "share {share:.3} vCPU ({quota}/{period} µs); {errors} errors, first: {e}"
                ),
            };
            rows.push(
                Row::new(s, format!("{mb} MB {name} spawn → first answer"), "ms")
                    .values(&cold)
                    .target(Target::at_most(150.0))
                    .note(answered),
            );
            // The split of that time: init (Lambda's Init Duration) and the first invocation.
            let first: Vec<f64> = cold.iter().zip(&init).map(|(c, i)| c - i).collect();
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
            if warm.is_empty() {
                continue;
            }
            let what = match name {
                "router" => "chat request (Runtime API event → answer, local Bedrock)",
                "verifier" => "scheduled run (empty log window)",
                _ => "custom-resource create",
            };
            for (p, label) in [(50.0, "p50"), (99.0, "p99")] {
                let mut row = Row::new(s, format!("{mb} MB {name} {what} {label}"), "ms")
                    .values(&[percentile(&warm, p)]);
                if name == "router" && label == "p50" {
                    row = row.target(Target::at_most(2.0));
                }
                rows.push(row.note(format!("{} warm requests", warm.len())));
            }
        }
        drop(group);
    }
    Ok(rows)
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
