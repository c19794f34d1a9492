//! The HTTP surface: routing, authentication, body limits, and the four routes.
//!
//! Every route but `/health` first finds the caller's tenant ([`crate::auth`]); the tenant's
//! own directory resolves models, and its name goes into `requestMetadata` (`tenant`) and the
//! metrics. Bedrock calls go through [`crate::failover`]: spread over the model's profiles and
//! retried on the next one on throttling or an outage, never after a stream has started.
//! Responses that reached Bedrock carry `x-router-profile`, `x-router-region` and
//! `x-router-attempts`; every authenticated response carries `x-router-tenant`.
//!
//! Errors known before a stream starts (including a first stream event that is an error) become
//! real HTTP statuses; once bytes have gone out, a failure ends the stream with an error event.
//! Streams are pulled lazily by the response body, so when the caller goes away the body is
//! dropped and the Bedrock stream with it.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt as _, Full, StreamBody, combinators::UnsyncBoxBody};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use lambda_http::RequestExt as _;

use crate::auth::Authenticator;
use crate::bedrock::{Bedrock, CallSite, EventStream};
use crate::budget::Budget;
use crate::caps::Target;
use crate::converse::{
    ContentBlock, ConverseRequest, ConverseResponse, StreamEvent, SystemBlock, Tool,
    ToolResultContent,
};
use crate::directory::{Directory, ProfileCapsCache};
use crate::error::{
    BedrockError, BedrockErrorKind, Flavor, RouterError, error_body, error_response, render,
};
use crate::failover::{RetryPolicy, Rotation, is_retryable};
use crate::metrics::{MetricsSink, RequestRecord, RouteName};
use crate::openai::{self, ChunkTranslator};
use crate::sse;

/// The response body: a whole JSON document or an SSE stream.
pub type RouterBody = UnsyncBoxBody<Bytes, Infallible>;

/// Function URLs accept request payloads up to 6 MB; the router keeps a margin below that.
pub const DEFAULT_MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// The Function URL's request payload cap; a configured limit may not exceed it.
pub const FUNCTION_URL_MAX_BYTES: usize = 6 * 1024 * 1024;

/// Reads the request-size limit from `ROUTER_MAX_BODY_BYTES`'s value, if set.
pub fn max_body_bytes(value: Option<&str>) -> Result<usize, RouterError> {
    let Some(v) = value else {
        return Ok(DEFAULT_MAX_BODY_BYTES);
    };
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=FUNCTION_URL_MAX_BYTES).contains(n))
        .ok_or_else(|| {
            RouterError::Config(format!(
                "ROUTER_MAX_BODY_BYTES must be a byte count between 1 and {FUNCTION_URL_MAX_BYTES} (the Function URL cap), got {v:?}"
            ))
        })
}

/// Most `requestMetadata` entries Bedrock accepts.
const MAX_METADATA_ENTRIES: usize = 16;

/// The router: cheap to clone, shared by all invocations.
pub struct Router<B, D> {
    inner: Arc<Inner<B, D>>,
}

impl<B, D> Clone for Router<B, D> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<B, D> {
    bedrock: B,
    /// Index 0 is the default tenant (the shared map); tenant `i` of the authenticator's
    /// config is at `i + 1`.
    tenants: Vec<TenantSlot<D>>,
    auth: Authenticator,
    profile_caps: ProfileCapsCache,
    sink: Arc<dyn MetricsSink>,
    max_body_bytes: usize,
    retry: RetryPolicy,
    rotation: Rotation,
}

struct TenantSlot<D> {
    name: String,
    directory: D,
}

/// What a multi-tenant router is made of.
pub struct RouterParts<B, D> {
    pub bedrock: B,
    /// The shared models, served to the default tenant.
    pub shared: D,
    /// Decides each request's tenant; its tenants get directories from `Router::with_tenants`.
    pub auth: Authenticator,
    pub sink: Arc<dyn MetricsSink>,
    pub max_body_bytes: usize,
    pub retry: RetryPolicy,
}

