//! In-process stand-ins for CloudWatch Logs and the Bedrock control plane, behind the same traits
//! as the SDK adapters. Tests and the end-to-end suites use them where a real local service would
//! be too slow (moto re-filters the whole group on every page) or cannot be made to misbehave.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use shared::aws::{AwsError, AwsErrorKind};

use crate::logs::{LogEvent, LogsSource, Page};
use crate::window::Window;

/// Stored events per region, served in pages like FilterLogEvents: time-ordered, inclusive
/// bounds, an opaque token, optional empty pages and throttling.
pub struct MemoryLogs {
    regions: HashMap<String, Vec<LogEvent>>,
    pub page_size: usize,
    /// Every n-th call answers an empty page that still carries a token.
    pub empty_every: Option<usize>,
    /// Every n-th call is throttled.
    pub throttle_every: Option<usize>,
    calls: AtomicUsize,
}

impl MemoryLogs {
    pub fn new(page_size: usize) -> Self {
        MemoryLogs {
            regions: HashMap::new(),
            page_size: page_size.max(1),
            empty_every: None,
            throttle_every: None,
            calls: AtomicUsize::new(0),
        }
    }

    /// Adds an event to a region's group (the group name is not modelled: one group per region).
    pub fn put(&mut self, region: &str, timestamp: i64, message: impl Into<String>) {
        let events = self.regions.entry(region.to_string()).or_default();
        let at = events.partition_point(|e| e.timestamp <= timestamp);
        events.insert(
            at,
            LogEvent {
                timestamp,
                message: message.into(),
            },
        );
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }
}

fn offset(token: Option<String>) -> Result<usize, AwsError> {
    match token {
        None => Ok(0),
        Some(t) => t.parse().map_err(|_| {
            AwsError::new(
                AwsErrorKind::Validation,
                "InvalidParameterException",
                format!("bad token {t:?}"),
            )
        }),
    }
}

impl LogsSource for MemoryLogs {
    async fn filter_page(
        &self,
        region: &str,
        _group: &str,
        window: Window,
        token: Option<String>,
    ) -> Result<Page, AwsError> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        if self.throttle_every.is_some_and(|k| n.is_multiple_of(k)) {
            return Err(AwsError::new(
                AwsErrorKind::Throttling,
                "ThrottlingException",
                "Rate exceeded",
            ));
        }
        let from = offset(token)?;
        if self.empty_every.is_some_and(|k| n.is_multiple_of(k)) {
            return Ok(Page {
                events: Vec::new(),
                next_token: Some(from.to_string()),
            });
        }
        let all = self.regions.get(region).map(Vec::as_slice).unwrap_or(&[]);
        let lo = all.partition_point(|e| e.timestamp < window.start_ms);
        let hi = all.partition_point(|e| e.timestamp <= window.end_ms);
        let slice = &all[lo..hi];
        let end = (from + self.page_size).min(slice.len());
        let events = slice
            .get(from..end)
            .map(<[LogEvent]>::to_vec)
            .unwrap_or_default();
        Ok(Page {
            events,
            next_token: (end < slice.len()).then(|| end.to_string()),
        })
    }
}

/// A log group whose events are generated on demand (event `i` at `start_ms + i * step_ms`), so
/// a scale test measures the scanner's memory, not the fake's.
pub struct GeneratedLogs<F> {
    pub count: usize,
    pub start_ms: i64,
    pub step_ms: i64,
    pub page_size: usize,
    /// Every n-th call answers an empty page that still carries a token.
    pub empty_every: Option<usize>,
    pub message: F,
    calls: AtomicUsize,
}

