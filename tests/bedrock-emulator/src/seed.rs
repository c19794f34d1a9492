//! The seed file (`--seed FILE`, JSON or YAML): model access states, logging configurations
//! and application inference profiles that exist from the start and after every reset.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::EmulatorError;
use crate::arn;
use crate::catalog;
use crate::control;
use crate::runtime::RuntimeSeed;
use crate::state::{AppProfile, ModelAccessPatch, RegionState};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedFile {
    #[serde(default)]
    model_access: Vec<AccessEntry>,
    #[serde(default)]
    logging_configurations: BTreeMap<String, Value>,
    #[serde(default)]
    inference_profiles: Vec<ProfileEntry>,
    /// Faults and pace, handed to the runtime (which keeps them across resets).
    #[serde(default)]
    runtime: RuntimeSeed,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AccessEntry {
    model_id: String,
    #[serde(default)]
    regions: Option<Vec<String>>,
    #[serde(flatten)]
    patch: ModelAccessPatch,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProfileEntry {
    region: String,
    inference_profile_name: String,
    copy_from: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// A validated seed, ready to apply on every reset.
#[derive(Debug, Default, Clone)]
pub struct Seed {
    access: Vec<(String, String, ModelAccessPatch)>,
    logging: Vec<(String, Value)>,
    profiles: Vec<(String, AppProfile, BTreeMap<String, String>)>,
    runtime: RuntimeSeed,
}

const SEED_TIME: &str = "2025-01-01T00:00:00Z";

impl Seed {
    /// Reads and validates a seed file; `.json` files are JSON, anything else YAML.
    pub fn load(path: &Path, account_id: &str) -> Result<Self, EmulatorError> {
        let text = std::fs::read_to_string(path).map_err(|source| EmulatorError::SeedRead {
            path: path.display().to_string(),
            source,
        })?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let file: SeedFile = if is_json {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            serde_saphyr::from_str(&text).map_err(|e| e.to_string())
        }
        .map_err(|message| EmulatorError::SeedInvalid {
            path: path.display().to_string(),
            message,
        })?;
        Self::from_file(file, account_id).map_err(|message| EmulatorError::SeedInvalid {
            path: path.display().to_string(),
            message,
        })
    }

    fn from_file(file: SeedFile, account_id: &str) -> Result<Self, String> {
        let mut seed = Seed {
            runtime: file.runtime,
            ..Seed::default()
        };
        for entry in file.model_access {
            let regions = entry.regions.clone().unwrap_or_else(|| {
                catalog::SEEDED_REGIONS
                    .iter()
                    .map(|r| r.to_string())
                    .collect()
            });
            for region in regions {
                let model =
                    catalog::availability_model(&region, &entry.model_id).ok_or_else(|| {
                        format!(
                            "modelAccess: model {} is not in the catalog of {region}",
                            entry.model_id
                        )
                    })?;
                seed.access
                    .push((region, model.id.to_string(), entry.patch.clone()));
            }
        }
        for (region, config) in file.logging_configurations {
            control::validate_logging_config(&config)
                .map_err(|e| format!("loggingConfigurations.{region}: {}", e.message))?;
            seed.logging.push((region, config));
        }
        let mut ids = std::collections::HashSet::new();
        for (index, entry) in file.inference_profiles.into_iter().enumerate() {
            let at = format!("inferenceProfiles[{index}]");
            let id = entry.id.unwrap_or_else(control::new_profile_id);
            if id.len() != 12
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                return Err(format!(
                    "{at}.id must be 12 characters of a-z and 0-9, got {id:?}"
                ));
            }
            if !ids.insert((entry.region.clone(), id.clone())) {
                return Err(format!("{at}.id {id} is used twice in {}", entry.region));
            }
            if !control::is_profile_name(&entry.inference_profile_name) {
                return Err(format!(
                    "{at}.inferenceProfileName is not a valid profile name"
                ));
            }
            let model_arns =
                control::copy_source_models(&entry.region, account_id, &entry.copy_from)
                    .map_err(|e| format!("{at}.copyFrom: {}", e.message))?;
            let profile = AppProfile {
                arn: arn::application_profile_arn(&entry.region, account_id, &id),
                id,
                name: entry.inference_profile_name,
                description: entry.description,
                model_arns,
                created_at: SEED_TIME.to_string(),
                updated_at: SEED_TIME.to_string(),
                client_request_token: None,
            };
            seed.profiles.push((entry.region, profile, entry.tags));
        }
        Ok(seed)
    }

    /// The `runtime` section, for `RuntimeState::seed` (which keeps and re-applies it itself).
    pub fn take_runtime(&mut self) -> RuntimeSeed {
        std::mem::take(&mut self.runtime)
    }

    /// Writes the seeded state into empty regions.
    pub(crate) fn apply(&self, regions: &mut HashMap<String, RegionState>) {
        for (region, model_id, patch) in &self.access {
            let access = regions
                .entry(region.clone())
                .or_default()
                .access
                .entry(model_id.clone())
                .or_default();
            patch.apply(access);
        }
        for (region, config) in &self.logging {
            regions.entry(region.clone()).or_default().logging = Some(config.clone());
        }
        for (region, profile, tags) in &self.profiles {
            let state = regions.entry(region.clone()).or_default();
            let seq = state.next_seq;
            state.next_seq += 1;
            if !tags.is_empty() {
                state.tags.insert(profile.arn.clone(), tags.clone());
            }
            state.profiles.insert(seq, profile.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_yaml(text: &str) -> Result<Seed, String> {
        let file: SeedFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        Seed::from_file(file, "123456789012")
    }

    #[test]
    fn a_yaml_seed_sets_access_logging_and_profiles() {
        let seed = parse_yaml(
            r#"
modelAccess:
  - modelId: us.anthropic.claude-sonnet-4-5-20250929-v1:0
    regions: [us-east-1]
    agreementAvailability: { status: PENDING }
    authorizationStatus: NOT_AUTHORIZED
loggingConfigurations:
  us-west-2:
    cloudWatchConfig: { logGroupName: bedrock-logs, roleArn: "arn:aws:iam::123456789012:role/r" }
    textDataDeliveryEnabled: true
inferenceProfiles:
  - region: us-east-1
    id: abcdefghij12
    inferenceProfileName: team-sonnet
    copyFrom: arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0
    tags: { team: search }
"#,
        )
        .unwrap();
        let mut regions = HashMap::new();
        seed.apply(&mut regions);
        let east = &regions["us-east-1"];
        let access = &east.access["anthropic.claude-sonnet-4-5-20250929-v1:0"];
        assert_eq!(access.agreement, crate::state::AgreementStatus::Pending);
        assert!(!access.is_invocable());
        let profile = east.profile_by_id("abcdefghij12").unwrap().1;
        assert_eq!(profile.model_arns.len(), 4);
        assert_eq!(east.tags[&profile.arn]["team"], "search");
        assert!(regions["us-west-2"].logging.is_some());
    }

    #[test]
    fn a_seed_naming_an_unknown_model_is_refused_with_its_name() {
        let err = parse_yaml("modelAccess:\n  - modelId: acme.nothing-v1:0\n").unwrap_err();
        assert!(err.contains("acme.nothing-v1:0"), "{err}");
    }

    #[test]
    fn a_runtime_section_carries_faults_and_pace() {
        let mut seed = parse_yaml(
            "runtime:\n  paceMs: 40\n  faults:\n    - kind: throttling\n      model: \"*nova*\"\n      count: 2\n",
        )
        .unwrap();
        let runtime = seed.take_runtime();
        assert_eq!(runtime.pace_ms, Some(40));
        assert_eq!(runtime.faults.len(), 1);
        assert_eq!(runtime.faults[0].count, Some(2));
        assert!(parse_yaml("runtime:\n  pace: 40\n").is_err());
    }

    #[test]
    fn a_seed_with_an_unknown_key_is_refused() {
        assert!(parse_yaml("modelAcess: []\n").is_err());
    }
}
