//! The paging loop: every page of every region, rate-limited, backing off on throttling, and
//! stopping in time before the Lambda deadline.
//!
//! Resumption is exact: FilterLogEvents returns a group's events in time order, and the events of
//! the latest millisecond seen are held back until a later millisecond (or the end of the window)
//! proves that millisecond complete. A run that stops early drops that held-back tail and reports
//! its millisecond as the resume point, so the back-fill counts every event once.

use std::time::Duration;

use serde_json::{Value, json};
use shared::deadline::Deadline;
use shared::retry::RetryPolicy;
use tokio::time::Instant;

use crate::error::VerifierError;
use crate::logs::LogsSource;
use crate::observe::{Classifier, Observation};
use crate::report::Tally;
use crate::window::{Window, fmt_ms};

/// How hard the scan may press on the API.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanSettings {
    /// FilterLogEvents calls per second per region (the service allows about 5 per account and
    /// region, shared with every other reader). `0` disables the limiter.
    pub requests_per_second: f64,
    /// Retries of one page after throttling or a transient failure, before the run fails.
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Stop asking for pages once the deadline is this close: enough to emit the report.
    pub deadline_margin: Duration,
}

impl ScanSettings {
    /// The page retries as the shared policy: `max_retries` after the first attempt.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: usize::try_from(self.max_retries)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
            base_delay: self.initial_backoff,
            max_delay: self.max_backoff,
        }
    }
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            requests_per_second: 4.0,
            max_retries: 8,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            deadline_margin: Duration::from_secs(5),
        }
    }
}

/// Counters about the scan itself (not about the records).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub requests: u64,
    pub pages: u64,
    pub empty_pages: u64,
    pub retries: u64,
}

/// How a region's scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionOutcome {
    Complete,
    /// Stopped before the deadline; everything before `resume_ms` is counted, nothing at or after.
    Stopped {
        resume_ms: i64,
    },
}

/// Where a stopped run got to: the back-fill inputs that finish the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumePoint {
    pub region: String,
    pub resume_ms: i64,
    pub remaining_regions: Vec<String>,
}

impl ResumePoint {
    /// Back-fill inputs (each accepted as-is by the function) that finish the window: the
    /// stopped region from the resume point, then the regions not started, from the start.
    pub fn backfill_inputs(&self, window: Window) -> Value {
        let mut inputs = vec![json!({
            "start": fmt_ms(self.resume_ms),
            "end": fmt_ms(window.end_ms),
            "regions": [self.region],
        })];
        if !self.remaining_regions.is_empty() {
            inputs.push(json!({
                "start": fmt_ms(window.start_ms),
                "end": fmt_ms(window.end_ms),
                "regions": self.remaining_regions,
            }));
        }
        Value::Array(inputs)
    }
}

struct Held {
    ts: Option<i64>,
    tail: Vec<Observation>,
}

impl Held {
    fn commit(&mut self, tally: &mut Tally) {
        for o in self.tail.drain(..) {
            tally.add(&o);
        }
    }
}

/// Scans one region's group over the window, feeding every record into `tally`.
#[allow(clippy::too_many_arguments)]
pub async fn scan_region<L: LogsSource, C: Classifier>(
    logs: &L,
    classifier: &C,
    region: &str,
    group: &str,
    window: Window,
    settings: &ScanSettings,
    deadline: Option<Instant>,
    tally: &mut Tally,
    stats: &mut ScanStats,
) -> Result<RegionOutcome, VerifierError> {
    let interval = if settings.requests_per_second > 0.0 {
        Some(Duration::from_secs_f64(1.0 / settings.requests_per_second))
    } else {
        None
    };
    let mut token: Option<String> = None;
    let mut held = Held {
        ts: None,
        tail: Vec::new(),
    };
    let mut last_request: Option<Instant> = None;
    // Waits (pacing, back-off) must end `deadline_margin` before the deadline: that much is
    // left to emit the report.
    let waits = Deadline::at_opt(deadline).less(settings.deadline_margin);
    let policy = settings.retry_policy();
    // This loop is the shared policy's, written out rather than through `shared::retry::retry`
    // because the pacing and the held-back tail span attempts and pages. The SDK's own retries
    // are off (`SdkLogs`), so each attempt here is one request on the wire and is paced.
    let mut failures: usize = 0;
    loop {
        if let (Some(last), Some(interval)) = (last_request, interval) {
            let next = last + interval;
            if !waits.allows(next.saturating_duration_since(Instant::now())) {
                break;
            }
            tokio::time::sleep_until(next).await;
        }
        let now = Instant::now();
        if !waits.allows(Duration::ZERO) {
            break;
        }
        last_request = Some(now);
        stats.requests += 1;
        match logs.filter_page(region, group, window, token.clone()).await {
            Ok(page) => {
                failures = 0;
                stats.pages += 1;
                if page.events.is_empty() {
                    stats.empty_pages += 1;
                }
                for ev in page.events {
                    let o = classifier.observe(&ev.message);
                    match held.ts {
                        Some(t) if ev.timestamp == t => held.tail.push(o),
                        // Out of order (several streams, clock skew): already past, count it now.
                        Some(t) if ev.timestamp < t => tally.add(&o),
                        _ => {
                            held.commit(tally);
                            held.ts = Some(ev.timestamp);
                            held.tail.push(o);
                        }
                    }
                }
                match page.next_token {
                    Some(next) => token = Some(next),
                    None => {
                        held.commit(tally);
                        return Ok(RegionOutcome::Complete);
                    }
                }
            }
            Err(err) if err.is_retryable() => {
                failures += 1;
                stats.retries += 1;
                if failures >= policy.max_attempts {
                    return Err(VerifierError::Logs {
                        region: region.into(),
                        group: group.into(),
                        message: format!(
                            "still throttled or unavailable after {} retries: {err}",
                            settings.max_retries
                        ),
                    });
                }
                // No jitter: one scheduled verifier per account has no herd of callers to
                // spread out, and a known back-off keeps the deadline arithmetic exact.
                let backoff = policy.ceiling_before(failures + 1);
                tracing::warn!(region, attempt = failures, backoff_ms = backoff.as_millis() as u64, error = %err, "FilterLogEvents retry");
                if !waits.allows(backoff) {
                    break;
                }
                tokio::time::sleep(backoff).await;
                last_request = None;
            }
            Err(err) => {
                return Err(VerifierError::Logs {
                    region: region.into(),
                    group: group.into(),
                    message: err.to_string(),
                });
            }
        }
    }
    Ok(RegionOutcome::Stopped {
        resume_ms: held.ts.unwrap_or(window.start_ms),
    })
}

