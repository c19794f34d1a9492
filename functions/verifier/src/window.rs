//! Which slice of time a run scans.
//!
//! FilterLogEvents treats both `startTime` and `endTime` as inclusive, so a window is held as two
//! inclusive epoch-millisecond bounds. A scheduled run ending at `T - delay` scans
//! `[T - delay - rate, T - delay - 1 ms]`; the next run starts exactly at `T - delay`, so
//! consecutive runs tile time with neither gap nor overlap, and a redelivered event (same `time`)
//! scans the same window again.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::arn::is_region_name;
use shared::json::type_name;

use crate::error::VerifierError;

/// An inclusive range of epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Window {
    /// Builds a window, refusing empty or inverted ranges and instants before the epoch.
    pub fn new(start_ms: i64, end_ms: i64) -> Result<Self, VerifierError> {
        if start_ms < 0 {
            return Err(VerifierError::InvalidWindow(format!(
                "start {} is before 1970-01-01T00:00:00Z",
                fmt_ms(start_ms)
            )));
        }
        if end_ms <= start_ms {
            return Err(VerifierError::InvalidWindow(format!(
                "end {} must be after start {}",
                fmt_ms(end_ms),
                fmt_ms(start_ms)
            )));
        }
        Ok(Window { start_ms, end_ms })
    }

    pub fn contains(&self, ms: i64) -> bool {
        self.start_ms <= ms && ms <= self.end_ms
    }
}

/// The window as it appears in the report and in a back-fill request: RFC 3339, millisecond
/// precision, both ends inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowJson {
    pub start: String,
    pub end: String,
}

impl From<Window> for WindowJson {
    fn from(w: Window) -> Self {
        WindowJson {
            start: fmt_ms(w.start_ms),
            end: fmt_ms(w.end_ms),
        }
    }
}

/// Formats epoch milliseconds as RFC 3339 UTC with milliseconds.
pub fn fmt_ms(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => format!("{ms} ms since the epoch"),
    }
}

/// What a run was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunInput {
    /// An EventBridge scheduled event; the window follows from its `time`.
    Scheduled { time: DateTime<Utc> },
    /// An explicit window (a back-fill or the resumption of an incomplete run). `regions`, when
    /// given, restricts the scan to those regions, in that order.
    Backfill {
        window: Window,
        regions: Option<Vec<String>>,
    },
}

/// Reads the raw invocation payload. Taking `Value` rather than a typed event lets a wrong
/// payload get an error that says what was expected instead of a serde message.
pub fn parse_input(event: &Value) -> Result<RunInput, VerifierError> {
    let Some(obj) = event.as_object() else {
        return Err(VerifierError::InvalidInput(format!(
            "expected a JSON object (an EventBridge scheduled event or {{\"start\": ..., \"end\": ...}}), got {}",
            type_name(event)
        )));
    };
    if obj.contains_key("start") || obj.contains_key("end") {
        let start = rfc3339_field(obj, "start")?;
        let end = rfc3339_field(obj, "end")?;
        let window = Window::new(start, end)?;
        let regions = match obj.get("regions") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let mut regions = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_str() {
                        Some(r) if is_region_name(r) => regions.push(r.to_string()),
                        _ => {
                            return Err(VerifierError::InvalidInput(format!(
                                "\"regions\" must hold region names such as \"us-east-1\"; {item} is not one"
                            )));
                        }
                    }
                }
                if regions.is_empty() {
                    return Err(VerifierError::InvalidInput(
                        "\"regions\" is empty: leave it out to scan every configured region".into(),
                    ));
                }
                Some(regions)
            }
            Some(other) => {
                return Err(VerifierError::InvalidInput(format!(
                    "\"regions\" must be a list of region names, got {}",
                    type_name(other)
                )));
            }
        };
        return Ok(RunInput::Backfill { window, regions });
    }
    let source = obj.get("source").and_then(Value::as_str);
    let detail_type = obj.get("detail-type").and_then(Value::as_str);
    if source != Some("aws.events") || detail_type != Some("Scheduled Event") {
        return Err(VerifierError::InvalidInput(format!(
            "expected an EventBridge scheduled event (source \"aws.events\", detail-type \"Scheduled Event\") \
             or a back-fill {{\"start\": \"<RFC 3339>\", \"end\": \"<RFC 3339>\"}}; got source {:?}, detail-type {:?}",
            source.unwrap_or("<missing>"),
            detail_type.unwrap_or("<missing>")
        )));
    }
    let Some(time) = obj.get("time").and_then(Value::as_str) else {
        return Err(VerifierError::InvalidInput(
            "the scheduled event has no \"time\"; the window is derived from it".into(),
        ));
    };
    let time = DateTime::parse_from_rfc3339(time)
        .map_err(|e| {
            VerifierError::InvalidInput(format!(
                "the scheduled event's \"time\" {time:?} is not RFC 3339: {e}"
            ))
        })?
        .with_timezone(&Utc);
    Ok(RunInput::Scheduled { time })
}

/// The window of a scheduled run. EventBridge schedules have one-minute granularity, so the
/// event time is truncated to the minute: a delivery a few seconds late still maps onto the same
/// grid and the tiling holds.
pub fn scheduled_window(
    time: DateTime<Utc>,
    rate_ms: i64,
    ingestion_delay_ms: i64,
) -> Result<Window, VerifierError> {
    if rate_ms <= 0 {
        return Err(VerifierError::InvalidWindow(format!(
            "the schedule rate must be positive, got {rate_ms} ms"
        )));
    }
    let t = time.timestamp_millis();
    let minute = t - t.rem_euclid(60_000);
    let end_exclusive = minute - ingestion_delay_ms;
    Window::new(end_exclusive - rate_ms, end_exclusive - 1)
}

