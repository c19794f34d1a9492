//! The `events/verifier` fixtures drive the Lambda handler as `cargo lambda invoke` would.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use verifier::fake::MemoryLogs;
use verifier::handler::handle;

use crate::support::{SONNET_PROFILE, fast_settings, record, verifier};

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/verifier")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn event(payload: Value) -> LambdaEvent<Value> {
    let mut context = Context::default();
    let deadline = SystemTime::now() + Duration::from_secs(60);
    context.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    LambdaEvent::new(payload, context)
}

const T_11_22: i64 = 1_795_778_520_000; // 2026-11-27T11:22:00Z
const T_10_30: i64 = 1_795_775_400_000; // 2026-11-27T10:30:00Z

fn logs() -> MemoryLogs {
    let mut logs = MemoryLogs::new(100);
    logs.put(
        "us-east-1",
        T_11_22,
        record(SONNET_PROFILE, "us-east-1", 1).to_string(),
    );
    logs.put(
        "us-east-1",
        T_10_30,
        record(SONNET_PROFILE, "us-east-1", 2).to_string(),
    );
    logs
}

#[tokio::test]
async fn the_scheduled_event_fixture_scans_the_five_minutes_before_its_time() {
    let v = verifier(logs(), fast_settings());
    let report = handle(&v, event(fixture("scheduled.json"))).await.unwrap();
    assert_eq!(report.window.start, "2026-11-27T11:20:00.000Z");
    assert_eq!(report.window.end, "2026-11-27T11:24:59.999Z");
    assert_eq!(report.records, 1);
    assert!(report.complete);
}

#[tokio::test]
async fn the_backfill_fixture_scans_its_explicit_hour() {
    let v = verifier(logs(), fast_settings());
    let report = handle(&v, event(fixture("backfill.json"))).await.unwrap();
    assert_eq!(report.window.start, "2026-11-27T10:00:00.000Z");
    assert_eq!(report.window.end, "2026-11-27T10:59:59.999Z");
    assert_eq!(report.records, 1);
}

#[tokio::test]
async fn a_payload_that_is_neither_is_an_invalid_input_diagnostic() {
    let v = verifier(logs(), fast_settings());
    let err = handle(&v, event(serde_json::json!({"hello": "world"})))
        .await
        .unwrap_err();
    let d: lambda_runtime::Diagnostic = err.into();
    assert_eq!(d.error_type, "Verifier.InvalidInput");
    assert!(d.error_message.contains("Scheduled Event"));
}
