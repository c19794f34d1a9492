use lambda_runtime::Diagnostic;

/// Every way a verifier run can fail before it has a report to return.
///
/// A malformed log record is not here: it is counted, never an error.
#[derive(Debug, thiserror::Error)]
pub enum VerifierError {
    /// A setting in the environment is missing or unusable.
    #[error("configuration error: {0}")]
    Config(String),
    /// The invocation event is neither a scheduled event nor a back-fill request.
    #[error("invalid input event: {0}")]
    InvalidInput(String),
    /// The time window asked for cannot be scanned.
    #[error("invalid window: {0}")]
    InvalidWindow(String),
    /// CloudWatch Logs refused or failed a request in a way retries could not fix.
    #[error("reading log group {group} in {region} failed: {message}")]
    Logs {
        region: String,
        group: String,
        message: String,
    },
}

impl VerifierError {
    fn error_type(&self) -> &'static str {
        match self {
            VerifierError::Config(_) => "Verifier.ConfigError",
            VerifierError::InvalidInput(_) => "Verifier.InvalidInput",
            VerifierError::InvalidWindow(_) => "Verifier.InvalidWindow",
            VerifierError::Logs { .. } => "Verifier.LogsReadFailed",
        }
    }
}

impl From<VerifierError> for Diagnostic {
    fn from(err: VerifierError) -> Self {
        Diagnostic {
            error_type: err.error_type().to_string(),
            error_message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_becomes_a_diagnostic_with_a_specific_type() {
        let d: Diagnostic = VerifierError::InvalidWindow("end is before start".into()).into();
        assert_eq!(d.error_type, "Verifier.InvalidWindow");
        assert!(d.error_message.contains("end is before start"));
        let d: Diagnostic = VerifierError::Logs {
            region: "us-east-1".into(),
            group: "/g".into(),
            message: "denied".into(),
        }
        .into();
        assert_eq!(d.error_type, "Verifier.LogsReadFailed");
        assert!(d.error_message.contains("us-east-1"));
    }
}
