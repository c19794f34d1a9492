//! Consecutive scheduled runs cover a stream of records exactly once.

use chrono::{DateTime, Duration, Utc};
use verifier::fake::MemoryLogs;
use verifier::run_scan;

use crate::support::{SONNET_PROFILE, fast_settings, record, scheduled, verifier};

fn ms(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

#[tokio::test]
async fn consecutive_scheduled_runs_count_every_record_exactly_once() {
    let rate = 300_000i64;
    let delay = 120_000i64;
    let first_event = ms("2026-11-27T11:00:00Z");
    let runs = 12i64;
    // The span the runs cover: from the first window's start to the last window's end.
    let covered_start = first_event - delay - rate;
    let covered_end = first_event + (runs - 1) * rate - delay - 1;

    let mut logs = MemoryLogs::new(3);
    let mut timestamps = Vec::new();
    // Records on every boundary (first and last millisecond of each window, and just outside
    // the covered span), plus a spread inside.
    for k in 0..=runs {
        let boundary = covered_start + k * rate;
        timestamps.extend([boundary - 1, boundary, boundary + 1]);
    }
    for i in 0..200 {
        timestamps.push(covered_start + (i * 17_389) % (runs * rate));
    }
    for (i, t) in timestamps.iter().enumerate() {
        logs.put(
            "us-east-1",
            *t,
            record(SONNET_PROFILE, "us-east-1", i).to_string(),
        );
    }
    let inside = timestamps
        .iter()
        .filter(|t| (covered_start..=covered_end).contains(*t))
        .count() as u64;

    let mut settings = fast_settings();
    settings.rate_ms = rate;
    settings.ingestion_delay_ms = delay;
    let v = verifier(logs, settings);
    let mut total = 0;
    let mut previous_end: Option<String> = None;
    for k in 0..runs {
        let time = DateTime::<Utc>::from_timestamp_millis(first_event + k * rate).unwrap()
            + Duration::seconds(k % 3); // a late delivery within the minute changes nothing
        let report = run_scan(&v, &scheduled(&time.to_rfc3339()), None)
            .await
            .unwrap();
        assert!(report.complete);
        let start = ms(&report.window.start);
        let end = ms(&report.window.end);
        let expected = timestamps
            .iter()
            .filter(|t| (start..=end).contains(*t))
            .count() as u64;
        assert_eq!(report.records, expected, "window {k}");
        if let Some(prev) = &previous_end {
            assert_eq!(
                ms(prev) + 1,
                start,
                "window {k} starts right after the previous one"
            );
        }
        previous_end = Some(report.window.end.clone());
        total += report.records;
    }
    assert_eq!(total, inside);
    assert!(inside > 200, "boundary records are part of the stream");
}

#[tokio::test]
async fn a_redelivered_scheduled_event_scans_the_same_window_again() {
    let mut logs = MemoryLogs::new(10);
    let t = ms("2026-11-27T11:02:30Z");
    logs.put(
        "us-east-1",
        t,
        record(SONNET_PROFILE, "us-east-1", 1).to_string(),
    );
    let v = verifier(logs, fast_settings());
    let a = run_scan(&v, &scheduled("2026-11-27T11:05:00Z"), None)
        .await
        .unwrap();
    let b = run_scan(&v, &scheduled("2026-11-27T11:05:00Z"), None)
        .await
        .unwrap();
    assert_eq!(a.window, b.window);
    assert_eq!(a.records, 1);
    assert_eq!(b.records, 1);
}
