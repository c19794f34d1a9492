//! Cold start: tracing, the profile map (once), one SDK config, the router, then the
//! streaming Function URL runtime.

// The streaming runtime's service stack is deep enough to exceed the default query depth.
#![recursion_limit = "256"]
use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Error, service_fn};
use router::Router;
use router::bedrock::SdkBedrock;
use router::handler::max_body_bytes;
use router::metrics::StdoutSink;
use router::profiles::ProfileDirectory;
use shared::config::ProfileConfig;
use shared::profile_map::ProfileMap;

/// Overrides the request-size limit (bytes); must stay below the Function URL's 6 MB cap.
const ENV_MAX_BODY: &str = "ROUTER_MAX_BODY_BYTES";

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_tracing();
    let config = ProfileConfig::from_env()?;
    let map = ProfileMap::new(&config);
    let max_body_bytes = max_body_bytes(std::env::var(ENV_MAX_BODY).ok().as_deref())?;
    tracing::info!(
        models = map.models().len(),
        max_body_bytes,
        "router configured"
    );
    let sdk = shared::aws::load_sdk_config().await;
    let router = Router::new(
        SdkBedrock::new(sdk),
        ProfileDirectory::new(map),
        Arc::new(StdoutSink),
        max_body_bytes,
    );
    lambda_http::run_with_streaming_response_concurrent(service_fn(move |request| {
        let router = router.clone();
        async move { Ok::<_, Infallible>(router.handle(request).await) }
    }))
    .await
}
