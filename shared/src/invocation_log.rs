//! Bedrock model-invocation log records and their classification against the profile map.
//!
//! [`parse_record`] reads a whole record (every documented field, all optional except
//! `modelId`; unknown fields ignored; `outputBodyJson` an object for Converse/InvokeModel
//! or an array of chunks for InvokeModelWithResponseStream).
//!
//! [`classify`] is the verifier's hot path. It borrows only the four fields it needs from
//! the line and gives exactly one [`PrimaryClass`]:
//!
//! | class | the record's `modelId` is ... |
//! |---|---|
//! | `profiled` | an application-profile ARN the map holds |
//! | `mapping_miss` | a raw form (model ID or ARN, system-profile ID or ARN) of a model the map routes through an application profile: the caller bypassed the profile |
//! | `unmapped` | any other model reference, including aliases to models or system profiles and strings that are not model references at all |
//! | `unknown_profile` | an application-profile ARN the map does not hold |
//! | `malformed` | missing: the line is not JSON, not an object, not a `ModelInvocationLog`, or has no string `modelId` |
//!
//! plus two independent flags: `region_violation` (`inferenceRegion` present and outside
//! the allow-list, when one is configured; a record without `inferenceRegion` is not
//! flagged, since where it ran is unknown) and `error` (the kind of `errorCode`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::arn::ModelRef;
use crate::prices::TokenUsage;
use crate::profile_map::ProfileMap;

/// Why a line is not an invocation-log record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// Not JSON, or a field has an impossible type.
    #[error("invocation-log line is not a JSON record: {0}")]
    NotJson(String),
    /// JSON, but another kind of document.
    #[error(
        "invocation-log line is not a model-invocation record: schemaType is `{0}`, expected `ModelInvocationLog`"
    )]
    WrongSchema(String),
    /// No `modelId`.
    #[error("invocation-log record has no `modelId`")]
    MissingModelId,
}

/// The caller.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// The caller's principal ARN.
    #[serde(default)]
    pub arn: Option<String>,
}

/// The request side of a record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputBlock {
    /// Usually `application/json`.
    #[serde(default)]
    pub input_content_type: Option<String>,
    /// The request body (Converse: without `modelId`).
    #[serde(default)]
    pub input_body_json: Option<Value>,
    /// Where a large body went instead.
    #[serde(default)]
    pub input_body_s3_path: Option<String>,
    /// Input tokens.
    #[serde(default, deserialize_with = "lenient_count")]
    pub input_token_count: Option<u64>,
    /// Tokens read from the prompt cache.
    #[serde(default, deserialize_with = "lenient_count")]
    pub cache_read_input_token_count: Option<u64>,
    /// Tokens written to the prompt cache.
    #[serde(default, deserialize_with = "lenient_count")]
    pub cache_write_input_token_count: Option<u64>,
}

/// `outputBodyJson`: an object (Converse, ConverseStream aggregated, InvokeModel) or the
/// array of decoded chunks (InvokeModelWithResponseStream).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OutputBody {
    /// A single response object.
    Object(Map<String, Value>),
    /// Stream chunks, in order.
    Chunks(Vec<Value>),
    /// Anything else a future record may carry.
    Other(Value),
}

impl<'de> Deserialize<'de> for OutputBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Object(m) => Self::Object(m),
            Value::Array(v) => Self::Chunks(v),
            other => Self::Other(other),
        })
    }
}

/// The response side of a record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputBlock {
    /// Usually `application/json`.
    #[serde(default)]
    pub output_content_type: Option<String>,
    /// The response body.
    #[serde(default)]
    pub output_body_json: Option<OutputBody>,
    /// Where a large body went instead.
    #[serde(default)]
    pub output_body_s3_path: Option<String>,
    /// Output tokens.
    #[serde(default, deserialize_with = "lenient_count")]
    pub output_token_count: Option<u64>,
}

