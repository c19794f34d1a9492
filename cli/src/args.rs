//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Check a Bedrock profile config, doctor the account, scan its invocation logs, create
/// profiles and tenant keys. Read-only except `profiles create|delete`.
#[derive(Debug, Parser)]
#[command(name = "bedrock-profiles", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 ok, 1 problems found, 2 usage or unreadable input, \
3 AWS failure, 4 scan incomplete, 5 write not confirmed. Full reference: docs/cli.md"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Print JSON on stdout instead of tables (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// The named profile of ~/.aws/config to use (default: AWS_PROFILE or `default`).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// The AWS region (default: AWS_REGION or the profile's region). Also the config's
    /// fallback region, as AWS_REGION is for the functions.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (e.g. the local Bedrock at http://127.0.0.1:4010).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// No progress lines on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load a config as the functions do at cold start and print every problem with its fix.
    /// Offline.
    Check {
        /// librechat.yaml, or the product's standalone YAML/JSON config.
        config: PathBuf,
    },
    /// Check the account against the config: profiles exist and are ACTIVE, model access,
    /// invocation logging on and where.
    Doctor {
        config: PathBuf,
        /// CloudWatch Logs group Bedrock delivers invocation logs to.
        #[arg(long, default_value = verifier::settings::DEFAULT_LOG_GROUP)]
        log_group: String,
    },
    /// Classify every invocation-log record of a window: which traffic went through the
    /// profiles, which went around them, and what to do about it.
    Scan(ScanArgs),
    /// Create, list and delete application inference profiles without CloudFormation.
    Profiles {
        #[command(subcommand)]
        command: ProfilesCommand,
    },
    /// Tenant API keys for the router.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    pub config: PathBuf,
    /// How far back from now, e.g. `90m`, `24h`, `7d`.
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["start", "end"])]
    pub since: Option<String>,
    /// Window start: RFC 3339 (`2026-01-31T00:00:00Z`) or epoch milliseconds.
    #[arg(long, requires = "end")]
    pub start: Option<String>,
    /// Window end (inclusive): RFC 3339 or epoch milliseconds.
    #[arg(long, requires = "start")]
    pub end: Option<String>,
    /// CloudWatch Logs group Bedrock delivers invocation logs to.
    #[arg(long, default_value = verifier::settings::DEFAULT_LOG_GROUP)]
    pub log_group: String,
    /// Stop reading after this long (e.g. `10m`) and print the resume window.
    #[arg(long, value_name = "DURATION")]
    pub time_limit: Option<String>,
    /// FilterLogEvents requests per second (CloudWatch Logs allows 25 per account and region).
    #[arg(long, default_value_t = 5.0)]
    pub requests_per_second: f64,
    /// Events per FilterLogEvents page (the API's own cap is 10,000); only useful to exercise
    /// paging against a small local group.
    #[arg(long, hide = true)]
    pub page_size: Option<i32>,
}

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// Create an application inference profile (idempotent: the same name twice makes one).
    Create {
        /// Profile name (also what makes a repeated create find the first one).
        #[arg(long)]
        name: String,
        /// What the profile copies: a foundation-model ID or ARN, or a system inference
        /// profile ID or ARN (e.g. `us.anthropic.claude-3-7-sonnet-20250219-v1:0`).
        #[arg(long, value_name = "MODEL_OR_PROFILE")]
        source: String,
        #[arg(long)]
        description: Option<String>,
        /// `key=value`, repeatable (cost-allocation tags).
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
        /// The friendly model ID for the config line printed at the end (default: the name).
        #[arg(long, value_name = "ID")]
        model_id: Option<String>,
        /// Skip the model-access check before creating.
        #[arg(long)]
        no_access_check: bool,
        /// How long to wait for the profile to become ACTIVE (e.g. `2m`).
        #[arg(long, default_value = "5m", value_name = "DURATION")]
        wait: String,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
    /// List the application inference profiles of the region.
    List,
    /// Delete an application inference profile (already gone counts as done).
    Delete {
        /// The profile's ARN.
        arn: String,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// A new random API key for a tenant, its SHA-256 hash and the YAML to paste. The key is
    /// printed once and never written anywhere.
    New {
        #[arg(long)]
        tenant: String,
    },
}
