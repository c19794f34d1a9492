//! Cold start: tracing, the configuration (once), API key hashes from Secrets Manager when
//! configured, one SDK config, the router, then the streaming Function URL runtime. Any
//! configuration problem stops the start with a message saying what to fix.

// The streaming runtime's service stack is deep enough to exceed the default query depth.
#![recursion_limit = "256"]
use std::convert::Infallible;
use std::sync::Arc;

use futures_util::FutureExt as _;
use lambda_http::{Error, service_fn};
use router::auth::Authenticator;
use router::bedrock::SdkBedrock;
use router::config::{ENV_KEYS_SECRET, RouterConfig};
use router::metrics::{MetricsSink, StdoutSink};
use router::profiles::ProfileDirectory;
use router::runtime::AfterInvocation;
use router::spend::RouterSpend;
use router::{Router, RouterError, RouterParts};
use shared::profile_map::ProfileMap;
use shared::tenants::TenantsConfig;

/// mimalloc instead of glibc malloc: the SDK and JSON work allocate many small short-lived
/// buffers per request; it gave 3-29 % more completions per CPU-second (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_tracing();
    let RouterConfig {
        profiles,
        mut tenants,
        auth_mode,
        max_body_bytes,
        retry,
        keys_secret,
        prices,
        guardrail,
        prompt_cache,
    } = RouterConfig::from_env()?;
    let sdk = shared::aws::load_sdk_config().await;
    if let Some(secret) = keys_secret {
        let text = read_secret(&sdk, &secret).await?;
        tenants.add_secret_keys(&text)?;
    }
    let sink: Arc<dyn MetricsSink> = Arc::new(StdoutSink);
    let env = |k: &str| std::env::var(k).ok();
    let spend = Arc::new(RouterSpend::from_env(
        env,
        prices,
        &sdk,
        &tenants,
        Arc::clone(&sink),
    )?);
    let auth = Authenticator::new(auth_mode, tenants)?;
    let map = ProfileMap::new(&profiles);
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
            sink,
            max_body_bytes,
            retry,
        },
        |tenant| ProfileDirectory::new(TenantsConfig::profile_map(tenant)),
    )
    .with_spend(Arc::clone(&spend))
    .with_default_guardrail(guardrail)
    .with_prompt_cache(prompt_cache);
    // Each answer's spend write is attempted before an on-demand environment can be frozen.
    let settle_spend: AfterInvocation = Arc::new(move || {
        let spend = Arc::clone(&spend);
        async move { spend.settle().await }.boxed()
    });
    router::runtime::serve(
        service_fn(move |request| {
            let router = router.clone();
            async move { Ok::<_, Infallible>(router.handle(request).await) }
        }),
        Some(settle_spend),
    )
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
