//! Cold start and memory of each release bootstrap, served by a minimal Lambda Runtime API:
//! `GET /2018-06-01/runtime/invocation/next` hands out one event at a time and the
//! `response`/`error` routes take the answer. The same server stands in for the two other
//! endpoints the functions call besides Bedrock: CloudWatch Logs (empty results) and the
//! CloudFormation response URL.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::BenchError;
use crate::harness::Stack;
use crate::report::{Row, Target};

const RUNTIME_PREFIX: &str = "/2018-06-01/runtime/";

/// What the function did with an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response,
    Error(String),
    InitError(String),
}

#[derive(Debug)]
pub struct Answer {
    pub request_id: String,
    pub outcome: Outcome,
    /// When the whole answer had arrived.
    pub at: Instant,
    /// When the function's poll for `next` was handed this event.
    pub handed_out: Option<Instant>,
    /// A streamed answer: when its first body byte (after the prelude and its delimiter) came.
    pub first_byte: Option<Instant>,
}

struct Shared {
    events: Mutex<mpsc::Receiver<(String, String)>>,
    answers: mpsc::UnboundedSender<Answer>,
    /// When the function first asked for an event: the end of its init, as Lambda counts it.
    first_poll: std::sync::Mutex<Option<Instant>>,
    /// When the function last asked for an event: after an answer, the end of what Lambda bills.
    last_poll: std::sync::Mutex<Option<Instant>>,
    /// When each event in flight was handed out, by request id.
    handed_out: std::sync::Mutex<HashMap<String, Instant>>,
    /// Callers waiting for one request's answer ([`RuntimeApi::invoke_shared`]); other answers
    /// go to the `answers` channel.
    waiters: std::sync::Mutex<HashMap<String, oneshot::Sender<Answer>>>,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn answered(&self, mut answer: Answer) {
        answer.handed_out = lock(&self.handed_out).remove(&answer.request_id);
        match lock(&self.waiters).remove(&answer.request_id) {
            Some(waiter) => {
                let _ = waiter.send(answer);
            }
            None => {
                let _ = self.answers.send(answer);
            }
        }
    }
}

/// The 8 NUL bytes that end a streamed response's JSON prelude (`statusCode`, `headers`,
/// `cookies`); what follows is the body the caller receives. JSON text never holds a NUL byte.
const PRELUDE_END: [u8; 8] = [0; 8];

/// A streamed response as the Runtime API receives it: the prelude's status and when the first
/// body byte arrived.
#[derive(Debug, Default)]
struct StreamedBody {
    streaming: bool,
    bytes: Vec<u8>,
    body_start: Option<usize>,
    first_byte: Option<Instant>,
}

impl StreamedBody {
    fn feed(&mut self, data: &[u8], now: Instant) {
        self.bytes.extend_from_slice(data);
        if self.streaming && self.body_start.is_none() {
            self.body_start = self
                .bytes
                .windows(PRELUDE_END.len())
                .position(|w| w == PRELUDE_END)
                .map(|p| p + PRELUDE_END.len());
        }
        if self.first_byte.is_none() && self.body_start.is_some_and(|s| self.bytes.len() > s) {
            self.first_byte = Some(now);
        }
    }

    /// The prelude's `statusCode`, when the prelude is complete and says one.
    fn status(&self) -> Option<u16> {
        let end = self.body_start? - PRELUDE_END.len();
        let prelude: Value = serde_json::from_slice(&self.bytes[..end]).ok()?;
        prelude["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
    }

    fn body_text(&self) -> String {
        let start = self.body_start.unwrap_or(0).min(self.bytes.len());
        String::from_utf8_lossy(&self.bytes[start..])
            .chars()
            .take(300)
            .collect()
    }
}

/// A running Runtime API on loopback.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    events: mpsc::Sender<(String, String)>,
    answers: mpsc::UnboundedReceiver<Answer>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Which route a request is for.
#[derive(Debug, PartialEq)]
enum RouteKind<'a> {
    Next,
    Response(&'a str),
    Error(&'a str),
    InitError,
    /// CloudWatch Logs JSON (by its `X-Amz-Target`) or the CloudFormation response URL.
    Other,
}

fn route(path: &str) -> RouteKind<'_> {
    let Some(rest) = path.strip_prefix(RUNTIME_PREFIX) else {
        return RouteKind::Other;
    };
    if rest == "invocation/next" {
        return RouteKind::Next;
    }
    if rest == "init/error" {
        return RouteKind::InitError;
    }
    if let Some(tail) = rest.strip_prefix("invocation/") {
        if let Some(id) = tail.strip_suffix("/response") {
            return RouteKind::Response(id);
        }
        if let Some(id) = tail.strip_suffix("/error") {
            return RouteKind::Error(id);
        }
    }
    RouteKind::Other
}

/// The API key the bench's tenant `team-a` is given through the Secrets Manager answer.
pub const BENCH_API_KEY: &str = "bench-api-key-for-team-a";
const BENCH_SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-router-keys-AbCdEf";

/// The secret's id as the router is told it (`ROUTER_API_KEYS_SECRET_ARN`).
pub fn bench_secret_arn() -> &'static str {
    BENCH_SECRET_ARN
}

