//! The emulator driven by the real Rust SDKs against in-process emulators on free loopback
//! ports (and the binary as a child process). One test binary for the crate, so a debug build
//! links once: the control plane and the runtime are its two modules.

#[path = "emulator/control_plane.rs"]
mod control_plane;
#[path = "emulator/runtime.rs"]
mod runtime;

/// Pins a local AWS environment for the whole process. Every client here is configured
/// explicitly; the variables make sure nothing can ever look for real credentials or the
/// instance-metadata address. Set once, before the first client of this process exists, so
/// tests on parallel threads never race `set_var`.
pub fn set_local_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: called once per process, before any SDK client reads the environment.
        unsafe {
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
            std::env::set_var("AWS_REGION", "us-east-1");
            std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE");
            std::env::set_var(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            );
        }
    });
}

/// The access key every test client signs with unless a test needs another kind of key.
pub const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

/// A control-plane client for `url`, signing in `region` with `access_key`; no retries.
pub fn bedrock_client(url: &str, region: &str, access_key: &str) -> aws_sdk_bedrock::Client {
    use aws_sdk_bedrock::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    let config = aws_sdk_bedrock::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(access_key, "secret", None, None, "test"))
        .endpoint_url(url)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_bedrock::Client::from_conf(config)
}

/// A runtime client for `url`, signing in `region` with `access_key`; no retries, so tests
/// that count faults see each one.
pub fn runtime_client(url: &str, region: &str, access_key: &str) -> aws_sdk_bedrockruntime::Client {
    use aws_sdk_bedrockruntime::config::{
        BehaviorVersion, Credentials, Region, retry::RetryConfig,
    };
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(access_key, "secret", None, None, "test"))
        .endpoint_url(url)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

/// A CloudWatch Logs client for a local CloudWatch Logs (moto) at `url`.
pub fn logs_client(url: &str) -> aws_sdk_cloudwatchlogs::Client {
    use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(ACCESS_KEY, "secret", None, None, "test"))
        .endpoint_url(url)
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(config)
}
