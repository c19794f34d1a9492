//! The HTTP surface: a request in, a response out, never a failure.
//!
//! Every route but `/health` first finds the caller's tenant ([`crate::auth`]); the tenant's
//! own directory resolves models, and its name goes into `requestMetadata` (`tenant`) and the
//! metrics. The dialect modules ([`crate::dialect`]) translate; [`Call`] gives them what is
//! shared by all routes: resolution, the attempt runner ([`crate::attempt`]) and the Bedrock
//! seam. Responses that reached Bedrock carry `x-router-profile`, `x-router-region` and
//! `x-router-attempts`; every authenticated response carries `x-router-tenant`.
//!
//! Errors known before a stream starts (including a first stream event that is an error) become
//! real HTTP statuses in the route's dialect ([`crate::error`]); once bytes have gone out, a
//! failure ends the stream with an error event ([`crate::relay`]).

use std::sync::Arc;

use http::{HeaderValue, Response};
use http_body_util::{BodyExt as _, Full};
use serde_json::{Value, json};

use lambda_http::RequestExt as _;

use crate::attempt::{AttemptRunner, RetryPolicy};
use crate::auth::Authenticator;
use crate::bedrock::{
    Bedrock, ChunkStream, CountTokensInput, EventStream, InvokeRequest, InvokeResponse,
    ProfileDescription,
};
use crate::caps::Target;
use crate::converse::{ConverseRequest, ConverseResponse, StreamEvent, metadata_value};
use crate::deadline::Deadline;
use crate::dialect::{self, Dialect};
use crate::directory::{Directory, ProfileCache};
use crate::error::BedrockError;
use crate::error::{RouterError, error_response};
use crate::metrics::{MetricsSink, RequestRecord};
use crate::relay::{Reply, RouterBody};
use crate::routes::{Route, match_route, normalise_path};

/// Most `requestMetadata` entries Bedrock accepts.
pub const MAX_METADATA_ENTRIES: usize = 16;

/// A request header with which an OpenAI-shaped caller keeps its prompt out of the cache.
pub const PROMPT_CACHE_HEADER: &str = "x-router-prompt-cache";

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
    /// In [`TenantId`] order: the default tenant first, then the configured ones.
    tenants: Vec<TenantSlot<D>>,
    auth: Authenticator,
    profiles: ProfileCache,
    sink: Arc<dyn MetricsSink>,
    max_body_bytes: usize,
    attempts: AttemptRunner,
    spend: std::sync::OnceLock<Arc<crate::spend::RouterSpend>>,
    /// The guardrail of every tenant that names none of its own (`ROUTER_GUARDRAIL`).
    default_guardrail: std::sync::OnceLock<shared::guardrails::Guardrail>,
    /// The document's `promptCache:` (off everywhere when unset).
    prompt_cache: std::sync::OnceLock<shared::prompt_cache::PromptCachePolicy>,
}

