//! The control-plane operations (`bedrock`): inference profiles, tags, foundation models,
//! model availability and the invocation-logging configuration.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderValue, Response, StatusCode};
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::arn::{self, Arn};
use crate::catalog;
use crate::state::{ApiError, AppProfile, Body, EmulatorState, RequestContext, full_body};
use crate::validate::{self, Violations};

/// Application profiles allowed per region (the quota Bedrock applies is adjustable; this is
/// its default, inferred from the Service Quotas console).
const PROFILE_QUOTA: usize = 1000;
/// Tags per resource (the TooManyTagsException documentation says 50).
const TAG_LIMIT: usize = 50;

pub type Query = Vec<(String, String)>;

/// A JSON success answer.
pub fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(full_body(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn ok(value: Value) -> Result<Response<Body>, ApiError> {
    Ok(json_response(StatusCode::OK, &value))
}

/// Parses a JSON request body into an object.
pub fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            format!("The request body is not valid JSON: {e}"),
        )),
    }
}

fn query_value<'q>(query: &'q Query, key: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A string member: `Ok(None)` when absent, a violation when of another type.
fn string_member<'a>(
    body: &'a Map<String, Value>,
    key: &str,
    v: &mut Violations,
) -> Option<&'a str> {
    match body.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            v.wrong_type(key, "a string");
            None
        }
    }
}

pub fn new_profile_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..12)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

pub fn is_profile_name(value: &str) -> bool {
    (1..=64).contains(&value.chars().count()) && validate::is_profile_name(value)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The `models` of a profile copied from `copy_from` in `region`: one ARN for a foundation
/// model, the system profile's list for a system profile.
pub fn copy_source_models(
    region: &str,
    account_id: &str,
    copy_from: &str,
) -> Result<Vec<String>, ApiError> {
    let not_found = || {
        ApiError::not_found(format!(
            "The model source {copy_from} was not found in {region}."
        ))
    };
    let source = Arn::parse(copy_from).ok_or_else(not_found)?;
    if source.region != region {
        return Err(ApiError::validation(format!(
            "The model source {copy_from} must be in the same Region as the inference profile ({region})."
        )));
    }
    match source.resource_type.as_str() {
        "foundation-model" => {
            // Bedrock also accepts profile-only models here: the profile it makes is
            // single-region, and whether it can be invoked is the runtime's business.
            let model = catalog::foundation_model(&source.resource_id)
                .filter(|m| catalog::model_listed_in(m, region))
                .ok_or_else(not_found)?;
            Ok(vec![arn::foundation_model_arn(region, model.id)])
        }
        "inference-profile" => {
            if !(source.account.is_empty() || source.account == account_id) {
                return Err(not_found());
            }
            let profile =
                catalog::system_profile(region, &source.resource_id).ok_or_else(not_found)?;
            Ok(profile.model_arns(region))
        }
        _ => Err(ApiError::validation(format!(
            "The model source {copy_from} must be a foundation model or a system-defined inference profile."
        ))),
    }
}

fn validate_tags(
    value: Option<&Value>,
    field: &str,
    v: &mut Violations,
) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    let Some(value) = value else {
        return tags;
    };
    let Value::Array(items) = value else {
        v.wrong_type(field, "a list");
        return tags;
    };
    v.count(field, items.len(), 0, 200);
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}.{}.member", i + 1);
        let Value::Object(tag) = item else {
            v.wrong_type(&at, "a structure");
            continue;
        };
        let key = match tag.get("key") {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                v.wrong_type(&format!("{at}.key"), "a string");
                None
            }
            None => {
                v.missing(&format!("{at}.key"));
                None
            }
        };
        let value = match tag.get("value") {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                v.wrong_type(&format!("{at}.value"), "a string");
                None
            }
            None => {
                v.missing(&format!("{at}.value"));
                None
            }
        };
        if let Some(key) = key {
            v.length(&format!("{at}.key"), key, 1, 128);
            v.pattern(
                &format!("{at}.key"),
                key,
                validate::is_tag_text(key),
                validate::TAG_PATTERN,
            );
        }
        if let Some(value) = value {
            v.length(&format!("{at}.value"), value, 0, 256);
            v.pattern(
                &format!("{at}.value"),
                value,
                validate::is_tag_text(value),
                validate::TAG_PATTERN,
            );
        }
        if let (Some(key), Some(value)) = (key, value) {
            tags.insert(key.to_string(), value.to_string());
        }
    }
    tags
}

