//! Attempts on the wire: the scan's retries are the only ones, so its pacing sees every request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::config::retry::RetryConfig;
use aws_sdk_cloudwatchlogs::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
};
use shared::aws::SdkConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use verifier::logs::SdkLogs;
use verifier::observe::Classifier;
use verifier::report::Tally;
use verifier::scan::{ScanSettings, ScanStats, scan_region};
use verifier::window::Window;

/// A CloudWatch Logs stand-in on loopback that throttles every request and counts them.
async fn always_throttled() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // The head, then the body its content-length announces.
                loop {
                    let Ok(read) = sock.read(&mut chunk).await else {
                        return;
                    };
                    buf.extend_from_slice(&chunk[..read]);
                    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                    if read == 0 {
                        return;
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
                let reply = format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

/// A throttled scan reads no record; any would be counted as a default observation.
struct Nothing;

impl Classifier for Nothing {
    fn observe(&self, _line: &str) -> verifier::observe::Observation {
        verifier::observe::Observation::default()
    }
}

/// One page asked for with `max_retries` retries makes exactly `max_retries + 1` requests,
/// although the loaded SDK config (standard mode) would make three per call.
#[tokio::test]
async fn one_page_makes_exactly_the_policy_attempts_on_the_wire() {
    let (url, seen) = always_throttled().await;
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "static",
        )))
        .retry_config(RetryConfig::standard())
        .endpoint_url(&url)
        .build();
    let logs = SdkLogs::new(sdk);
    let settings = ScanSettings {
        requests_per_second: 0.0,
        max_retries: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        ..ScanSettings::default()
    };
    let (mut tally, mut stats) = (Tally::default(), ScanStats::default());
    let window = Window {
        start_ms: 0,
        end_ms: 60_000,
    };
    let err = scan_region(
        &logs,
        &Nothing,
        "us-east-1",
        "/g",
        window,
        &settings,
        None,
        &mut tally,
        &mut stats,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("after 2 retries"), "{err}");
    assert_eq!(stats.requests, 3);
    assert_eq!(seen.load(Ordering::SeqCst), 3, "requests on the wire");
    assert_eq!(tally.records(), 0);
}
