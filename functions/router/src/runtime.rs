//! Serves the router on the Lambda Runtime API in the mode the environment sets, and keeps a
//! warm environment serving when one invocation's conversation with the Runtime API fails.
//!
//! One binary, two modes: Lambda (on demand) hands an environment one invocation at a time;
//! Lambda Managed Instances set `AWS_LAMBDA_MAX_CONCURRENCY` and send that many at once.
//! `lambda_runtime`'s concurrent runner (feature `concurrency-tokio`) reads the variable and runs
//! one poll loop per slot, or a single loop when it is unset or 1. The router's state is shared
//! by clones (`Arc`s, SDK clients made for it), so both modes serve the same handler.
//!
//! `lambda_runtime` ends a poll loop on any error from the Runtime API exchange, including a
//! failed write of a streamed response body (the caller hung up mid-stream and the runtime closed
//! the response connection). That invocation cannot be answered any more, but losing the loop
//! costs more: on demand, exiting throws away the warm SDK clients and pools and makes the next
//! caller pay a cold start; in concurrent mode, the runner goes on with one slot fewer, so every
//! lost caller would shrink the environment until nothing polls. So [`KeepServing`] turns a
//! failed exchange into a logged warning and the loop polls for the next invocation. A Runtime
//! API that fails again and again right away (polling `next` itself fails: the sandbox is shutting
//! down, or the address is wrong) ends the run; [`serve_until_unrecoverable`] restarts it unless
//! that happens immediately several times in a row, and then returns the error so the process
//! exits as `lambda_runtime` would have.
//!
//! On demand, Lambda freezes the environment as soon as it polls for the next invocation, and may
//! shut a frozen environment down without a word to the runtime. Work queued after an answer
//! (the spend write) would wait for the next thaw, or be lost. So in that mode [`KeepServing`]
//! runs an [`AfterInvocation`] hook once an invocation is answered and before the loop polls
//! again: the caller already has the whole answer, the wait is billed time only. On Managed
//! Instances the environment is never frozen between invocations, so no hook runs there.

use std::convert::Infallible;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use lambda_http::lambda_runtime::layers::TracingLayer;
use lambda_http::tower::{Layer, Service};
use lambda_http::{Request, Response};
use tokio::time::Instant;

type BoxError = lambda_http::Error;

/// Work that runs after each invocation is answered, before the next poll (on demand only).
pub type AfterInvocation = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// Whether Lambda hands this environment several invocations at once: `AWS_LAMBDA_MAX_CONCURRENCY`
/// above 1, read as `lambda_runtime` reads it.
pub fn is_concurrent(max_concurrency: Option<&str>) -> bool {
    max_concurrency
        .and_then(|v| v.parse::<u32>().ok())
        .is_some_and(|n| n > 1)
}

/// Serves `handler` with streamed responses until the Runtime API is unreachable: one invocation
/// at a time, running `after_each` between them, or `AWS_LAMBDA_MAX_CONCURRENCY` at once when
/// Lambda sets it above 1 (then `after_each` is not used).
pub async fn serve<S, B>(handler: S, after_each: Option<AfterInvocation>) -> Result<(), BoxError>
where
    S: Service<Request, Response = Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Unpin + Send + 'static,
    B::Data: Into<bytes::Bytes> + Send,
    B::Error: Into<BoxError> + Send + std::fmt::Debug,
{
    let concurrent = is_concurrent(std::env::var("AWS_LAMBDA_MAX_CONCURRENCY").ok().as_deref());
    let after = if concurrent { None } else { after_each };
    serve_until_unrecoverable(|| {
        lambda_http::streaming_runtime_concurrent(handler.clone())
            .layer(TracingLayer::new())
            .layer(KeepServingLayer(after.clone()))
            .run_concurrent()
    })
    .await
}

/// Wraps the runtime's service (handler plus the Runtime API exchange) in [`KeepServing`], with
/// the hook to run after each invocation, if any.
#[derive(Clone, Default)]
pub struct KeepServingLayer(pub Option<AfterInvocation>);

impl<S> Layer<S> for KeepServingLayer {
    type Service = KeepServing<S>;

    fn layer(&self, inner: S) -> Self::Service {
        KeepServing {
            inner,
            after: self.0.clone(),
        }
    }
}

