//! Cold start: tracing, the profile map and the tenants (once), API key hashes from Secrets
//! Manager when configured, one SDK config, the router, then the streaming Function URL
//! runtime. Any configuration problem stops the start with a message saying what to fix.

// The streaming runtime's service stack is deep enough to exceed the default query depth.
#![recursion_limit = "256"]
use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Error, service_fn};
use router::auth::{AuthMode, Authenticator, ENV_AUTH_MODE};
use router::bedrock::SdkBedrock;
use router::failover::{ENV_MAX_ATTEMPTS, RetryPolicy};
use router::handler::max_body_bytes;
use router::metrics::StdoutSink;
use router::profiles::ProfileDirectory;
use router::{Router, RouterError, RouterParts};
use shared::config::ProfileConfig;
use shared::profile_map::ProfileMap;
use shared::tenants::TenantsConfig;

/// Overrides the request-size limit (bytes); must stay below the Function URL's 6 MB cap.
const ENV_MAX_BODY: &str = "ROUTER_MAX_BODY_BYTES";

/// A Secrets Manager secret (ARN or name) holding `{"<tenant>": ["<sha256 hex>", ...]}`.
const ENV_KEYS_SECRET: &str = "ROUTER_API_KEYS_SECRET_ARN";

/// mimalloc instead of glibc malloc: the SDK and JSON work allocate many small short-lived
/// buffers per request; it gave 3-29 % more completions per CPU-second (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_tracing();
    let env = |k: &str| std::env::var(k).ok();
    let config = ProfileConfig::from_env()?;
    let mut tenants = TenantsConfig::from_env_with(env, &config)?;
    let mode = AuthMode::parse(env(ENV_AUTH_MODE).as_deref())?;
    let max_body_bytes = max_body_bytes(env(ENV_MAX_BODY).as_deref())?;
    let retry = RetryPolicy::from_env_value(env(ENV_MAX_ATTEMPTS).as_deref())?;
    let sdk = shared::aws::load_sdk_config().await;
    if let Some(secret) = env(ENV_KEYS_SECRET).filter(|s| !s.trim().is_empty()) {
        let text = read_secret(&sdk, secret.trim()).await?;
        tenants.add_secret_keys(&text)?;
    }
    let auth = Authenticator::new(mode, tenants)?;
    let map = ProfileMap::new(&config);
    tracing::info!(
        models = map.models().len(),
        tenants = auth.tenants().tenants.len(),
        api_keys = auth.tenants().key_count(),
        auth_mode = ?auth.mode(),
        max_attempts = retry.max_attempts,
        max_body_bytes,
        "router configured"
    );
    let router = Router::with_tenants(
        RouterParts {
            bedrock: SdkBedrock::new(sdk),
            shared: ProfileDirectory::new(map),
            auth,
            sink: Arc::new(StdoutSink),
            max_body_bytes,
            retry,
        },
        |tenant| ProfileDirectory::new(TenantsConfig::profile_map(tenant)),
    );
    router::runtime::serve_until_unrecoverable(|| {
        let router = router.clone();
        lambda_http::run_with_streaming_response_concurrent(service_fn(move |request| {
            let router = router.clone();
            async move { Ok::<_, Infallible>(router.handle(request).await) }
        }))
    })
    .await
}

/// Reads the key-hash secret once; its value is never logged.
async fn read_secret(sdk: &aws_config::SdkConfig, id: &str) -> Result<String, RouterError> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| {
            RouterError::Config(format!(
                "cannot read {ENV_KEYS_SECRET}=`{id}`: {}; grant the function secretsmanager:GetSecretValue on it (and kms:Decrypt on its key)",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            ))
        })?;
    out.secret_string().map(str::to_owned).ok_or_else(|| {
        RouterError::Config(format!(
            "{ENV_KEYS_SECRET}=`{id}` has no string value; store the JSON object of tenant name to key hashes as the secret string"
        ))
    })
}
