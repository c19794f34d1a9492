//! An in-memory Bedrock control plane for unit tests: profiles, tags, models, availability,
//! logging, plus injected failures, hangs and panics.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::control::{
    ApiResult, Availability, ControlPlane, LoggingConfig, ModelInfo, NewProfile, Planes,
    ProfileInfo,
};
use shared::aws::{AwsError, AwsErrorKind};

pub const ACCOUNT: &str = "123456789012";

/// An application profile as the fake stores it: what Get returns, its tags, and the
/// `clientRequestToken` it was created with (so a repeated Create returns it).
#[derive(Debug, Clone)]
pub struct StoredProfile {
    pub info: ProfileInfo,
    pub tags: Vec<(String, String)>,
    pub client_token: String,
}

#[derive(Debug, Default)]
pub struct State {
    pub profiles: Vec<StoredProfile>,
    pub system: Vec<ProfileInfo>,
    pub models: HashMap<String, ModelInfo>,
    pub availability: HashMap<(String, String), Availability>,
    pub logging: Option<LoggingConfig>,
    pub faults: VecDeque<(&'static str, AwsError)>,
    pub calls: Vec<&'static str>,
    pub hang_on: Option<&'static str>,
    pub panic_on: Option<&'static str>,
    pub counter: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Fake(pub Arc<Mutex<State>>);

#[derive(Debug, Clone)]
pub struct FakePlane {
    fake: Fake,
    region: String,
}

impl Fake {
    /// Seeded with one on-demand model, one profile-only model and a `us.` system profile for
    /// each, in us-east-1 and us-west-2.
    pub fn seeded() -> Fake {
        let fake = Fake::default();
        {
            let mut s = fake.state();
            for (id, types) in [
                ("anthropic.claude-3-haiku-20240307-v1:0", vec!["ON_DEMAND"]),
                (
                    "anthropic.claude-3-7-sonnet-20250219-v1:0",
                    vec!["INFERENCE_PROFILE"],
                ),
            ] {
                s.models.insert(
                    id.into(),
                    ModelInfo {
                        model_id: id.into(),
                        model_arn: format!("arn:aws:bedrock:us-east-1::foundation-model/{id}"),
                        inference_types: types.into_iter().map(String::from).collect(),
                    },
                );
                for region in ["us-east-1", "us-west-2"] {
                    s.availability
                        .insert((region.into(), id.into()), Availability::available());
                }
                s.system.push(ProfileInfo {
                    name: format!("US {id}"),
                    arn: format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.{id}"),
                    id: format!("us.{id}"),
                    description: None,
                    status: "ACTIVE".into(),
                    kind: "SYSTEM_DEFINED".into(),
                    model_arns: ["us-east-1", "us-west-2"]
                        .iter()
                        .map(|r| format!("arn:aws:bedrock:{r}::foundation-model/{id}"))
                        .collect(),
                });
            }
        }
        fake
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }

    pub fn fail_next(&self, op: &'static str, kind: AwsErrorKind, code: &str, message: &str) {
        self.state()
            .faults
            .push_back((op, AwsError::new(kind, code, message)));
    }

    pub fn calls(&self) -> Vec<&'static str> {
        self.state().calls.clone()
    }

    /// How many times `operation` was called.
    pub fn calls_to(&self, operation: &str) -> usize {
        self.state()
            .calls
            .iter()
            .filter(|c| **c == operation)
            .count()
    }

    pub fn app_profiles(&self) -> Vec<ProfileInfo> {
        self.state()
            .profiles
            .iter()
            .map(|p| p.info.clone())
            .collect()
    }

    pub fn tags_of(&self, arn: &str) -> Vec<(String, String)> {
        self.state()
            .profiles
            .iter()
            .find(|p| p.info.arn == arn)
            .map(|p| p.tags.clone())
            .unwrap_or_default()
    }
}

impl Planes for Fake {
    type Plane = FakePlane;
    fn for_region(&self, region: &str) -> FakePlane {
        FakePlane {
            fake: self.clone(),
            region: region.to_owned(),
        }
    }
}

fn not_found(what: &str) -> AwsError {
    AwsError::new(
        AwsErrorKind::NotFound,
        "ResourceNotFoundException",
        format!("{what} not found"),
    )
}

impl FakePlane {
    /// Records the call and applies any injected fault. Returns whether to hang.
    fn enter(&self, op: &'static str) -> ApiResult<bool> {
        let mut s = self.fake.state();
        s.calls.push(op);
        if s.panic_on == Some(op) {
            drop(s);
            panic!("injected panic in {op}");
        }
        if let Some(pos) = s.faults.iter().position(|(o, _)| *o == op) {
            let (_, err) = s.faults.remove(pos).unwrap();
            return Err(err);
        }
        Ok(s.hang_on == Some(op))
    }

