//! Stream mode: CloudWatch Logs subscription batches through the Lambda entry, against the same
//! fakes as the scan's tests, with real `awslogs` payloads (gzip + base64 of the subscription
//! JSON) and the `events/verifier/subscription.json` fixture.

#[path = "verifier/alloc.rs"]
mod alloc;
#[path = "verifier/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use verifier::alert::Notifier;
use verifier::awslogs::Event;
use verifier::fake::{FakeControlPlane, MemoryLogs};
use verifier::report::Counts;
use verifier::stream::{Answer, BatchSummary, alarm_view, decode, handle_batch, route};
use verifier::stream_alerts::AlertLimiter;

use support::{SONNET, SONNET_PROFILE, fast_settings, record, verifier};

const T0: i64 = 1_795_778_523_000; // 2026-11-27T11:22:03Z

fn lambda_event(payload: Value) -> LambdaEvent<Value> {
    let mut context = Context::default();
    let deadline = SystemTime::now() + Duration::from_secs(60);
    context.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    LambdaEvent::new(payload, context)
}

/// An `awslogs` payload exactly as CloudWatch Logs sends it.
fn awslogs(events: &[(i64, String)]) -> Value {
    let events: Vec<Event> = events
        .iter()
        .enumerate()
        .map(|(i, (timestamp, message))| Event {
            id: format!("{:056}", 1000 + i),
            timestamp: *timestamp,
            message: message.clone(),
        })
        .collect();
    verifier::awslogs::payload(
        "123456789012",
        "/aws/bedrock/model-invocations",
        "aws/bedrock/modelinvocations",
        "verifier",
        &events,
    )
    .unwrap()
}

fn fixture() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/verifier/subscription.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn batch_of(answer: Answer) -> BatchSummary {
    match answer {
        Answer::Batch(b) => b,
        Answer::Scan(r) => panic!("a subscription batch was scanned: {r:?}"),
    }
}

fn limiter() -> AlertLimiter {
    AlertLimiter::new(Duration::from_secs(300))
}

/// Traffic of every kind: profiled, raw IDs, a region violation, failed calls, garbage.
fn mixed_events() -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for i in 0..40usize {
        let message = match i % 8 {
            0 => record(SONNET, "us-east-1", i).to_string(),
            1 => record(SONNET_PROFILE, "us-west-2", i).to_string(),
            2 => support::error_record(SONNET_PROFILE, "ThrottlingException", "slow down", i)
                .to_string(),
            3 => "START RequestId: not an invocation log".to_string(),
            4 => record(support::STRANGER_PROFILE, "us-east-1", i).to_string(),
            5 => record("amazon.titan-text-express-v1", "us-east-1", i).to_string(),
            _ => record(SONNET_PROFILE, "us-east-1", i).to_string(),
        };
        out.push((T0 + i as i64 * 37, message));
    }
    out
}

#[tokio::test]
async fn the_subscription_fixture_is_decoded_and_classified() {
    let v = verifier(MemoryLogs::new(100), fast_settings());
    let answer = route(&v, &limiter(), lambda_event(fixture()))
        .await
        .unwrap();
    let b = batch_of(answer);
    assert_eq!(b.message_type, "DATA_MESSAGE");
    assert_eq!(
        b.log_group,
        "/aws/bedrock/model-invocations/bedrock-profiles"
    );
    assert_eq!(b.records, 5);
    assert_eq!(
        b.counts,
        Counts {
            profiled: 3,
            mapping_miss: 1,
            malformed: 1,
            region_violation: 1,
            ..Counts::default()
        }
    );
    let lines = v.metrics.0.lock().unwrap().clone();
    assert_eq!(b.metric_documents as usize, lines.len());
    let totals: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(totals["MappingMisses"], 1.0);
    assert_eq!(
        totals["_aws"]["Timestamp"], T0,
        "datapoints carry the first event's time"
    );
    assert_eq!(
        v.notifier.0.lock().unwrap().len(),
        1,
        "the miss and the violation alert once"
    );
}

#[tokio::test]
async fn the_schedule_event_still_runs_the_scan() {
    let v = verifier(MemoryLogs::new(100), fast_settings());
    let answer = route(
        &v,
        &limiter(),
        lambda_event(support::scheduled("2026-11-27T11:25:00Z")),
    )
    .await
    .unwrap();
    assert!(matches!(answer, Answer::Scan(r) if r.complete));
}

