//! Typed resource properties, parsed from `ResourceProperties` after the envelope is safe.
//! Templates deliver every scalar as a string (`"true"`, `"5"`), so strings are the norm here.

use serde_json::{Map, Value};
use shared::arn::ModelRef;
use shared::json::type_name;

use crate::Error;
use crate::control::LoggingConfig;

/// Properties CloudFormation itself puts into `ResourceProperties`.
const ALWAYS_ALLOWED: &[&str] = &["ServiceToken", "ServiceTimeout"];

/// Tag key the provisioner puts on every profile it creates, valued with the create request's
/// token: the proof that a profile found under a clashing name was made by that very request.
pub const OWNER_TAG_KEY: &str = "bedrock-provisioner:request-token";

/// Bedrock allows 200 tags; one is the ownership tag.
const MAX_USER_TAGS: usize = 199;

/// The properties of `Custom::BedrockInferenceProfile`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileProps {
    pub name: Option<String>,
    pub description: Option<String>,
    pub model_source: ModelRef,
    /// As written in the template, for messages.
    pub model_source_text: String,
    pub tags: Vec<(String, String)>,
    pub check_model_access: bool,
}

/// The properties of `Custom::BedrockInvocationLogging`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggingProps {
    pub config: LoggingConfig,
    pub replace_existing: bool,
}

/// `ResourceProperties` (or `OldResourceProperties`) as an object; absent means empty.
pub fn object(event: &Value, field: &str) -> Result<Map<String, Value>, Error> {
    match event.get(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(other) => Err(Error::Properties(format!(
            "{field} must be an object, got {}",
            type_name(other)
        ))),
    }
}

impl ProfileProps {
    pub fn parse(map: &Map<String, Value>) -> Result<ProfileProps, Error> {
        check_known(
            map,
            &[
                "ProfileName",
                "Description",
                "ModelSource",
                "Tags",
                "CheckModelAccess",
            ],
        )?;
        let name = string(map, "ProfileName")?.filter(|s| !s.is_empty());
        if let Some(name) = &name {
            validate_name(name)?;
        }
        let description = string(map, "Description")?.filter(|s| !s.is_empty());
        if let Some(d) = &description {
            validate_description(d)?;
        }
        // Unlike a name, a model source is never a number: one is a mistake, not a template
        // scalar, and it should be named as such instead of reaching Bedrock.
        let model_source_text = match map.get("ModelSource") {
            Some(v @ Value::Number(_)) => {
                return Err(Error::Properties(format!(
                    "ModelSource must be a string, got {}",
                    type_name(v)
                )));
            }
            _ => string(map, "ModelSource")?,
        }
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::Properties(
                "ModelSource is required: a system inference-profile ID such as \
                     `us.anthropic.claude-3-7-sonnet-20250219-v1:0`, a foundation-model ID, or a \
                     foundation-model / inference-profile ARN"
                    .into(),
            )
        })?;
        let model_source = ModelRef::parse(&model_source_text)
            .map_err(|e| Error::Properties(format!("ModelSource: {e}")))?;
        if let ModelRef::AppProfileArn(_) = model_source {
            return Err(Error::Properties(format!(
                "ModelSource `{model_source_text}` is an application inference profile; Bedrock \
                 cannot copy from one. Use the model or system profile it was made from"
            )));
        }
        let tags = tags(map, "Tags")?;
        let check_model_access = boolean(map, "CheckModelAccess", true)?;
        Ok(ProfileProps {
            name,
            description,
            model_source,
            model_source_text,
            tags,
            check_model_access,
        })
    }
}

impl LoggingProps {
    pub fn parse(map: &Map<String, Value>) -> Result<LoggingProps, Error> {
        check_known(
            map,
            &[
                "LogGroupName",
                "RoleArn",
                "LargeDataBucket",
                "LargeDataKeyPrefix",
                "S3Bucket",
                "S3KeyPrefix",
                "TextDataDeliveryEnabled",
                "ImageDataDeliveryEnabled",
                "EmbeddingDataDeliveryEnabled",
                "VideoDataDeliveryEnabled",
                "AudioDataDeliveryEnabled",
                "ReplaceExisting",
            ],
        )?;
        let required = |key: &str| -> Result<String, Error> {
            string(map, key)?
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::Properties(format!("{key} is required")))
        };
        let log_group_name = required("LogGroupName")?;
        if log_group_name.chars().count() > 512 {
            return Err(Error::Properties(
                "LogGroupName is longer than 512 characters".into(),
            ));
        }
        let role_arn = required("RoleArn")?;
        validate_role_arn(&role_arn)?;
        let large_data_bucket = bucket(map, "LargeDataBucket")?;
        let large_data_key_prefix = prefix(
            map,
            "LargeDataKeyPrefix",
            "LargeDataBucket",
            &large_data_bucket,
        )?;
        let s3_bucket = bucket(map, "S3Bucket")?;
        let s3_key_prefix = prefix(map, "S3KeyPrefix", "S3Bucket", &s3_bucket)?;
        let config = LoggingConfig {
            log_group_name,
            role_arn,
            large_data_bucket,
            large_data_key_prefix,
            s3_bucket,
            s3_key_prefix,
            text: boolean(map, "TextDataDeliveryEnabled", true)?,
            image: boolean(map, "ImageDataDeliveryEnabled", false)?,
            embedding: boolean(map, "EmbeddingDataDeliveryEnabled", false)?,
            video: boolean(map, "VideoDataDeliveryEnabled", false)?,
            audio: boolean(map, "AudioDataDeliveryEnabled", false)?,
        };
        Ok(LoggingProps {
            config,
            replace_existing: boolean(map, "ReplaceExisting", false)?,
        })
    }
}

