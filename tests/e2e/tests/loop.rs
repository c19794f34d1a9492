//! The whole loop, in-process, with real SDK clients on loopback: the router sends completions
//! through application inference profiles to the local Bedrock, the local Bedrock writes
//! invocation-log records to moto's CloudWatch Logs, and the verifier reads them back and must
//! count exactly what was sent — profiled calls, calls that bypassed the profile with the raw
//! model ID, and a call served outside the allowed regions.

#[path = "loop/faults.rs"]
mod faults;
#[path = "loop/stream.rs"]
mod stream;

use std::sync::{Arc, Mutex};

use aws_sdk_bedrock::types::{CloudWatchConfig, InferenceProfileModelSource, LoggingConfig};
use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, Message};
use bedrock_emulator::{Emulator, Options};
use e2e::{Moto, local_sdk_config};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use shared::config::ProfileConfig;
use shared::profile_map::ProfileMap;

const ACCOUNT: &str = "123456789012";
const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const HAIKU_FM: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const LOG_GROUP: &str = "/aws/bedrock/model-invocations/e2e";

/// Every client here is built with explicit loopback endpoints and static credentials; the
/// environment is pinned too so nothing can fall back to real credential discovery.
fn pin_local_environment() {
    // SAFETY: set once, before any client exists, to the same values by every test here.
    unsafe {
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "local-secret");
    }
}

async fn create_profile(control: &aws_sdk_bedrock::Client, name: &str, source: &str) -> String {
    control
        .create_inference_profile()
        .inference_profile_name(name)
        .model_source(InferenceProfileModelSource::CopyFrom(source.to_string()))
        .send()
        .await
        .expect("the local Bedrock creates the profile")
        .inference_profile_arn()
        .to_string()
}

async fn enable_logging(control: &aws_sdk_bedrock::Client) {
    control
        .put_model_invocation_logging_configuration()
        .logging_config(
            LoggingConfig::builder()
                .cloud_watch_config(
                    CloudWatchConfig::builder()
                        .log_group_name(LOG_GROUP)
                        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/bedrock-logging"))
                        .build()
                        .unwrap(),
                )
                .text_data_delivery_enabled(true)
                .build(),
        )
        .send()
        .await
        .expect("logging is configured");
}

fn chat(model: &str, text: &str) -> lambda_http::Request {
    let body = json!({"model": model, "messages": [{"role": "user", "content": text}]});
    http::Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(lambda_http::Body::from(body.to_string()))
        .unwrap()
}

/// Collects the verifier's EMF lines instead of printing them.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<String>>>);

impl shared::telemetry::MetricsSink for Captured {
    fn emit(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_string());
    }
}

type LocalVerifier = verifier::Verifier<
    verifier::logs::SdkLogs,
    verifier::fake::FakeControlPlane,
    verifier::alert::NoAlerts,
    verifier::classify::ConfigClassifier,
    Captured,
>;

/// The verifier as deployed (doctor off), reading `logs` and writing metrics to `metrics`.
fn local_verifier(
    config: &ProfileConfig,
    logs: verifier::logs::SdkLogs,
    metrics: Captured,
) -> LocalVerifier {
    let plan = verifier::plan::plan(config, LOG_GROUP).expect("the plan is valid");
    let settings = verifier::settings::Settings {
        log_group: LOG_GROUP.to_string(),
        doctor: false,
        ..verifier::settings::Settings::default()
    };
    verifier::Verifier {
        logs,
        control_plane: verifier::fake::FakeControlPlane::default(),
        notifier: verifier::alert::NoAlerts,
        classifier: verifier::classify::ConfigClassifier::new(config),
        metrics,
        regions: plan.regions,
        findings: plan.findings,
        doctor: plan.doctor,
        settings,
    }
}

/// The local verifier backfilling from `started_ms` to a second after `ended_ms`; its report as
/// JSON.
async fn scan(
    config: &ProfileConfig,
    logs: verifier::logs::SdkLogs,
    metrics: Captured,
    started_ms: i64,
    ended_ms: i64,
) -> Value {
    let verifier = local_verifier(config, logs, metrics);
    let backfill = json!({
        "start": chrono::DateTime::from_timestamp_millis(started_ms).unwrap().to_rfc3339(),
        "end": chrono::DateTime::from_timestamp_millis(ended_ms + 1_000).unwrap().to_rfc3339(),
    });
    let report = verifier::run_scan(&verifier, &backfill, None)
        .await
        .expect("the scan runs");
    serde_json::to_value(&report).unwrap()
}

/// moto's CloudWatch Logs, and the local Bedrock logging to it from us-east-1 and eu-central-1.
struct LoggingStack {
    moto: Moto,
    emulator: bedrock_emulator::RunningEmulator,
    east: aws_config::SdkConfig,
    control_east: aws_sdk_bedrock::Client,
    control_europe: aws_sdk_bedrock::Client,
}

