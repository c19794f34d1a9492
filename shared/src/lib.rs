//! The domain shared by the provisioner, the verifier and the router.
//!
//! - [`arn`]: typed Bedrock model references (foundation-model IDs and ARNs, system
//!   inference-profile IDs and ARNs, application-inference-profile ARNs).
//! - [`config`]: the profile configuration (`librechat.yaml`'s `endpoints.bedrock`, or the
//!   same keys standalone), `${VAR}` expansion and validation.
//! - [`profile_map`]: the config as lookups — friendly ID → call ID, region, capabilities;
//!   which profiles are ours; which raw models should have gone through one.
//! - [`model_names`]: the spellings of one model (Anthropic names, model and system-profile
//!   IDs) and the `modelAliases` that map names to served models.
//! - [`tenants`]: teams served by one router (API key hashes, IAM principals, their own
//!   profiles over the shared ones).
//! - [`catalog`]: what each model family can do.
//! - [`claude_features`]: the `anthropic_beta` values and body fields Bedrock takes per Claude
//!   model.
//! - [`invocation_log`]: Bedrock invocation-log records and their classification.
//! - [`aws`]: one SDK config per cold start, clients per region.
//! - [`telemetry`]: tracing setup and CloudWatch Embedded Metric Format documents.
//! - [`error`]: the crate's error type.
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
pub mod invocation_log;
pub mod model_names;
pub mod profile_map;
pub mod telemetry;
pub mod tenants;

pub use error::SharedError;