/// Answers to the JSON-protocol AWS calls the functions make besides Bedrock, by
/// `X-Amz-Target`: CloudWatch Logs for an empty log group, Secrets Manager with the router's
/// key hashes (`{tenant: [sha256 hex]}`), and `{}` for the rest (DynamoDB: no item yet, an
/// update without returned attributes; CloudWatch metrics).
fn service_answer(target: &str) -> String {
    if target.ends_with(".FilterLogEvents") {
        r#"{"events":[],"searchedLogStreams":[]}"#.into()
    } else if target.ends_with(".DescribeLogGroups") {
        r#"{"logGroups":[]}"#.into()
    } else if target == "secretsmanager.GetSecretValue" {
        use sha2::Digest as _;
        let hash: String = sha2::Sha256::digest(BENCH_API_KEY.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        serde_json::json!({
            "ARN": BENCH_SECRET_ARN,
            "Name": "bench-router-keys",
            "SecretString": serde_json::json!({"team-a": [hash]}).to_string(),
        })
        .to_string()
    } else {
        "{}".into()
    }
}

fn reply(status: u16, body: impl Into<Bytes>) -> http::Response<Full<Bytes>> {
    let mut r = http::Response::new(Full::new(body.into()));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

async fn serve(shared: Arc<Shared>, req: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let streaming = req
        .headers()
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"streaming"));
    // Read whole bodies (streamed responses included) before answering, noting when a streamed
    // body's first byte came.
    let mut streamed = StreamedBody {
        streaming,
        ..StreamedBody::default()
    };
    let mut failed = None;
    let mut incoming = req.into_body();
    while let Some(frame) = incoming.frame().await {
        match frame {
            Ok(frame) => match frame.into_data() {
                Ok(data) => streamed.feed(&data, Instant::now()),
                Err(frame) => {
                    // Trailers: how a streamed response reports a failure after its prelude.
                    if let Some(kind) = frame
                        .trailers_ref()
                        .and_then(|t| t.get("lambda-runtime-function-error-type"))
                    {
                        failed.get_or_insert(format!(
                            "stream ended with {}",
                            kind.to_str().unwrap_or("an error")
                        ));
                    }
                }
            },
            Err(e) => {
                failed.get_or_insert(format!("unreadable body: {e}"));
                break;
            }
        }
    }
    let at = Instant::now();
    let text = String::from_utf8_lossy(&streamed.bytes).into_owned();
    match route(&path) {
        RouteKind::Next => {
            lock(&shared.first_poll).get_or_insert(at);
            *lock(&shared.last_poll) = Some(at);
            let next = shared.events.lock().await.recv().await;
            let Some((id, event)) = next else {
                return reply(410, "{}");
            };
            lock(&shared.handed_out).insert(id.clone(), Instant::now());
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() + 300_000)
                .unwrap_or(0);
            let mut r = reply(200, event);
            let h = r.headers_mut();
            let put = |h: &mut http::HeaderMap, k: &'static str, v: String| {
                if let Ok(v) = http::HeaderValue::from_str(&v) {
                    h.insert(k, v);
                }
            };
            put(h, "lambda-runtime-aws-request-id", id);
            put(h, "lambda-runtime-deadline-ms", deadline.to_string());
            put(
                h,
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
            );
            put(
                h,
                "lambda-runtime-trace-id",
                "Root=1-65f0c1a2-0123456789abcdef01234567;Sampled=0".into(),
            );
            r
        }
        RouteKind::Response(id) | RouteKind::Error(id) => {
            let is_response = matches!(route(&path), RouteKind::Response(_));
            let status = streaming.then(|| streamed.status());
            let outcome = match (is_response, failed, status) {
                (false, _, _) => Outcome::Error(text.chars().take(300).collect()),
                (true, Some(e), _) => Outcome::Error(e),
                // A Function URL answer that is an HTTP error is a failed call, not a response.
                (true, None, Some(Some(status))) if status >= 400 => {
                    Outcome::Error(format!("HTTP {status}: {}", streamed.body_text()))
                }
                (true, None, Some(None)) => {
                    Outcome::Error("a streamed response without a readable prelude".into())
                }
                (true, None, _) => Outcome::Response,
            };
            shared.answered(Answer {
                request_id: id.to_owned(),
                outcome,
                at,
                handed_out: None,
                first_byte: streamed.first_byte,
            });
            reply(202, r#"{"status":"OK"}"#)
        }
        RouteKind::InitError => {
            shared.answered(Answer {
                request_id: String::new(),
                outcome: Outcome::InitError(text.chars().take(300).collect()),
                at,
                handed_out: None,
                first_byte: None,
            });
            reply(202, r#"{"status":"OK"}"#)
        }
        RouteKind::Other if !target.is_empty() => reply(200, service_answer(&target)),
        RouteKind::Other => reply(200, ""),
    }
}

