//! The Bedrock seam: the calls the router makes, as a trait, and the AWS SDK adapter.
//!
//! Handlers are generic over [`Bedrock`]; unit tests use an in-memory fake, the integration test
//! and production use [`SdkBedrock`]. The adapter is the only place that knows the SDK's types.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types as sdk;
use aws_smithy_types::{Document, Number};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::Stream;
use serde_json::Value;
use shared::aws::{AwsError, HttpStatus, RegionalClients};

use crate::converse::{
    BlockStart, CachePoint, ContentBlock, ContentBlockDelta, ContentBlockStart, ContentBlockStop,
    ConverseOutput, ConverseRequest, ConverseResponse, Delta, GuardrailConfig, Message,
    MessageStart, MessageStop, Metrics, ReasoningBlock, ReasoningDelta, ReasoningText, Role,
    StreamEvent, StreamMetadata, SystemBlock, Tool, ToolChoice, ToolResultContent, ToolUseBlock,
    ToolUseDelta, ToolUseStart, Usage,
};
use crate::error::{BedrockError, BedrockErrorKind};

/// The events of one ConverseStream call, in arrival order.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, BedrockError>> + Send>>;

/// The chunks of one InvokeModelWithResponseStream call, each the model's own JSON bytes
/// (already out of the event-stream frame and its base64), in arrival order.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Bytes, BedrockError>> + Send>>;

/// One InvokeModel call: the model's native body and InvokeModel's headers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvokeRequest {
    pub body: Bytes,
    /// `application/json` when unset.
    pub content_type: Option<String>,
    pub accept: Option<String>,
    /// `X-Amzn-Bedrock-Trace`: `ENABLED`, `DISABLED` or `ENABLED_FULL`.
    pub trace: Option<String>,
    pub guardrail_identifier: Option<String>,
    pub guardrail_version: Option<String>,
    /// `X-Amzn-Bedrock-PerformanceConfig-Latency`: `standard` or `optimized`.
    pub performance_config_latency: Option<String>,
    /// Sent as `X-Amzn-Bedrock-Request-Metadata` (a JSON object), so invocation logs carry the
    /// tenant as Converse's `requestMetadata` does.
    pub request_metadata: BTreeMap<String, String>,
}

/// InvokeModel's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeResponse {
    pub body: Bytes,
    pub content_type: String,
}

/// What CountTokens counts: an InvokeModel body or a Converse request.
#[derive(Debug, Clone, PartialEq)]
pub enum CountTokensInput {
    InvokeModel(Bytes),
    Converse(Box<ConverseRequest>),
}

/// An inference profile as GetInferenceProfile describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileDescription {
    pub arn: String,
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// `ACTIVE`.
    pub status: String,
    /// `APPLICATION` or `SYSTEM_DEFINED`.
    pub kind: String,
    /// Foundation-model ARNs the profile routes to.
    pub model_arns: Vec<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl ProfileDescription {
    /// The foundation-model ID underneath (the first model's).
    pub fn foundation_model(&self) -> Option<String> {
        self.model_arns.iter().find_map(|arn| {
            shared::arn::ModelRef::parse(arn)
                .ok()
                .and_then(|r| r.foundation_model().map(|m| m.as_str().to_owned()))
        })
    }
}

/// Where a call goes: the `modelId` and the region of the client that sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    pub model_id: String,
    pub region: String,
}

/// What the router needs from Bedrock.
pub trait Bedrock: Send + Sync + 'static {
    fn converse(
        &self,
        site: &CallSite,
        request: ConverseRequest,
    ) -> impl Future<Output = Result<ConverseResponse, BedrockError>> + Send;

    fn converse_stream(
        &self,
        site: &CallSite,
        request: ConverseRequest,
    ) -> impl Future<Output = Result<EventStream, BedrockError>> + Send;

    fn invoke(
        &self,
        site: &CallSite,
        request: InvokeRequest,
    ) -> impl Future<Output = Result<InvokeResponse, BedrockError>> + Send;

    fn invoke_stream(
        &self,
        site: &CallSite,
        request: InvokeRequest,
    ) -> impl Future<Output = Result<ChunkStream, BedrockError>> + Send;

    /// CountTokens for `model_id` (a foundation-model ID) in `region`.
    fn count_tokens(
        &self,
        model_id: &str,
        region: &str,
        input: CountTokensInput,
    ) -> impl Future<Output = Result<u64, BedrockError>> + Send;

    /// GetInferenceProfile.
    fn inference_profile(
        &self,
        id: &str,
        region: &str,
    ) -> impl Future<Output = Result<ProfileDescription, BedrockError>> + Send;
}

impl<T: Bedrock> Bedrock for Arc<T> {
    fn converse(
        &self,
        site: &CallSite,
        request: ConverseRequest,
    ) -> impl Future<Output = Result<ConverseResponse, BedrockError>> + Send {
        (**self).converse(site, request)
    }