enum Route<'a> {
    Health,
    Models,
    Model(&'a str),
    ChatCompletions,
    Converse(&'a str),
    ConverseStream(&'a str),
}

impl<B: Bedrock, D: Directory> Router<B, D> {
    /// A router with one (default) tenant, in `AWS_IAM` mode: every caller gets `directory`.
    pub fn new(
        bedrock: B,
        directory: D,
        sink: Arc<dyn MetricsSink>,
        max_body_bytes: usize,
    ) -> Self {
        Self::build(
            RouterParts {
                bedrock,
                shared: directory,
                auth: Authenticator::iam_only(),
                sink,
                max_body_bytes,
                retry: RetryPolicy::default(),
            },
            Vec::new(),
        )
    }

    /// A router for many tenants: `directory_for` builds each configured tenant's directory.
    pub fn with_tenants(
        parts: RouterParts<B, D>,
        directory_for: impl Fn(&shared::tenants::Tenant) -> D,
    ) -> Self {
        let tenants = parts
            .auth
            .tenants()
            .tenants
            .iter()
            .map(|t| TenantSlot {
                name: t.name.clone(),
                directory: directory_for(t),
            })
            .collect();
        Self::build(parts, tenants)
    }

    fn build(parts: RouterParts<B, D>, configured: Vec<TenantSlot<D>>) -> Self {
        let mut tenants = vec![TenantSlot {
            name: shared::tenants::DEFAULT_TENANT.to_owned(),
            directory: parts.shared,
        }];
        tenants.extend(configured);
        Self {
            inner: Arc::new(Inner {
                bedrock: parts.bedrock,
                tenants,
                auth: parts.auth,
                profile_caps: ProfileCapsCache::default(),
                sink: parts.sink,
                max_body_bytes: parts.max_body_bytes,
                retry: parts.retry,
                rotation: Rotation::default(),
            }),
        }
    }

    /// Serves one request. Never fails: every error becomes a response.
    pub async fn handle(&self, req: lambda_http::Request) -> Response<RouterBody> {
        let method = req.method().clone();
        let path = normalise_path(req.uri().path()).to_owned();
        let route = match_route(&path);
        let flavor = match route {
            Some(Route::Converse(_) | Route::ConverseStream(_)) => Flavor::Native,
            _ => Flavor::OpenAi,
        };
        let route_name = match route {
            Some(Route::Health) => RouteName::Health,
            Some(Route::Models | Route::Model(_)) => RouteName::Models,
            Some(Route::ChatCompletions) => RouteName::ChatCompletions,
            Some(Route::Converse(_)) => RouteName::Converse,
            Some(Route::ConverseStream(_)) => RouteName::ConverseStream,
            None => RouteName::Other,
        };
        let mut record = RequestRecord::new(Arc::clone(&self.inner.sink), route_name);
        let budget = req.lambda_context_ref().map_or(Budget::unbounded(), |ctx| {
            Budget::from_deadline_ms(ctx.deadline)
        });
        let result = match route {
            None => Err(RouterError::NoRoute {
                method: method.to_string(),
                path: path.clone(),
            }),
            Some(route) => {
                let (allowed, expected) = match route {
                    Route::Health | Route::Models | Route::Model(_) => ("GET", Method::GET),
                    _ => ("POST", Method::POST),
                };
                if method != expected {
                    Err(RouterError::MethodNotAllowed {
                        method: method.to_string(),
                        path: path.clone(),
                        allowed,
                    })
                } else if matches!(route, Route::Health) {
                    Ok(json_reply(StatusCode::OK, &json!({"status": "ok"})))
                } else {
                    match self.inner.auth.tenant_of(&req) {
                        Ok(index) => {
                            // Indexes come from the same tenant list the slots were built from.
                            match self.inner.tenants.get(index) {
                                Some(tenant) => {
                                    record.tenant = Some(tenant.name.clone());
                                    self.dispatch(route, req.body(), tenant, budget, &mut record)
                                        .await
                                }
                                None => Err(RouterError::Internal(format!(
                                    "tenant index {index} has no directory"
                                ))),
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
            }
        };
        let headers = call_headers(&record);
        let mut response = match result {
            Ok(Reply::Whole(response)) => {
                record.status = response.status().as_u16();
                response.map(|b| Full::new(b).boxed_unsync())
            }
            Ok(Reply::Stream(stream)) => {
                record.status = 200;
                record.streamed = true;
                stream.into_response(record)
            }
            Err(err) => {
                let response = error_response(&err, flavor);
                record.status = response.status().as_u16();
                response.map(|b| Full::new(b).boxed_unsync())
            }
        };
        response.headers_mut().extend(headers);
        response
    }

    async fn dispatch(
        &self,
        route: Route<'_>,
        body: &[u8],
        tenant: &TenantSlot<D>,
        budget: Budget,
        record: &mut RequestRecord,
    ) -> Result<Reply, RouterError> {
        let dir = &tenant.directory;
        match route {
            Route::Health => Ok(json_reply(StatusCode::OK, &json!({"status": "ok"}))),
            Route::Models => Ok(json_reply(StatusCode::OK, &models(dir))),
            Route::Model(raw_id) => {
                let id = decode_segment(raw_id)?;
                let resolution = dir.resolve(&id)?;
                let listed = models_data(dir)
                    .into_iter()
                    .find(|m| m["id"] == resolution.friendly_id.as_str())
                    .ok_or_else(|| {
                        RouterError::Internal(format!(
                            "`{}` resolves but is not listed",
                            resolution.friendly_id
                        ))
                    })?;
                Ok(json_reply(StatusCode::OK, &listed))
            }
            Route::ChatCompletions => {
                let value = self.parse_body(body)?;
                self.chat(value, tenant, budget, record).await
            }
            Route::Converse(raw_id) | Route::ConverseStream(raw_id) => {
                let stream = matches!(route, Route::ConverseStream(_));
                let model = percent_decode_str(raw_id)
                    .decode_utf8()
                    .map_err(|_| {
                        RouterError::invalid(
                            "modelId",
                            "the model ID in the path is not valid percent-encoded UTF-8",
                        )
                    })?
                    .into_owned();
                let value = self.parse_body(body)?;
                self.native(&model, value, stream, tenant, budget, record)
                    .await
            }
        }
    }

    fn parse_body(&self, body: &[u8]) -> Result<Value, RouterError> {
        if body.len() > self.inner.max_body_bytes {
            return Err(RouterError::BodyTooLarge {
                actual: body.len(),
                limit: self.inner.max_body_bytes,
            });
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(RouterError::InvalidJson {
                detail: "the body is empty".into(),
            });
        }
        serde_json::from_slice(body).map_err(|e| RouterError::InvalidJson {
            detail: e.to_string(),
        })
    }

    async fn target(
        &self,
        dir: &D,
        model: &str,
        record: &mut RequestRecord,
    ) -> Result<Target, RouterError> {
        let resolution = dir.resolve(model)?;
        record.model = Some(resolution.friendly_id.clone());
        self.inner
            .profile_caps
            .target(&self.inner.bedrock, dir, resolution)
            .await
    }

    /// The target's call sites in this request's order: round-robin start, then the rest.
    fn plan(&self, target: &Target) -> (Vec<CallSite>, usize) {
        let mut sites = if target.sites.is_empty() {
            vec![CallSite {
                model_id: target.call_id.clone(),
                region: target.region.clone(),
            }]
        } else {
            target.sites.clone()
        };
        let start = self.inner.rotation.start(sites.len());
        sites.rotate_left(start);
        let attempts = self.inner.retry.attempts_for(sites.len());
        (sites, attempts)
    }

    /// Converse with failover; the record learns the profile that answered and the attempts.
    async fn converse_with_failover(
        &self,
        target: &Target,
        request: ConverseRequest,
        budget: Budget,
        record: &mut RequestRecord,
    ) -> Result<ConverseResponse, RouterError> {
        let (sites, attempts) = self.plan(target);
        let mut attempt = 0;
        loop {
            let site = &sites[attempt % sites.len()];
            attempt += 1;
            self.before_attempt(attempt, site, record).await;
            let answer = budget
                .run(self.inner.bedrock.converse(site, request.clone()))
                .await;
            match answer {
                Ok(response) => return Ok(response),
                Err(e) if self.may_retry(&e, attempt, attempts, budget) => {
                    tracing::warn!(model = %target.friendly_id, call_id = %site.model_id, region = %site.region, kind = ?e.kind, attempt, "Bedrock overloaded or unreachable; trying the next profile");
                }
                Err(e) => return Err(bedrock_error(&target.at(site), e)),
            }
        }
    }

    /// ConverseStream with failover up to the first event; once an event is in hand the
    /// stream is committed and a later failure ends it with an error event, never a re-send.
    async fn open_stream_with_failover(
        &self,
        target: &Target,
        request: ConverseRequest,
        budget: Budget,
        record: &mut RequestRecord,
    ) -> Result<((Option<StreamEvent>, EventStream), Target), RouterError> {
        let (sites, attempts) = self.plan(target);
        let mut attempt = 0;
        loop {
            let site = &sites[attempt % sites.len()];
            attempt += 1;
            self.before_attempt(attempt, site, record).await;
            let opened = match budget
                .run(self.inner.bedrock.converse_stream(site, request.clone()))
                .await
            {
                Ok(mut events) => match budget.next(events.next()).await {
                    Some(Ok(event)) => Ok((Some(event), events)),
                    Some(Err(e)) => Err(e),
                    None => Ok((None, events)),
                },
                Err(e) => Err(e),
            };
            match opened {
                Ok(first) => return Ok((first, target.at(site))),
                Err(e) if self.may_retry(&e, attempt, attempts, budget) => {
                    tracing::warn!(model = %target.friendly_id, call_id = %site.model_id, region = %site.region, kind = ?e.kind, attempt, "Bedrock overloaded or unreachable before the stream started; trying the next profile");
                }
                Err(e) => return Err(bedrock_error(&target.at(site), e)),
            }
        }
    }

    /// Another attempt is made for an overload or outage, while attempts and time are left.
    fn may_retry(&self, e: &BedrockError, attempt: usize, attempts: usize, budget: Budget) -> bool {
        is_retryable(e.kind)
            && attempt < attempts
            && budget.allows(self.inner.retry.delay_before(attempt + 1))
    }

    async fn before_attempt(&self, attempt: usize, site: &CallSite, record: &mut RequestRecord) {
        let delay = self.inner.retry.delay_before(attempt);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        record.attempts += 1;
        record.profile = Some(site.model_id.clone());
        record.region = Some(site.region.clone());
    }

    async fn chat(
        &self,
        value: Value,
        tenant: &TenantSlot<D>,
        budget: Budget,
        record: &mut RequestRecord,
    ) -> Result<Reply, RouterError> {
        let chat = openai::parse_chat_request(value)?;
        let target = self.target(&tenant.directory, &chat.model, record).await?;
        let mut request = openai::to_converse(&chat, &target)?;
        request
            .request_metadata
            .insert("tenant".to_owned(), openai::metadata_value(&tenant.name));
        let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
        let created = chrono::Utc::now().timestamp();
        tracing::info!(model = %target.friendly_id, tenant = %tenant.name, profiles = target.sites.len(), stream = chat.stream, "chat completion");
        if chat.stream {
            let (first, used) = self
                .open_stream_with_failover(&target, request, budget, record)
                .await?;
            Ok(Reply::Stream(Box::new(PendingStream {
                first,
                target: used,
                budget,
                dialect: Dialect::OpenAi(ChunkTranslator::new(
                    id,
                    created,
                    chat.model.clone(),
                    chat.include_usage,
                )),
            })))
        } else {
            let response = self
                .converse_with_failover(&target, request, budget, record)
                .await?;
            record.input_tokens = response.usage.input_tokens;
            record.output_tokens = response.usage.output_tokens;
            Ok(json_reply(
                StatusCode::OK,
                &openai::from_converse(&response, &target.friendly_id, &id, created),
            ))
        }
    }

    async fn native(
        &self,
        model: &str,
        value: Value,
        stream: bool,
        tenant: &TenantSlot<D>,
        budget: Budget,
        record: &mut RequestRecord,
    ) -> Result<Reply, RouterError> {
        let mut request: ConverseRequest = serde_json::from_value(value).map_err(|e| {
            RouterError::invalid(
                "body",
                format!("the body does not match the Converse request shape: {e}"),
            )
        })?;
        let target = self.target(&tenant.directory, model, record).await?;
        check_native(&mut request, &target, &tenant.name)?;
        tracing::info!(model = %target.friendly_id, tenant = %tenant.name, profiles = target.sites.len(), stream, "native converse");
        if stream {
            let (first, used) = self
                .open_stream_with_failover(&target, request, budget, record)
                .await?;
            Ok(Reply::Stream(Box::new(PendingStream {
                first,
                target: used,
                budget,
                dialect: Dialect::Native,
            })))
        } else {
            let response = self
                .converse_with_failover(&target, request, budget, record)
                .await?;
            record.input_tokens = response.usage.input_tokens;
            record.output_tokens = response.usage.output_tokens;
            let body = serde_json::to_value(&response).map_err(|e| {
                RouterError::Internal(format!("response serialisation failed: {e}"))
            })?;
            Ok(json_reply(StatusCode::OK, &body))
        }
    }
}

fn models<D: Directory>(dir: &D) -> Value {
    json!({"object": "list", "data": models_data(dir)})
}

fn models_data<D: Directory>(dir: &D) -> Vec<Value> {
    dir.list()
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id,
                "object": "model",
                "created": 0,
                "owned_by": if m.via_profile { "bedrock-application-inference-profile" } else { "bedrock" },
                "capabilities": m.caps.as_ref().map(openai::caps_json),
            })
        })
        .collect()
}

/// The headers that say who was served and where the call went.
fn call_headers(record: &RequestRecord) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    if let Some(t) = &record.tenant {
        put("x-router-tenant", t);
    }
    if let Some(p) = &record.profile {
        put("x-router-profile", p);
    }
    if let Some(r) = &record.region {
        put("x-router-region", r);
    }
    if record.attempts > 0 {
        put("x-router-attempts", &record.attempts.to_string());
    }
    headers
}

/// Strips the `/lambda-url/<function>` prefix that local emulators of Function URLs may leave in.
fn normalise_path(path: &str) -> &str {
    if let Some(rest) = path.strip_prefix("/lambda-url/") {
        return rest.find('/').map_or("/", |i| &rest[i..]);
    }
    path
}

fn decode_segment(raw: &str) -> Result<String, RouterError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            RouterError::invalid(
                "modelId",
                "the model ID in the path is not valid percent-encoded UTF-8",
            )
        })
}

