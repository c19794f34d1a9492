//! The local stack every section shares: the emulator on its own runtime (so its CPU can be told
//! apart from the caller's), SDK configs pointed at it, one application profile, the router.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrock::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use bedrock_emulator::{Emulator, Options, RunningEmulator};
use router::bedrock::SdkBedrock;
use router::metrics::MetricsSink;
use router::profiles::ProfileDirectory;
use router::{DEFAULT_MAX_BODY_BYTES, Router};
use serde_json::{Value, json};
use shared::config::ProfileConfig;
use shared::profile_map::ProfileMap;

use crate::error::BenchError;

pub const REGION: &str = "us-east-1";
/// A model the emulator serves and the shared catalog knows (streaming, text).
pub const MODEL: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
/// Prefix of the emulator runtime's worker threads, to tell their CPU time apart.
pub const EMULATOR_THREAD: &str = "emu-rt";

pub type BenchRouter = Router<SdkBedrock, ProfileDirectory>;

/// Points everything at loopback with dummy credentials before any client exists, so nothing
/// looks for real credentials or the instance-metadata address.
pub fn set_local_env() {
    // SAFETY: called at the start of main, before any other thread exists.
    unsafe {
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_REGION", REGION);
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE");
        std::env::set_var(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_ENDPOINT_URL");
    }
}

/// Every SDK client of the benchmark: static credentials, fixed region, a loopback endpoint,
/// no retries (an error must show, not be hidden by a second try).
pub fn sdk_config(url: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "secret",
            None,
            None,
            "bench",
        )))
        .endpoint_url(url)
        .retry_config(RetryConfig::disabled())
        .build()
}

/// Counts per section.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub repeats: usize,
    pub latency_calls: usize,
    pub streams: usize,
    pub concurrent_streams: usize,
    pub pace_ms: u64,
    pub throughput_window: Duration,
}

/// Discards the router's per-request metric lines (formatted as in Lambda, not printed).
pub struct DiscardSink;

impl MetricsSink for DiscardSink {
    fn emit(&self, line: &str) {
        std::hint::black_box(line);
    }
}

/// A started emulator with one application profile over [`MODEL`].
pub struct Stack {
    pub emulator: RunningEmulator,
    pub url: String,
    pub profile_arn: String,
    pub sdk: SdkConfig,
    /// One client (one connection pool) for every direct call, as the router keeps one.
    runtime: aws_sdk_bedrockruntime::Client,
}

impl Stack {
    /// Starts an emulator on `rt` (optionally paced) and creates the profile.
    pub fn start(rt: &tokio::runtime::Runtime, pace_ms: Option<u64>) -> Result<Self, BenchError> {
        rt.block_on(async move {
            let options = Options {
                listen: "127.0.0.1:0"
                    .parse()
                    .map_err(|e| BenchError::Setup(format!("listen address: {e}")))?,
                pace_ms,
                ..Options::default()
            };
            let emulator = Emulator::start(options)
                .await
                .map_err(|e| BenchError::Emulator(e.to_string()))?;
            let url = emulator.url();
            let sdk = sdk_config(&url);
            let profile_arn = create_profile(
                &sdk,
                format!("bench-{}", emulator.local_addr().port()),
                format!("arn:aws:bedrock:{REGION}:123456789012:inference-profile/{MODEL}"),
            )
            .await?;
            Ok(Self {
                emulator,
                url,
                profile_arn,
                runtime: aws_sdk_bedrockruntime::Client::new(&sdk),
                sdk,
            })
        })
    }

    /// The profile config a deployment would carry for this stack.
    pub fn profile_yaml(&self) -> String {
        format!(
            "models: [\"{MODEL}\"]\ninferenceProfiles:\n  \"{MODEL}\": \"{}\"\ndefaultRegion: {REGION}\n",
            self.profile_arn
        )
    }

    /// The router as `main` wires it, with metrics formatted but discarded.
    pub fn router(&self) -> Result<BenchRouter, BenchError> {
        router_for(&self.sdk, &self.profile_yaml())
    }

    pub fn runtime_client(&self) -> aws_sdk_bedrockruntime::Client {
        self.runtime.clone()
    }
}

/// Creates an application inference profile `name` copying `source` (a foundation-model or
/// system-profile ARN) on the emulator behind `sdk`; its ARN.
pub async fn create_profile(
    sdk: &SdkConfig,
    name: String,
    source: String,
) -> Result<String, BenchError> {
    let created = aws_sdk_bedrock::Client::new(sdk)
        .create_inference_profile()
        .inference_profile_name(name)
        .model_source(aws_sdk_bedrock::types::InferenceProfileModelSource::CopyFrom(source))
        .send()
        .await
        .map_err(|e| BenchError::Sdk(format!("CreateInferenceProfile: {e:?}")))?;
    let arn = created.inference_profile_arn().to_owned();
    if !arn.contains(":application-inference-profile/") {
        return Err(BenchError::BadAnswer {
            what: "CreateInferenceProfile".into(),
            detail: format!("an unexpected ARN {arn:?}"),
        });
    }
    Ok(arn)
}

/// The router as `main` wires it for the profile map `yaml`, with metrics formatted but
/// discarded.
pub fn router_for(sdk: &SdkConfig, yaml: &str) -> Result<BenchRouter, BenchError> {
    let config = ProfileConfig::parse(yaml, |_| None)
        .map_err(|e| BenchError::Setup(format!("profile config: {e}")))?;
    Ok(Router::new(
        SdkBedrock::new(sdk.clone()),
        ProfileDirectory::new(ProfileMap::new(&config)),
        Arc::new(DiscardSink),
        DEFAULT_MAX_BODY_BYTES,
    ))
}

/// The user turn every call sends (short, like a chat message).
pub const PROMPT: &str = "Summarise the quarterly numbers in two sentences.";

/// A non-streaming OpenAI chat completion.
pub fn chat_body() -> Value {
    json!({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 256})
}

/// A Function URL request as the handler receives it.
pub fn request(method: &str, path: &str, body: &Value) -> Result<lambda_http::Request, BenchError> {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(lambda_http::Body::from(body.to_string()))
        .map_err(|e| BenchError::Setup(format!("request: {e}")))
}

/// The native streaming route for [`MODEL`] (percent-encoded as the SDKs do).
pub fn converse_stream_path() -> String {
    format!("/model/{}/converse-stream", MODEL.replace(':', "%3A"))
}

/// The native Converse body equivalent to [`chat_body`].
pub fn converse_body() -> Value {
    json!({"messages": [{"role": "user", "content": [{"text": PROMPT}]}], "inferenceConfig": {"maxTokens": 256}})
}

/// A runtime for the emulator, on its own named threads.
pub fn emulator_runtime() -> Result<tokio::runtime::Runtime, BenchError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(EMULATOR_THREAD)
        .enable_all()
        .build()
        .map_err(|e| BenchError::Setup(format!("emulator runtime: {e}")))
}
