//! Exit codes and the failures that end a command before it has a result to print.

/// Nothing to report.
pub const EXIT_OK: u8 = 0;
/// Problems found in what was checked (config errors, failed doctor checks, traffic around the
/// profiles).
pub const EXIT_FINDINGS: u8 = 1;
/// Bad arguments or an input that cannot be read (clap also exits 2 on usage errors).
pub const EXIT_USAGE: u8 = 2;
/// AWS could not be asked: credentials, access denied, network, throttled for good.
pub const EXIT_AWS: u8 = 3;
/// The scan stopped before the end of its window; the resume window is printed.
pub const EXIT_INCOMPLETE: u8 = 4;
/// A write was not confirmed.
pub const EXIT_DECLINED: u8 = 5;

/// Why a command could not produce its result.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    /// The request was understood and refused (no model access, name taken, unknown source).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Aws(String),
    #[error("{0}")]
    Declined(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Refused(_) => EXIT_FINDINGS,
            CliError::Aws(_) => EXIT_AWS,
            CliError::Declined(_) => EXIT_DECLINED,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Usage(_) => "usage",
            CliError::Refused(_) => "refused",
            CliError::Aws(_) => "aws",
            CliError::Declined(_) => "declined",
        }
    }
}
