//! Emulator state and the contract between the control plane and the runtime.
//!
//! # Contract for `crate::runtime` (kept stable)
//!
//! The router hands every `POST /model/{modelId}/{converse|converse-stream|invoke|
//! invoke-with-response-stream}` to
//! `crate::runtime::handle(ctx: &RuntimeContext, op: Operation, model_id: &str, request:
//! http::Request<bytes::Bytes>) -> http::Response<crate::runtime::Body>` (an `async fn`), with
//! `model_id` already percent-decoded and the request body fully read. Everything under
//! `/_emulator/runtime/` goes to `crate::runtime::admin(state: &Arc<EmulatorState>, request:
//! http::Request<bytes::Bytes>) -> http::Response<crate::runtime::Body>` (also `async`), with
//! no authentication.
//!
//! `crate::runtime::Body` may be any type implementing `http_body::Body<Data = Bytes>` +
//! `Send + 'static` whose error converts into [`BoxError`]; the router boxes it. The simplest
//! choice is `pub use crate::state::Body;`, which is what [`ApiError::into_response`] returns.
//!
//! `crate::runtime::store::RuntimeState` must implement `Default` and have `fn reset(&self)`; it lives
//! in [`EmulatorState::runtime`] and `POST /_emulator/reset` calls `reset` on it.
//!
//! What the runtime may call here:
//! - [`EmulatorState::runtime_model`]: resolves any runtime model ID form in a region;
//! - [`EmulatorState::logging_config`]: the `loggingConfig` as last PUT in that region;
//! - [`EmulatorState::account_id`], [`EmulatorState::logs_endpoint`];
//! - [`RequestContext`] (region, access key ID, request ID) via [`RuntimeContext::request`];
//! - [`ApiError`] and its constructors, [`full_body`].
//!
//! The router sets `x-amzn-RequestId` to `ctx.request.request_id` on every response that lacks
//! it, so the runtime need not (but may, with the same value).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::catalog;

/// The error type of streamed bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type every route answers with.
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// A body made of bytes known up front.
pub fn full_body(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Who called and where: taken from the SigV4 `Authorization` header of each request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestContext {
    /// The region of the credential scope; all state is per region.
    pub region: String,
    /// The access key ID of the credential (the runtime derives `identity.arn` from it).
    pub access_key_id: String,
    /// The UUID sent back as `x-amzn-RequestId`.
    pub request_id: String,
}

/// What the runtime receives with each call.
#[derive(Clone)]
pub struct RuntimeContext {
    pub state: Arc<EmulatorState>,
    pub request: RequestContext,
}

/// An AWS error as Bedrock sends it (restJson1).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// The shape name, e.g. `ValidationException`.
    pub error_type: String,
    pub message: String,
    /// Modeled members sent beside `message` (e.g. `resourceName`). A list rather than a map
    /// keeps the error small on the `Result` path (a JSON map with `preserve_order` is large).
    pub extra: Vec<(String, Value)>,
}

const CORAL_SUFFIX: &str = ":http://internal.amazon.com/coral/com.amazon.bedrock/";

impl ApiError {
    pub fn new(status: StatusCode, error_type: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            error_type: error_type.to_string(),
            message: message.into(),
            extra: Vec::new(),
        }
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationException", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ConflictException", message)
    }
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "AccessDeniedException", message)
    }
    pub fn unknown_operation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "UnknownOperationException", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            message,
        )
    }
    /// The message Bedrock gives for a model ID it does not know.
    pub fn invalid_model_identifier() -> Self {
        Self::validation("The provided model identifier is invalid.")
    }
    /// Adds a modeled member beside `message`.
    pub fn with_member(mut self, key: &str, value: Value) -> Self {
        self.extra.push((key.to_string(), value));
        self
    }

    /// The wire form: status, `x-amzn-ErrorType: <Shape>:http://internal.amazon.com/coral/...`,
    /// `Content-Type: application/json`, body `{"message": ..., <extra>}`.
    pub fn into_response(self) -> Response<Body> {
        let mut body: Map<String, Value> = self.extra.into_iter().collect();
        body.insert("message".to_string(), Value::String(self.message));
        let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
        let mut response = Response::new(full_body(bytes));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(value) = HeaderValue::from_str(&format!("{}{CORAL_SUFFIX}", self.error_type)) {
            headers.insert("x-amzn-ErrorType", value);
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

/// Agreement state of a model (GetFoundationModelAvailability `agreementAvailability.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgreementStatus {
    Available,
    Pending,
    NotAvailable,
    Error,
}

/// `authorizationStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizationStatus {
    Authorized,
    NotAuthorized,
}