/// The optional `projectIdentifier` query member of Get/List operations.
fn check_project(query: &Query, v: &mut Violations) -> Option<String> {
    let project = query_value(query, "projectIdentifier")?;
    if v.length("projectIdentifier", project, 1, 2048) {
        v.pattern(
            "projectIdentifier",
            project,
            validate::is_project_identifier(project),
            validate::PROJECT_PATTERN,
        );
    }
    Some(project.to_string())
}

fn app_profile_wire(profile: &AppProfile) -> Value {
    let mut value = json!({
        "inferenceProfileName": profile.name,
        "createdAt": profile.created_at,
        "updatedAt": profile.updated_at,
        "inferenceProfileArn": profile.arn,
        "models": profile.model_arns.iter().map(|a| json!({"modelArn": a})).collect::<Vec<_>>(),
        "inferenceProfileId": profile.id,
        "status": "ACTIVE",
        "type": "APPLICATION",
    });
    if let Some(description) = &profile.description {
        value["description"] = Value::String(description.clone());
    }
    value
}

/// POST /inference-profiles
pub fn create_inference_profile(
    state: &Arc<EmulatorState>,
    ctx: &RequestContext,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let body = parse_body(body)?;
    let mut v = Violations::new();
    let name = string_member(&body, "inferenceProfileName", &mut v);
    match name {
        Some(name) if v.length("inferenceProfileName", name, 1, 64) => {
            v.pattern(
                "inferenceProfileName",
                name,
                validate::is_profile_name(name),
                validate::NAME_PATTERN,
            );
        }
        Some(_) => {}
        None if !body.contains_key("inferenceProfileName") => v.missing("inferenceProfileName"),
        None => {}
    }
    let description = string_member(&body, "description", &mut v);
    if let Some(d) = description
        && v.length("description", d, 1, 200)
    {
        v.pattern(
            "description",
            d,
            validate::is_description(d),
            validate::DESCRIPTION_PATTERN,
        );
    }
    let token = string_member(&body, "clientRequestToken", &mut v);
    if let Some(t) = token
        && v.length("clientRequestToken", t, 1, 256)
    {
        v.pattern(
            "clientRequestToken",
            t,
            validate::is_token(t),
            validate::TOKEN_PATTERN,
        );
    }
    let mut copy_from = None;
    match body.get("modelSource") {
        None | Some(Value::Null) => v.missing("modelSource"),
        Some(Value::Object(source)) => {
            let set: Vec<&String> = source
                .iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, _)| k)
                .collect();
            if set.len() != 1 || set[0] != "copyFrom" {
                v.wrong_type("modelSource", "a union with exactly one member, copyFrom");
            } else if let Some(Value::String(arn)) = source.get("copyFrom") {
                if v.length("modelSource.copyFrom", arn, 1, 2048) {
                    v.pattern(
                        "modelSource.copyFrom",
                        arn,
                        validate::is_model_source_arn(arn),
                        validate::MODEL_SOURCE_PATTERN,
                    );
                }
                copy_from = Some(arn.as_str());
            } else {
                v.wrong_type("modelSource.copyFrom", "a string");
            }
        }
        Some(_) => v.wrong_type("modelSource", "a structure"),
    }
    let tags = validate_tags(body.get("tags"), "tags", &mut v);
    v.finish()?;
    let (Some(name), Some(copy_from)) = (name, copy_from) else {
        return Err(ApiError::validation(
            "inferenceProfileName and modelSource are required.",
        ));
    };

    let region = ctx.region.as_str();
    let account = state.account_id();
    let mut regions = state.lock();
    let rs = regions.entry(region.to_string()).or_default();
    if let Some(token) = token
        && let Some(existing) = rs
            .profiles
            .values()
            .find(|p| p.client_request_token.as_deref() == Some(token))
    {
        // Same token: the service ignores the repeat and answers as the first time did.
        return Ok(json_response(
            StatusCode::CREATED,
            &json!({"inferenceProfileArn": existing.arn, "status": "ACTIVE"}),
        ));
    }
    if rs.profiles.values().any(|p| p.name == name) {
        return Err(ApiError::conflict(format!(
            "An inference profile with the name {name} already exists."
        )));
    }
    if tags.len() > TAG_LIMIT {
        return Err(too_many_tags(&arn::application_profile_arn(
            region, account, "new",
        )));
    }
    if rs.profiles.len() >= PROFILE_QUOTA {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "ServiceQuotaExceededException",
            format!(
                "You have reached the maximum of {PROFILE_QUOTA} application inference profiles in {region}."
            ),
        ));
    }
    let model_arns = copy_source_models(region, account, copy_from)?;
    let mut id = new_profile_id();
    while rs.profile_by_id(&id).is_some() {
        id = new_profile_id();
    }
    let created = now();
    let profile = AppProfile {
        arn: arn::application_profile_arn(region, account, &id),
        id,
        name: name.to_string(),
        description: description.map(str::to_string),
        model_arns,
        created_at: created.clone(),
        updated_at: created,
        client_request_token: token.map(str::to_string),
    };
    let arn = profile.arn.clone();
    if !tags.is_empty() {
        rs.tags.insert(arn.clone(), tags);
    }
    let seq = rs.next_seq;
    rs.next_seq += 1;
    rs.profiles.insert(seq, profile);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"inferenceProfileArn": arn, "status": "ACTIVE"}),
    ))
}

