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
//!
//! TLS trusts the roots AWS endpoints chain to (Amazon Trust Services), built into the binary:
//! the SDK's default reads the whole system store at start (on Debian-like images the bundle
//! and every file of `/etc/ssl/certs`, about 300 certificates), 3.4 of the 7.3 ms of CPU a
//! function's init takes, so about 47 ms of a 128 MB function's cold start. Setting
//! `SSL_CERT_FILE` or `SSL_CERT_DIR` (a proxy or an endpoint with another CA) switches back to
//! the system store, read from there.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

pub use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Loads the SDK config from the standard environment (region, credentials chain,
/// `AWS_ENDPOINT_URL*`, retry and timeout settings). Call once per cold start.
///
/// It keeps the SDK's own retries (standard mode, 3 attempts): right for calls made once
/// (SNS, a doctor check). Clients whose calls run inside [`crate::retry::retry`] or another
/// loop of ours are built from [`without_sdk_retries`] instead, so attempts do not multiply.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

/// Amazon Root CA 1-4 and the Starfield Services root that cross-signs them: every AWS
/// service endpoint (S3's pre-signed CloudFormation response URLs included) chains to one.
const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// Where TLS roots come from: the system store when `SSL_CERT_FILE` / `SSL_CERT_DIR` name one
/// (read by `env`), else the built-in Amazon Trust Services roots.
pub fn tls_context_from(env: impl Fn(&str) -> Option<String>) -> TlsContext {
    let system = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|k| env(k).is_some_and(|v| !v.trim().is_empty()));
    let store = if system {
        TrustStore::default()
    } else {
        TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES)
    };
    TlsContext::builder()
        .with_trust_store(store)
        .build()
        .unwrap_or_default()
}

/// The TLS roots of this process (see [`tls_context_from`]).
pub fn tls_context() -> TlsContext {
    tls_context_from(|k| std::env::var(k).ok())
}

/// The SDK's own HTTP client (hyper, rustls on aws-lc) with [`tls_context`]'s roots.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls_context())
        .build_https()
}

/// The config with the SDK's retries turned off, for clients whose calls we retry ourselves:
/// every attempt then goes through our loop, which paces it, counts it and stops at the
/// invocation's deadline (the SDK's back-off knows nothing of the deadline).
pub fn without_sdk_retries(base: &SdkConfig) -> SdkConfig {
    base.to_builder()
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build()
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

/// What kind of failure an AWS call ended in, across services. The one place that decides
/// which failures are worth another attempt: [`AwsErrorKind::is_retryable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AwsErrorKind {
    /// The request is malformed or names something invalid (`ValidationException`).
    Validation,
    /// The caller may not do this (`AccessDeniedException`, e.g. a missing model agreement).
    AccessDenied,
    /// The resource does not exist (`ResourceNotFoundException`, or a bare 404).
    NotFound,
    /// The resource is in a state that forbids the call, or the name is taken (`ConflictException`).
    Conflict,
    /// Too many requests (`ThrottlingException`, `TooManyRequestsException`, a bare 429...).
    Throttling,
    /// An account quota is used up (`ServiceQuotaExceededException`): waiting will not help.
    ServiceQuotaExceeded,
    /// The model is still being loaded (`ModelNotReadyException`).
    ModelNotReady,
    /// The model took too long for this request (`ModelTimeoutException`).
    ModelTimeout,
    /// The model failed on this request (`ModelErrorException`).
    ModelError,
    /// The model failed mid-stream (`ModelStreamErrorException`).
    ModelStreamError,
    /// The service failed (`InternalServerException`, `InternalFailure`, a bare 5xx).
    InternalServer,
    /// The service is briefly unavailable (`ServiceUnavailableException`, a bare 503).
    ServiceUnavailable,
    /// The SDK's connect or operation timeout fired.
    Timeout,
    /// The call never got a usable answer (connection failed, reply undecodable).
    Transport,
    /// Anything else: a code this product does not know, a request the SDK could not build.
    Other,
}

impl AwsErrorKind {
    /// The kind an AWS error code names. Accepts shape names (`ThrottlingException`), their
    /// stream-member spellings (`throttlingException`) and the generic query-protocol codes
    /// (`Throttling`, `InternalFailure`); unknown codes are [`AwsErrorKind::Other`].
    pub fn from_code(code: &str) -> Self {
        let code = code.trim_end_matches("Exception").to_ascii_lowercase();
        match code.as_str() {
            "validation" => Self::Validation,
            "accessdenied" => Self::AccessDenied,
            "resourcenotfound" => Self::NotFound,
            "conflict" => Self::Conflict,
            "throttling" | "toomanyrequests" | "requestlimitexceeded" => Self::Throttling,
            "servicequotaexceeded" => Self::ServiceQuotaExceeded,
            "modelnotready" => Self::ModelNotReady,
            "modeltimeout" => Self::ModelTimeout,
            "modelerror" => Self::ModelError,
            "modelstreamerror" => Self::ModelStreamError,
            "internalserver" | "internalfailure" => Self::InternalServer,
            "serviceunavailable" => Self::ServiceUnavailable,
            _ => Self::Other,
        }
    }

