//! The verifier's Lambda entry point: wiring only.
// The SDK futures nest deeply; the default limit is too small to lay out the handler future.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::telemetry::StdoutSink;
use verifier::alert::{Alerts, NoAlerts, SnsNotifier};
use verifier::classify::{ConfigClassifier, learn_profile_models};
use verifier::doctor::SdkControlPlane;
use verifier::logs::SdkLogs;
use verifier::run::Verifier;
use verifier::settings::Settings;
use verifier::{VerifierError, plan};

/// The router's allocator (mimalloc; see its `main.rs`), so every function ships and is
/// benchmarked with the same one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_tracing();
    let settings = Settings::from_env()?;
    // One read of the profile document. Tenants' profiles (and failover pools) are ours too:
    // their traffic counts as profiled and the regions they live in are read.
    let shared::tenants::ProfileDocument {
        config,
        tenants,
        prices,
        ..
    } = shared::tenants::load_with_tenants(|k| std::env::var(k).ok())
        .map_err(|e| VerifierError::Config(e.to_string()))?;
    let mut map = tenants.classification_map(&config);
    let mut plan = plan::plan(&config, &settings.log_group)?;
    plan.findings
        .tenants
        .extend(tenants.tenants.iter().map(|t| t.name.clone()));
    plan.read_regions_of(map.profile_arns());
    let sdk = shared::aws::load_sdk_config().await;
    let notifier = match &settings.alert_topic_arn {
        Some(topic) => Alerts::Sns(SnsNotifier {
            client: aws_sdk_sns::Client::new(&sdk),
            topic_arn: topic.clone(),
        }),
        None => Alerts::Off(NoAlerts),
    };
    let control_plane = SdkControlPlane::new(sdk.clone());
    learn_profile_models(&mut map, &control_plane).await;
    let verifier = Verifier {
        logs: SdkLogs::new(sdk),
        control_plane,
        notifier,
        classifier: ConfigClassifier::with_map(map).with_prices(prices),
        metrics: StdoutSink,
        regions: plan.regions,
        findings: plan.findings,
        doctor: plan.doctor,
        settings,
    };
    let verifier = &verifier;
    // Subscription batches (stream mode) and schedule/back-fill events share one function.
    let limiter = &verifier::stream_alerts::AlertLimiter::from_lookup(|k| std::env::var(k).ok())?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        verifier::stream::route(verifier, limiter, event).await
    }))
    .await
}
