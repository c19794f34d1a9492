//! `config`: `shared::config::ProfileConfig::parse` on arbitrary text (YAML, or JSON when it
//! starts with `{`) with two fixed fake environments: one with `AWS_REGION` set, one without
//! any region fallback.
//!
//! Invariants: parsing never panics and a rejection is a value with a non-empty message; an
//! accepted config is what validation promises (models unique and non-blank, every mapping
//! keyed by a served model, every region a region name), and the profile map built from it
//! resolves every served model to a call ID and a non-empty region.

use shared::arn::{ModelRef, is_region_name};
use shared::config::ProfileConfig;
use shared::profile_map::ProfileMap;

const SONNET_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12";
const HAIKU_ARN: &str =
    "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/haiku0000001";

/// The environment of a function with a region (as Lambda always has).
fn env_with_region(name: &str) -> Option<String> {
    match name {
        "AWS_REGION" => Some("us-east-1".to_owned()),
        _ => env_without_region(name),
    }
}

/// The same environment without `AWS_REGION` / `BEDROCK_AWS_DEFAULT_REGION`.
fn env_without_region(name: &str) -> Option<String> {
    let value = match name {
        "SONNET_PROFILE_ARN" => SONNET_ARN,
        "HAIKU_PROFILE_ARN" => HAIKU_ARN,
        "SYSTEM_PROFILE" => "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "MODEL_ID" => "amazon.nova-pro-v1:0",
        "REGION" => "eu-west-1",
        "EMPTY" => "",
        "NOT_AN_ARN" => "not an arn",
        _ => return None,
    };
    Some(value.to_owned())
}

/// The fuzz entry point: the config loader takes text, so non-UTF-8 input never reaches it.
pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
}

/// Parses `text` under both environments and checks each accepted config.
pub fn check(text: &str) {
    match ProfileConfig::parse(text, env_with_region) {
        Ok(config) => {
            check_accepted(text, &config);
            assert!(
                config.default_region.is_some(),
                "with AWS_REGION set a default region always exists: {text:?}"
            );
        }
        Err(e) => assert!(!e.to_string().is_empty(), "empty error for {text:?}"),
    }
    match ProfileConfig::parse(text, env_without_region) {
        Ok(config) => check_accepted(text, &config),
        Err(e) => assert!(!e.to_string().is_empty(), "empty error for {text:?}"),
    }
}

fn check_accepted(text: &str, config: &ProfileConfig) {
    assert!(
        !config.models.is_empty(),
        "accepted with no models: {text:?}"
    );
    for (i, m) in config.models.iter().enumerate() {
        assert!(!m.trim().is_empty(), "blank model accepted: {text:?}");
        assert!(
            !config.models[..i].contains(m),
            "model {m:?} accepted twice: {text:?}"
        );
    }
    for (i, (key, target)) in config.inference_profiles.iter().enumerate() {
        assert!(
            config.models.contains(key),
            "mapping key {key:?} is not a served model: {text:?}"
        );
        assert!(
            !config.inference_profiles[..i].iter().any(|(k, _)| k == key),
            "mapping key {key:?} accepted twice: {text:?}"
        );
        assert_eq!(
            ModelRef::parse(&target.to_string()).as_ref().ok(),
            Some(target),
            "mapping target for {key:?} does not round-trip: {text:?}"
        );
    }
    let regions = config
        .available_regions
        .iter()
        .chain(config.allowed_inference_regions.iter().flatten())
        .chain(config.default_region.iter());
    for r in regions {
        assert!(is_region_name(r), "region {r:?} accepted: {text:?}");
    }

    let map = ProfileMap::new(config);
    assert_eq!(map.models(), config.models.as_slice());
    for m in &config.models {
        let target = map
            .resolve(m)
            .unwrap_or_else(|e| panic!("served model {m:?} does not resolve: {e}; {text:?}"));
        assert!(
            !target.region.is_empty(),
            "served model {m:?} resolves to no region: {text:?}"
        );
        match config.profile_for(m) {
            Some(reference) => {
                assert_eq!(target.call_id, reference.to_string());
                if let Some(arn) = reference.app_profile() {
                    assert!(
                        map.profile_owner(&arn.to_string()).is_some(),
                        "profile of {m:?} is not indexed: {text:?}"
                    );
                }
            }
            None => assert_eq!(&target.call_id, m, "unmapped model is not sent as is"),
        }
    }
}
