//! `invocation_log`: `shared::invocation_log::{parse_record, classify}` on arbitrary lines,
//! against a fixed small profile map (two application profiles, one learned model behind a
//! profile, a model served under its own ID, a system profile, an inference-region
//! allow-list).
//!
//! Invariants: neither function panics; a record gets exactly one of the documented primary
//! classes, decided here independently from the table in `shared::invocation_log`'s docs
//! (`profiled`, `mapping_miss`, `unmapped`, `unknown_profile`, `malformed`); the friendly ID
//! and flags agree with the class; a classified record is a JSON object whose `modelId`
//! (trimmed) is the classified ID; and the classification survives re-encoding the JSON.

use serde_json::Value;
use shared::arn::{FoundationModelId, ModelRef};
use shared::config::ProfileConfig;
use shared::invocation_log::{Classification, PrimaryClass, classify, parse_record};
use shared::profile_map::ProfileMap;

const SONNET_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12";
const SONNET_MODEL: &str = "anthropic.claude-3-7-sonnet-20250219-v1:0";

const CONFIG: &str = r#"
models:
  - claude-sonnet
  - anthropic.claude-3-haiku-20240307-v1:0
  - team-model
  - us.amazon.nova-pro-v1:0
  - amazon.titan-text-express-v1
inferenceProfiles:
  claude-sonnet: arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12
  anthropic.claude-3-haiku-20240307-v1:0: arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/haiku0000001
  team-model: arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/team00000001
allowedInferenceRegions: [us-east-1, us-west-2]
defaultRegion: us-east-1
"#;

/// The fixed map every input is classified against.
pub fn map() -> ProfileMap {
    let config = ProfileConfig::parse(CONFIG, |_| None).expect("the fixed config is valid");
    let mut map = ProfileMap::new(&config);
    let arn = match ModelRef::parse(SONNET_ARN) {
        Ok(ModelRef::AppProfileArn(arn)) => arn,
        other => panic!("fixed profile ARN does not parse: {other:?}"),
    };
    let model = FoundationModelId::parse(SONNET_MODEL).expect("fixed model ID parses");
    map.learn_profile_model(&arn, &model);
    map
}

thread_local! {
    static MAP: ProfileMap = map();
}

/// The fuzz entry point: log lines are text, so non-UTF-8 input never reaches the parser.
pub fn run(data: &[u8]) {
    if let Ok(line) = std::str::from_utf8(data) {
        MAP.with(|map| check(line, map));
    }
}

