//! The router function: a Function URL that serves Bedrock through application inference
//! profiles, OpenAI-compatible (`/v1/chat/completions`, `/v1/models`) and in Bedrock's own
//! Converse shape (`/model/{modelId}/converse[-stream]`), streaming as events arrive.
//!
//! Modules carry no Lambda types except [`handler`], which takes a `lambda_http::Request`.

pub mod auth;
pub mod bedrock;
pub mod budget;
pub mod caps;
pub mod converse;
pub mod directory;
pub mod error;
pub mod failover;
pub mod handler;
pub mod metrics;
pub mod openai;
pub mod profiles;
pub mod runtime;
pub mod sse;

pub use error::RouterError;
pub use handler::{DEFAULT_MAX_BODY_BYTES, Router, RouterBody, RouterParts};