    fn converse_stream(
        &self,
        site: &CallSite,
        request: ConverseRequest,
    ) -> impl Future<Output = Result<EventStream, BedrockError>> + Send {
        (**self).converse_stream(site, request)
    }

    fn invoke(
        &self,
        site: &CallSite,
        request: InvokeRequest,
    ) -> impl Future<Output = Result<InvokeResponse, BedrockError>> + Send {
        (**self).invoke(site, request)
    }

    fn invoke_stream(
        &self,
        site: &CallSite,
        request: InvokeRequest,
    ) -> impl Future<Output = Result<ChunkStream, BedrockError>> + Send {
        (**self).invoke_stream(site, request)
    }

    fn count_tokens(
        &self,
        model_id: &str,
        region: &str,
        input: CountTokensInput,
    ) -> impl Future<Output = Result<u64, BedrockError>> + Send {
        (**self).count_tokens(model_id, region, input)
    }

    fn inference_profile(
        &self,
        id: &str,
        region: &str,
    ) -> impl Future<Output = Result<ProfileDescription, BedrockError>> + Send {
        (**self).inference_profile(id, region)
    }
}

/// The SDK adapter: one shared `SdkConfig`, one client per region, built on first use.
///
/// Runtime clients (Converse, ConverseStream) have the SDK's retries switched off: the router
/// retries itself, moving to the model's next profile (see [`crate::failover`]), instead of
/// spending three attempts on a profile that is throttled. The control-plane client
/// (GetInferenceProfile) keeps the SDK's retries.
#[derive(Clone)]
pub struct SdkBedrock {
    runtime: Arc<RegionalClients<aws_sdk_bedrockruntime::Client>>,
    control: Arc<RegionalClients<aws_sdk_bedrock::Client>>,
}

impl SdkBedrock {
    pub fn new(config: aws_config::SdkConfig) -> Self {
        Self {
            runtime: Arc::new(RegionalClients::new(config.clone(), |c| {
                let conf = aws_sdk_bedrockruntime::config::Builder::from(c)
                    .retry_config(aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled())
                    .build();
                aws_sdk_bedrockruntime::Client::from_conf(conf)
            })),
            control: Arc::new(RegionalClients::new(config, aws_sdk_bedrock::Client::new)),
        }
    }

    fn runtime_client(&self, region: &str) -> aws_sdk_bedrockruntime::Client {
        self.runtime.get(region)
    }

    fn control_client(&self, region: &str) -> aws_sdk_bedrock::Client {
        self.control.get(region)
    }
}

/// An SDK call's failure, classified the workspace's one way ([`AwsError::from_sdk`]: code,
/// else HTTP status, else how the call failed).
fn sdk_error<E, R>(err: &aws_sdk_bedrockruntime::error::SdkError<E, R>) -> BedrockError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HttpStatus,
{
    AwsError::from_sdk(err).into()
}

/// A failure inside an event stream: the exception member decides the kind, because the
/// SDK does not always fill in the error code for modeled stream exceptions.
fn stream_error(
    err: &aws_sdk_bedrockruntime::error::SdkError<
        sdk::error::ConverseStreamOutputError,
        aws_smithy_types::event_stream::RawMessage,
    >,
) -> BedrockError {
    use sdk::error::ConverseStreamOutputError as E;
    let kind = match err.as_service_error() {
        Some(E::InternalServerException(_)) => BedrockErrorKind::InternalServer,
        Some(E::ModelStreamErrorException(_)) => BedrockErrorKind::ModelStreamError,
        Some(E::ValidationException(_)) => BedrockErrorKind::Validation,
        Some(E::ThrottlingException(_)) => BedrockErrorKind::Throttling,
        Some(E::ServiceUnavailableException(_)) => BedrockErrorKind::ServiceUnavailable,
        _ => return sdk_error(err),
    };
    BedrockError::new(kind, err.message().unwrap_or("stream failed").to_owned())
}

fn invalid(message: impl Into<String>) -> BedrockError {
    BedrockError::new(BedrockErrorKind::Validation, message)
}

fn build_err(e: aws_smithy_types::error::operation::BuildError) -> BedrockError {
    invalid(format!("request could not be built: {e}"))
}

/// Sets an [`InvokeRequest`] on an InvokeModel or InvokeModelWithResponseStream builder: the
/// two SDK builders share every setter but no trait.
macro_rules! with_invoke_request {
    ($builder:expr, $site:expr, $request:expr) => {
        $builder
            .model_id(&$site.model_id)
            .body(Blob::new($request.body.to_vec()))
            .content_type(
                $request
                    .content_type
                    .as_deref()
                    .unwrap_or("application/json"),
            )
            .set_accept($request.accept)
            .set_trace($request.trace.as_deref().map(sdk::Trace::from))
            .set_guardrail_identifier($request.guardrail_identifier)
            .set_guardrail_version($request.guardrail_version)
            .set_performance_config_latency(
                $request
                    .performance_config_latency
                    .as_deref()
                    .map(sdk::PerformanceConfigLatency::from),
            )
            .set_request_metadata(metadata_header(&$request.request_metadata))
    };
}