fn match_route(path: &str) -> Option<Route<'_>> {
    let trimmed = path.trim_end_matches('/');
    match trimmed {
        "/health" => return Some(Route::Health),
        "/v1/models" => return Some(Route::Models),
        "/v1/chat/completions" => return Some(Route::ChatCompletions),
        _ => {}
    }
    if let Some(id) = trimmed.strip_prefix("/v1/models/") {
        return (!id.is_empty() && !id.contains('/')).then_some(Route::Model(id));
    }
    let rest = trimmed.strip_prefix("/model/")?;
    if let Some(id) = rest.strip_suffix("/converse-stream") {
        return (!id.is_empty() && !id.contains('/')).then_some(Route::ConverseStream(id));
    }
    if let Some(id) = rest.strip_suffix("/converse") {
        return (!id.is_empty() && !id.contains('/')).then_some(Route::Converse(id));
    }
    None
}

fn bedrock_error(target: &Target, source: BedrockError) -> RouterError {
    RouterError::Bedrock {
        friendly_id: target.friendly_id.clone(),
        call_id: target.call_id.clone(),
        region: target.region.clone(),
        is_profile: target.is_profile,
        source,
    }
}

/// Checks a native request against the model's capabilities and adds the friendly ID to
/// `requestMetadata`.
fn check_native(
    request: &mut ConverseRequest,
    target: &Target,
    tenant: &str,
) -> Result<(), RouterError> {
    let unsupported = |feature: &str, param: &str, remedy: &str| RouterError::Unsupported {
        model: target.friendly_id.clone(),
        feature: feature.to_owned(),
        param: param.to_owned(),
        remedy: remedy.to_owned(),
    };
    if request.messages.is_empty() {
        return Err(RouterError::invalid(
            "messages",
            "`messages` must hold at least one message",
        ));
    }
    let caps = &target.caps;
    for (i, m) in request.messages.iter().enumerate() {
        if m.content.is_empty() {
            return Err(RouterError::invalid(
                format!("messages[{i}].content"),
                format!("`messages[{i}].content` must hold at least one content block"),
            ));
        }
        for (j, block) in m.content.iter().enumerate() {
            let param = format!("messages[{i}].content[{j}]");
            match block {
                ContentBlock::Image(img) => {
                    if !caps.image_input {
                        return Err(unsupported("image input", &param, "send text only"));
                    }
                    check_base64(&param, &img.source.bytes)?;
                }
                ContentBlock::Document(doc) => {
                    if !caps.document_input {
                        return Err(unsupported("document input", &param, "send text only"));
                    }
                    check_base64(&param, &doc.source.bytes)?;
                }
                ContentBlock::ToolUse(_) | ContentBlock::ToolResult(_) if !caps.tool_use => {
                    return Err(unsupported("tool use", &param, "remove tool blocks"));
                }
                ContentBlock::ToolResult(r) => {
                    for c in &r.content {
                        if let ToolResultContent::Image(img) = c {
                            check_base64(&param, &img.source.bytes)?;
                        }
                    }
                }
                ContentBlock::CachePoint(_) if !caps.prompt_caching => {
                    return Err(unsupported(
                        "prompt caching",
                        &param,
                        "remove cachePoint blocks",
                    ));
                }
                ContentBlock::Text(t) if t.is_empty() => {
                    return Err(RouterError::invalid(param, "text blocks must not be empty"));
                }
                _ => {}
            }
        }
    }
    for (i, block) in request.system.iter().enumerate() {
        match block {
            SystemBlock::Text(t) if t.is_empty() => {
                return Err(RouterError::invalid(
                    format!("system[{i}]"),
                    "system text blocks must not be empty",
                ));
            }
            SystemBlock::CachePoint(_) if !caps.prompt_caching => {
                return Err(unsupported(
                    "prompt caching",
                    &format!("system[{i}]"),
                    "remove cachePoint blocks",
                ));
            }
            _ => {}
        }
    }
    if let Some(tc) = &request.tool_config
        && !caps.prompt_caching
        && tc.tools.iter().any(|t| matches!(t, Tool::CachePoint(_)))
    {
        return Err(unsupported(
            "prompt caching",
            "toolConfig.tools",
            "remove cachePoint entries",
        ));
    }
    if request.tool_config.is_some() && !caps.tool_use {
        return Err(unsupported("tool use", "toolConfig", "omit toolConfig"));
    }
    if request.output_config.is_some() && !caps.json_schema_output {
        return Err(unsupported(
            "structured output",
            "outputConfig",
            "omit outputConfig",
        ));
    }
    if let Some(max) = request.inference_config.as_ref().and_then(|c| c.max_tokens)
        && max > caps.max_output_tokens
    {
        return Err(RouterError::invalid(
            "inferenceConfig.maxTokens",
            format!(
                "`inferenceConfig.maxTokens` is {max}, but model `{}` produces at most {} output tokens",
                target.friendly_id, caps.max_output_tokens
            ),
        ));
    }
    request.request_metadata.insert(
        "model".to_owned(),
        openai::metadata_value(&target.friendly_id),
    );
    request
        .request_metadata
        .insert("tenant".to_owned(), openai::metadata_value(tenant));
    if request.request_metadata.len() > MAX_METADATA_ENTRIES {
        return Err(RouterError::invalid(
            "requestMetadata",
            format!(
                "`requestMetadata` may hold at most {} entries of your own; the router adds `model` and `tenant`",
                MAX_METADATA_ENTRIES - 2
            ),
        ));
    }
    Ok(())
}

