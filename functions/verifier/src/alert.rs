//! The optional SNS notification when a run finds something wrong.

use std::future::Future;

use crate::report::Report;

/// Sends one notification.
pub trait Notifier {
    fn notify(
        &self,
        subject: &str,
        message: &str,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// A notifier for when `ALERT_TOPIC_ARN` is not set.
pub struct NoAlerts;

impl Notifier for NoAlerts {
    async fn notify(&self, _subject: &str, _message: &str) -> Result<(), String> {
        Ok(())
    }
}

/// Publishes to an SNS topic.
pub struct SnsNotifier {
    pub client: aws_sdk_sns::Client,
    pub topic_arn: String,
}

impl Notifier for SnsNotifier {
    async fn notify(&self, subject: &str, message: &str) -> Result<(), String> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| shared::aws::AwsError::from_sdk(&e).to_string())
    }
}

/// SNS subjects are at most 100 printable ASCII characters; messages at most 256 KB.
const MAX_MESSAGE: usize = 200_000;

/// The subject and body for a report with problems: a one-line summary, then the report.
pub fn alert_text(report: &Report) -> (String, String) {
    let problems = report.findings.iter().filter(|f| f.is_problem()).count()
        + report.doctor.failures().count();
    let mut subject = format!(
        "Bedrock verifier: {problems} problem(s), coverage {}/{}{}",
        report.counts.profiled,
        report.records,
        if report.complete { "" } else { " (incomplete)" }
    );
    subject.retain(|c| c.is_ascii() && !c.is_ascii_control());
    subject.truncate(100);
    let mut body = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{e}"));
    if body.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
        body.push_str("\n… (truncated; the full report is in the function's log)");
    }
    (subject, body)
}

/// The notifier chosen at cold start: SNS when `ALERT_TOPIC_ARN` is set, otherwise none.
pub enum Alerts {
    Off(NoAlerts),
    Sns(SnsNotifier),
}

impl Notifier for Alerts {
    async fn notify(&self, subject: &str, message: &str) -> Result<(), String> {
        match self {
            Alerts::Off(n) => n.notify(subject, message).await,
            Alerts::Sns(n) => n.notify(subject, message).await,
        }
    }
}