    /// The kind a bare HTTP status implies when the reply carries no error code.
    pub fn from_status(status: u16) -> Self {
        match status {
            404 => Self::NotFound,
            429 => Self::Throttling,
            503 => Self::ServiceUnavailable,
            500..=599 => Self::InternalServer,
            _ => Self::Other,
        }
    }

    /// Whether the same call may succeed if made again a little later: the service was
    /// overloaded, not ready, failing inside, or never reached. Client errors (validation,
    /// access, not found, conflict, quota) and the model's own failures are not.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::Throttling
                | Self::ModelNotReady
                | Self::ServiceUnavailable
                | Self::InternalServer
                | Self::Timeout
                | Self::Transport
        )
    }
}

/// A failed AWS call: its kind, the service's error code (empty when the reply had none) and
/// a message fit for an operator (the service's, or the SDK's description of what failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// What kind of failure it is.
    pub kind: AwsErrorKind,
    /// The service's error code, e.g. `ThrottlingException`; empty when there was none.
    pub code: String,
    /// What went wrong, in words.
    pub message: String,
}

impl AwsError {
    /// An error of `kind` with `code` and `message`.
    pub fn new(kind: AwsErrorKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: code.into(),
            message: message.into(),
        }
    }

    /// Classifies anything that carries AWS error metadata (a service error, an event-stream
    /// error): by its code, else [`AwsErrorKind::Transport`] (no code means no service answer).
    pub fn from_metadata<E: ProvideErrorMetadata + fmt::Debug>(err: &E) -> Self {
        match err.code() {
            Some(code) => Self::new(
                AwsErrorKind::from_code(code),
                code,
                err.message().unwrap_or(code),
            ),
            None => Self::new(AwsErrorKind::Transport, "", format!("{err:?}")),
        }
    }

    /// Classifies an SDK call's failure: by the service's error code, else by the HTTP status,
    /// else by how the call failed (timeout, connection, undecodable reply).
    pub fn from_sdk<E, R>(err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug + HttpStatus,
    {
        let code = err.code().unwrap_or_default();
        let message = err
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| DisplayErrorContext(err).to_string());
        let kind = match (AwsErrorKind::from_code(code), err) {
            (AwsErrorKind::Other, SdkError::TimeoutError(_)) => AwsErrorKind::Timeout,
            (AwsErrorKind::Other, SdkError::DispatchFailure(_) | SdkError::ResponseError(_)) => {
                AwsErrorKind::Transport
            }
            (AwsErrorKind::Other, SdkError::ServiceError(se)) => {
                AwsErrorKind::from_status(se.raw().http_status())
            }
            (kind, _) => kind,
        };
        Self::new(kind, code, message)
    }

    /// Whether another attempt may succeed ([`AwsErrorKind::is_retryable`]).
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code.is_empty(), self.message.is_empty()) {
            (false, false) => write!(f, "{}: {}", self.code, self.message),
            (false, true) => f.write_str(&self.code),
            (true, false) => f.write_str(&self.message),
            (true, true) => f.write_str("unknown error"),
        }
    }
}

impl std::error::Error for AwsError {}

impl<E, R> From<&SdkError<E, R>> for AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + HttpStatus,
{
    fn from(err: &SdkError<E, R>) -> Self {
        Self::from_sdk(err)
    }
}

impl<E, R> From<SdkError<E, R>> for AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + HttpStatus,
{
    /// Lets `client.op().send().await?` classify on the way out.
    fn from(err: SdkError<E, R>) -> Self {
        Self::from_sdk(&err)
    }
}

/// The HTTP status of a raw reply, so [`AwsError::from_sdk`] can read both plain responses and
/// event-stream messages (which have none).
pub trait HttpStatus {
    /// The status code; 0 when the reply is not an HTTP response.
    fn http_status(&self) -> u16;
}

impl HttpStatus for Response {
    fn http_status(&self) -> u16 {
        self.status().as_u16()
    }
}