/// A tenant's name, the models it may use, the guardrail on every call it makes and its say on
/// prompt caching.
pub struct TenantSlot<D> {
    pub name: String,
    pub directory: D,
    pub guardrail: Option<shared::guardrails::Guardrail>,
    pub prompt_cache: shared::prompt_cache::Setting,
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
                guardrail: t.guardrail.clone(),
                prompt_cache: t.prompt_cache,
            })
            .collect();
        Self::build(parts, tenants)
    }

    fn build(parts: RouterParts<B, D>, configured: Vec<TenantSlot<D>>) -> Self {
        let mut tenants = vec![TenantSlot {
            name: shared::tenants::DEFAULT_TENANT.to_owned(),
            directory: parts.shared,
            guardrail: None,
            prompt_cache: shared::prompt_cache::Setting::default(),
        }];
        tenants.extend(configured);
        Self {
            inner: Arc::new(Inner {
                bedrock: parts.bedrock,
                tenants,
                auth: parts.auth,
                profiles: ProfileCache::default(),
                sink: parts.sink,
                max_body_bytes: parts.max_body_bytes,
                attempts: AttemptRunner::new(parts.retry),
                spend: std::sync::OnceLock::new(),
                default_guardrail: std::sync::OnceLock::new(),
                prompt_cache: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Prices every answer, and enforces budgets and rate limits, with `spend` (the first one
    /// given wins).
    pub fn with_spend(self, spend: Arc<crate::spend::RouterSpend>) -> Self {
        let _ = self.inner.spend.set(spend);
        self
    }

    /// Puts `guardrail` on the calls of every tenant without one of its own, the default
    /// tenant included (the first one given wins).
    pub fn with_default_guardrail(self, guardrail: Option<shared::guardrails::Guardrail>) -> Self {
        if let Some(g) = guardrail {
            let _ = self.inner.default_guardrail.set(g);
        }
        self
    }

    /// Places prompt-cache checkpoints for OpenAI-shaped callers as `policy` says (the first
    /// one given wins).
    pub fn with_prompt_cache(self, policy: shared::prompt_cache::PromptCachePolicy) -> Self {
        let _ = self.inner.prompt_cache.set(policy);
        self
    }

    /// Serves one request. Never fails: every error becomes a response.
    pub async fn handle(&self, req: lambda_http::Request) -> Response<RouterBody> {
        let path = normalise_path(req.uri().path()).to_owned();
        let route = match_route(&path);
        let dialect = route.map_or(Dialect::OpenAi, Route::dialect);
        let mut record = RequestRecord::new(
            Arc::clone(&self.inner.sink),
            route.map_or(crate::metrics::RouteName::Other, Route::name),
        );
        let deadline = req
            .lambda_context_ref()
            .map_or(Deadline::unbounded(), |ctx| {
                Deadline::from_deadline_ms(ctx.deadline)
            });
        let result = match route {
            None => Err(RouterError::NoRoute {
                method: req.method().to_string(),
                path: path.clone(),
                routes: crate::routes::ROUTE_LIST,
            }),
            Some(route) => self.serve(route, &req, deadline, &mut record).await,
        };
        let headers = call_headers(&record);
        let mut response = match result {
            Ok(reply) => reply.into_response(record),
            Err(err) => {
                let response = error_response(&err, dialect);
                record.status = response.status().as_u16();
                response.map(|b| Full::new(b).boxed_unsync())
            }
        };
        response.headers_mut().extend(headers);
        response
    }

    async fn serve(
        &self,
        route: Route<'_>,
        req: &lambda_http::Request,
        deadline: Deadline,
        record: &mut RequestRecord,
    ) -> Result<Reply, RouterError> {
        let (method, allowed) = route.method();
        if req.method() != method {
            return Err(RouterError::MethodNotAllowed {
                method: req.method().to_string(),
                path: normalise_path(req.uri().path()).to_owned(),
                allowed,
            });
        }
        if !route.needs_tenant() {
            return Ok(crate::relay::json_reply(
                http::StatusCode::OK,
                &json!({"status": "ok"}),
            ));
        }
        let id = self.inner.auth.tenant_of(req)?;
        let tenant = self
            .inner
            .tenants
            .get(id.slot())
            .ok_or_else(|| RouterError::Internal(format!("tenant {id:?} has no directory")))?;
        record.tenant = Some(tenant.name.clone());
        let mut call = Call {
            inner: &self.inner,
            tenant,
            deadline,
            record,
        };
        let body = req.body().as_ref();
        match route {
            Route::Health => Ok(crate::relay::json_reply(
                http::StatusCode::OK,
                &json!({"status": "ok"}),
            )),
            Route::Models => dialect::openai::models(&call),
            Route::Model(raw_id) => dialect::openai::model(&call, raw_id),
            Route::ChatCompletions => dialect::openai::chat(&mut call, req.headers(), body).await,
            Route::Embeddings => dialect::openai::embeddings::embeddings(&mut call, body).await,
            Route::Messages => dialect::anthropic::messages(&mut call, req.headers(), body).await,
            Route::MessagesCountTokens => {
                dialect::anthropic::count_tokens(&mut call, req.headers(), body).await
            }
            Route::Converse(raw_id) => dialect::bedrock::converse(&mut call, raw_id, body).await,
            Route::Invoke(raw_id) => {
                dialect::bedrock::invoke::invoke(&mut call, raw_id, req.headers(), body).await
            }
            Route::InvokeStream(raw_id) => {
                dialect::bedrock::invoke::invoke_stream(&mut call, raw_id, req.headers(), body)
                    .await
            }
            Route::CountTokens(raw_id) => {
                dialect::bedrock::invoke::count_tokens(&mut call, raw_id, body).await
            }
            Route::InferenceProfiles => {
                dialect::bedrock::control::list(&mut call, req.uri().query().unwrap_or("")).await
            }
            Route::InferenceProfile(raw_id) => {
                dialect::bedrock::control::get(&mut call, raw_id).await
            }
            Route::ConverseStream(raw_id) => {
                dialect::bedrock::converse_stream(&mut call, raw_id, req.headers(), body).await
            }
        }
    }
}

/// One request's view of the router, handed to the dialect modules: its tenant, its deadline,
/// its metrics record, and the calls every route shares.
pub struct Call<'r, B, D> {
    inner: &'r Inner<B, D>,
    pub tenant: &'r TenantSlot<D>,
    pub deadline: Deadline,
    pub record: &'r mut RequestRecord,
}

impl<B: Bedrock, D: Directory> Call<'_, B, D> {
    /// The request body as JSON, within the size limit.
    pub fn json_body(&self, body: &[u8]) -> Result<Value, RouterError> {
        self.check_size(body)?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(RouterError::InvalidJson {
                detail: "the body is empty".into(),
            });
        }
        serde_json::from_slice(body).map_err(|e| RouterError::InvalidJson {
            detail: e.to_string(),
        })
    }

    /// Refuses a body over the router's limit.
    pub fn check_size(&self, body: &[u8]) -> Result<(), RouterError> {
        if body.len() > self.inner.max_body_bytes {
            return Err(RouterError::BodyTooLarge {
                actual: body.len(),
                limit: self.inner.max_body_bytes,
            });
        }
        Ok(())
    }

    /// The tenant's directory.
    pub fn directory(&self) -> &D {
        &self.tenant.directory
    }

    /// Resolves a caller's model name for this tenant, with capabilities; the record learns the
    /// friendly ID.
    pub async fn target(&mut self, model: &str) -> Result<Target, RouterError> {
        let resolution = self.tenant.directory.resolve(model)?;
        self.record.model = Some(resolution.friendly_id.clone());
        self.inner
            .profiles
            .target(&self.inner.bedrock, &self.tenant.directory, resolution)
            .await
    }

    /// The router's attribution of a call: the friendly ID and the tenant, as
    /// `requestMetadata` entries (the invocation log's filterable fields).
    pub fn attribution(&self, target: &Target) -> std::collections::BTreeMap<String, String> {
        std::collections::BTreeMap::from([
            ("model".to_owned(), metadata_value(&target.friendly_id)),
            ("tenant".to_owned(), metadata_value(&self.tenant.name)),
        ])
    }

    /// Adds the router's attribution to a Converse request's own `requestMetadata`.
    pub fn attribute(
        &self,
        request: &mut ConverseRequest,
        target: &Target,
    ) -> Result<(), RouterError> {
        request.request_metadata.extend(self.attribution(target));
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

    /// Converse with failover.
    pub async fn converse(
        &mut self,
        target: &Target,
        mut request: ConverseRequest,
    ) -> Result<(ConverseResponse, Target), RouterError> {
        self.admit().await?;
        self.guard_converse(&mut request);
        let bedrock = &self.inner.bedrock;
        let (response, used) = self
            .inner
            .attempts
            .run(target, self.deadline, self.record, |site| {
                let request = request.clone();
                async move { bedrock.converse(&site, request).await }
            })
            .await?;
        self.record.note_usage(&response.usage);
        self.note_spend(&used);
        Ok((response, used))
    }

    /// ConverseStream with failover up to the first event; once an event is in hand the
    /// stream is committed and a later failure ends it with an error event, never a re-send.
    pub async fn converse_stream(
        &mut self,
        target: &Target,
        mut request: ConverseRequest,
    ) -> Result<(Option<StreamEvent>, EventStream, Target), RouterError> {
        self.admit().await?;
        self.guard_converse(&mut request);
        let bedrock = &self.inner.bedrock;
        let deadline = self.deadline;
        let ((first, events), used) = self
            .inner
            .attempts
            .run(target, deadline, self.record, |site| {
                let request = request.clone();
                async move {
                    deadline
                        .first(bedrock.converse_stream(&site, request).await?)
                        .await
                }
            })
            .await?;
        self.note_spend(&used);
        Ok((first, events, used))
    }

    /// The tenant's guardrail, else the router's default one.
    fn guardrail(&self) -> Option<&shared::guardrails::Guardrail> {
        self.tenant
            .guardrail
            .as_ref()
            .or_else(|| self.inner.default_guardrail.get())
    }

    /// Puts the tenant's guardrail on a Converse call, in place of any the caller named: the
    /// tenant's is binding. Streams keep the caller's processing mode.
    fn guard_converse(&self, request: &mut ConverseRequest) {
        if let Some(g) = self.guardrail() {
            let mode = request
                .guardrail_config
                .take()
                .and_then(|c| c.stream_processing_mode);
            request.guardrail_config = Some(crate::converse::GuardrailConfig {
                guardrail_identifier: g.identifier.clone(),
                guardrail_version: g.version.clone(),
                trace: Some(g.converse_trace().to_owned()),
                stream_processing_mode: mode,
            });
        }
    }

    /// Places prompt-cache checkpoints in an OpenAI-shaped caller's Converse request, as the
    /// document, the model and the tenant say, unless the request opted out with
    /// `x-router-prompt-cache: off`.
    pub fn cache_prompt(
        &mut self,
        request: &mut ConverseRequest,
        target: &Target,
        headers: &http::HeaderMap,
    ) -> Result<(), RouterError> {
        let opted_out = match headers.get(PROMPT_CACHE_HEADER) {
            None => false,
            Some(v) => match v.to_str().map(str::trim) {
                Ok(v) if v.eq_ignore_ascii_case("off") => true,
                Ok(v) if v.eq_ignore_ascii_case("auto") => false,
                _ => {
                    return Err(RouterError::invalid(
                        PROMPT_CACHE_HEADER,
                        format!(
                            "header `{PROMPT_CACHE_HEADER}` must be `off` (no cache checkpoints for this request) or `auto` (the configured behaviour)"
                        ),
                    ));
                }
            },
        };
        let placed = match (&target.caps.prompt_caching, self.inner.prompt_cache.get()) {
            (Some(rules), Some(policy)) => {
                let decision =
                    policy.decide(&target.friendly_id, self.tenant.prompt_cache, opted_out);
                decision
                    .place
                    .then(|| crate::prompt_cache::place(request, rules, decision.ttl).total)
            }
            _ => None,
        };
        // Placing counted every checkpoint already; otherwise only the caller's own are there.
        self.record.cache_points = placed.unwrap_or_else(|| crate::prompt_cache::count(request));
        Ok(())
    }

    /// Puts the tenant's guardrail on an InvokeModel call (Bedrock's guardrail headers), in
    /// place of any the caller sent.
    fn guard_invoke(&self, request: &mut InvokeRequest) {
        if let Some(g) = self.guardrail() {
            request.guardrail_identifier = Some(g.identifier.clone());
            request.guardrail_version = Some(g.version.clone());
            request.trace = Some(g.invoke_trace().to_owned());
        }
    }

    /// Refuses the call before Bedrock when the tenant is over a rate limit or its budget.
    async fn admit(&self) -> Result<(), RouterError> {
        match self.inner.spend.get() {
            Some(spend) => Ok(spend.admit(&self.tenant.name).await?),
            None => Ok(()),
        }
    }

    /// Has the record price the answer of the profile that answered when it is done.
    fn note_spend(&mut self, used: &Target) {
        if let Some(spend) = self.inner.spend.get() {
            self.record.spend = Some(spend.note(&self.tenant.name, used));
        }
    }
}

impl<B: Bedrock, D: Directory> Call<'_, B, D> {
    /// InvokeModel with failover.
    pub async fn invoke(
        &mut self,
        target: &Target,
        mut request: InvokeRequest,
    ) -> Result<(InvokeResponse, Target), RouterError> {
        self.admit().await?;
        self.guard_invoke(&mut request);
        let bedrock = &self.inner.bedrock;
        let (response, used) = self
            .inner
            .attempts
            .run(target, self.deadline, self.record, |site| {
                let request = request.clone();
                async move { bedrock.invoke(&site, request).await }
            })
            .await?;
        self.note_spend(&used);
        Ok((response, used))
    }

    /// Several InvokeModel calls for one request (an embeddings batch split to the model's
    /// limit), at most `concurrency` at a time, each with failover; answers in `requests`'
    /// order. Admitted once; the record counts every attempt and names the last profile used.
    pub async fn invoke_all(
        &mut self,
        target: &Target,
        requests: Vec<InvokeRequest>,
        concurrency: usize,
    ) -> Result<Vec<InvokeResponse>, RouterError> {
        use futures_util::{StreamExt as _, TryStreamExt as _};
        self.admit().await?;
        let bedrock = &self.inner.bedrock;
        let attempts = &self.inner.attempts;
        let deadline = self.deadline;
        let route = self.record.route;
        let answers: Vec<(InvokeResponse, Target, RequestRecord)> =
            futures_util::stream::iter(requests)
                .map(|request| async move {
                    // Each call keeps its own tally; only the request's record is emitted.
                    let mut tally = RequestRecord::new(Arc::new(Discard), route);
                    let (response, used) = attempts
                        .run(target, deadline, &mut tally, |site| {
                            let request = request.clone();
                            async move { bedrock.invoke(&site, request).await }
                        })
                        .await?;
                    Ok::<_, RouterError>((response, used, tally))
                })
                .buffered(concurrency.max(1))
                .try_collect()
                .await?;
        let mut responses = Vec::with_capacity(answers.len());
        let mut last = None;
        for (response, used, tally) in answers {
            self.record.attempts += tally.attempts;
            self.record.profile.clone_from(&tally.profile);
            self.record.region.clone_from(&tally.region);
            responses.push(response);
            last = Some(used);
        }
        if let Some(used) = last {
            self.note_spend(&used);
        }
        Ok(responses)
    }

    /// InvokeModelWithResponseStream with failover up to the first chunk (as
    /// [`Self::converse_stream`]).
    pub async fn invoke_stream(
        &mut self,
        target: &Target,
        mut request: InvokeRequest,
    ) -> Result<(Option<bytes::Bytes>, ChunkStream, Target), RouterError> {
        self.admit().await?;
        self.guard_invoke(&mut request);
        let bedrock = &self.inner.bedrock;
        let deadline = self.deadline;
        let ((first, chunks), used) = self
            .inner
            .attempts
            .run(target, deadline, self.record, |site| {
                let request = request.clone();
                async move {
                    deadline
                        .first(bedrock.invoke_stream(&site, request).await?)
                        .await
                }
            })
            .await?;
        self.note_spend(&used);
        Ok((first, chunks, used))
    }

    /// CountTokens on the foundation model under `target` (CountTokens takes no profile), in
    /// the target's region. Not retried: counting is cheap to ask again and never billed.
    pub async fn count_tokens(
        &mut self,
        target: &Target,
        input: CountTokensInput,
    ) -> Result<u64, RouterError> {
        let model = self.base_model(target).await?;
        self.deadline
            .run(
                self.inner
                    .bedrock
                    .count_tokens(&model, &target.region, input),
            )
            .await
            .map_err(|e| target.error(e))
    }

    /// The foundation-model ID a target runs: from its name where that says it, else from
    /// GetInferenceProfile (cached).
    pub async fn base_model(&self, target: &Target) -> Result<String, RouterError> {
        if let Some(model) = shared::arn::ModelRef::parse(&target.call_id)
            .ok()
            .and_then(|r| r.foundation_model().cloned())
        {
            return Ok(model.as_str().to_owned());
        }
        let profile = self
            .describe(&target.call_id, &target.region)
            .await
            .map_err(|e| target.error(e))?;
        profile.foundation_model().ok_or_else(|| {
            target.error(BedrockError::new(
                crate::error::BedrockErrorKind::ResourceNotFound,
                format!(
                    "inference profile {} lists no foundation model",
                    target.call_id
                ),
            ))
        })
    }

    /// GetInferenceProfile, asked once per profile and instance.
    pub async fn describe(
        &self,
        id: &str,
        region: &str,
    ) -> Result<ProfileDescription, BedrockError> {
        self.inner
            .profiles
            .describe(&self.inner.bedrock, id, region)
            .await
    }
}

/// Where the per-call tallies of [`Call::invoke_all`] go: nowhere, the request's record
/// carries their sum.
struct Discard;

impl crate::metrics::MetricsSink for Discard {
    fn emit(&self, _line: &str) {}
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
    if let Some(adjusted) = &record.adjusted {
        put("x-router-dropped", adjusted);
    }
    headers
}

#[cfg(test)]
mod tests;
