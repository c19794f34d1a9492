//! Rate limiting of the stream's alerts: a flood of mapping misses for one model becomes one
//! alert per model per interval, not one per batch.
//!
//! The limiter lives in the function instance's memory. Across instances it is bounded, not
//! exact: each execution environment admits at most one alert per key per interval, so a stack
//! sends at most `instances × (1 + cold starts)` alerts per key per interval. The template caps
//! the verifier at one concurrent instance (`ReservedConcurrentExecutions: 1`), so in practice an
//! extra alert comes only when Lambda replaces the environment. docs/verifier.md says why no
//! shared store is used.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::VerifierError;
use crate::report::{Finding, MAX_KEYS, OTHER};

/// Default time between two alerts for the same model: the alarm's period.
pub const DEFAULT_ALERT_INTERVAL_SECONDS: u64 = 300;

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// When the last alert for this key went out.
    sent_ms: i64,
    /// Findings held back since then.
    held: u64,
}

/// What [`AlertLimiter::admit`] decided for one batch's findings.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Admitted {
    /// The findings to send now.
    pub findings: Vec<Finding>,
    /// Findings of these keys held back by earlier batches since their last alert.
    pub held_before: u64,
    /// Findings of this batch held back.
    pub held_now: u64,
}

/// One alert per key per interval, per function instance.
#[derive(Debug)]
pub struct AlertLimiter {
    interval_ms: i64,
    slots: Mutex<HashMap<String, Slot>>,
}

/// The key a finding is limited under: its model, else its profile, else its class.
pub fn alert_key(f: &Finding) -> &str {
    f.model
        .as_deref()
        .or(f.profile.as_deref())
        .unwrap_or(f.class.as_str())
}

impl AlertLimiter {
    pub fn new(interval: Duration) -> Self {
        AlertLimiter {
            interval_ms: i64::try_from(interval.as_millis()).unwrap_or(i64::MAX),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Reads `STREAM_ALERT_INTERVAL_SECONDS` through `get` (1 to 86400; default 300).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, VerifierError> {
        let seconds = match get("STREAM_ALERT_INTERVAL_SECONDS")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        {
            None => DEFAULT_ALERT_INTERVAL_SECONDS,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=86_400).contains(n))
                .ok_or_else(|| {
                    VerifierError::Config(format!(
                        "STREAM_ALERT_INTERVAL_SECONDS={v:?} is not a whole number of seconds between 1 and 86400"
                    ))
                })?,
        };
        Ok(Self::new(Duration::from_secs(seconds)))
    }

    /// Keeps the problem findings whose key has had no alert within the interval before
    /// `now_ms`, and marks those keys as alerted at `now_ms`. Information (unmapped traffic) is
    /// never sent, as in the scan's alerts.
    pub fn admit(&self, findings: &[Finding], now_ms: i64) -> Admitted {
        let mut out = Admitted::default();
        // A poisoned lock only means another batch panicked mid-update; the counts are still usable.
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() >= MAX_KEYS {
            let interval = self.interval_ms;
            slots.retain(|_, s| now_ms.saturating_sub(s.sent_ms) < interval);
        }
        let mut opened: Vec<String> = Vec::new();
        for f in findings.iter().filter(|f| f.is_problem()) {
            let key = alert_key(f);
            let key = if slots.contains_key(key) || slots.len() < MAX_KEYS {
                key
            } else {
                OTHER
            };
            // Several findings of one key in the same batch go out together.
            if opened.iter().any(|k| k == key) {
                out.findings.push(f.clone());
                continue;
            }
            match slots.get_mut(key) {
                Some(slot) if now_ms.saturating_sub(slot.sent_ms) < self.interval_ms => {
                    slot.held += 1;
                    out.held_now += 1;
                }
                Some(slot) => {
                    out.held_before += slot.held;
                    *slot = Slot {
                        sent_ms: now_ms,
                        held: 0,
                    };
                    opened.push(key.to_string());
                    out.findings.push(f.clone());
                }
                None => {
                    slots.insert(
                        key.to_string(),
                        Slot {
                            sent_ms: now_ms,
                            held: 0,
                        },
                    );
                    opened.push(key.to_string());
                    out.findings.push(f.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(class: &str, model: &str) -> Finding {
        Finding {
            class: class.into(),
            model: Some(model.into()),
            profile: None,
            count: 1,
            remedy: "r".into(),
            callers: Vec::new(),
            resume: None,
        }
    }

    #[test]
    fn a_flood_of_misses_for_one_model_is_one_alert_per_interval() {
        let limiter = AlertLimiter::new(Duration::from_secs(300));
        let miss = [finding("mapping_miss", "m")];
        let first = limiter.admit(&miss, 1_000);
        assert_eq!(first.findings.len(), 1);
        for i in 1..1000 {
            let later = limiter.admit(&miss, 1_000 + i * 100);
            assert!(
                later.findings.is_empty(),
                "batch {i} is inside the interval"
            );
        }
        let next = limiter.admit(&miss, 1_000 + 300_000);
        assert_eq!(next.findings.len(), 1, "a new interval sends again");
        assert_eq!(next.held_before, 999, "and says how many were held back");
    }

    #[test]
    fn each_model_has_its_own_interval_and_one_batch_sends_all_of_a_models_findings() {
        let limiter = AlertLimiter::new(Duration::from_secs(300));
        let batch = [
            finding("mapping_miss", "a"),
            finding("region_violation", "a"),
            finding("mapping_miss", "b"),
        ];
        assert_eq!(limiter.admit(&batch, 0).findings.len(), 3);
        let again = limiter.admit(&batch, 10);
        assert!(again.findings.is_empty());
        assert_eq!(again.held_now, 3);
        assert_eq!(
            limiter
                .admit(&[finding("mapping_miss", "c")], 20)
                .findings
                .len(),
            1
        );
    }

    #[test]
    fn information_is_never_alerted() {
        let limiter = AlertLimiter::new(Duration::from_secs(1));
        assert!(
            limiter
                .admit(&[finding("unmapped", "m")], 0)
                .findings
                .is_empty()
        );
    }

    #[test]
    fn the_interval_setting_is_checked() {
        let l = AlertLimiter::from_lookup(|_| None).unwrap();
        assert_eq!(l.interval_ms, 300_000);
        let l = AlertLimiter::from_lookup(|_| Some("60".into())).unwrap();
        assert_eq!(l.interval_ms, 60_000);
        for bad in ["0", "-5", "1.5", "x", "86401"] {
            let e = AlertLimiter::from_lookup(|_| Some(bad.into())).unwrap_err();
            assert!(
                e.to_string().contains("STREAM_ALERT_INTERVAL_SECONDS"),
                "{e}"
            );
        }
    }

    #[test]
    fn keys_past_the_cap_share_one_slot_so_memory_stays_bounded() {
        let limiter = AlertLimiter::new(Duration::from_secs(300));
        let many: Vec<Finding> = (0..MAX_KEYS + 10)
            .map(|i| finding("mapping_miss", &format!("m{i}")))
            .collect();
        let first = limiter.admit(&many, 0);
        assert_eq!(first.findings.len(), MAX_KEYS + 10);
        assert_eq!(
            limiter.slots.lock().unwrap().len(),
            MAX_KEYS + 1,
            "one shared slot"
        );
        assert!(limiter.admit(&many, 1).findings.is_empty());
    }
}
