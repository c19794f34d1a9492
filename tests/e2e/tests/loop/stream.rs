//! The same loop in stream mode. Traffic of every kind goes through the router and around it to
//! the local Bedrock, which writes its invocation logs to moto's CloudWatch Logs; lines that are
//! not invocation logs are written beside them. The scan reads the window back; the stream gets
//! the very same events as CloudWatch Logs would hand a subscribed Lambda (`awslogs` payloads,
//! gzip + base64, a few events per batch, per log stream). Both must count exactly the same, and
//! a batch delivered twice must not move the alarm.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use e2e::local_sdk_config;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use shared::config::ProfileConfig;
use shared::profile_map::ProfileMap;
use verifier::awslogs::Event;
use verifier::stream::{alarm_view, decode, handle_batch};
use verifier::stream_alerts::AlertLimiter;

use super::faults::add_fault;
use super::{
    ACCOUNT, Captured, HAIKU_FM, LOG_GROUP, LoggingStack, SONNET, bypass_the_profile, chat,
    create_profile, local_verifier, scan, start_logging_stack,
};

/// Events per subscription batch: small, so the traffic spans several batches.
const BATCH: usize = 3;

/// Every event of the invocation log group in `region` between the bounds, per log stream, in
/// the order CloudWatch Logs returns them.
async fn group_events(
    moto: &str,
    region: &str,
    start_ms: i64,
    end_ms: i64,
) -> BTreeMap<String, Vec<Event>> {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&local_sdk_config(moto, region));
    let mut by_stream: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    let mut token = None;
    loop {
        let page = logs
            .filter_log_events()
            .log_group_name(LOG_GROUP)
            .start_time(start_ms)
            .end_time(end_ms)
            .set_next_token(token)
            .send()
            .await
            .expect("moto returns the group's events");
        for e in page.events() {
            by_stream
                .entry(e.log_stream_name().unwrap_or_default().to_string())
                .or_default()
                .push(Event {
                    id: e.event_id().unwrap_or_default().to_string(),
                    timestamp: e.timestamp().unwrap_or_default(),
                    message: e.message().unwrap_or_default().to_string(),
                });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return by_stream;
        }
    }
}

/// Lines in the group that Bedrock did not write: counted as malformed by both modes.
async fn write_foreign_lines(moto: &str) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&local_sdk_config(moto, "us-east-1"));
    logs.create_log_stream()
        .log_group_name(LOG_GROUP)
        .log_stream_name("not-bedrock")
        .send()
        .await
        .expect("the stream is created");
    let now = chrono::Utc::now().timestamp_millis();
    let lines = ["START RequestId: 1f2e Version: $LATEST", "{\"modelId\": 42"];
    let events = lines.iter().map(|line| {
        aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(now)
            .message(*line)
            .build()
            .unwrap()
    });
    logs.put_log_events()
        .log_group_name(LOG_GROUP)
        .log_stream_name("not-bedrock")
        .set_log_events(Some(events.collect()))
        .send()
        .await
        .expect("the foreign lines are written");
}

