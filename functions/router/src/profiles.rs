//! The production [`Directory`]: the shared profile map, loaded once at cold start.

use shared::arn::ModelRef;
use shared::catalog::capabilities_for;
use shared::profile_map::ProfileMap;

use crate::bedrock::CallSite;
use crate::caps::Caps;
use crate::directory::{Directory, Listed, Resolution};
use crate::error::RouterError;

pub struct ProfileDirectory {
    map: ProfileMap,
}

impl ProfileDirectory {
    pub fn new(map: ProfileMap) -> Self {
        Self { map }
    }
}

/// Whether `modelId` is an inference-profile ARN (application or system-defined).
fn is_profile_id(call_id: &str) -> bool {
    matches!(
        ModelRef::parse(call_id),
        Ok(ModelRef::AppProfileArn(_) | ModelRef::SystemProfileArn(_))
    )
}

impl Directory for ProfileDirectory {
    fn resolve(&self, model: &str) -> Result<Resolution, RouterError> {
        // Friendly IDs, `modelAliases`, our profile ARNs and other spellings of served models
        // (Anthropic names, model and system-profile IDs) all land on the friendly ID that
        // serves them, so responses and metrics name it.
        let target = self
            .map
            .find(model)
            .map_err(|err| RouterError::UnknownModel {
                model: model.to_owned(),
                message: format!("{err}; see GET /v1/models"),
            })?;
        if target.region.is_empty() {
            return Err(RouterError::Config(format!(
                "model `{}` has no region: its target `{}` carries none and no defaultRegion, BEDROCK_AWS_DEFAULT_REGION or AWS_REGION is set",
                target.friendly_id, target.call_id
            )));
        }
        let is_profile = is_profile_id(&target.call_id);
        // An application profile whose friendly ID the catalog does not know is asked what it
        // holds (GetInferenceProfile, once); everything else is decided from the names.
        let caps = if target.capabilities.is_known() || target.profile.is_none() {
            Some(target.capabilities.clone())
        } else {
            None
        };
        let alternates = self
            .map
            .call_sites(&target.friendly_id)
            .into_iter()
            .skip(1)
            .map(|s| CallSite {
                model_id: s.call_id,
                region: s.region,
            })
            .collect();
        Ok(Resolution {
            alternates,
            friendly_id: target.friendly_id.clone(),
            call_id: target.call_id.clone(),
            region: target.region.clone(),
            is_profile,
            caps,
        })
    }

    fn list(&self) -> Vec<Listed> {
        self.map
            .targets()
            .map(|t| Listed {
                id: t.friendly_id.clone(),
                via_profile: t.profile.is_some(),
                caps: Some(t.capabilities.clone()),
            })
            .collect()
    }

    fn caps_for_model(&self, model_id: &str) -> Option<Caps> {
        let caps = capabilities_for(model_id);
        caps.is_known().then_some(caps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::config::ProfileConfig;

    const ARN: &str =
        "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abcdefghij12";

    fn directory() -> ProfileDirectory {
        let yaml = format!(
            "models: [anthropic.claude-sonnet-4-5-20250929-v1:0, team-model, amazon.nova-pro-v1:0]\n\
             inferenceProfiles:\n  anthropic.claude-sonnet-4-5-20250929-v1:0: \"{ARN}\"\n  team-model: \"{ARN}\"\n\
             defaultRegion: us-east-1\n"
        );
        let config = ProfileConfig::parse(&yaml, |_| None).unwrap();
        ProfileDirectory::new(ProfileMap::new(&config))
    }

    #[test]
    fn a_mapped_model_goes_to_its_profile_in_the_arns_region() {
        let r = directory()
            .resolve("anthropic.claude-sonnet-4-5-20250929-v1:0")
            .unwrap();
        assert_eq!(r.call_id, ARN);
        assert_eq!(r.region, "eu-west-1");
        assert!(r.is_profile);
        assert!(r.caps.unwrap().tool_use);
    }

    #[test]
    fn an_unmapped_model_goes_to_its_own_id_in_the_default_region() {
        let r = directory().resolve("amazon.nova-pro-v1:0").unwrap();
        assert_eq!(r.call_id, "amazon.nova-pro-v1:0");
        assert_eq!(r.region, "us-east-1");
        assert!(!r.is_profile);
    }

    #[test]
    fn a_profile_behind_an_unknown_friendly_id_is_left_for_lookup() {
        let r = directory().resolve("team-model").unwrap();
        assert_eq!(r.caps, None);
    }

    #[test]
    fn a_profile_arn_sent_directly_answers_as_its_friendly_id() {
        let r = directory().resolve(ARN).unwrap();
        assert_eq!(r.friendly_id, "anthropic.claude-sonnet-4-5-20250929-v1:0");
    }

    #[test]
    fn an_unknown_model_lists_what_is_available() {
        let err = directory().resolve("gpt-4o").unwrap_err();
        assert!(
            err.to_string().contains(
                "available models: anthropic.claude-sonnet-4-5-20250929-v1:0, team-model"
            ),
            "{err}"
        );
    }
}