#[tokio::test]
async fn a_batch_counts_and_finds_exactly_what_a_scan_of_the_same_records_does() {
    let events = mixed_events();
    let mut logs = MemoryLogs::new(7);
    for (ts, message) in &events {
        logs.put("us-east-1", *ts, message.clone());
    }
    let scanner = verifier(logs, fast_settings());
    let backfill = json!({"start": "2026-11-27T11:00:00Z", "end": "2026-11-27T12:00:00Z"});
    let report = verifier::run_scan(&scanner, &backfill, None).await.unwrap();

    let v = verifier(MemoryLogs::new(100), fast_settings());
    // Two batches, as a subscription may split the same traffic.
    let (a, b) = events.split_at(13);
    let mut counts = Counts::default();
    for part in [a, b] {
        let s = batch_of(
            route(&v, &limiter(), lambda_event(awslogs(part)))
                .await
                .unwrap(),
        );
        for (sum, x) in [
            (&mut counts.profiled, s.counts.profiled),
            (&mut counts.mapping_miss, s.counts.mapping_miss),
            (&mut counts.unmapped, s.counts.unmapped),
            (&mut counts.unknown_profile, s.counts.unknown_profile),
            (&mut counts.malformed, s.counts.malformed),
            (&mut counts.region_violation, s.counts.region_violation),
            (&mut counts.error, s.counts.error),
        ] {
            *sum += x;
        }
    }
    assert_eq!(report.counts, counts);
    assert!(counts.mapping_miss > 0 && counts.malformed > 0 && counts.error > 0);
    assert!(counts.unknown_profile > 0 && counts.unmapped > 0 && counts.region_violation > 0);

    // The stream's alert carries the scan's remedies, word for word.
    let alerts = v.notifier.0.lock().unwrap().clone();
    let body = &alerts[0].1;
    for f in report.findings.iter().filter(|f| f.is_problem()) {
        assert!(
            body.contains(&f.remedy),
            "missing remedy of {}: {body}",
            f.class
        );
    }
}

/// A notifier that always fails, as SNS might.
#[derive(Default)]
struct Failing(Mutex<u32>);

impl Notifier for Failing {
    async fn notify(&self, _subject: &str, _message: &str) -> Result<(), String> {
        *self.0.lock().unwrap() += 1;
        Err("InternalError: SNS is down".into())
    }
}

#[tokio::test]
async fn a_redelivered_batch_does_not_change_the_alarms_view() {
    let v = verifier(MemoryLogs::new(100), fast_settings());
    let limiter = limiter();
    let payload = awslogs(&mixed_events());
    let first = batch_of(
        route(&v, &limiter, lambda_event(payload.clone()))
            .await
            .unwrap(),
    );
    let once = v.metrics.0.lock().unwrap().clone();
    // Lambda's asynchronous invocation is at-least-once: the same payload again, later.
    let again = batch_of(route(&v, &limiter, lambda_event(payload)).await.unwrap());
    let twice = v.metrics.0.lock().unwrap().clone();
    assert_eq!(first.counts, again.counts);
    assert_eq!(twice.len(), 2 * once.len());
    assert_eq!(&twice[once.len()..], &once[..], "the very same documents");
    assert!(alarm_view(&once).values().any(|v| *v > 0.0));
    assert_eq!(alarm_view(&once), alarm_view(&twice));
    assert_eq!(
        v.notifier.0.lock().unwrap().len(),
        1,
        "the redelivery raised no second alert"
    );
}

