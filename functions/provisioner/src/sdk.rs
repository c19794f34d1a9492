//! The control-plane seam backed by the AWS SDK for Rust (`aws-sdk-bedrock`).

use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::types::{
    CloudWatchConfig, InferenceProfileModelSource, InferenceProfileType, S3Config, Tag,
};
use shared::aws::{AwsError, AwsErrorKind, RegionalClients, SdkConfig, without_sdk_retries};

use crate::control::{
    ApiResult, Availability, ControlPlane, LoggingConfig, ModelInfo, NewProfile, Planes,
    ProfileInfo,
};

/// One region's Bedrock control plane.
#[derive(Debug, Clone)]
pub struct SdkPlane {
    client: Client,
}

impl SdkPlane {
    pub fn new(client: Client) -> Self {
        SdkPlane { client }
    }
}

/// Clients per region, all built from the one configuration loaded at cold start, with the
/// SDK's retries off: every call runs inside [`crate::retry`], whose loop is the only one.
#[derive(Debug)]
pub struct SdkPlanes {
    clients: RegionalClients<SdkPlane>,
}

impl SdkPlanes {
    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        Self::customised(sdk, |builder| builder)
    }

    /// Like [`SdkPlanes::from_sdk_config`], with each client's config passed through
    /// `customise` first (tests add an interceptor that answers in-process).
    pub fn customised(
        sdk: &SdkConfig,
        customise: impl Fn(aws_sdk_bedrock::config::Builder) -> aws_sdk_bedrock::config::Builder
        + Send
        + Sync
        + 'static,
    ) -> Self {
        let clients = RegionalClients::new(without_sdk_retries(sdk), move |config| {
            let builder = customise(aws_sdk_bedrock::config::Builder::from(config));
            SdkPlane::new(Client::from_conf(builder.build()))
        });
        SdkPlanes { clients }
    }
}

impl Planes for SdkPlanes {
    type Plane = SdkPlane;

    fn for_region(&self, region: &str) -> SdkPlane {
        self.clients.get(region)
    }
}

impl<T: Planes> Planes for std::sync::Arc<T> {
    type Plane = T::Plane;
    fn for_region(&self, region: &str) -> T::Plane {
        (**self).for_region(region)
    }
}

/// A request the SDK could not build from our values.
fn unbuildable(e: impl std::fmt::Display) -> AwsError {
    AwsError::new(AwsErrorKind::Other, "", e.to_string())
}

fn profile_info(
    name: &str,
    arn: &str,
    id: &str,
    description: Option<&str>,
    status: &str,
    kind: &str,
    models: &[aws_sdk_bedrock::types::InferenceProfileModel],
) -> ProfileInfo {
    ProfileInfo {
        name: name.to_owned(),
        arn: arn.to_owned(),
        id: id.to_owned(),
        description: description.map(str::to_owned),
        status: status.to_owned(),
        kind: kind.to_owned(),
        model_arns: models
            .iter()
            .filter_map(|m| m.model_arn().map(str::to_owned))
            .collect(),
    }
}

fn s3(bucket: &Option<String>, prefix: &Option<String>) -> ApiResult<Option<S3Config>> {
    let Some(bucket) = bucket else {
        return Ok(None);
    };
    S3Config::builder()
        .bucket_name(bucket)
        .set_key_prefix(prefix.clone())
        .build()
        .map(Some)
        .map_err(unbuildable)
}

impl ControlPlane for SdkPlane {
    async fn get_inference_profile(&self, identifier: &str) -> ApiResult<ProfileInfo> {
        let out = self
            .client
            .get_inference_profile()
            .inference_profile_identifier(identifier)
            .send()
            .await?;
        Ok(profile_info(
            out.inference_profile_name(),
            out.inference_profile_arn(),
            out.inference_profile_id(),
            out.description(),
            out.status().as_str(),
            out.r#type().as_str(),
            out.models(),
        ))
    }

