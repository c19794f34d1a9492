//! The verifier: on a schedule, reads Bedrock's model-invocation logs and proves that traffic
//! goes through the configured application inference profiles. The core has no Lambda types;
//! `handler` adapts it to the runtime and `main` only wires.
//!
//! - [`run`]: one run with every dependency injected: window, scan, doctor, metrics, report.
//! - [`handler`]: the Lambda adapter around [`run`].
//! - [`window`]: which slice of time a run scans (scheduled or back-fill input).
//! - [`plan`]: from the profile config to the regions to read and what counts as ours.
//! - [`scan`]: the paging loop: paced, retried, stopping in time, resumable to the millisecond.
//! - [`logs`]: the CloudWatch Logs seam (FilterLogEvents pages) and its SDK adapter.
//! - [`observe`]: one log line to one observation ([`observe::Classifier`]).
//! - [`classify`]: that classifier over the profile config and the profiles' models.
//! - [`report`]: tallies, findings with remedies, the run's JSON report.
//! - [`cost`]: what the window's calls cost, by tenant, profile, model and caller, and what
//!   went around the profiles.
//! - [`metrics`]: the run's EMF documents.
//! - [`doctor`]: the config checklist against the Bedrock control plane.
//! - [`alert`]: the SNS notification when a run finds something.
//! - [`settings`]: the function's own environment.
//! - [`error`]: the crate's error type.
//! - `fake` (feature `test-support`): in-memory logs and control plane for the test suites.

pub mod alert;
pub mod awslogs;
pub mod classify;
pub mod cost;
pub mod doctor;
pub mod error;
#[cfg(any(test, feature = "test-support"))]
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
