//! End to end against moto's CloudWatch Logs: records written in Bedrock's schema through the
//! real CloudWatch Logs API, read back by the real SDK adapter, counted exactly.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use serde_json::json;
use verifier::logs::SdkLogs;
use verifier::run_scan;

use crate::support::{
    NOVA, SONNET, SONNET_PROFILE, STRANGER_PROFILE, error_record, fast_settings, record, verifier,
};

/// A moto server on a free loopback port, killed when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub fn start_moto() -> Moto {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup-python.sh",
        bin.display()
    );
    let port = free_port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return moto;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto_server did not listen on {port} within 30 s");
}

/// An SDK config that can only reach `url`: static dummy credentials, explicit region.
pub fn local_sdk(url: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "static",
        )))
        .endpoint_url(url)
        .behavior_version(BehaviorVersion::latest())
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_written_to_cloudwatch_logs_are_counted_exactly() {
    let moto = start_moto();
    let sdk = local_sdk(&moto.url);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let group = "/aws/bedrock/model-invocations";
    let stream = "aws/bedrock/modelinvocations";
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();

    // A window that ended a minute ago; records spread inside it, two just outside.
    let now = chrono::Utc::now().timestamp_millis();
    let start = now - 3_600_000;
    let end = now - 60_000;
    let mut messages: Vec<(i64, String)> = Vec::new();
    let mut t = start;
    let mut next = |m: String| {
        t += 1_000;
        messages.push((t, m));
    };
    for i in 0..7 {
        next(record(SONNET_PROFILE, "us-east-1", i).to_string()); // profiled
    }
    for i in 0..4 {
        next(record(SONNET, "us-east-1", 100 + i).to_string()); // mapping miss
    }
    next(record(NOVA, "us-east-2", 200).to_string()); // mapping miss, allowed region
    for i in 0..3 {
        next(record(SONNET_PROFILE, "us-west-2", 300 + i).to_string()); // region violation
    }
    for i in 0..2 {
        next(
            error_record(
                SONNET_PROFILE,
                "AccessDeniedException",
                "Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model.",
                400 + i,
            )
            .to_string(),
        );
    }
    next(
        error_record(
            STRANGER_PROFILE,
            "ResourceNotFoundException",
            "not found",
            500,
        )
        .to_string(),
    );
    for bad in ["not json at all", "{\"modelId\": [1]}", "{}"] {
        next(bad.to_string()); // malformed
    }
    messages.push((start - 1, record(SONNET, "us-east-1", 900).to_string()));
    messages.push((end + 1, record(SONNET, "us-east-1", 901).to_string()));
    messages.sort_by_key(|(t, _)| *t);
    let events: Vec<InputLogEvent> = messages
        .iter()
        .map(|(t, m)| {
            InputLogEvent::builder()
                .timestamp(*t)
                .message(m)
                .build()
                .unwrap()
        })
        .collect();
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();

    let mut settings = fast_settings();
    settings.scan.requests_per_second = 5.0;
    let v = verifier(SdkLogs::new(sdk).with_page_limit(4), settings);
    let input = json!({
        "start": verifier::window::fmt_ms(start),
        "end": verifier::window::fmt_ms(end),
    });
    let report = run_scan(&v, &input, None).await.unwrap();
    let value = serde_json::to_value(&report).unwrap();
    println!("{}", serde_json::to_string_pretty(&value).unwrap());

    assert!(report.complete);
    assert_eq!(report.records, 21);
    let c = &report.counts;
    assert_eq!(c.profiled, 7 + 3 + 2);
    assert_eq!(c.mapping_miss, 5);
    assert_eq!(c.unknown_profile, 1);
    assert_eq!(c.unmapped, 0);
    assert_eq!(c.malformed, 3);
    assert_eq!(c.region_violation, 3);
    assert_eq!(c.error, 3);
    assert_eq!(
        c.profiled + c.mapping_miss + c.unmapped + c.unknown_profile + c.malformed,
        report.records
    );
    // Sorted: the workspace build turns on serde_json's preserve_order, which keeps field order.
    let mut keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "by_model", "complete", "cost", "counts", "doctor", "findings", "records", "window"
        ]
        .iter()
        .collect::<Vec<_>>()
    );
    // Every successful, readable call is in the cost section once, however it is grouped.
    let cost = &report.cost;
    assert_eq!(
        cost.total.requests,
        21 - 3 - 3,
        "malformed and failed calls cost nothing"
    );
    for groups in [&cost.by_tenant, &cost.by_caller, &cost.by_model] {
        let sum: u64 = groups.values().map(|g| g.pico_usd).sum();
        assert_eq!(sum, cost.total.pico_usd);
        assert_eq!(
            groups.values().map(|g| g.requests).sum::<u64>(),
            cost.total.requests
        );
    }
    assert_eq!(
        cost.unattributed.total.requests, 5,
        "the five mapping misses"
    );
    let agreement = report
        .findings
        .iter()
        .find(|f| f.class == "model_agreement")
        .unwrap();
    assert_eq!(agreement.count, 2);
    assert_eq!(agreement.profile.as_deref(), Some(SONNET_PROFILE));
    let gone = report
        .findings
        .iter()
        .find(|f| f.class == "profile_not_found")
        .unwrap();
    assert_eq!(gone.profile.as_deref(), Some(STRANGER_PROFILE));
    let miss = report
        .findings
        .iter()
        .find(|f| f.class == "mapping_miss")
        .unwrap();
    assert_eq!(miss.model.as_deref(), Some(SONNET));
    assert_eq!(miss.count, 4);
    assert!(
        miss.callers[0]
            .identity
            .as_deref()
            .unwrap()
            .contains("assumed-role/App")
    );
    assert_eq!(report.by_model[SONNET].counts.profiled, 12);
    assert_eq!(report.by_model[SONNET].counts.mapping_miss, 4);
    assert_eq!(report.by_model[SONNET].profiles[SONNET_PROFILE], 12);
    // The alert went out, and the metrics for the completed window were emitted.
    assert_eq!(v.notifier.0.lock().unwrap().len(), 1);
    let metrics = v.metrics.0.lock().unwrap();
    let totals: serde_json::Value = serde_json::from_str(&metrics[0]).unwrap();
    assert_eq!(totals["Invocations"], 21.0);
    assert_eq!(totals["MappingMisses"], 5.0);
}