/// `entitlementAvailability` and `regionAvailability`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Availability {
    Available,
    NotAvailable,
}

/// The access state of one foundation model in one region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelAccess {
    pub agreement: AgreementStatus,
    pub agreement_error_message: Option<String>,
    pub authorization: AuthorizationStatus,
    pub entitlement: Availability,
    pub region: Availability,
}

impl Default for ModelAccess {
    /// Everything available: the local default for every seeded model.
    fn default() -> Self {
        Self {
            agreement: AgreementStatus::Available,
            agreement_error_message: None,
            authorization: AuthorizationStatus::Authorized,
            entitlement: Availability::Available,
            region: Availability::Available,
        }
    }
}

impl ModelAccess {
    /// True when a runtime call may proceed.
    pub fn is_invocable(&self) -> bool {
        self.agreement == AgreementStatus::Available
            && self.authorization == AuthorizationStatus::Authorized
            && self.entitlement == Availability::Available
            && self.region == Availability::Available
    }

    /// The GetFoundationModelAvailability answer for `model_id`.
    pub fn to_wire(&self, model_id: &str) -> Value {
        let mut agreement = json!({ "status": self.agreement });
        if let Some(message) = &self.agreement_error_message {
            agreement["errorMessage"] = Value::String(message.clone());
        }
        json!({
            "modelId": model_id,
            "agreementAvailability": agreement,
            "authorizationStatus": self.authorization,
            "entitlementAvailability": self.entitlement,
            "regionAvailability": self.region,
        })
    }
}

/// A partial change of [`ModelAccess`], in the wire field names of
/// GetFoundationModelAvailability (used by the admin route and the seed file).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelAccessPatch {
    pub agreement_availability: Option<AgreementPatch>,
    pub authorization_status: Option<AuthorizationStatus>,
    pub entitlement_availability: Option<Availability>,
    pub region_availability: Option<Availability>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgreementPatch {
    pub status: AgreementStatus,
    pub error_message: Option<String>,
}

impl ModelAccessPatch {
    pub fn apply(&self, access: &mut ModelAccess) {
        if let Some(agreement) = &self.agreement_availability {
            access.agreement = agreement.status;
            access.agreement_error_message = agreement.error_message.clone();
        }
        if let Some(value) = self.authorization_status {
            access.authorization = value;
        }
        if let Some(value) = self.entitlement_availability {
            access.entitlement = value;
        }
        if let Some(value) = self.region_availability {
            access.region = value;
        }
    }
}

/// A runtime model ID resolved in one region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeModel {
    /// The model ID exactly as the caller sent it (decoded).
    pub requested_id: String,
    /// The foundation model behind it, e.g. `anthropic.claude-3-haiku-20240307-v1:0`.
    pub foundation_model_id: String,
    /// `Anthropic`, `Amazon`, `Meta`.
    pub provider: String,
    /// The regions the call may be served in: the profile's regions, or the one region.
    pub inference_regions: Vec<String>,
    /// Whether the foundation model accepts on-demand calls in this region.
    pub on_demand_supported: bool,
    /// True when called by foundation-model ID or ARN (not through a profile).
    pub called_on_demand: bool,
    /// The access state of the foundation model in this region.
    pub access: ModelAccess,
    pub response_streaming: bool,
}

