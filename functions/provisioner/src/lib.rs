//! The provisioner: a CloudFormation custom-resource handler for `Custom::BedrockInferenceProfile`
//! and `Custom::BedrockInvocationLogging`. Its first duty is never to hang a stack: every event,
//! however malformed, ends in exactly one response PUT before the Lambda deadline.
//!
//! - [`handler`]: one event in, one response out; runs the work under a watchdog and routes it.
//! - [`protocol`]: the envelope read from raw JSON, the ResponseURL check, the ≤ 4 KB answer.
//! - [`respond`]: delivers the answer (PUT with retries, never past the deadline).
//! - [`resource`]: what the resource logic is given ([`resource::RequestContext`]) and returns.
//! - [`profile`]: `Custom::BedrockInferenceProfile` create/update/delete and the access check.
//! - [`logging`]: `Custom::BedrockInvocationLogging` apply/delete.
//! - [`properties`]: typed `ResourceProperties`, with the exact fix for each bad value.
//! - [`control`]: the Bedrock control-plane seam, in plain types (faked in unit tests).
//! - [`sdk`]: that seam over the AWS SDK, one client per region, SDK retries off.
//! - [`retry`]: the provisioner's retry policy over `shared::retry`, bounded by the work deadline.
//! - [`config`]: the function's own environment, checked at start-up.
//! - `fake` (feature `test-support`): an in-memory control plane for the test suites.

pub mod config;
pub mod control;
pub mod handler;
pub mod logging;
pub mod profile;
pub mod properties;
pub mod protocol;
pub mod resource;
pub mod respond;
pub mod retry;
pub mod sdk;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;

use shared::aws::AwsError;

/// Everything that can go wrong while serving one event. Every variant ends up as the `Reason` of
/// a FAILED response, so each message says what is wrong and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event itself is unusable (not an object, missing RequestType, unknown resource type).
    #[error("malformed event: {0}")]
    Event(String),
    /// A property is missing, unknown, of the wrong type or out of range.
    #[error("invalid properties: {0}")]
    Properties(String),
    /// The function could not start (configuration or client construction).
    #[error("the provisioner could not start: {0}")]
    Init(String),
    /// The request is well-formed but cannot be carried out as asked; the message names the fix.
    #[error("{0}")]
    Refused(String),
    /// A Bedrock control-plane call failed for good.
    #[error("Bedrock {operation} failed: {source}")]
    Bedrock {
        operation: &'static str,
        #[source]
        source: AwsError,
    },
    /// The work could not finish before the invocation deadline.
    #[error("timed out: {0}")]
    Deadline(String),
    /// The response could not be delivered to CloudFormation.
    #[error("could not deliver the response to CloudFormation: {0}")]
    Response(String),
}

impl Error {
    pub(crate) fn bedrock(operation: &'static str, source: AwsError) -> Self {
        Error::Bedrock { operation, source }
    }

    /// A short, stable name for the kind of error, for the invocation's `Diagnostic`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::Event(_) => "Provisioner.MalformedEvent",
            Error::Properties(_) => "Provisioner.InvalidProperties",
            Error::Init(_) => "Provisioner.Init",
            Error::Refused(_) => "Provisioner.Refused",
            Error::Bedrock { .. } => "Provisioner.Bedrock",
            Error::Deadline(_) => "Provisioner.Deadline",
            Error::Response(_) => "Provisioner.ResponseUndelivered",
        }
    }
}

/// The handler fails an invocation only when no answer could reach CloudFormation (no
/// ResponseURL, or the PUT failed); the Diagnostic then tells the operator which of the two.
impl From<Error> for lambda_runtime::Diagnostic {
    fn from(err: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undelivered_response_becomes_a_diagnostic_that_says_so() {
        let d: lambda_runtime::Diagnostic = Error::Response("HTTP 403".into()).into();
        assert_eq!(d.error_type, "Provisioner.ResponseUndelivered");
        assert!(d.error_message.contains("HTTP 403"), "{}", d.error_message);
    }
}
