//! The verifier's stream mode: CloudWatch Logs subscription batches of the same generated
//! records the scan section judges, each handled as one invocation would (the payload's JSON,
//! base64 and gzip decoded by `aws_lambda_events`, every record classified, the batch's EMF
//! documents written), beside the floor of only undoing the payload's base64 and gzip. Then the
//! cold start of the release bootstrap with a subscription event, and what a million records
//! cost at 128 MB from the measured time.

use std::io::Read as _;
use std::path::Path;
use std::time::Instant;

use base64::Engine as _;
use serde_json::Value;
use shared::profile_map::ProfileMap;
use verifier::awslogs::Event;
use verifier::classify::ConfigClassifier;
use verifier::run::MetricsSink;
use verifier::stream::{decode, handle_batch};
use verifier::stream_alerts::AlertLimiter;

use crate::cpu;
use crate::error::BenchError;
use crate::harness::Stack;
use crate::report::{Row, Target};
use crate::runtime_api::{RuntimeApi, functions, one_life};
use crate::verifier_bench::{profile_config, write_window};

/// A batch is closed at this many events or bytes of messages, whichever comes first.
pub const BATCH_EVENTS: usize = 10_000;
pub const BATCH_BYTES: usize = 1_048_576;
/// Lambda's arm64 price in us-east-1 (per GB-second of duration, per million requests), as
/// AWS has published it since arm64 functions launched on 2021-09-29; not re-checked online
/// from this offline machine on 2026-12-04.
pub const ARM64_USD_PER_GB_SECOND: f64 = 0.000_013_333_4;
pub const USD_PER_MILLION_REQUESTS: f64 = 0.20;
/// Lambda gives a function CPU in proportion to memory: one full vCPU at 1,769 MB.
pub const MB_PER_VCPU: f64 = 1769.0;
pub const COST_MEMORY_MB: f64 = 128.0;

/// Writes EMF lines nowhere: the bench measures the work, not stdout.
struct Discard;

impl MetricsSink for Discard {
    fn emit(&self, line: &str) {
        std::hint::black_box(line);
    }
}

pub(crate) struct Batches {
    /// Each payload as the Lambda runtime receives it: JSON text.
    pub(crate) payloads: Vec<Vec<u8>>,
    /// The log messages' bytes in each payload.
    pub(crate) payload_message_bytes: Vec<u64>,
    records: u64,
    message_bytes: u64,
}

pub(crate) fn batches(dir: &Path, records: u64) -> Result<Batches, BenchError> {
    let path = dir.join("stream-window.jsonl");
    write_window(&path, records)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| BenchError::io(path.display().to_string(), e))?;
    let _ = std::fs::remove_file(&path);
    let mut out = Batches {
        payloads: vec![],
        payload_message_bytes: vec![],
        records: 0,
        message_bytes: 0,
    };
    let mut batch: Vec<Event> = vec![];
    let mut bytes = 0;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        bytes += line.len();
        batch.push(Event {
            id: format!("{:056}", i),
            timestamp: 1_795_778_400_000 + i as i64,
            message: (*line).to_owned(),
        });
        let last = i + 1 == lines.len();
        if batch.len() == BATCH_EVENTS || bytes >= BATCH_BYTES || last {
            let payload = verifier::awslogs::payload(
                "123456789012",
                "/aws/bedrock/model-invocations",
                "aws/bedrock/modelinvocations",
                "verifier",
                &batch,
            )
            .map_err(|e| BenchError::Setup(format!("payload: {e}")))?;
            out.records += batch.len() as u64;
            out.message_bytes += bytes as u64;
            out.payloads.push(payload.to_string().into_bytes());
            out.payload_message_bytes.push(bytes as u64);
            batch.clear();
            bytes = 0;
        }
    }
    Ok(out)
}

/// The floor: the payload's JSON, base64 and gzip undone, nothing read from the result.
fn unwrap_payload(bytes: &[u8]) -> Result<usize, BenchError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| BenchError::Setup(e.to_string()))?;
    let data = v["awslogs"]["data"].as_str().unwrap_or_default();
    let gz = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut json)
        .map_err(|e| BenchError::io("gzip", e))?;
    Ok(json.len())
}

