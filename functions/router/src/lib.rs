//! The router function: a Function URL that serves Bedrock through application inference
//! profiles, in the dialects its callers speak, streaming as events arrive.
//!
//! Modules carry no Lambda types except [`handler`], [`auth`] and [`runtime`].
//!
//! - [`config`]: the configuration, read once at cold start.
//! - [`routes`]: the route table (path and method to route, dialect and metrics name).
//! - [`handler`]: a request in, a response out; [`handler::Call`] is what every route shares.
//! - [`auth`]: the caller's tenant, by IAM principal or API key.
//! - [`dialect`]: one module per caller dialect (OpenAI chat, the Anthropic Messages API,
//!   Bedrock's runtime API).
//! - [`directory`], [`profiles`], [`caps`]: a model name to a call target with capabilities.
//! - [`attempt`]: the one attempt runner: failover over a model's profiles, back-off.
//! - [`deadline`]: every wait on Bedrock bounded by the invocation's deadline.
//! - [`bedrock`]: the Bedrock seam and its AWS SDK adapter.
//! - [`converse`]: Converse's wire shapes as typed serde structs.
//! - [`relay`]: what a route answers, and the one stream relay.
//! - [`sse`]: server-sent events framing.
//! - [`eventstream`]: Bedrock's binary event-stream framing.
//! - [`error`]: the one error type and its rendering in each dialect.
//! - [`metrics`]: one EMF document per request.
//! - [`spend`]: the cost of every answer, budgets and rate limits before a call.
//! - [`prompt_cache`]: cache checkpoints placed for callers that cannot place them.
//! - [`runtime`]: the Lambda runtime loop that survives a dropped response connection.

/// The CloudWatch namespace of every metric the router emits.
pub const METRICS_NAMESPACE: &str = "BedrockProfiles/Router";

pub mod attempt;
pub mod auth;
pub mod bedrock;
pub mod caps;
pub mod config;
pub mod converse;
pub mod deadline;
pub mod dialect;
pub mod directory;
pub mod error;
pub mod eventstream;
pub mod handler;
pub mod metrics;
pub mod profiles;
pub mod prompt_cache;
pub mod relay;
pub mod routes;
pub mod runtime;
pub mod spend;
pub mod sse;

pub use config::DEFAULT_MAX_BODY_BYTES;
pub use error::RouterError;
pub use handler::{Router, RouterParts};
pub use relay::RouterBody;