impl HttpStatus for aws_smithy_types::event_stream::RawMessage {
    fn http_status(&self) -> u16 {
        0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_built_in_roots_are_amazon_trust_services_and_ssl_cert_file_chooses_the_system() {
        let pem = std::str::from_utf8(AMAZON_TRUST_SERVICES).unwrap();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        for root in [
            "Amazon_Root_CA_1",
            "Amazon_Root_CA_4",
            "Starfield_Services_Root",
        ] {
            assert!(pem.contains(root), "{root}");
        }
        // Both choices build; which one was taken shows in the trust store's debug form.
        let built_in = format!("{:?}", tls_context_from(|_| None));
        assert!(
            built_in.contains("enable_native_roots: false"),
            "{built_in}"
        );
        let system = format!(
            "{:?}",
            tls_context_from(|k| (k == "SSL_CERT_FILE").then(|| "/etc/ssl/cert.pem".to_owned()))
        );
        assert!(system.contains("enable_native_roots: true"), "{system}");
    }

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

    mod classify {
        use super::super::*;
        use aws_sdk_bedrock::operation::get_inference_profile::GetInferenceProfileError as OpError;
        use aws_smithy_runtime_api::client::result::ConnectorError;
        use aws_smithy_runtime_api::http::StatusCode;
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::error::ErrorMetadata;

        fn raw(status: u16) -> Response {
            Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
        }

        fn service(code: Option<&str>, status: u16) -> SdkError<OpError, Response> {
            let mut meta = ErrorMetadata::builder().message("from the service");
            if let Some(code) = code {
                meta = meta.code(code);
            }
            SdkError::service_error(OpError::generic(meta.build()), raw(status))
        }

        fn kind(err: &SdkError<OpError, Response>) -> AwsErrorKind {
            AwsError::from_sdk(err).kind
        }

        #[test]
        fn service_errors_are_classified_by_their_code() {
            use AwsErrorKind as K;
            for (code, expected) in [
                ("ThrottlingException", K::Throttling),
                ("TooManyRequestsException", K::Throttling),
                ("Throttling", K::Throttling),
                ("RequestLimitExceeded", K::Throttling),
                ("ServiceUnavailableException", K::ServiceUnavailable),
                ("InternalServerException", K::InternalServer),
                ("InternalFailure", K::InternalServer),
                ("ModelNotReadyException", K::ModelNotReady),
                ("ValidationException", K::Validation),
                ("AccessDeniedException", K::AccessDenied),
                ("ResourceNotFoundException", K::NotFound),
                ("ConflictException", K::Conflict),
                ("ServiceQuotaExceededException", K::ServiceQuotaExceeded),
                ("ModelTimeoutException", K::ModelTimeout),
                ("ModelErrorException", K::ModelError),
                ("modelStreamErrorException", K::ModelStreamError),
                ("SomethingNewException", K::Other),
            ] {
                // The code wins over the status: a 400 throttle is still a throttle.
                let err = AwsError::from_sdk(&service(Some(code), 400));
                assert_eq!(err.kind, expected, "{code}");
                assert_eq!(err.code, code);
                assert_eq!(err.message, "from the service");
                assert_eq!(err.to_string(), format!("{code}: from the service"));
            }
        }

        #[test]
        fn a_reply_without_a_code_is_classified_by_its_status() {
            use AwsErrorKind as K;
            for (status, expected) in [
                (404, K::NotFound),
                (429, K::Throttling),
                (503, K::ServiceUnavailable),
                (500, K::InternalServer),
                (502, K::InternalServer),
                (400, K::Other),
            ] {
                assert_eq!(kind(&service(None, status)), expected, "{status}");
            }
        }

        #[test]
        fn failures_without_an_answer_are_timeouts_or_transport() {
            let timeout: SdkError<OpError, Response> = SdkError::timeout_error("too slow");
            assert_eq!(kind(&timeout), AwsErrorKind::Timeout);
            let dispatch: SdkError<OpError, Response> = SdkError::dispatch_failure(
                ConnectorError::io(std::io::Error::other("refused").into()),
            );
            assert_eq!(kind(&dispatch), AwsErrorKind::Transport);
            let garbled: SdkError<OpError, Response> =
                SdkError::response_error("not JSON", raw(200));
            assert_eq!(kind(&garbled), AwsErrorKind::Transport);
            let unbuilt: SdkError<OpError, Response> =
                SdkError::construction_failure("missing field");
            assert_eq!(kind(&unbuilt), AwsErrorKind::Other);
            assert!(!AwsError::from_sdk(&dispatch).message.is_empty());
        }

        #[test]
        fn one_list_says_what_is_worth_another_attempt() {
            use AwsErrorKind as K;
            let retryable = [
                K::Throttling,
                K::ModelNotReady,
                K::ServiceUnavailable,
                K::InternalServer,
                K::Timeout,
                K::Transport,
            ];
            let final_ = [
                K::Validation,
                K::AccessDenied,
                K::NotFound,
                K::Conflict,
                K::ServiceQuotaExceeded,
                K::ModelTimeout,
                K::ModelError,
                K::ModelStreamError,
                K::Other,
            ];
            assert!(retryable.iter().all(|k| k.is_retryable()));
            assert!(final_.iter().all(|k| !k.is_retryable()));
        }

        #[test]
        fn metadata_without_a_code_means_no_service_answer() {
            let with = ErrorMetadata::builder().code("ThrottlingException").build();
            assert_eq!(
                AwsError::from_metadata(&with).kind,
                AwsErrorKind::Throttling
            );
            assert_eq!(
                AwsError::from_metadata(&with).message,
                "ThrottlingException"
            );
            let without = ErrorMetadata::builder().message("eof").build();
            assert_eq!(
                AwsError::from_metadata(&without).kind,
                AwsErrorKind::Transport
            );
        }
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
    fn retries_can_be_turned_off_keeping_the_rest() {
        let base = loopback_config("http://127.0.0.1:9", "us-east-1");
        let off = without_sdk_retries(&base);
        assert_eq!(off.retry_config().map(|r| r.max_attempts()), Some(1));
        assert_eq!(off.endpoint_url(), Some("http://127.0.0.1:9"));
        assert_eq!(off.region(), base.region());
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
