//! `custom_resource`: the provisioner's raw-event handling before any network call — the event
//! as JSON, `protocol::Envelope::read`, `protocol::StackRef::parse`, `properties::object` for
//! `ResourceProperties` / `OldResourceProperties`, `ProfileProps::parse` and
//! `LoggingProps::parse` — and the answer it would send (`protocol::Response` → `to_body`).
//!
//! Invariants: nothing panics; only an event without a usable `ResponseURL` has no envelope
//! (every other event can be answered); envelope fields echo the event's strings; every
//! refusal is a non-empty message; accepted profile properties name a model source Bedrock can
//! copy from (never an application profile) and at most 199 tags; and every answer — FAILED
//! with any refusal, or SUCCESS echoing the event's fields and arbitrary `Data` — is JSON of at
//! most 4096 bytes with the right `Status`.

use provisioner::properties::{self, LoggingProps, ProfileProps};
use provisioner::protocol::{
    CREATE_FAILED_MARKER, Envelope, MAX_BODY_BYTES, Response, StackRef, Status,
};
use serde_json::{Map, Value};
use shared::arn::ModelRef;

/// The fuzz entry point: the event as the Lambda runtime hands it over (JSON).
pub fn run(data: &[u8]) {
    if let Ok(event) = serde_json::from_slice::<Value>(data) {
        check(&event);
    }
}

/// Reads `event` as the handler does before any network call, and checks the invariants.
pub fn check(event: &Value) {
    let text = |name: &str| event.get(name).and_then(Value::as_str);
    let envelope = match Envelope::read(event) {
        Ok(envelope) => envelope,
        Err(e) => {
            assert!(
                text("ResponseURL").is_none_or(str::is_empty),
                "an event with a ResponseURL has no envelope: {e}; {event}"
            );
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert_eq!(Some(envelope.response_url.as_str()), text("ResponseURL"));
    assert_eq!(envelope.stack_id, text("StackId").unwrap_or_default());
    assert_eq!(envelope.request_id, text("RequestId").unwrap_or_default());
    assert_eq!(
        envelope.logical_id,
        text("LogicalResourceId").unwrap_or_default()
    );

    let mut refusals = Vec::new();
    match StackRef::parse(&envelope.stack_id) {
        Ok(stack) => {
            assert!(!stack.region.is_empty() && !stack.name.is_empty());
            assert!(envelope.stack_id.contains(&stack.region));
        }
        Err(e) => refusals.push(e.to_string()),
    }

    for field in ["ResourceProperties", "OldResourceProperties"] {
        let props = match properties::object(event, field) {
            Ok(props) => props,
            Err(e) => {
                refusals.push(e.to_string());
                continue;
            }
        };
        match ProfileProps::parse(&props) {
            Ok(profile) => check_profile(&profile, event),
            Err(e) => refusals.push(e.to_string()),
        }
        match LoggingProps::parse(&props) {
            Ok(logging) => {
                assert!(!logging.config.log_group_name.is_empty());
                assert!(!logging.config.role_arn.is_empty());
            }
            Err(e) => refusals.push(e.to_string()),
        }
    }

    for reason in &refusals {
        assert!(!reason.trim().is_empty(), "an empty refusal for {event}");
        let body = answer(&Response::failed(&envelope, reason.clone()), Status::Failed);
        let expected_id = envelope
            .physical_id
            .clone()
            .unwrap_or_else(|| CREATE_FAILED_MARKER.to_owned());
        if expected_id.chars().count() <= 200 {
            assert_eq!(body["PhysicalResourceId"], expected_id.as_str());
        }
    }

    // A success that echoes whatever the event carried, with its properties as Data.
    let data = match event.get("ResourceProperties") {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    let physical = text("PhysicalResourceId")
        .unwrap_or("physical-id")
        .to_owned();
    answer(
        &Response::success(&envelope, physical, data),
        Status::Success,
    );
}

/// The body CloudFormation would receive: JSON, within the size limit, with `status`.
fn answer(response: &Response, status: Status) -> Value {
    let body = response.to_body();
    assert!(
        body.len() <= MAX_BODY_BYTES,
        "a {}-byte response body",
        body.len()
    );
    let value: Value = serde_json::from_slice(&body).expect("the response body is JSON");
    let expected = match status {
        Status::Success => "SUCCESS",
        Status::Failed => "FAILED",
    };
    assert_eq!(value["Status"], expected);
    if status == Status::Failed {
        assert!(
            value["Reason"]
                .as_str()
                .is_some_and(|r| !r.trim().is_empty()),
            "a FAILED answer without a reason: {value}"
        );
    }
    value
}

fn check_profile(profile: &ProfileProps, event: &Value) {
    assert!(
        !matches!(profile.model_source, ModelRef::AppProfileArn(_)),
        "an application profile accepted as ModelSource: {event}"
    );
    assert_eq!(
        ModelRef::parse(&profile.model_source.to_string())
            .as_ref()
            .ok(),
        Some(&profile.model_source)
    );
    assert!(
        profile.tags.len() <= 199,
        "{} tags accepted",
        profile.tags.len()
    );
    if let Some(name) = &profile.name {
        assert!(
            properties::is_valid_profile_name(name),
            "profile name {name:?} accepted"
        );
    }
}
