//! The CloudWatch Logs seam: one FilterLogEvents page at a time.

use std::future::Future;

use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use shared::aws::RegionalClients;

use crate::window::Window;

/// One log event as FilterLogEvents returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp: i64,
    pub message: String,
}

/// One page. A page may be empty while `next_token` is still set: the API searches a slice of
/// the group per call and the caller must keep following the token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub events: Vec<LogEvent>,
    pub next_token: Option<String>,
}

/// How a page request failed, as far as the scan loop cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogsError {
    /// Throttled or briefly unavailable: back off and ask again.
    Retryable(String),
    /// Anything else (missing group, access denied, bad parameters): retrying will not help.
    Fatal(String),
}

/// Reads an invocation-log group page by page.
pub trait LogsSource {
    /// Asks for one FilterLogEvents page of `group` in `region` between the window's inclusive
    /// bounds, continuing from `token` when given.
    fn filter_page(
        &self,
        region: &str,
        group: &str,
        window: Window,
        token: Option<String>,
    ) -> impl Future<Output = Result<Page, LogsError>> + Send;
}

/// Error codes that mean "slow down / try again later" rather than "this will never work".
pub fn is_retryable_code(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "ServiceUnavailableException"
            | "InternalFailure"
    )
}

/// The AWS SDK adapter, with one client per region built from a single `SdkConfig` (endpoint
/// overrides such as `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` carry over from it).
pub struct SdkLogs {
    clients: RegionalClients<aws_sdk_cloudwatchlogs::Client>,
    page_limit: Option<i32>,
}

impl SdkLogs {
    pub fn new(base: aws_config::SdkConfig) -> Self {
        SdkLogs {
            clients: RegionalClients::new(base, aws_sdk_cloudwatchlogs::Client::new),
            page_limit: None,
        }
    }

    /// Caps the events per page (the API's own cap is 10,000 events or 1 MB). Only useful to
    /// exercise paging against a small local group.
    pub fn with_page_limit(mut self, limit: i32) -> Self {
        self.page_limit = Some(limit.clamp(1, 10_000));
        self
    }

    fn client(&self, region: &str) -> aws_sdk_cloudwatchlogs::Client {
        self.clients.get(region)
    }
}

impl LogsSource for SdkLogs {
    async fn filter_page(
        &self,
        region: &str,
        group: &str,
        window: Window,
        token: Option<String>,
    ) -> Result<Page, LogsError> {
        let out = self
            .client(region)
            .filter_log_events()
            .log_group_name(group)
            .start_time(window.start_ms)
            .end_time(window.end_ms)
            .set_next_token(token)
            .set_limit(self.page_limit)
            .send()
            .await;
        match out {
            Ok(out) => Ok(Page {
                events: out
                    .events
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| LogEvent {
                        timestamp: e.timestamp.unwrap_or_default(),
                        message: e.message.unwrap_or_default(),
                    })
                    .collect(),
                next_token: out.next_token.filter(|t| !t.is_empty()),
            }),
            Err(err) => Err(classify_sdk_error(&err)),
        }
    }
}

fn classify_sdk_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    err: &SdkError<E, R>,
) -> LogsError {
    match err {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("Unknown");
            let msg = format!("{code}: {}", se.err().message().unwrap_or("no message"));
            if is_retryable_code(code) {
                LogsError::Retryable(msg)
            } else {
                LogsError::Fatal(msg)
            }
        }
        // Timeouts and connection failures are worth another try; a construction failure is not.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            LogsError::Retryable(format!("{err:?}"))
        }
        other => LogsError::Fatal(format!("{other:?}")),
    }
}
