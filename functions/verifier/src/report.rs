//! Counting observations and turning the counts into the run's report.
//!
//! Memory stays bounded whatever the log volume: every per-key map is capped at [`MAX_KEYS`]
//! entries and later keys are folded into [`OTHER`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::cost::{CostReport, CostTally};
use crate::doctor::DoctorReport;
use crate::observe::capped_entry;
use crate::observe::{Class, METADATA_MAX, Observation, truncate};
pub use crate::observe::{MAX_KEYS, OTHER};
use crate::window::WindowJson;

/// Callers kept per finding.
pub const MAX_CALLERS: usize = 25;
/// Callers shown per finding.
pub const SHOWN_CALLERS: usize = 5;

/// The report's `counts`: the five classes (they sum to `records`) and the two flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub profiled: u64,
    pub mapping_miss: u64,
    pub unmapped: u64,
    pub unknown_profile: u64,
    pub malformed: u64,
    pub region_violation: u64,
    pub error: u64,
}

impl Counts {
    fn add(&mut self, o: &Observation) {
        match o.class() {
            Class::Profiled => self.profiled += 1,
            Class::MappingMiss => self.mapping_miss += 1,
            Class::Unmapped => self.unmapped += 1,
            Class::UnknownProfile => self.unknown_profile += 1,
            Class::Malformed => self.malformed += 1,
        }
        if o.region_violation {
            self.region_violation += 1;
        }
        if o.error_code.is_some() {
            self.error += 1;
        }
    }

    pub fn classes_total(&self) -> u64 {
        self.profiled + self.mapping_miss + self.unmapped + self.unknown_profile + self.malformed
    }
}

/// One entry of `by_model`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModelCounts {
    pub records: u64,
    #[serde(flatten)]
    pub counts: Counts,
    /// Profiled records per profile ARN.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub profiles: BTreeMap<String, u64>,
}

/// A caller seen bypassing the profiles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_metadata: Option<String>,
    pub count: u64,
}

/// Something wrong (or worth knowing) and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub class: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub count: u64,
    pub remedy: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub callers: Vec<Caller>,
    /// For `incomplete_scan`: the exact back-fill input that finishes the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume: Option<Value>,
}

impl Finding {
    /// Whether this finding is a problem someone should hear about (as opposed to information).
    pub fn is_problem(&self) -> bool {
        self.class != "unmapped"
    }
}

/// The function's result. The top level is a stable contract: exactly these eight keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub window: WindowJson,
    pub complete: bool,
    pub records: u64,
    pub counts: Counts,
    pub by_model: BTreeMap<String, ModelCounts>,
    pub findings: Vec<Finding>,
    pub doctor: DoctorReport,
    /// What the window's successful calls cost.
    pub cost: CostReport,
}

impl Report {
    /// Whether anything in the report deserves an alert.
    pub fn has_problems(&self) -> bool {
        !self.complete || self.findings.iter().any(Finding::is_problem) || !self.doctor.ok
    }
}

/// What the config says, as far as findings need it.
#[derive(Debug, Clone, Default)]
pub struct FindingContext {
    /// Friendly ID -> profile ARN (`inferenceProfiles` after expansion).
    pub profiles: BTreeMap<String, String>,
    /// `models`.
    pub models: Vec<String>,
    /// `allowedInferenceRegions`, when set.
    pub allowed_regions: Option<Vec<String>>,
    /// The configured tenants' names: the only `Tenant` dimension values the metrics write
    /// (a caller can put anything in `requestMetadata`).
    pub tenants: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct Bypass {
    count: u64,
    friendly: Option<String>,
    callers: HashMap<(Option<String>, Option<String>), u64>,
}

impl Bypass {
    fn add(&mut self, o: &Observation) {
        self.count += 1;
        if self.friendly.is_none() {
            self.friendly.clone_from(&o.friendly_id);
        }
        let key = (
            o.caller.as_deref().map(|c| truncate(c, 256)),
            o.request_metadata
                .as_deref()
                .map(|m| truncate(m, METADATA_MAX)),
        );
        if let Some(n) = self.callers.get_mut(&key) {
            *n += 1;
        } else if self.callers.len() < MAX_CALLERS {
            self.callers.insert(key, 1);
        } else {
            *self
                .callers
                .entry((Some(OTHER.to_string()), None))
                .or_insert(0) += 1;
        }
    }