/// One model-invocation log record (bedrock-wire.md §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationLogRecord {
    /// `ModelInvocationLog`.
    #[serde(default)]
    pub schema_type: Option<String>,
    /// `1.0`.
    #[serde(default)]
    pub schema_version: Option<String>,
    /// RFC 3339, UTC.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// The account.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The caller.
    #[serde(default)]
    pub identity: Option<Identity>,
    /// The source region.
    #[serde(default)]
    pub region: Option<String>,
    /// The request ID.
    #[serde(default)]
    pub request_id: Option<String>,
    /// `Converse`, `ConverseStream`, `InvokeModel`, `InvokeModelWithResponseStream`.
    #[serde(default)]
    pub operation: Option<String>,
    /// Exactly what the caller passed as `modelId`.
    pub model_id: String,
    /// The request.
    #[serde(default)]
    pub input: Option<InputBlock>,
    /// The response.
    #[serde(default)]
    pub output: Option<OutputBlock>,
    /// The caller's `requestMetadata`.
    #[serde(default)]
    pub request_metadata: Option<BTreeMap<String, Value>>,
    /// Where the request actually ran.
    #[serde(default)]
    pub inference_region: Option<String>,
    /// The error, when the call failed.
    #[serde(default)]
    pub error_code: Option<String>,
}

/// Accepts a count as a number or a numeric string; anything else is treated as absent,
/// so one odd field never makes a record unreadable.
fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Parses a whole record.
pub fn parse_record(line: &str) -> Result<InvocationLogRecord, LogError> {
    let value: Value = serde_json::from_str(line).map_err(|e| LogError::NotJson(e.to_string()))?;
    let Value::Object(obj) = &value else {
        return Err(LogError::NotJson(
            "the line is not a JSON object".to_owned(),
        ));
    };
    if let Some(t) = obj.get("schemaType").and_then(Value::as_str)
        && t != SCHEMA_TYPE
    {
        return Err(LogError::WrongSchema(t.to_owned()));
    }
    if !obj.get("modelId").is_some_and(Value::is_string) {
        return Err(LogError::MissingModelId);
    }
    serde_json::from_value(value).map_err(|e| LogError::NotJson(e.to_string()))
}

const SCHEMA_TYPE: &str = "ModelInvocationLog";

/// The one primary class of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrimaryClass {
    /// Through an application profile the map holds.
    Profiled,
    /// A raw model the map routes through a profile: the profile was bypassed.
    MappingMiss,
    /// A model the map does not route through a profile.
    Unmapped,
    /// An application profile the map does not hold.
    UnknownProfile,
    /// Not a usable record.
    Malformed,
}

impl PrimaryClass {
    /// Every class, in report order.
    pub const ALL: [Self; 5] = [
        Self::Profiled,
        Self::MappingMiss,
        Self::Unmapped,
        Self::UnknownProfile,
        Self::Malformed,
    ];

    /// The serde name (`profiled`, `mapping_miss`, ...), for metrics and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Profiled => "profiled",
            Self::MappingMiss => "mapping_miss",
            Self::Unmapped => "unmapped",
            Self::UnknownProfile => "unknown_profile",
            Self::Malformed => "malformed",
        }
    }
}

/// The kind of a record's `errorCode` (the exception name, with or without the
/// `Exception` suffix, or an HTTP status).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// `AccessDeniedException`, 403.
    AccessDenied,
    /// `ResourceNotFoundException`, 404.
    ResourceNotFound,
    /// `ThrottlingException`, `TooManyRequestsException`, 429.
    Throttling,
    /// `ServiceQuotaExceededException`.
    ServiceQuotaExceeded,
    /// `ValidationException`, 400.
    Validation,
    /// `ModelErrorException`, `ModelStreamErrorException`, 424.
    ModelError,
    /// `ModelTimeoutException`, 408.
    ModelTimeout,
    /// `ModelNotReadyException`.
    ModelNotReady,
    /// `ServiceUnavailableException`, 503.
    ServiceUnavailable,
    /// `InternalServerException`, 500.
    InternalServer,
    /// Anything else, as written.
    Other(String),
}

impl ErrorKind {
    /// Classifies an `errorCode` value.
    pub fn from_code(code: &str) -> Self {
        let c = code.trim();
        let base = c.strip_suffix("Exception").unwrap_or(c);
        let is = |name: &str| base.eq_ignore_ascii_case(name);
        if is("AccessDenied") || c == "403" {
            Self::AccessDenied
        } else if is("ResourceNotFound") || c == "404" {
            Self::ResourceNotFound
        } else if is("Throttling") || is("Throttled") || is("TooManyRequests") || c == "429" {
            Self::Throttling
        } else if is("ServiceQuotaExceeded") {
            Self::ServiceQuotaExceeded
        } else if is("Validation") || c == "400" {
            Self::Validation
        } else if is("ModelError") || is("ModelStreamError") || c == "424" {
            Self::ModelError
        } else if is("ModelTimeout") || c == "408" {
            Self::ModelTimeout
        } else if is("ModelNotReady") {
            Self::ModelNotReady
        } else if is("ServiceUnavailable") || c == "503" {
            Self::ServiceUnavailable
        } else if is("InternalServer") || is("InternalFailure") || c == "500" {
            Self::InternalServer
        } else {
            Self::Other(c.to_owned())
        }
    }

