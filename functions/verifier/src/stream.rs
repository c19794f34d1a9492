//! The verifier in real time: CloudWatch Logs subscription batches (`awslogs` payloads) of the
//! invocation log group, classified as they arrive.
//!
//! Each batch goes through the scan's own code: the same classifier, the same tally and
//! findings, the same EMF documents (names, dimensions, units) and the same alert text, so the
//! alarm and the dashboard read one set of metrics whichever mode feeds them. Only the alerts
//! differ: they are rate-limited per model (see [`crate::stream_alerts`]).
//!
//! Redelivery: once a batch's metrics are written the handler never fails, so Lambda's retry of a
//! failed invocation never re-counts it. What can still arrive twice (Lambda's asynchronous
//! invocation is at-least-once, and an instance may die after writing) writes the same documents
//! with the same timestamp (the batch's first event), which the alarm's `Maximum` statistic reads
//! as one datapoint. docs/verifier.md has the reasoning.

use std::collections::{BTreeMap, BTreeSet};

use aws_lambda_events::event::cloudwatch_logs::{LogData, LogsEvent};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alert::{Notifier, alert_text};
use crate::doctor::{ControlPlane, DoctorReport};
use crate::logs::LogsSource;
use crate::metrics::{cost_lines, emf_lines};
use crate::observe::Classifier;
use crate::report::{Counts, Report, Tally};
use crate::run::Verifier;
use crate::stream_alerts::AlertLimiter;
use crate::window::{WindowJson, fmt_ms};
use shared::telemetry::MetricsSink;

/// CloudWatch Logs sends one of these when a subscription is created, to check it can deliver;
/// it carries no log events of the group.
const CONTROL_MESSAGE: &str = "CONTROL_MESSAGE";

/// Whether a payload is a subscription batch rather than a schedule or back-fill event.
pub fn is_subscription(payload: &Value) -> bool {
    payload.get("awslogs").is_some()
}

/// Decodes an `awslogs` payload (base64 of gzipped JSON) with `aws_lambda_events`' types. It
/// reads from a borrowed value: their decoder takes its keys as borrowed strings, which an owned
/// `Value` cannot lend.
pub fn decode(payload: &Value) -> Result<LogData, Diagnostic> {
    LogsEvent::deserialize(payload)
        .map(|event| event.aws_logs.data)
        .map_err(|e| Diagnostic {
            error_type: "Verifier.InvalidSubscriptionPayload".into(),
            error_message: format!(
                "the awslogs payload is not a CloudWatch Logs subscription batch (base64 of \
                 gzipped JSON with logEvents): {e}"
            ),
        })
}

/// What one batch did: the function's answer for a subscription invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchSummary {
    pub log_group: String,
    pub message_type: String,
    /// The first and last event times of the batch; absent for an empty or control batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowJson>,
    pub records: u64,
    pub counts: Counts,
    /// Problem findings in the batch, sent now, and held back by the rate limit.
    pub findings: u64,
    pub alerted: u64,
    pub held: u64,
    /// EMF documents written.
    pub metric_documents: u64,
}

/// The function's answer for any invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Scan(Box<Report>),
    Batch(BatchSummary),
}

/// Classifies every event of a batch with the scan's classifier and tally; a message that is not
/// an invocation-log record is counted as malformed, never an error.
pub fn classify_batch<C: Classifier>(classifier: &C, data: &LogData) -> Tally {
    let mut tally = Tally::default();
    for event in &data.log_events {
        tally.add(&classifier.observe(&event.message));
    }
    tally
}

