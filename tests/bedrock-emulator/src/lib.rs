//! A local Amazon Bedrock: the control plane (`bedrock`) and the runtime (`bedrock-runtime`)
//! on one port, speaking the real wire protocol so unmodified AWS SDKs and the AWS CLI can use
//! it. State is per region, the region taken from each request's SigV4 credential scope.
//!
//! It shares no code with the product on purpose: it is a second, independent reading of the
//! AWS contract, so a misunderstanding on one side shows up as a failing test.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

mod arn;
mod catalog;
pub mod cli;
mod control;
pub mod runtime;
mod seed;
mod server;
pub mod state;
mod validate;

pub use state::EmulatorState;

/// Everything that can stop the emulator from starting.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("--account-id must be 12 digits, got {0:?}")]
    InvalidAccountId(String),
    #[error("cannot read the seed file {path}: {source}")]
    SeedRead {
        path: String,
        source: std::io::Error,
    },
    #[error("the seed file {path} is invalid: {message}")]
    SeedInvalid { path: String, message: String },
    #[error("{what} must be whole milliseconds from 0 to {max}, got {value:?}", max = runtime::MAX_PACE_MS)]
    InvalidPace { what: &'static str, value: String },
    #[error("{0}")]
    Usage(String),
}

/// How to start an emulator.
#[derive(Clone, Debug)]
pub struct Options {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The account every ARN carries.
    pub account_id: String,
    /// CloudWatch Logs endpoint for invocation logs (used by the runtime).
    pub logs_endpoint: Option<String>,
    /// Seed file (JSON or YAML), applied at start and on every reset.
    pub seed: Option<PathBuf>,
    /// Pause between stream events (`--pace-ms`); survives resets. Wins over the seed file's
    /// `runtime.paceMs`, which wins over `BEDROCK_EMULATOR_PACE_MS`.
    pub pace_ms: Option<u64>,
    /// How long shutdown waits for queued invocation-log records to reach CloudWatch Logs.
    pub log_flush_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            account_id: "123456789012".to_string(),
            logs_endpoint: None,
            seed: None,
            pace_ms: None,
            log_flush_timeout: Duration::from_secs(5),
        }
    }
}

/// Entry point of the library.
pub struct Emulator;

impl Emulator {
    /// Binds `options.listen` and serves until [`RunningEmulator::shutdown`].
    pub async fn start(options: Options) -> Result<RunningEmulator, EmulatorError> {
        let account = options.account_id;
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EmulatorError::InvalidAccountId(account));
        }
        let mut seed = match &options.seed {
            Some(path) => seed::Seed::load(path, &account)?,
            None => seed::Seed::default(),
        };
        let env_pace = match std::env::var(runtime::PACE_ENV) {
            Ok(value) => Some(parse_pace(runtime::PACE_ENV, &value)?),
            Err(_) => None,
        };
        if let Some(ms) = options.pace_ms
            && ms > runtime::MAX_PACE_MS
        {
            return Err(EmulatorError::InvalidPace {
                what: "--pace-ms",
                value: ms.to_string(),
            });
        }
        let mut runtime_seed = seed.take_runtime();
        runtime_seed.pace_ms = options.pace_ms.or(runtime_seed.pace_ms).or(env_pace);
        let state = Arc::new(EmulatorState::new(
            account,
            options.logs_endpoint,
            Box::new(move |regions| seed.apply(regions)),
        ));
        state
            .runtime
            .seed(runtime_seed)
            .map_err(|message| EmulatorError::SeedInvalid {
                path: options
                    .seed
                    .as_ref()
                    .map_or_else(String::new, |p| p.display().to_string()),
                message,
            })?;
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| EmulatorError::Bind {
                    addr: options.listen,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: options.listen,
                source,
            })?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, state.clone(), stopped));
        Ok(RunningEmulator {
            addr,
            state,
            stop,
            task,
            log_flush_timeout: options.log_flush_timeout,
        })
    }
}

/// A started emulator.
pub struct RunningEmulator {
    addr: SocketAddr,
    state: Arc<EmulatorState>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    log_flush_timeout: Duration,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &Arc<EmulatorState> {
        &self.state
    }

    /// Stops accepting, lets open requests finish (up to 5 s), then waits for queued
    /// invocation-log records to be delivered (up to `Options::log_flush_timeout`, so a dead
    /// CloudWatch Logs endpoint cannot hold it), then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the server task ended abnormally");
        }
        let flush = self.state.runtime.flush_logs();
        if tokio::time::timeout(self.log_flush_timeout, flush)
            .await
            .is_err()
        {
            let stats = self.state.runtime.log_stats();
            tracing::warn!(
                queued = stats.queued,
                delivered = stats.delivered,
                failed = stats.failed,
                "invocation log records were still undelivered at shutdown"
            );
        }
    }
}

/// A pause in milliseconds from the command line or the environment.
pub fn parse_pace(what: &'static str, value: &str) -> Result<u64, EmulatorError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms <= runtime::MAX_PACE_MS)
        .ok_or_else(|| EmulatorError::InvalidPace {
            what,
            value: value.to_string(),
        })
}
