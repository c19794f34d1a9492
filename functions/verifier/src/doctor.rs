//! The config doctor: the LibreChat Bedrock debug checklist, automated.
//!
//! Each item becomes one check with the subject it is about, a pass/fail and, on failure, the
//! exact fix. Control-plane calls go through [`ControlPlane`], so the checklist is tested against
//! the local emulator and unit-tested against a fake.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use serde::Serialize;
use shared::arn::ModelRef;
use shared::aws::{AwsError, AwsErrorKind, RegionalClients};
use shared::model_access::Availability;

/// What GetInferenceProfile says about a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInfo {
    pub status: String,
    pub kind: String,
    pub model_arns: Vec<String>,
}

/// The CloudWatch part of GetModelInvocationLoggingConfiguration; `None` when logging is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggingInfo {
    /// `None` when logs go to S3 only.
    pub log_group: Option<String>,
}

/// The Bedrock control-plane calls the doctor makes.
pub trait ControlPlane {
    fn get_inference_profile(
        &self,
        region: &str,
        id: &str,
    ) -> impl Future<Output = Result<ProfileInfo, AwsError>> + Send;
    fn get_model_availability(
        &self,
        region: &str,
        model_id: &str,
    ) -> impl Future<Output = Result<Availability, AwsError>> + Send;
    fn get_logging(
        &self,
        region: &str,
    ) -> impl Future<Output = Result<Option<LoggingInfo>, AwsError>> + Send;
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: String,
    pub subject: String,
    pub ok: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

/// The `doctor` section of the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl DoctorReport {
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }

    /// A doctor that was not run (turned off): nothing checked, nothing failed.
    pub fn skipped() -> Self {
        DoctorReport {
            ok: true,
            checks: Vec::new(),
        }
    }
}

/// What the doctor checks.
#[derive(Debug, Clone, Default)]
pub struct DoctorInput {
    /// `models`, as configured.
    pub models: Vec<String>,
    /// `inferenceProfiles` after `${VAR}` expansion: friendly ID -> profile ARN or model ID.
    pub profiles: BTreeMap<String, String>,
    /// The region used for mapped values that carry none (plain IDs).
    pub default_region: String,
    /// The regions whose invocation logs are read.
    pub log_regions: Vec<String>,
    /// The group the verifier reads.
    pub log_group: String,
}

fn pass(check: &str, subject: &str, detail: String) -> Check {
    Check {
        check: check.into(),
        subject: subject.into(),
        ok: true,
        detail,
        remedy: None,
    }
}

fn fail(check: &str, subject: &str, detail: String, remedy: String) -> Check {
    Check {
        check: check.into(),
        subject: subject.into(),
        ok: false,
        detail,
        remedy: Some(remedy),
    }
}

