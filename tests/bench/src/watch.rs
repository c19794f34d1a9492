//! The router under the Lambda runtime emulator (`cargo lambda watch --concurrency N`), called
//! over loopback HTTP like a Function URL, beside direct SDK calls made in the same run.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::error::BenchError;
use crate::harness::{REGION, Stack, chat_body};
use crate::report::{Row, Target};
use crate::router_bench::direct_call;
use crate::stats::percentile;

/// The `cargo lambda watch` process group; killed whole when dropped.
struct Watch {
    child: Child,
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The group holds cargo-lambda, cargo and the function instances it started.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    send: SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    async fn open(port: u16) -> Result<Self, BenchError> {
        let host = format!("127.0.0.1:{port}");
        let stream = TcpStream::connect(&host)
            .await
            .map_err(|e| BenchError::io(host.clone(), e))?;
        let _ = stream.set_nodelay(true);
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| BenchError::Setup(format!("HTTP handshake with {host}: {e}")))?;
        tokio::spawn(conn);
        Ok(Self { send, host })
    }

    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
    ) -> Result<(u16, Bytes), BenchError> {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|e| BenchError::Setup(format!("request: {e}")))?;
        self.send
            .ready()
            .await
            .map_err(|e| BenchError::Setup(format!("connection: {e}")))?;
        let response = self
            .send
            .send_request(req)
            .await
            .map_err(|e| BenchError::Setup(format!("{path}: {e}")))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| BenchError::Setup(format!("{path} body: {e}")))?
            .to_bytes();
        Ok((status, body))
    }
}

const CHAT: &str = "/lambda-url/router/v1/chat/completions";

async fn chat(conn: &mut Conn) -> Result<(), BenchError> {
    let (status, body) = conn.call("POST", CHAT, &chat_body().to_string()).await?;
    if status != 200 {
        return Err(BenchError::BadAnswer {
            what: "the router under cargo lambda watch".into(),
            detail: format!("{status}: {}", String::from_utf8_lossy(&body)),
        });
    }
    Ok(())
}

