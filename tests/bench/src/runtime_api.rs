//! Cold start and memory of each release bootstrap, served by a minimal Lambda Runtime API:
//! `GET /2018-06-01/runtime/invocation/next` hands out one event at a time and the
//! `response`/`error` routes take the answer. The same server stands in for the two other
//! endpoints the functions call besides Bedrock: CloudWatch Logs (empty results) and the
//! CloudFormation response URL.

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
use tokio::sync::{Mutex, mpsc};

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
    pub at: Instant,
}

struct Shared {
    events: Mutex<mpsc::Receiver<(String, String)>>,
    answers: mpsc::UnboundedSender<Answer>,
    /// When the function first asked for an event: the end of its init, as Lambda counts it.
    first_poll: std::sync::Mutex<Option<Instant>>,
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

/// CloudWatch Logs answers for an empty log group; `{}` for anything else.
fn logs_answer(target: &str) -> &'static str {
    if target.ends_with(".FilterLogEvents") {
        r#"{"events":[],"searchedLogStreams":[]}"#
    } else if target.ends_with(".DescribeLogGroups") {
        r#"{"logGroups":[]}"#
    } else {
        "{}"
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
    // Read whole bodies (streamed responses included) before answering.
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    let at = Instant::now();
    let text = body
        .as_ref()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    match route(&path) {
        RouteKind::Next => {
            shared
                .first_poll
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(at);
            let next = shared.events.lock().await.recv().await;
            let Some((id, event)) = next else {
                return reply(410, "{}");
            };
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
            let outcome = match (route(&path), &body) {
                (RouteKind::Response(_), Ok(_)) => Outcome::Response,
                (RouteKind::Response(_), Err(e)) => Outcome::Error(format!("unreadable body: {e}")),
                _ => Outcome::Error(text.chars().take(300).collect()),
            };
            let _ = shared.answers.send(Answer {
                request_id: id.to_owned(),
                outcome,
                at,
            });
            reply(202, r#"{"status":"OK"}"#)
        }
        RouteKind::InitError => {
            let _ = shared.answers.send(Answer {
                request_id: String::new(),
                outcome: Outcome::InitError(text.chars().take(300).collect()),
                at,
            });
            reply(202, r#"{"status":"OK"}"#)
        }
        RouteKind::Other if !target.is_empty() => reply(200, logs_answer(&target)),
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
        *self
            .shared
            .first_poll
            .lock()
            .unwrap_or_else(|p| p.into_inner())
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
        if let Outcome::InitError(e) = &answer.outcome {
            return Err(BenchError::BadAnswer {
                what: "the function's init".into(),
                detail: e.clone(),
            });
        }
        Ok(answer)
    }
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
            event: read("events/router/chat-completion.json")?,
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
    fn logs_calls_get_empty_results() {
        assert!(logs_answer("Logs_20140328.FilterLogEvents").contains("\"events\":[]"));
        assert_eq!(logs_answer("Logs_20140328.PutLogEvents"), "{}");
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