/// Runs the whole checklist. Never fails: a call that errors is a failed check with its cause.
pub async fn run_doctor<P: ControlPlane>(cp: &P, input: &DoctorInput) -> DoctorReport {
    let mut checks = Vec::new();
    config_checks(input, &mut checks);

    // Underlying models to check, per region, deduplicated across profiles.
    let mut availability: BTreeSet<(String, String)> = BTreeSet::new();
    for (friendly, value) in &input.profiles {
        let parsed = match ModelRef::parse(value) {
            Ok(p) => p,
            Err(e) => {
                checks.push(fail(
                    "profile_exists",
                    friendly,
                    format!("{value:?} is not a model ID or profile ARN: {e}"),
                    format!(
                        "set inferenceProfiles.{friendly} to an application inference profile ARN"
                    ),
                ));
                continue;
            }
        };
        let region = parsed
            .region()
            .unwrap_or(input.default_region.as_str())
            .to_string();
        if let Some(model) = parsed.foundation_model().filter(|_| {
            matches!(
                parsed,
                ModelRef::FoundationModel(_) | ModelRef::FoundationModelArn(_)
            )
        }) {
            availability.insert((region, model.as_str().to_string()));
            continue;
        }
        match cp.get_inference_profile(&region, value).await {
            Ok(info) if info.status == "ACTIVE" => {
                checks.push(pass(
                    "profile_exists",
                    friendly,
                    format!("{value} exists in {region} and is ACTIVE ({})", info.kind),
                ));
                for arn in &info.model_arns {
                    if let Ok(m) = ModelRef::parse(arn)
                        && let Some(fm) = m.foundation_model()
                    {
                        let r = m.region().unwrap_or(region.as_str()).to_string();
                        availability.insert((r, fm.as_str().to_string()));
                    }
                }
            }
            Ok(info) => checks.push(fail(
                "profile_exists",
                friendly,
                format!(
                    "{value} exists in {region} but its status is {:?}",
                    info.status
                ),
                "wait for the profile to become ACTIVE, or recreate it".into(),
            )),
            Err(e) if e.kind == AwsErrorKind::NotFound => checks.push(fail(
                "profile_exists",
                friendly,
                format!("{value} was not found in {region}: {}", e.message),
                format!(
                    "the profile was deleted or lives in another region: recreate it in {region} \
                     (or fix the ARN) and update inferenceProfiles.{friendly}"
                ),
            )),
            Err(e) => checks.push(fail(
                "profile_exists",
                friendly,
                format!("GetInferenceProfile for {value} in {region} failed: {e}"),
                "allow the verifier bedrock:GetInferenceProfile on the profile".into(),
            )),
        }
    }

    for (region, model) in &availability {
        let subject = format!("{model} in {region}");
        match cp.get_model_availability(region, model).await {
            Ok(a) => checks.push(availability_check(&subject, model, region, &a)),
            Err(e) => checks.push(fail(
                "model_access",
                &subject,
                format!("GetFoundationModelAvailability failed: {e}"),
                "allow the verifier bedrock:GetFoundationModelAvailability".into(),
            )),
        }
    }

    for region in &input.log_regions {
        match cp.get_logging(region).await {
            Ok(None) => checks.push(fail(
                "invocation_logging",
                region,
                "model invocation logging is off".into(),
                format!(
                    "turn on model invocation logging in {region} with CloudWatch delivery to {} \
                     (Custom::BedrockInvocationLogging does this)",
                    input.log_group
                ),
            )),
            Ok(Some(LoggingInfo { log_group: None })) => checks.push(fail(
                "invocation_logging",
                region,
                "invocation logs go to S3 only".into(),
                format!("add CloudWatch delivery to {} in {region}", input.log_group),
            )),
            Ok(Some(LoggingInfo {
                log_group: Some(g),
            })) if g == input.log_group => checks.push(pass(
                "invocation_logging",
                region,
                format!("logging is on and delivers to {g}"),
            )),
            Ok(Some(LoggingInfo {
                log_group: Some(g),
            })) => checks.push(fail(
                "invocation_logging",
                region,
                format!("logging delivers to {g}, but the verifier reads {}", input.log_group),
                format!(
                    "set INVOCATION_LOG_GROUP={g} for the verifier, or point logging in {region} at {}",
                    input.log_group
                ),
            )),
            Err(e) => checks.push(fail(
                "invocation_logging",
                region,
                format!("GetModelInvocationLoggingConfiguration failed: {e}"),
                "allow the verifier bedrock:GetModelInvocationLoggingConfiguration".into(),
            )),
        }
    }

    DoctorReport {
        ok: checks.iter().all(|c| c.ok),
        checks,
    }
}