fn too_many_tags(resource: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "TooManyTagsException",
        format!("A resource can have at most {TAG_LIMIT} tags."),
    )
    .with_member("resourceName", Value::String(resource.to_string()))
}

enum ProfileRef {
    System(&'static catalog::SystemProfile),
    Application(u64),
}

fn validate_identifier(identifier: &str) -> Result<(), ApiError> {
    let mut v = Violations::new();
    if v.length("inferenceProfileIdentifier", identifier, 1, 2048) {
        v.pattern(
            "inferenceProfileIdentifier",
            identifier,
            validate::is_profile_identifier(identifier),
            validate::PROFILE_IDENTIFIER_PATTERN,
        );
    }
    v.finish()
}

fn resolve_profile(
    state: &EmulatorState,
    rs: Option<&crate::state::RegionState>,
    region: &str,
    identifier: &str,
) -> Result<ProfileRef, ApiError> {
    let not_found =
        || ApiError::not_found(format!("The inference profile {identifier} was not found."));
    let (kind, id) = match Arn::parse(identifier) {
        Some(a) => {
            if a.region != region || a.account != state.account_id() {
                return Err(not_found());
            }
            (Some(a.resource_type), a.resource_id)
        }
        None => (None, identifier.to_string()),
    };
    if kind.as_deref() != Some("application-inference-profile")
        && let Some(profile) = catalog::system_profile(region, &id)
    {
        return Ok(ProfileRef::System(profile));
    }
    if kind.as_deref() != Some("inference-profile")
        && let Some((seq, _)) = rs.and_then(|r| r.profile_by_id(&id))
    {
        return Ok(ProfileRef::Application(seq));
    }
    Err(not_found())
}

/// GET /inference-profiles/{inferenceProfileIdentifier}
pub fn get_inference_profile(
    state: &Arc<EmulatorState>,
    ctx: &RequestContext,
    identifier: &str,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let mut v = Violations::new();
    check_project(query, &mut v);
    v.finish()?;
    validate_identifier(identifier)?;
    let regions = state.lock();
    let rs = regions.get(&ctx.region);
    match resolve_profile(state, rs, &ctx.region, identifier)? {
        ProfileRef::System(p) => ok(p.to_wire(&ctx.region, state.account_id())),
        ProfileRef::Application(seq) => {
            let profile = rs
                .and_then(|r| r.profiles.get(&seq))
                .ok_or_else(|| ApiError::internal("The profile vanished."))?;
            ok(app_profile_wire(profile))
        }
    }
}

/// DELETE /inference-profiles/{inferenceProfileIdentifier}
pub fn delete_inference_profile(
    state: &Arc<EmulatorState>,
    ctx: &RequestContext,
    identifier: &str,
) -> Result<Response<Body>, ApiError> {
    validate_identifier(identifier)?;
    let mut regions = state.lock();
    let found = resolve_profile(state, regions.get(&ctx.region), &ctx.region, identifier)?;
    match found {
        // Only application profiles can be deleted; Bedrock refuses the rest as a bad request
        // (inferred: the API documents DeleteInferenceProfile for application profiles only).
        ProfileRef::System(p) => Err(ApiError::validation(format!(
            "The inference profile {} is SYSTEM_DEFINED; only APPLICATION inference profiles can be deleted.",
            p.id
        ))),
        ProfileRef::Application(seq) => {
            if let Some(rs) = regions.get_mut(&ctx.region)
                && let Some(profile) = rs.profiles.remove(&seq)
            {
                rs.tags.remove(&profile.arn);
            }
            ok(json!({}))
        }
    }
}

/// GET /inference-profiles
pub fn list_inference_profiles(
    state: &Arc<EmulatorState>,
    ctx: &RequestContext,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let mut v = Violations::new();
    let max_results = match query_value(query, "maxResults") {
        Some(text) => match text.parse::<i64>() {
            Ok(n) => {
                v.range("maxResults", n, 1, 1000);
                n
            }
            Err(_) => {
                v.wrong_type("maxResults", "an integer");
                0
            }
        },
        None => 1000,
    };
    let type_filter = query_value(query, "type");
    if let Some(t) = type_filter {
        v.one_of("typeEquals", t, &["SYSTEM_DEFINED", "APPLICATION"]);
    }
    let token = query_value(query, "nextToken");
    if let Some(t) = token
        && v.length("nextToken", t, 1, 2048)
    {
        v.pattern(
            "nextToken",
            t,
            !t.chars().any(char::is_whitespace),
            validate::PAGINATION_TOKEN_PATTERN,
        );
    }
    let project = check_project(query, &mut v);
    v.finish()?;
    if type_filter == Some("APPLICATION") && project.as_deref().is_some_and(|p| p != "default") {
        return Err(ApiError::validation(
            "A projectIdentifier other than default cannot be combined with typeEquals APPLICATION.",
        ));
    }
    // Without a type filter Bedrock lists the system-defined profiles; application profiles
    // need `type=APPLICATION` (inferred from the API reference's note on typeEquals).
    let type_filter = type_filter.unwrap_or("SYSTEM_DEFINED");
    let offset = match token {
        Some(t) => decode_token(t, type_filter)?,
        None => 0,
    };
    let items: Vec<Value> = if type_filter == "SYSTEM_DEFINED" {
        catalog::system_profiles_in(&ctx.region)
            .map(|p| p.to_wire(&ctx.region, state.account_id()))
            .collect()
    } else {
        let regions = state.lock();
        regions
            .get(&ctx.region)
            .map(|r| r.profiles.values().map(app_profile_wire).collect())
            .unwrap_or_default()
    };
    let max = usize::try_from(max_results).unwrap_or(1000);
    let page: Vec<Value> = items.iter().skip(offset).take(max).cloned().collect();
    let mut answer = json!({ "inferenceProfileSummaries": page });
    if offset + max < items.len() {
        answer["nextToken"] = Value::String(encode_token(offset + max, type_filter));
    }
    ok(answer)
}

fn encode_token(offset: usize, kind: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1|{kind}|{offset}"))
}

fn decode_token(token: &str, kind: &str) -> Result<usize, ApiError> {
    let invalid = || ApiError::validation("The provided nextToken is invalid or expired.");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split('|');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(k), Some(offset), None) if k == kind => {
            offset.parse().map_err(|_| invalid())
        }
        _ => Err(invalid()),
    }
}