    fn top_callers(&self) -> Vec<Caller> {
        let mut v: Vec<Caller> = self
            .callers
            .iter()
            .map(|((identity, md), n)| Caller {
                identity: identity.clone(),
                request_metadata: md.clone(),
                count: *n,
            })
            .collect();
        v.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.identity.cmp(&b.identity))
        });
        v.truncate(SHOWN_CALLERS);
        v
    }
}

/// Streaming counters for one run.
#[derive(Debug, Default)]
pub struct Tally {
    pub counts: Counts,
    by_model: BTreeMap<String, ModelCounts>,
    misses: HashMap<String, Bypass>,
    unmapped: HashMap<String, Bypass>,
    unknown_profiles: HashMap<String, Bypass>,
    region_violations: HashMap<String, (u64, BTreeSet<String>)>,
    errors: HashMap<(String, String, bool), u64>,
    cost: CostTally,
}

impl Tally {
    pub fn records(&self) -> u64 {
        self.counts.classes_total()
    }

    pub fn add(&mut self, o: &Observation) {
        self.counts.add(o);
        self.cost.add(o);
        let class = o.class();
        let model_key = o.friendly_id.as_deref().or(o.model_id.as_deref());
        if let Some(key) = model_key {
            let key = if self.by_model.contains_key(key) || self.by_model.len() < MAX_KEYS {
                key
            } else {
                OTHER
            };
            let entry = self.by_model.entry(key.to_string()).or_default();
            entry.records += 1;
            entry.counts.add(o);
            if class == Class::Profiled
                && let Some(arn) = &o.model_id
                && (entry.profiles.contains_key(arn) || entry.profiles.len() < MAX_KEYS)
            {
                *entry.profiles.entry(arn.clone()).or_insert(0) += 1;
            }
        }
        let model_id = o.model_id.as_deref().unwrap_or("(none)");
        match class {
            Class::MappingMiss => capped_entry(&mut self.misses, model_id, MAX_KEYS).add(o),
            Class::Unmapped => capped_entry(&mut self.unmapped, model_id, MAX_KEYS).add(o),
            Class::UnknownProfile => {
                capped_entry(&mut self.unknown_profiles, model_id, MAX_KEYS).add(o)
            }
            Class::Profiled | Class::Malformed => {}
        }
        if o.region_violation {
            let key = model_key.unwrap_or("(none)");
            let e = capped_entry(&mut self.region_violations, key, MAX_KEYS);
            e.0 += 1;
            if let Some(r) = &o.inference_region
                && e.1.len() < 32
            {
                e.1.insert(truncate(r, 32));
            }
        }
        if let Some(code) = &o.error_code {
            let key = (truncate(code, 64), model_id.to_string(), o.marketplace_hint);
            if let Some(n) = self.errors.get_mut(&key) {
                *n += 1;
            } else if self.errors.len() < MAX_KEYS {
                self.errors.insert(key, 1);
            } else {
                *self
                    .errors
                    .entry((OTHER.to_string(), OTHER.to_string(), false))
                    .or_insert(0) += 1;
            }
        }
    }