/// An application inference profile.
#[derive(Clone, Debug)]
pub(crate) struct AppProfile {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub description: Option<String>,
    pub model_arns: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub client_request_token: Option<String>,
}

/// The state of one region.
#[derive(Debug, Default)]
pub(crate) struct RegionState {
    /// Keyed by creation sequence, so lists keep creation order.
    pub profiles: BTreeMap<u64, AppProfile>,
    pub next_seq: u64,
    /// Tags per resource ARN.
    pub tags: HashMap<String, BTreeMap<String, String>>,
    pub logging: Option<Value>,
    /// Access overrides per foundation model ID (absent = everything available).
    pub access: HashMap<String, ModelAccess>,
}

impl RegionState {
    pub fn profile_by_id(&self, id: &str) -> Option<(u64, &AppProfile)> {
        self.profiles
            .iter()
            .find(|(_, p)| p.id == id)
            .map(|(k, p)| (*k, p))
    }
}

/// What a reset puts back into the (cleared) regions: the seed file's profiles, tags, logging
/// and access. Given by the caller, so this state does not depend on how seeds are read.
pub(crate) type Reseed = Box<dyn Fn(&mut HashMap<String, RegionState>) + Send + Sync>;

/// All state of one emulator.
pub struct EmulatorState {
    account_id: String,
    logs_endpoint: Option<String>,
    reseed: Reseed,
    regions: Mutex<HashMap<String, RegionState>>,
    /// The runtime's own state (owned by `crate::runtime`).
    pub runtime: crate::runtime::store::RuntimeState,
}

impl EmulatorState {
    pub(crate) fn new(account_id: String, logs_endpoint: Option<String>, reseed: Reseed) -> Self {
        let state = Self {
            account_id,
            logs_endpoint,
            reseed,
            regions: Mutex::new(HashMap::new()),
            runtime: crate::runtime::store::RuntimeState::default(),
        };
        state.reset();
        state
    }

    /// The 12-digit account every ARN carries.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The CloudWatch Logs endpoint invocation logs go to (`--logs-endpoint`), if any.
    pub fn logs_endpoint(&self) -> Option<&str> {
        self.logs_endpoint.as_deref()
    }