fn resource_arn(body: &Map<String, Value>, v: &mut Violations) -> Option<String> {
    let arn = match body.get("resourceARN") {
        None | Some(Value::Null) => {
            v.missing("resourceARN");
            return None;
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            v.wrong_type("resourceARN", "a string");
            return None;
        }
    };
    if v.length("resourceARN", &arn, 20, 1011) {
        v.pattern(
            "resourceARN",
            &arn,
            validate::is_taggable_arn(&arn),
            validate::TAGGABLE_ARN_PATTERN,
        );
    }
    Some(arn)
}

/// Checks that `arn` names an application profile of this region; returns the ARN.
fn taggable_profile(
    state: &EmulatorState,
    ctx: &RequestContext,
    arn: &str,
) -> Result<(), ApiError> {
    let not_found = || ApiError::not_found(format!("The resource {arn} was not found."));
    let parsed = Arn::parse(arn).ok_or_else(not_found)?;
    if parsed.resource_type == "inference-profile" {
        return Err(ApiError::validation(format!(
            "The resource {arn} is a system-defined inference profile, which cannot be tagged."
        )));
    }
    if parsed.resource_type != "application-inference-profile"
        || parsed.region != ctx.region
        || parsed.account != state.account_id()
    {
        return Err(not_found());
    }
    let regions = state.lock();
    regions
        .get(&ctx.region)
        .and_then(|r| r.profile_by_id(&parsed.resource_id))
        .map(|_| ())
        .ok_or_else(not_found)
}

