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
use tokio::time::Instant;

use crate::Error;
use crate::protocol::Response;

/// crhelper and the CDK provider framework both make five attempts.
const ATTEMPTS: u32 = 5;
const FIRST_DELAY: Duration = Duration::from_millis(250);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

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
                .build(),
        }
    }

    /// PUTs `response` to `url` until a 2xx arrives, five attempts at most, never past
    /// `deadline`. Returns the HTTP status of the accepted attempt.
    pub async fn send(
        &self,
        url: &str,
        response: &Response,
        deadline: Instant,
    ) -> Result<u16, Error> {
        let body = response.to_body();
        let mut delay = FIRST_DELAY;
        let mut last_error = String::from("no attempt was made before the deadline");
        for attempt in 1..=ATTEMPTS {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let request = build_request(url, body.clone())?;
            match tokio::time::timeout(left.min(ATTEMPT_TIMEOUT), self.connector.call(request))
                .await
            {
                Ok(Ok(reply)) if reply.status().is_success() => {
                    tracing::info!(
                        status = response_status_label(response),
                        http_status = reply.status().as_u16(),
                        attempt,
                        bytes = body.len(),
                        "response delivered"
                    );
                    return Ok(reply.status().as_u16());
                }
                Ok(Ok(reply)) => {
                    last_error =
                        format!("the response URL answered HTTP {}", reply.status().as_u16());
                }
                Ok(Err(err)) => last_error = format!("{err}"),
                Err(_) => last_error = "the PUT timed out".to_owned(),
            }
            tracing::warn!(attempt, error = %last_error, "response PUT failed");
            if attempt < ATTEMPTS {
                let pause = delay.min(deadline.saturating_duration_since(Instant::now()));
                tokio::time::sleep(pause).await;
                delay *= 2;
            }
        }
        tracing::error!(error = %last_error, "giving up on the response PUT");
        Err(Error::Response(last_error))
    }
}

fn response_status_label(response: &Response) -> &'static str {
    match response.status {
        crate::protocol::Status::Success => "SUCCESS",
        crate::protocol::Status::Failed => "FAILED",
    }
}

fn build_request(url: &str, body: Vec<u8>) -> Result<HttpRequest, Error> {
    // The URL is pre-signed without a content type: S3 answers 403 to any other value, so the
    // header is sent present and empty, as cfn-response does.
    let request = http::Request::builder()
        .method(http::Method::PUT)
        .uri(url)
        .header(http::header::CONTENT_TYPE, "")
        .header(http::header::CONTENT_LENGTH, body.len())
        .body(SdkBody::from(body))
        .map_err(|e| Error::Response(format!("ResponseURL {url:?} is not usable: {e}")))?;
    HttpRequest::try_from(request)
        .map_err(|e| Error::Response(format!("ResponseURL {url:?} is not usable: {e}")))
}