impl RuntimeApi {
    pub async fn start() -> Result<Self, BenchError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| BenchError::io("127.0.0.1:0", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| BenchError::io("runtime API socket", e))?;
        let (events_tx, events_rx) = mpsc::channel(1);
        let (answers_tx, answers_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(events_rx),
            answers: answers_tx,
            first_poll: std::sync::Mutex::new(None),
            last_poll: std::sync::Mutex::new(None),
            handed_out: std::sync::Mutex::new(HashMap::new()),
            waiters: std::sync::Mutex::new(HashMap::new()),
        });
        let serving = Arc::clone(&shared);
        let server = tokio::spawn(async move {
            let shared = serving;
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, Infallible>(serve(shared, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            events: events_tx,
            answers: answers_rx,
            shared,
            server,
        })
    }

    /// When the function first polled for an event (its init ended), if it has.
    pub fn first_poll(&self) -> Option<Instant> {
        *lock(&self.shared.first_poll)
    }

    /// When the function last polled for an event, if it has.
    pub fn last_poll(&self) -> Option<Instant> {
        *lock(&self.shared.last_poll)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Hands out one event and waits for its answer.
    pub async fn invoke(
        &mut self,
        id: &str,
        event: &str,
        wait: Duration,
    ) -> Result<Answer, BenchError> {
        self.events
            .send((id.to_owned(), event.to_owned()))
            .await
            .map_err(|_| BenchError::Setup("the runtime API stopped".into()))?;
        let answer = tokio::time::timeout(wait, self.answers.recv())
            .await
            .map_err(|_| BenchError::Timeout(format!("the answer to invocation {id}")))?
            .ok_or_else(|| BenchError::Setup("the runtime API stopped".into()))?;
        init_failed(answer)
    }

    /// Hands out one event and waits for its answer, alongside other calls of this method: for
    /// a function that takes several invocations at once. Init errors reach the plain
    /// [`RuntimeApi::invoke`]'s channel, so a caller here sees a failed init as a timeout.
    pub async fn invoke_shared(
        &self,
        id: &str,
        event: &str,
        wait: Duration,
    ) -> Result<Answer, BenchError> {
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.waiters).insert(id.to_owned(), tx);
        self.events
            .send((id.to_owned(), event.to_owned()))
            .await
            .map_err(|_| BenchError::Setup("the runtime API stopped".into()))?;
        let answer = tokio::time::timeout(wait, rx).await;
        lock(&self.shared.waiters).remove(id);
        let answer = answer
            .map_err(|_| BenchError::Timeout(format!("the answer to invocation {id}")))?
            .map_err(|_| BenchError::Setup("the runtime API stopped".into()))?;
        init_failed(answer)
    }
}

