//! The verifier's hot path over a generated log window: classifying each record (what a scan
//! does) and parsing each record whole, beside the floor of reading the bytes and splitting
//! lines. Lines are streamed from a file, as the verifier streams pages, so memory stays flat.

use std::fs::File;
use std::io::{BufRead as _, BufReader, BufWriter, Write as _};
use std::path::Path;
use std::time::Instant;

use serde_json::json;
use shared::config::ProfileConfig;
use shared::invocation_log::{PrimaryClass, classify, parse_record};
use shared::profile_map::ProfileMap;

use crate::cpu;
use crate::error::BenchError;
use crate::report::{Row, Target};

const ACCOUNT: &str = "123456789012";
const OUR_PROFILES: [&str; 3] = ["a1b2c3d4e5f6", "q9w8e7r6t5y4", "z1x2c3v4b5n6"];
const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const NOVA: &str = "amazon.nova-pro-v1:0";
const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

/// The FilterLogEvents ceiling: about 5 requests a second per account and region, each page
/// at most 10,000 events or 1 MB.
pub const LOGS_PAGES_PER_SECOND: f64 = 5.0;
pub const PAGE_EVENTS: f64 = 10_000.0;
pub const PAGE_BYTES: f64 = 1_048_576.0;
/// template.yaml's verifier `Timeout`.
pub const VERIFIER_TIMEOUT_S: f64 = 300.0;

/// The profile map the generated window is judged against.
pub fn profile_config() -> Result<ProfileConfig, BenchError> {
    let profiles: Vec<String> = OUR_PROFILES
        .iter()
        .map(|id| format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/{id}"))
        .collect();
    let yaml = format!(
        "models: [\"{SONNET}\", team-sonnet, \"{NOVA}\"]\n\
         inferenceProfiles:\n  \"{SONNET}\": \"{}\"\n  team-sonnet: \"{}\"\n  \"{NOVA}\": \"{}\"\n\
         defaultRegion: us-east-1\nallowedInferenceRegions: [us-east-1, us-east-2, us-west-2]\n",
        profiles[0], profiles[1], profiles[2]
    );
    ProfileConfig::parse(&yaml, |_| None).map_err(|e| BenchError::Setup(format!("config: {e}")))
}

/// A small deterministic generator, so every run judges the same window.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: [&str; 16] = [
    "revenue",
    "quarter",
    "forecast",
    "customer",
    "latency",
    "region",
    "budget",
    "summary",
    "the",
    "and",
    "of",
    "growth",
    "margin",
    "report",
    "team",
    "inference",
];

fn prose(rng: &mut Lcg, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 16);
    while s.len() < bytes {
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        s.push(' ');
    }
    s
}

/// One Bedrock invocation-log record (Converse shape) of about 2–4 KB, of a class chosen by
/// a realistic mix: mostly through our profiles, then misses, strays, failures and junk.
fn record(rng: &mut Lcg, i: u64) -> (String, &'static str) {
    let roll = rng.below(100);
    let profile = OUR_PROFILES[rng.below(3) as usize];
    let (model_id, kind) = match roll {
        0..=69 => (
            format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/{profile}"),
            "profiled",
        ),
        70..=79 => (SONNET.to_owned(), "mapping_miss"),
        80..=87 => (HAIKU.to_owned(), "unmapped"),
        88..=92 => (
            format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/zz{i:010}"),
            "unknown_profile",
        ),
        93..=98 => (
            format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/{profile}"),
            "profiled",
        ),
        _ => (String::new(), "malformed"),
    };
    if kind == "malformed" {
        let junk = prose(rng, 2000);
        return (
            format!("{{\"schemaType\":\"ModelInvocationLog\",\"truncated\":\"{junk}"),
            kind,
        );
    }
    let failed = (93..=95).contains(&roll);
    let inference_region = if roll == 96 { "eu-west-1" } else { "us-east-2" };
    let prompt_len = 900 + rng.below(1200) as usize;
    let prompt = prose(rng, prompt_len);
    let answer_len = 500 + rng.below(900) as usize;
    let answer = prose(rng, answer_len);
    let mut rec = json!({
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": format!("2026-11-27T11:{:02}:{:02}Z", (i / 60) % 60, i % 60),
        "accountId": ACCOUNT,
        "identity": {"arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/router-role/router-fn")},
        "region": "us-east-1",
        "requestId": format!("{:08x}-0000-4000-8000-{:012x}", rng.next(), i),
        "operation": "Converse",
        "modelId": model_id,
        "input": {
            "inputContentType": "application/json",
            "inputBodyJson": {
                "messages": [{"role": "user", "content": [{"text": prompt}]}],
                "inferenceConfig": {"maxTokens": 1024}
            },
            "inputTokenCount": prompt.len() / 4
        },
        "requestMetadata": {"model": "team-sonnet"},
        "inferenceRegion": inference_region,
    });
    if failed {
        rec["errorCode"] = json!("ThrottlingException");
    } else {
        rec["output"] = json!({
            "outputContentType": "application/json",
            "outputBodyJson": {
                "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": prompt.len() / 4, "outputTokens": answer.len() / 4}
            },
            "outputTokenCount": answer.len() / 4
        });
    }
    (rec.to_string(), kind)
}

