//! One verifier run, with every dependency injected: usable in-process by tests and by the
//! end-to-end suites as well as by the Lambda handler.

use std::collections::BTreeSet;

use serde_json::Value;
/// Re-exported so `verifier::run::MetricsSink` keeps naming the one shared trait.
pub use shared::telemetry::MetricsSink;
use tokio::time::Instant;

use crate::alert::{Notifier, alert_text};
use crate::doctor::{ControlPlane, DoctorInput, DoctorReport, run_doctor};
use crate::error::VerifierError;
use crate::logs::LogsSource;
use crate::metrics::{cost_lines, emf_lines};
use crate::observe::Classifier;
use crate::report::{Finding, FindingContext, Report, Tally};
use crate::scan::{ScanStats, scan_regions};
use crate::settings::Settings;
use crate::window::{RunInput, Window, WindowJson, parse_input, scheduled_window};

/// Everything a run needs, built once per cold start.
pub struct Verifier<L, P, N, C, M> {
    pub settings: Settings,
    pub logs: L,
    pub control_plane: P,
    pub notifier: N,
    pub classifier: C,
    pub metrics: M,
    /// The regions to read, in order: every region where the config's profiles live, and the
    /// default region (where calls with plain model IDs land).
    pub regions: Vec<String>,
    pub findings: FindingContext,
    pub doctor: DoctorInput,
}

/// Runs one scan for a raw invocation payload (a scheduled event or a back-fill request).
/// `deadline` is when the invocation must have answered; the scan stops in time before it.
pub async fn run_scan<L, P, N, C, M>(
    v: &Verifier<L, P, N, C, M>,
    event: &Value,
    deadline: Option<Instant>,
) -> Result<Report, VerifierError>
where
    L: LogsSource,
    P: ControlPlane,
    N: Notifier,
    C: Classifier,
    M: MetricsSink,
{
    let (window, regions) = match parse_input(event)? {
        RunInput::Scheduled { time } => (
            scheduled_window(time, v.settings.rate_ms, v.settings.ingestion_delay_ms)?,
            v.regions.clone(),
        ),
        RunInput::Backfill { window, regions } => {
            (window, regions.unwrap_or_else(|| v.regions.clone()))
        }
    };
    run_window(v, window, &regions, deadline).await
}

/// Scans an explicit window over the given regions.
pub async fn run_window<L, P, N, C, M>(
    v: &Verifier<L, P, N, C, M>,
    window: Window,
    regions: &[String],
    deadline: Option<Instant>,
) -> Result<Report, VerifierError>
where
    L: LogsSource,
    P: ControlPlane,
    N: Notifier,
    C: Classifier,
    M: MetricsSink,
{
    let started = std::time::Instant::now();
    let mut tally = Tally::default();
    let mut stats = ScanStats::default();
    let resume = scan_regions(
        &v.logs,
        &v.classifier,
        regions,
        &v.settings.log_group,
        window,
        &v.settings.scan,
        deadline,
        &mut tally,
        &mut stats,
    )
    .await?;

    let doctor = if v.settings.doctor {
        let mut input = v.doctor.clone();
        input.log_regions = regions.to_vec();
        run_doctor(&v.control_plane, &input).await
    } else {
        DoctorReport::skipped()
    };

    let mut findings = tally.findings(&v.findings);
    if let Some(r) = &resume {
        findings.insert(
            0,
            Finding {
                class: "incomplete_scan".into(),
                model: None,
                profile: None,
                count: tally.records(),
                remedy: format!(
                    "the run stopped before its deadline in {} at {}: invoke the function with \
                     each input in `resume` to finish the window (or raise its timeout)",
                    r.region,
                    crate::window::fmt_ms(r.resume_ms)
                ),
                callers: Vec::new(),
                resume: Some(r.backfill_inputs(window)),
            },
        );
    }
    let report = Report {
        window: WindowJson::from(window),
        complete: resume.is_none(),
        records: tally.records(),
        counts: tally.counts.clone(),
        by_model: tally.by_model(),
        findings,
        doctor,
        cost: tally.cost(),
    };

    let models: BTreeSet<String> = v.doctor.models.iter().cloned().collect();
    for line in emf_lines(&report, window.start_ms, &v.settings.namespace, &models) {
        v.metrics.emit(&line);
    }
    for line in cost_lines(
        &report,
        window.start_ms,
        &v.settings.namespace,
        &v.findings.tenants,
    ) {
        v.metrics.emit(&line);
    }
    let elapsed = started.elapsed();
    tracing::info!(
        report = %serde_json::to_string(&report).unwrap_or_default(),
        requests = stats.requests,
        pages = stats.pages,
        empty_pages = stats.empty_pages,
        retries = stats.retries,
        elapsed_ms = elapsed.as_millis() as u64,
        "verifier report"
    );
    if report.has_problems() {
        let (subject, body) = alert_text(&report);
        if let Err(e) = v.notifier.notify(&subject, &body).await {
            // The report is still the result; a failed alert must not hide it.
            tracing::error!(error = %e, "publishing the alert failed");
        }
    }
    Ok(report)
}