/// POST /tagResource
pub fn tag_resource(
    state: &Arc<EmulatorState>,
    ctx: &RequestContext,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let body = parse_body(body)?;
    let mut v = Violations::new();
    let arn = resource_arn(&body, &mut v);
    if !body.contains_key("tags") {
        v.missing("tags");
    }
    let tags = validate_tags(body.get("tags"), "tags", &mut v);
    v.finish()?;
    let arn = arn.unwrap_or_default();
    taggable_profile(state, ctx, &arn)?;
    let mut regions = state.lock();
    let rs = regions.entry(ctx.region.clone()).or_default();
    let mut merged = rs.tags.get(&arn).cloned().unwrap_or_default();
    merged.extend(tags);
    if merged.len() > TAG_LIMIT {
        return Err(too_many_tags(&arn));
    }
    rs.tags.insert(arn, merged);
    ok(json!({}))
}

/// POST /untagResource
pub fn untag_resource(
    state: &Arc<EmulatorState>,
    ctx: &RequestContext,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let body = parse_body(body)?;
    let mut v = Violations::new();
    let arn = resource_arn(&body, &mut v);
    let mut keys = Vec::new();
    match body.get("tagKeys") {
        None | Some(Value::Null) => v.missing("tagKeys"),
        Some(Value::Array(items)) => {
            v.count("tagKeys", items.len(), 0, 200);
            for (i, item) in items.iter().enumerate() {
                let at = format!("tagKeys.{}.member", i + 1);
                match item {
                    Value::String(key) => {
                        if v.length(&at, key, 1, 128) {
                            v.pattern(&at, key, validate::is_tag_text(key), validate::TAG_PATTERN);
                        }
                        keys.push(key.clone());
                    }
                    _ => v.wrong_type(&at, "a string"),
                }
            }
        }
        Some(_) => v.wrong_type("tagKeys", "a list"),
    }
    v.finish()?;
    let arn = arn.unwrap_or_default();
    taggable_profile(state, ctx, &arn)?;
    let mut regions = state.lock();
    if let Some(tags) = regions
        .get_mut(&ctx.region)
        .and_then(|r| r.tags.get_mut(&arn))
    {
        for key in keys {
            tags.remove(&key);
        }
    }
    ok(json!({}))
}

/// POST /listTagsForResource
pub fn list_tags_for_resource(
    state: &Arc<EmulatorState>,
    ctx: &RequestContext,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let body = parse_body(body)?;
    let mut v = Violations::new();
    let arn = resource_arn(&body, &mut v);
    v.finish()?;
    let arn = arn.unwrap_or_default();
    taggable_profile(state, ctx, &arn)?;
    let regions = state.lock();
    let tags: Vec<Value> = regions
        .get(&ctx.region)
        .and_then(|r| r.tags.get(&arn))
        .map(|t| {
            t.iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect()
        })
        .unwrap_or_default();
    ok(json!({ "tags": tags }))
}

/// GET /foundation-models/{modelIdentifier}
pub fn get_foundation_model(
    ctx: &RequestContext,
    identifier: &str,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let mut v = Violations::new();
    check_project(query, &mut v);
    if v.length("modelIdentifier", identifier, 1, 2048) {
        v.pattern(
            "modelIdentifier",
            identifier,
            validate::is_model_identifier(identifier),
            validate::MODEL_IDENTIFIER_PATTERN,
        );
    }
    v.finish()?;
    let id = match Arn::parse(identifier) {
        Some(a) if a.region == ctx.region => a.resource_id,
        Some(_) => return Err(ApiError::invalid_model_identifier()),
        None => identifier.to_string(),
    };
    let model = catalog::foundation_model(&id)
        .filter(|m| catalog::model_listed_in(m, &ctx.region))
        .ok_or_else(ApiError::invalid_model_identifier)?;
    ok(json!({ "modelDetails": model.to_wire(&ctx.region) }))
}

