//! The CloudWatch Logs seam: one FilterLogEvents page at a time.

use std::future::Future;

use shared::aws::{AwsError, RegionalClients, without_sdk_retries};

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

/// Reads an invocation-log group page by page.
pub trait LogsSource {
    /// Asks for one FilterLogEvents page of `group` in `region` between the window's inclusive
    /// bounds, continuing from `token` when given. A failure is classified once, by
    /// [`shared::aws`]; the scan retries those that are [`AwsError::is_retryable`].
    fn filter_page(
        &self,
        region: &str,
        group: &str,
        window: Window,
        token: Option<String>,
    ) -> impl Future<Output = Result<Page, AwsError>> + Send;
}

/// The AWS SDK adapter, with one client per region built from a single `SdkConfig` (endpoint
/// overrides such as `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` carry over from it). The SDK's retries
/// are off: the scan retries pages itself, and its pacing must see every request on the wire.
pub struct SdkLogs {
    clients: RegionalClients<aws_sdk_cloudwatchlogs::Client>,
    page_limit: Option<i32>,
}

impl SdkLogs {
    pub fn new(base: aws_config::SdkConfig) -> Self {
        SdkLogs {
            clients: RegionalClients::new(
                without_sdk_retries(&base),
                aws_sdk_cloudwatchlogs::Client::new,
            ),
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
    ) -> Result<Page, AwsError> {
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
            Err(err) => Err(AwsError::from_sdk(&err)),
        }
    }
}
