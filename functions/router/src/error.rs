//! The router's one error enum and the one function that turns an error into an HTTP response.
//!
//! 4xx bodies say exactly what is wrong and how to fix it; 5xx bodies are generic and the cause
//! is logged once, here. OpenAI routes get `{"error": {"message","type","param","code"}}`;
//! Bedrock-API routes get Bedrock's own `{"message"}` with `x-amzn-ErrorType`.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;
use shared::aws::{AwsError, AwsErrorKind};

use crate::dialect::Dialect;

/// Seconds a throttled caller is told to wait (Bedrock gives no hint of its own).
pub const RETRY_AFTER_SECS: u64 = 2;

/// The kinds of failure Bedrock reports, by its error shape names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BedrockErrorKind {
    Validation,
    AccessDenied,
    ResourceNotFound,
    Throttling,
    ModelNotReady,
    ModelTimeout,
    ModelError,
    ModelStreamError,
    ServiceQuotaExceeded,
    InternalServer,
    ServiceUnavailable,
    /// The call never got an answer (connection refused, timeout, undecodable reply).
    Transport,
    /// The invocation's own time ran out while waiting (see [`crate::budget`]).
    OutOfTime,
    /// A code this product does not know, or a request the SDK could not send: not retried.
    Other,
}

/// The router's view of the workspace's one classification ([`shared::aws`]): a conflict is a
/// rejected request, an SDK timeout a failed transport.
impl From<AwsErrorKind> for BedrockErrorKind {
    fn from(kind: AwsErrorKind) -> Self {
        match kind {
            AwsErrorKind::Validation | AwsErrorKind::Conflict => Self::Validation,
            AwsErrorKind::AccessDenied => Self::AccessDenied,
            AwsErrorKind::NotFound => Self::ResourceNotFound,
            AwsErrorKind::Throttling => Self::Throttling,
            AwsErrorKind::ServiceQuotaExceeded => Self::ServiceQuotaExceeded,
            AwsErrorKind::ModelNotReady => Self::ModelNotReady,
            AwsErrorKind::ModelTimeout => Self::ModelTimeout,
            AwsErrorKind::ModelError => Self::ModelError,
            AwsErrorKind::ModelStreamError => Self::ModelStreamError,
            AwsErrorKind::InternalServer => Self::InternalServer,
            AwsErrorKind::ServiceUnavailable => Self::ServiceUnavailable,
            AwsErrorKind::Timeout | AwsErrorKind::Transport => Self::Transport,
            AwsErrorKind::Other => Self::Other,
        }
    }
}

impl BedrockErrorKind {
    /// Whether another profile (or a later attempt) may succeed: the shared rule
    /// ([`AwsErrorKind::is_retryable`]); the invocation's own deadline never is.
    pub fn is_retryable(self) -> bool {
        self.aws().is_some_and(AwsErrorKind::is_retryable)
    }

    /// The shared classification this kind stands for; `None` for the router's own
    /// [`BedrockErrorKind::OutOfTime`].
    fn aws(self) -> Option<AwsErrorKind> {
        Some(match self {
            Self::Validation => AwsErrorKind::Validation,
            Self::AccessDenied => AwsErrorKind::AccessDenied,
            Self::ResourceNotFound => AwsErrorKind::NotFound,
            Self::Throttling => AwsErrorKind::Throttling,
            Self::ModelNotReady => AwsErrorKind::ModelNotReady,
            Self::ModelTimeout => AwsErrorKind::ModelTimeout,
            Self::ModelError => AwsErrorKind::ModelError,
            Self::ModelStreamError => AwsErrorKind::ModelStreamError,
            Self::ServiceQuotaExceeded => AwsErrorKind::ServiceQuotaExceeded,
            Self::InternalServer => AwsErrorKind::InternalServer,
            Self::ServiceUnavailable => AwsErrorKind::ServiceUnavailable,
            Self::Transport => AwsErrorKind::Transport,
            Self::Other => AwsErrorKind::Other,
            Self::OutOfTime => return None,
        })
    }

