//! `bedrock-emulator`: a local Amazon Bedrock on one port.

use std::io::Write;
use std::process::ExitCode;

use bedrock_emulator::Emulator;
use bedrock_emulator::cli::{self, Command};

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
    let options = match cli::parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
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
    // Stops the server, then delivers the invocation-log records still queued (bounded).
    running.shutdown().await;
    ExitCode::SUCCESS
}
