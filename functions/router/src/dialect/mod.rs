//! The languages callers speak. Each dialect module only translates its requests and answers
//! (and its error shape); resolution, the attempt runner, the Bedrock call and the stream relay
//! below it are shared by all of them.
//!
//! - [`openai`]: OpenAI chat completions and models (`/v1/chat/completions`, `/v1/models`).
//! - [`anthropic`]: the Anthropic Messages API (`/v1/messages`, `/v1/messages/count_tokens`).
//! - [`bedrock`]: Bedrock's own runtime API (`/model/{modelId}/converse[-stream]`, `/invoke`,
//!   `/invoke-with-response-stream`, `/count-tokens`) and its profile reads
//!   (`/inference-profiles[/{id}]`).

pub mod anthropic;
pub mod bedrock;
pub mod openai;

/// Which dialect a route speaks: it decides the error shape and the stream framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `{"error": {"message", "type", "param", "code"}}`.
    OpenAi,
    /// `{"type": "error", "error": {"type", "message"}}` with Anthropic's statuses.
    Anthropic,
    /// Bedrock's `{"message"}` with the shape name in `x-amzn-ErrorType`.
    Bedrock,
}