    /// A bounded label for metrics: the snake-case kind, `other` for every unknown code.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::AccessDenied => "access_denied",
            Self::ResourceNotFound => "resource_not_found",
            Self::Throttling => "throttling",
            Self::ServiceQuotaExceeded => "service_quota_exceeded",
            Self::Validation => "validation",
            Self::ModelError => "model_error",
            Self::ModelTimeout => "model_timeout",
            Self::ModelNotReady => "model_not_ready",
            Self::ServiceUnavailable => "service_unavailable",
            Self::InternalServer => "internal_server",
            Self::Other(_) => "other",
        }
    }
}

/// What one record says about profile use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// The primary class.
    pub class: PrimaryClass,
    /// The record's `modelId` as logged (empty when malformed).
    pub model_id: String,
    /// The friendly ID involved: the profile's owner (`profiled`), the friendly ID that
    /// should have been used (`mapping_miss`), or the alias or served model the call
    /// matches (`unmapped`, when there is one).
    pub friendly_id: Option<String>,
    /// `inferenceRegion` is outside the allow-list.
    pub region_violation: bool,
    /// The call failed with this kind of error.
    pub error: Option<ErrorKind>,
    /// What the call used and who made it, for pricing (absent fields are 0 / `None`).
    pub usage: RecordUsage,
}

/// The fields of a record that price it and say whose it was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordUsage {
    /// Tokens by kind (`inputTokenCount`, `outputTokenCount`, cache reads and writes).
    pub tokens: TokenUsage,
    /// `region`: where the call was sent (what a geographic profile is priced by).
    pub region: Option<String>,
    /// `requestMetadata.tenant`, as the router writes it.
    pub tenant: Option<String>,
    /// `identity.arn`.
    pub caller: Option<String>,
}

#[derive(Deserialize)]
struct SlimInput {
    #[serde(
        rename = "inputTokenCount",
        default,
        deserialize_with = "lenient_count"
    )]
    input: Option<u64>,
    #[serde(
        rename = "cacheReadInputTokenCount",
        default,
        deserialize_with = "lenient_count"
    )]
    cache_read: Option<u64>,
    #[serde(
        rename = "cacheWriteInputTokenCount",
        default,
        deserialize_with = "lenient_count"
    )]
    cache_write: Option<u64>,
}

#[derive(Deserialize)]
struct SlimOutput {
    #[serde(
        rename = "outputTokenCount",
        default,
        deserialize_with = "lenient_count"
    )]
    output: Option<u64>,
}

#[derive(Deserialize)]
struct SlimTenant<'a> {
    #[serde(borrow, default, deserialize_with = "lenient_text")]
    tenant: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct SlimIdentity<'a> {
    #[serde(borrow, default, deserialize_with = "lenient_text")]
    arn: Option<Cow<'a, str>>,
}

/// A string field, or `None` when it holds anything else (the record is still classified).
fn lenient_text<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    struct Text;
    impl<'de> serde::de::Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            while a
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok(None)
        }
    }
    d.deserialize_any(Text)
}

/// An object read as `T`, or `None` when the field holds anything else, skipped without
/// copying it (the bodies beside the counts can be large).
fn lenient_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Object<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(a)).map(Some)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(Object(std::marker::PhantomData))
}

#[derive(Deserialize)]
struct Slim<'a> {
    #[serde(rename = "modelId", borrow, default)]
    model_id: Option<Cow<'a, str>>,
    #[serde(rename = "inferenceRegion", borrow, default)]
    inference_region: Option<Cow<'a, str>>,
    #[serde(rename = "errorCode", borrow, default)]
    error_code: Option<Cow<'a, str>>,
    #[serde(rename = "schemaType", borrow, default)]
    schema_type: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient_text")]
    region: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_object")]
    input: Option<SlimInput>,
    #[serde(default, deserialize_with = "lenient_object")]
    output: Option<SlimOutput>,
    #[serde(
        rename = "requestMetadata",
        borrow,
        default,
        deserialize_with = "lenient_object"
    )]
    request_metadata: Option<SlimTenant<'a>>,
    #[serde(borrow, default, deserialize_with = "lenient_object")]
    identity: Option<SlimIdentity<'a>>,
}

