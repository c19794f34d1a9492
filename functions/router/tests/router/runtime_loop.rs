//! The router binary against a scripted Lambda Runtime API on loopback: when the Runtime API
//! drops the connection that carries one invocation's streamed response (what a caller hanging up
//! mid-stream looks like from inside the sandbox), the same process must go on to answer the next
//! invocation instead of exiting and making the next caller pay a cold start.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const HEALTH_EVENT: &str = include_str!("../../../../events/router/health.json");
const RUNTIME: &str = "/2018-06-01/runtime/";

#[derive(Debug, PartialEq)]
enum Seen {
    /// The response connection for this invocation was dropped on purpose.
    Dropped(String),
    /// A complete streamed response arrived for this invocation.
    Answered(String, String),
    Other(String),
}

struct Script {
    /// Invocations still to hand out: (request ID, drop its response connection?).
    pending: Mutex<VecDeque<(String, bool)>>,
    seen: mpsc::UnboundedSender<Seen>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads from `socket` into `buffer` until `done(buffer)`; `None` when the connection ends first.
async fn read_until(
    socket: &mut TcpStream,
    buffer: &mut Vec<u8>,
    done: impl Fn(&[u8]) -> bool,
) -> Option<()> {
    while !done(buffer) {
        let mut chunk = [0u8; 4096];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    Some(())
}

/// Reads one request head (request line and headers) and takes it out of `buffer`.
async fn read_head(socket: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<String> {
    read_until(socket, buffer, |b| find(b, b"\r\n\r\n").is_some()).await?;
    let head_end = find(buffer, b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    buffer.drain(..head_end);
    Some(head)
}

/// Reads a chunked body (a streamed response) to its last chunk and takes it out of `buffer`.
async fn read_chunked_body(socket: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<String> {
    read_until(socket, buffer, |b| find(b, b"0\r\n\r\n").is_some()).await?;
    let body = String::from_utf8_lossy(buffer).into_owned();
    buffer.clear();
    Some(body)
}

/// Serves one keep-alive connection of the runtime client until it closes or is dropped.
async fn serve_connection(script: Arc<Script>, mut socket: TcpStream) {
    let mut buffer = Vec::new();
    loop {
        let Some(head) = read_head(&mut socket, &mut buffer).await else {
            return;
        };
        let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
        let rest = path.strip_prefix(RUNTIME).unwrap_or(&path).to_owned();
        if rest == "invocation/next" {
            let next = script.pending.lock().ok().and_then(|mut p| p.pop_front());
            let Some((id, _)) = next else {
                // Nothing more to hand out: hold the poll like Lambda does between invocations.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + 60_000)
                .unwrap_or(0);
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 lambda-runtime-aws-request-id: {id}\r\nlambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:router\r\n\
                 content-length: {}\r\n\r\n{HEALTH_EVENT}",
                HEALTH_EVENT.len()
            );
            if socket.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        } else if let Some(id) = rest
            .strip_prefix("invocation/")
            .and_then(|t| t.strip_suffix("/response"))
        {
            let id = id.to_owned();
            if id.starts_with("drop-") {
                let _ = script.seen.send(Seen::Dropped(id));
                return; // closes the socket with the streamed body unread
            }
            let Some(body) = read_chunked_body(&mut socket, &mut buffer).await else {
                return;
            };
            let _ = script.seen.send(Seen::Answered(id, body));
            let ok = "HTTP/1.1 202 Accepted\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}";
            if socket.write_all(ok.as_bytes()).await.is_err() {
                return;
            }
        } else {
            let _ = script
                .seen
                .send(Seen::Other(head.lines().next().unwrap_or("").to_owned()));
            return;
        }
    }
}

#[tokio::test]
async fn a_dropped_response_connection_does_not_end_the_warm_process() {
    super::set_local_env();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let script = Arc::new(Script {
        pending: Mutex::new(VecDeque::from([
            ("drop-first".to_owned(), true),
            ("second".to_owned(), false),
            ("drop-third".to_owned(), true),
            ("fourth".to_owned(), false),
        ])),
        seen: seen_tx,
    });
    let server_script = script.clone();
    let server = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve_connection(server_script.clone(), socket));
        }
    });
    let config = serde_json::json!({"models": [super::SONNET], "defaultRegion": super::REGION});
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_router"))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "router")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("PROFILES_CONFIG", config.to_string())
        .env("AWS_ENDPOINT_URL_BEDROCK", "http://127.0.0.1:9")
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9")
        .env_remove("PROFILES_CONFIG_FILE")
        .env_remove("ROUTER_API_KEYS_SECRET_ARN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the router binary");

    // Up to a minute for the four invocations; stop waiting as soon as the process is gone.
    let mut observed = Vec::new();
    let mut still_running = true;
    for _ in 0..120 {
        while let Ok(event) = seen.try_recv() {
            observed.push(event);
        }
        still_running = child.try_wait().expect("poll the router").is_none();
        if observed.len() >= 4 || !still_running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    server.abort();

    let ids: Vec<&str> = observed
        .iter()
        .map(|s| match s {
            Seen::Dropped(id) | Seen::Answered(id, _) => id.as_str(),
            Seen::Other(line) => line.as_str(),
        })
        .collect();
    assert_eq!(
        ids,
        ["drop-first", "second", "drop-third", "fourth"],
        "{observed:?}"
    );
    for event in &observed {
        if let Seen::Answered(_, body) = event {
            assert!(body.contains(r#"{"status":"ok"}"#), "{body}");
        }
    }
    assert!(
        still_running,
        "the router exited after a dropped response connection"
    );
}

/// What the spend test's Runtime API and DynamoDB stand-ins saw, each with the time it happened.
#[derive(Debug, Default)]
struct Timeline {
    /// The first invocation's response body, complete, and when its last chunk arrived.
    answered: Option<(String, tokio::time::Instant)>,
    /// The month's spend `UpdateItem`: when it arrived and when it was answered.
    spend_write: Option<(tokio::time::Instant, tokio::time::Instant)>,
    /// When the router polled for the invocation after the first.
    next_poll: Option<tokio::time::Instant>,
}

/// How long the DynamoDB stand-in takes to answer the spend write: long enough that a poll made
/// while it is in flight is unmistakable.
const SPEND_WRITE_TAKES: Duration = Duration::from_millis(800);

/// Reads one HTTP/1.1 request with a `content-length` body (what the SDK sends DynamoDB).
async fn read_sdk_request(
    socket: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Option<(String, String)> {
    let head = read_head(socket, buffer).await?.to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    read_until(socket, buffer, |b| b.len() >= length).await?;
    let body = String::from_utf8_lossy(&buffer[..length]).into_owned();
    buffer.drain(..length);
    Some((head, body))
}

/// DynamoDB as the spend store sees it: `{}` to everything (no item yet, no attributes back),
/// the month's `UpdateItem` after [`SPEND_WRITE_TAKES`].
async fn serve_dynamodb(timeline: Arc<Mutex<Timeline>>, mut socket: TcpStream) {
    let mut buffer = Vec::new();
    while let Some((head, body)) = read_sdk_request(&mut socket, &mut buffer).await {
        if head.contains("dynamodb_20120810.updateitem") && body.contains("month#") {
            let arrived = tokio::time::Instant::now();
            tokio::time::sleep(SPEND_WRITE_TAKES).await;
            timeline.lock().unwrap().spend_write = Some((arrived, tokio::time::Instant::now()));
        }
        let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}";
        if socket.write_all(ok.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The Runtime API for the spend test: hands out `event` once, records the answer, and records
/// (and holds) the next poll.
async fn serve_one_invocation(
    timeline: Arc<Mutex<Timeline>>,
    event: Arc<String>,
    mut socket: TcpStream,
) {
    let mut buffer = Vec::new();
    loop {
        let Some(head) = read_head(&mut socket, &mut buffer).await else {
            return;
        };
        let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
        if path.ends_with("/invocation/next") {
            let first = {
                let mut t = timeline.lock().unwrap();
                if t.answered.is_some() {
                    t.next_poll.get_or_insert_with(tokio::time::Instant::now);
                    false
                } else {
                    true
                }
            };
            if !first {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 lambda-runtime-aws-request-id: spend-1\r\nlambda-runtime-deadline-ms: 99999999999999\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:router\r\n\
                 content-length: {}\r\n\r\n{event}",
                event.len()
            );
            if socket.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        } else if path.ends_with("/response") {
            let Some(body) = read_chunked_body(&mut socket, &mut buffer).await else {
                return;
            };
            timeline.lock().unwrap().answered = Some((body, tokio::time::Instant::now()));
            let ok = "HTTP/1.1 202 Accepted\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}";
            if socket.write_all(ok.as_bytes()).await.is_err() {
                return;
            }
        } else {
            return;
        }
    }
}

/// Runs the router binary for one budgeted team's chat completion with `SPEND_SETTLE_TIMEOUT_MS`
/// = `settle_ms`, and returns what the stand-ins saw once the router polled again.
async fn one_budgeted_answer(settle_ms: &str) -> Timeline {
    super::set_local_env();
    const KEY: &str = "sk-team-a-runtime-loop";
    let emulator = bedrock_emulator::Emulator::start(bedrock_emulator::Options::default())
        .await
        .expect("start the local Bedrock");
    let timeline = Arc::new(Mutex::new(Timeline::default()));

    let dynamodb = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let dynamodb_url = format!("http://{}", dynamodb.local_addr().expect("addr"));
    let dynamodb_timeline = Arc::clone(&timeline);
    let dynamodb_server = tokio::spawn(async move {
        while let Ok((socket, _)) = dynamodb.accept().await {
            tokio::spawn(serve_dynamodb(Arc::clone(&dynamodb_timeline), socket));
        }
    });

    let mut event: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../events/router/chat-completion-api-key.json"
    ))
    .expect("example event");
    event["headers"]["authorization"] = format!("Bearer {KEY}").into();
    event["body"] = serde_json::json!({
        "model": super::SONNET,
        "messages": [{"role": "user", "content": "hello"}],
        "max_completion_tokens": 50,
    })
    .to_string()
    .into();
    let event = Arc::new(event.to_string());
    let api = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let api_addr = api.local_addr().expect("addr");
    let api_timeline = Arc::clone(&timeline);
    let api_server = tokio::spawn(async move {
        while let Ok((socket, _)) = api.accept().await {
            tokio::spawn(serve_one_invocation(
                Arc::clone(&api_timeline),
                Arc::clone(&event),
                socket,
            ));
        }
    });

    let config = serde_json::json!({
        "models": [super::SONNET],
        "defaultRegion": super::REGION,
        "tenants": {"team-a": {
            "apiKeys": [shared::tenants::KeyHash::of(KEY).to_hex()],
            "budget": {"monthlyUsd": 100},
        }},
    });
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_router"))
        .env("AWS_LAMBDA_RUNTIME_API", api_addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "router")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env_remove("AWS_LAMBDA_MAX_CONCURRENCY")
        .env("PROFILES_CONFIG", config.to_string())
        .env_remove("PROFILES_CONFIG_FILE")
        .env_remove("ROUTER_API_KEYS_SECRET_ARN")
        .env("ROUTER_AUTH_MODE", "NONE")
        .env("SPEND_TABLE_NAME", "spend")
        .env("SPEND_SETTLE_TIMEOUT_MS", settle_ms)
        .env("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb_url)
        .env("AWS_ENDPOINT_URL_BEDROCK", emulator.url())
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the router binary");

    // Up to a minute for the answer, the write and the next poll.
    for _ in 0..600 {
        {
            let t = timeline.lock().unwrap();
            if t.next_poll.is_some() && t.spend_write.is_some() {
                break;
            }
        }
        if child.try_wait().expect("poll the router").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    api_server.abort();
    dynamodb_server.abort();
    std::mem::take(&mut *timeline.lock().unwrap())
}

#[tokio::test]
async fn on_demand_the_spend_write_is_made_after_the_answer_and_before_the_next_poll() {
    let t = one_budgeted_answer("2000").await;
    let (body, answered_at) = t.answered.expect("the invocation was answered");
    assert!(body.contains("chat.completion"), "{body}");
    let (write_started, write_done) = t.spend_write.expect("the spend was written");
    let next_poll = t.next_poll.expect("the router polled again");
    // The write is queued as the answer ends and may start while its last chunk is on the wire;
    // what matters is that the answer never waits for it.
    assert!(
        answered_at < write_done && answered_at < write_started + SPEND_WRITE_TAKES / 2,
        "the answer was held back by its spend write ({:?} after the write began)",
        answered_at - write_started
    );
    assert!(
        next_poll >= write_done,
        "the router polled (and could be frozen) {:?} before its spend write was answered",
        write_done - next_poll
    );
}

#[tokio::test]
async fn with_the_wait_off_the_router_polls_while_the_spend_write_is_in_flight() {
    // The control for the test above: the same run with SPEND_SETTLE_TIMEOUT_MS=0.
    let t = one_budgeted_answer("0").await;
    let (_, answered_at) = t.answered.expect("the invocation was answered");
    let (_, write_done) = t.spend_write.expect("the spend was written");
    let next_poll = t.next_poll.expect("the router polled again");
    assert!(next_poll >= answered_at);
    assert!(
        next_poll < write_done,
        "without the wait the next poll comes at once, while the write takes {SPEND_WRITE_TAKES:?}"
    );
}
