//! `bedrock-emulator`: a local Amazon Bedrock on one port.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use bedrock_emulator::{Emulator, EmulatorError, Options};

const USAGE: &str = "usage: bedrock-emulator [--listen 127.0.0.1:PORT] [--account-id 123456789012] \
[--logs-endpoint URL] [--seed FILE]";

fn parse_args(args: impl Iterator<Item = String>) -> Result<Options, EmulatorError> {
    let mut options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 4000)),
        ..Options::default()
    };
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(EmulatorError::Usage(USAGE.to_string()));
        }
        let value = args
            .next()
            .ok_or_else(|| EmulatorError::Usage(format!("{flag} needs a value\n{USAGE}")))?;
        match flag.as_str() {
            "--listen" => {
                options.listen = value.parse().map_err(|_| {
                    EmulatorError::Usage(format!(
                        "--listen wants HOST:PORT with an IP address, got {value:?}"
                    ))
                })?;
            }
            "--account-id" => options.account_id = value,
            "--logs-endpoint" => options.logs_endpoint = Some(value),
            "--seed" => options.seed = Some(value.into()),
            _ => {
                return Err(EmulatorError::Usage(format!(
                    "unknown option {flag}\n{USAGE}"
                )));
            }
        }
    }
    Ok(options)
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called, before the
/// `listening on` line, so a signal sent right after that line is never missed.
#[cfg(unix)]
fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (term, interrupt) {
            (Ok(mut term), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

#[cfg(not(unix))]
fn stop_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let stop = stop_signal();
    let running = match Emulator::start(options).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bedrock-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "listening on {}", running.url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        eprintln!("bedrock-emulator: cannot write to stdout");
    }
    stop.await;
    running.shutdown().await;
    ExitCode::SUCCESS
}
