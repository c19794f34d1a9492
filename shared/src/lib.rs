//! The domain shared by the provisioner, the verifier and the router.
//!
//! - [`arn`]: typed Bedrock model references (model and profile IDs and ARNs), region names.
//! - [`config`]: the profile configuration (`endpoints.bedrock` keys), `${VAR}` expansion, validation.
//! - [`profile_map`]: the config as lookups: friendly ID → call ID, region, capabilities.
//! - [`model_names`]: the spellings of one model and the `modelAliases` that map names to models.
//! - [`tenants`]: teams served by one router; [`tenants::load_with_tenants`] reads both at once.
//! - [`catalog`]: what each model family can do.
//! - [`prices`]: the price table and the cost of a call.
//! - [`spend`]: budgets, rate limits and the spend store (DynamoDB), written off the answer's path.
//! - [`claude_features`]: the `anthropic_beta` values and body fields Bedrock takes per Claude model.
//! - [`model_access`]: a model's availability in a region, its problems and their remedies.
//! - [`invocation_log`]: Bedrock invocation-log records and their classification.
//! - [`aws`]: one SDK config per cold start, clients per region, one AWS error classifier.
//! - [`retry`]: one retry policy and one deadline-bounded retry loop.
//! - [`deadline`]: the invocation's time left, and the [`deadline::Deadline`] every wait respects.
//! - [`telemetry`]: tracing setup, EMF metric documents and where they go ([`telemetry::MetricsSink`]).
//! - [`json`]: names of JSON types for error messages.
//! - [`error`]: the crate's error type.
//! - [`guardrails`]: a tenant's Bedrock guardrail, validated against Bedrock's patterns.
//! - [`prompt_cache`]: the `promptCache:` setting: where the router caches prompts for callers.
//!
//! Nothing here depends on Lambda event types; the functions stay thin around it.

#![warn(missing_docs)]

pub mod arn;
pub mod aws;
pub mod catalog;
pub mod claude_features;
pub mod config;
pub mod deadline;
pub mod error;
pub mod guardrails;
pub mod invocation_log;
pub mod json;
pub mod model_access;
pub mod model_names;
pub mod prices;
pub mod profile_map;
pub mod prompt_cache;
pub mod retry;
pub mod spend;
pub mod telemetry;
pub mod tenants;

pub use error::SharedError;