    async fn list_inference_profiles(&self, kind: &str) -> ApiResult<Vec<ProfileInfo>> {
        let mut all = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .client
                .list_inference_profiles()
                .type_equals(InferenceProfileType::from(kind))
                .max_results(1000)
                .set_next_token(next.take())
                .send()
                .await?;
            all.extend(out.inference_profile_summaries().iter().map(|p| {
                profile_info(
                    p.inference_profile_name(),
                    p.inference_profile_arn(),
                    p.inference_profile_id(),
                    p.description(),
                    p.status().as_str(),
                    p.r#type().as_str(),
                    p.models(),
                )
            }));
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => return Ok(all),
            }
        }
    }

    async fn get_foundation_model(&self, identifier: &str) -> ApiResult<ModelInfo> {
        let out = self
            .client
            .get_foundation_model()
            .model_identifier(identifier)
            .send()
            .await?;
        let details = out.model_details().ok_or_else(|| {
            AwsError::new(
                AwsErrorKind::Other,
                "",
                "GetFoundationModel returned no modelDetails",
            )
        })?;
        Ok(ModelInfo {
            model_id: details.model_id().to_owned(),
            model_arn: details.model_arn().to_owned(),
            inference_types: details
                .inference_types_supported()
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
        })
    }

    async fn get_foundation_model_availability(&self, model_id: &str) -> ApiResult<Availability> {
        let out = self
            .client
            .get_foundation_model_availability()
            .model_id(model_id)
            .send()
            .await?;
        Ok(Availability {
            agreement: out
                .agreement_availability()
                .map(|a| a.status().as_str().to_owned())
                .unwrap_or_default(),
            agreement_error: out
                .agreement_availability()
                .and_then(|a| a.error_message())
                .map(str::to_owned),
            authorization: out.authorization_status().as_str().to_owned(),
            entitlement: out.entitlement_availability().as_str().to_owned(),
            region: out.region_availability().as_str().to_owned(),
        })
    }

    async fn create_inference_profile(&self, p: &NewProfile) -> ApiResult<String> {
        let tags = p
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(unbuildable)?;
        let out = self
            .client
            .create_inference_profile()
            .inference_profile_name(&p.name)
            .set_description(p.description.clone())
            .client_request_token(&p.client_token)
            .model_source(InferenceProfileModelSource::CopyFrom(p.source_arn.clone()))
            .set_tags(Some(tags))
            .send()
            .await?;
        Ok(out.inference_profile_arn().to_owned())
    }

    async fn delete_inference_profile(&self, arn: &str) -> ApiResult<()> {
        self.client
            .delete_inference_profile()
            .inference_profile_identifier(arn)
            .send()
            .await?;
        Ok(())
    }

    async fn list_tags(&self, arn: &str) -> ApiResult<Vec<(String, String)>> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    async fn tag_resource(&self, arn: &str, tags: &[(String, String)]) -> ApiResult<()> {
        let tags = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(unbuildable)?;
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await?;
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> ApiResult<()> {
        self.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await?;
        Ok(())
    }

    async fn get_logging(&self) -> ApiResult<Option<LoggingConfig>> {
        let out = self
            .client
            .get_model_invocation_logging_configuration()
            .send()
            .await?;
        let Some(c) = out.logging_config() else {
            return Ok(None);
        };
        let mut config = LoggingConfig {
            s3_bucket: c.s3_config().map(|s| s.bucket_name().to_owned()),
            s3_key_prefix: c
                .s3_config()
                .and_then(|s| s.key_prefix())
                .map(str::to_owned),
            text: c.text_data_delivery_enabled().unwrap_or(false),
            image: c.image_data_delivery_enabled().unwrap_or(false),
            embedding: c.embedding_data_delivery_enabled().unwrap_or(false),
            video: c.video_data_delivery_enabled().unwrap_or(false),
            audio: c.audio_data_delivery_enabled().unwrap_or(false),
            ..LoggingConfig::default()
        };
        // Logging only to S3 keeps the CloudWatch fields empty: never a configuration this
        // resource writes, so it reads as someone else's.
        if let Some(cw) = c.cloud_watch_config() {
            config.log_group_name = cw.log_group_name().to_owned();
            config.role_arn = cw.role_arn().to_owned();
            let large = cw.large_data_delivery_s3_config();
            config.large_data_bucket = large.map(|s| s.bucket_name().to_owned());
            config.large_data_key_prefix = large.and_then(|s| s.key_prefix()).map(str::to_owned);
        }
        Ok(Some(config))
    }

    async fn put_logging(&self, config: &LoggingConfig) -> ApiResult<()> {
        let cw = CloudWatchConfig::builder()
            .log_group_name(&config.log_group_name)
            .role_arn(&config.role_arn)
            .set_large_data_delivery_s3_config(s3(
                &config.large_data_bucket,
                &config.large_data_key_prefix,
            )?)
            .build()
            .map_err(unbuildable)?;
        let logging = aws_sdk_bedrock::types::LoggingConfig::builder()
            .cloud_watch_config(cw)
            .set_s3_config(s3(&config.s3_bucket, &config.s3_key_prefix)?)
            .text_data_delivery_enabled(config.text)
            .image_data_delivery_enabled(config.image)
            .embedding_data_delivery_enabled(config.embedding)
            .video_data_delivery_enabled(config.video)
            .audio_data_delivery_enabled(config.audio)
            .build();
        self.client
            .put_model_invocation_logging_configuration()
            .logging_config(logging)
            .send()
            .await?;
        Ok(())
    }

    async fn delete_logging(&self) -> ApiResult<()> {
        self.client
            .delete_model_invocation_logging_configuration()
            .send()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry;
    use aws_sdk_bedrock::config::retry::RetryConfig;
    use aws_sdk_bedrock::config::{
        BehaviorVersion, Credentials, Region, SharedCredentialsProvider, SharedInterceptor,
    };
    use aws_sdk_bedrock::operation::create_inference_profile::{
        CreateInferenceProfileError, CreateInferenceProfileOutput,
    };
    use aws_sdk_bedrock::operation::get_inference_profile::{
        GetInferenceProfileError, GetInferenceProfileOutput,
    };
    use aws_sdk_bedrock::operation::get_model_invocation_logging_configuration::GetModelInvocationLoggingConfigurationOutput;
    use aws_sdk_bedrock::operation::put_model_invocation_logging_configuration::{
        PutModelInvocationLoggingConfigurationError, PutModelInvocationLoggingConfigurationOutput,
    };
    use aws_sdk_bedrock::types::error::{
        ConflictException, ResourceNotFoundException, ThrottlingException, ValidationException,
    };
    use aws_sdk_bedrock::types::{InferenceProfileModel, InferenceProfileStatus};
    use aws_smithy_mocks::{
        MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock,
    };
    use std::time::Duration;
    use tokio::time::Instant;

    /// A plane whose HTTP never leaves the process, built the way production builds it (SDK
    /// retries off by [`SdkPlanes`] itself), so every attempt a rule counts is ours.
    fn plane(rules: &[&Rule]) -> SdkPlane {
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for rule in rules {
            interceptor = interceptor.with_rule(rule);
        }
        let interceptor = SharedInterceptor::new(interceptor);
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "test",
            )))
            .http_client(create_mock_http_client())
            .retry_config(RetryConfig::standard())
            .build();
        SdkPlanes::customised(&sdk, move |b| b.interceptor(interceptor.clone()))
            .for_region("us-east-1")
    }

    /// Real responses carry the error code (from `x-amzn-ErrorType`) in the metadata.
    fn meta(code: &str, message: &str) -> aws_sdk_bedrock::error::ErrorMetadata {
        aws_sdk_bedrock::error::ErrorMetadata::builder()
            .code(code)
            .message(message)
            .build()
    }

    const ARN: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12";

    fn profile_output() -> GetInferenceProfileOutput {
        GetInferenceProfileOutput::builder()
            .inference_profile_name("p")
            .inference_profile_arn(ARN)
            .inference_profile_id("abcdefghij12")
            .status(InferenceProfileStatus::Active)
            .r#type(InferenceProfileType::Application)
            .models(
                InferenceProfileModel::builder()
                    .model_arn("arn:aws:bedrock:us-east-1::foundation-model/a.b")
                    .build(),
            )
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn sdk_errors_are_classified_by_their_code() {
        let rule = mock!(Client::create_inference_profile)
            .sequence()
            .error(|| {
                CreateInferenceProfileError::ConflictException(
                    ConflictException::builder()
                        .message("name taken")
                        .meta(meta("ConflictException", "name taken"))
                        .build(),
                )
            })
            .error(|| {
                CreateInferenceProfileError::ThrottlingException(
                    ThrottlingException::builder()
                        .message("slow")
                        .meta(meta("ThrottlingException", "slow"))
                        .build(),
                )
            })
            .error(|| {
                CreateInferenceProfileError::ValidationException(
                    ValidationException::builder()
                        .message("bad")
                        .meta(meta("ValidationException", "bad"))
                        .build(),
                )
            })
            .build();
        let plane = plane(&[&rule]);
        let new = NewProfile {
            name: "p".into(),
            description: None,
            source_arn: "arn:aws:bedrock:us-east-1::foundation-model/a.b".into(),
            tags: vec![],
            client_token: "t".into(),
        };
        let kinds: Vec<AwsErrorKind> = [
            plane.create_inference_profile(&new).await,
            plane.create_inference_profile(&new).await,
            plane.create_inference_profile(&new).await,
        ]
        .into_iter()
        .map(|r| r.unwrap_err().kind)
        .collect();
        assert_eq!(
            kinds,
            vec![
                AwsErrorKind::Conflict,
                AwsErrorKind::Throttling,
                AwsErrorKind::Validation
            ]
        );
    }

    #[tokio::test]
    async fn a_throttled_control_plane_recovers_within_the_deadline() {
        let rule = mock!(Client::get_inference_profile)
            .sequence()
            .error(|| {
                GetInferenceProfileError::ThrottlingException(
                    ThrottlingException::builder()
                        .message("Too many requests")
                        .meta(meta("ThrottlingException", "Too many requests"))
                        .build(),
                )
            })
            .times(3)
            .output(profile_output)
            .build();
        let plane = plane(&[&rule]);
        let got = retry::call(
            Instant::now() + Duration::from_secs(20),
            "GetInferenceProfile",
            || plane.get_inference_profile(ARN),
        )
        .await
        .unwrap();
        assert_eq!(got.arn, ARN);
        assert_eq!(got.status, "ACTIVE");
        assert_eq!(got.kind, "APPLICATION");
        assert_eq!(rule.num_calls(), 4);
    }

    #[tokio::test]
    async fn not_found_is_classified_for_idempotent_deletes() {
        let rule = mock!(Client::get_inference_profile).then_error(|| {
            GetInferenceProfileError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("gone")
                    .meta(meta("ResourceNotFoundException", "gone"))
                    .build(),
            )
        });
        let err = plane(&[&rule])
            .get_inference_profile(ARN)
            .await
            .unwrap_err();
        assert_eq!(err.kind, AwsErrorKind::NotFound);
        assert_eq!(err.message, "gone");
    }

    #[tokio::test]
    async fn permission_validation_is_retried_until_the_role_propagates() {
        let rule = mock!(Client::put_model_invocation_logging_configuration)
            .sequence()
            .error(|| {
                PutModelInvocationLoggingConfigurationError::ValidationException(
                    ValidationException::builder().message("Failed to validate permissions for log group: /g, with role: arn:aws:iam::123456789012:role/r. Verify the IAM role permissions are correct.").meta(meta("ValidationException", "Failed to validate permissions for log group: /g, with role: arn:aws:iam::123456789012:role/r. Verify the IAM role permissions are correct."))
                        .build(),
                )
            })
            .times(2)
            .output(|| PutModelInvocationLoggingConfigurationOutput::builder().build())
            .build();
        let plane = plane(&[&rule]);
        let config = LoggingConfig {
            log_group_name: "/g".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            text: true,
            ..Default::default()
        };
        retry::call_retrying(
            Instant::now() + Duration::from_secs(20),
            "PutModelInvocationLoggingConfiguration",
            crate::logging::is_permission_propagation,
            || plane.put_logging(&config),
        )
        .await
        .unwrap();
        assert_eq!(rule.num_calls(), 3);
    }

    #[tokio::test]
    async fn create_returns_the_new_arn() {
        let rule = mock!(Client::create_inference_profile)
            .match_requests(|r| {
                r.client_request_token() == Some("tok")
                    && r.tags().iter().any(|t| t.key() == "k" && t.value() == "v")
            })
            .then_output(|| {
                CreateInferenceProfileOutput::builder()
                    .inference_profile_arn(ARN)
                    .build()
                    .unwrap()
            });
        let arn = plane(&[&rule])
            .create_inference_profile(&NewProfile {
                name: "p".into(),
                description: Some("d".into()),
                source_arn: "arn:aws:bedrock:us-east-1::foundation-model/a.b".into(),
                tags: vec![("k".into(), "v".into())],
                client_token: "tok".into(),
            })
            .await
            .unwrap();
        assert_eq!(arn, ARN);
    }

    fn logging_output(
        config: aws_sdk_bedrock::types::LoggingConfig,
    ) -> GetModelInvocationLoggingConfigurationOutput {
        GetModelInvocationLoggingConfigurationOutput::builder()
            .logging_config(config)
            .build()
    }

    #[tokio::test]
    async fn logging_to_cloudwatch_is_read_with_every_field() {
        let config = aws_sdk_bedrock::types::LoggingConfig::builder()
            .cloud_watch_config(
                CloudWatchConfig::builder()
                    .log_group_name("/bedrock/invocations")
                    .role_arn("arn:aws:iam::123456789012:role/bedrock-logging")
                    .large_data_delivery_s3_config(
                        S3Config::builder()
                            .bucket_name("large")
                            .key_prefix("big/")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .s3_config(S3Config::builder().bucket_name("logs").build().unwrap())
            .text_data_delivery_enabled(true)
            .embedding_data_delivery_enabled(true)
            .build();
        let rule = mock!(Client::get_model_invocation_logging_configuration)
            .then_output(move || logging_output(config.clone()));
        let got = plane(&[&rule]).get_logging().await.unwrap().unwrap();
        assert_eq!(
            got,
            LoggingConfig {
                log_group_name: "/bedrock/invocations".into(),
                role_arn: "arn:aws:iam::123456789012:role/bedrock-logging".into(),
                large_data_bucket: Some("large".into()),
                large_data_key_prefix: Some("big/".into()),
                s3_bucket: Some("logs".into()),
                s3_key_prefix: None,
                text: true,
                image: false,
                embedding: true,
                video: false,
                audio: false,
            }
        );
    }

    #[tokio::test]
    async fn logging_only_to_s3_is_read_without_a_log_group() {
        let config = aws_sdk_bedrock::types::LoggingConfig::builder()
            .s3_config(
                S3Config::builder()
                    .bucket_name("logs")
                    .key_prefix("p/")
                    .build()
                    .unwrap(),
            )
            .image_data_delivery_enabled(true)
            .build();
        let rule = mock!(Client::get_model_invocation_logging_configuration)
            .then_output(move || logging_output(config.clone()));
        let got = plane(&[&rule]).get_logging().await.unwrap().unwrap();
        assert!(
            got.log_group_name.is_empty() && got.role_arn.is_empty(),
            "{got:?}"
        );
        assert_eq!(got.s3_bucket.as_deref(), Some("logs"));
        assert_eq!(got.s3_key_prefix.as_deref(), Some("p/"));
        assert!(got.image && !got.text, "{got:?}");
    }
}
