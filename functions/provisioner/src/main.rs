//! The provisioner's Lambda entry point: wires tracing, configuration and clients, then serves
//! events. Start-up failures are not returned from `main`: CloudFormation would wait an hour for
//! an answer that a crashed function never sends, so they are carried into every response.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{LambdaEvent, service_fn};
use provisioner::config::Config;
use provisioner::handler::Provisioner;
use provisioner::respond::Responder;
use provisioner::sdk::SdkPlanes;
use serde_json::Value;

async fn start() -> Result<SdkPlanes, String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(config.region))
        .load()
        .await;
    Ok(SdkPlanes::from_sdk_config(&sdk))
}

fn remaining(deadline_ms: u64) -> Duration {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let planes = start().await;
    if let Err(e) = &planes {
        tracing::error!(error = %e, "start-up failed; every event will be answered FAILED");
    }
    let provisioner = std::sync::Arc::new(Provisioner::new(planes, Responder::new()));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let provisioner = provisioner.clone();
        async move {
            let left = remaining(event.context.deadline);
            provisioner.handle(event.payload, left).await.map(|_| ())
        }
    }))
    .await
}
