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
use shared::invocation_log::{ErrorKind, PrimaryClass, classify};
use shared::prices::{Cost, PriceTable};
use shared::profile_map::ProfileMap;

use crate::doctor::ControlPlane;

use crate::observe::{Class, Classifier, METADATA_MAX, Observation, truncate};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
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

/// Classifies records with the shared classifier (`shared::invocation_log::classify`), then,
/// only for records that are not clean profiled calls, reads the few extra fields the findings
/// need (caller, request metadata, the raw error code and message). Clean traffic, the bulk of a
/// healthy account's logs, is parsed once.
pub struct ConfigClassifier {
    map: ProfileMap,
    /// Prices every record, exactly as the router prices its answers.
    prices: PriceTable,
}

impl ConfigClassifier {
    pub fn new(config: &ProfileConfig) -> Self {
        Self::with_map(ProfileMap::new(config))
    }

    /// Uses a map that may have learned the models behind its profiles (see
    /// [`learn_profile_models`]), so raw calls to those models count as mapping misses.
    pub fn with_map(map: ProfileMap) -> Self {
        ConfigClassifier {
            map,
            prices: PriceTable::built_in(),
        }
    }

    /// Prices records with `prices` (the built-in table with the document's `prices:` over
    /// it) instead of the built-in table alone.
    pub fn with_prices(mut self, prices: PriceTable) -> Self {
        self.prices = prices;
        self
    }

    pub fn map(&self) -> &ProfileMap {
        &self.map
    }
}

fn class_from(c: PrimaryClass) -> Class {
    match c {
        PrimaryClass::Profiled => Class::Profiled,
        PrimaryClass::MappingMiss => Class::MappingMiss,
        PrimaryClass::Unmapped => Class::Unmapped,
        PrimaryClass::UnknownProfile => Class::UnknownProfile,
        PrimaryClass::Malformed => Class::Malformed,
    }
}

impl Classifier for ConfigClassifier {
    fn observe(&self, message: &str) -> Observation {
        let c = classify(message, &self.map);
        let class = class_from(c.class);
        if class == Class::Malformed {
            return Observation::malformed();
        }
        let priced_model = shared::prices::model_under(
            c.friendly_id.as_deref(),
            &c.model_id,
            self.map.learned_model(&c.model_id),
        )
        .map(str::to_owned);
        let cost = match (&priced_model, &c.usage.region) {
            (Some(model), Some(region)) => self.prices.cost(&c.usage.tokens, model, region),
            _ => Cost::Unpriced {
                tokens: c.usage.tokens,
            },
        };
        let mut o = Observation {
            cost: Some(cost),
            class: Some(class),
            model_id: Some(truncate(&c.model_id, 2048)),
            priced_model,
            usage: c.usage,
            friendly_id: c.friendly_id,
            region_violation: c.region_violation,
            error_code: c.error.as_ref().map(|k| match k {
                ErrorKind::Other(code) => truncate(code, 128),
                known => known.as_str().to_string(),
            }),
            ..Observation::default()
        };
        if class == Class::Profiled && !o.region_violation && o.error_code.is_none() {
            return o;
        }
        // The shared classifier accepted the line, so this parse succeeds unless a field the
        // findings need has an unexpected type; then the record is still counted, with less detail.
        let Ok(record) = serde_json::from_str::<Record>(message) else {
            return o;
        };
        o.inference_region = record.inference_region.map(|r| truncate(&r, 32));
        if let Some(code) = record.error_code.filter(|c| !c.trim().is_empty()) {
            o.error_code = Some(truncate(code.trim(), 128));
        }
        let output_message = record
            .output
            .and_then(|o| o.output_body_json)
            .and_then(|m| m.0);
        o.marketplace_hint = o.error_code.is_some()
            && [record.error_message.as_deref(), output_message.as_deref()]
                .into_iter()
                .flatten()
                .any(|m| m.to_ascii_lowercase().contains("marketplace"));
        o.caller = record
            .identity
            .and_then(|i| i.arn)
            .map(|a| truncate(&a, 256));
        o.request_metadata = record
            .request_metadata
            .filter(|m| !m.is_null())
            .map(|m| truncate(&m.to_string(), METADATA_MAX));
        o
    }
}

/// Asks Bedrock which foundation models each mapped application profile runs and teaches the
/// map, so a raw call to such a model is a mapping miss even when the friendly ID is a plain
/// name. A profile that cannot be read is skipped here; the doctor reports it.
pub async fn learn_profile_models<P: ControlPlane>(map: &mut ProfileMap, cp: &P) {
    let arns: Vec<String> = map.profile_arns().map(str::to_string).collect();
    for arn in arns {
        let Ok(ModelRef::AppProfileArn(profile)) = ModelRef::parse(&arn) else {
            continue;
        };
        match cp.get_inference_profile(&profile.region, &arn).await {
            Ok(info) => {
                for model_arn in info.model_arns {
                    if let Ok(m) = ModelRef::parse(&model_arn)
                        && let Some(fm) = m.foundation_model()
                    {
                        map.learn_profile_model(&profile, fm);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(profile = %arn, code = %e.code, "cannot read the profile's models");
            }
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
            o.caller, None,
            "clean profiled traffic is parsed once, callers are not needed"
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
            "{\"modelId\":\"x\"",
            "\u{0}\u{ffff}",
        ] {
            assert_eq!(c.observe(bad).class(), Class::Malformed, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_raw_call_to_a_profiles_learned_model_is_a_mapping_miss() {
        let yaml = format!(
            "models: [sonnet]\ninferenceProfiles:\n  sonnet: {APP}\ndefaultRegion: us-east-1\n"
        );
        let config = ProfileConfig::parse(&yaml, |_| None).unwrap();
        let cp = crate::fake::FakeControlPlane::default();
        cp.profiles.lock().unwrap().insert(
            APP.to_string(),
            crate::doctor::ProfileInfo {
                status: "ACTIVE".into(),
                kind: "APPLICATION".into(),
                model_arns: vec!["arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0".into()],
            },
        );
        let raw = record("anthropic.claude-3-7-sonnet-20250219-v1:0").to_string();
        assert_eq!(
            ConfigClassifier::new(&config).observe(&raw).class(),
            Class::Unmapped
        );
        let mut map = ProfileMap::new(&config);
        learn_profile_models(&mut map, &cp).await;
        let o = ConfigClassifier::with_map(map).observe(&raw);
        assert_eq!(o.class(), Class::MappingMiss);
        assert_eq!(o.friendly_id.as_deref(), Some("sonnet"));
    }

    #[test]
    fn prompt_text_is_never_kept() {
        let o = classifier().observe(&record(SONNET).to_string());
        assert!(!format!("{o:?}").contains("secret prompt"));
    }
}
