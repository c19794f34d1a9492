//! Building a verifier around fakes, and Bedrock-shaped records.

use std::sync::Mutex;

use serde_json::{Value, json};
use shared::config::ProfileConfig;
use shared::telemetry::MetricsSink;
use verifier::Verifier;
use verifier::alert::Notifier;
use verifier::classify::ConfigClassifier;
use verifier::doctor::ControlPlane;
use verifier::fake::FakeControlPlane;
use verifier::logs::LogsSource;
use verifier::plan::plan;
use verifier::settings::Settings;

pub const ACCOUNT: &str = "123456789012";
pub const SONNET: &str = "us.anthropic.claude-3-7-sonnet-20250219-v1:0";
pub const NOVA: &str = "us.amazon.nova-pro-v1:0";
pub const SONNET_PROFILE: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/sonnet000001";
pub const NOVA_PROFILE: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/nova00000001";
pub const STRANGER_PROFILE: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/stranger0001";

/// The LibreChat-style config every test uses: two models, both mapped, an allow-list.
pub fn config() -> ProfileConfig {
    let yaml = format!(
        "endpoints:\n  bedrock:\n    models: [\"{SONNET}\", \"{NOVA}\"]\n    inferenceProfiles:\n      \"{SONNET}\": \"{SONNET_PROFILE}\"\n      \"{NOVA}\": \"{NOVA_PROFILE}\"\n    availableRegions: [us-east-1]\n    allowedInferenceRegions: [us-east-1, us-east-2]\n    defaultRegion: us-east-1\n"
    );
    ProfileConfig::parse(&yaml, |_| None).expect("the test config is valid")
}

/// Collects EMF lines.
#[derive(Default)]
pub struct Captured(pub Mutex<Vec<String>>);

impl MetricsSink for Captured {
    fn emit(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_string());
    }
}

/// Records alerts.
#[derive(Default)]
pub struct Alerts(pub Mutex<Vec<(String, String)>>);

impl Notifier for Alerts {
    async fn notify(&self, subject: &str, message: &str) -> Result<(), String> {
        self.0
            .lock()
            .unwrap()
            .push((subject.to_string(), message.to_string()));
        Ok(())
    }
}

pub type TestVerifier<L, P = FakeControlPlane> = Verifier<L, P, Alerts, ConfigClassifier, Captured>;

/// A verifier over `logs` with the test config; the doctor is off unless a test turns it on.
pub fn verifier<L: LogsSource>(logs: L, settings: Settings) -> TestVerifier<L> {
    verifier_with(logs, FakeControlPlane::default(), settings)
}

pub fn verifier_with<L: LogsSource, P: ControlPlane>(
    logs: L,
    control_plane: P,
    settings: Settings,
) -> TestVerifier<L, P> {
    let config = config();
    let plan = plan(&config, &settings.log_group).unwrap();
    Verifier {
        logs,
        control_plane,
        notifier: Alerts::default(),
        classifier: ConfigClassifier::new(&config),
        metrics: Captured::default(),
        regions: plan.regions,
        findings: plan.findings,
        doctor: plan.doctor,
        settings,
    }
}

/// Settings for in-process scans: no ingestion delay, no rate limit, no doctor.
pub fn fast_settings() -> Settings {
    let mut s = Settings {
        ingestion_delay_ms: 0,
        doctor: false,
        ..Settings::default()
    };
    s.scan.requests_per_second = 0.0;
    s
}

/// A scheduled event for `time`.
pub fn scheduled(time: &str) -> Value {
    json!({"version":"0","id":"e","detail-type":"Scheduled Event","source":"aws.events",
        "account":ACCOUNT,"time":time,"region":"us-east-1","resources":[],"detail":{}})
}

/// A Converse invocation-log record in Bedrock's schema.
pub fn record(model_id: &str, inference_region: &str, request_id: usize) -> Value {
    json!({
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": "2026-11-27T10:00:00Z",
        "accountId": ACCOUNT,
        "identity": {"arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/App/session-{}", request_id % 3)},
        "region": "us-east-1",
        "requestId": format!("00000000-0000-4000-8000-{request_id:012}"),
        "operation": "Converse",
        "modelId": model_id,
        "input": {
            "inputContentType": "application/json",
            "inputBodyJson": {"messages": [{"role": "user", "content": [{"text": "Summarise the quarterly report in three bullet points, please."}]}],
                              "inferenceConfig": {"maxTokens": 512}},
            "inputTokenCount": 17
        },
        "output": {
            "outputContentType": "application/json",
            "outputBodyJson": {"output": {"message": {"role": "assistant", "content": [{"text": "Revenue grew; costs fell; outlook is stable."}]}},
                               "stopReason": "end_turn", "metrics": {"latencyMs": 812},
                               "usage": {"inputTokens": 17, "outputTokens": 11, "totalTokens": 28}},
            "outputTokenCount": 11
        },
        "requestMetadata": {"friendlyId": "report-bot"},
        "inferenceRegion": inference_region
    })
}

/// A failed call's record.
pub fn error_record(model_id: &str, code: &str, message: &str, request_id: usize) -> Value {
    let mut r = record(model_id, "us-east-1", request_id);
    r["errorCode"] = json!(code);
    r["output"] =
        json!({"outputContentType": "application/json", "outputBodyJson": {"message": message}});
    r
}