    /// Builds the findings, problems first, each list ordered by count then name so the report
    /// is deterministic.
    pub fn findings(&self, ctx: &FindingContext) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut misses: Vec<_> = self.misses.iter().collect();
        misses.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
        for (model, b) in misses {
            let target = b
                .friendly
                .as_ref()
                .and_then(|f| ctx.profiles.get(f).map(|arn| (f, arn)));
            let remedy = match target {
                Some((friendly, arn)) => format!(
                    "calls to {model} bypass the profile {arn} mapped for {friendly}: send the \
                     friendly ID {friendly} through the router (or call the profile ARN) so cost \
                     and traffic land on the profile"
                ),
                None => format!(
                    "calls to {model} bypass the application inference profile the config maps \
                     for this model: send the friendly ID through the router (or call the \
                     profile ARN)"
                ),
            };
            out.push(Finding {
                class: "mapping_miss".into(),
                model: Some(model.clone()),
                profile: target.map(|(_, arn)| arn.clone()),
                count: b.count,
                remedy,
                callers: b.top_callers(),
                resume: None,
            });
        }
        // A key that differs from what callers send only by case never matches: lookups are exact.
        let mut case_models: Vec<(&String, u64)> = self
            .misses
            .iter()
            .chain(self.unmapped.iter())
            .map(|(m, b)| (m, b.count))
            .collect();
        case_models.sort();
        for (model, count) in case_models {
            let near = ctx
                .profiles
                .keys()
                .chain(ctx.models.iter())
                .find(|k| *k != model && k.eq_ignore_ascii_case(model));
            if let Some(key) = near {
                out.push(Finding {
                    class: "key_case_mismatch".into(),
                    model: Some(model.clone()),
                    profile: ctx.profiles.get(key).cloned(),
                    count,
                    remedy: format!(
                        "the configured key {key:?} differs from the model ID callers send \
                         ({model:?}) only by case and lookups are exact: rename the key to \
                         {model:?} in both models and inferenceProfiles"
                    ),
                    callers: Vec::new(),
                    resume: None,
                });
            }
        }
        let mut unknown: Vec<_> = self.unknown_profiles.iter().collect();
        unknown.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
        for (arn, b) in unknown {
            out.push(Finding {
                class: "unknown_profile".into(),
                model: None,
                profile: Some(arn.clone()),
                count: b.count,
                remedy: format!(
                    "{arn} is an application inference profile the config does not map: add it \
                     to inferenceProfiles under its friendly ID (and to models), or find the \
                     callers below and move them to a mapped profile"
                ),
                callers: b.top_callers(),
                resume: None,
            });
        }
        let mut regions: Vec<_> = self.region_violations.iter().collect();
        regions.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(b.0)));
        for (model, (count, seen)) in regions {
            let seen: Vec<&str> = seen.iter().map(String::as_str).collect();
            let allowed = ctx
                .allowed_regions
                .as_ref()
                .map(|a| a.join(", "))
                .unwrap_or_else(|| "(not set)".into());
            out.push(Finding {
                class: "region_violation".into(),
                model: Some(model.clone()),
                profile: ctx.profiles.get(model).cloned(),
                count: *count,
                remedy: format!(
                    "served in {} outside allowedInferenceRegions [{allowed}]: back the model with \
                     a profile whose regions are all allowed (a single-region application profile \
                     copied from the foundation model, or a geo profile inside the allow-list), \
                     or widen the allow-list if policy permits",
                    if seen.is_empty() {
                        "an unknown region".to_string()
                    } else {
                        seen.join(", ")
                    }
                ),
                callers: Vec::new(),
                resume: None,
            });
        }
        let mut errors: Vec<_> = self.errors.iter().collect();
        errors.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        for ((code, model, marketplace), count) in errors {
            let (class, remedy) = diagnose_error(code, model, *marketplace);
            let is_profile = shared::arn::is_app_profile_arn(model);
            out.push(Finding {
                class: class.into(),
                model: (!is_profile).then(|| model.clone()),
                profile: is_profile.then(|| model.clone()),
                count: *count,
                remedy,
                callers: Vec::new(),
                resume: None,
            });
        }
        if self.counts.malformed > 0 {
            out.push(Finding {
                class: "malformed".into(),
                model: None,
                profile: None,
                count: self.counts.malformed,
                remedy:
                    "records in the group are not Bedrock model-invocation log JSON: make sure \
                         only Bedrock invocation logging writes to this group"
                        .into(),
                callers: Vec::new(),
                resume: None,
            });
        }
        let mut unmapped: Vec<_> = self.unmapped.iter().collect();
        unmapped.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
        for (model, b) in unmapped {
            out.push(Finding {
                class: "unmapped".into(),
                model: Some(model.clone()),
                profile: None,
                count: b.count,
                remedy: format!(
                    "{model} is called without any application inference profile: map it in \
                     inferenceProfiles if its cost must be attributed"
                ),
                callers: b.top_callers(),
                resume: None,
            });
        }
        out
    }

    /// The `cost` section.
    pub fn cost(&self) -> CostReport {
        self.cost.report()
    }

    pub fn by_model(&self) -> BTreeMap<String, ModelCounts> {
        self.by_model.clone()
    }
}