fn check_base64(param: &str, b64: &str) -> Result<(), RouterError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map(|_| ())
        .map_err(|e| {
            RouterError::invalid(param, format!("`{param}` bytes are not valid base64: {e}"))
        })
}

enum Reply {
    Whole(Response<Bytes>),
    // Boxed: an open stream carries its first event and translator, several times a response.
    Stream(Box<PendingStream>),
}

fn json_reply(status: StatusCode, value: &Value) -> Reply {
    let mut response = Response::new(sse::json_framed(b"", value, b""));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Reply::Whole(response)
}

enum Dialect {
    OpenAi(ChunkTranslator),
    Native,
}

struct PendingStream {
    first: (Option<StreamEvent>, EventStream),
    target: Target,
    budget: Budget,
    dialect: Dialect,
}

struct StreamState {
    pending: Option<StreamEvent>,
    events: EventStream,
    target: Target,
    budget: Budget,
    dialect: Dialect,
    record: RequestRecord,
    finished: bool,
}

impl StreamState {
    /// The bytes for one event, updating the request record.
    fn encode(&mut self, event: &StreamEvent) -> Option<Bytes> {
        match event {
            StreamEvent::ContentBlockDelta(_) | StreamEvent::ContentBlockStart(_) => {
                self.record.mark_first_token()
            }
            StreamEvent::Metadata(meta) => {
                self.record.input_tokens = meta.usage.input_tokens;
                self.record.output_tokens = meta.usage.output_tokens;
            }
            _ => {}
        }
        match &mut self.dialect {
            Dialect::OpenAi(translator) => {
                let chunks = translator.on_event(event);
                if chunks.is_empty() {
                    return None;
                }
                let mut out = Vec::new();
                for chunk in &chunks {
                    out.extend_from_slice(&sse::data(chunk));
                }
                Some(Bytes::from(out))
            }
            Dialect::Native => {
                let value = serde_json::to_value(event).unwrap_or(Value::Null);
                Some(sse::event(event.name(), &value))
            }
        }
    }