/// GET /foundation-models
pub fn list_foundation_models(
    ctx: &RequestContext,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let mut v = Violations::new();
    check_project(query, &mut v);
    let provider = query_value(query, "byProvider");
    if let Some(p) = provider {
        v.pattern(
            "byProvider",
            p,
            validate::is_provider(p),
            validate::PROVIDER_PATTERN,
        );
    }
    let customization = query_value(query, "byCustomizationType");
    if let Some(c) = customization {
        v.one_of(
            "byCustomizationType",
            c,
            &["FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"],
        );
    }
    let modality = query_value(query, "byOutputModality");
    if let Some(m) = modality {
        v.one_of("byOutputModality", m, &["TEXT", "IMAGE", "EMBEDDING"]);
    }
    let inference = query_value(query, "byInferenceType");
    if let Some(i) = inference {
        v.one_of("byInferenceType", i, &["ON_DEMAND", "PROVISIONED"]);
    }
    v.finish()?;
    let summaries: Vec<Value> = catalog::foundation_models_in(&ctx.region)
        .filter(|m| provider.is_none_or(|p| m.provider.eq_ignore_ascii_case(p)))
        .filter(|m| customization.is_none_or(|c| m.customizations.contains(&c)))
        .filter(|m| modality.is_none_or(|o| m.output_modalities.contains(&o)))
        .filter(|m| inference.is_none_or(|i| m.inference_types(&ctx.region).contains(&i)))
        .map(|m| m.to_wire(&ctx.region))
        .collect();
    ok(json!({ "modelSummaries": summaries }))
}

/// GET /foundation-model-availability/{modelId}; a system profile ID answers for its model.
pub fn get_foundation_model_availability(
    state: &Arc<EmulatorState>,
    ctx: &RequestContext,
    model_id: &str,
) -> Result<Response<Body>, ApiError> {
    let mut v = Violations::new();
    if v.length("modelId", model_id, 0, 140) {
        v.pattern(
            "modelId",
            model_id,
            validate::is_model_id(model_id),
            validate::BEDROCK_MODEL_ID_PATTERN,
        );
    }
    v.finish()?;
    let model = catalog::availability_model(&ctx.region, model_id)
        .ok_or_else(ApiError::invalid_model_identifier)?;
    ok(state.model_access(&ctx.region, model.id).to_wire(model_id))
}

/// Checks a `loggingConfig` against the model's constraints.
pub fn validate_logging_config(config: &Value) -> Result<(), ApiError> {
    let mut v = Violations::new();
    let Value::Object(config) = config else {
        v.wrong_type("loggingConfig", "a structure");
        return v.finish();
    };
    let mut destinations = 0;
    match config.get("cloudWatchConfig") {
        None | Some(Value::Null) => {}
        Some(Value::Object(cw)) => {
            destinations += 1;
            match cw.get("logGroupName") {
                Some(Value::String(g)) => {
                    v.length("loggingConfig.cloudWatchConfig.logGroupName", g, 1, 512);
                }
                Some(_) => v.wrong_type("loggingConfig.cloudWatchConfig.logGroupName", "a string"),
                None => v.missing("loggingConfig.cloudWatchConfig.logGroupName"),
            }
            match cw.get("roleArn") {
                Some(Value::String(r)) => {
                    if v.length("loggingConfig.cloudWatchConfig.roleArn", r, 0, 2048) {
                        v.pattern(
                            "loggingConfig.cloudWatchConfig.roleArn",
                            r,
                            validate::is_role_arn(r),
                            validate::ROLE_ARN_PATTERN,
                        );
                    }
                }
                Some(_) => v.wrong_type("loggingConfig.cloudWatchConfig.roleArn", "a string"),
                None => v.missing("loggingConfig.cloudWatchConfig.roleArn"),
            }
            if let Some(s3) = cw.get("largeDataDeliveryS3Config") {
                validate_s3(
                    s3,
                    "loggingConfig.cloudWatchConfig.largeDataDeliveryS3Config",
                    &mut v,
                );
            }
        }
        Some(_) => v.wrong_type("loggingConfig.cloudWatchConfig", "a structure"),
    }
    if let Some(s3) = config.get("s3Config").filter(|s| !s.is_null()) {
        destinations += 1;
        validate_s3(s3, "loggingConfig.s3Config", &mut v);
    }
    for flag in [
        "textDataDeliveryEnabled",
        "imageDataDeliveryEnabled",
        "embeddingDataDeliveryEnabled",
        "videoDataDeliveryEnabled",
        "audioDataDeliveryEnabled",
    ] {
        if config
            .get(flag)
            .is_some_and(|f| !f.is_boolean() && !f.is_null())
        {
            v.wrong_type(&format!("loggingConfig.{flag}"), "a boolean");
        }
    }
    v.finish()?;
    if destinations == 0 {
        // A configuration with nowhere to deliver to is refused (inferred: the console
        // requires at least one destination).
        return Err(ApiError::validation(
            "The logging configuration must specify cloudWatchConfig, s3Config or both.",
        ));
    }
    Ok(())
}