struct Pass {
    secs: f64,
    records: u64,
    peak_growth_mib: f64,
}

fn measure(
    b: &Batches,
    mut each: impl FnMut(&[u8]) -> Result<u64, BenchError>,
) -> Result<Pass, BenchError> {
    let peak_ok = cpu::reset_peak_rss();
    let (before, _) = cpu::self_rss_and_peak_kib();
    let start = Instant::now();
    let mut records = 0;
    for p in &b.payloads {
        records += each(p)?;
    }
    let secs = start.elapsed().as_secs_f64();
    let (_, peak) = cpu::self_rss_and_peak_kib();
    let peak_growth_mib = match (peak_ok, before, peak) {
        (true, Some(b), Some(p)) => p.saturating_sub(b) as f64 / 1024.0,
        _ => f64::NAN,
    };
    Ok(Pass {
        secs,
        records,
        peak_growth_mib,
    })
}

/// Subscription batches through the verifier's stream path, `repeats` times.
pub fn stream(dir: &Path, records: u64, repeats: usize) -> Result<Vec<Row>, BenchError> {
    let config = profile_config()?;
    let plan = verifier::plan::plan(&config, "/aws/bedrock/model-invocations")
        .map_err(|e| BenchError::Setup(format!("plan: {e}")))?;
    let v = verifier::Verifier {
        logs: verifier::fake::MemoryLogs::new(1),
        control_plane: verifier::fake::FakeControlPlane::default(),
        notifier: verifier::alert::NoAlerts,
        classifier: ConfigClassifier::with_map(ProfileMap::new(&config)),
        metrics: Discard,
        regions: plan.regions,
        findings: plan.findings,
        doctor: plan.doctor,
        settings: verifier::settings::Settings::default(),
    };
    let limiter = AlertLimiter::new(std::time::Duration::from_secs(300));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| BenchError::Setup(format!("runtime: {e}")))?;
    let b = batches(dir, records)?;
    if b.records != records {
        return Err(BenchError::BadAnswer {
            what: "the batches".into(),
            detail: format!("{} of {records} records", b.records),
        });
    }
    let mb = b.message_bytes as f64 / 1e6;
    let gz_bytes: usize = b.payloads.iter().map(Vec::len).sum();
    let (mut mbs, mut rps, mut floor_mbs, mut peak, mut ms_per_batch) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut malformed = 0;
    for _ in 0..repeats {
        malformed = 0;
        let floor = measure(&b, |p| unwrap_payload(p).map(|_| 0))?;
        let full = measure(&b, |p| {
            let value: Value =
                serde_json::from_slice(p).map_err(|e| BenchError::Setup(e.to_string()))?;
            let data = decode(&value).map_err(|d| BenchError::BadAnswer {
                what: "decode".into(),
                detail: d.error_message,
            })?;
            let s = rt.block_on(handle_batch(&v, &limiter, &data, 0));
            malformed += s.counts.malformed;
            Ok(s.records)
        })?;
        if full.records != records {
            return Err(BenchError::BadAnswer {
                what: "the stream path".into(),
                detail: format!("{} of {records} records counted", full.records),
            });
        }
        mbs.push(mb / full.secs);
        rps.push(full.records as f64 / full.secs);
        floor_mbs.push(mb / floor.secs);
        peak.push(full.peak_growth_mib);
        ms_per_batch.push(full.secs * 1e3 / b.payloads.len() as f64);
    }
    // At 128 MB Lambda gives the function 128/1769 of a vCPU; the work is CPU-bound, so its
    // duration is the measured one-core time divided by that share.
    let share = COST_MEMORY_MB / MB_PER_VCPU;
    let per_batch = records as f64 / b.payloads.len() as f64;
    let cost: Vec<f64> = rps
        .iter()
        .map(|r| {
            let seconds = 1e6 / r / share;
            seconds * COST_MEMORY_MB / 1024.0 * ARM64_USD_PER_GB_SECOND
                + 1e6 / per_batch * USD_PER_MILLION_REQUESTS / 1e6
        })
        .collect();
    let s = "verifier stream (one core)";
    let shape = format!(
        "{} batches of ≤{BATCH_EVENTS} events / {} MiB of messages; {:.1} MB of messages, \
         {:.1} MB as awslogs payloads; {malformed} malformed",
        b.payloads.len(),
        BATCH_BYTES / 1_048_576,
        mb,
        gz_bytes as f64 / 1e6
    );
    Ok(vec![
        Row::new(s, "batch throughput (decode + classify + EMF)", "MB/s")
            .values(&mbs)
            .floor_with_ratio(&mbs, &floor_mbs)
            .target(Target::at_least(100.0))
            .note(shape),
        Row::new(s, "batch records/s", "rec/s").values(&rps),
        Row::new(s, "one invocation's batch", "ms")
            .values(&ms_per_batch)
            .note(format!("{per_batch:.0} records per batch")),
        Row::new(s, "peak memory growth over all batches", "MiB")
            .values(&peak)
            .note("VmHWM over the pass minus VmRSS before it"),
        Row::new(s, "cost per million records at 128 MB", "USD")
            .values(&cost)
            .note(format!(
                "duration = one-core time ÷ {share:.3} vCPU; ${ARM64_USD_PER_GB_SECOND}/GB-s arm64 + \
                 ${USD_PER_MILLION_REQUESTS}/M requests (us-east-1, published 2021-09-29, not \
                 re-checked offline on 2026-12-04); this machine's core, not Graviton"
            )),
    ])
}