/// Handles one decoded batch: tally, metrics at once, then rate-limited alerts. Never fails:
/// after the metrics are written a failure would make Lambda deliver the batch again.
pub async fn handle_batch<L, P, N, C, M>(
    v: &Verifier<L, P, N, C, M>,
    limiter: &AlertLimiter,
    data: &LogData,
    now_ms: i64,
) -> BatchSummary
where
    N: Notifier,
    C: Classifier,
    M: MetricsSink,
{
    let mut summary = BatchSummary {
        log_group: data.log_group.clone(),
        message_type: data.message_type.clone(),
        window: None,
        records: 0,
        counts: Counts::default(),
        findings: 0,
        alerted: 0,
        held: 0,
        metric_documents: 0,
    };
    if data.message_type == CONTROL_MESSAGE || data.log_events.is_empty() {
        tracing::info!(
            log_group = %data.log_group,
            message_type = %data.message_type,
            "subscription batch without log events"
        );
        return summary;
    }
    let first_ms = data.log_events.iter().map(|e| e.timestamp).min();
    let last_ms = data.log_events.iter().map(|e| e.timestamp).max();
    let (Some(first_ms), Some(last_ms)) = (first_ms, last_ms) else {
        return summary;
    };
    let tally = classify_batch(&v.classifier, data);
    let report = Report {
        window: WindowJson {
            start: fmt_ms(first_ms),
            end: fmt_ms(last_ms),
        },
        complete: true,
        records: tally.records(),
        counts: tally.counts.clone(),
        by_model: tally.by_model(),
        findings: tally.findings(&v.findings),
        doctor: DoctorReport::skipped(),
        cost: tally.cost(),
    };
    // Timestamped at the batch's first event, not at arrival: a redelivered batch writes the very
    // same datapoints into the very same period.
    let models: BTreeSet<String> = v.doctor.models.iter().cloned().collect();
    for line in emf_lines(&report, first_ms, &v.settings.namespace, &models)
        .into_iter()
        .chain(cost_lines(
            &report,
            first_ms,
            &v.settings.namespace,
            &v.findings.tenants,
        ))
    {
        v.metrics.emit(&line);
        summary.metric_documents += 1;
    }
    summary.window = Some(report.window.clone());
    summary.records = report.records;
    summary.counts = report.counts.clone();
    summary.findings = report.findings.iter().filter(|f| f.is_problem()).count() as u64;

    let admitted = limiter.admit(&report.findings, now_ms);
    summary.alerted = admitted.findings.len() as u64;
    summary.held = admitted.held_now;
    tracing::info!(
        log_group = %data.log_group,
        records = summary.records,
        profiled = summary.counts.profiled,
        mapping_miss = summary.counts.mapping_miss,
        malformed = summary.counts.malformed,
        region_violation = summary.counts.region_violation,
        alerted = summary.alerted,
        held = summary.held,
        "verifier stream batch"
    );
    if !admitted.findings.is_empty() {
        let alert = Report {
            findings: admitted.findings,
            ..report
        };
        let (subject, mut body) = alert_text(&alert);
        if admitted.held_before > 0 {
            body.push_str(&format!(
                "\n\n{} more finding(s) for these models were held back since their last alert \
                 (one alert per model per interval); the metrics count every record.",
                admitted.held_before
            ));
        }
        if let Err(e) = v.notifier.notify(&subject, &body).await {
            // The metrics are written; a failed alert must not fail (and so re-deliver) the batch.
            tracing::error!(error = %e, "publishing the stream alert failed");
        }
    }
    summary
}

/// The metrics the template's alarm reads, undimensioned, at `Maximum`, over 300 s periods.
pub const ALARM_METRICS: [&str; 2] = ["MappingMisses", "RegionViolations"];
pub const ALARM_PERIOD_MS: i64 = 300_000;

/// What the alarm sees in a set of EMF lines: per metric of [`ALARM_METRICS`] and period, the
/// `Maximum` of the undimensioned datapoints. The tests use it to show that a redelivered batch
/// leaves the alarm where it was. Lines that are not metric documents are skipped.
pub fn alarm_view(lines: &[String]) -> BTreeMap<(&'static str, i64), f64> {
    let mut view = BTreeMap::new();
    for doc in lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        let Some(timestamp) = doc["_aws"]["Timestamp"].as_i64() else {
            continue;
        };
        if doc.get("Model").is_some() {
            continue;
        }
        for name in ALARM_METRICS {
            if let Some(v) = doc[name].as_f64() {
                let e = view
                    .entry((name, timestamp.div_euclid(ALARM_PERIOD_MS)))
                    .or_insert(v);
                *e = e.max(v);
            }
        }
    }
    view
}

/// The Lambda entry for every event: subscription batches go to the stream, anything else to the
/// scan's handler.
pub async fn route<L, P, N, C, M>(
    v: &Verifier<L, P, N, C, M>,
    limiter: &AlertLimiter,
    event: LambdaEvent<Value>,
) -> Result<Answer, Diagnostic>
where
    L: LogsSource,
    P: ControlPlane,
    N: Notifier,
    C: Classifier,
    M: MetricsSink,
{
    if is_subscription(&event.payload) {
        let data = decode(&event.payload)?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        return Ok(Answer::Batch(handle_batch(v, limiter, &data, now_ms).await));
    }
    crate::handler::handle(v, event)
        .await
        .map(|report| Answer::Scan(Box::new(report)))
        .map_err(Diagnostic::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_payloads_with_awslogs_are_subscription_batches() {
        assert!(is_subscription(
            &serde_json::json!({"awslogs": {"data": ""}})
        ));
        assert!(!is_subscription(
            &serde_json::json!({"detail-type": "Scheduled Event"})
        ));
        assert!(!is_subscription(&serde_json::json!([1])));
    }

    #[test]
    fn an_undecodable_payload_is_a_specific_diagnostic() {
        for bad in [
            serde_json::json!({"awslogs": {"data": "not base64!"}}),
            serde_json::json!({"awslogs": {"data": "aGVsbG8="}}),
            serde_json::json!({"awslogs": {}}),
            serde_json::json!({"awslogs": 5}),
        ] {
            let d = decode(&bad).unwrap_err();
            assert_eq!(d.error_type, "Verifier.InvalidSubscriptionPayload", "{bad}");
            assert!(d.error_message.contains("awslogs"), "{}", d.error_message);
        }
    }
}
