//! The verifier's Lambda entry point: wiring only.
// The SDK futures nest deeply; the default limit is too small to lay out the handler future.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::config::ProfileConfig;
use shared::profile_map::ProfileMap;
use verifier::alert::{Alerts, NoAlerts, SnsNotifier};
use verifier::classify::{ConfigClassifier, learn_profile_models};
use verifier::doctor::SdkControlPlane;
use verifier::logs::SdkLogs;
use verifier::run::{Stdout, Verifier};
use verifier::settings::Settings;
use verifier::{VerifierError, handler, plan};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_tracing();
    let settings = Settings::from_env()?;
    let config = ProfileConfig::from_env()
        .map_err(|e| VerifierError::Config(format!("profile config: {e}")))?;
    let plan = plan::plan(&config, &settings.log_group)?;
    let sdk = shared::aws::load_sdk_config().await;
    let notifier = match &settings.alert_topic_arn {
        Some(topic) => Alerts::Sns(SnsNotifier {
            client: aws_sdk_sns::Client::new(&sdk),
            topic_arn: topic.clone(),
        }),
        None => Alerts::Off(NoAlerts),
    };
    let control_plane = SdkControlPlane::new(sdk.clone());
    let mut map = ProfileMap::new(&config);
    learn_profile_models(&mut map, &control_plane).await;
    let verifier = Verifier {
        logs: SdkLogs::new(sdk),
        control_plane,
        notifier,
        classifier: ConfigClassifier::with_map(map),
        metrics: Stdout,
        regions: plan.regions,
        findings: plan.findings,
        doctor: plan.doctor,
        settings,
    };
    let verifier = &verifier;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler::handle(verifier, event).await
    }))
    .await
}