fn rfc3339_field(obj: &serde_json::Map<String, Value>, key: &str) -> Result<i64, VerifierError> {
    let Some(v) = obj.get(key) else {
        return Err(VerifierError::InvalidInput(format!(
            "a back-fill needs both \"start\" and \"end\"; \"{key}\" is missing"
        )));
    };
    let Some(s) = v.as_str() else {
        return Err(VerifierError::InvalidInput(format!(
            "\"{key}\" must be an RFC 3339 string such as \"2026-01-31T12:00:00Z\", got {}",
            type_name(v)
        )));
    };
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            VerifierError::InvalidInput(format!(
                "\"{key}\" {s:?} is not RFC 3339 (e.g. \"2026-01-31T12:00:00Z\"): {e}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn scheduled_window_ends_one_millisecond_before_the_shifted_event_time() {
        let w = scheduled_window(at("2026-11-27T11:25:00Z"), 300_000, 120_000).unwrap();
        assert_eq!(fmt_ms(w.start_ms), "2026-11-27T11:18:00.000Z");
        assert_eq!(fmt_ms(w.end_ms), "2026-11-27T11:22:59.999Z");
    }

    #[test]
    fn consecutive_scheduled_windows_tile_without_gap_or_overlap() {
        let mut t = at("2026-11-27T00:00:00Z");
        let mut prev: Option<Window> = None;
        for _ in 0..500 {
            let w = scheduled_window(t, 300_000, 60_000).unwrap();
            if let Some(p) = prev {
                assert_eq!(p.end_ms + 1, w.start_ms);
            }
            prev = Some(w);
            t += chrono::Duration::minutes(5);
        }
    }

    #[test]
    fn late_delivery_within_the_minute_scans_the_same_window() {
        let a = scheduled_window(at("2026-11-27T11:25:00Z"), 300_000, 0).unwrap();
        let b = scheduled_window(at("2026-11-27T11:25:07Z"), 300_000, 0).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn scheduled_event_is_recognised_by_source_and_detail_type() {
        let ev = json!({"version":"0","id":"x","detail-type":"Scheduled Event","source":"aws.events",
            "account":"123456789012","time":"2026-11-27T11:25:00Z","region":"us-east-1","resources":[],"detail":{}});
        assert_eq!(
            parse_input(&ev).unwrap(),
            RunInput::Scheduled {
                time: at("2026-11-27T11:25:00Z")
            }
        );
    }

    #[test]
    fn backfill_input_gives_its_inclusive_window_and_regions() {
        let ev = json!({"start":"2026-11-27T10:00:00Z","end":"2026-11-27T10:59:59.999Z","regions":["us-west-2"]});
        let RunInput::Backfill { window, regions } = parse_input(&ev).unwrap() else {
            panic!("not a back-fill")
        };
        assert_eq!(fmt_ms(window.start_ms), "2026-11-27T10:00:00.000Z");
        assert_eq!(fmt_ms(window.end_ms), "2026-11-27T10:59:59.999Z");
        assert_eq!(regions, Some(vec!["us-west-2".to_string()]));
    }

    #[test]
    fn backfill_with_end_not_after_start_is_rejected() {
        let err =
            parse_input(&json!({"start":"2026-11-27T10:00:00Z","end":"2026-11-27T10:00:00Z"}))
                .unwrap_err();
        assert!(
            matches!(err, VerifierError::InvalidWindow(ref m) if m.contains("must be after start"))
        );
        let err =
            parse_input(&json!({"start":"2026-11-27T10:00:00Z","end":"2026-11-27T09:00:00Z"}))
                .unwrap_err();
        assert!(matches!(err, VerifierError::InvalidWindow(_)));
    }

    #[test]
    fn backfill_with_missing_or_unparseable_bounds_says_which_one() {
        let err = parse_input(&json!({"start":"2026-11-27T10:00:00Z"})).unwrap_err();
        assert!(err.to_string().contains("\"end\" is missing"), "{err}");
        let err =
            parse_input(&json!({"start":"yesterday","end":"2026-11-27T10:00:00Z"})).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"start\" \"yesterday\" is not RFC 3339"),
            "{err}"
        );
        let err = parse_input(&json!({"start":5,"end":"2026-11-27T10:00:00Z"})).unwrap_err();
        assert!(err.to_string().contains("got a number"), "{err}");
        let err = parse_input(&json!({"start":"2026-11-27T09:00:00Z","end":"2026-11-27T10:00:00Z","regions":["Moon"]}))
            .unwrap_err();
        assert!(err.to_string().contains("\"Moon\" is not one"), "{err}");
    }

    #[test]
    fn other_payloads_are_refused_with_what_was_expected() {
        let err = parse_input(&json!([1, 2])).unwrap_err();
        assert!(err.to_string().contains("got an array"));
        let err =
            parse_input(&json!({"source":"aws.s3","detail-type":"Object Created"})).unwrap_err();
        assert!(err.to_string().contains("Scheduled Event"));
        let err = parse_input(&json!({"source":"aws.events","detail-type":"Scheduled Event"}))
            .unwrap_err();
        assert!(err.to_string().contains("no \"time\""));
    }

    #[test]
    fn window_before_the_epoch_is_rejected() {
        assert!(scheduled_window(at("1970-01-01T00:01:00Z"), 300_000, 0).is_err());
    }
}