    /// Bedrock's shape name, used as `x-amzn-ErrorType` on the native routes.
    pub fn shape_name(self) -> &'static str {
        match self {
            Self::Validation => "ValidationException",
            Self::AccessDenied => "AccessDeniedException",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::Throttling => "ThrottlingException",
            Self::ModelNotReady => "ModelNotReadyException",
            Self::ModelTimeout | Self::OutOfTime => "ModelTimeoutException",
            Self::ModelError => "ModelErrorException",
            Self::ModelStreamError => "ModelStreamErrorException",
            Self::ServiceQuotaExceeded => "ServiceQuotaExceededException",
            Self::InternalServer => "InternalServerException",
            Self::ServiceUnavailable | Self::Transport => "ServiceUnavailableException",
            Self::Other => "InternalServerException",
        }
    }
}

/// A failure reported by (or on the way to) Bedrock.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct BedrockError {
    pub kind: BedrockErrorKind,
    pub message: String,
}

impl From<AwsError> for BedrockError {
    fn from(err: AwsError) -> Self {
        Self::new(err.kind.into(), err.message)
    }
}

impl BedrockError {
    pub fn new(kind: BedrockErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Everything that can go wrong in the router.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error(
        "request body is {actual} bytes; the router accepts at most {limit} bytes (images and documents count as base64): send smaller or fewer attachments"
    )]
    BodyTooLarge { actual: usize, limit: usize },

    #[error(
        "request body is not valid JSON ({detail}); send a JSON object with Content-Type: application/json"
    )]
    InvalidJson { detail: String },

    #[error("{message}")]
    InvalidRequest {
        param: Option<String>,
        message: String,
    },

    #[error("model `{model}` does not support {feature}; {remedy}")]
    Unsupported {
        model: String,
        feature: String,
        param: String,
        remedy: String,
    },

    /// The message comes from the profile map, which knows what is served and what was meant.
    #[error("{message}")]
    UnknownModel { model: String, message: String },

    #[error("no route for {method} {path}; routes are {routes}")]
    NoRoute {
        method: String,
        path: String,
        /// The routes there are ([`crate::routes::ROUTE_LIST`]), named in the message.
        routes: &'static str,
    },

    #[error("{method} is not allowed on {path}; use {allowed}")]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: &'static str,
    },

    #[error("Bedrock call for `{friendly_id}` ({call_id} in {region}) failed: {source}")]
    Bedrock {
        friendly_id: String,
        call_id: String,
        region: String,
        is_profile: bool,
        #[source]
        source: BedrockError,
    },

    /// A profile ARN that is not one of the caller's team's profiles: never invoked.
    #[error(
        "inference profile `{arn}` is not one of your team's profiles; call one of them or a model your team serves (GET /inference-profiles lists them)"
    )]
    ForeignProfile { arn: String },

    /// The same answer for a missing and a wrong key, so nothing about what exists leaks.
    #[error(
        "Missing or incorrect API key. Send your key as `Authorization: Bearer <key>` or in the `x-api-key` header."
    )]
    Unauthorized,

    /// Over a budget or a rate limit (see [`crate::spend`]).
    #[error(transparent)]
    Refused(#[from] shared::spend::Refusal),

    #[error("configuration error: {0}")]
    Config(String),

    #[error("internal error: {0}")]
    Internal(String),
}

impl RouterError {
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            param: Some(param.into()),
            message: message.into(),
        }
    }
}

/// What the caller is told: status, OpenAI type/code, message, and the Bedrock shape name.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub status: StatusCode,
    pub openai_type: &'static str,
    pub code: Option<&'static str>,
    pub param: Option<String>,
    pub message: String,
    pub shape: &'static str,
    pub retry_after: Option<u64>,
}

const GENERIC_5XX: &str = "The router could not complete the request because of an internal or upstream error; it has been logged. Retry later.";