impl<F: Fn(usize) -> String + Sync> GeneratedLogs<F> {
    pub fn new(count: usize, start_ms: i64, step_ms: i64, page_size: usize, message: F) -> Self {
        GeneratedLogs {
            count,
            start_ms,
            step_ms: step_ms.max(1),
            page_size: page_size.max(1),
            empty_every: None,
            message,
            calls: AtomicUsize::new(0),
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    fn index_at_or_after(&self, ms: i64) -> usize {
        if ms <= self.start_ms {
            return 0;
        }
        let d = ms - self.start_ms;
        usize::try_from((d + self.step_ms - 1) / self.step_ms).unwrap_or(usize::MAX)
    }
}

impl<F: Fn(usize) -> String + Sync> LogsSource for GeneratedLogs<F> {
    async fn filter_page(
        &self,
        _region: &str,
        _group: &str,
        window: Window,
        token: Option<String>,
    ) -> Result<Page, AwsError> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let lo = self.index_at_or_after(window.start_ms).min(self.count);
        let hi = self
            .index_at_or_after(window.end_ms.saturating_add(1))
            .min(self.count);
        let from = match token {
            Some(_) => offset(token)?,
            None => lo,
        };
        if self.empty_every.is_some_and(|k| n.is_multiple_of(k)) {
            return Ok(Page {
                events: Vec::new(),
                next_token: Some(from.to_string()),
            });
        }
        let end = (from + self.page_size).min(hi);
        let events = (from..end)
            .map(|i| LogEvent {
                timestamp: self.start_ms + i as i64 * self.step_ms,
                message: (self.message)(i),
            })
            .collect();
        Ok(Page {
            events,
            next_token: (end < hi).then(|| end.to_string()),
        })
    }
}

/// A scripted Bedrock control plane: profiles, model availability and logging per region.
#[derive(Default)]
pub struct FakeControlPlane {
    pub profiles: Mutex<HashMap<String, crate::doctor::ProfileInfo>>,
    pub availability: Mutex<HashMap<(String, String), shared::model_access::Availability>>,
    pub logging: Mutex<HashMap<String, crate::doctor::LoggingInfo>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl crate::doctor::ControlPlane for FakeControlPlane {
    async fn get_inference_profile(
        &self,
        _region: &str,
        id: &str,
    ) -> Result<crate::doctor::ProfileInfo, AwsError> {
        lock(&self.profiles).get(id).cloned().ok_or_else(|| {
            AwsError::new(
                AwsErrorKind::NotFound,
                "ResourceNotFoundException",
                format!("inference profile {id} not found"),
            )
        })
    }

    async fn get_model_availability(
        &self,
        region: &str,
        model_id: &str,
    ) -> Result<shared::model_access::Availability, AwsError> {
        lock(&self.availability)
            .get(&(region.to_string(), model_id.to_string()))
            .cloned()
            .ok_or_else(|| {
                AwsError::new(
                    AwsErrorKind::NotFound,
                    "ResourceNotFoundException",
                    format!("model {model_id} not found in {region}"),
                )
            })
    }

    async fn get_logging(
        &self,
        region: &str,
    ) -> Result<Option<crate::doctor::LoggingInfo>, AwsError> {
        Ok(lock(&self.logging).get(region).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_logs_page_through_the_window_with_inclusive_bounds() {
        let mut logs = MemoryLogs::new(2);
        for t in [5, 10, 10, 15, 20, 25] {
            logs.put("r", t, format!("m{t}"));
        }
        let w = Window {
            start_ms: 10,
            end_ms: 20,
        };
        let p1 = logs.filter_page("r", "g", w, None).await.unwrap();
        assert_eq!(p1.events.len(), 2);
        let p2 = logs.filter_page("r", "g", w, p1.next_token).await.unwrap();
        assert_eq!(
            p2.events.iter().map(|e| e.timestamp).collect::<Vec<_>>(),
            vec![15, 20]
        );
        assert_eq!(p2.next_token, None);
    }

    #[tokio::test]
    async fn generated_logs_cover_exactly_the_events_inside_the_window() {
        let logs = GeneratedLogs::new(100, 1000, 10, 7, |i| format!("{i}"));
        let w = Window {
            start_ms: 1015,
            end_ms: 1100,
        };
        let mut token = None;
        let mut seen = Vec::new();
        loop {
            let p = logs.filter_page("r", "g", w, token).await.unwrap();
            seen.extend(p.events.iter().map(|e| e.timestamp));
            match p.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen.first(), Some(&1020));
        assert_eq!(seen.last(), Some(&1100));
        assert_eq!(seen.len(), 9);
    }
}