/// Writes `records` records, one per line; returns the byte count.
pub fn write_window(path: &Path, records: u64) -> Result<u64, BenchError> {
    let file = File::create(path).map_err(|e| BenchError::io(path.display().to_string(), e))?;
    let mut out = BufWriter::new(file);
    let mut rng = Lcg(0x5eed);
    let mut bytes = 0;
    for i in 0..records {
        let (line, _) = record(&mut rng, i);
        bytes += line.len() as u64 + 1;
        writeln!(out, "{line}").map_err(|e| BenchError::io(path.display().to_string(), e))?;
    }
    out.flush()
        .map_err(|e| BenchError::io(path.display().to_string(), e))?;
    Ok(bytes)
}

#[derive(Clone, Copy, PartialEq)]
enum Pass {
    Floor,
    Classify,
    Parse,
}

struct Measured {
    secs: f64,
    records: u64,
    bytes: u64,
    peak_growth_mib: f64,
    /// Records judged (classified as not malformed, or parsed).
    accepted: u64,
}

fn stream_pass(path: &Path, map: &ProfileMap, pass: Pass) -> Result<Measured, BenchError> {
    let file = File::open(path).map_err(|e| BenchError::io(path.display().to_string(), e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let peak_ok = cpu::reset_peak_rss();
    let (before, _) = cpu::self_rss_and_peak_kib();
    let start = Instant::now();
    let (mut records, mut bytes, mut accepted) = (0u64, 0u64, 0u64);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| BenchError::io(path.display().to_string(), e))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        records += 1;
        let text = line.trim_end_matches('\n');
        match pass {
            Pass::Floor => accepted += u64::from(!text.is_empty()),
            Pass::Classify => {
                let c = classify(text, map);
                accepted += u64::from(c.class != PrimaryClass::Malformed);
                std::hint::black_box(c);
            }
            Pass::Parse => accepted += u64::from(parse_record(text).is_ok()),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let (_, peak) = cpu::self_rss_and_peak_kib();
    let growth = match (peak_ok, before, peak) {
        (true, Some(b), Some(p)) => p.saturating_sub(b) as f64 / 1024.0,
        _ => f64::NAN,
    };
    Ok(Measured {
        secs,
        records,
        bytes,
        peak_growth_mib: growth,
        accepted,
    })
}

/// Classifier and parser throughput over a generated window of `records` records, and the
/// same window judged at a quarter of its size to show memory does not grow with it.
pub fn verifier(dir: &Path, records: u64, repeats: usize) -> Result<Vec<Row>, BenchError> {
    let config = profile_config()?;
    let map = ProfileMap::new(&config);
    let big = dir.join("log-window.jsonl");
    let small = dir.join("log-window-quarter.jsonl");
    let total_bytes = write_window(&big, records)?;
    write_window(&small, (records / 4).max(1))?;
    let avg_record = total_bytes as f64 / records as f64;

    let (mut floor_rps, mut floor_mbs) = (vec![], vec![]);
    let (mut c_rps, mut c_mbs, mut c_peak, mut c_small_peak) = (vec![], vec![], vec![], vec![]);
    let (mut p_rps, mut p_mbs, mut p_peak) = (vec![], vec![], vec![]);
    let mut malformed = 0;
    for _ in 0..repeats {
        let f = stream_pass(&big, &map, Pass::Floor)?;
        let c = stream_pass(&big, &map, Pass::Classify)?;
        let cs = stream_pass(&small, &map, Pass::Classify)?;
        let p = stream_pass(&big, &map, Pass::Parse)?;
        for m in [&f, &c, &p] {
            if m.records != records || m.bytes != total_bytes {
                return Err(BenchError::BadAnswer {
                    what: "the log window".into(),
                    detail: format!("{} records / {} bytes read back", m.records, m.bytes),
                });
            }
        }
        malformed = c.records - c.accepted;
        let mb = total_bytes as f64 / 1e6;
        floor_rps.push(f.records as f64 / f.secs);
        floor_mbs.push(mb / f.secs);
        c_rps.push(c.records as f64 / c.secs);
        c_mbs.push(mb / c.secs);
        c_peak.push(c.peak_growth_mib);
        c_small_peak.push(cs.peak_growth_mib);
        p_rps.push(p.records as f64 / p.secs);
        p_mbs.push(mb / p.secs);
        p_peak.push(p.peak_growth_mib);
    }
    let s = "verifier (one core)";
    let window = format!(
        "{records} records, {:.1} MB, {:.0} B/record, {malformed} malformed",
        total_bytes as f64 / 1e6,
        avg_record
    );
    // What one run can read under the logs API ceiling, and the share of the run's time the
    // classifier needs for it.
    let per_page = PAGE_EVENTS.min((PAGE_BYTES / avg_record).floor());
    let ceiling = per_page * LOGS_PAGES_PER_SECOND * VERIFIER_TIMEOUT_S;
    let cpu_share: Vec<f64> = c_rps
        .iter()
        .map(|r| 100.0 * (ceiling / r) / VERIFIER_TIMEOUT_S)
        .collect();
    Ok(vec![
        Row::new(s, "classify throughput", "MB/s")
            .values(&c_mbs)
            .floor_with_ratio(&c_mbs, &floor_mbs)
            .target(Target::at_least(100.0))
            .note(window),
        Row::new(s, "classify records/s", "rec/s")
            .values(&c_rps)
            .floor_with_ratio(&c_rps, &floor_rps),
        Row::new(s, "classify peak memory growth", "MiB")
            .values(&c_peak)
            .note("VmHWM over the pass minus VmRSS before it"),
        Row::new(s, "classify peak growth, window ÷ 4", "MiB").values(&c_small_peak),
        Row::new(s, "parse_record throughput", "MB/s")
            .values(&p_mbs)
            .floor_with_ratio(&p_mbs, &floor_mbs),
        Row::new(s, "parse_record records/s", "rec/s")
            .values(&p_rps)
            .floor_with_ratio(&p_rps, &floor_rps),
        Row::new(s, "parse_record peak memory growth", "MiB").values(&p_peak),
        Row::new(s, "records per run under the logs API ceiling", "records")
            .values(&[ceiling])
            .note(format!(
                "{per_page} records/page × {LOGS_PAGES_PER_SECOND} pages/s × {VERIFIER_TIMEOUT_S} s timeout"
            )),
        Row::new(s, "classifier CPU share of such a run", "%").values(&cpu_share),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_records_are_2_to_4_kb_and_classify_as_generated() {
        let config = profile_config().unwrap();
        let map = ProfileMap::new(&config);
        let mut rng = Lcg(7);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..400 {
            let (line, kind) = record(&mut rng, i);
            assert!((1500..=4500).contains(&line.len()), "{} bytes", line.len());
            assert!(!line.contains('\n'));
            let c = classify(&line, &map);
            assert_eq!(c.class.as_str(), kind, "{line}");
            seen.insert(kind);
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
    }

    #[test]
    fn a_window_reads_back_with_the_bytes_written() {
        let dir = std::env::temp_dir().join(format!("bench-window-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.jsonl");
        let bytes = write_window(&path, 50).unwrap();
        let config = profile_config().unwrap();
        let m = stream_pass(&path, &ProfileMap::new(&config), Pass::Parse).unwrap();
        assert_eq!((m.records, m.bytes), (50, bytes));
        assert!(m.accepted < 50 && m.accepted > 40);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
