//! Delivering the answer: an HTTP PUT to the pre-signed `ResponseURL`, retried with back-off.
//!
//! The connector is the AWS SDK's own (hyper + rustls on aws-lc), so the function carries one TLS
//! stack. It speaks plain HTTP too, which local tests use for their loopback stand-in.

use std::time::Duration;

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use shared::deadline::Deadline;
use shared::retry::{RetryPolicy, retry};
use tokio::time::Instant;

use crate::Error;
use crate::protocol::Response;

/// crhelper and the CDK provider framework both make five attempts.
const PUT_POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 5,
    base_delay: Duration::from_millis(250),
    max_delay: Duration::from_secs(2),
};
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The least time the first attempt gets, however late it is.
const FIRST_ATTEMPT_FLOOR: Duration = Duration::from_secs(1);

/// A `ResponseURL` the provisioner will send an answer to.
///
/// The event names the URL, and anyone allowed to invoke the function writes the event, so the
/// URL is checked before any work is done: CloudFormation's pre-signed S3 URLs are `https` on an
/// `amazonaws.com` (or `amazonaws.com.cn`) host; loopback hosts are allowed for local runs (the
/// only other listener in a Lambda sandbox's loopback is the Runtime API, which takes no PUT).
/// Anything else (the instance-metadata address, a private network, plain http to the internet)
/// is refused. Messages show the URL without its query: the signature and the session token in
/// it are credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseUrl {
    url: String,
    shown: String,
}

impl ResponseUrl {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let raw = raw.trim();
        let shown = raw.split(['?', '#']).next().unwrap_or_default().to_owned();
        let refuse = |why: &str| {
            Error::Response(format!(
                "ResponseURL {shown:?} is refused: {why}; CloudFormation sends a pre-signed https URL on an amazonaws.com host"
            ))
        };
        let uri: http::Uri = raw.parse().map_err(|_| refuse("it is not a URL"))?;
        let host = uri
            .host()
            .ok_or_else(|| refuse("it has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let aws_host = ["amazonaws.com", "amazonaws.com.cn"]
            .iter()
            .any(|suffix| host.ends_with(&format!(".{suffix}")));
        match uri.scheme_str() {
            Some("https") if aws_host || loopback => {}
            Some("http") if loopback => {}
            Some("https") => return Err(refuse("its host is not an AWS endpoint")),
            Some("http") => return Err(refuse("it is plain http to a host that is not loopback")),
            _ => return Err(refuse("only https is used")),
        }
        Ok(Self {
            url: raw.to_owned(),
            shown,
        })
    }

    /// The URL without its query (no signature, no token): safe to log.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// Sends responses to CloudFormation.
#[derive(Debug)]
pub struct Responder {
    connector: Connector,
}

impl Default for Responder {
    fn default() -> Self {
        Self::new()
    }
}

impl Responder {
    pub fn new() -> Self {
        Responder {
            connector: Connector::builder()
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(shared::aws::tls_context())
                .build(),
        }
    }

    /// PUTs `response` to `url` until a 2xx arrives, five attempts at most, never past
    /// `deadline`. Returns the HTTP status of the accepted attempt.
    pub async fn send(
        &self,
        url: &ResponseUrl,
        response: &Response,
        deadline: Instant,
    ) -> Result<u16, Error> {
        let body = response.to_body();
        let delivered = retry(
            &PUT_POLICY,
            Deadline::at(deadline),
            "response PUT",
            |failure: &PutFailure| !matches!(failure, PutFailure::Unusable(_)),
            |attempt| {
                let body = body.clone();
                async move {
                    let mut left = deadline.saturating_duration_since(Instant::now());
                    if attempt == 1 {
                        // Without a PUT the stack waits for an hour, so the first attempt is
                        // made even when the deadline has already passed: if Lambda has not
                        // stopped the function yet, it may still arrive.
                        left = left.max(FIRST_ATTEMPT_FLOOR);
                    }
                    let request = build_request(url, body).map_err(PutFailure::Unusable)?;
                    match tokio::time::timeout(
                        left.min(ATTEMPT_TIMEOUT),
                        self.connector.call(request),
                    )
                    .await
                    {
                        Ok(Ok(reply)) if reply.status().is_success() => {
                            Ok((reply.status().as_u16(), attempt))
                        }
                        Ok(Ok(reply)) => Err(PutFailure::Failed(format!(
                            "the response URL answered HTTP {}",
                            reply.status().as_u16()
                        ))),
                        Ok(Err(err)) => Err(PutFailure::Failed(format!("{err}"))),
                        Err(_) => Err(PutFailure::Failed("the PUT timed out".to_owned())),
                    }
                }
            },
        )
        .await;
        match delivered {
            Ok((http_status, attempt)) => {
                tracing::info!(
                    status = response_status_label(response),
                    http_status,
                    attempt,
                    bytes = body.len(),
                    "response delivered"
                );
                Ok(http_status)
            }
            Err(gave_up) => {
                tracing::error!(error = %gave_up, "giving up on the response PUT");
                Err(match gave_up.into_error() {
                    PutFailure::Unusable(e) => e,
                    PutFailure::Failed(why) => Error::Response(why),
                })
            }
        }
    }
}

/// Why one PUT attempt did not deliver the answer.
#[derive(Debug)]
enum PutFailure {
    /// The request cannot even be built: no attempt will do better.
    Unusable(Error),
    /// Refused, failed or timed out: worth another attempt.
    Failed(String),
}

impl std::fmt::Display for PutFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PutFailure::Unusable(e) => e.fmt(f),
            PutFailure::Failed(why) => f.write_str(why),
        }
    }
}

