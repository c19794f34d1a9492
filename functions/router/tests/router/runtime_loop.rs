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

/// Serves one keep-alive connection of the runtime client until it closes or is dropped.
async fn serve_connection(script: Arc<Script>, mut socket: TcpStream) {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(end) = find(&buffer, b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        buffer.drain(..head_end);
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
            // The streamed body is chunked; read to its last chunk.
            while find(&buffer, b"0\r\n\r\n").is_none() {
                let mut chunk = [0u8; 4096];
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            }
            let body = String::from_utf8_lossy(&buffer).into_owned();
            buffer.clear();
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