/// Spawn → first answer of the release bootstrap handed a subscription batch: decoding on.
pub async fn cold_start(
    root: &Path,
    stack: &Stack,
    repeats: usize,
) -> Result<Vec<Row>, BenchError> {
    let s = "verifier stream cold start (release bootstrap)";
    let binary = root.join("target/release/verifier");
    if !binary.exists() {
        return Ok(vec![
            Row::new(s, "spawn → first batch answered", "ms").note(format!(
                "not measured: {} is missing (cargo build --release -p verifier)",
                binary.display()
            )),
        ]);
    }
    let event_path = root.join("events/verifier/subscription.json");
    let event = std::fs::read_to_string(&event_path)
        .map_err(|e| BenchError::io(event_path.display().to_string(), e))?;
    let (mut cold, mut errors, mut first_error) = (vec![], 0, None);
    for _ in 0..repeats {
        let mut api = RuntimeApi::start().await?;
        let mut f = functions(root, stack, &api)?
            .into_iter()
            .find(|f| f.name == "verifier")
            .ok_or_else(|| BenchError::Setup("no verifier among the functions".into()))?;
        f.event = event.clone();
        let life = one_life(&binary, &f, &mut api, 1).await?;
        cold.push(life.cold_ms);
        errors += life.errors;
        if first_error.is_none() {
            first_error = life.first_error;
        }
    }
    let answered = match first_error {
        None => "every batch answered with a summary".to_owned(),
        Some(e) => format!("{errors} answered with an error, first: {e}"),
    };
    Ok(vec![
        Row::new(s, "spawn → first batch answered", "ms")
            .values(&cold)
            .target(Target::at_most(40.0))
            .note(answered),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_every_record_and_decode_with_the_functions_decoder() {
        let dir = std::env::temp_dir().join(format!("bench-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let b = batches(&dir, 700).unwrap();
        assert_eq!(b.records, 700);
        assert!(b.payloads.len() >= 2, "700 records of 2-4 KB pass 1 MiB");
        let mut seen = 0;
        for p in &b.payloads {
            let v: Value = serde_json::from_slice(p).unwrap();
            let data = decode(&v).unwrap();
            seen += data.log_events.len();
            assert!(unwrap_payload(p).unwrap() > 0);
        }
        assert_eq!(seen, 700);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