fn validate_s3(value: &Value, field: &str, v: &mut Violations) {
    let Value::Object(s3) = value else {
        v.wrong_type(field, "a structure");
        return;
    };
    match s3.get("bucketName") {
        Some(Value::String(b)) => {
            v.length(&format!("{field}.bucketName"), b, 3, 63);
        }
        Some(_) => v.wrong_type(&format!("{field}.bucketName"), "a string"),
        None => v.missing(&format!("{field}.bucketName")),
    }
    match s3.get("keyPrefix") {
        None | Some(Value::Null) => {}
        Some(Value::String(k)) => {
            v.length(&format!("{field}.keyPrefix"), k, 0, 1024);
        }
        Some(_) => v.wrong_type(&format!("{field}.keyPrefix"), "a string"),
    }
}

/// PUT /logging/modelinvocations
pub fn put_logging(
    state: &Arc<EmulatorState>,
    ctx: &RequestContext,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let body = parse_body(body)?;
    let Some(config) = body.get("loggingConfig").filter(|c| !c.is_null()) else {
        let mut v = Violations::new();
        v.missing("loggingConfig");
        v.finish()?;
        return Err(ApiError::validation("loggingConfig is required."));
    };
    validate_logging_config(config)?;
    state.lock().entry(ctx.region.clone()).or_default().logging = Some(config.clone());
    ok(json!({}))
}

/// GET /logging/modelinvocations: `{}` when nothing is configured.
pub fn get_logging(
    state: &Arc<EmulatorState>,
    ctx: &RequestContext,
) -> Result<Response<Body>, ApiError> {
    match state.logging_config(&ctx.region) {
        Some(config) => ok(json!({ "loggingConfig": config })),
        None => ok(json!({})),
    }
}

/// DELETE /logging/modelinvocations
pub fn delete_logging(
    state: &Arc<EmulatorState>,
    ctx: &RequestContext,
) -> Result<Response<Body>, ApiError> {
    if let Some(rs) = state.lock().get_mut(&ctx.region) {
        rs.logging = None;
    }
    ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_token_only_works_for_the_listing_it_came_from() {
        let token = encode_token(5, "APPLICATION");
        assert_eq!(decode_token(&token, "APPLICATION").unwrap(), 5);
        assert!(decode_token(&token, "SYSTEM_DEFINED").is_err());
        assert!(decode_token("garbage!", "APPLICATION").is_err());
    }

    #[test]
    fn generated_profile_ids_are_twelve_lowercase_alphanumerics() {
        for _ in 0..50 {
            let id = new_profile_id();
            assert_eq!(id.len(), 12);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            );
        }
    }

    #[test]
    fn copying_from_a_system_profile_mirrors_its_models() {
        let models = copy_source_models(
            "us-east-1",
            "123456789012",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
        )
        .unwrap();
        assert_eq!(models.len(), 3);
        assert!(models[0].ends_with("foundation-model/amazon.nova-pro-v1:0"));
    }

    #[test]
    fn a_logging_config_without_destination_is_refused() {
        assert!(validate_logging_config(&json!({"textDataDeliveryEnabled": true})).is_err());
        assert!(
            validate_logging_config(&json!({"cloudWatchConfig": {"logGroupName": "g", "roleArn": "arn:aws:iam::123456789012:role/r"}}))
                .is_ok()
        );
    }
}