/// Decides status and wording for an error. Pure, so both the HTTP and the mid-stream paths use it.
pub fn render(err: &RouterError) -> Rendered {
    let plain = |status, openai_type, code, shape| Rendered {
        status,
        openai_type,
        code,
        param: None,
        message: err.to_string(),
        shape,
        retry_after: None,
    };
    match err {
        RouterError::BodyTooLarge { .. } => plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            Some("request_too_large"),
            "ValidationException",
        ),
        RouterError::InvalidJson { .. } => plain(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("invalid_json"),
            "ValidationException",
        ),
        RouterError::InvalidRequest { param, .. } => Rendered {
            param: param.clone(),
            ..plain(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                "ValidationException",
            )
        },
        RouterError::Unsupported { param, .. } => Rendered {
            param: Some(param.clone()),
            ..plain(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("unsupported_parameter"),
                "ValidationException",
            )
        },
        RouterError::UnknownModel { .. } => Rendered {
            param: Some("model".into()),
            ..plain(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("model_not_found"),
                "ResourceNotFoundException",
            )
        },
        RouterError::NoRoute { .. } => plain(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("unknown_url"),
            "UnknownOperationException",
        ),
        RouterError::MethodNotAllowed { .. } => plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            Some("method_not_allowed"),
            "UnknownOperationException",
        ),
        RouterError::ForeignProfile { .. } => Rendered {
            param: Some("modelId".into()),
            ..plain(
                StatusCode::FORBIDDEN,
                "permission_error",
                Some("access_denied"),
                "AccessDeniedException",
            )
        },
        RouterError::Unauthorized => plain(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            "AccessDeniedException",
        ),
        RouterError::Bedrock {
            friendly_id,
            call_id,
            region,
            is_profile,
            source,
        } => render_bedrock(friendly_id, call_id, region, *is_profile, source),
        RouterError::Refused(refusal) => render_refusal(refusal),
        RouterError::Config(_) | RouterError::Internal(_) => Rendered {
            message: GENERIC_5XX.into(),
            ..plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "api_error",
                None,
                "InternalServerException",
            )
        },
    }
}

fn render_bedrock(
    friendly_id: &str,
    call_id: &str,
    region: &str,
    is_profile: bool,
    source: &BedrockError,
) -> Rendered {
    let kind = source.kind;
    let make = |status, openai_type, code: Option<&'static str>, message: String| Rendered {
        status,
        openai_type,
        code,
        param: None,
        message,
        shape: kind.shape_name(),
        retry_after: None,
    };
    match kind {
        BedrockErrorKind::Validation => make(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            format!(
                "Bedrock rejected the request for model `{friendly_id}`: {}",
                source.message
            ),
        ),
        BedrockErrorKind::AccessDenied => {
            let lower = source.message.to_ascii_lowercase();
            let message = if lower.contains("marketplace")
                || lower.contains("agreement")
                || lower.contains("subscription")
            {
                format!(
                    "The model agreement for `{friendly_id}` is not in place in {region}: accept the model's end-user licence agreement (Bedrock console, Model access) in the account that owns the profile, then retry. Bedrock said: {}",
                    source.message
                )
            } else {
                format!(
                    "The router is not allowed to invoke `{friendly_id}` ({call_id}) in {region}: grant its role bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream on the profile and the foundation models it routes to. Bedrock said: {}",
                    source.message
                )
            };
            make(
                StatusCode::FORBIDDEN,
                "permission_error",
                Some("access_denied"),
                message,
            )
        }
        BedrockErrorKind::ResourceNotFound => {
            let message = if is_profile {
                format!(
                    "The inference profile for `{friendly_id}` ({call_id}) was not found in {region}, the ARN's region: check the profile still exists there and that the router's profile map holds its current ARN. Bedrock said: {}",
                    source.message
                )
            } else {
                format!(
                    "Model `{call_id}` (for `{friendly_id}`) was not found in {region}: check the model ID and that the model is offered in that region. Bedrock said: {}",
                    source.message
                )
            };
            make(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("model_not_found"),
                message,
            )
        }
        BedrockErrorKind::Throttling | BedrockErrorKind::ModelNotReady => Rendered {
            retry_after: Some(RETRY_AFTER_SECS),
            ..make(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                Some("rate_limit_exceeded"),
                format!(
                    "Bedrock is throttling `{friendly_id}` in {region}; retry after {RETRY_AFTER_SECS} seconds, or ask for a higher quota. Bedrock said: {}",
                    source.message
                ),
            )
        },
        BedrockErrorKind::ServiceQuotaExceeded => make(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            Some("insufficient_quota"),
            format!(
                "A Bedrock service quota for `{friendly_id}` in {region} is exhausted; request a quota increase in Service Quotas. Bedrock said: {}",
                source.message
            ),
        ),
        BedrockErrorKind::ModelTimeout => make(
            StatusCode::GATEWAY_TIMEOUT,
            "api_error",
            Some("timeout"),
            GENERIC_5XX.into(),
        ),
        BedrockErrorKind::OutOfTime => make(
            StatusCode::GATEWAY_TIMEOUT,
            "api_error",
            Some("timeout"),
            format!(
                "Bedrock had not finished answering `{friendly_id}` in {region} when this invocation's time ran out; raise the router function's timeout (up to 900 seconds) or ask for fewer tokens (max_tokens)"
            ),
        ),
        BedrockErrorKind::ModelError
        | BedrockErrorKind::ModelStreamError
        | BedrockErrorKind::InternalServer
        | BedrockErrorKind::Transport
        | BedrockErrorKind::Other => make(
            StatusCode::BAD_GATEWAY,
            "api_error",
            None,
            GENERIC_5XX.into(),
        ),
        BedrockErrorKind::ServiceUnavailable => make(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            None,
            GENERIC_5XX.into(),
        ),
    }
}