/// Classifies one log line against `map`, using the map's inference-region allow-list.
pub fn classify(line: &str, map: &ProfileMap) -> Classification {
    classify_with(line, map, map.allowed_inference_regions())
}

/// Classifies one log line with an explicit allow-list (`None`: no region check).
pub fn classify_with(
    line: &str,
    map: &ProfileMap,
    allowed_regions: Option<&[String]>,
) -> Classification {
    let malformed = || Classification {
        class: PrimaryClass::Malformed,
        model_id: String::new(),
        friendly_id: None,
        region_violation: false,
        error: None,
        usage: RecordUsage::default(),
    };
    // serde's struct deserializer also fills fields from a JSON array, in order; a record is
    // an object, so anything else is malformed before it is read.
    if !line.trim_start().starts_with('{') {
        return malformed();
    }
    let Ok(slim) = serde_json::from_str::<Slim<'_>>(line) else {
        return malformed();
    };
    if slim
        .schema_type
        .as_deref()
        .is_some_and(|t| t != SCHEMA_TYPE)
    {
        return malformed();
    }
    let Some(model_id) = slim
        .model_id
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    else {
        return malformed();
    };
    let region_violation = match (allowed_regions, slim.inference_region.as_deref()) {
        (Some(list), Some(r)) if !r.is_empty() => !list.iter().any(|a| a == r),
        _ => false,
    };
    let error = slim
        .error_code
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(ErrorKind::from_code);
    let (class, friendly_id) = primary(model_id, map);
    let input = slim.input.as_ref();
    let usage = RecordUsage {
        tokens: TokenUsage {
            input: input.and_then(|i| i.input).unwrap_or(0),
            output: slim.output.as_ref().and_then(|o| o.output).unwrap_or(0),
            cache_read: input.and_then(|i| i.cache_read).unwrap_or(0),
            cache_write: input.and_then(|i| i.cache_write).unwrap_or(0),
        },
        region: slim.region.as_deref().map(str::to_owned),
        tenant: slim
            .request_metadata
            .and_then(|m| m.tenant)
            .map(Cow::into_owned),
        caller: slim.identity.and_then(|i| i.arn).map(Cow::into_owned),
    };
    Classification {
        class,
        model_id: model_id.to_owned(),
        friendly_id: friendly_id.map(str::to_owned),
        region_violation,
        error,
        usage,
    }
}