    fn encode_error(&mut self, source: BedrockError) -> Bytes {
        let err = bedrock_error(&self.target, source);
        let rendered = render(&err);
        if rendered.status.is_server_error() {
            tracing::error!(error = %err, "stream failed mid-way");
        } else {
            tracing::info!(status = rendered.status.as_u16(), "stream refused mid-way");
        }
        self.record.status = rendered.status.as_u16();
        match self.dialect {
            Dialect::OpenAi(_) => sse::data(&error_body(&rendered, Flavor::OpenAi)),
            Dialect::Native => {
                let exception = match &err {
                    RouterError::Bedrock { source, .. } => stream_exception_member(source.kind),
                    _ => "internalServerException",
                };
                sse::event(
                    exception,
                    &json!({ exception: {"message": rendered.message} }),
                )
            }
        }
    }

    fn end(&mut self) -> Option<Bytes> {
        match self.dialect {
            Dialect::OpenAi(_) => Some(sse::done()),
            Dialect::Native => None,
        }
    }
}

/// The ConverseStream exception member for a failure mid-stream. The stream union has only
/// five; any other kind (a model timeout, our own deadline) is a model stream error there, as
/// Bedrock reports it.
fn stream_exception_member(kind: BedrockErrorKind) -> &'static str {
    match kind {
        BedrockErrorKind::Throttling => "throttlingException",
        BedrockErrorKind::Validation => "validationException",
        BedrockErrorKind::InternalServer => "internalServerException",
        BedrockErrorKind::ServiceUnavailable | BedrockErrorKind::Transport => {
            "serviceUnavailableException"
        }
        _ => "modelStreamErrorException",
    }
}

impl PendingStream {
    fn into_response(self, record: RequestRecord) -> Response<RouterBody> {
        let (pending, events) = self.first;
        let state = StreamState {
            pending,
            events,
            target: self.target,
            budget: self.budget,
            dialect: self.dialect,
            record,
            finished: false,
        };
        let stream = futures_util::stream::unfold(state, |mut state| async move {
            loop {
                if state.finished {
                    return None;
                }
                let next = match state.pending.take() {
                    Some(event) => Some(Ok(event)),
                    None => state.budget.next(state.events.next()).await,
                };
                match next {
                    Some(Ok(event)) => {
                        if let Some(bytes) = state.encode(&event) {
                            return Some((Ok::<_, Infallible>(Frame::data(bytes)), state));
                        }
                    }
                    Some(Err(e)) => {
                        state.finished = true;
                        let bytes = state.encode_error(e);
                        return Some((Ok(Frame::data(bytes)), state));
                    }
                    None => {
                        state.finished = true;
                        if let Some(bytes) = state.end() {
                            return Some((Ok(Frame::data(bytes)), state));
                        }
                        return None;
                    }
                }
            }
        });
        let body = StreamBody::new(Box::pin(stream)).boxed_unsync();
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }
}

#[cfg(test)]
mod tests;