/// Scans every region in order; stops at the first region that runs out of time.
#[allow(clippy::too_many_arguments)]
pub async fn scan_regions<L: LogsSource, C: Classifier>(
    logs: &L,
    classifier: &C,
    regions: &[String],
    group: &str,
    window: Window,
    settings: &ScanSettings,
    deadline: Option<Instant>,
    tally: &mut Tally,
    stats: &mut ScanStats,
) -> Result<Option<ResumePoint>, VerifierError> {
    for (i, region) in regions.iter().enumerate() {
        let outcome = scan_region(
            logs, classifier, region, group, window, settings, deadline, tally, stats,
        )
        .await?;
        if let RegionOutcome::Stopped { resume_ms } = outcome {
            return Ok(Some(ResumePoint {
                region: region.clone(),
                resume_ms,
                remaining_regions: regions[i + 1..].to_vec(),
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::{LogEvent, Page};
    use crate::observe::Class;
    use shared::aws::{AwsError, AwsErrorKind};
    use std::sync::Mutex;

    /// Serves a scripted list of responses and records the time of each call.
    struct Scripted {
        responses: Mutex<Vec<Result<Page, AwsError>>>,
        calls: Mutex<Vec<Instant>>,
    }

    impl Scripted {
        fn new(mut responses: Vec<Result<Page, AwsError>>) -> Self {
            responses.reverse();
            Scripted {
                responses: Mutex::new(responses),
                calls: Mutex::new(Vec::new()),
            }
        }
    }

    impl LogsSource for Scripted {
        async fn filter_page(
            &self,
            _region: &str,
            _group: &str,
            _window: Window,
            _token: Option<String>,
        ) -> Result<Page, AwsError> {
            self.calls.lock().unwrap().push(Instant::now());
            self.responses
                .lock()
                .unwrap()
                .pop()
                .unwrap_or_else(|| Err(AwsError::new(AwsErrorKind::Other, "", "script exhausted")))
        }
    }

    struct AllProfiled;
    impl Classifier for AllProfiled {
        fn observe(&self, message: &str) -> Observation {
            Observation {
                class: Some(Class::Profiled),
                model_id: Some(message.to_string()),
                ..Observation::default()
            }
        }
    }

    fn page(ts: &[i64], token: Option<&str>) -> Result<Page, AwsError> {
        Ok(Page {
            events: ts
                .iter()
                .map(|t| LogEvent {
                    timestamp: *t,
                    message: format!("m{t}"),
                })
                .collect(),
            next_token: token.map(String::from),
        })
    }

    const W: Window = Window {
        start_ms: 0,
        end_ms: 1_000_000,
    };

    #[tokio::test(start_paused = true)]
    async fn empty_pages_with_a_token_are_followed_to_the_end() {
        let logs = Scripted::new(vec![
            page(&[], Some("a")),
            page(&[1, 2], Some("b")),
            page(&[], Some("c")),
            page(&[], Some("d")),
            page(&[3], None),
        ]);
        let (mut tally, mut stats) = (Tally::default(), ScanStats::default());
        let out = scan_region(
            &logs,
            &AllProfiled,
            "us-east-1",
            "/g",
            W,
            &ScanSettings::default(),
            None,
            &mut tally,
            &mut stats,
        )
        .await
        .unwrap();
        assert_eq!(out, RegionOutcome::Complete);
        assert_eq!(tally.records(), 3);
        assert_eq!(stats.pages, 5);
        assert_eq!(stats.empty_pages, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_rate_limit() {
        let logs = Scripted::new(
            (0..6)
                .map(|i| page(&[i], Some("t")))
                .chain([page(&[], None)])
                .collect(),
        );
        let (mut tally, mut stats) = (Tally::default(), ScanStats::default());
        let settings = ScanSettings {
            requests_per_second: 5.0,
            ..ScanSettings::default()
        };
        scan_region(
            &logs,
            &AllProfiled,
            "r",
            "/g",
            W,
            &settings,
            None,
            &mut tally,
            &mut stats,
        )
        .await
        .unwrap();
        let calls = logs.calls.lock().unwrap();
        for pair in calls.windows(2) {
            assert!(
                pair[1] - pair[0] >= Duration::from_millis(200),
                "{:?}",
                pair[1] - pair[0]
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_backs_off_exponentially_then_succeeds() {
        let throttled = || {
            Err(AwsError::new(
                AwsErrorKind::Throttling,
                "ThrottlingException",
                "Rate exceeded",
            ))
        };
        let logs = Scripted::new(vec![
            throttled(),
            throttled(),
            throttled(),
            page(&[7], None),
        ]);
        let (mut tally, mut stats) = (Tally::default(), ScanStats::default());
        let settings = ScanSettings {
            requests_per_second: 0.0,
            ..ScanSettings::default()
        };
        scan_region(
            &logs,
            &AllProfiled,
            "r",
            "/g",
            W,
            &settings,
            None,
            &mut tally,
            &mut stats,
        )
        .await
        .unwrap();
        assert_eq!(tally.records(), 1);
        assert_eq!(stats.retries, 3);
        let calls = logs.calls.lock().unwrap();
        let gaps: Vec<Duration> = calls.windows(2).map(|p| p[1] - p[0]).collect();
        assert_eq!(
            gaps,
            vec![
                Duration::from_millis(250),
                Duration::from_millis(500),
                Duration::from_millis(1000)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_that_never_ends_fails_with_the_region_and_cause() {
        let logs = Scripted::new(
            (0..10)
                .map(|_| {
                    Err(AwsError::new(
                        AwsErrorKind::Throttling,
                        "ThrottlingException",
                        "",
                    ))
                })
                .collect(),
        );
        let (mut tally, mut stats) = (Tally::default(), ScanStats::default());
        let settings = ScanSettings {
            max_retries: 3,
            ..ScanSettings::default()
        };
        let err = scan_region(
            &logs,
            &AllProfiled,
            "eu-west-1",
            "/g",
            W,
            &settings,
            None,
            &mut tally,
            &mut stats,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("eu-west-1"));
        assert!(err.to_string().contains("after 3 retries"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_fatal_error_is_not_retried() {
        let logs = Scripted::new(vec![Err(AwsError::new(
            AwsErrorKind::NotFound,
            "ResourceNotFoundException",
            "no group",
        ))]);
        let (mut tally, mut stats) = (Tally::default(), ScanStats::default());
        let err = scan_region(
            &logs,
            &AllProfiled,
            "r",
            "/g",
            W,
            &ScanSettings::default(),
            None,
            &mut tally,
            &mut stats,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("ResourceNotFoundException"));
        assert_eq!(stats.requests, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn stopping_at_the_deadline_holds_back_the_last_millisecond_for_the_resume() {
        // Two pages at 5 req/s, then the deadline: the second page ends inside millisecond 20,
        // which may continue on the next page, so it is left to the resumed run.
        let logs = Scripted::new(vec![
            page(&[10, 11, 11], Some("a")),
            page(&[12, 20, 20], Some("b")),
            page(&[20, 21], None),
        ]);
        let (mut tally, mut stats) = (Tally::default(), ScanStats::default());
        let settings = ScanSettings {
            requests_per_second: 5.0,
            deadline_margin: Duration::from_millis(100),
            ..ScanSettings::default()
        };
        let deadline = Instant::now() + Duration::from_millis(450);
        let out = scan_region(
            &logs,
            &AllProfiled,
            "r",
            "/g",
            W,
            &settings,
            Some(deadline),
            &mut tally,
            &mut stats,
        )
        .await
        .unwrap();
        assert_eq!(out, RegionOutcome::Stopped { resume_ms: 20 });
        assert_eq!(
            tally.records(),
            4,
            "10, 11, 11, 12 counted; 20s left for the resume"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn resume_inputs_finish_the_stopped_region_and_start_the_others() {
        let r = ResumePoint {
            region: "us-east-1".into(),
            resume_ms: 500,
            remaining_regions: vec!["us-west-2".into()],
        };
        let v = r.backfill_inputs(W);
        assert_eq!(v[0]["start"], fmt_ms(500));
        assert_eq!(v[0]["regions"], json!(["us-east-1"]));
        assert_eq!(v[1]["start"], fmt_ms(0));
        assert_eq!(v[1]["regions"], json!(["us-west-2"]));
    }
}