fn primary<'m>(model_id: &str, map: &'m ProfileMap) -> (PrimaryClass, Option<&'m str>) {
    // Fast path: the common case is one of our profile ARNs, found without parsing.
    if let Some(owner) = map.profile_owner(model_id) {
        return (PrimaryClass::Profiled, Some(owner));
    }
    let Ok(reference) = ModelRef::parse(model_id) else {
        return (PrimaryClass::Unmapped, None);
    };
    if let ModelRef::AppProfileArn(_) = &reference {
        // Our ARNs were matched above; a valid ARN displays exactly as parsed, so any other
        // application profile is not ours.
        return (PrimaryClass::UnknownProfile, None);
    }
    if let Some(model) = reference.foundation_model()
        && let Some(first) = map.friendly_ids_routing(model.as_str()).first()
    {
        return (PrimaryClass::MappingMiss, Some(first.as_str()));
    }
    (PrimaryClass::Unmapped, map.friendly_for_target(&reference))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile_map::tests::{ARN_A, ARN_B, HAIKU, NOVA, SONNET, sample_map};

    const SONNET_FM: &str = "anthropic.claude-3-7-sonnet-20250219-v1:0";

    fn record(model_id: &str, extra: &str) -> String {
        format!(
            r#"{{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"2026-04-19T13:28:51Z","accountId":"123456789012","region":"us-east-1","requestId":"7487ab04-734e-470b-8dfc-46d8d8506381","operation":"Converse","modelId":"{model_id}"{extra}}}"#
        )
    }

    fn class_of(model_id: &str) -> (PrimaryClass, Option<String>) {
        let c = classify(&record(model_id, ""), &sample_map());
        (c.class, c.friendly_id)
    }

    #[test]
    fn our_profile_arn_is_profiled_with_its_friendly_id() {
        assert_eq!(
            class_of(ARN_A),
            (PrimaryClass::Profiled, Some(SONNET.to_owned()))
        );
        assert_eq!(
            class_of(ARN_B),
            (PrimaryClass::Profiled, Some("team-model".to_owned()))
        );
    }

    #[test]
    fn foreign_profile_arn_is_unknown_profile() {
        let foreign = ARN_A.replace("abcdefghij12", "qqqqqqqqqqqq");
        assert_eq!(class_of(&foreign), (PrimaryClass::UnknownProfile, None));
        let other_account = ARN_A.replace("123456789012", "999999999999");
        assert_eq!(class_of(&other_account).0, PrimaryClass::UnknownProfile);
    }

    #[test]
    fn every_raw_form_of_a_profiled_model_is_a_mapping_miss() {
        for raw in [
            SONNET_FM.to_owned(),
            SONNET.to_owned(),
            format!("eu.{SONNET_FM}"),
            format!("global.{SONNET_FM}"),
            format!("arn:aws:bedrock:us-east-1::foundation-model/{SONNET_FM}"),
            format!("arn:aws:bedrock:us-west-2:123456789012:inference-profile/{SONNET}"),
        ] {
            assert_eq!(
                class_of(&raw),
                (PrimaryClass::MappingMiss, Some(SONNET.to_owned())),
                "{raw}"
            );
        }
    }

    #[test]
    fn models_the_map_does_not_route_through_a_profile_are_unmapped() {
        assert_eq!(
            class_of(HAIKU),
            (PrimaryClass::Unmapped, Some(HAIKU.to_owned()))
        );
        assert_eq!(
            class_of(NOVA),
            (PrimaryClass::Unmapped, Some("nova".to_owned()))
        );
        assert_eq!(
            class_of("meta.llama3-1-70b-instruct-v1:0"),
            (PrimaryClass::Unmapped, None)
        );
        assert_eq!(
            class_of("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghij12").0,
            PrimaryClass::Unmapped
        );
    }

    #[test]
    fn lines_that_are_not_records_are_malformed() {
        let map = sample_map();
        for line in [
            "",
            "not json",
            "[1,2]",
            r#"["a"]"#,
            "[\n\"- \"]",
            r#"["amazon.nova-pro-v1:0", "ModelInvocationLog"]"#,
            "{}",
            r#"{"modelId": 5}"#,
            r#"{"modelId": ""}"#,
            r#"{"modelId": null}"#,
            r#"{"schemaType":"SomethingElse","modelId":"amazon.nova-pro-v1:0"}"#,
            r#"{"modelId":"amazon.nova-pro-v1:0""#,
        ] {
            let c = classify(line, &map);
            assert_eq!(c.class, PrimaryClass::Malformed, "{line}");
            assert!(!c.region_violation && c.error.is_none());
        }
    }

    #[test]
    fn inference_region_outside_the_allow_list_is_flagged() {
        let map = sample_map();
        let out = classify(&record(ARN_A, r#","inferenceRegion":"eu-west-1""#), &map);
        assert!(out.region_violation);
        assert_eq!(
            out.class,
            PrimaryClass::Profiled,
            "the flag is independent of the class"
        );
        let inside = classify(&record(ARN_A, r#","inferenceRegion":"us-east-2""#), &map);
        assert!(!inside.region_violation);
        let absent = classify(&record(ARN_A, ""), &map);
        assert!(!absent.region_violation);
    }

    #[test]
    fn no_allow_list_means_no_region_violation() {
        let map = sample_map();
        let c = classify_with(
            &record(ARN_A, r#","inferenceRegion":"eu-west-1""#),
            &map,
            None,
        );
        assert!(!c.region_violation);
        let list = vec!["eu-west-1".to_owned()];
        let c = classify_with(
            &record(ARN_A, r#","inferenceRegion":"us-east-1""#),
            &map,
            Some(&list),
        );
        assert!(c.region_violation);
    }

    #[test]
    fn error_code_is_flagged_with_its_kind() {
        let map = sample_map();
        let c = classify(
            &record(HAIKU, r#","errorCode":"ThrottlingException""#),
            &map,
        );
        assert_eq!(c.error, Some(ErrorKind::Throttling));
        assert_eq!(c.class, PrimaryClass::Unmapped);
        let c = classify(&record(HAIKU, r#","errorCode":"""#), &map);
        assert_eq!(c.error, None);
    }

    #[test]
    fn error_codes_map_to_kinds_with_or_without_suffix() {
        let cases = [
            ("AccessDeniedException", ErrorKind::AccessDenied),
            ("AccessDenied", ErrorKind::AccessDenied),
            ("ResourceNotFoundException", ErrorKind::ResourceNotFound),
            ("ThrottlingException", ErrorKind::Throttling),
            ("TooManyRequestsException", ErrorKind::Throttling),
            ("429", ErrorKind::Throttling),
            (
                "ServiceQuotaExceededException",
                ErrorKind::ServiceQuotaExceeded,
            ),
            ("ValidationException", ErrorKind::Validation),
            ("ModelErrorException", ErrorKind::ModelError),
            ("ModelStreamErrorException", ErrorKind::ModelError),
            ("ModelTimeoutException", ErrorKind::ModelTimeout),
            ("ModelNotReadyException", ErrorKind::ModelNotReady),
            ("ServiceUnavailableException", ErrorKind::ServiceUnavailable),
            ("InternalServerException", ErrorKind::InternalServer),
            ("Weird", ErrorKind::Other("Weird".into())),
        ];
        for (code, kind) in cases {
            assert_eq!(ErrorKind::from_code(code), kind, "{code}");
        }
        assert_eq!(ErrorKind::Other("x".into()).as_str(), "other");
        assert_eq!(ErrorKind::Throttling.as_str(), "throttling");
    }

    #[test]
    fn classes_serialise_with_their_snake_case_names() {
        for class in PrimaryClass::ALL {
            assert_eq!(serde_json::to_value(class).unwrap(), class.as_str());
        }
        let c = classify(&record(ARN_A, ""), &sample_map());
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["class"], "profiled");
        assert_eq!(v["friendly_id"], SONNET);
    }

    #[test]
    fn record_with_a_converse_body_parses_fully() {
        let line = r#"{"timestamp":"2026-04-19T13:28:51Z","accountId":"123456789012","region":"us-west-2",
 "requestId":"7487ab04-734e-470b-8dfc-46d8d8506381","operation":"Converse",
 "modelId":"global.anthropic.claude-opus-4-5-20251101-v1:0",
 "input":{"inputContentType":"application/json","inputBodyJson":{"messages":[]},
          "inputTokenCount":255,"cacheReadInputTokenCount":0,"cacheWriteInputTokenCount":"7"},
 "output":{"outputContentType":"application/json",
           "outputBodyJson":{"output":{"message":{}},"stopReason":"end_turn","metrics":{"latencyMs":3114},
                             "usage":{"inputTokens":255,"outputTokens":113,"totalTokens":368}},
           "outputTokenCount":113},
 "identity":{"arn":"arn:aws:iam::123456789012:user/someone"},
 "inferenceRegion":"us-east-2","schemaType":"ModelInvocationLog","schemaVersion":"1.0",
 "somethingNew":{"nested":true}}"#;
        let r = parse_record(line).unwrap();
        assert_eq!(r.model_id, "global.anthropic.claude-opus-4-5-20251101-v1:0");
        assert_eq!(r.inference_region.as_deref(), Some("us-east-2"));
        let input = r.input.unwrap();
        assert_eq!(input.input_token_count, Some(255));
        assert_eq!(
            input.cache_write_input_token_count,
            Some(7),
            "numeric strings are read"
        );
        let output = r.output.unwrap();
        assert_eq!(output.output_token_count, Some(113));
        assert!(
            matches!(output.output_body_json, Some(OutputBody::Object(ref m)) if m["stopReason"] == "end_turn")
        );
        assert_eq!(
            r.identity.unwrap().arn.as_deref(),
            Some("arn:aws:iam::123456789012:user/someone")
        );
    }

    #[test]
    fn streamed_invoke_record_keeps_its_chunk_array() {
        let line = r#"{"schemaType":"ModelInvocationLog","modelId":"anthropic.claude-3-haiku-20240307-v1:0","operation":"InvokeModelWithResponseStream",
 "output":{"outputContentType":"application/json","outputBodyJson":[{"type":"message_start"},{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":571}}],"outputTokenCount":281}}"#;
        let r = parse_record(line).unwrap();
        match r.output.unwrap().output_body_json {
            Some(OutputBody::Chunks(v)) => assert_eq!(v.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn minimal_record_needs_only_a_model_id() {
        let r = parse_record(r#"{"modelId":"amazon.nova-pro-v1:0"}"#).unwrap();
        assert_eq!(r.model_id, NOVA);
        assert_eq!(r.input, None);
        assert_eq!(r.error_code, None);
    }

    #[test]
    fn parse_record_says_why_a_line_is_not_a_record() {
        assert!(matches!(parse_record("nope"), Err(LogError::NotJson(_))));
        assert!(matches!(parse_record("[]"), Err(LogError::NotJson(_))));
        assert_eq!(parse_record("{}"), Err(LogError::MissingModelId));
        assert_eq!(
            parse_record(r#"{"schemaType":"Other","modelId":"a.b"}"#),
            Err(LogError::WrongSchema("Other".into()))
        );
        assert!(matches!(
            parse_record(r#"{"modelId":"a.b","input":"not an object"}"#),
            Err(LogError::NotJson(_))
        ));
    }

    #[test]
    fn usage_tenant_region_and_caller_come_with_the_class() {
        let line = record(
            ARN_A,
            r#","identity":{"arn":"arn:aws:iam::123456789012:user\/dev"},"requestMetadata":{"tenant":"team-a","model":"x"},"input":{"inputBodyJson":{"messages":[{"role":"user","content":[{"text":"big"}]}]},"inputTokenCount":12,"cacheReadInputTokenCount":"5","cacheWriteInputTokenCount":2},"output":{"outputBodyJson":[{"a":1}],"outputTokenCount":7}"#,
        );
        let c = classify(&line, &sample_map());
        assert_eq!(c.class, PrimaryClass::Profiled);
        assert_eq!(
            c.usage,
            RecordUsage {
                tokens: TokenUsage {
                    input: 12,
                    output: 7,
                    cache_read: 5,
                    cache_write: 2
                },
                region: Some("us-east-1".into()),
                tenant: Some("team-a".into()),
                caller: Some("arn:aws:iam::123456789012:user/dev".into()),
            }
        );
        // Odd shapes of these fields lose the field, never the record.
        for odd in [
            r#","input":"x","output":[1],"requestMetadata":"t","identity":7"#,
            r#","input":{"inputTokenCount":{"n":1}},"requestMetadata":{"tenant":["a"]},"identity":{"arn":null}"#,
        ] {
            let c = classify(&record(ARN_A, odd), &sample_map());
            assert_eq!(c.class, PrimaryClass::Profiled, "{odd}");
            assert_eq!(c.usage.tokens, TokenUsage::default(), "{odd}");
            assert_eq!((c.usage.tenant, c.usage.caller), (None, None), "{odd}");
        }
    }

    #[test]
    fn escaped_model_id_is_still_classified() {
        // JSON may escape `/`; the borrowed path must fall back to an owned string.
        let line = record(&ARN_A.replace('/', "\\/"), "");
        assert_eq!(classify(&line, &sample_map()).class, PrimaryClass::Profiled);
    }

    #[test]
    fn a_large_batch_is_counted_exactly_per_class() {
        let map = sample_map();
        let foreign = ARN_A.replace("abcdefghij12", "qqqqqqqqqqqq");
        let lines: Vec<(String, PrimaryClass)> = (0..20_000)
            .map(|i| match i % 5 {
                0 => (
                    record(ARN_A, r#","inferenceRegion":"us-east-2""#),
                    PrimaryClass::Profiled,
                ),
                1 => (record(SONNET, ""), PrimaryClass::MappingMiss),
                2 => (
                    record(HAIKU, r#","errorCode":"ValidationException""#),
                    PrimaryClass::Unmapped,
                ),
                3 => (record(&foreign, ""), PrimaryClass::UnknownProfile),
                _ => ("{\"truncated\": ".to_owned(), PrimaryClass::Malformed),
            })
            .collect();
        let started = std::time::Instant::now();
        let mut counts: std::collections::HashMap<PrimaryClass, usize> = Default::default();
        for (line, want) in &lines {
            let c = classify(line, &map);
            assert_eq!(c.class, *want);
            *counts.entry(c.class).or_default() += 1;
        }
        eprintln!(
            "classified {} lines in {:?}",
            lines.len(),
            started.elapsed()
        );
        assert!(
            PrimaryClass::ALL.iter().all(|c| counts[c] == 4_000),
            "{counts:?}"
        );
    }
}