fn init_failed(answer: Answer) -> Result<Answer, BenchError> {
    if let Outcome::InitError(e) = &answer.outcome {
        return Err(BenchError::BadAnswer {
            what: "the function's init".into(),
            detail: e.clone(),
        });
    }
    Ok(answer)
}

/// A function under test: its binary, environment and the event it is sent.
pub struct Function {
    pub name: &'static str,
    pub env: Vec<(String, String)>,
    pub event: String,
}

/// Kills the child when dropped, whatever happened.
pub(crate) struct Reaped(pub(crate) Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    crate::cpu::status_kib(&status, "VmRSS")
}

/// One cold start: spawn → first answer, then `requests - 1` more, then VmRSS.
pub(crate) struct Life {
    pub(crate) cold_ms: f64,
    pub(crate) rss_mib: Option<f64>,
    pub(crate) errors: usize,
    pub(crate) first_error: Option<String>,
}

/// The process Lambda would start for `f`: the deployed environment, pointed at `api`.
/// `program` is the bootstrap itself, or a wrapper that execs it with `args`.
pub(crate) fn lambda_command(
    program: &Path,
    args: &[&std::ffi::OsStr],
    f: &Function,
    api: &RuntimeApi,
) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", f.name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", f.name),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_REGION", crate::harness::REGION)
        .env("AWS_DEFAULT_REGION", crate::harness::REGION)
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(f.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

pub(crate) async fn one_life(
    binary: &Path,
    f: &Function,
    api: &mut RuntimeApi,
    requests: usize,
) -> Result<Life, BenchError> {
    let mut cmd = lambda_command(binary, &[], f, api);
    let start = Instant::now();
    let child = Reaped(
        cmd.spawn()
            .map_err(|e| BenchError::io(binary.display().to_string(), e))?,
    );
    let pid = child.0.id();
    let mut errors = 0;
    let mut first_error = None;
    let mut cold_ms = f64::NAN;
    for i in 0..requests.max(1) {
        let id = format!("bench-{pid}-{i}");
        let answer = api.invoke(&id, &f.event, Duration::from_secs(30)).await?;
        if i == 0 {
            cold_ms = (answer.at - start).as_secs_f64() * 1e3;
        }
        if answer.request_id != id {
            return Err(BenchError::BadAnswer {
                what: f.name.into(),
                detail: format!("an answer for {} while {id} was asked", answer.request_id),
            });
        }
        if let Outcome::Error(e) = answer.outcome {
            errors += 1;
            first_error.get_or_insert(e);
        }
    }
    let rss_mib = vm_rss_kib(pid).map(|k| k as f64 / 1024.0);
    drop(child);
    Ok(Life {
        cold_ms,
        rss_mib,
        errors,
        first_error,
    })
}

/// The three functions as deployed, pointed at the local stack.
pub fn functions(
    root: &Path,
    stack: &Stack,
    api: &RuntimeApi,
) -> Result<Vec<Function>, BenchError> {
    let read = |p: &str| {
        let path = root.join(p);
        std::fs::read_to_string(&path).map_err(|e| BenchError::io(path.display().to_string(), e))
    };
    let endpoint = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let mut provisioner_event: Value =
        serde_json::from_str(&read("events/provisioner/delete.json")?)
            .map_err(|e| BenchError::Setup(format!("events/provisioner/delete.json: {e}")))?;
    provisioner_event["ResponseURL"] =
        Value::String(format!("{}/cloudformation-response", api.url()));
    Ok(vec![
        Function {
            name: "router",
            env: vec![
                endpoint("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &stack.url),
                endpoint("AWS_ENDPOINT_URL_BEDROCK", &stack.url),
                endpoint("PROFILES_CONFIG", &stack.profile_yaml()),
            ],
            event: router_event(
                &read("events/router/chat-completion.json")?,
                "/v1/chat/completions",
                None,
            )?,
        },
        Function {
            name: "verifier",
            env: vec![
                endpoint("AWS_ENDPOINT_URL_BEDROCK", &stack.url),
                endpoint("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", &api.url()),
                endpoint("AWS_ENDPOINT_URL_CLOUDWATCH", &api.url()),
                endpoint("PROFILES_CONFIG", &stack.profile_yaml()),
                endpoint("LOGS_REQUESTS_PER_SECOND", "100"),
                endpoint("DOCTOR", "false"),
            ],
            event: read("events/verifier/scheduled.json")?,
        },
        Function {
            name: "provisioner",
            env: vec![endpoint("AWS_ENDPOINT_URL_BEDROCK", &stack.url)],
            event: provisioner_event.to_string(),
        },
    ])
}

/// A Function URL event from `template` (one of `events/router/`) carrying `body`, or the
/// template's own body, on `path`, asking for the model the bench's profile serves: the sample
/// events name the product's example model, which the bench's router does not map.
pub fn router_event(template: &str, path: &str, body: Option<Value>) -> Result<String, BenchError> {
    let mut e: Value = serde_json::from_str(template)
        .map_err(|e| BenchError::Setup(format!("router event: {e}")))?;
    let mut body = match body {
        Some(b) => b,
        None => serde_json::from_str(e["body"].as_str().unwrap_or("{}"))
            .map_err(|e| BenchError::Setup(format!("router event body: {e}")))?,
    };
    body["model"] = Value::String(crate::harness::MODEL.to_owned());
    e["body"] = Value::String(body.to_string());
    e["isBase64Encoded"] = Value::Bool(false);
    e["rawPath"] = Value::String(path.to_owned());
    e["requestContext"]["http"]["path"] = Value::String(path.to_owned());
    Ok(e.to_string())
}

/// Cold start and resident memory per function. Each life gets a fresh Runtime API, so an
/// event can never go to a `next` poll left behind by a killed process.
pub async fn cold_start(
    root: &Path,
    stack: &Stack,
    repeats: usize,
    requests: usize,
) -> Result<Vec<Row>, BenchError> {
    let mut rows = vec![];
    let s = "cold start (release bootstrap)";
    for (index, name) in ["router", "verifier", "provisioner"]
        .into_iter()
        .enumerate()
    {
        let binary = root.join("target/release").join(name);
        if !binary.exists() {
            rows.push(
                Row::new(s, format!("{name} spawn → first answer"), "ms").note(format!(
                    "not measured: {} is missing (cargo build --release -p {name})",
                    binary.display()
                )),
            );
            continue;
        }
        let (mut cold, mut rss, mut errors, mut first_error) = (vec![], vec![], 0, None);
        for _ in 0..repeats {
            let mut api = RuntimeApi::start().await?;
            let mut all = functions(root, stack, &api)?;
            let f = all.swap_remove(index);
            let life = one_life(&binary, &f, &mut api, requests).await?;
            cold.push(life.cold_ms);
            if let Some(r) = life.rss_mib {
                rss.push(r);
            }
            errors += life.errors;
            if first_error.is_none() {
                first_error = life.first_error;
            }
        }
        let answered = match &first_error {
            None => "every invocation answered with a response".to_owned(),
            Some(e) => format!("{errors} answered with an error, first: {e}"),
        };
        rows.push(
            Row::new(s, format!("{name} spawn → first answer"), "ms")
                .values(&cold)
                .target(Target::at_most(40.0))
                .note(answered),
        );
        rows.push(
            Row::new(s, format!("{name} VmRSS after {requests} requests"), "MiB")
                .values(&rss)
                .target(Target::at_most(20.0)),
        );
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_routes_are_told_apart() {
        assert_eq!(
            route("/2018-06-01/runtime/invocation/next"),
            RouteKind::Next
        );
        assert_eq!(
            route("/2018-06-01/runtime/invocation/abc/response"),
            RouteKind::Response("abc")
        );
        assert_eq!(
            route("/2018-06-01/runtime/invocation/abc/error"),
            RouteKind::Error("abc")
        );
        assert_eq!(
            route("/2018-06-01/runtime/init/error"),
            RouteKind::InitError
        );
        assert_eq!(route("/cloudformation-response"), RouteKind::Other);
        assert_eq!(route("/"), RouteKind::Other);
    }

    #[test]
    fn a_streamed_answer_is_timed_from_its_first_body_byte() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_millis(5);
        let mut s = StreamedBody {
            streaming: true,
            ..StreamedBody::default()
        };
        // The prelude and its delimiter split across frames: no body byte yet.
        s.feed(br#"{"statusCode":200,"headers":{}}"#, t0);
        s.feed(&[0; 5], t0);
        s.feed(&[0; 3], t0);
        assert_eq!(s.first_byte, None);
        assert_eq!(s.status(), Some(200));
        s.feed(b"data: {}", later);
        s.feed(b"more", later + Duration::from_millis(1));
        assert_eq!(s.first_byte, Some(later));
        assert_eq!(s.body_text(), "data: {}more");

        let mut refused = StreamedBody {
            streaming: true,
            ..StreamedBody::default()
        };
        refused.feed(b"{\"statusCode\":404}\0\0\0\0\0\0\0\0{\"error\":1}", t0);
        assert_eq!(refused.status(), Some(404));
        // A buffered answer is never searched for a prelude.
        let mut buffered = StreamedBody::default();
        buffered.feed(&[b'{', 0, 0, 0, 0, 0, 0, 0, 0, b'}'], t0);
        assert_eq!((buffered.first_byte, buffered.status()), (None, None));
    }

    #[test]
    fn sample_events_are_pointed_at_the_benchs_model_and_route() {
        let template = r#"{"rawPath":"/v1/chat/completions","requestContext":{"http":{"path":"/v1/chat/completions"}},"body":"{\"model\":\"x\",\"stream\":true}","isBase64Encoded":false}"#;
        let e: Value = serde_json::from_str(
            &router_event(
                template,
                "/v1/messages",
                Some(serde_json::json!({"max_tokens": 5})),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(e["rawPath"], "/v1/messages");
        assert_eq!(e["requestContext"]["http"]["path"], "/v1/messages");
        let body: Value = serde_json::from_str(e["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"max_tokens": 5, "model": crate::harness::MODEL})
        );
        let kept: Value =
            serde_json::from_str(
                serde_json::from_str::<Value>(&router_event(template, "/p", None).unwrap())
                    .unwrap()["body"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(kept["stream"], true);
        assert_eq!(kept["model"], crate::harness::MODEL);
    }

    #[test]
    fn the_secret_holds_the_bench_keys_hash_for_team_a() {
        let answer: Value =
            serde_json::from_str(&service_answer("secretsmanager.GetSecretValue")).unwrap();
        let keys: Value = serde_json::from_str(answer["SecretString"].as_str().unwrap()).unwrap();
        // SHA-256 of "bench-api-key-for-team-a", as `sha256sum` prints it.
        assert_eq!(
            keys["team-a"][0],
            "7fd42f11636f95d5781de8e731f8b55ef7b628abe6760d4e3843ece12cd126d9"
        );
        assert_eq!(service_answer("DynamoDB_20120810.GetItem"), "{}");
    }

    #[test]
    fn logs_calls_get_empty_results() {
        assert!(service_answer("Logs_20140328.FilterLogEvents").contains("\"events\":[]"));
        assert_eq!(service_answer("Logs_20140328.PutLogEvents"), "{}");
    }

    #[tokio::test]
    async fn an_event_is_handed_out_once_and_its_answer_comes_back() {
        let mut api = RuntimeApi::start().await.unwrap();
        let url = api.url();
        let client = tokio::spawn(async move {
            let next = http_get(&format!("{url}/2018-06-01/runtime/invocation/next")).await;
            let id = next
                .lines()
                .find_map(|l| l.strip_prefix("lambda-runtime-aws-request-id: "))
                .unwrap()
                .trim()
                .to_owned();
            assert!(next.ends_with("{\"x\":1}"), "{next}");
            http_post(
                &format!("{url}/2018-06-01/runtime/invocation/{id}/response"),
                "ok",
            )
            .await;
        });
        let answer = api
            .invoke("req-1", "{\"x\":1}", Duration::from_secs(10))
            .await
            .unwrap();
        client.await.unwrap();
        assert_eq!(answer.request_id, "req-1");
        assert_eq!(answer.outcome, Outcome::Response);
    }

    async fn http_get(url: &str) -> String {
        raw("GET", url, "").await
    }

    async fn http_post(url: &str, body: &str) -> String {
        raw("POST", url, body).await
    }

    async fn raw(method: &str, url: &str, body: &str) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }
}