fn config_checks(input: &DoctorInput, checks: &mut Vec<Check>) {
    for (friendly, value) in &input.profiles {
        if input.models.iter().any(|m| m == friendly) {
            checks.push(pass(
                "mapped_model_listed",
                friendly,
                "the inferenceProfiles key is in models, exactly".into(),
            ));
        } else {
            let near = input
                .models
                .iter()
                .find(|m| m.eq_ignore_ascii_case(friendly));
            checks.push(fail(
                "mapped_model_listed",
                friendly,
                "the inferenceProfiles key is not in models (lookups are exact and case-sensitive)"
                    .into(),
                match near {
                    Some(m) => {
                        format!("rename the key {friendly:?} to {m:?}, exactly as in models")
                    }
                    None => format!("add {friendly:?} to models, or remove the mapping"),
                },
            ));
        }
        if value.contains("${") {
            checks.push(fail(
                "variables_resolved",
                friendly,
                format!("the value {value:?} still holds a ${{...}} reference"),
                "set the referenced environment variable for every reader of the config".into(),
            ));
        } else {
            checks.push(pass(
                "variables_resolved",
                friendly,
                "no unresolved ${...} reference".into(),
            ));
        }
    }
}

/// The problems and remedies are the provisioner's too (`shared::model_access`).
fn availability_check(subject: &str, model: &str, region: &str, a: &Availability) -> Check {
    let problems = a.problems(model, region);
    if problems.is_empty() {
        return pass(
            "model_access",
            subject,
            "agreement AVAILABLE, AUTHORIZED, entitled, region AVAILABLE".into(),
        );
    }
    let (details, remedies): (Vec<String>, Vec<String>) =
        problems.into_iter().map(|p| (p.problem, p.remedy)).unzip();
    fail(
        "model_access",
        subject,
        details.join("; "),
        remedies.join("; "),
    )
}

/// The AWS SDK adapter, one client per region from a single `SdkConfig`.
pub struct SdkControlPlane {
    clients: RegionalClients<aws_sdk_bedrock::Client>,
}

impl SdkControlPlane {
    pub fn new(base: aws_config::SdkConfig) -> Self {
        SdkControlPlane {
            clients: RegionalClients::new(base, aws_sdk_bedrock::Client::new),
        }
    }

    fn client(&self, region: &str) -> aws_sdk_bedrock::Client {
        self.clients.get(region)
    }
}

impl ControlPlane for SdkControlPlane {
    async fn get_inference_profile(&self, region: &str, id: &str) -> Result<ProfileInfo, AwsError> {
        let out = self
            .client(region)
            .get_inference_profile()
            .inference_profile_identifier(id)
            .send()
            .await?;
        Ok(ProfileInfo {
            status: out.status.as_str().to_string(),
            kind: out.r#type.as_str().to_string(),
            model_arns: out.models.into_iter().filter_map(|m| m.model_arn).collect(),
        })
    }

    async fn get_model_availability(
        &self,
        region: &str,
        model_id: &str,
    ) -> Result<Availability, AwsError> {
        let out = self
            .client(region)
            .get_foundation_model_availability()
            .model_id(model_id)
            .send()
            .await?;
        let agreement = out.agreement_availability;
        Ok(Availability {
            agreement: agreement
                .as_ref()
                .map(|a| a.status.as_str().to_string())
                .unwrap_or_else(|| "UNKNOWN".into()),
            agreement_error: agreement.and_then(|a| a.error_message),
            authorization: out.authorization_status.as_str().to_string(),
            entitlement: out.entitlement_availability.as_str().to_string(),
            region: out.region_availability.as_str().to_string(),
        })
    }