/// Classifies `line` (and parses it as a whole record) and checks the invariants.
pub fn check(line: &str, map: &ProfileMap) {
    let record = parse_record(line);
    if let Err(e) = &record {
        assert!(!e.to_string().is_empty(), "empty error for {line:?}");
    }
    let c = classify(line, map);
    assert_eq!(
        PrimaryClass::ALL.iter().filter(|k| **k == c.class).count(),
        1,
        "class is not one of the documented ones"
    );
    let value: Option<Value> = serde_json::from_str(line).ok();

    if c.class == PrimaryClass::Malformed {
        assert!(c.model_id.is_empty(), "malformed with a model ID: {c:?}");
        assert_eq!(c.friendly_id, None, "malformed with a friendly ID: {c:?}");
        assert!(
            !c.region_violation && c.error.is_none(),
            "malformed with flags"
        );
    } else {
        // Only a JSON object with a string `modelId` is a record. (serde_json's value parser
        // refuses some documents its skipping parser passes over, e.g. numbers beyond f64, so
        // the object test is on the text and the field test on the value when there is one.)
        assert!(
            line.trim_start_matches([' ', '\t', '\n', '\r'])
                .starts_with('{'),
            "{line:?} is not a JSON object but is classified {c:?}"
        );
        let obj = value.as_ref().and_then(Value::as_object);
        if let Some(obj) = obj {
            let model_id = obj.get("modelId").and_then(Value::as_str);
            assert_eq!(
                model_id.map(str::trim),
                Some(c.model_id.as_str()),
                "classified model ID is not the record's: {line:?}"
            );
        }
        assert_eq!(expected_class(&c.model_id, map), c.class, "{line:?}");
        check_friendly(&c, map, line);
        if let (true, Some(obj)) = (c.region_violation, obj) {
            let region = obj.get("inferenceRegion").and_then(Value::as_str);
            assert!(
                region.is_some_and(|r| !map.inference_region_allowed(r)),
                "region violation without a disallowed inferenceRegion: {line:?}"
            );
        }
    }

    // Re-encoding a record (one value per key, as Bedrock writes it) must not change how it
    // is classified; a record whose four classified fields are strings is never malformed
    // when its modelId is non-blank and its schemaType is right.
    if let Some(Value::Object(obj)) = &value {
        let canonical = serde_json::to_string(&value).expect("a Value serialises");
        let again = classify(&canonical, map);
        if c.class != PrimaryClass::Malformed {
            assert_eq!(again, c, "re-encoding {line:?} changed its classification");
        }
        let stringly = ["modelId", "inferenceRegion", "errorCode", "schemaType"]
            .iter()
            .all(|k| obj.get(*k).is_none_or(Value::is_string));
        let schema_ok = obj
            .get("schemaType")
            .is_none_or(|t| t == "ModelInvocationLog");
        let model_ok = obj
            .get("modelId")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.trim().is_empty());
        if stringly && schema_ok && model_ok {
            assert_ne!(
                again.class,
                PrimaryClass::Malformed,
                "a well-formed record is classified malformed: {canonical}"
            );
            assert!(
                parse_record(&canonical).is_ok() || record.is_err(),
                "re-encoding made a parseable record unparseable: {canonical}"
            );
        }
    }
}

/// The documented table, decided from the map's public lookups.
fn expected_class(model_id: &str, map: &ProfileMap) -> PrimaryClass {
    let reference = ModelRef::parse(model_id).ok();
    let app = reference.as_ref().and_then(ModelRef::app_profile);
    let held = map
        .profile_arns()
        .any(|held| held == model_id || app.is_some_and(|a| a.to_string() == held));
    let routed = reference
        .as_ref()
        .and_then(ModelRef::foundation_model)
        .is_some_and(|m| !map.friendly_ids_routing(m.as_str()).is_empty());
    let candidates = [
        (PrimaryClass::Profiled, held),
        (PrimaryClass::UnknownProfile, !held && app.is_some()),
        (PrimaryClass::MappingMiss, !held && app.is_none() && routed),
        (PrimaryClass::Unmapped, !held && app.is_none() && !routed),
    ];
    let matching: Vec<PrimaryClass> = candidates
        .iter()
        .filter(|(_, holds)| *holds)
        .map(|(class, _)| *class)
        .collect();
    assert_eq!(matching.len(), 1, "{model_id:?} fits {matching:?}");
    matching[0]
}

fn check_friendly(c: &Classification, map: &ProfileMap, line: &str) {
    match c.class {
        PrimaryClass::Profiled => {
            let owner = c.friendly_id.as_deref();
            assert!(
                owner.is_some_and(|f| map.models().iter().any(|m| m == f)),
                "profiled without a served friendly ID: {line:?}"
            );
        }
        PrimaryClass::MappingMiss => {
            let reference = ModelRef::parse(&c.model_id).expect("a mapping miss parses");
            let model = reference
                .foundation_model()
                .expect("a mapping miss names a foundation model");
            let routing = map.friendly_ids_routing(model.as_str());
            assert!(
                c.friendly_id.as_ref().is_some_and(|f| routing.contains(f)),
                "mapping miss names {:?}, not one of {routing:?}: {line:?}",
                c.friendly_id
            );
        }
        PrimaryClass::UnknownProfile => {
            assert_eq!(
                c.friendly_id, None,
                "unknown profile with an owner: {line:?}"
            )
        }
        PrimaryClass::Unmapped => {
            if let Some(f) = &c.friendly_id {
                assert!(
                    map.models().contains(f),
                    "unmapped names {f:?}, which is not served: {line:?}"
                );
            }
        }
        PrimaryClass::Malformed => {}
    }
}