    async fn gate(&self, op: &'static str) -> ApiResult<()> {
        if self.enter(op)? {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

impl ControlPlane for FakePlane {
    async fn get_inference_profile(&self, identifier: &str) -> ApiResult<ProfileInfo> {
        self.gate("GetInferenceProfile").await?;
        let s = self.fake.state();
        s.system
            .iter()
            .chain(s.profiles.iter().map(|p| &p.info))
            .find(|p| p.arn == identifier || p.id == identifier)
            .cloned()
            .ok_or_else(|| not_found(identifier))
    }

    async fn list_inference_profiles(&self, kind: &str) -> ApiResult<Vec<ProfileInfo>> {
        self.gate("ListInferenceProfiles").await?;
        let s = self.fake.state();
        Ok(if kind == "SYSTEM_DEFINED" {
            s.system.clone()
        } else {
            s.profiles.iter().map(|p| p.info.clone()).collect()
        })
    }

    async fn get_foundation_model(&self, identifier: &str) -> ApiResult<ModelInfo> {
        self.gate("GetFoundationModel").await?;
        let s = self.fake.state();
        let id = identifier.rsplit('/').next().unwrap_or(identifier);
        s.models
            .get(id)
            .cloned()
            .ok_or_else(|| not_found(identifier))
    }

    async fn get_foundation_model_availability(&self, model_id: &str) -> ApiResult<Availability> {
        self.gate("GetFoundationModelAvailability").await?;
        let s = self.fake.state();
        s.availability
            .get(&(self.region.clone(), model_id.to_owned()))
            .cloned()
            .ok_or_else(|| not_found(model_id))
    }

    async fn create_inference_profile(&self, p: &NewProfile) -> ApiResult<String> {
        self.gate("CreateInferenceProfile").await?;
        let mut s = self.fake.state();
        if let Some(existing) = s.profiles.iter().find(|x| x.client_token == p.client_token) {
            return Ok(existing.info.arn.clone());
        }
        if s.profiles.iter().any(|x| x.info.name == p.name) {
            return Err(AwsError::new(
                AwsErrorKind::Conflict,
                "ConflictException",
                format!("profile {} already exists", p.name),
            ));
        }
        let model_arns = s
            .system
            .iter()
            .find(|x| x.arn == p.source_arn)
            .map(|x| x.model_arns.clone())
            .unwrap_or_else(|| vec![p.source_arn.clone()]);
        s.counter += 1;
        let id = format!("prof{:08}", s.counter);
        let arn = format!(
            "arn:aws:bedrock:{}:{ACCOUNT}:application-inference-profile/{id}",
            self.region
        );
        s.profiles.push(StoredProfile {
            info: ProfileInfo {
                name: p.name.clone(),
                arn: arn.clone(),
                id,
                description: p.description.clone(),
                status: "ACTIVE".into(),
                kind: "APPLICATION".into(),
                model_arns,
            },
            tags: p.tags.clone(),
            client_token: p.client_token.clone(),
        });
        Ok(arn)
    }

    async fn delete_inference_profile(&self, arn: &str) -> ApiResult<()> {
        self.gate("DeleteInferenceProfile").await?;
        let mut s = self.fake.state();
        let before = s.profiles.len();
        s.profiles.retain(|p| p.info.arn != arn);
        if s.profiles.len() == before {
            return Err(not_found(arn));
        }
        Ok(())
    }

    async fn list_tags(&self, arn: &str) -> ApiResult<Vec<(String, String)>> {
        self.gate("ListTagsForResource").await?;
        let s = self.fake.state();
        s.profiles
            .iter()
            .find(|p| p.info.arn == arn)
            .map(|p| p.tags.clone())
            .ok_or_else(|| not_found(arn))
    }

    async fn tag_resource(&self, arn: &str, tags: &[(String, String)]) -> ApiResult<()> {
        self.gate("TagResource").await?;
        let mut s = self.fake.state();
        let p = s
            .profiles
            .iter_mut()
            .find(|p| p.info.arn == arn)
            .ok_or_else(|| not_found(arn))?;
        for (k, v) in tags {
            p.tags.retain(|(ek, _)| ek != k);
            p.tags.push((k.clone(), v.clone()));
        }
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> ApiResult<()> {
        self.gate("UntagResource").await?;
        let mut s = self.fake.state();
        let p = s
            .profiles
            .iter_mut()
            .find(|p| p.info.arn == arn)
            .ok_or_else(|| not_found(arn))?;
        p.tags.retain(|(k, _)| !keys.contains(k));
        Ok(())
    }

    async fn get_logging(&self) -> ApiResult<Option<LoggingConfig>> {
        self.gate("GetModelInvocationLoggingConfiguration").await?;
        Ok(self.fake.state().logging.clone())
    }

    async fn put_logging(&self, config: &LoggingConfig) -> ApiResult<()> {
        self.gate("PutModelInvocationLoggingConfiguration").await?;
        self.fake.state().logging = Some(config.clone());
        Ok(())
    }

    async fn delete_logging(&self) -> ApiResult<()> {
        self.gate("DeleteModelInvocationLoggingConfiguration")
            .await?;
        self.fake.state().logging = None;
        Ok(())
    }
}