async fn start_logging_stack() -> LoggingStack {
    pin_local_environment();
    let moto = Moto::start().expect("moto's CloudWatch Logs starts");
    let emulator = Emulator::start(Options {
        logs_endpoint: Some(moto.url().to_string()),
        ..Options::default()
    })
    .await
    .expect("the local Bedrock starts");
    let bedrock_url = emulator.url();
    let east = local_sdk_config(&bedrock_url, "us-east-1");
    let control_east = aws_sdk_bedrock::Client::new(&east);
    let control_europe =
        aws_sdk_bedrock::Client::new(&local_sdk_config(&bedrock_url, "eu-central-1"));
    enable_logging(&control_east).await;
    enable_logging(&control_europe).await;
    LoggingStack {
        moto,
        emulator,
        east,
        control_east,
        control_europe,
    }
}

/// Calls Bedrock straight with the raw system-profile ID, once per text: each bypasses the
/// profile, which only the logs can tell.
async fn bypass_the_profile(east: &aws_config::SdkConfig, texts: &[&str]) {
    let runtime = aws_sdk_bedrockruntime::Client::new(east);
    for text in texts {
        runtime
            .converse()
            .model_id(SONNET)
            .messages(
                Message::builder()
                    .role(ConversationRole::User)
                    .content(ContentBlock::Text(text.to_string()))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("the raw call succeeds; only the logs can tell");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_through_the_router_are_profiled_and_raw_calls_are_mapping_misses_exactly() {
    let LoggingStack {
        moto,
        emulator,
        east,
        control_east,
        control_europe,
    } = start_logging_stack().await;

    let sonnet_profile = create_profile(
        &control_east,
        "e2e-sonnet",
        &format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/{SONNET}"),
    )
    .await;
    // The system profile may serve a call in any of its US regions: all of them are allowed.
    let allowed: Vec<String> = control_east
        .get_inference_profile()
        .inference_profile_identifier(SONNET)
        .send()
        .await
        .expect("the system profile exists")
        .models()
        .iter()
        .filter_map(|m| m.model_arn()?.split(':').nth(3).map(str::to_string))
        .filter(|region| !region.is_empty())
        .collect();
    assert!(allowed.contains(&"us-east-1".to_string()), "{allowed:?}");
    // A single-region profile in Europe, which the allow-list leaves out.
    let europe_profile = create_profile(
        &control_europe,
        "e2e-haiku-europe",
        &format!("arn:aws:bedrock:eu-central-1::foundation-model/{HAIKU_FM}"),
    )
    .await;

    let yaml = format!(
        "endpoints:\n  bedrock:\n    models: [\"{SONNET}\", haiku-europe]\n    inferenceProfiles:\n      \"{SONNET}\": \"${{SONNET_PROFILE_ARN}}\"\n      haiku-europe: \"{europe_profile}\"\n    allowedInferenceRegions: [{}]\n    defaultRegion: us-east-1\n",
        allowed.join(", ")
    );
    let env_profile = sonnet_profile.clone();
    let config = ProfileConfig::parse(&yaml, move |name| {
        (name == "SONNET_PROFILE_ARN").then(|| env_profile.clone())
    })
    .expect("the config is valid");

    // The window starts before the first call; FilterLogEvents bounds are inclusive.
    let started_ms = chrono::Utc::now().timestamp_millis() - 1_000;

    // Through the router: three mapped calls in the US, one in Europe.
    let sink = router::metrics::MemorySink::default();
    let router = router::Router::new(
        router::bedrock::SdkBedrock::new(east.clone()),
        router::profiles::ProfileDirectory::new(ProfileMap::new(&config)),
        Arc::new(sink.clone()),
        router::DEFAULT_MAX_BODY_BYTES,
    );
    for (model, text) in [
        (SONNET, "first"),
        (SONNET, "second"),
        (SONNET, "third"),
        ("haiku-europe", "fourth"),
    ] {
        let response = router.handle(chat(model, text)).await;
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["model"], model, "the response names the friendly ID");
    }

    // Straight to Bedrock with the raw system-profile ID: the profile is bypassed, twice.
    bypass_the_profile(&east, &["bypass one", "bypass two"]).await;

    // Everything the emulator queued must be in moto before the verifier reads.
    emulator.shutdown().await;
    let ended_ms = chrono::Utc::now().timestamp_millis();

    let plan = verifier::plan::plan(&config, LOG_GROUP).expect("the plan is valid");
    assert!(plan.regions.contains(&"us-east-1".to_string()));
    assert!(plan.regions.contains(&"eu-central-1".to_string()));
    let metrics = Captured::default();
    let logs = verifier::logs::SdkLogs::new(local_sdk_config(moto.url(), "us-east-1"));
    let report = scan(&config, logs, metrics.clone(), started_ms, ended_ms).await;

    assert_eq!(report["complete"], true, "{report:#}");
    assert_eq!(report["records"], 6, "{report:#}");
    assert_eq!(
        report["counts"],
        json!({
            "profiled": 4, "mapping_miss": 2, "unmapped": 0, "unknown_profile": 0, "malformed": 0,
            "region_violation": 1, "error": 0
        }),
        "{report:#}"
    );
    let misses: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "mapping_miss")
        .collect();
    assert_eq!(misses.len(), 1, "{report:#}");
    assert_eq!(misses[0]["count"], 2, "{report:#}");
    assert!(
        metrics
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.contains("\"MappingMisses\":2")),
        "the completed window emits its metrics"
    );
}
