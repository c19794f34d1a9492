//! The Bedrock control-plane seam: the calls the provisioner makes, in plain types. The SDK
//! adapter lives in [`crate::sdk`]; unit tests use an in-memory fake.

use std::future::Future;

use shared::aws::AwsError;
pub use shared::model_access::Availability;

/// An inference profile as GetInferenceProfile / ListInferenceProfiles describe it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileInfo {
    pub name: String,
    pub arn: String,
    pub id: String,
    pub description: Option<String>,
    pub status: String,
    pub kind: String,
    pub model_arns: Vec<String>,
}

/// The parts of GetFoundationModel the provisioner needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelInfo {
    pub model_id: String,
    pub model_arn: String,
    pub inference_types: Vec<String>,
}

/// CreateInferenceProfile's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProfile {
    pub name: String,
    pub description: Option<String>,
    pub source_arn: String,
    pub tags: Vec<(String, String)>,
    pub client_token: String,
}

/// A model-invocation logging configuration, normalised so that "unset" and "false" / "" compare
/// equal: Bedrock may echo defaults back explicitly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoggingConfig {
    pub log_group_name: String,
    pub role_arn: String,
    pub large_data_bucket: Option<String>,
    pub large_data_key_prefix: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key_prefix: Option<String>,
    pub text: bool,
    pub image: bool,
    pub embedding: bool,
    pub video: bool,
    pub audio: bool,
}

impl LoggingConfig {
    /// The configuration with empty optional strings folded into `None`, for comparison.
    pub fn normalised(&self) -> LoggingConfig {
        let norm = |o: &Option<String>| o.clone().filter(|s| !s.is_empty());
        let mut c = self.clone();
        c.large_data_bucket = norm(&self.large_data_bucket);
        c.large_data_key_prefix = if c.large_data_bucket.is_some() {
            norm(&self.large_data_key_prefix)
        } else {
            None
        };
        c.s3_bucket = norm(&self.s3_bucket);
        c.s3_key_prefix = if c.s3_bucket.is_some() {
            norm(&self.s3_key_prefix)
        } else {
            None
        };
        c
    }

    pub fn same_as(&self, other: &LoggingConfig) -> bool {
        self.normalised() == other.normalised()
    }
}

pub type ApiResult<T> = Result<T, AwsError>;

/// The Bedrock control plane of one region.
pub trait ControlPlane: Send + Sync + 'static {
    fn get_inference_profile(
        &self,
        identifier: &str,
    ) -> impl Future<Output = ApiResult<ProfileInfo>> + Send;
    /// Every profile of one type (`SYSTEM_DEFINED` or `APPLICATION`), all pages.
    fn list_inference_profiles(
        &self,
        kind: &str,
    ) -> impl Future<Output = ApiResult<Vec<ProfileInfo>>> + Send;
    fn get_foundation_model(
        &self,
        identifier: &str,
    ) -> impl Future<Output = ApiResult<ModelInfo>> + Send;
    fn get_foundation_model_availability(
        &self,
        model_id: &str,
    ) -> impl Future<Output = ApiResult<Availability>> + Send;
    /// Returns the new profile's ARN.
    fn create_inference_profile(
        &self,
        profile: &NewProfile,
    ) -> impl Future<Output = ApiResult<String>> + Send;
    fn delete_inference_profile(&self, arn: &str) -> impl Future<Output = ApiResult<()>> + Send;
    fn list_tags(&self, arn: &str)
    -> impl Future<Output = ApiResult<Vec<(String, String)>>> + Send;
    fn tag_resource(
        &self,
        arn: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = ApiResult<()>> + Send;
    fn untag_resource(
        &self,
        arn: &str,
        keys: &[String],
    ) -> impl Future<Output = ApiResult<()>> + Send;
    fn get_logging(&self) -> impl Future<Output = ApiResult<Option<LoggingConfig>>> + Send;
    fn put_logging(&self, config: &LoggingConfig) -> impl Future<Output = ApiResult<()>> + Send;
    fn delete_logging(&self) -> impl Future<Output = ApiResult<()>> + Send;
}

/// Hands out a control plane per region (the stack's, and the regions a cross-region profile
/// routes to, for the access check).
pub trait Planes: Send + Sync + 'static {
    type Plane: ControlPlane + Clone;
    fn for_region(&self, region: &str) -> Self::Plane;
}
