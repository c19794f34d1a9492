//! What the profile config means for a run: which regions to read, what the findings and the
//! doctor compare against.

use std::collections::{BTreeMap, BTreeSet};

use shared::config::ProfileConfig;

use crate::doctor::DoctorInput;
use crate::error::VerifierError;
use crate::report::FindingContext;

/// The config, digested once at cold start.
#[derive(Debug, Clone)]
pub struct Plan {
    pub regions: Vec<String>,
    pub findings: FindingContext,
    pub doctor: DoctorInput,
}

/// Reads every region where the config's profiles live plus the default region (plain model IDs
/// are called, and logged, there), sorted so runs are reproducible.
pub fn plan(config: &ProfileConfig, log_group: &str) -> Result<Plan, VerifierError> {
    let mut regions: BTreeSet<String> = config
        .inference_profiles
        .iter()
        .filter_map(|(_, target)| target.region().map(str::to_string))
        .collect();
    if let Some(r) = &config.default_region {
        regions.insert(r.clone());
    }
    if regions.is_empty() {
        return Err(VerifierError::Config(
            "no region to read: the config maps no profile ARN and has no default region \
             (set defaultRegion, BEDROCK_AWS_DEFAULT_REGION or AWS_REGION)"
                .into(),
        ));
    }
    let profiles: BTreeMap<String, String> = config
        .inference_profiles
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    let regions: Vec<String> = regions.into_iter().collect();
    let default_region = config
        .default_region
        .clone()
        .or_else(|| regions.first().cloned())
        .unwrap_or_default();
    Ok(Plan {
        findings: FindingContext {
            profiles: profiles.clone(),
            models: config.models.clone(),
            allowed_regions: config.allowed_inference_regions.clone(),
            tenants: BTreeSet::from([shared::tenants::DEFAULT_TENANT.to_owned()]),
        },
        doctor: DoctorInput {
            models: config.models.clone(),
            profiles,
            default_region,
            log_regions: regions.clone(),
            log_group: log_group.to_string(),
        },
        regions,
    })
}

impl Plan {
    /// Adds the regions of further application-profile ARNs (tenants' profiles, failover pools)
    /// so their invocation logs are read too; the config's own profiles are already in.
    pub fn read_regions_of<'a>(&mut self, profile_arns: impl IntoIterator<Item = &'a str>) {
        let mut regions: BTreeSet<String> = self.regions.iter().cloned().collect();
        for arn in profile_arns {
            if let Ok(profile) = shared::arn::AppProfileArn::parse(arn) {
                regions.insert(profile.region.clone());
            }
        }
        self.regions = regions.into_iter().collect();
        self.doctor.log_regions = self.regions.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_profiles_add_the_regions_their_logs_are_written_in() {
        let yaml = r#"
models: [sonnet]
inferenceProfiles:
  sonnet: arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abc123def456
defaultRegion: us-east-1
tenants:
  team-a:
    apiKeys: ["0000000000000000000000000000000000000000000000000000000000000001"]
    inferenceProfiles:
      sonnet: arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/teama0000001
"#;
        let config = ProfileConfig::parse(yaml, |_| None).unwrap();
        let tenants = shared::tenants::TenantsConfig::parse(yaml, &config, |_| None).unwrap();
        let map = tenants.classification_map(&config);
        let mut p = plan(&config, "/g").unwrap();
        assert_eq!(p.regions, ["us-east-1", "us-west-2"]);
        p.read_regions_of(map.profile_arns());
        assert_eq!(p.regions, ["eu-west-1", "us-east-1", "us-west-2"]);
        assert_eq!(p.doctor.log_regions, p.regions);
        assert_eq!(
            map.profile_owner(
                "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/teama0000001"
            ),
            Some("sonnet"),
            "tenant traffic counts as profiled"
        );
    }

    #[test]
    fn regions_are_those_of_the_profiles_plus_the_default() {
        let yaml = r#"
models: [sonnet, nova]
inferenceProfiles:
  sonnet: arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abc123def456
  nova: arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/zzz123def456
defaultRegion: us-east-1
"#;
        let config = ProfileConfig::parse(yaml, |_| None).unwrap();
        let p = plan(&config, "/g").unwrap();
        assert_eq!(p.regions, vec!["eu-west-1", "us-east-1", "us-west-2"]);
        assert_eq!(p.doctor.default_region, "us-east-1");
        assert_eq!(p.findings.profiles.len(), 2);
    }
}
