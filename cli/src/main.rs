//! `bedrock-profiles`: the operator CLI. It checks a profile config, doctors an account, scans
//! its invocation logs and creates profiles and tenant keys from a laptop, with the operator's own
//! AWS credentials, before anything is deployed.
//!
//! It is a top-level tool, not a function, so unlike the functions it may use two of them as
//! libraries: the verifier (scan, doctor, the config's regions) and the provisioner (source
//! resolution, access check, idempotent create, wait for ACTIVE). It calls only their cores,
//! never their Lambda handlers, and all of that use sits in [`engine`] so a change in their
//! APIs touches one file. The config is loaded by `shared` exactly as the functions load it at
//! cold start ([`load`]).
//!
//! Exit codes (also in `docs/cli.md`): 0 nothing to report; 1 problems found in what was checked
//! (config errors, failed doctor checks, traffic around the profiles); 2 usage or unreadable
//! input; 3 AWS failure (credentials, access, network, throttled for good); 4 scan incomplete
//! (interrupted or out of time: the resume window is printed); 5 a write was not confirmed.

mod args;
mod commands;
mod engine;
mod error;
mod load;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(error::EXIT_AWS);
        }
    };
    let code = runtime.block_on(commands::run(cli));
    ExitCode::from(code)
}