fn response_status_label(response: &Response) -> &'static str {
    match response.status {
        crate::protocol::Status::Success => "SUCCESS",
        crate::protocol::Status::Failed => "FAILED",
    }
}

fn build_request(url: &ResponseUrl, body: Vec<u8>) -> Result<HttpRequest, Error> {
    // The URL is pre-signed without a content type: S3 answers 403 to any other value, so the
    // header is sent present and empty, as cfn-response does.
    let unusable = |e: &dyn std::fmt::Display| {
        Error::Response(format!("ResponseURL {:?} is not usable: {e}", url.shown()))
    };
    let request = http::Request::builder()
        .method(http::Method::PUT)
        .uri(url.url.as_str())
        .header(http::header::CONTENT_TYPE, "")
        .header(http::header::CONTENT_LENGTH, body.len())
        .body(SdkBody::from(body))
        .map_err(|e| unusable(&e))?;
    HttpRequest::try_from(request).map_err(|e| unusable(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Envelope;
    use serde_json::json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-shot loopback server that answers `200 OK` and hands back the request it read.
    async fn accept_one() -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/response", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then the Content-Length body (small here).
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&seen);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if seen.len() >= end + 4 + length || n == 0 {
                        break;
                    }
                }
            }
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8_lossy(&seen).into_owned()
        });
        (url, served)
    }

    fn response(url: &str) -> Response {
        let event = json!({
            "ResponseURL": url,
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/1",
            "RequestId": "r1",
            "LogicalResourceId": "L",
        });
        let envelope = Envelope::read(&event).unwrap();
        Response::failed(&envelope, "timed out")
    }

    #[test]
    fn cloudformation_and_loopback_urls_are_accepted() {
        for url in [
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws/x?X-Amz-Signature=abc",
            "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/x",
            "https://s3.us-east-1.amazonaws.com/bucket/key",
            "http://127.0.0.1:9099/cloudformation-response",
            "http://localhost:8080/r",
            "http://[::1]:8080/r",
            "  https://bucket.s3.amazonaws.com/k  ",
        ] {
            assert!(ResponseUrl::parse(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn other_destinations_are_refused_without_showing_the_signature() {
        for (url, why) in [
            (
                "http://169.254.169.254/latest/meta-data/?X-Amz-Signature=secret",
                "not loopback",
            ),
            (
                "https://169.254.169.254/latest/meta-data/",
                "not an AWS endpoint",
            ),
            (
                "http://10.0.0.7/put?X-Amz-Security-Token=secret",
                "not loopback",
            ),
            (
                "https://evil.example/amazonaws.com?X-Amz-Signature=secret",
                "not an AWS endpoint",
            ),
            (
                "https://amazonaws.com.evil.example/x",
                "not an AWS endpoint",
            ),
            (
                "http://bucket.s3.amazonaws.com/k?X-Amz-Signature=secret",
                "not loopback",
            ),
            ("ftp://127.0.0.1/x", "only https"),
            ("file:///etc/passwd", "not a URL"),
            ("not a url", "not a URL"),
            ("", "not a URL"),
        ] {
            let err = ResponseUrl::parse(url).unwrap_err().to_string();
            assert!(err.contains(why), "{url}: {err}");
            assert!(!err.contains("secret"), "{url}: {err}");
        }
    }

    #[test]
    fn a_refused_url_cannot_reach_the_sender() {
        // `send` takes a parsed `ResponseUrl`: an unroutable private address is refused before
        // any attempt could wait for its timeout.
        let err = ResponseUrl::parse("http://10.255.255.1/x").unwrap_err();
        assert!(err.to_string().contains("is refused"), "{err}");
    }

    #[tokio::test]
    async fn a_response_is_attempted_even_when_the_deadline_has_passed() {
        let (url, served) = accept_one().await;
        let status = Responder::new()
            .send(
                &ResponseUrl::parse(&url).unwrap(),
                &response(&url),
                Instant::now(),
            )
            .await
            .unwrap();
        assert_eq!(status, 200);
        let request = served.await.unwrap();
        assert!(request.starts_with("PUT /response "), "{request}");
        assert!(request.contains("\"Status\":\"FAILED\""), "{request}");
    }
}