impl Bedrock for SdkBedrock {
    async fn converse(
        &self,
        site: &CallSite,
        request: ConverseRequest,
    ) -> Result<ConverseResponse, BedrockError> {
        let parts = SdkParts::try_from(request)?;
        let guardrail = parts.guardrail();
        let out = self
            .runtime_client(&site.region)
            .converse()
            .model_id(&site.model_id)
            .set_guardrail_config(guardrail)
            .set_messages(Some(parts.messages))
            .set_system(parts.system)
            .set_inference_config(parts.inference)
            .set_tool_config(parts.tools)
            .set_additional_model_request_fields(parts.additional)
            .set_additional_model_response_field_paths(parts.response_paths)
            .set_request_metadata(parts.metadata)
            .set_output_config(parts.output)
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
        let message = match out.output() {
            Some(sdk::ConverseOutput::Message(m)) => from_sdk_message(m),
            _ => {
                return Err(BedrockError::new(
                    BedrockErrorKind::Transport,
                    "Converse returned no output message",
                ));
            }
        };
        Ok(ConverseResponse {
            output: ConverseOutput { message },
            stop_reason: out.stop_reason().as_str().to_owned(),
            usage: out.usage().map(from_sdk_usage).unwrap_or_default(),
            metrics: Metrics {
                latency_ms: out
                    .metrics()
                    .map_or(0, |m| u64::try_from(m.latency_ms()).unwrap_or(0)),
            },
            additional_model_response_fields: out.additional_model_response_fields().map(to_json),
        })
    }

    async fn converse_stream(
        &self,
        site: &CallSite,
        request: ConverseRequest,
    ) -> Result<EventStream, BedrockError> {
        let parts = SdkParts::try_from(request)?;
        let guardrail = parts.stream_guardrail();
        let out = self
            .runtime_client(&site.region)
            .converse_stream()
            .model_id(&site.model_id)
            .set_guardrail_config(guardrail)
            .set_messages(Some(parts.messages))
            .set_system(parts.system)
            .set_inference_config(parts.inference)
            .set_tool_config(parts.tools)
            .set_additional_model_request_fields(parts.additional)
            .set_additional_model_response_field_paths(parts.response_paths)
            .set_request_metadata(parts.metadata)
            .set_output_config(parts.output)
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
        let receiver = out.stream;
        let stream = futures_util::stream::unfold(Some(receiver), |state| async move {
            let mut receiver = state?;
            loop {
                match receiver.recv().await {
                    Ok(Some(event)) => {
                        if let Some(ev) = from_sdk_event(event) {
                            return Some((Ok(ev), Some(receiver)));
                        }
                    }
                    Ok(None) => return None,
                    Err(e) => return Some((Err(stream_error(&e)), None)),
                }
            }
        });
        Ok(Box::pin(stream))
    }

    async fn invoke(
        &self,
        site: &CallSite,
        request: InvokeRequest,
    ) -> Result<InvokeResponse, BedrockError> {
        let builder = self.runtime_client(&site.region).invoke_model();
        let out = with_invoke_request!(builder, site, request)
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
        Ok(InvokeResponse {
            content_type: out.content_type().to_owned(),
            body: Bytes::from(out.body.into_inner()),
        })
    }

