//! AWS setup: one SDK config per cold start, and clients per region made from it.
//!
//! Bedrock calls go to the region of their profile ARN, not the function's region, so the
//! router and verifier keep a [`RegionalClients`] cache: the first call for a region builds
//! a client from the shared [`SdkConfig`] with only the region replaced; later calls reuse
//! it (SDK clients are cheap handles over one connection pool per client).
//!
//! Endpoints come from the standard variables `AWS_ENDPOINT_URL` and
//! `AWS_ENDPOINT_URL_<SERVICE>` (`BEDROCK`, `BEDROCK_RUNTIME`, `CLOUDWATCH_LOGS`, ...), which
//! the SDK reads itself; nothing local is hard-coded here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

pub use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Loads the SDK config from the standard environment (region, credentials chain,
/// `AWS_ENDPOINT_URL*`, retry and timeout settings). Call once per cold start.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// The shared config with its region replaced by `region`; every other setting (endpoint
/// overrides, credentials, retries, HTTP client) is kept.
pub fn config_for_region(base: &SdkConfig, region: &str) -> SdkConfig {
    base.to_builder()
        .region(Region::new(region.to_owned()))
        .build()
}

type MakeClient<C> = dyn Fn(&SdkConfig) -> C + Send + Sync;

/// A per-region cache of clients built from one shared config.
///
/// `C` is any cheaply clonable client, e.g. `aws_sdk_bedrockruntime::Client`:
/// `RegionalClients::new(config, aws_sdk_bedrockruntime::Client::new)`.
pub struct RegionalClients<C> {
    base: SdkConfig,
    make: Arc<MakeClient<C>>,
    clients: Mutex<HashMap<String, C>>,
}

impl<C: Clone> RegionalClients<C> {
    /// A cache over `base`, building clients with `make`.
    pub fn new(base: SdkConfig, make: impl Fn(&SdkConfig) -> C + Send + Sync + 'static) -> Self {
        Self {
            base,
            make: Arc::new(make),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client for `region`, built on first use.
    pub fn get(&self, region: &str) -> C {
        // A panic while holding the lock cannot leave the map inconsistent (insert is
        // atomic from our side), so a poisoned lock is still usable.
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = clients.get(region) {
            return c.clone();
        }
        let client = (self.make)(&config_for_region(&self.base, region));
        clients.insert(region.to_owned(), client.clone());
        client
    }

    /// The client for the shared config's own region (the function's region).
    pub fn home(&self) -> Option<C> {
        let region = self.base.region()?.to_string();
        Some(self.get(&region))
    }

    /// The shared config.
    pub fn base(&self) -> &SdkConfig {
        &self.base
    }

    /// How many regions have a client so far.
    pub fn len(&self) -> usize {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True before the first client is built.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<C> std::fmt::Debug for RegionalClients<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let regions: Vec<String> = self
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        f.debug_struct("RegionalClients")
            .field("base_region", &self.base.region())
            .field("regions", &regions)
            .finish()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_sdk_bedrock::config::{Credentials, SharedCredentialsProvider};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// An explicit config: static credentials, a region, a loopback endpoint. Nothing is
    /// read from the environment, so no credential probing can happen.
    pub(crate) fn loopback_config(endpoint: &str, region: &str) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            )))
            .endpoint_url(endpoint)
            .build()
    }

    /// Serves `n` requests on loopback with `body`, returning each request's head.
    pub(crate) async fn capture_server(
        n: usize,
        body: &'static str,
    ) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut heads = Vec::new();
            for _ in 0..n {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let read = sock.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..read]);
                    if read == 0 || buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                heads.push(String::from_utf8_lossy(&buf).into_owned());
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                sock.write_all(resp.as_bytes()).await.unwrap();
            }
            heads
        });
        (url, task)
    }

    #[test]
    fn region_override_keeps_every_other_setting() {
        let base = loopback_config("http://127.0.0.1:9", "us-east-1");
        let west = config_for_region(&base, "us-west-2");
        assert_eq!(
            west.region().map(ToString::to_string).as_deref(),
            Some("us-west-2")
        );
        assert_eq!(west.endpoint_url(), Some("http://127.0.0.1:9"));
        assert!(west.credentials_provider().is_some());
        assert_eq!(
            base.region().map(ToString::to_string).as_deref(),
            Some("us-east-1")
        );
    }

    #[test]
    fn a_client_is_built_once_per_region() {
        let built = Arc::new(AtomicUsize::new(0));
        let counter = built.clone();
        let clients = RegionalClients::new(
            loopback_config("http://127.0.0.1:9", "us-east-1"),
            move |c| {
                counter.fetch_add(1, Ordering::SeqCst);
                c.region().map(ToString::to_string)
            },
        );
        assert!(clients.is_empty());
        assert_eq!(clients.get("eu-west-1").as_deref(), Some("eu-west-1"));
        assert_eq!(clients.get("eu-west-1").as_deref(), Some("eu-west-1"));
        assert_eq!(clients.get("us-west-2").as_deref(), Some("us-west-2"));
        assert_eq!(clients.home().flatten().as_deref(), Some("us-east-1"));
        assert_eq!(built.load(Ordering::SeqCst), 3);
        assert_eq!(clients.len(), 3);
    }

    #[tokio::test]
    async fn calls_are_signed_for_the_region_of_their_client() {
        let (url, server) = capture_server(2, r#"{"modelSummaries":[]}"#).await;
        let clients = RegionalClients::new(
            loopback_config(&url, "us-east-1"),
            aws_sdk_bedrock::Client::new,
        );
        clients
            .get("eu-central-1")
            .list_foundation_models()
            .send()
            .await
            .unwrap();
        clients
            .get("ap-southeast-2")
            .list_foundation_models()
            .send()
            .await
            .unwrap();
        let heads = server.await.unwrap();
        let scope = |h: &str| {
            h.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                .unwrap()
                .to_owned()
        };
        assert!(
            scope(&heads[0]).contains("/eu-central-1/bedrock/aws4_request"),
            "{}",
            heads[0]
        );
        assert!(
            scope(&heads[1]).contains("/ap-southeast-2/bedrock/aws4_request"),
            "{}",
            heads[1]
        );
        assert!(
            heads[0].starts_with("GET /foundation-models"),
            "{}",
            heads[0]
        );
    }
}