    /// Back to the seeded state: profiles, tags, logging and access as the seed file says.
    pub fn reset(&self) {
        let mut regions = self.lock();
        regions.clear();
        (self.reseed)(&mut regions);
        drop(regions);
        self.runtime.reset();
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<String, RegionState>> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.regions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The `loggingConfig` as last PUT in `region`, or `None` when logging is off.
    pub fn logging_config(&self, region: &str) -> Option<Value> {
        self.lock().get(region).and_then(|r| r.logging.clone())
    }

    /// The access state of a foundation model in a region.
    pub fn model_access(&self, region: &str, foundation_model_id: &str) -> ModelAccess {
        self.lock()
            .get(region)
            .and_then(|r| r.access.get(foundation_model_id).cloned())
            .unwrap_or_default()
    }

    /// Applies a partial access change to one model in one region; returns the new state.
    pub fn set_model_access(
        &self,
        region: &str,
        foundation_model_id: &str,
        patch: &ModelAccessPatch,
    ) -> ModelAccess {
        let mut regions = self.lock();
        let access = regions
            .entry(region.to_string())
            .or_default()
            .access
            .entry(foundation_model_id.to_string())
            .or_default();
        patch.apply(access);
        access.clone()
    }

    /// Resolves any runtime model ID form in `region`: foundation-model ID or ARN,
    /// system-defined profile ID or ARN, application profile ARN.
    ///
    /// Unknown foundation-model or profile IDs fail with ValidationException "The provided
    /// model identifier is invalid." (what Bedrock answers for an ID it does not know); an
    /// application or system profile ARN naming nothing in this region fails with
    /// ResourceNotFoundException, the error Bedrock's runtime lists for missing resources
    /// (inferred: no capture of this case was available).
    pub fn runtime_model(&self, region: &str, model_id: &str) -> Result<RuntimeModel, ApiError> {
        let resolved = self.resolve_runtime(region, model_id)?;
        let model = catalog::foundation_model(&resolved.fm_id)
            .ok_or_else(ApiError::invalid_model_identifier)?;
        Ok(RuntimeModel {
            requested_id: model_id.to_string(),
            foundation_model_id: model.id.to_string(),
            provider: model.provider.to_string(),
            inference_regions: resolved.regions,
            on_demand_supported: model.on_demand_regions.contains(&region),
            called_on_demand: resolved.on_demand,
            access: self.model_access(region, model.id),
            response_streaming: model.streaming,
        })
    }

    fn resolve_runtime(&self, region: &str, model_id: &str) -> Result<Resolved, ApiError> {
        if let Some(arn) = crate::arn::Arn::parse(model_id) {
            if arn.service != "bedrock" {
                return Err(ApiError::invalid_model_identifier());
            }
            return match arn.resource_type.as_str() {
                "foundation-model" => {
                    if arn.region != region || !arn.account.is_empty() {
                        return Err(ApiError::invalid_model_identifier());
                    }
                    self.resolve_fm(region, &arn.resource_id)
                }
                "inference-profile" => {
                    if arn.region != region || arn.account != self.account_id {
                        return Err(ApiError::not_found(format!(
                            "The inference profile {model_id} was not found."
                        )));
                    }
                    self.resolve_system_profile(region, &arn.resource_id)
                        .map_err(|_| {
                            ApiError::not_found(format!(
                                "The inference profile {model_id} was not found."
                            ))
                        })
                }
                "application-inference-profile" => {
                    let regions = self.lock();
                    let profile = (arn.region == region && arn.account == self.account_id)
                        .then(|| regions.get(region))
                        .flatten()
                        .and_then(|r| r.profile_by_id(&arn.resource_id))
                        .map(|(_, p)| p.clone());
                    drop(regions);
                    let profile = profile.ok_or_else(|| {
                        ApiError::not_found(format!(
                            "The inference profile {model_id} was not found."
                        ))
                    })?;
                    let fm_id = profile
                        .model_arns
                        .first()
                        .and_then(|a| crate::arn::Arn::parse(a))
                        .map(|a| a.resource_id)
                        .ok_or_else(|| ApiError::internal("The profile has no model."))?;
                    let parsed: Vec<crate::arn::Arn> = profile
                        .model_arns
                        .iter()
                        .filter_map(|a| crate::arn::Arn::parse(a))
                        .collect();
                    // A region-less model ARN is how a global profile says "any commercial
                    // region"; a profile copied from one routes globally too.
                    let regions = if parsed.iter().any(|a| a.region.is_empty()) {
                        catalog::global_inference_regions(region)
                    } else {
                        parsed.into_iter().map(|a| a.region).collect()
                    };
                    Ok(Resolved {
                        fm_id,
                        regions,
                        on_demand: false,
                    })
                }
                _ => Err(ApiError::invalid_model_identifier()),
            };
        }
        if catalog::system_profile(region, model_id).is_some() {
            return self.resolve_system_profile(region, model_id);
        }
        self.resolve_fm(region, model_id)
    }

    fn resolve_fm(&self, region: &str, fm_id: &str) -> Result<Resolved, ApiError> {
        match catalog::foundation_model(fm_id) {
            Some(model) if catalog::model_listed_in(model, region) => Ok(Resolved {
                fm_id: model.id.to_string(),
                regions: vec![region.to_string()],
                on_demand: true,
            }),
            _ => Err(ApiError::invalid_model_identifier()),
        }
    }

    fn resolve_system_profile(&self, region: &str, id: &str) -> Result<Resolved, ApiError> {
        let profile =
            catalog::system_profile(region, id).ok_or_else(ApiError::invalid_model_identifier)?;
        Ok(Resolved {
            fm_id: profile.model_id.to_string(),
            regions: profile.inference_regions(region),
            on_demand: false,
        })
    }
}

struct Resolved {
    fm_id: String,
    regions: Vec<String>,
    on_demand: bool,
}