    async fn invoke_stream(
        &self,
        site: &CallSite,
        request: InvokeRequest,
    ) -> Result<ChunkStream, BedrockError> {
        let builder = self
            .runtime_client(&site.region)
            .invoke_model_with_response_stream();
        let out = with_invoke_request!(builder, site, request)
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
        let receiver = out.body;
        let stream = futures_util::stream::unfold(Some(receiver), |state| async move {
            let mut receiver = state?;
            loop {
                match receiver.recv().await {
                    Ok(Some(sdk::ResponseStream::Chunk(part))) => {
                        if let Some(bytes) = part.bytes {
                            return Some((Ok(Bytes::from(bytes.into_inner())), Some(receiver)));
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => return None,
                    Err(e) => return Some((Err(chunk_stream_error(&e)), None)),
                }
            }
        });
        Ok(Box::pin(stream))
    }

    async fn count_tokens(
        &self,
        model_id: &str,
        region: &str,
        input: CountTokensInput,
    ) -> Result<u64, BedrockError> {
        let input = match input {
            CountTokensInput::InvokeModel(body) => sdk::CountTokensInput::InvokeModel(
                sdk::InvokeModelTokensRequest::builder()
                    .body(Blob::new(body.to_vec()))
                    .build()
                    .map_err(build_err)?,
            ),
            CountTokensInput::Converse(request) => {
                let parts = SdkParts::try_from(*request)?;
                sdk::CountTokensInput::Converse(
                    sdk::ConverseTokensRequest::builder()
                        .set_messages(Some(parts.messages))
                        .set_system(parts.system)
                        .set_tool_config(parts.tools)
                        .set_additional_model_request_fields(parts.additional)
                        .build(),
                )
            }
        };
        let out = self
            .runtime_client(region)
            .count_tokens()
            .model_id(model_id)
            .input(input)
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
        Ok(count(out.input_tokens()))
    }

    async fn inference_profile(
        &self,
        id: &str,
        region: &str,
    ) -> Result<ProfileDescription, BedrockError> {
        let out = self
            .control_client(region)
            .get_inference_profile()
            .inference_profile_identifier(id)
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
        Ok(ProfileDescription {
            arn: out.inference_profile_arn().to_owned(),
            id: out.inference_profile_id().to_owned(),
            name: out.inference_profile_name().to_owned(),
            description: out.description().map(str::to_owned),
            status: out.status().as_str().to_owned(),
            kind: out.r#type().as_str().to_owned(),
            model_arns: out
                .models()
                .iter()
                .filter_map(|m| m.model_arn().map(str::to_owned))
                .collect(),
            created_at: out.created_at().map(|t| t.to_string()),
            updated_at: out.updated_at().map(|t| t.to_string()),
        })
    }
}

/// `requestMetadata` as InvokeModel's header value (a JSON object), when there is any.
fn metadata_header(metadata: &BTreeMap<String, String>) -> Option<String> {
    (!metadata.is_empty()).then(|| serde_json::to_string(metadata).unwrap_or_default())
}

/// A failure inside an InvokeModelWithResponseStream stream, by its exception member.
fn chunk_stream_error(
    err: &aws_sdk_bedrockruntime::error::SdkError<
        sdk::error::ResponseStreamError,
        aws_smithy_types::event_stream::RawMessage,
    >,
) -> BedrockError {
    use sdk::error::ResponseStreamError as E;
    let kind = match err.as_service_error() {
        Some(E::InternalServerException(_)) => BedrockErrorKind::InternalServer,
        Some(E::ModelStreamErrorException(_)) => BedrockErrorKind::ModelStreamError,
        Some(E::ValidationException(_)) => BedrockErrorKind::Validation,
        Some(E::ThrottlingException(_)) => BedrockErrorKind::Throttling,
        Some(E::ModelTimeoutException(_)) => BedrockErrorKind::ModelTimeout,
        Some(E::ServiceUnavailableException(_)) => BedrockErrorKind::ServiceUnavailable,
        _ => return sdk_error(err),
    };
    BedrockError::new(kind, err.message().unwrap_or("stream failed").to_owned())
}

/// A Converse request in SDK types.
struct SdkParts {
    messages: Vec<sdk::Message>,
    system: Option<Vec<sdk::SystemContentBlock>>,
    inference: Option<sdk::InferenceConfiguration>,
    tools: Option<sdk::ToolConfiguration>,
    additional: Option<Document>,
    response_paths: Option<Vec<String>>,
    metadata: Option<HashMap<String, String>>,
    output: Option<sdk::OutputConfig>,
    /// Converse and ConverseStream take the guardrail in two different SDK types.
    guardrail: Option<GuardrailConfig>,
}

impl SdkParts {
    fn guardrail(&self) -> Option<sdk::GuardrailConfiguration> {
        self.guardrail.as_ref().map(|g| {
            sdk::GuardrailConfiguration::builder()
                .guardrail_identifier(&g.guardrail_identifier)
                .guardrail_version(&g.guardrail_version)
                .set_trace(g.trace.as_deref().map(sdk::GuardrailTrace::from))
                .build()
        })
    }

    fn stream_guardrail(&self) -> Option<sdk::GuardrailStreamConfiguration> {
        self.guardrail.as_ref().map(|g| {
            sdk::GuardrailStreamConfiguration::builder()
                .guardrail_identifier(&g.guardrail_identifier)
                .guardrail_version(&g.guardrail_version)
                .set_trace(g.trace.as_deref().map(sdk::GuardrailTrace::from))
                .set_stream_processing_mode(
                    g.stream_processing_mode
                        .as_deref()
                        .map(sdk::GuardrailStreamProcessingMode::from),
                )
                .build()
        })
    }
}

impl TryFrom<ConverseRequest> for SdkParts {
    type Error = BedrockError;

    fn try_from(r: ConverseRequest) -> Result<Self, BedrockError> {
        let messages = r
            .messages
            .into_iter()
            .map(to_sdk_message)
            .collect::<Result<Vec<_>, _>>()?;
        let system = r
            .system
            .into_iter()
            .map(|b| {
                Ok(match b {
                    SystemBlock::Text(t) => sdk::SystemContentBlock::Text(t),
                    SystemBlock::CachePoint(point) => {
                        sdk::SystemContentBlock::CachePoint(cache_point(&point)?)
                    }
                })
            })
            .collect::<Result<Vec<_>, BedrockError>>()?;
        let inference = r.inference_config.map(|c| {
            sdk::InferenceConfiguration::builder()
                .set_max_tokens(c.max_tokens.and_then(|n| i32::try_from(n).ok()))
                .set_temperature(c.temperature)
                .set_top_p(c.top_p)
                .set_stop_sequences((!c.stop_sequences.is_empty()).then_some(c.stop_sequences))
                .build()
        });
        let tools = r
            .tool_config
            .map(|tc| {
                let tools = tc
                    .tools
                    .into_iter()
                    .map(|t| {
                        Ok(match t {
                            Tool::ToolSpec(spec) => sdk::Tool::ToolSpec(
                                sdk::ToolSpecification::builder()
                                    .name(spec.name)
                                    .set_description(spec.description)
                                    .input_schema(sdk::ToolInputSchema::Json(to_document(
                                        spec.input_schema.json,
                                    )))
                                    .build()
                                    .map_err(build_err)?,
                            ),
                            Tool::CachePoint(point) => sdk::Tool::CachePoint(cache_point(&point)?),
                        })
                    })
                    .collect::<Result<Vec<_>, BedrockError>>()?;
                let choice = match tc.tool_choice {
                    None => None,
                    Some(ToolChoice::Auto(_)) => Some(sdk::ToolChoice::Auto(
                        sdk::AutoToolChoice::builder().build(),
                    )),
                    Some(ToolChoice::Any(_)) => {
                        Some(sdk::ToolChoice::Any(sdk::AnyToolChoice::builder().build()))
                    }
                    Some(ToolChoice::Tool(t)) => Some(sdk::ToolChoice::Tool(
                        sdk::SpecificToolChoice::builder()
                            .name(t.name)
                            .build()
                            .map_err(build_err)?,
                    )),
                };
                sdk::ToolConfiguration::builder()
                    .set_tools(Some(tools))
                    .set_tool_choice(choice)
                    .build()
                    .map_err(build_err)
            })
            .transpose()?;
        let output = r
            .output_config
            .and_then(|oc| oc.text_format)
            .map(|tf| {
                let schema = sdk::JsonSchemaDefinition::builder()
                    .schema(tf.structure.json_schema.schema)
                    .set_name(tf.structure.json_schema.name)
                    .set_description(tf.structure.json_schema.description)
                    .build()
                    .map_err(build_err)?;
                let format = sdk::OutputFormat::builder()
                    .r#type(sdk::OutputFormatType::from(tf.kind.as_str()))
                    .structure(sdk::OutputFormatStructure::JsonSchema(schema))
                    .build()
                    .map_err(build_err)?;
                Ok::<_, BedrockError>(sdk::OutputConfig::builder().text_format(format).build())
            })
            .transpose()?;
        Ok(Self {
            messages,
            system: (!system.is_empty()).then_some(system),
            inference,
            tools,
            additional: r.additional_model_request_fields.map(to_document),
            response_paths: (!r.additional_model_response_field_paths.is_empty())
                .then_some(r.additional_model_response_field_paths),
            metadata: (!r.request_metadata.is_empty())
                .then(|| r.request_metadata.into_iter().collect()),
            output,
            guardrail: r.guardrail_config,
        })
    }
}

fn cache_point(point: &CachePoint) -> Result<sdk::CachePointBlock, BedrockError> {
    sdk::CachePointBlock::builder()
        .r#type(sdk::CachePointType::Default)
        .set_ttl(point.ttl.as_deref().map(sdk::CacheTtl::from))
        .build()
        .map_err(build_err)
}

fn decode(b64: &str) -> Result<Blob, BedrockError> {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map(Blob::new)
        .map_err(|e| invalid(format!("bytes are not valid base64: {e}")))
}

fn to_sdk_message(m: Message) -> Result<sdk::Message, BedrockError> {
    let content = m
        .content
        .into_iter()
        .map(to_sdk_block)
        .collect::<Result<Vec<_>, _>>()?;
    sdk::Message::builder()
        .role(match m.role {
            Role::User => sdk::ConversationRole::User,
            Role::Assistant => sdk::ConversationRole::Assistant,
        })
        .set_content(Some(content))
        .build()
        .map_err(build_err)
}

fn to_sdk_image(i: crate::converse::ImageBlock) -> Result<sdk::ImageBlock, BedrockError> {
    sdk::ImageBlock::builder()
        .format(sdk::ImageFormat::from(i.format.as_str()))
        .source(sdk::ImageSource::Bytes(decode(&i.source.bytes)?))
        .build()
        .map_err(build_err)
}

fn to_sdk_block(b: ContentBlock) -> Result<sdk::ContentBlock, BedrockError> {
    Ok(match b {
        ContentBlock::Text(t) => sdk::ContentBlock::Text(t),
        ContentBlock::Image(i) => sdk::ContentBlock::Image(to_sdk_image(i)?),
        ContentBlock::Document(d) => sdk::ContentBlock::Document(
            sdk::DocumentBlock::builder()
                .format(sdk::DocumentFormat::from(d.format.as_str()))
                .name(d.name)
                .source(sdk::DocumentSource::Bytes(decode(&d.source.bytes)?))
                .build()
                .map_err(build_err)?,
        ),
        ContentBlock::ToolUse(t) => sdk::ContentBlock::ToolUse(
            sdk::ToolUseBlock::builder()
                .tool_use_id(t.tool_use_id)
                .name(t.name)
                .input(to_document(t.input))
                .build()
                .map_err(build_err)?,
        ),
        ContentBlock::ToolResult(r) => {
            let content = r
                .content
                .into_iter()
                .map(|c| {
                    Ok(match c {
                        ToolResultContent::Text(t) => sdk::ToolResultContentBlock::Text(t),
                        ToolResultContent::Json(j) => {
                            sdk::ToolResultContentBlock::Json(to_document(j))
                        }
                        ToolResultContent::Image(i) => {
                            sdk::ToolResultContentBlock::Image(to_sdk_image(i)?)
                        }
                    })
                })
                .collect::<Result<Vec<_>, BedrockError>>()?;
            sdk::ContentBlock::ToolResult(
                sdk::ToolResultBlock::builder()
                    .tool_use_id(r.tool_use_id)
                    .set_content(Some(content))
                    .set_status(r.status.as_deref().map(sdk::ToolResultStatus::from))
                    .build()
                    .map_err(build_err)?,
            )
        }
        ContentBlock::ReasoningContent(ReasoningBlock::ReasoningText(r)) => {
            sdk::ContentBlock::ReasoningContent(sdk::ReasoningContentBlock::ReasoningText(
                sdk::ReasoningTextBlock::builder()
                    .text(r.text)
                    .set_signature(r.signature)
                    .build()
                    .map_err(build_err)?,
            ))
        }
        ContentBlock::ReasoningContent(ReasoningBlock::RedactedContent(b)) => {
            sdk::ContentBlock::ReasoningContent(sdk::ReasoningContentBlock::RedactedContent(
                decode(&b)?,
            ))
        }
        ContentBlock::CachePoint(point) => sdk::ContentBlock::CachePoint(cache_point(&point)?),
    })
}

fn encode(blob: &Blob) -> String {
    base64::engine::general_purpose::STANDARD.encode(blob.as_ref())
}

fn from_sdk_message(m: &sdk::Message) -> Message {
    let content = m
        .content()
        .iter()
        .filter_map(|b| match b {
            sdk::ContentBlock::Text(t) => Some(ContentBlock::Text(t.clone())),
            sdk::ContentBlock::ToolUse(t) => Some(ContentBlock::ToolUse(ToolUseBlock {
                tool_use_id: t.tool_use_id().to_owned(),
                name: t.name().to_owned(),
                input: to_json(t.input()),
            })),
            sdk::ContentBlock::ReasoningContent(sdk::ReasoningContentBlock::ReasoningText(r)) => {
                Some(ContentBlock::ReasoningContent(
                    ReasoningBlock::ReasoningText(ReasoningText {
                        text: r.text().to_owned(),
                        signature: r.signature().map(str::to_owned),
                    }),
                ))
            }
            sdk::ContentBlock::ReasoningContent(sdk::ReasoningContentBlock::RedactedContent(b)) => {
                Some(ContentBlock::ReasoningContent(
                    ReasoningBlock::RedactedContent(encode(b)),
                ))
            }
            // Other block kinds never appear in a model's reply to the requests the router sends.
            _ => None,
        })
        .collect();
    Message {
        role: Role::Assistant,
        content,
    }
}

fn count(n: i32) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn from_sdk_usage(u: &sdk::TokenUsage) -> Usage {
    Usage {
        input_tokens: count(u.input_tokens()),
        output_tokens: count(u.output_tokens()),
        total_tokens: count(u.total_tokens()),
        cache_read_input_tokens: u.cache_read_input_tokens().map(count),
        cache_write_input_tokens: u.cache_write_input_tokens().map(count),
    }
}

fn index(i: i32) -> u32 {
    u32::try_from(i).unwrap_or(0)
}

/// Converts one SDK stream event; kinds the router does not forward yield `None`.
fn from_sdk_event(event: sdk::ConverseStreamOutput) -> Option<StreamEvent> {
    Some(match event {
        sdk::ConverseStreamOutput::MessageStart(_) => StreamEvent::MessageStart(MessageStart {
            role: Role::Assistant,
        }),
        sdk::ConverseStreamOutput::ContentBlockStart(e) => match e.start() {
            Some(sdk::ContentBlockStart::ToolUse(t)) => {
                StreamEvent::ContentBlockStart(ContentBlockStart {
                    start: BlockStart::ToolUse(ToolUseStart {
                        tool_use_id: t.tool_use_id().to_owned(),
                        name: t.name().to_owned(),
                    }),
                    content_block_index: index(e.content_block_index()),
                })
            }
            _ => return None,
        },
        sdk::ConverseStreamOutput::ContentBlockDelta(e) => {
            let delta = match e.delta()? {
                sdk::ContentBlockDelta::Text(t) => Delta::Text(t.clone()),
                sdk::ContentBlockDelta::ToolUse(t) => Delta::ToolUse(ToolUseDelta {
                    input: t.input().to_owned(),
                }),
                sdk::ContentBlockDelta::ReasoningContent(r) => Delta::ReasoningContent(match r {
                    sdk::ReasoningContentBlockDelta::Text(t) => ReasoningDelta::Text(t.clone()),
                    sdk::ReasoningContentBlockDelta::Signature(s) => {
                        ReasoningDelta::Signature(s.clone())
                    }
                    sdk::ReasoningContentBlockDelta::RedactedContent(b) => {
                        ReasoningDelta::RedactedContent(encode(b))
                    }
                    _ => return None,
                }),
                _ => return None,
            };
            StreamEvent::ContentBlockDelta(ContentBlockDelta {
                delta,
                content_block_index: index(e.content_block_index()),
            })
        }
        sdk::ConverseStreamOutput::ContentBlockStop(e) => {
            StreamEvent::ContentBlockStop(ContentBlockStop {
                content_block_index: index(e.content_block_index()),
            })
        }
        sdk::ConverseStreamOutput::MessageStop(e) => StreamEvent::MessageStop(MessageStop {
            stop_reason: e.stop_reason().as_str().to_owned(),
            additional_model_response_fields: e.additional_model_response_fields().map(to_json),
        }),
        sdk::ConverseStreamOutput::Metadata(e) => StreamEvent::Metadata(StreamMetadata {
            usage: e.usage().map(from_sdk_usage).unwrap_or_default(),
            metrics: Metrics {
                latency_ms: e
                    .metrics()
                    .map_or(0, |m| u64::try_from(m.latency_ms()).unwrap_or(0)),
            },
        }),
        _ => return None,
    })
}

/// JSON to the SDK's document type.
pub fn to_document(v: Value) -> Document {
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(0.0))
        }),
        Value::String(s) => Document::String(s),
        Value::Array(a) => Document::Array(a.into_iter().map(to_document).collect()),
        Value::Object(o) => {
            Document::Object(o.into_iter().map(|(k, v)| (k, to_document(v))).collect())
        }
    }
}

