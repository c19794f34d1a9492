//! The verifier: on a schedule, reads Bedrock's model-invocation logs and proves that traffic
//! goes through the configured application inference profiles. Each run classifies every record
//! of its time window, diagnoses what it can, runs the config doctor, emits metrics once per
//! completed window and returns one report.
//!
//! The core here has no Lambda types; `handler` adapts it to the runtime and `main` only wires.

pub mod alert;
pub mod awslogs;
pub mod classify;
pub mod doctor;
pub mod error;
pub mod fake;
pub mod handler;
pub mod logs;
pub mod metrics;
pub mod observe;
pub mod plan;
pub mod report;
pub mod run;
pub mod scan;
pub mod settings;
pub mod stream;
pub mod stream_alerts;
pub mod window;

pub use error::VerifierError;
pub use run::{Verifier, run_scan, run_window};