/// How a refusal reads in each dialect: a 429; OpenAI `insufficient_quota` for a spent budget
/// and `rate_limit_exceeded` for a limit; Bedrock's `ThrottlingException` shape; `Retry-After`
/// with the seconds left in the minute for a rate limit (a budget has no useful wait).
fn render_refusal(refusal: &shared::spend::Refusal) -> Rendered {
    let (openai_type, code, retry_after) = match refusal {
        shared::spend::Refusal::BudgetExhausted { .. } => {
            ("insufficient_quota", "insufficient_quota", None)
        }
        shared::spend::Refusal::RateLimited {
            retry_after_secs, ..
        } => (
            "rate_limit_error",
            "rate_limit_exceeded",
            Some(*retry_after_secs),
        ),
    };
    Rendered {
        status: StatusCode::TOO_MANY_REQUESTS,
        openai_type,
        code: Some(code),
        param: None,
        message: refusal.to_string(),
        shape: "ThrottlingException",
        retry_after,
    }
}

/// The body for an error in the route's dialect (also used inside a stream that fails mid-way).
pub fn error_body(rendered: &Rendered, dialect: Dialect) -> serde_json::Value {
    match dialect {
        Dialect::OpenAi => json!({"error": {
            "message": rendered.message,
            "type": rendered.openai_type,
            "param": rendered.param,
            "code": rendered.code,
        }}),
        Dialect::Anthropic => json!({"type": "error", "error": {
            "type": anthropic_type(rendered.status),
            "message": rendered.message,
        }}),
        Dialect::Bedrock => json!({"message": rendered.message}),
    }
}

/// Anthropic's error type for a status (its SDKs pick their exception class from it).
fn anthropic_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// The status a dialect answers with: Anthropic says "overloaded" with 529, which its SDKs
/// retry, where the others say 503.
fn dialect_status(status: StatusCode, dialect: Dialect) -> StatusCode {
    if dialect == Dialect::Anthropic && status == StatusCode::SERVICE_UNAVAILABLE {
        StatusCode::from_u16(529).unwrap_or(status)
    } else {
        status
    }
}

