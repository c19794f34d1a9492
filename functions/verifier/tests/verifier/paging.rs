//! Paging, throttling and the deadline, through the whole run.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;
use verifier::fake::MemoryLogs;
use verifier::run_scan;

use crate::support::{NOVA, SONNET_PROFILE, fast_settings, record, verifier};

const WINDOW: (&str, &str) = ("2026-11-27T10:00:00Z", "2026-11-27T10:59:59.999Z");
const BASE: i64 = 1_795_773_600_000; // 2026-11-27T10:00:00Z

fn backfill() -> serde_json::Value {
    json!({"start": WINDOW.0, "end": WINDOW.1})
}

fn logs_with(n: usize, page_size: usize) -> MemoryLogs {
    let mut logs = MemoryLogs::new(page_size);
    for i in 0..n {
        // Several records share each millisecond, so page boundaries fall inside milliseconds.
        let model = if i % 4 == 0 { NOVA } else { SONNET_PROFILE };
        logs.put(
            "us-east-1",
            BASE + (i as i64 / 3) * 100,
            record(model, "us-east-1", i).to_string(),
        );
    }
    logs
}

#[tokio::test(start_paused = true)]
async fn empty_pages_and_throttling_do_not_lose_or_repeat_records() {
    let mut logs = logs_with(500, 7);
    logs.empty_every = Some(3);
    logs.throttle_every = Some(5);
    let mut settings = fast_settings();
    settings.scan.requests_per_second = 5.0;
    let v = verifier(logs, settings);
    let report = run_scan(&v, &backfill(), None).await.unwrap();
    assert!(report.complete);
    assert_eq!(report.records, 500);
    assert_eq!(report.counts.profiled, 375);
    assert_eq!(report.counts.mapping_miss, 125);
    assert!(v.logs.calls() > 500 / 7, "every page was followed");
}

#[tokio::test(start_paused = true)]
async fn a_run_cut_by_the_deadline_reports_where_to_resume_and_the_resume_finishes_exactly() {
    let logs = logs_with(300, 10);
    let mut settings = fast_settings();
    settings.scan.requests_per_second = 5.0;
    settings.scan.deadline_margin = Duration::from_secs(1);
    let v = verifier(logs, settings);

    let deadline = Instant::now() + Duration::from_secs(3);
    let first = run_scan(&v, &backfill(), Some(deadline)).await.unwrap();
    assert!(!first.complete);
    assert!(
        first.records > 0 && first.records < 300,
        "{}",
        first.records
    );
    assert!(
        v.metrics.0.lock().unwrap().is_empty(),
        "no metrics for an incomplete window"
    );
    let incomplete = &first.findings[0];
    assert_eq!(incomplete.class, "incomplete_scan");
    let resume = incomplete
        .resume
        .as_ref()
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(resume.len(), 1, "one region, so one input");
    assert_eq!(resume[0]["end"], WINDOW.1);

    let mut total = first.records;
    let mut inputs = resume;
    while let Some(input) = inputs.pop() {
        let next = run_scan(&v, &input, Some(Instant::now() + Duration::from_secs(3)))
            .await
            .unwrap();
        total += next.records;
        if let Some(f) = next.findings.iter().find(|f| f.class == "incomplete_scan") {
            inputs.extend(
                f.resume
                    .as_ref()
                    .unwrap()
                    .as_array()
                    .unwrap()
                    .iter()
                    .cloned(),
            );
        }
    }
    assert_eq!(
        total, 300,
        "the resumed runs counted every record exactly once"
    );
}