fn check_known(map: &Map<String, Value>, known: &[&str]) -> Result<(), Error> {
    let mut unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k) && !ALWAYS_ALLOWED.contains(k))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(Error::Properties(format!(
            "unknown propert{} {}; allowed: {}",
            if unknown.len() == 1 { "y" } else { "ies" },
            unknown.join(", "),
            known.join(", ")
        )));
    }
    if let Some(v) = map.get("ServiceTimeout") {
        let text = scalar_text(v).ok_or_else(|| {
            Error::Properties(format!(
                "ServiceTimeout must be a number of seconds, got {}",
                type_name(v)
            ))
        })?;
        match text.trim().parse::<u64>() {
            Ok(1..=3600) => {}
            _ => {
                return Err(Error::Properties(format!(
                    "ServiceTimeout must be a whole number of seconds from 1 to 3600, got {text:?}"
                )));
            }
        }
    }
    Ok(())
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A string property; numbers are accepted as their text (a template may hold `Name: 2024`).
fn string(map: &Map<String, Value>, key: &str) -> Result<Option<String>, Error> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(Error::Properties(format!(
            "{key} must be a string, got {}",
            type_name(other)
        ))),
    }
}

/// A boolean property: `"true"` / `"false"` (any case) as CloudFormation sends them, or a JSON
/// boolean.
fn boolean(map: &Map<String, Value>, key: &str, default: bool) -> Result<bool, Error> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(Value::String(s)) if s.is_empty() => Ok(default),
        Some(other) => Err(Error::Properties(format!(
            "{key} must be \"true\" or \"false\", got {}",
            match other {
                Value::String(s) => format!("{s:?}"),
                v => type_name(v).to_owned(),
            }
        ))),
    }
}