/// THE mapping from an error to an HTTP response. 5xx causes are logged here, once.
pub fn error_response(err: &RouterError, dialect: Dialect) -> Response<Bytes> {
    let rendered = render(err);
    if rendered.status.is_server_error() {
        tracing::error!(error = %err, status = rendered.status.as_u16(), "request failed");
    } else {
        tracing::info!(status = rendered.status.as_u16(), code = ?rendered.code, "request refused");
    }
    let body = error_body(&rendered, dialect).to_string();
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = dialect_status(rendered.status, dialect);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if dialect == Dialect::Bedrock {
        headers.insert("x-amzn-ErrorType", HeaderValue::from_static(rendered.shape));
    }
    if let RouterError::MethodNotAllowed { allowed, .. } = err {
        headers.insert(header::ALLOW, HeaderValue::from_static(allowed));
    }
    if let Some(secs) = rendered.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if matches!(err, RouterError::Unauthorized) {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bedrock(kind: BedrockErrorKind, message: &str, is_profile: bool) -> RouterError {
        RouterError::Bedrock {
            friendly_id: "claude".into(),
            call_id:
                "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abcdefghij12"
                    .into(),
            region: "eu-west-1".into(),
            is_profile,
            source: BedrockError::new(kind, message),
        }
    }

    #[test]
    fn marketplace_access_denied_says_the_agreement_is_not_in_place() {
        let r = render(&bedrock(
            BedrockErrorKind::AccessDenied,
            "Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions",
            true,
        ));
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(
            r.message.contains("agreement for `claude` is not in place"),
            "{}",
            r.message
        );
    }

    #[test]
    fn plain_access_denied_names_the_missing_permission() {
        let r = render(&bedrock(
            BedrockErrorKind::AccessDenied,
            "not authorized",
            true,
        ));
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.message.contains("bedrock:InvokeModel"), "{}", r.message);
    }

    #[test]
    fn a_missing_profile_is_a_404_naming_the_arns_region() {
        let r = render(&bedrock(
            BedrockErrorKind::ResourceNotFound,
            "not found",
            true,
        ));
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(
            r.message
                .contains("not found in eu-west-1, the ARN's region"),
            "{}",
            r.message
        );
    }

    #[test]
    fn throttling_is_a_429_with_retry_after() {
        let response = error_response(
            &bedrock(BedrockErrorKind::Throttling, "Too many requests", true),
            Dialect::OpenAi,
        );
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["error"]["type"], "rate_limit_error");
    }

    #[test]
    fn server_errors_do_not_leak_their_cause() {
        let response = error_response(
            &bedrock(
                BedrockErrorKind::InternalServer,
                "secret stack trace",
                false,
            ),
            Dialect::Bedrock,
        );
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        let body = String::from_utf8(response.body().to_vec()).unwrap();
        assert!(!body.contains("secret"), "{body}");
        assert_eq!(
            response.headers()["x-amzn-ErrorType"],
            "InternalServerException"
        );
    }

    #[test]
    fn native_errors_carry_the_bedrock_shape_name() {
        let response = error_response(
            &RouterError::UnknownModel {
                model: "gpt".into(),
                message: "model `gpt` is not served here; available models: claude, nova".into(),
            },
            Dialect::Bedrock,
        );
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()["x-amzn-ErrorType"],
            "ResourceNotFoundException"
        );
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body["message"],
            "model `gpt` is not served here; available models: claude, nova"
        );
    }

    #[test]
    fn the_shared_classification_decides_kind_and_retry() {
        let kind = |code| BedrockErrorKind::from(AwsErrorKind::from_code(code));
        assert_eq!(kind("throttlingException"), BedrockErrorKind::Throttling);
        assert_eq!(
            kind("ModelStreamErrorException"),
            BedrockErrorKind::ModelStreamError
        );
        // A code nobody knows is not a reason to try another profile.
        assert_eq!(kind("somethingNew"), BedrockErrorKind::Other);
        assert!(!BedrockErrorKind::Other.is_retryable());
        assert!(!BedrockErrorKind::OutOfTime.is_retryable());
        assert!(BedrockErrorKind::from(AwsErrorKind::Timeout).is_retryable());
        assert!(!BedrockErrorKind::from(AwsErrorKind::Conflict).is_retryable());
    }
}
