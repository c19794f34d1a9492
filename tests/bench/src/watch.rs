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
pub struct Conn {
    send: SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    pub async fn open(port: u16) -> Result<Self, BenchError> {
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

    pub async fn call(
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

/// `--only-lambda-apis` serves one function, named `_`.
const FUNCTION: &str = "_";
pub const CHAT: &str = "/lambda-url/_/v1/chat/completions";

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

/// `cargo lambda watch --only-lambda-apis` serves the Function URL and the Runtime API; the
/// release router binary (the same one the cold-start section runs) is started `concurrency`
/// times against it, so nothing is rebuilt with cargo-lambda's own settings.
fn start_watch(
    root: &Path,
    stack: &Stack,
    port: u16,
    concurrency: usize,
    out_dir: &Path,
) -> Result<(Watch, Vec<Instance>), BenchError> {
    let config = out_dir.join("watch-profiles.yaml");
    std::fs::write(&config, stack.profile_yaml())
        .map_err(|e| BenchError::io(config.display().to_string(), e))?;
    let log = out_dir.join("watch.log");
    let log_file =
        std::fs::File::create(&log).map_err(|e| BenchError::io(log.display().to_string(), e))?;
    let log_err = log_file
        .try_clone()
        .map_err(|e| BenchError::io(log.display().to_string(), e))?;
    let path = format!(
        "{}:{}",
        root.join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(root.join(".venv/bin/cargo-lambda"));
    cmd.current_dir(root)
        .args(["lambda", "watch", "--only-lambda-apis", "--ignore-changes"])
        .args(["-A", "127.0.0.1", "-P", &port.to_string()])
        .args(["--timeout", "60"])
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .process_group(0);
    let watch = Watch {
        child: cmd
            .spawn()
            .map_err(|e| BenchError::io(".venv/bin/cargo-lambda", e))?,
    };
    // The instances need the Runtime API listening, or they exit on their first poll.
    let listening = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if listening.elapsed() > Duration::from_secs(30) {
            return Err(BenchError::Timeout(format!(
                "cargo lambda watch listening on 127.0.0.1:{port} (see {})",
                log.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let binary = root.join("target/release/router");
    let mut instances = vec![];
    for _ in 0..concurrency {
        let child = Command::new(&binary)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &stack.url)
            .env("AWS_ENDPOINT_URL_BEDROCK", &stack.url)
            .env("PROFILES_CONFIG_FILE", &config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| BenchError::io(binary.display().to_string(), e))?;
        instances.push(Instance(child));
    }
    Ok((watch, instances))
}

/// One router process; killed when dropped.
struct Instance(Child);

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16, BenchError> {
    let l =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| BenchError::io("127.0.0.1:0", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| BenchError::io("127.0.0.1:0", e))
}

/// `cargo lambda watch` with its router instances, ready for calls; all stopped when dropped.
pub struct Session {
    // Fields drop in order: the router instances go before the runtime emulator.
    instances: Vec<Instance>,
    _watch: Watch,
    port: u16,
    /// Processes started to the first answered call.
    ready_ms: f64,
}

impl Session {
    /// Starts the runtime emulator and `instances` release routers; `None` when a tool or the
    /// release router is missing (the reason is printed), an error when nothing answers.
    pub async fn start(
        root: &Path,
        out_dir: &Path,
        stack: &Stack,
        instances: usize,
    ) -> Result<Option<Self>, BenchError> {
        match Self::start_within(root, out_dir, stack, instances, Duration::from_secs(60)).await? {
            Ok(session) => Ok(Some(session)),
            Err(reason) => {
                eprintln!("cargo lambda watch {reason}");
                Ok(None)
            }
        }
    }

    /// As [`Session::start`]; `Err(reason)` says why nothing could be measured.
    async fn start_within(
        root: &Path,
        out_dir: &Path,
        stack: &Stack,
        instances: usize,
        ready_within: Duration,
    ) -> Result<Result<Self, String>, BenchError> {
        if !root.join(".venv/bin/cargo-lambda").exists() {
            return Ok(Err(
                "not measured: .venv/bin/cargo-lambda is missing (bash scripts/setup-python.sh)"
                    .into(),
            ));
        }
        if !root.join("target/release/router").exists() {
            return Ok(Err(
                "not measured: target/release/router is missing (cargo build --release -p router)"
                    .into(),
            ));
        }
        let port = free_port()?;
        let (watch, instances) = start_watch(root, stack, port, instances, out_dir)?;
        // The first invocation proves the instances are polling.
        let ready = Instant::now();
        loop {
            let attempt = async {
                let mut conn = Conn::open(port).await?;
                chat(&mut conn).await
            };
            match tokio::time::timeout(Duration::from_secs(10), attempt).await {
                Ok(Ok(())) => break,
                _ if ready.elapsed() > ready_within => {
                    return Ok(Err(format!(
                        "not measured: no answer within {} s (see {})",
                        ready_within.as_secs(),
                        out_dir.join("watch.log").display()
                    )));
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
        Ok(Ok(Self {
            instances,
            _watch: watch,
            port,
            ready_ms: ready.elapsed().as_secs_f64() * 1e3,
        }))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn instance_pids(&self) -> Vec<u32> {
        self.instances.iter().map(|i| i.0.id()).collect()
    }
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
    let session =
        match Session::start_within(root, out_dir, stack, c.concurrency, c.ready_within).await? {
            Ok(session) => session,
            Err(reason) => {
                return Ok(vec![Row::new(s, "added latency p50", "ms").note(reason)]);
            }
        };
    let port = session.port;
    let start_ms = session.ready_ms;
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
            .note("runtime emulator and router processes started to first answer"),
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
                    "req/s at {callers} callers ({} router instances)",
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