/// Adds every number of `counts` into `sum` (both the report's `counts` shape).
fn add_counts(sum: &mut Value, counts: &Value) {
    for (k, v) in counts.as_object().unwrap() {
        let total = sum[k].as_u64().unwrap_or(0) + v.as_u64().unwrap();
        sum[k] = json!(total);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_counts_exactly_what_the_scan_counts_for_the_same_traffic() {
    let LoggingStack {
        moto,
        emulator,
        east,
        control_east,
        control_europe,
    } = start_logging_stack().await;
    let url = emulator.url();
    let sonnet_profile = create_profile(
        &control_east,
        "e2e-stream-sonnet",
        &format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/{SONNET}"),
    )
    .await;
    let europe_profile = create_profile(
        &control_europe,
        "e2e-stream-haiku-europe",
        &format!("arn:aws:bedrock:eu-central-1::foundation-model/{HAIKU_FM}"),
    )
    .await;
    let yaml = format!(
        "models: [\"{SONNET}\", haiku-europe]\ninferenceProfiles:\n  \"{SONNET}\": \"{sonnet_profile}\"\n  haiku-europe: \"{europe_profile}\"\nallowedInferenceRegions: [us-east-1, us-east-2, us-west-2]\ndefaultRegion: us-east-1\n"
    );
    let config = ProfileConfig::parse(&yaml, |_| None).expect("the config is valid");
    let started_ms = chrono::Utc::now().timestamp_millis() - 1_000;

    let router = router::Router::new(
        router::bedrock::SdkBedrock::new(east.clone()),
        router::profiles::ProfileDirectory::new(ProfileMap::new(&config)),
        Arc::new(router::metrics::MemorySink::default()),
        router::DEFAULT_MAX_BODY_BYTES,
    );
    // Profiled calls, one served in Europe (outside the allow-list), and two that meet faults
    // the router retries: every attempt that reached Bedrock is a record, the failed ones errors.
    let faults = [
        Some(
            json!({"kind": "error", "code": "InternalServerException", "operation": "Converse", "count": 1}),
        ),
        Some(json!({"kind": "throttling", "operation": "Converse", "count": 1})),
        None,
        None,
    ];
    for (fault, (model, text)) in faults.into_iter().zip([
        (SONNET, "one"),
        (SONNET, "two"),
        (SONNET, "three"),
        ("haiku-europe", "four"),
    ]) {
        if let Some(rule) = fault {
            add_fault(&url, rule).await;
        }
        let response = router.handle(chat(model, text)).await;
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
    // Around the router with the raw ID: two mapping misses.
    bypass_the_profile(&east, &["bypass one", "bypass two"]).await;
    emulator.shutdown().await;
    write_foreign_lines(moto.url()).await;
    let ended_ms = chrono::Utc::now().timestamp_millis();

    // Scan mode.
    let scan_logs = verifier::logs::SdkLogs::new(local_sdk_config(moto.url(), "us-east-1"));
    let report = scan(
        &config,
        scan_logs,
        Captured::default(),
        started_ms,
        ended_ms,
    )
    .await;
    assert_eq!(report["complete"], true, "{report:#}");
    assert_eq!(report["counts"]["mapping_miss"], 2, "{report:#}");
    assert_eq!(report["counts"]["malformed"], 2, "{report:#}");
    // Europe always; the US system profile may also serve outside the allow-list.
    assert!(
        report["counts"]["region_violation"].as_u64() >= Some(1),
        "{report:#}"
    );
    assert_eq!(report["counts"]["error"], 2, "{report:#}");

    // Stream mode: the same events, as subscription batches.
    let plan = verifier::plan::plan(&config, LOG_GROUP).expect("the plan is valid");
    let mut payloads = Vec::new();
    for region in &plan.regions {
        let by_stream = group_events(moto.url(), region, started_ms, ended_ms + 1_000).await;
        for (log_stream, events) in by_stream {
            for batch in events.chunks(BATCH) {
                payloads.push(
                    verifier::awslogs::payload(ACCOUNT, LOG_GROUP, &log_stream, "verifier", batch)
                        .unwrap(),
                );
            }
        }
    }
    assert!(payloads.len() > 2, "the traffic spans several batches");
    let metrics = Captured::default();
    let v = local_verifier(
        &config,
        verifier::logs::SdkLogs::new(local_sdk_config(moto.url(), "us-east-1")),
        metrics.clone(),
    );
    let limiter = AlertLimiter::new(Duration::from_secs(300));
    let now = chrono::Utc::now().timestamp_millis();
    let mut counts = json!({});
    let mut records = 0;
    for payload in &payloads {
        let data = decode(payload).expect("a real awslogs payload decodes");
        let summary = handle_batch(&v, &limiter, &data, now).await;
        records += summary.records;
        add_counts(&mut counts, &serde_json::to_value(&summary.counts).unwrap());
    }
    assert_eq!(counts, report["counts"], "stream and scan agree");
    assert_eq!(json!(records), report["records"]);

    // The metrics say the same: the undimensioned documents add up to the scan's.
    let lines = metrics.0.lock().unwrap().clone();
    let totals = |name: &str| -> f64 {
        lines
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|d| d.get("Model").is_none() && d.get("Tenant").is_none())
            .filter_map(|d| d[name].as_f64())
            .sum()
    };
    // Cost too: the stream's batches add up to the scan's window, to the pico-dollar.
    let cost = report["cost"]["total"]["usd"].as_f64().unwrap();
    assert!(cost > 0.0, "{}", report["cost"]);
    assert!(
        (totals("Cost") - cost).abs() < 1e-9,
        "{} vs {cost}",
        totals("Cost")
    );
    assert_eq!(totals("Invocations"), report["records"].as_f64().unwrap());
    assert_eq!(
        totals("MappingMisses"),
        report["counts"]["mapping_miss"].as_f64().unwrap()
    );
    assert_eq!(
        totals("Malformed"),
        report["counts"]["malformed"].as_f64().unwrap()
    );

    // Lambda delivers a batch again (asynchronous invocation is at-least-once).
    let before = alarm_view(&lines);
    assert!(
        before.values().any(|v| *v > 0.0),
        "the alarm fires: {before:?}"
    );
    for payload in &payloads {
        let data = decode(payload).unwrap();
        handle_batch(&v, &limiter, &data, now).await;
    }
    let after_lines = metrics.0.lock().unwrap().clone();
    assert_eq!(
        after_lines.len(),
        2 * lines.len(),
        "every batch wrote again"
    );
    assert_eq!(
        alarm_view(&after_lines),
        before,
        "the alarm's view is unchanged"
    );
}