/// Tags: a list of `{Key, Value}` (the CloudFormation convention), or an object of key to value.
fn tags(map: &Map<String, Value>, key: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out: Vec<(String, String)> = Vec::new();
    match map.get(key) {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::String(s)) if s.is_empty() => return Ok(out),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let Value::Object(tag) = item else {
                    return Err(Error::Properties(format!(
                        "{key}[{i}] must be an object with Key and Value, got {}",
                        type_name(item)
                    )));
                };
                let k = tag
                    .get("Key")
                    .and_then(scalar_text)
                    .ok_or_else(|| Error::Properties(format!("{key}[{i}] has no string Key")))?;
                let v = match tag.get("Value") {
                    None | Some(Value::Null) => String::new(),
                    Some(v) => scalar_text(v).ok_or_else(|| {
                        Error::Properties(format!("{key}[{i}].Value must be a string"))
                    })?,
                };
                out.push((k, v));
            }
        }
        Some(Value::Object(pairs)) => {
            for (k, v) in pairs {
                let v = scalar_text(v)
                    .ok_or_else(|| Error::Properties(format!("{key}.{k} must be a string")))?;
                out.push((k.clone(), v));
            }
        }
        Some(other) => {
            return Err(Error::Properties(format!(
                "{key} must be a list of {{Key, Value}}, got {}",
                type_name(other)
            )));
        }
    }
    if out.len() > MAX_USER_TAGS {
        return Err(Error::Properties(format!(
            "{key} has {} tags; at most {MAX_USER_TAGS} are allowed",
            out.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for (k, v) in &out {
        if k == OWNER_TAG_KEY {
            return Err(Error::Properties(format!(
                "tag key {OWNER_TAG_KEY} is reserved for the provisioner"
            )));
        }
        if !seen.insert(k.as_str()) {
            return Err(Error::Properties(format!("tag key {k:?} appears twice")));
        }
        let tag_char =
            |c: char| c.is_ascii_alphanumeric() || c.is_whitespace() || "._:/=+@-".contains(c);
        if k.is_empty() || k.chars().count() > 128 || !k.chars().all(tag_char) {
            return Err(Error::Properties(format!(
                "tag key {k:?} must be 1-128 characters of letters, digits, spaces and ._:/=+@-"
            )));
        }
        if v.chars().count() > 256 || !v.chars().all(tag_char) {
            return Err(Error::Properties(format!(
                "tag value {v:?} (key {k:?}) must be at most 256 characters of letters, digits, spaces and ._:/=+@-"
            )));
        }
    }
    Ok(out)
}

/// `([0-9a-zA-Z][ _-]?)+` with `main` as the extra leading characters: each separator must
/// follow a non-separator.
fn matches_separated(s: &str, extra_main: &str) -> bool {
    let mut previous_was_main = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || extra_main.contains(c) {
            previous_was_main = true;
        } else if " _-".contains(c) && previous_was_main {
            previous_was_main = false;
        } else {
            return false;
        }
    }
    !s.is_empty()
}

/// Whether `name` is a valid inference-profile name (1-64, `([0-9a-zA-Z][ _-]?)+`).
pub fn is_valid_profile_name(name: &str) -> bool {
    name.len() <= 64 && matches_separated(name, "")
}

fn validate_name(name: &str) -> Result<(), Error> {
    if is_valid_profile_name(name) {
        Ok(())
    } else {
        Err(Error::Properties(format!(
            "ProfileName {name:?} must be 1-64 letters or digits, each optionally followed by one \
             space, '_' or '-' (no leading or doubled separators)"
        )))
    }
}

fn validate_description(d: &str) -> Result<(), Error> {
    if d.len() <= 200 && matches_separated(d, ":.") {
        Ok(())
    } else {
        Err(Error::Properties(format!(
            "Description {d:?} must be 1-200 characters: letters, digits, ':' or '.', each \
             optionally followed by one space, '_' or '-'"
        )))
    }
}

fn validate_role_arn(arn: &str) -> Result<(), Error> {
    let bad = || {
        Error::Properties(format!(
            "RoleArn {arn:?} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
        ))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [a, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(bad());
    };
    let partition_ok = *partition == "aws" || partition.starts_with("aws-");
    let account_ok =
        account.is_empty() || (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()));
    let resource_ok = resource
        .strip_prefix("role/")
        .is_some_and(|r| !r.is_empty());
    if *a == "arn"
        && partition_ok
        && *service == "iam"
        && region.is_empty()
        && account_ok
        && resource_ok
    {
        Ok(())
    } else {
        Err(bad())
    }
}

fn bucket(map: &Map<String, Value>, key: &str) -> Result<Option<String>, Error> {
    let value = string(map, key)?.filter(|s| !s.is_empty());
    if let Some(b) = &value
        && !(3..=63).contains(&b.len())
    {
        return Err(Error::Properties(format!(
            "{key} {b:?} must be an S3 bucket name of 3-63 characters"
        )));
    }
    Ok(value)
}

fn prefix(
    map: &Map<String, Value>,
    key: &str,
    bucket_key: &str,
    bucket: &Option<String>,
) -> Result<Option<String>, Error> {
    let value = string(map, key)?.filter(|s| !s.is_empty());
    if let Some(p) = &value {
        if bucket.is_none() {
            return Err(Error::Properties(format!(
                "{key} is set but {bucket_key} is not; a key prefix needs a bucket"
            )));
        }
        if p.len() > 1024 {
            return Err(Error::Properties(format!(
                "{key} is longer than 1024 characters"
            )));
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn string_properties_parse_into_a_profile() {
        let p = ProfileProps::parse(&map(json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:p",
            "ServiceTimeout": "300",
            "ProfileName": "team-a",
            "Description": "Team A: chat",
            "ModelSource": "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "Tags": [{"Key": "team", "Value": "a"}],
            "CheckModelAccess": "false",
        })))
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("team-a"));
        assert!(!p.check_model_access);
        assert_eq!(p.tags, vec![("team".into(), "a".into())]);
        assert!(matches!(p.model_source, ModelRef::SystemProfile(_)));
    }

    #[test]
    fn unknown_properties_are_named_but_service_token_and_timeout_are_allowed() {
        let err = ProfileProps::parse(&map(json!({
            "ServiceToken": "x", "ModelSource": "anthropic.claude-v2", "Colour": "red", "Bogus": "1"
        })))
        .unwrap_err()
        .to_string();
        assert!(err.contains("Bogus, Colour"), "{err}");
        assert!(!err.contains("ServiceToken,"), "{err}");
    }

    #[test]
    fn service_timeout_out_of_range_is_rejected() {
        for bad in [json!("0"), json!("3601"), json!("soon"), json!([1])] {
            let err = ProfileProps::parse(&map(json!({
                "ModelSource": "anthropic.claude-v2", "ServiceTimeout": bad
            })))
            .unwrap_err();
            assert!(err.to_string().contains("ServiceTimeout"), "{err}");
        }
    }

    #[test]
    fn booleans_arrive_as_strings_and_garbage_is_rejected() {
        let parse = |v: Value| {
            ProfileProps::parse(&map(
                json!({"ModelSource": "anthropic.claude-v2", "CheckModelAccess": v}),
            ))
        };
        assert!(parse(json!("TRUE")).unwrap().check_model_access);
        assert!(!parse(json!(false)).unwrap().check_model_access);
        let err = parse(json!("yes")).unwrap_err().to_string();
        assert!(
            err.contains("CheckModelAccess") && err.contains("\"yes\""),
            "{err}"
        );
    }

    #[test]
    fn properties_of_the_wrong_type_are_named() {
        let cases = [
            (
                json!({"ModelSource": {"CopyFrom": "x"}}),
                "ModelSource must be a string",
            ),
            (json!({"ModelSource": 42.5}), "ModelSource must be a string"),
            (
                json!({"ModelSource": "anthropic.claude-v2", "Tags": "team=a"}),
                "Tags must be a list",
            ),
            (
                json!({"ModelSource": "anthropic.claude-v2", "Tags": ["a"]}),
                "Tags[0]",
            ),
            (
                json!({"ModelSource": "anthropic.claude-v2", "ProfileName": ["a"]}),
                "ProfileName must be a string",
            ),
        ];
        for (props, expected) in cases {
            let err = ProfileProps::parse(&map(props)).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} lacks {expected}");
        }
    }

    #[test]
    fn tags_as_an_object_are_accepted() {
        let p = ProfileProps::parse(&map(
            json!({"ModelSource": "anthropic.claude-v2", "Tags": {"a": "1"}}),
        ))
        .unwrap();
        assert_eq!(p.tags, vec![("a".into(), "1".into())]);
    }

    #[test]
    fn the_ownership_tag_key_is_reserved() {
        let err = ProfileProps::parse(&map(json!({
            "ModelSource": "anthropic.claude-v2", "Tags": [{"Key": OWNER_TAG_KEY, "Value": "x"}]
        })))
        .unwrap_err();
        assert!(err.to_string().contains("reserved"));
    }

    #[test]
    fn missing_model_source_says_what_is_expected() {
        let err = ProfileProps::parse(&Map::new()).unwrap_err().to_string();
        assert!(err.contains("ModelSource is required"), "{err}");
    }

    #[test]
    fn application_profile_as_source_is_refused() {
        let err = ProfileProps::parse(&map(json!({
            "ModelSource": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12"
        })))
        .unwrap_err()
        .to_string();
        assert!(err.contains("cannot copy"), "{err}");
    }

    #[test]
    fn profile_names_follow_the_bedrock_pattern() {
        assert!(is_valid_profile_name("a b_c-d"));
        assert!(is_valid_profile_name("x-"));
        assert!(!is_valid_profile_name("-x"));
        assert!(!is_valid_profile_name("a--b"));
        assert!(!is_valid_profile_name("a.b"));
        assert!(!is_valid_profile_name(&"a".repeat(65)));
        assert!(!is_valid_profile_name(""));
    }

    #[test]
    fn logging_properties_parse_with_defaults() {
        let p = LoggingProps::parse(&map(json!({
            "LogGroupName": "/bedrock/invocations",
            "RoleArn": "arn:aws:iam::123456789012:role/bedrock-logging",
            "ImageDataDeliveryEnabled": "true",
        })))
        .unwrap();
        assert!(p.config.text && p.config.image && !p.config.video);
        assert!(!p.replace_existing);
    }

    #[test]
    fn logging_requires_group_and_role_and_a_real_role_arn() {
        let err = LoggingProps::parse(&map(json!({"RoleArn": "arn:aws:iam::123456789012:role/r"})))
            .unwrap_err();
        assert!(err.to_string().contains("LogGroupName is required"));
        let err = LoggingProps::parse(&map(
            json!({"LogGroupName": "g", "RoleArn": "arn:aws:s3:::b"}),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("not an IAM role ARN"));
        let err = LoggingProps::parse(&map(json!({
            "LogGroupName": "g", "RoleArn": "arn:aws:iam::123456789012:role/r", "S3KeyPrefix": "p/"
        })))
        .unwrap_err();
        assert!(err.to_string().contains("needs a bucket"));
    }

    #[test]
    fn non_object_properties_are_an_error() {
        let err = object(&json!({"ResourceProperties": "x"}), "ResourceProperties").unwrap_err();
        assert!(err.to_string().contains("must be an object"));
        assert!(object(&json!({}), "ResourceProperties").unwrap().is_empty());
    }
}
