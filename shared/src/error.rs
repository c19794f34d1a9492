//! The crate's one error type. Each module has a precise error enum of its own (so a caller
//! matching on config problems does not see telemetry variants); [`SharedError`] wraps
//! them all for code that just propagates with `?`.

use crate::arn::ArnError;
use crate::catalog::SamplingViolation;
use crate::config::ConfigError;
use crate::invocation_log::LogError;
use crate::profile_map::ResolveError;
use crate::telemetry::TelemetryError;

/// Any error from this crate.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    /// A model reference that does not parse.
    #[error(transparent)]
    Arn(#[from] ArnError),
    /// The profile configuration cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A friendly ID the map does not serve.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// A sampling combination the model rejects.
    #[error(transparent)]
    Sampling(#[from] SamplingViolation),
    /// A line that is not an invocation-log record.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A metric document that cannot be written.
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
}

impl SharedError {
    /// A short, stable name for the kind of error (for Lambda `Diagnostic.error_type` and
    /// metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Arn(_) => "InvalidModelReference",
            Self::Config(_) => "InvalidProfileConfig",
            Self::Resolve(_) => "UnknownModel",
            Self::Sampling(_) => "InvalidSampling",
            Self::Log(_) => "MalformedLogRecord",
            Self::Telemetry(_) => "TelemetryError",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_errors_keep_their_message_and_get_a_kind() {
        let e: SharedError = crate::arn::ModelRef::parse("").unwrap_err().into();
        assert_eq!(e.kind(), "InvalidModelReference");
        assert!(e.to_string().starts_with("model reference is empty"));
        let e: SharedError = crate::config::ProfileConfig::parse("{}", |_| None)
            .unwrap_err()
            .into();
        assert_eq!(e.kind(), "InvalidProfileConfig");
        let e: SharedError = crate::invocation_log::parse_record("x").unwrap_err().into();
        assert_eq!(e.kind(), "MalformedLogRecord");
    }
}
