//! The one error type of the benchmark crate.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BenchError {
    #[error("bad argument {0:?}: usage is `bench [--quick] [--out DIR] [--only SECTION]`")]
    Usage(String),
    #[error("the local Bedrock emulator did not start: {0}")]
    Emulator(String),
    #[error("setting up the benchmark failed: {0}")]
    Setup(String),
    #[error("{what} answered with {detail}")]
    BadAnswer { what: String, detail: String },
    #[error("{0} did not finish in time")]
    Timeout(String),
    #[error("I/O on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the AWS SDK call failed: {0}")]
    Sdk(String),
}

impl BenchError {
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
