//! The verifier's own settings, read once at cold start. The profile config (models, profiles,
//! regions) comes from `shared::config`.

use std::time::Duration;

use crate::error::VerifierError;
use crate::scan::ScanSettings;

pub const DEFAULT_LOG_GROUP: &str = "/aws/bedrock/model-invocations";
pub const DEFAULT_NAMESPACE: &str = "BedrockProfiles";
pub const DEFAULT_RATE_MINUTES: i64 = 5;
/// Bedrock delivers invocation logs within minutes, not instantly; scanning a window that is
/// still filling would miss records for good, because the next window starts where this ends.
pub const DEFAULT_INGESTION_DELAY_SECONDS: i64 = 600;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub log_group: String,
    pub rate_ms: i64,
    pub ingestion_delay_ms: i64,
    pub namespace: String,
    pub alert_topic_arn: Option<String>,
    pub scan: ScanSettings,
    pub doctor: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            log_group: DEFAULT_LOG_GROUP.into(),
            rate_ms: DEFAULT_RATE_MINUTES * 60_000,
            ingestion_delay_ms: DEFAULT_INGESTION_DELAY_SECONDS * 1000,
            namespace: DEFAULT_NAMESPACE.into(),
            alert_topic_arn: None,
            scan: ScanSettings::default(),
            doctor: true,
        }
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, VerifierError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the settings through `get`, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, VerifierError> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut s = Settings::default();
        if let Some(g) = get("INVOCATION_LOG_GROUP") {
            if g.len() > 512 {
                return Err(VerifierError::Config(format!(
                    "INVOCATION_LOG_GROUP is {} characters; log group names have at most 512",
                    g.len()
                )));
            }
            s.log_group = g;
        }
        let from_schedule = get("SCAN_SCHEDULE").map(|e| parse_rate(&e)).transpose()?;
        let from_minutes = get("SCAN_RATE_MINUTES")
            .map(|m| {
                m.parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0 && *n <= 24 * 60)
                    .map(|n| n * 60_000)
                    .ok_or_else(|| {
                        VerifierError::Config(format!(
                            "SCAN_RATE_MINUTES={m:?} is not a whole number of minutes between 1 and 1440"
                        ))
                    })
            })
            .transpose()?;
        s.rate_ms = match (from_schedule, from_minutes) {
            (Some(a), Some(b)) if a != b => {
                return Err(VerifierError::Config(format!(
                    "SCAN_SCHEDULE and SCAN_RATE_MINUTES disagree ({} vs {} minutes): set one",
                    a / 60_000,
                    b / 60_000
                )));
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => s.rate_ms,
        };
        if let Some(d) = get("INGESTION_DELAY_SECONDS") {
            s.ingestion_delay_ms = d
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=86_400).contains(n))
                .map(|n| n * 1000)
                .ok_or_else(|| {
                    VerifierError::Config(format!(
                        "INGESTION_DELAY_SECONDS={d:?} is not a whole number of seconds between 0 and 86400"
                    ))
                })?;
        }
        if let Some(ns) = get("METRICS_NAMESPACE") {
            if ns.len() > 255 || ns.starts_with(':') {
                return Err(VerifierError::Config(format!(
                    "METRICS_NAMESPACE={ns:?} is not a valid CloudWatch namespace (1-255 characters, not starting with ':')"
                )));
            }
            s.namespace = ns;
        }
        if let Some(arn) = get("ALERT_TOPIC_ARN") {
            if !arn.starts_with("arn:") || arn.split(':').count() != 6 || !arn.contains(":sns:") {
                return Err(VerifierError::Config(format!(
                    "ALERT_TOPIC_ARN={arn:?} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)"
                )));
            }
            s.alert_topic_arn = Some(arn);
        }
        if let Some(r) = get("LOGS_REQUESTS_PER_SECOND") {
            s.scan.requests_per_second = r
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0 && *n <= 100.0)
                .ok_or_else(|| {
                    VerifierError::Config(format!(
                        "LOGS_REQUESTS_PER_SECOND={r:?} must be a number above 0 and at most 100"
                    ))
                })?;
        }
        if let Some(m) = get("DEADLINE_MARGIN_SECONDS") {
            s.scan.deadline_margin = m
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= 600)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    VerifierError::Config(format!(
                        "DEADLINE_MARGIN_SECONDS={m:?} must be a whole number of seconds up to 600"
                    ))
                })?;
        }
        if let Some(d) = get("DOCTOR") {
            s.doctor = match d.to_ascii_lowercase().as_str() {
                "true" | "on" | "1" | "yes" => true,
                "false" | "off" | "0" | "no" => false,
                _ => {
                    return Err(VerifierError::Config(format!(
                        "DOCTOR={d:?} must be true or false"
                    )));
                }
            };
        }
        Ok(s)
    }
}

/// Parses an EventBridge `rate(...)` expression into milliseconds. Windows follow from a fixed
/// period, so `cron(...)` schedules are refused.
pub fn parse_rate(expr: &str) -> Result<i64, VerifierError> {
    let bad = |why: &str| {
        VerifierError::Config(format!(
            "SCAN_SCHEDULE={expr:?}: {why}; use a rate expression such as \"rate(5 minutes)\""
        ))
    };
    let inner = expr
        .trim()
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            bad("windows are derived from a fixed rate, so only rate(...) is accepted")
        })?;
    let mut parts = inner.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected a number and a unit"));
    };
    let n: i64 = n
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| bad("the value must be a positive whole number"))?;
    let unit_ms = match (unit, n) {
        ("minute", 1) | ("minutes", 2..) => 60_000,
        ("hour", 1) | ("hours", 2..) => 3_600_000,
        ("day", 1) | ("days", 2..) => 86_400_000,
        _ => {
            return Err(bad(
                "the unit must be minute/hour/day for 1 and minutes/hours/days otherwise",
            ));
        }
    };
    n.checked_mul(unit_ms)
        .filter(|ms| *ms <= 86_400_000)
        .ok_or_else(|| bad("the rate must be at most one day"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, VerifierError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = from(&[]).unwrap();
        assert_eq!(s.log_group, "/aws/bedrock/model-invocations");
        assert_eq!(s.rate_ms, 300_000);
        assert_eq!(s.ingestion_delay_ms, 600_000);
        assert!(s.doctor);
    }

    #[test]
    fn rate_expressions_parse_like_eventbridge() {
        assert_eq!(parse_rate("rate(5 minutes)").unwrap(), 300_000);
        assert_eq!(parse_rate("rate(1 hour)").unwrap(), 3_600_000);
        assert!(parse_rate("rate(1 minutes)").is_err());
        assert!(parse_rate("rate(0 minutes)").is_err());
        assert!(
            parse_rate("cron(0/5 * * * ? *)")
                .unwrap_err()
                .to_string()
                .contains("only rate")
        );
    }

    #[test]
    fn conflicting_rate_settings_are_a_startup_error() {
        let err = from(&[
            ("SCAN_SCHEDULE", "rate(5 minutes)"),
            ("SCAN_RATE_MINUTES", "10"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("disagree"));
        assert_eq!(
            from(&[("SCAN_RATE_MINUTES", "15")]).unwrap().rate_ms,
            900_000
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("INGESTION_DELAY_SECONDS", "-1"),
            ("SCAN_RATE_MINUTES", "five"),
            ("ALERT_TOPIC_ARN", "my-topic"),
            ("LOGS_REQUESTS_PER_SECOND", "0"),
            ("DOCTOR", "maybe"),
        ] {
            let err = from(&[(k, v)]).unwrap_err();
            assert!(err.to_string().contains(k), "{err}");
        }
    }
}