/// The remedy for a failed call, from its error code and what the caller sent.
pub fn diagnose_error(code: &str, model: &str, marketplace: bool) -> (&'static str, String) {
    let app_profile = shared::arn::is_app_profile_arn(model);
    match code {
        "AccessDeniedException" if marketplace => (
            "model_agreement",
            format!(
                "access to {model} was denied for its AWS Marketplace subscription: the model \
                 agreement is not in place, or was just accepted and is still propagating (allow \
                 up to 15 minutes). Request access to the model in the Bedrock console (Model \
                 access) in this account and region, or check GetFoundationModelAvailability"
            ),
        ),
        "AccessDeniedException" => (
            "access_denied",
            format!(
                "the caller is not allowed to invoke {model}: grant bedrock:InvokeModel* on the \
                 profile ARN and on the foundation models in every region the profile routes to"
            ),
        ),
        "ResourceNotFoundException" if app_profile => {
            let region = model.split(':').nth(3).unwrap_or("its region");
            (
                "profile_not_found",
                format!(
                    "{model} was not found: the profile was deleted, or the call went to a region \
                     other than the ARN's ({region}). Call it in {region}, or recreate it and \
                     update inferenceProfiles"
                ),
            )
        }
        "ResourceNotFoundException" => (
            "model_not_found",
            format!(
                "{model} was not found in the region called: the ID is wrong or the model is not \
                 offered (or has reached end of life) there"
            ),
        ),
        "ThrottlingException" | "ServiceQuotaExceededException" => (
            "throttled",
            format!(
                "calls to {model} were throttled: raise the quota, or spread load over a \
                 cross-region profile or several profiles"
            ),
        ),
        "ValidationException" => (
            "validation_error",
            format!(
                "calls to {model} were rejected as invalid; if the model is profile-only, call it \
                 through an inference profile instead of its foundation-model ID"
            ),
        ),
        _ => (
            "error",
            format!("calls to {model} failed with {code}: see the caller's error for details"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(class: Class, model: &str) -> Observation {
        Observation {
            class: Some(class),
            model_id: Some(model.into()),
            ..Observation::default()
        }
    }

    const ARN: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123def456";

    #[test]
    fn classes_sum_to_records_and_flags_are_independent() {
        let mut t = Tally::default();
        t.add(&obs(Class::Profiled, ARN));
        let mut o = obs(Class::MappingMiss, "anthropic.claude-3-haiku-20240307-v1:0");
        o.region_violation = true;
        o.error_code = Some("ThrottlingException".into());
        t.add(&o);
        t.add(&Observation::malformed());
        assert_eq!(t.records(), 3);
        assert_eq!(t.counts.profiled, 1);
        assert_eq!(t.counts.mapping_miss, 1);
        assert_eq!(t.counts.malformed, 1);
        assert_eq!(t.counts.region_violation, 1);
        assert_eq!(t.counts.error, 1);
    }

    #[test]
    fn marketplace_access_denied_is_diagnosed_as_a_missing_agreement() {
        let (class, remedy) = diagnose_error("AccessDeniedException", "m", true);
        assert_eq!(class, "model_agreement");
        assert!(remedy.contains("agreement is not in place"));
        assert!(remedy.contains("propagating"));
        assert_eq!(
            diagnose_error("AccessDeniedException", "m", false).0,
            "access_denied"
        );
    }

    #[test]
    fn missing_app_profile_is_diagnosed_as_wrong_region_or_deleted() {
        let (class, remedy) = diagnose_error("ResourceNotFoundException", ARN, false);
        assert_eq!(class, "profile_not_found");
        assert!(remedy.contains("deleted"));
        assert!(remedy.contains("us-east-1"));
        assert_eq!(
            diagnose_error("ResourceNotFoundException", "amazon.nova-pro-v1:0", false).0,
            "model_not_found"
        );
    }

    #[test]
    fn mapping_miss_differing_only_by_case_names_the_key_to_fix() {
        let mut t = Tally::default();
        t.add(&obs(
            Class::Unmapped,
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        ));
        let ctx = FindingContext {
            profiles: BTreeMap::from([(
                "US.Anthropic.claude-3-7-sonnet-20250219-v1:0".to_string(),
                ARN.to_string(),
            )]),
            ..FindingContext::default()
        };
        let f = t.findings(&ctx);
        let case = f.iter().find(|f| f.class == "key_case_mismatch").unwrap();
        assert!(
            case.remedy
                .contains("\"US.Anthropic.claude-3-7-sonnet-20250219-v1:0\"")
        );
        assert!(
            case.remedy
                .contains("rename the key to \"us.anthropic.claude-3-7-sonnet-20250219-v1:0\"")
        );
        assert_eq!(case.profile.as_deref(), Some(ARN));
    }

    #[test]
    fn mapping_miss_findings_name_the_callers_that_bypass_the_profile() {
        let mut t = Tally::default();
        for i in 0..3 {
            let mut o = obs(Class::MappingMiss, "anthropic.claude-3-haiku-20240307-v1:0");
            o.friendly_id = Some("haiku".into());
            o.caller = Some(format!("arn:aws:iam::123456789012:user/u{}", i % 2));
            o.request_metadata = Some("{\"app\":\"batch\"}".into());
            t.add(&o);
        }
        let ctx = FindingContext {
            profiles: BTreeMap::from([("haiku".to_string(), ARN.to_string())]),
            ..FindingContext::default()
        };
        let f = t.findings(&ctx);
        assert_eq!(f[0].class, "mapping_miss");
        assert_eq!(f[0].count, 3);
        assert_eq!(f[0].profile.as_deref(), Some(ARN));
        assert!(f[0].remedy.contains("friendly ID haiku"));
        assert_eq!(
            f[0].callers[0].identity.as_deref(),
            Some("arn:aws:iam::123456789012:user/u0")
        );
        assert_eq!(f[0].callers[0].count, 2);
        assert_eq!(
            f[0].callers[0].request_metadata.as_deref(),
            Some("{\"app\":\"batch\"}")
        );
    }

    #[test]
    fn per_model_map_is_capped_so_memory_stays_bounded() {
        let mut t = Tally::default();
        for i in 0..(MAX_KEYS + 50) {
            t.add(&obs(Class::Unmapped, &format!("vendor.model-{i}")));
        }
        let by_model = t.by_model();
        assert_eq!(by_model.len(), MAX_KEYS + 1);
        assert_eq!(by_model[OTHER].records, 50);
        assert_eq!(t.unmapped.len(), MAX_KEYS + 1);
    }

    #[test]
    fn profiled_records_are_counted_per_profile_under_the_friendly_id() {
        let mut t = Tally::default();
        let mut o = obs(Class::Profiled, ARN);
        o.friendly_id = Some("sonnet".into());
        t.add(&o);
        t.add(&o);
        let by_model = t.by_model();
        assert_eq!(by_model["sonnet"].profiles[ARN], 2);
        assert_eq!(by_model["sonnet"].counts.profiled, 2);
    }

    #[test]
    fn unmapped_traffic_is_information_not_a_problem() {
        let mut t = Tally::default();
        t.add(&obs(Class::Unmapped, "amazon.nova-pro-v1:0"));
        let f = t.findings(&FindingContext::default());
        assert_eq!(f.len(), 1);
        assert!(!f[0].is_problem());
    }
}
