//! The provisioner's Lambda entry point: wires tracing, configuration and clients, then serves
//! events. Start-up failures are not returned from `main`: CloudFormation would wait an hour for
//! an answer that a crashed function never sends, so they are carried into every response.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use provisioner::Error;
use provisioner::config::Config;
use provisioner::handler::Provisioner;
use provisioner::respond::Responder;
use provisioner::sdk::SdkPlanes;
use serde_json::Value;

/// Configuration and clients, or why they could not be made. The configuration is checked before
/// the SDK loads, so a bad region or endpoint variable is reported in its own words.
async fn start() -> Result<SdkPlanes, Error> {
    Config::from_env()?;
    let sdk = shared::aws::load_sdk_config().await;
    Ok(SdkPlanes::from_sdk_config(&sdk))
}

/// The router's allocator (mimalloc; see its `main.rs`), so every function ships and is
/// benchmarked with the same one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init_tracing();
    let planes = start().await;
    if let Err(e) = &planes {
        tracing::error!(error = %e, "start-up failed; every event will be answered FAILED");
    }
    let provisioner = Arc::new(Provisioner::new(planes, Responder::new()));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let provisioner = provisioner.clone();
        async move {
            let left = shared::deadline::remaining(event.context.deadline);
            provisioner.handle(event.payload, left).await.map(|_| ())
        }
    }))
    .await
}