/// The SDK's document type to JSON.
pub fn to_json(d: &Document) -> Value {
    match d {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        Document::String(s) => Value::String(s.clone()),
        Document::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Document::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! An in-memory Bedrock that records what it was asked and replays scripted answers.

    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    pub struct FakeBedrock {
        pub calls: Mutex<Vec<(CallSite, ConverseRequest)>>,
        pub reply: Mutex<Option<Result<ConverseResponse, BedrockError>>>,
        pub events: Mutex<Vec<Result<StreamEvent, BedrockError>>>,
        pub stream_error: Mutex<Option<BedrockError>>,
        pub profile_models: Mutex<HashMap<String, String>>,
        pub profile_error: Mutex<Option<BedrockError>>,
        pub profile_lookups: Mutex<usize>,
        /// Calls to these model IDs fail with the given error (before any stream event).
        pub failing_sites: Mutex<HashMap<String, BedrockError>>,
        pub invocations: Mutex<Vec<(CallSite, InvokeRequest)>>,
        pub invoke_reply: Mutex<Option<Result<InvokeResponse, BedrockError>>>,
        pub chunks: Mutex<Vec<Result<Bytes, BedrockError>>>,
        pub counted: Mutex<Vec<(String, String, CountTokensInput)>>,
        pub token_count: Mutex<Option<Result<u64, BedrockError>>>,
    }

    impl FakeBedrock {
        fn site_failure(&self, site: &CallSite) -> Option<BedrockError> {
            self.failing_sites
                .lock()
                .unwrap()
                .get(&site.model_id)
                .cloned()
        }
    }

    impl Bedrock for FakeBedrock {
        async fn converse(
            &self,
            site: &CallSite,
            request: ConverseRequest,
        ) -> Result<ConverseResponse, BedrockError> {
            self.calls.lock().unwrap().push((site.clone(), request));
            if let Some(e) = self.site_failure(site) {
                return Err(e);
            }
            self.reply.lock().unwrap().clone().unwrap_or_else(|| {
                Err(BedrockError::new(
                    BedrockErrorKind::InternalServer,
                    "no reply scripted",
                ))
            })
        }

        async fn converse_stream(
            &self,
            site: &CallSite,
            request: ConverseRequest,
        ) -> Result<EventStream, BedrockError> {
            self.calls.lock().unwrap().push((site.clone(), request));
            if let Some(e) = self.site_failure(site) {
                return Err(e);
            }
            if let Some(e) = self.stream_error.lock().unwrap().clone() {
                return Err(e);
            }
            let events = self.events.lock().unwrap().clone();
            Ok(Box::pin(futures_util::stream::iter(events)))
        }

        async fn invoke(
            &self,
            site: &CallSite,
            request: InvokeRequest,
        ) -> Result<InvokeResponse, BedrockError> {
            self.invocations
                .lock()
                .unwrap()
                .push((site.clone(), request));
            if let Some(e) = self.site_failure(site) {
                return Err(e);
            }
            self.invoke_reply
                .lock()
                .unwrap()
                .clone()
                .unwrap_or_else(|| {
                    Err(BedrockError::new(
                        BedrockErrorKind::InternalServer,
                        "no reply scripted",
                    ))
                })
        }

        async fn invoke_stream(
            &self,
            site: &CallSite,
            request: InvokeRequest,
        ) -> Result<ChunkStream, BedrockError> {
            self.invocations
                .lock()
                .unwrap()
                .push((site.clone(), request));
            if let Some(e) = self.site_failure(site) {
                return Err(e);
            }
            if let Some(e) = self.stream_error.lock().unwrap().clone() {
                return Err(e);
            }
            let chunks = self.chunks.lock().unwrap().clone();
            Ok(Box::pin(futures_util::stream::iter(chunks)))
        }

        async fn count_tokens(
            &self,
            model_id: &str,
            region: &str,
            input: CountTokensInput,
        ) -> Result<u64, BedrockError> {
            self.counted
                .lock()
                .unwrap()
                .push((model_id.to_owned(), region.to_owned(), input));
            self.token_count.lock().unwrap().clone().unwrap_or_else(|| {
                Err(BedrockError::new(
                    BedrockErrorKind::Validation,
                    "no count scripted",
                ))
            })
        }

        async fn inference_profile(
            &self,
            id: &str,
            region: &str,
        ) -> Result<ProfileDescription, BedrockError> {
            *self.profile_lookups.lock().unwrap() += 1;
            if let Some(e) = self.profile_error.lock().unwrap().clone() {
                return Err(e);
            }
            let model = self.profile_models.lock().unwrap().get(id).cloned();
            let model = model.ok_or_else(|| {
                BedrockError::new(BedrockErrorKind::ResourceNotFound, "no such profile")
            })?;
            Ok(ProfileDescription {
                arn: id.to_owned(),
                id: id.rsplit('/').next().unwrap_or(id).to_owned(),
                name: "team profile".into(),
                description: None,
                status: "ACTIVE".into(),
                kind: "APPLICATION".into(),
                model_arns: vec![format!(
                    "arn:aws:bedrock:{region}::foundation-model/{model}"
                )],
                created_at: None,
                updated_at: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_survives_the_trip_through_sdk_documents() {
        let v = json!({"a": [1, -2, 2.5, "x", true, null], "b": {"c": {}}});
        assert_eq!(to_json(&to_document(v.clone())), v);
    }

    #[test]
    fn a_native_request_converts_to_sdk_types() {
        let req: ConverseRequest = serde_json::from_value(json!({
            "messages": [{"role": "user", "content": [{"text": "hi"}, {"image": {"format": "png", "source": {"bytes": "aGk="}}}, {"cachePoint": {"type": "default"}}]}],
            "system": [{"text": "s"}],
            "toolConfig": {"tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": {"type": "object"}}}}], "toolChoice": {"tool": {"name": "t"}}},
            "outputConfig": {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": "{}"}}}},
            "requestMetadata": {"model": "claude"}
        }))
        .unwrap();
        let parts = SdkParts::try_from(req).unwrap();
        assert_eq!(parts.messages[0].content().len(), 3);
        assert!(
            matches!(&parts.messages[0].content()[1], sdk::ContentBlock::Image(i) if i.source() == Some(&sdk::ImageSource::Bytes(Blob::new(b"hi".to_vec()))))
        );
        assert_eq!(parts.metadata.unwrap()["model"], "claude");
        assert!(parts.output.is_some());
    }

    #[test]
    fn bad_base64_in_a_native_request_is_a_validation_error() {
        let req: ConverseRequest = serde_json::from_value(json!({
            "messages": [{"role": "user", "content": [{"image": {"format": "png", "source": {"bytes": "!!!"}}}]}]
        }))
        .unwrap();
        let err = SdkParts::try_from(req).err().unwrap();
        assert_eq!(err.kind, BedrockErrorKind::Validation);
    }
}