    async fn get_logging(&self, region: &str) -> Result<Option<LoggingInfo>, AwsError> {
        let out = self
            .client(region)
            .get_model_invocation_logging_configuration()
            .send()
            .await?;
        Ok(out.logging_config.map(|c| LoggingInfo {
            log_group: c
                .cloud_watch_config
                .map(|cw| cw.log_group_name)
                .filter(|g| !g.is_empty()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const ARN: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123def456";
    const FM: &str =
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0";

    #[derive(Default)]
    struct Fake {
        profiles: HashMap<String, ProfileInfo>,
        availability: HashMap<String, Availability>,
        logging: Option<LoggingInfo>,
    }

    impl ControlPlane for Fake {
        async fn get_inference_profile(&self, _r: &str, id: &str) -> Result<ProfileInfo, AwsError> {
            self.profiles.get(id).cloned().ok_or_else(|| {
                AwsError::new(
                    AwsErrorKind::NotFound,
                    "ResourceNotFoundException",
                    "not found",
                )
            })
        }
        async fn get_model_availability(
            &self,
            _r: &str,
            m: &str,
        ) -> Result<Availability, AwsError> {
            self.availability.get(m).cloned().ok_or_else(|| {
                AwsError::new(
                    AwsErrorKind::NotFound,
                    "ResourceNotFoundException",
                    "no model",
                )
            })
        }
        async fn get_logging(&self, _r: &str) -> Result<Option<LoggingInfo>, AwsError> {
            Ok(self.logging.clone())
        }
    }

    fn input() -> DoctorInput {
        DoctorInput {
            models: vec!["sonnet".into()],
            profiles: BTreeMap::from([("sonnet".into(), ARN.into())]),
            default_region: "us-east-1".into(),
            log_regions: vec!["us-east-1".into()],
            log_group: "/aws/bedrock/model-invocations".into(),
        }
    }

    fn healthy() -> Fake {
        Fake {
            profiles: HashMap::from([(
                ARN.to_string(),
                ProfileInfo {
                    status: "ACTIVE".into(),
                    kind: "APPLICATION".into(),
                    model_arns: vec![FM.into()],
                },
            )]),
            availability: HashMap::from([(
                "anthropic.claude-3-7-sonnet-20250219-v1:0".to_string(),
                Availability::available(),
            )]),
            logging: Some(LoggingInfo {
                log_group: Some("/aws/bedrock/model-invocations".into()),
            }),
        }
    }

    #[tokio::test]
    async fn a_healthy_setup_passes_every_check() {
        let r = run_doctor(&healthy(), &input()).await;
        assert!(r.ok, "{r:#?}");
        let names: BTreeSet<&str> = r.checks.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(
            names,
            BTreeSet::from([
                "mapped_model_listed",
                "variables_resolved",
                "profile_exists",
                "model_access",
                "invocation_logging"
            ])
        );
    }

    #[tokio::test]
    async fn a_missing_profile_fails_with_wrong_region_or_deleted() {
        let mut cp = healthy();
        cp.profiles.clear();
        let r = run_doctor(&cp, &input()).await;
        let f: Vec<_> = r.failures().collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].check, "profile_exists");
        assert!(
            f[0].remedy
                .as_deref()
                .unwrap()
                .contains("deleted or lives in another region")
        );
    }

    #[tokio::test]
    async fn a_pending_agreement_says_it_is_still_propagating() {
        let mut cp = healthy();
        cp.availability
            .values_mut()
            .for_each(|a| a.agreement = "PENDING".into());
        let r = run_doctor(&cp, &input()).await;
        let f: Vec<_> = r.failures().collect();
        assert_eq!(f[0].check, "model_access");
        assert!(f[0].detail.contains("propagating"));
    }

    #[tokio::test]
    async fn logging_off_or_elsewhere_is_a_failed_check_with_the_fix() {
        let mut cp = healthy();
        cp.logging = None;
        let r = run_doctor(&cp, &input()).await;
        assert!(
            r.failures()
                .any(|c| c.check == "invocation_logging" && c.detail.contains("off"))
        );
        cp.logging = Some(LoggingInfo {
            log_group: Some("/other".into()),
        });
        let r = run_doctor(&cp, &input()).await;
        let f = r
            .failures()
            .find(|c| c.check == "invocation_logging")
            .unwrap();
        assert!(
            f.remedy
                .as_deref()
                .unwrap()
                .contains("INVOCATION_LOG_GROUP=/other")
        );
    }

    #[tokio::test]
    async fn a_key_missing_from_models_suggests_the_exact_spelling() {
        let mut i = input();
        i.models = vec!["Sonnet".into()];
        let r = run_doctor(&healthy(), &i).await;
        let f = r
            .failures()
            .find(|c| c.check == "mapped_model_listed")
            .unwrap();
        assert!(
            f.remedy
                .as_deref()
                .unwrap()
                .contains("rename the key \"sonnet\" to \"Sonnet\"")
        );
    }
}
