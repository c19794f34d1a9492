//! What the report needs to know about one log record, independent of how it was classified.
//!
//! The scan loop may hold a few of these back (the events of the last millisecond seen, so a
//! stopped run can resume exactly), so they stay small: no prompt or completion text, only IDs.

use serde::Serialize;

/// The five primary classes; every record gets exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Called through an application-profile ARN the config maps.
    Profiled,
    /// Called by the raw ID (or ARN) of a model the config routes through a profile.
    MappingMiss,
    /// Called with a model the config does not route through any profile.
    Unmapped,
    /// Called through an application-profile ARN the config does not hold.
    UnknownProfile,
    /// Not a readable invocation-log record.
    Malformed,
}

impl Class {
    pub const ALL: [Class; 5] = [
        Class::Profiled,
        Class::MappingMiss,
        Class::Unmapped,
        Class::UnknownProfile,
        Class::Malformed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Profiled => "profiled",
            Class::MappingMiss => "mapping_miss",
            Class::Unmapped => "unmapped",
            Class::UnknownProfile => "unknown_profile",
            Class::Malformed => "malformed",
        }
    }
}

/// One classified record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observation {
    pub class: Option<Class>,
    /// `modelId` exactly as the caller sent it.
    pub model_id: Option<String>,
    /// The friendly ID the config knows this model or profile by.
    pub friendly_id: Option<String>,
    pub region_violation: bool,
    pub inference_region: Option<String>,
    /// `errorCode` of a failed call.
    pub error_code: Option<String>,
    /// The failure message mentions AWS Marketplace (model agreement / subscription).
    pub marketplace_hint: bool,
    /// `identity.arn` of the caller.
    pub caller: Option<String>,
    /// `requestMetadata`, compact JSON, cut to a bounded length.
    pub request_metadata: Option<String>,
    /// Tokens, source region, tenant and caller: what prices the call and says whose it was.
    pub usage: shared::invocation_log::RecordUsage,
    /// The model the call is priced by (never an application profile's ARN); `None` when
    /// nothing names it, and the call is then unpriced.
    pub priced_model: Option<String>,
    /// What the call cost, by [`Self::priced_model`] and the region it was sent to.
    pub cost: Option<shared::prices::Cost>,
}

impl Observation {
    pub fn class(&self) -> Class {
        self.class.unwrap_or(Class::Malformed)
    }

    pub fn malformed() -> Self {
        Observation {
            class: Some(Class::Malformed),
            ..Observation::default()
        }
    }
}

/// Turns a log message into an observation. Must never panic, whatever the message holds.
pub trait Classifier {
    fn observe(&self, message: &str) -> Observation;
}

/// Most distinct keys any per-model, per-profile, per-tenant or per-caller map holds.
pub const MAX_KEYS: usize = 1000;
/// The bucket that absorbs keys past the cap.
pub const OTHER: &str = "(other)";

/// The entry for `key` in a map that holds at most `cap` keys: past the cap, new keys share
/// the [`OTHER`] entry, so a map's memory is bounded whatever the traffic.
pub fn capped_entry<'a, V: Default>(
    map: &'a mut std::collections::HashMap<String, V>,
    key: &str,
    cap: usize,
) -> &'a mut V {
    let key = if map.contains_key(key) || map.len() < cap {
        key
    } else {
        OTHER
    };
    map.entry(key.to_owned()).or_default()
}

/// Longest `requestMetadata` kept per caller entry; the API allows 16 pairs of 256-byte strings.
pub const METADATA_MAX: usize = 512;

/// Cuts a string to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("ééé", 3), "é…");
    }

    #[test]
    fn a_missing_class_counts_as_malformed() {
        assert_eq!(Observation::default().class(), Class::Malformed);
    }
}