fn start_watch(
    root: &Path,
    stack: &Stack,
    port: u16,
    concurrency: usize,
    out_dir: &Path,
) -> Result<Watch, BenchError> {
    let config = out_dir.join("watch-profiles.yaml");
    std::fs::write(&config, stack.profile_yaml())
        .map_err(|e| BenchError::io(config.display().to_string(), e))?;
    let log = out_dir.join("watch.log");
    let log_file =
        std::fs::File::create(&log).map_err(|e| BenchError::io(log.display().to_string(), e))?;
    let log_err = log_file
        .try_clone()
        .map_err(|e| BenchError::io(log.display().to_string(), e))?;
    let env = [
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", stack.url.clone()),
        ("AWS_ENDPOINT_URL_BEDROCK", stack.url.clone()),
        ("PROFILES_CONFIG_FILE", config.display().to_string()),
    ];
    let mut cmd = Command::new(root.join(".venv/bin/cargo-lambda"));
    cmd.current_dir(root)
        .args([
            "lambda",
            "watch",
            "--release",
            "--ignore-changes",
            "-A",
            "127.0.0.1",
        ])
        .args(["-P", &port.to_string()])
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--timeout", "60", "-p", "router", "--bin", "router"]);
    for (k, v) in &env {
        cmd.arg("--env-var").arg(format!("{k}={v}"));
        cmd.env(k, v);
    }
    let path = format!(
        "{}:{}",
        root.join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .process_group(0);
    let child = cmd
        .spawn()
        .map_err(|e| BenchError::io(".venv/bin/cargo-lambda", e))?;
    Ok(Watch { child })
}

fn free_port() -> Result<u16, BenchError> {
    let l =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| BenchError::io("127.0.0.1:0", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| BenchError::io("127.0.0.1:0", e))
}

/// Settings of the watch section.
pub struct WatchCounts {
    pub repeats: usize,
    pub latency_calls: usize,
    pub window: Duration,
    pub concurrency: usize,
    pub ready_within: Duration,
}

pub async fn watch(
    root: &Path,
    out_dir: &Path,
    stack: &Stack,
    c: WatchCounts,
) -> Result<Vec<Row>, BenchError> {
    let s = "router under cargo lambda watch";
    if !root.join(".venv/bin/cargo-lambda").exists() {
        return Ok(vec![Row::new(s, "added latency p50", "ms").note(
            "not measured: .venv/bin/cargo-lambda is missing (bash scripts/setup-python.sh)",
        )]);
    }
    let port = free_port()?;
    let _watch = start_watch(root, stack, port, c.concurrency, out_dir)?;
    // The first invocation starts (and may build) the function.
    let ready = Instant::now();
    loop {
        let attempt = async {
            let mut conn = Conn::open(port).await?;
            chat(&mut conn).await
        };
        match tokio::time::timeout(Duration::from_secs(120), attempt).await {
            Ok(Ok(())) => break,
            _ if ready.elapsed() > c.ready_within => {
                return Ok(vec![Row::new(s, "added latency p50", "ms").note(format!(
                    "not measured: no answer within {} s (see {})",
                    c.ready_within.as_secs(),
                    out_dir.join("watch.log").display()
                ))]);
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    let start_ms = ready.elapsed().as_secs_f64() * 1e3;
    let client = stack.runtime_client();
    let mut conn = Conn::open(port).await?;
    for _ in 0..10 {
        chat(&mut conn).await?;
    }
    let (mut w50, mut w99, mut d50, mut d99) = (vec![], vec![], vec![], vec![]);
    for _ in 0..c.repeats {
        let (mut via, mut direct) = (vec![], vec![]);
        for _ in 0..c.latency_calls {
            let t = Instant::now();
            chat(&mut conn).await?;
            via.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            direct_call(&client, &stack.profile_arn).await?;
            direct.push(t.elapsed().as_secs_f64() * 1e3);
        }
        w50.push(percentile(&via, 50.0));
        w99.push(percentile(&via, 99.0));
        d50.push(percentile(&direct, 50.0));
        d99.push(percentile(&direct, 99.0));
    }
    let diff = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<_>>();
    let mut rows = vec![
        Row::new(s, "first answer after start", "ms")
            .values(&[start_ms])
            .note("includes cargo's up-to-date check and the emulator's process start"),
        Row::new(s, "added latency p50", "ms")
            .values(&diff(&w50, &d50))
            .note("reported beside the handler's ≤ 0.15 ms target; not judged"),
        Row::new(s, "added latency p99", "ms").values(&diff(&w99, &d99)),
        Row::new(s, "p50 via watch", "ms")
            .values(&w50)
            .floor_with_ratio(&w50, &d50),
    ];
    for callers in [1usize, 16, 64] {
        let (mut rps, mut errors) = (vec![], 0);
        for _ in 0..c.repeats {
            let ok = Arc::new(AtomicU64::new(0));
            let bad = Arc::new(AtomicU64::new(0));
            let start = Instant::now();
            let deadline = start + c.window;
            let mut tasks = vec![];
            for _ in 0..callers {
                let (ok, bad) = (Arc::clone(&ok), Arc::clone(&bad));
                tasks.push(tokio::spawn(async move {
                    let Ok(mut conn) = Conn::open(port).await else {
                        bad.fetch_add(1, Ordering::Relaxed);
                        return;
                    };
                    while Instant::now() < deadline {
                        match chat(&mut conn).await {
                            Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                            Err(_) => bad.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                }));
            }
            for t in tasks {
                if t.await.is_err() {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
            }
            rps.push(ok.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64());
            errors += bad.load(Ordering::Relaxed);
        }
        rows.push(
            Row::new(
                s,
                format!(
                    "req/s at {callers} callers (--concurrency {})",
                    c.concurrency
                ),
                "req/s",
            )
            .values(&rps)
            .note(format!("{errors} errors")),
        );
        rows.push(
            Row::new(s, format!("errors at {callers} callers"), "errors")
                .values(&[errors as f64])
                .target(Target::at_most(0.0)),
        );
    }
    Ok(rows)
}