/// A failed Runtime API exchange for one invocation is logged and counted as handled, so the
/// poll loop that served it goes on (see the module documentation); then the
/// [`AfterInvocation`] hook runs, answered or not, before the loop polls again.
#[derive(Clone)]
pub struct KeepServing<S> {
    inner: S,
    after: Option<AfterInvocation>,
}

type Outcome = Result<(), BoxError>;

fn keep_serving(outcome: Outcome) -> Outcome {
    if let Err(error) = outcome {
        // The error is the Runtime API transport's; it never carries request content.
        tracing::warn!(%error, "an invocation's Runtime API exchange failed; polling for the next invocation");
    }
    Ok(())
}

impl<S, R> Service<R> for KeepServing<S>
where
    S: Service<R, Response = (), Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = ();
    type Error = BoxError;
    type Future = BoxFuture<'static, Outcome>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: R) -> Self::Future {
        let answered = self.inner.call(invocation);
        let after = self.after.clone();
        async move {
            let outcome = keep_serving(answered.await);
            if let Some(after) = after {
                after().await;
            }
            outcome
        }
        .boxed()
    }
}

/// A run that ends sooner than this after it started counts as an immediate failure.
pub const QUICK_FAILURE: Duration = Duration::from_secs(1);

/// Immediate failures in a row after which the Runtime API is taken to be gone.
pub const QUICK_FAILURES_TO_GIVE_UP: u32 = 3;

