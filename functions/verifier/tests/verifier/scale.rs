//! 100,000 records over many pages through the in-process fake, with flat memory.

use std::sync::OnceLock;
use std::time::Instant;

use serde_json::json;
use verifier::fake::GeneratedLogs;
use verifier::run_scan;

use crate::alloc;
use crate::support::{NOVA, SONNET, SONNET_PROFILE, error_record, fast_settings, record, verifier};

const BASE: i64 = 1_795_773_600_000; // 2026-11-27T10:00:00Z

/// Ten real-shaped records (about 1 KB each), built once: the scale test measures the scanner, not
/// the generation of its input.
fn templates() -> &'static [String] {
    static T: OnceLock<Vec<String>> = OnceLock::new();
    T.get_or_init(|| (0..10).map(build).collect())
}

fn message(i: usize) -> String {
    templates()[i % 10].clone()
}

fn build(i: usize) -> String {
    match i % 10 {
        0 => record(SONNET, "us-east-1", i).to_string(),
        1 => record(SONNET_PROFILE, "us-west-2", i).to_string(),
        2 => error_record(
            SONNET_PROFILE,
            "ThrottlingException",
            "Too many requests",
            i,
        )
        .to_string(),
        3 => "{\"modelId\": 42, \"garbage\": true".to_string(),
        4 => record(NOVA, "us-east-1", i).to_string(),
        _ => record(SONNET_PROFILE, "us-east-1", i).to_string(),
    }
}

/// Scans `n` records (one per 10 ms, 1,000 a page, every 7th page empty) and returns
/// (records counted, peak bytes above the starting level, seconds).
async fn scan(n: usize) -> (u64, i64, f64, u64) {
    templates();
    let mut logs = GeneratedLogs::new(n, BASE, 10, 1000, message);
    logs.empty_every = Some(7);
    let v = verifier(logs, fast_settings());
    let end = BASE + n as i64 * 10;
    let input = json!({
        "start": "2026-11-27T10:00:00Z",
        "end": chrono::DateTime::from_timestamp_millis(end).unwrap().to_rfc3339(),
    });
    alloc::reset_peak();
    let before = alloc::live();
    let started = Instant::now();
    let report = run_scan(&v, &input, None).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    let peak = alloc::peak() - before;
    assert!(report.complete);
    assert_eq!(report.counts.malformed, n as u64 / 10);
    assert_eq!(report.counts.region_violation, n as u64 / 10);
    assert_eq!(report.counts.error, n as u64 / 10);
    assert_eq!(
        report.counts.mapping_miss,
        2 * n as u64 / 10,
        "raw Sonnet and raw Nova"
    );
    (report.records, peak, secs, v.logs.calls() as u64)
}

#[tokio::test(flavor = "current_thread")]
async fn a_hundred_thousand_records_are_classified_with_flat_memory() {
    let (small, small_peak, small_secs, _) = scan(10_000).await;
    let (large, large_peak, large_secs, calls) = scan(100_000).await;
    assert_eq!(small, 10_000);
    assert_eq!(large, 100_000);
    println!(
        "scale: 10,000 records: peak {:.2} MiB above start, {:.0} records/s",
        small_peak as f64 / 1048576.0,
        small as f64 / small_secs
    );
    println!(
        "scale: 100,000 records over {calls} pages: peak {:.2} MiB above start, {:.0} records/s",
        large_peak as f64 / 1048576.0,
        large as f64 / large_secs
    );
    // Ten times the records must not need meaningfully more memory: it is bounded by one page.
    assert!(
        large_peak < small_peak * 3 / 2 + 256 * 1024,
        "memory grew with the record count: {small_peak} -> {large_peak} bytes"
    );
}