#[tokio::test]
async fn a_failing_alert_topic_never_fails_a_batch_whose_metrics_are_written() {
    let config = support::config();
    let plan = verifier::plan::plan(&config, "/g").unwrap();
    let v = verifier::Verifier {
        logs: MemoryLogs::new(10),
        control_plane: FakeControlPlane::default(),
        notifier: Failing::default(),
        classifier: verifier::classify::ConfigClassifier::new(&config),
        metrics: support::Captured::default(),
        regions: plan.regions,
        findings: plan.findings,
        doctor: plan.doctor,
        settings: fast_settings(),
    };
    let b = batch_of(
        route(&v, &limiter(), lambda_event(awslogs(&mixed_events())))
            .await
            .unwrap(),
    );
    assert!(b.alerted > 0);
    assert_eq!(*v.notifier.0.lock().unwrap(), 1, "the alert was tried");
    assert!(!v.metrics.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_flood_of_misses_alerts_once_per_model_per_interval() {
    let v = verifier(MemoryLogs::new(100), fast_settings());
    let limiter = limiter();
    let mut held = 0;
    for batch in 0..50i64 {
        let events: Vec<(i64, String)> = (0..20)
            .map(|i| {
                (
                    T0 + batch * 1000 + i,
                    record(SONNET, "us-east-1", i as usize).to_string(),
                )
            })
            .collect();
        let data = decode(&awslogs(&events)).unwrap();
        let s = handle_batch(&v, &limiter, &data, T0 + batch * 1000).await;
        assert_eq!(s.counts.mapping_miss, 20, "every record is counted");
        held += s.held;
    }
    let alerts = v.notifier.0.lock().unwrap().clone();
    assert_eq!(alerts.len(), 1, "one alert for fifty batches of misses");
    assert!(alerts[0].1.contains("mapping_miss"));
    assert!(
        alerts[0].1.contains("session-"),
        "the alert names the callers"
    );
    assert_eq!(held, 49);
    // The next interval alerts again and says how much was held back.
    let data = decode(&awslogs(&[(
        T0 + 400_000,
        record(SONNET, "us-east-1", 1).to_string(),
    )]))
    .unwrap();
    handle_batch(&v, &limiter, &data, T0 + 400_000).await;
    let alerts = v.notifier.0.lock().unwrap().clone();
    assert_eq!(alerts.len(), 2);
    assert!(
        alerts[1].1.contains("49 more finding(s)"),
        "{}",
        alerts[1].1
    );
}

#[tokio::test]
async fn the_control_message_of_a_new_subscription_counts_nothing() {
    let data = json!({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs",
        "logGroup": "", "logStream": "", "subscriptionFilters": [],
        "logEvents": [{"id": "", "timestamp": T0,
            "message": "CWL CONTROL MESSAGE: Checking health of destination Lambda."}]});
    let payload = verifier::awslogs::encode(&data).unwrap();
    let v = verifier(MemoryLogs::new(100), fast_settings());
    let b = batch_of(route(&v, &limiter(), lambda_event(payload)).await.unwrap());
    assert_eq!(b.records, 0);
    assert!(v.metrics.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_payload_that_is_not_a_batch_fails_before_counting_anything() {
    let v = verifier(MemoryLogs::new(100), fast_settings());
    let err = route(
        &v,
        &limiter(),
        lambda_event(json!({"awslogs": {"data": "H4sI!!"}})),
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type, "Verifier.InvalidSubscriptionPayload");
    assert!(v.metrics.0.lock().unwrap().is_empty());
}

/// Peak bytes above the decoded batch while `n` records are classified, metrics written and
/// alerts sent.
async fn classify_peak(n: usize) -> (u64, i64) {
    let templates: Vec<String> = (0..10)
        .map(|i| match i {
            0 => record(SONNET, "us-east-1", i).to_string(),
            1 => record(SONNET_PROFILE, "us-west-2", i).to_string(),
            2 => "not an invocation log".to_string(),
            _ => record(SONNET_PROFILE, "us-east-1", i).to_string(),
        })
        .collect();
    let events: Vec<(i64, String)> = (0..n)
        .map(|i| {
            // Distinct callers on the misses: the per-caller maps must stay capped.
            let message = if i % 10 == 0 {
                record(SONNET, "us-east-1", i)
                    .to_string()
                    .replace("session-", &format!("s{i}-"))
            } else {
                templates[i % 10].clone()
            };
            (T0 + i as i64, message)
        })
        .collect();
    let data = decode(&awslogs(&events)).unwrap();
    drop(events);
    let v = verifier(MemoryLogs::new(100), fast_settings());
    let limiter = limiter();
    alloc::reset_peak();
    let before = alloc::live();
    let s = handle_batch(&v, &limiter, &data, T0).await;
    (s.records, alloc::peak() - before)
}

#[tokio::test(flavor = "current_thread")]
async fn ten_thousand_records_in_one_batch_classify_with_flat_memory() {
    let (small, small_peak) = classify_peak(1_000).await;
    let (large, large_peak) = classify_peak(10_000).await;
    assert_eq!((small, large), (1_000, 10_000));
    println!(
        "stream memory: peak above the decoded batch {:.1} KiB for 1,000 records, {:.1} KiB for 10,000",
        small_peak as f64 / 1024.0,
        large_peak as f64 / 1024.0
    );
    // Ten times the records may not cost ten times the memory: only the capped maps grow.
    assert!(
        large_peak < small_peak + 256 * 1024,
        "classification memory grew with the batch: {small_peak} -> {large_peak} bytes"
    );
}
