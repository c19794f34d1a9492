//! The Lambda adapter: turns the invocation's deadline into the scan's and returns the report.

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tokio::time::Instant;

use crate::alert::Notifier;
use crate::doctor::ControlPlane;
use crate::error::VerifierError;
use crate::logs::LogsSource;
use crate::observe::Classifier;
use crate::report::Report;
use shared::telemetry::MetricsSink;

use crate::run::{Verifier, run_scan};

/// Handles one invocation: a scheduled event or a back-fill request.
pub async fn handle<L, P, N, C, M>(
    verifier: &Verifier<L, P, N, C, M>,
    event: LambdaEvent<Value>,
) -> Result<Report, VerifierError>
where
    L: LogsSource,
    P: ControlPlane,
    N: Notifier,
    C: Classifier,
    M: MetricsSink,
{
    let remaining = shared::deadline::remaining(event.context.deadline);
    run_scan(verifier, &event.payload, Some(Instant::now() + remaining)).await
}
