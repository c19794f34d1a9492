//! Faults along the whole loop, counted at every stage. The local Bedrock fails some calls (an
//! internal error, a dropped connection, a stream that breaks mid-way); the router retries what
//! it may; every call that reached Bedrock becomes one invocation-log record in moto's CloudWatch
//! Logs; the verifier reads them through a front that throttles FilterLogEvents in bursts longer
//! than the SDK's own retries. Nothing may be lost or counted twice: the router's attempts, the
//! records delivered and the records the verifier counts must be the same number.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bedrock_emulator::{Emulator, Options};
use bytes::Bytes;
use e2e::{Moto, local_sdk_config};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use shared::config::ProfileConfig;
use shared::profile_map::ProfileMap;
use tokio::net::TcpListener;

use super::{
    ACCOUNT, Captured, SONNET, chat, create_profile, enable_logging, pin_local_environment, scan,
};

/// FilterLogEvents calls (1-based) the front answers with ThrottlingException: two bursts of
/// four, each longer than the SDK's three attempts, so the verifier's own back-off must act.
fn throttled(call: usize) -> bool {
    (1..=4).contains(&call) || (7..=10).contains(&call)
}

/// A CloudWatch Logs front on loopback: throttles FilterLogEvents per [`throttled`] and passes
/// everything else to `target`. Returns its URL and the FilterLogEvents calls it has seen.
async fn throttling_logs_front(target: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let target: SocketAddr = target.trim_start_matches("http://").parse().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<Incoming>| {
                    let counter = counter.clone();
                    async move {
                        let filter = req
                            .headers()
                            .get("x-amz-target")
                            .and_then(|v| v.to_str().ok())
                            .is_some_and(|t| t.ends_with(".FilterLogEvents"));
                        if filter && throttled(counter.fetch_add(1, Ordering::SeqCst) + 1) {
                            return Ok::<_, hyper::Error>(
                                http::Response::builder()
                                    .status(400)
                                    .header("content-type", "application/x-amz-json-1.1")
                                    .body(Full::new(Bytes::from_static(
                                        br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
                                    )))
                                    .unwrap(),
                            );
                        }
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await?.to_bytes();
                        let upstream = tokio::net::TcpStream::connect(target).await.unwrap();
                        let (mut sender, conn) =
                            hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await?;
                        tokio::spawn(conn);
                        let reply = sender
                            .send_request(http::Request::from_parts(parts, Full::new(body)))
                            .await?;
                        let (parts, body) = reply.into_parts();
                        let body = body.collect().await?.to_bytes();
                        Ok(http::Response::from_parts(parts, Full::new(body)))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), calls)
}

pub(super) async fn add_fault(emulator_url: &str, rule: Value) {
    let status = admin_post(emulator_url, "/_emulator/runtime/faults", &rule).await;
    assert_eq!(status, 201, "{rule}");
}

/// One JSON POST over a plain connection (the emulator's admin routes take no signing).
async fn admin_post(base: &str, path: &str, body: &Value) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    raw[9..12].parse().unwrap()
}

fn streamed(model: &str, text: &str) -> lambda_http::Request {
    let body =
        json!({"model": model, "stream": true, "messages": [{"role": "user", "content": text}]});
    http::Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(lambda_http::Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_that_reached_bedrock_is_counted_once_through_faults_and_throttling() {
    pin_local_environment();
    let moto = Moto::start().expect("moto's CloudWatch Logs starts");
    let emulator = Emulator::start(Options {
        logs_endpoint: Some(moto.url().to_string()),
        ..Options::default()
    })
    .await
    .expect("the local Bedrock starts");
    let east = local_sdk_config(&emulator.url(), "us-east-1");
    let control = aws_sdk_bedrock::Client::new(&east);
    enable_logging(&control).await;
    let profile = create_profile(
        &control,
        "e2e-faults",
        &format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/{SONNET}"),
    )
    .await;
    let yaml = format!(
        "models: [\"{SONNET}\"]\ninferenceProfiles:\n  \"{SONNET}\": \"{profile}\"\nallowedInferenceRegions: [us-east-1, us-east-2, us-west-2]\ndefaultRegion: us-east-1\n"
    );
    let config = ProfileConfig::parse(&yaml, |_| None).expect("the config is valid");
    let started_ms = chrono::Utc::now().timestamp_millis() - 1_000;

    let sink = router::metrics::MemorySink::default();
    let router = router::Router::new(
        router::bedrock::SdkBedrock::new(east.clone()),
        router::profiles::ProfileDirectory::new(ProfileMap::new(&config)),
        Arc::new(sink.clone()),
        router::DEFAULT_MAX_BODY_BYTES,
    );
    let url = emulator.url();
    // Each request meets one fault (rules fire once each, in this order of requests).
    let script: [(Value, bool, u16); 4] = [
        (
            json!({"kind": "error", "code": "InternalServerException", "operation": "Converse", "count": 1}),
            false,
            200,
        ),
        (
            json!({"kind": "drop", "operation": "Converse", "count": 1}),
            false,
            200,
        ),
        (
            json!({"kind": "stream-error", "operation": "ConverseStream", "afterEvents": 2, "count": 1}),
            true,
            200,
        ),
        (
            json!({"kind": "throttling", "operation": "Converse", "count": 1}),
            false,
            200,
        ),
    ];
    let mut stream_error_seen = false;
    for (i, (rule, stream, expected)) in script.into_iter().enumerate() {
        add_fault(&url, rule).await;
        let text = format!("request {i}");
        let request = if stream {
            streamed(SONNET, &text)
        } else {
            chat(SONNET, &text)
        };
        let response = router.handle(request).await;
        assert_eq!(response.status().as_u16(), expected);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8_lossy(&body);
        if stream {
            stream_error_seen = body.contains("\"error\"") && !body.contains("[DONE]");
        }
    }
    assert!(
        stream_error_seen,
        "the broken stream ended with an error event"
    );

    // The router's count of calls it made to Bedrock.
    let documents: Vec<Value> = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(documents.len(), 4, "one metrics document per request");
    let attempts: f64 = documents
        .iter()
        .map(|d| d["Attempts"].as_f64().unwrap())
        .sum();
    assert_eq!(
        attempts, 7.0,
        "retried: the 5xx, the drop and the throttle; not the stream"
    );

    // The local Bedrock's count of what it logged, all delivered to CloudWatch Logs.
    let stats = emulator.state().runtime.flush_logs().await;
    assert_eq!((stats.queued, stats.failed), (7, 0), "{stats:?}");
    emulator.shutdown().await;
    let ended_ms = chrono::Utc::now().timestamp_millis();

    // The verifier's count, read through a throttling front.
    let (front, filter_calls) = throttling_logs_front(moto.url().to_string()).await;
    let logs =
        verifier::logs::SdkLogs::new(local_sdk_config(&front, "us-east-1")).with_page_limit(2);
    let report = scan(&config, logs, Captured::default(), started_ms, ended_ms).await;
    // Ten calls or more means calls 1-4 and 7-10 were all answered with ThrottlingException.
    assert!(
        filter_calls.load(Ordering::SeqCst) >= 10,
        "both throttling bursts were met"
    );
    assert_eq!(report["complete"], true, "{report:#}");
    assert_eq!(report["records"], 7, "{report:#}");
    assert_eq!(report["counts"]["profiled"], 7, "{report:#}");
    assert_eq!(report["counts"]["mapping_miss"], 0, "{report:#}");
    assert_eq!(
        report["counts"]["error"], 4,
        "the failed attempts: {report:#}"
    );
}
