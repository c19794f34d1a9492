//! The profile map: the validated config turned into lookups.
//!
//! - The router asks [`ProfileMap::resolve`] where a friendly model ID goes: the ID to send
//!   to Bedrock (profile ARN or model ID), the region (from the ARN, else the default
//!   region) and the model's capabilities.
//! - The verifier asks whether an application-profile ARN is one of ours
//!   ([`ProfileMap::profile_owner`]) and which friendly IDs route a raw model through a
//!   profile ([`ProfileMap::friendly_ids_routing`]), to classify invocation logs.
//!
//! A model "routes through a profile" when its friendly ID maps to an application
//! inference-profile ARN. The raw model behind such a profile is taken from the friendly ID
//! when it is a model or system-profile ID (LibreChat's convention), and can be added with
//! [`ProfileMap::learn_profile_model`] when Bedrock reports the profile's model source.
//!
//! Tenants layer their own `models` and `inferenceProfiles` over the shared map with
//! [`ProfileMap::layered`] (or get a map of their own from [`crate::tenants`]); the verifier
//! classifies everyone's traffic with [`ProfileMap::union`], which knows every tenant's
//! profiles. A friendly ID may have further profiles for the same model
//! (`additionalInferenceProfiles`, see [`ProfileMap::call_sites`]).
//!
//! Deviation from the first sketch: `resolve` returns `&Target` rather than an owned
//! value, so the per-request path does not copy; call `.clone()` where ownership is needed.

use std::collections::HashMap;

use crate::arn::{AppProfileArn, FoundationModelId, ModelRef};
use crate::catalog::{Capabilities, capabilities_for};
use crate::config::ProfileConfig;
use crate::model_names::{Aliases, ModelName};

/// Where a friendly model ID is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The ID the caller used.
    pub friendly_id: String,
    /// What is sent to Bedrock as `modelId`: the profile ARN or the model ID.
    pub call_id: String,
    /// The region the call goes to: the ARN's, else the default region.
    pub region: String,
    /// The application profile, when the call goes through one.
    pub profile: Option<AppProfileArn>,
    /// What the model behind the target can do.
    pub capabilities: Capabilities,
}

/// One place a friendly ID's calls can go: the ID sent as `modelId`, in which region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    /// The profile ARN or model ID.
    pub call_id: String,
    /// The ARN's region, else the default region.
    pub region: String,
}

/// A friendly ID the map does not serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// Not in `models`.
    #[error("model `{model}` is not served here{}; available models: {}", suggestion(model, available), available.join(", "))]
    UnknownModel {
        /// What the caller asked for.
        model: String,
        /// What is served, in config order.
        available: Vec<String>,
    },
}

