//! Reading one invocation-log record into an [`Observation`].
//!
//! Only the fields the report needs are decoded; the request and response bodies (the bulk of a
//! record, and the prompt text) are skipped without being kept, so classification costs little
//! memory per record and never holds prompt or completion text.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use shared::arn::ModelRef;
use shared::config::ProfileConfig;

use crate::observe::{Class, Classifier, METADATA_MAX, Observation, truncate};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    #[serde(borrow, default)]
    model_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    schema_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    region: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    inference_region: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error_message: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    identity: Option<Identity<'a>>,
    #[serde(default)]
    request_metadata: Option<serde_json::Value>,
    #[serde(default)]
    output: Option<Output>,
}

#[derive(Deserialize)]
struct Identity<'a> {
    #[serde(borrow, default)]
    arn: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Output {
    #[serde(default)]
    output_body_json: Option<MessageOnly>,
}

/// The `message` of a JSON object body (where error responses put the reason), skipping
/// everything else, whatever its shape (stream chunks are an array).
struct MessageOnly(Option<String>);

impl<'de> Deserialize<'de> for MessageOnly {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MessageOnly;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MessageOnly, A::Error> {
                let mut message = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "message" || key == "Message" {
                        let v: serde_json::Value = map.next_value()?;
                        message = v.as_str().map(|s| truncate(s, 512));
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(MessageOnly(message))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MessageOnly, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MessageOnly(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<MessageOnly, E> {
                Ok(MessageOnly(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<MessageOnly, E> {
                Ok(MessageOnly(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<MessageOnly, E> {
                Ok(MessageOnly(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<MessageOnly, E> {
                Ok(MessageOnly(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<MessageOnly, E> {
                Ok(MessageOnly(None))
            }
            fn visit_unit<E>(self) -> Result<MessageOnly, E> {
                Ok(MessageOnly(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Classifies records against the profile config.
pub struct ConfigClassifier {
    /// (friendly ID, parsed friendly ID when it is itself a Bedrock ID, mapped target).
    mapped: Vec<(String, Option<ModelRef>, ModelRef)>,
    models: Vec<String>,
    allowed: Option<Vec<String>>,
}

impl ConfigClassifier {
    pub fn new(config: &ProfileConfig) -> Self {
        ConfigClassifier {
            mapped: config
                .inference_profiles
                .iter()
                .map(|(k, v)| (k.clone(), ModelRef::parse(k).ok(), v.clone()))
                .collect(),
            models: config.models.clone(),
            allowed: config.allowed_inference_regions.clone(),
        }
    }

    fn class_of(&self, model_id: &str) -> (Class, Option<String>) {
        let Ok(called) = ModelRef::parse(model_id) else {
            // Bedrock refused it, but the call happened: it went through no profile.
            return (Class::Unmapped, self.listed(model_id));
        };
        if let Some((friendly, _, _)) = self
            .mapped
            .iter()
            .find(|(_, _, target)| target.same_target(&called))
        {
            return (Class::Profiled, Some(friendly.clone()));
        }
        if called.app_profile().is_some() {
            return (Class::UnknownProfile, None);
        }
        if let Some((friendly, _, _)) = self.mapped.iter().find(|(friendly, key, target)| {
            let routes_elsewhere = !key.as_ref().is_some_and(|k| k.same_target(target));
            routes_elsewhere
                && (friendly == model_id || key.as_ref().is_some_and(|k| k.same_target(&called)))
        }) {
            return (Class::MappingMiss, Some(friendly.clone()));
        }
        (Class::Unmapped, self.listed(model_id))
    }

    fn listed(&self, model_id: &str) -> Option<String> {
        self.models.iter().find(|m| *m == model_id).cloned()
    }
}

impl Classifier for ConfigClassifier {
    fn observe(&self, message: &str) -> Observation {
        let Ok(record) = serde_json::from_str::<Record>(message) else {
            return Observation::malformed();
        };
        let Some(model_id) = record.model_id.filter(|m| !m.is_empty()) else {
            return Observation::malformed();
        };
        if record
            .schema_type
            .as_deref()
            .is_some_and(|s| s != "ModelInvocationLog")
        {
            return Observation::malformed();
        }
        let (class, friendly_id) = self.class_of(&model_id);
        let served = record.inference_region.or(record.region);
        let region_violation = match (&self.allowed, &served) {
            (Some(allowed), Some(r)) => !allowed.iter().any(|a| a == r.as_ref()),
            _ => false,
        };
        let error_code = record
            .error_code
            .filter(|c| !c.is_empty())
            .map(|c| truncate(&c, 128));
        let output_message = record
            .output
            .and_then(|o| o.output_body_json)
            .and_then(|m| m.0);
        let marketplace_hint = error_code.is_some()
            && [record.error_message.as_deref(), output_message.as_deref()]
                .into_iter()
                .flatten()
                .any(|m| m.to_ascii_lowercase().contains("marketplace"));
        Observation {
            class: Some(class),
            model_id: Some(truncate(&model_id, 2048)),
            friendly_id,
            region_violation,
            inference_region: served.map(|r| truncate(&r, 32)),
            error_code,
            marketplace_hint,
            caller: record
                .identity
                .and_then(|i| i.arn)
                .map(|a| truncate(&a, 256)),
            request_metadata: record
                .request_metadata
                .filter(|m| !m.is_null())
                .map(|m| truncate(&m.to_string(), METADATA_MAX)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const APP: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123def456";
    const OTHER_APP: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/zzz999zzz999";
    const SONNET: &str = "us.anthropic.claude-3-7-sonnet-20250219-v1:0";

    fn classifier() -> ConfigClassifier {
        let yaml = format!(
            "models: [\"{SONNET}\", \"amazon.nova-pro-v1:0\"]\ninferenceProfiles:\n  \"{SONNET}\": {APP}\nallowedInferenceRegions: [us-east-1, us-east-2]\ndefaultRegion: us-east-1\n"
        );
        ConfigClassifier::new(&ProfileConfig::parse(&yaml, |_| None).unwrap())
    }

    fn record(model: &str) -> serde_json::Value {
        json!({"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"2026-11-27T10:00:00Z",
            "accountId":"123456789012","identity":{"arn":"arn:aws:iam::123456789012:user/dev"},
            "region":"us-east-1","requestId":"r","operation":"Converse","modelId":model,
            "input":{"inputContentType":"application/json","inputBodyJson":{"messages":[{"role":"user","content":[{"text":"secret prompt"}]}]},"inputTokenCount":3},
            "output":{"outputContentType":"application/json","outputBodyJson":{"output":{"message":{"role":"assistant","content":[{"text":"hi"}]}}},"outputTokenCount":1},
            "inferenceRegion":"us-east-2"})
    }

    #[test]
    fn the_mapped_profile_arn_is_profiled_under_its_friendly_id() {
        let o = classifier().observe(&record(APP).to_string());
        assert_eq!(o.class(), Class::Profiled);
        assert_eq!(o.friendly_id.as_deref(), Some(SONNET));
        assert!(!o.region_violation);
        assert_eq!(
            o.caller.as_deref(),
            Some("arn:aws:iam::123456789012:user/dev")
        );
    }

    #[test]
    fn the_raw_id_of_a_mapped_model_is_a_mapping_miss() {
        let c = classifier();
        assert_eq!(
            c.observe(&record(SONNET).to_string()).class(),
            Class::MappingMiss
        );
        let arn = format!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/{SONNET}");
        assert_eq!(
            c.observe(&record(&arn).to_string()).class(),
            Class::MappingMiss
        );
    }

    #[test]
    fn other_models_and_profiles_are_unmapped_or_unknown() {
        let c = classifier();
        let o = c.observe(&record("amazon.nova-pro-v1:0").to_string());
        assert_eq!(o.class(), Class::Unmapped);
        assert_eq!(o.friendly_id.as_deref(), Some("amazon.nova-pro-v1:0"));
        assert_eq!(
            c.observe(&record(OTHER_APP).to_string()).class(),
            Class::UnknownProfile
        );
        assert_eq!(
            c.observe(&record("not a model!").to_string()).class(),
            Class::Unmapped
        );
    }

    #[test]
    fn inference_outside_the_allow_list_is_flagged() {
        let mut r = record(APP);
        r["inferenceRegion"] = json!("us-west-2");
        let o = classifier().observe(&r.to_string());
        assert!(o.region_violation);
        assert_eq!(o.inference_region.as_deref(), Some("us-west-2"));
    }

    #[test]
    fn marketplace_access_denied_is_recognised_from_the_error_body() {
        let mut r = record(APP);
        r["errorCode"] = json!("AccessDeniedException");
        r["output"] = json!({"outputBodyJson":{"message":"Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions"}});
        let o = classifier().observe(&r.to_string());
        assert_eq!(o.error_code.as_deref(), Some("AccessDeniedException"));
        assert!(o.marketplace_hint);
    }

    #[test]
    fn stream_outputs_as_arrays_do_not_make_a_record_malformed() {
        let mut r = record(APP);
        r["output"] = json!({"outputBodyJson":[{"type":"message_start"},{"type":"message_stop"}]});
        assert_eq!(
            classifier().observe(&r.to_string()).class(),
            Class::Profiled
        );
    }

    #[test]
    fn anything_unreadable_is_malformed_and_never_panics() {
        let c = classifier();
        for bad in [
            "",
            "not json",
            "[1,2]",
            "null",
            "{}",
            "{\"modelId\":5}",
            "{\"modelId\":\"\"}",
            "{\"modelId\":\"x\",\"schemaType\":\"Other\"}",
            "{\"modelId\":\"x\",\"identity\":\"me\"}",
            "{\"modelId\":\"x\"",
            "\u{0}\u{ffff}",
        ] {
            assert_eq!(c.observe(bad).class(), Class::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn prompt_text_is_never_kept() {
        let o = classifier().observe(&record(SONNET).to_string());
        assert!(!format!("{o:?}").contains("secret prompt"));
    }
}