/// Runs `serve` until it returns `Ok`, or until it has failed immediately
/// [`QUICK_FAILURES_TO_GIVE_UP`] times in a row; returns that last error. Each restart is logged
/// with the error (which never carries request content: it is the Runtime API transport's).
pub async fn serve_until_unrecoverable<F, Fut, E>(mut serve: F) -> Result<(), E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let mut quick_failures = 0;
    loop {
        let started = Instant::now();
        let Err(error) = serve().await else {
            return Ok(());
        };
        if started.elapsed() < QUICK_FAILURE {
            quick_failures += 1;
        } else {
            quick_failures = 0;
        }
        if quick_failures >= QUICK_FAILURES_TO_GIVE_UP {
            tracing::error!(%error, quick_failures, "the Lambda Runtime API keeps failing; exiting");
            return Err(error);
        }
        tracing::warn!(%error, "an invocation's Runtime API exchange failed; polling for the next invocation");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A stand-in for the handler plus Runtime API exchange: answers after `took`, or fails.
    fn exchange(
        log: Arc<std::sync::Mutex<Vec<&'static str>>>,
        took: Duration,
        fails: bool,
    ) -> impl Service<(), Response = (), Error = BoxError, Future = BoxFuture<'static, Outcome>> + Clone
    {
        lambda_http::tower::service_fn(move |()| {
            let log = Arc::clone(&log);
            async move {
                tokio::time::sleep(took).await;
                log.lock().unwrap().push("answered");
                if fails {
                    Err::<(), BoxError>("the response connection closed".into())
                } else {
                    Ok(())
                }
            }
            .boxed()
        })
    }

    fn recording_hook(log: Arc<std::sync::Mutex<Vec<&'static str>>>) -> AfterInvocation {
        Arc::new(move || {
            let log = Arc::clone(&log);
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                log.lock().unwrap().push("after");
            }
            .boxed()
        })
    }

    #[tokio::test(start_paused = true)]
    async fn the_hook_runs_after_the_answer_and_before_the_invocation_ends() {
        for fails in [false, true] {
            let log = Arc::new(std::sync::Mutex::new(vec![]));
            let mut service = KeepServingLayer(Some(recording_hook(Arc::clone(&log))))
                .layer(exchange(Arc::clone(&log), Duration::from_millis(20), fails));
            let outcome = service.call(()).await;
            assert!(outcome.is_ok(), "a failed exchange is logged, not returned");
            assert_eq!(
                *log.lock().unwrap(),
                ["answered", "after"],
                "fails: {fails}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_hook_the_invocation_ends_with_its_answer() {
        let log = Arc::new(std::sync::Mutex::new(vec![]));
        let mut service =
            KeepServingLayer(None).layer(exchange(Arc::clone(&log), Duration::ZERO, false));
        service.call(()).await.unwrap();
        assert_eq!(*log.lock().unwrap(), ["answered"]);
    }

    #[test]
    fn the_mode_is_read_as_lambda_runtime_reads_it() {
        assert!(!is_concurrent(None));
        assert!(!is_concurrent(Some("1")));
        assert!(!is_concurrent(Some("0")));
        assert!(!is_concurrent(Some("eight")));
        assert!(is_concurrent(Some("2")));
        assert!(is_concurrent(Some("64")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_clean_end_returns_at_once() {
        let runs = Cell::new(0);
        let result: Result<(), String> = serve_until_unrecoverable(|| {
            runs.set(runs.get() + 1);
            async { Ok(()) }
        })
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(runs.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn immediate_failures_in_a_row_give_up_with_the_last_error() {
        let runs = Cell::new(0);
        let result = serve_until_unrecoverable(|| {
            runs.set(runs.get() + 1);
            let n = runs.get();
            async move { Err::<(), _>(format!("refused #{n}")) }
        })
        .await;
        assert_eq!(result, Err("refused #3".to_owned()));
        assert_eq!(runs.get(), QUICK_FAILURES_TO_GIVE_UP);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_after_serving_a_while_restarts_the_loop() {
        // Runs 1-5 serve for a minute each before a caller-side failure: each is restarted.
        // Runs 6-8 fail at once: the third of them gives up.
        let runs = Cell::new(0);
        let result = serve_until_unrecoverable(|| {
            runs.set(runs.get() + 1);
            let n = runs.get();
            async move {
                if n <= 5 {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                Err::<(), _>(format!("failure #{n}"))
            }
        })
        .await;
        assert_eq!(result, Err("failure #8".to_owned()));
        assert_eq!(runs.get(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_run_between_quick_failures_resets_the_count() {
        // quick, quick, long, quick, then a clean end: the long run broke the streak.
        let runs = Cell::new(0);
        let result = serve_until_unrecoverable(|| {
            runs.set(runs.get() + 1);
            let n = runs.get();
            async move {
                match n {
                    3 => {
                        tokio::time::sleep(QUICK_FAILURE * 2).await;
                        Err("long".to_owned())
                    }
                    5 => Ok(()),
                    _ => Err(format!("quick #{n}")),
                }
            }
        })
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(runs.get(), 5);
    }

    /// Concurrent mode, end to end in a process of its own (the mode is read from the
    /// environment, which a test must not change in its own process): a fake Runtime API hands
    /// out four invocations whose handler only answers once all four are running at once, cuts
    /// the connection on one response, then hands out four more. Sequential polling, or a slot
    /// lost to the cut connection, leaves the handlers waiting and the test times out.
    mod concurrent_mode {
        use super::super::serve;
        use std::collections::HashMap;
        use std::convert::Infallible;
        use std::sync::Arc;
        use std::time::Duration;
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        use tokio::net::{TcpListener, TcpStream};
        use tokio::sync::{Mutex, mpsc};

        const SLOTS: usize = 4;
        const CHILD: &str = "runtime::tests::concurrent_mode::serves_as_the_child_process";
        const EVENT: &str = include_str!("../../../events/router/health.json");
        /// The invocation whose response connection the fake Runtime API cuts.
        const CUT: &str = "round1-0";

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "started by every_slot_serves_at_once_and_survives_a_cut_response in its own process"]
        async fn serves_as_the_child_process() {
            let all_running = Arc::new(tokio::sync::Barrier::new(SLOTS));
            let handler = lambda_http::service_fn(move |_request: lambda_http::Request| {
                let all_running = Arc::clone(&all_running);
                async move {
                    all_running.wait().await;
                    Ok::<_, Infallible>(lambda_http::Response::new(lambda_http::Body::from(
                        "served",
                    )))
                }
            });
            serve(handler, None).await.unwrap();
        }

        /// The child process, killed however the test ends.
        struct Killed(std::process::Child);

        impl Drop for Killed {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }

        struct Api {
            events: Mutex<mpsc::Receiver<String>>,
            answered: mpsc::UnboundedSender<String>,
        }

        /// Reads one request: its head (request line and lower-cased headers) and whole body.
        async fn read_request(
            socket: &mut TcpStream,
            buffer: &mut Vec<u8>,
        ) -> Option<(String, HashMap<String, String>)> {
            let head_end = loop {
                if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
                let mut chunk = [0u8; 4096];
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            };
            let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
            buffer.drain(..head_end);
            let mut lines = head.lines();
            let line = lines.next()?.to_owned();
            let headers: HashMap<String, String> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            Some((line, headers))
        }

        async fn skip_body(
            socket: &mut TcpStream,
            buffer: &mut Vec<u8>,
            headers: &HashMap<String, String>,
        ) -> Option<()> {
            let done = |b: &[u8]| match headers.get("content-length") {
                Some(n) => b.len() >= n.parse::<usize>().unwrap_or(0),
                None if headers.get("transfer-encoding").is_some() => {
                    b.starts_with(b"0\r\n\r\n") || b.windows(7).any(|w| w == b"\r\n0\r\n\r\n")
                }
                None => true,
            };
            while !done(buffer) {
                let mut chunk = [0u8; 4096];
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            buffer.clear();
            Some(())
        }

        async fn connection(api: Arc<Api>, mut socket: TcpStream) -> Option<()> {
            let mut buffer = vec![];
            loop {
                let (line, headers) = read_request(&mut socket, &mut buffer).await?;
                let path = line.split_whitespace().nth(1)?.to_owned();
                if path.ends_with("/invocation/next") {
                    let id = api.events.lock().await.recv().await?;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: {id}\r\nlambda-runtime-deadline-ms: 99999999999999\r\nlambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:router\r\ncontent-length: {}\r\n\r\n{EVENT}",
                        EVENT.len()
                    );
                    socket.write_all(reply.as_bytes()).await.ok()?;
                } else if let Some(id) = path
                    .strip_suffix("/response")
                    .and_then(|p| p.rsplit('/').next())
                {
                    if id == CUT {
                        // The caller hung up: the response connection is gone.
                        return None;
                    }
                    skip_body(&mut socket, &mut buffer, &headers).await?;
                    socket
                        .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                        .await
                        .ok()?;
                    let _ = api.answered.send(id.to_owned());
                } else {
                    skip_body(&mut socket, &mut buffer, &headers).await?;
                    socket
                        .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                        .await
                        .ok()?;
                }
            }
        }

        #[tokio::test]
        async fn every_slot_serves_at_once_and_survives_a_cut_response() {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (events, events_rx) = mpsc::channel(SLOTS * 2);
            let (answered_tx, mut answered) = mpsc::unbounded_channel();
            let api = Arc::new(Api {
                events: Mutex::new(events_rx),
                answered: answered_tx,
            });
            let server = tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let _ = socket.set_nodelay(true);
                    tokio::spawn(connection(Arc::clone(&api), socket));
                }
            });
            let mut child = Killed(
                std::process::Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", CHILD, "--ignored", "--test-threads=1"])
                    .env_clear()
                    .env("PATH", "/usr/bin:/bin")
                    .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
                    .env("AWS_LAMBDA_MAX_CONCURRENCY", SLOTS.to_string())
                    .env("AWS_LAMBDA_FUNCTION_NAME", "router")
                    .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
                    .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                    .env("AWS_REGION", "us-east-1")
                    .env("AWS_EC2_METADATA_DISABLED", "true")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap(),
            );
            let mut got = vec![];
            for round in ["round1", "round2"] {
                for i in 0..SLOTS {
                    events.send(format!("{round}-{i}")).await.unwrap();
                }
                let expected = if round == "round1" { SLOTS - 1 } else { SLOTS };
                for _ in 0..expected {
                    let id = tokio::time::timeout(Duration::from_secs(30), answered.recv())
                        .await
                        .unwrap_or_else(|_| {
                            panic!("{round}: only {got:?} answered; the slots did not all serve at once")
                        })
                        .unwrap();
                    got.push(id);
                }
            }
            got.sort();
            assert_eq!(
                got,
                [
                    "round1-1", "round1-2", "round1-3", "round2-0", "round2-1", "round2-2",
                    "round2-3"
                ]
            );
            assert!(
                child.0.try_wait().unwrap().is_none(),
                "the router process is still serving"
            );
            server.abort();
        }
    }
}