fn suggestion(model: &str, available: &[String]) -> String {
    match crate::model_names::suggest(model, available) {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

/// Lookups built once per cold start from a [`ProfileConfig`].
#[derive(Debug, Clone, Default)]
pub struct ProfileMap {
    models: Vec<String>,
    targets: HashMap<String, Target>,
    /// Application-profile ARN (as displayed) → the friendly IDs that use it.
    by_profile: HashMap<String, Vec<String>>,
    /// Raw foundation-model ID → friendly IDs that route it through an application profile.
    routed: HashMap<String, Vec<String>>,
    allowed_inference_regions: Option<Vec<String>>,
    default_region: Option<String>,
    /// Friendly ID → further targets of the same model, after the primary one.
    pools: HashMap<String, Vec<ModelRef>>,
    /// Application profiles that are ours although no target here calls them (other
    /// tenants' profiles in a [`union`](Self::union)), with the friendly ID that uses them.
    also_ours: Vec<(String, AppProfileArn)>,
    /// `modelAliases`: other names for served models.
    aliases: Aliases,
    /// Every served model's names (of its friendly ID and of its call target), in config
    /// order, for callers that name a model in another scheme.
    names: Vec<(ModelName, String)>,
    /// Application-profile ARN → the first foundation model Bedrock says it runs
    /// ([`Self::learn_profile_model`]), what a call through it is priced by.
    learned: HashMap<String, String>,
}

impl ProfileMap {
    /// Builds the map from one config.
    pub fn new(config: &ProfileConfig) -> Self {
        let mut map = Self {
            allowed_inference_regions: config.allowed_inference_regions.clone(),
            default_region: config.default_region.clone(),
            ..Self::default()
        };
        map.apply(config);
        map
    }

    /// Builds a map where `overlay` (a tenant's own settings) wins over `base`: the
    /// overlay's models are added after the base ones, its `inferenceProfiles` replace the
    /// base mapping of the same friendly ID, its default region wins, and the inference
    /// allow-list is the intersection of both when both set one (a tenant may narrow the
    /// compliance boundary, never widen it).
    pub fn layered(base: &ProfileConfig, overlay: &ProfileConfig) -> Self {
        let allowed_inference_regions = match (
            &base.allowed_inference_regions,
            &overlay.allowed_inference_regions,
        ) {
            (Some(b), Some(o)) => Some(b.iter().filter(|r| o.contains(r)).cloned().collect()),
            (b, o) => o.clone().or_else(|| b.clone()),
        };
        let mut map = Self {
            allowed_inference_regions,
            default_region: overlay
                .default_region
                .clone()
                .or_else(|| base.default_region.clone()),
            ..Self::default()
        };
        map.apply(base);
        map.apply(overlay);
        map
    }

    /// The map for classifying traffic of everyone served from one document: `base` routes
    /// as [`new`](Self::new) does, and every application profile any of `others` (the tenants'
    /// effective configs) uses also counts as ours, owned by the friendly ID that uses it.
    /// Models only a tenant serves are added after the base ones.
    pub fn union<'a>(
        base: &ProfileConfig,
        others: impl IntoIterator<Item = &'a ProfileConfig>,
    ) -> Self {
        let mut map = Self::new(base);
        for other in others {
            for friendly in &other.models {
                if !map.targets.contains_key(friendly) {
                    map.insert(friendly, other.profile_for(friendly));
                    if let Some(pool) = other
                        .additional_profiles
                        .iter()
                        .find(|(k, _)| k == friendly)
                    {
                        map.pools.insert(friendly.clone(), pool.1.clone());
                    }
                    continue;
                }
                let targets = other
                    .profile_for(friendly)
                    .into_iter()
                    .chain(other.additional_profiles_for(friendly));
                for arn in targets.filter_map(ModelRef::app_profile) {
                    map.also_ours.push((friendly.clone(), arn.clone()));
                }
            }
        }
        map.rebuild_indexes();
        map
    }

    fn apply(&mut self, config: &ProfileConfig) {
        for alias in &config.model_aliases.0 {
            self.aliases.0.retain(|a| a.pattern != alias.pattern);
            self.aliases.0.push(alias.clone());
        }
        for friendly in &config.models {
            match config.profile_for(friendly) {
                Some(target) => {
                    self.insert(friendly, Some(target));
                    // A new mapping brings its own pool (or none): another config's extra
                    // profiles belong to the mapping they were listed with.
                    let pool = config.additional_profiles_for(friendly);
                    if pool.is_empty() {
                        self.pools.remove(friendly);
                    } else {
                        self.pools.insert(friendly.clone(), pool.to_vec());
                    }
                }
                // Listing a model again without a mapping keeps the mapping it already has.
                None if self.targets.contains_key(friendly) => {}
                None => self.insert(friendly, None),
            }
        }
        self.rebuild_indexes();
    }

    fn insert(&mut self, friendly: &str, target: Option<&ModelRef>) {
        if !self.models.iter().any(|m| m == friendly) {
            self.models.push(friendly.to_owned());
        }
        let call_id = target.map_or_else(|| friendly.to_owned(), ToString::to_string);
        let region = target
            .and_then(ModelRef::region)
            .map(str::to_owned)
            .or_else(|| self.default_region.clone())
            .unwrap_or_default();
        let mut capabilities = capabilities_for(friendly);
        if !capabilities.is_known() {
            capabilities = capabilities_for(&call_id);
        }
        self.targets.insert(
            friendly.to_owned(),
            Target {
                friendly_id: friendly.to_owned(),
                call_id,
                region,
                profile: target.and_then(ModelRef::app_profile).cloned(),
                capabilities,
            },
        );
    }

    fn rebuild_indexes(&mut self) {
        self.by_profile.clear();
        self.routed.clear();
        self.names.clear();
        for friendly in &self.models {
            let call_id = self.targets.get(friendly).map(|t| t.call_id.as_str());
            for spelling in std::iter::once(friendly.as_str()).chain(call_id) {
                if let Some(name) = ModelName::of(spelling)
                    && !self.names.iter().any(|(n, f)| *n == name && f == friendly)
                {
                    self.names.push((name, friendly.clone()));
                }
            }
        }
        let mut owned: Vec<(String, AppProfileArn)> = Vec::new();
        for friendly in &self.models {
            let Some(t) = self.targets.get(friendly) else {
                continue;
            };
            if let Some(profile) = &t.profile {
                owned.push((friendly.clone(), profile.clone()));
            }
            for extra in self.pools.get(friendly).into_iter().flatten() {
                if let Some(profile) = extra.app_profile() {
                    owned.push((friendly.clone(), profile.clone()));
                }
            }
        }
        owned.extend(self.also_ours.iter().cloned());
        for (friendly, profile) in owned {
            push_unique(
                self.by_profile.entry(profile.to_string()).or_default(),
                &friendly,
            );
            if let Some(model) = ModelRef::parse(&friendly)
                .ok()
                .and_then(|r| r.foundation_model().cloned())
            {
                push_unique(
                    self.routed.entry(model.as_str().to_owned()).or_default(),
                    &friendly,
                );
            }
        }
    }

    /// Every place `friendly`'s calls may go: its target first, then its
    /// `additionalInferenceProfiles` in config order. Empty when `friendly` is not served.
    pub fn call_sites(&self, friendly: &str) -> Vec<CallSite> {
        let Some(t) = self.targets.get(friendly) else {
            return Vec::new();
        };
        let mut sites = vec![CallSite {
            call_id: t.call_id.clone(),
            region: t.region.clone(),
        }];
        for extra in self.pools.get(friendly).into_iter().flatten() {
            sites.push(CallSite {
                call_id: extra.to_string(),
                region: extra
                    .region()
                    .map(str::to_owned)
                    .or_else(|| self.default_region.clone())
                    .unwrap_or_default(),
            });
        }
        sites
    }

    /// Where `friendly` goes. Lookups are exact and case-sensitive.
    pub fn resolve(&self, friendly: &str) -> Result<&Target, ResolveError> {
        self.targets
            .get(friendly)
            .ok_or_else(|| ResolveError::UnknownModel {
                model: friendly.to_owned(),
                available: self.models.clone(),
            })
    }

    /// Where a caller's model name goes, whatever scheme it is in: a friendly ID (exact), a
    /// `modelAliases` entry, one of our application-profile ARNs (served as the friendly ID that
    /// owns it), or another spelling of a served model (an Anthropic model name, a model or
    /// system-profile ID of it), preferring the same snapshot, then config order. The error
    /// lists what is served.
    pub fn find(&self, name: &str) -> Result<&Target, ResolveError> {
        if let Ok(target) = self.resolve(name) {
            return Ok(target);
        }
        let by_alias = || self.aliases.lookup(name);
        let by_profile = || self.profile_owner(name);
        let by_name = || {
            let asked = ModelName::of(name)?;
            let mut best: Option<(u8, &str)> = None;
            for (served, friendly) in &self.names {
                let score = asked.match_score(served);
                if score > best.map_or(0, |(s, _)| s) {
                    best = Some((score, friendly));
                }
            }
            best.map(|(_, f)| f)
        };
        by_alias()
            .or_else(by_profile)
            .or_else(by_name)
            .and_then(|friendly| self.targets.get(friendly))
            .ok_or_else(|| ResolveError::UnknownModel {
                model: name.to_owned(),
                available: self.models.clone(),
            })
    }

    /// Records that the application profile `arn` runs `model` (as Bedrock's
    /// GetInferenceProfile reports), so raw calls to that model count as mapping misses and
    /// the profile's targets get the model's capabilities when the friendly ID did not say.
    pub fn learn_profile_model(&mut self, arn: &AppProfileArn, model: &FoundationModelId) {
        let Some(friendly_ids) = self.by_profile.get(&arn.to_string()).cloned() else {
            return;
        };
        self.learned
            .entry(arn.to_string())
            .or_insert_with(|| model.as_str().to_owned());
        let routed = self.routed.entry(model.as_str().to_owned()).or_default();
        for f in &friendly_ids {
            push_unique(routed, f);
        }
        for f in &friendly_ids {
            if let Some(t) = self.targets.get_mut(f)
                && !t.capabilities.is_known()
            {
                t.capabilities = capabilities_for(model.as_str());
            }
        }
    }

    /// The foundation model the application profile `arn` runs, as learned from Bedrock.
    pub fn learned_model(&self, arn: &str) -> Option<&str> {
        self.learned.get(arn).map(String::as_str)
    }

    /// The friendly IDs served, in config order.
    pub fn models(&self) -> &[String] {
        &self.models
    }

    /// Every target, in config order.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.models.iter().filter_map(|m| self.targets.get(m))
    }

    /// The first friendly ID that uses the application profile `arn` (compared exactly, as
    /// Bedrock logs it), or `None` when the profile is not one of ours.
    pub fn profile_owner(&self, arn: &str) -> Option<&str> {
        self.by_profile
            .get(arn)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every application profile the map holds, as ARN strings.
    pub fn profile_arns(&self) -> impl Iterator<Item = &str> {
        self.by_profile.keys().map(String::as_str)
    }

    /// The friendly IDs that route the raw foundation model `model_id` through an
    /// application profile (empty when none does).
    pub fn friendly_ids_routing(&self, model_id: &str) -> &[String] {
        self.routed.get(model_id).map_or(&[], Vec::as_slice)
    }

    /// The friendly ID whose target is `reference` itself (an alias to a model or system
    /// profile, or a model served under its own ID).
    pub fn friendly_for_target(&self, reference: &ModelRef) -> Option<&str> {
        self.targets().find_map(|t| {
            let same = ModelRef::parse(&t.call_id).is_ok_and(|r| r.same_target(reference));
            same.then_some(t.friendly_id.as_str())
        })
    }

    /// The compliance allow-list for inference regions, when configured.
    pub fn allowed_inference_regions(&self) -> Option<&[String]> {
        self.allowed_inference_regions.as_deref()
    }

    /// Whether inference in `region` is allowed (always, when no allow-list is set).
    pub fn inference_region_allowed(&self, region: &str) -> bool {
        self.allowed_inference_regions
            .as_ref()
            .is_none_or(|list| list.iter().any(|r| r == region))
    }

    /// The region for targets that carry none.
    pub fn default_region(&self) -> Option<&str> {
        self.default_region.as_deref()
    }
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_owned());
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const ARN_A: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12";
    pub(crate) const ARN_B: &str =
        "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/zyxwvutsrq98";
    pub(crate) const SONNET: &str = "us.anthropic.claude-3-7-sonnet-20250219-v1:0";
    pub(crate) const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";
    pub(crate) const NOVA: &str = "amazon.nova-pro-v1:0";

    pub(crate) fn config(doc: &str) -> ProfileConfig {
        ProfileConfig::parse(doc, |k| (k == "AWS_REGION").then(|| "us-west-2".to_owned())).unwrap()
    }

    /// Sonnet and a friendly `team-model` go through app profiles; Haiku is served raw;
    /// `nova` is an alias to a model ID; regions are allow-listed.
    pub(crate) fn sample_map() -> ProfileMap {
        ProfileMap::new(&config(&format!(
            r#"
models: ["{SONNET}", "{HAIKU}", "team-model", "nova"]
inferenceProfiles:
  "{SONNET}": "{ARN_A}"
  team-model: "{ARN_B}"
  nova: "{NOVA}"
allowedInferenceRegions: [us-east-1, us-east-2, us-west-2]
"#
        )))
    }

    #[test]
    fn mapped_model_resolves_to_its_profile_and_the_arn_region() {
        let map = sample_map();
        let t = map.resolve(SONNET).unwrap();
        assert_eq!(t.call_id, ARN_A);
        assert_eq!(t.region, "us-east-1");
        assert_eq!(t.profile.as_ref().unwrap().to_string(), ARN_A);
        assert_eq!(t.capabilities.family, "claude-sonnet-3.7");
        let t = map.resolve("team-model").unwrap();
        assert_eq!(t.region, "eu-west-1");
    }

    #[test]
    fn unmapped_model_resolves_to_itself_in_the_default_region() {
        let map = sample_map();
        let t = map.resolve(HAIKU).unwrap();
        assert_eq!(t.call_id, HAIKU);
        assert_eq!(t.region, "us-west-2");
        assert_eq!(t.profile, None);
        assert_eq!(t.capabilities.family, "claude-haiku-3");
    }

    #[test]
    fn alias_takes_capabilities_from_its_target() {
        let t = sample_map().resolve("nova").unwrap().clone();
        assert_eq!(t.call_id, NOVA);
        assert_eq!(t.capabilities.family, "nova-pro");
    }

    #[test]
    fn unknown_model_lists_what_is_available() {
        let map = sample_map();
        let e = map.resolve("gpt-4").unwrap_err();
        let ResolveError::UnknownModel { model, available } = &e;
        assert_eq!(model, "gpt-4");
        assert_eq!(
            available,
            &vec![
                SONNET.to_owned(),
                HAIKU.into(),
                "team-model".into(),
                "nova".into()
            ]
        );
        assert!(e.to_string().contains("available models"), "{e}");
    }

    #[test]
    fn lookups_are_case_sensitive_and_suggest_the_right_case() {
        let map = sample_map();
        let e = map.resolve(&SONNET.to_uppercase()).unwrap_err();
        assert!(
            e.to_string().contains(&format!("did you mean `{SONNET}`")),
            "{e}"
        );
    }

    #[test]
    fn profile_owner_knows_our_arns_only() {
        let map = sample_map();
        assert_eq!(map.profile_owner(ARN_A), Some(SONNET));
        assert_eq!(map.profile_owner(ARN_B), Some("team-model"));
        assert_eq!(
            map.profile_owner(&ARN_A.replace("abcdefghij12", "000000000000")),
            None
        );
        let mut arns: Vec<_> = map.profile_arns().collect();
        arns.sort_unstable();
        assert_eq!(arns, vec![ARN_B, ARN_A]);
    }

    #[test]
    fn raw_model_behind_a_profiled_friendly_id_is_indexed() {
        let map = sample_map();
        assert_eq!(
            map.friendly_ids_routing("anthropic.claude-3-7-sonnet-20250219-v1:0"),
            &[SONNET.to_owned()]
        );
        assert!(map.friendly_ids_routing(HAIKU).is_empty());
        assert!(
            map.friendly_ids_routing(NOVA).is_empty(),
            "aliases are not profiles"
        );
    }

    #[test]
    fn learned_profile_model_joins_the_index_and_fills_capabilities() {
        let mut map = sample_map();
        assert!(!map.resolve("team-model").unwrap().capabilities.is_known());
        let arn = AppProfileArn::parse(ARN_B).unwrap();
        let model = FoundationModelId::parse("meta.llama3-1-70b-instruct-v1:0").unwrap();
        map.learn_profile_model(&arn, &model);
        assert_eq!(
            map.friendly_ids_routing(model.as_str()),
            &["team-model".to_owned()]
        );
        assert_eq!(
            map.resolve("team-model").unwrap().capabilities.family,
            "llama3.1"
        );
        // A profile that is not ours teaches nothing.
        let foreign = AppProfileArn::parse(&ARN_B.replace("zyxwvutsrq98", "000000000000")).unwrap();
        map.learn_profile_model(&foreign, &FoundationModelId::parse(NOVA).unwrap());
        assert!(map.friendly_ids_routing(NOVA).is_empty());
        // The profile's model is what its calls are priced by.
        assert_eq!(map.learned_model(ARN_B), Some(model.as_str()));
        assert_eq!(map.learned_model(&foreign.to_string()), None);
    }

    #[test]
    fn friendly_for_target_matches_id_and_arn_forms() {
        let map = sample_map();
        let arn = ModelRef::parse(&format!(
            "arn:aws:bedrock:us-west-2::foundation-model/{NOVA}"
        ))
        .unwrap();
        assert_eq!(map.friendly_for_target(&arn), Some("nova"));
        assert_eq!(
            map.friendly_for_target(&ModelRef::parse(HAIKU).unwrap()),
            Some(HAIKU)
        );
        assert_eq!(
            map.friendly_for_target(&ModelRef::parse("amazon.nova-lite-v1:0").unwrap()),
            None
        );
    }

    #[test]
    fn inference_region_allow_list_is_exact() {
        let map = sample_map();
        assert!(map.inference_region_allowed("us-east-2"));
        assert!(!map.inference_region_allowed("eu-west-1"));
        let open = ProfileMap::new(&config(&format!("models: [\"{HAIKU}\"]")));
        assert!(open.inference_region_allowed("ap-south-1"));
        assert_eq!(open.allowed_inference_regions(), None);
    }

    #[test]
    fn tenant_listing_a_model_without_mapping_keeps_the_shared_profile() {
        let base = config(&format!(
            "models: [\"{SONNET}\"]\ninferenceProfiles: {{\"{SONNET}\": \"{ARN_A}\"}}"
        ));
        let tenant = config(&format!("models: [\"{SONNET}\", \"{NOVA}\"]"));
        let map = ProfileMap::layered(&base, &tenant);
        assert_eq!(map.resolve(SONNET).unwrap().call_id, ARN_A);
        assert_eq!(map.profile_owner(ARN_A), Some(SONNET));
        assert_eq!(map.resolve(NOVA).unwrap().call_id, NOVA);
    }

    #[test]
    fn tenant_overlay_overrides_mappings_and_narrows_the_allow_list() {
        let base = config(&format!(
            "models: [\"{SONNET}\", \"{HAIKU}\"]\ninferenceProfiles: {{\"{SONNET}\": \"{ARN_A}\"}}\nallowedInferenceRegions: [us-east-1, us-west-2]"
        ));
        let tenant = config(&format!(
            "models: [\"{SONNET}\", \"{NOVA}\", \"{HAIKU}\"]\ninferenceProfiles: {{\"{SONNET}\": \"{ARN_B}\"}}\nallowedInferenceRegions: [us-west-2, eu-west-1]\ndefaultRegion: eu-west-1"
        ));
        let map = ProfileMap::layered(&base, &tenant);
        assert_eq!(
            map.models(),
            &[SONNET.to_owned(), HAIKU.into(), NOVA.into()]
        );
        assert_eq!(map.resolve(SONNET).unwrap().call_id, ARN_B);
        assert_eq!(
            map.profile_owner(ARN_A),
            None,
            "the overridden profile is no longer ours here"
        );
        assert_eq!(map.profile_owner(ARN_B), Some(SONNET));
        assert_eq!(
            map.allowed_inference_regions(),
            Some(&["us-west-2".to_owned()][..])
        );
        assert_eq!(map.default_region(), Some("eu-west-1"));
        assert_eq!(map.resolve(NOVA).unwrap().region, "eu-west-1");
        assert_eq!(
            map.resolve(HAIKU).unwrap().region,
            "eu-west-1",
            "the tenant's default region applies"
        );
        // The shared map is untouched.
        assert_eq!(
            ProfileMap::new(&base).resolve(SONNET).unwrap().call_id,
            ARN_A
        );
    }

    #[test]
    fn find_serves_aliases_our_arns_and_other_spellings_of_served_models() {
        let doc = format!(
            "models: [\"us.anthropic.claude-haiku-4-5-20251001-v1:0\", \"team-opus\", \"amazon.nova-lite-v1:0\"]\n\
             inferenceProfiles:\n  \"us.anthropic.claude-haiku-4-5-20251001-v1:0\": \"{ARN_A}\"\n  team-opus: \"us.anthropic.claude-opus-5-5-v1:0\"\n\
             modelAliases:\n  \"claude-3-*\": \"amazon.nova-lite-v1:0\"\n\
             defaultRegion: us-east-1\n"
        );
        let config = ProfileConfig::parse(&doc, |_| None).unwrap();
        let map = ProfileMap::new(&config);
        let friendly = |name: &str| map.find(name).map(|t| t.friendly_id.clone());
        let haiku = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
        assert_eq!(friendly("claude-haiku-4-5-20251001").unwrap(), haiku);
        assert_eq!(friendly("claude-haiku-4-5").unwrap(), haiku);
        assert_eq!(
            friendly("anthropic.claude-haiku-4-5-20251001-v1:0").unwrap(),
            haiku,
            "a raw model ID goes through the profile"
        );
        assert_eq!(friendly(ARN_A).unwrap(), haiku);
        assert_eq!(friendly("claude-opus-5-5").unwrap(), "team-opus");
        assert_eq!(
            friendly("claude-3-5-haiku-20241022").unwrap(),
            "amazon.nova-lite-v1:0"
        );
        let err = map.find("claude-sonnet-4-5").unwrap_err().to_string();
        assert!(err.contains("available models: us.anthropic"), "{err}");
        assert!(map.find("CLAUDE-HAIKU-4-5").is_err(), "case-sensitive");
    }
}
