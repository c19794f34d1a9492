//! One event in, exactly one response out: the envelope is read first, the work runs in its own
//! task under a watchdog, and whatever happens (error, panic, timeout) becomes the single PUT.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::Error;
use crate::control::Planes;
use crate::properties::{self, LoggingProps, ProfileProps};
use crate::protocol::{CREATE_FAILED_MARKER, Envelope, RequestType, Response, StackRef};
use crate::resource::{Outcome, RequestContext};
use crate::respond::{Responder, ResponseUrl};
use crate::{logging, profile};

pub const PROFILE_TYPE: &str = "Custom::BedrockInferenceProfile";
pub const LOGGING_TYPE: &str = "Custom::BedrockInvocationLogging";

/// When the work must stop and when the PUT must be done, from the time left in the invocation.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub work: Instant,
    pub put: Instant,
}

impl Deadlines {
    /// The watchdog fires a fifth of the time before the end (at least 0.3 s, at most 10 s), which
    /// leaves the PUT and its retries room to finish before Lambda stops the function.
    pub fn from_remaining(remaining: Duration) -> Deadlines {
        let now = Instant::now();
        let reserve = (remaining / 5).clamp(Duration::from_millis(300), Duration::from_secs(10));
        let reserve = reserve.min(remaining);
        let put_slack = (remaining / 20).min(Duration::from_millis(200));
        Deadlines {
            work: now + remaining.saturating_sub(reserve),
            put: now + remaining.saturating_sub(put_slack),
        }
    }
}

/// The provisioner: the result of start-up (clients, or the Reason every event is refused with)
/// and the responder.
pub struct Provisioner<P: Planes> {
    planes: Result<Arc<P>, String>,
    responder: Responder,
}

impl<P: Planes> Provisioner<P> {
    /// `planes` carries an init failure instead of aborting: every event then answers FAILED
    /// with the cause, rather than leaving CloudFormation waiting for an hour.
    pub fn new(planes: Result<P, Error>, responder: Responder) -> Self {
        let planes = planes.map(Arc::new).map_err(|e| match e {
            Error::Init(_) => e.to_string(),
            other => Error::Init(other.to_string()).to_string(),
        });
        Provisioner { planes, responder }
    }

    /// Serves one event with `remaining` time before the invocation deadline. Returns the
    /// response that was delivered; fails only when there is no ResponseURL or the PUT could not
    /// be delivered.
    pub async fn handle(&self, event: Value, remaining: Duration) -> Result<Response, Error> {
        let envelope = match Envelope::read(&event) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "event cannot be answered");
                return Err(e);
            }
        };
        // An answer that cannot be delivered must not be preceded by work no stack will own.
        let response_url = match ResponseUrl::parse(&envelope.response_url) {
            Ok(url) => url,
            Err(e) => {
                tracing::error!(error = %e, "event cannot be answered");
                return Err(e);
            }
        };
        let deadlines = Deadlines::from_remaining(remaining);
        tracing::info!(
            request_type = envelope.request_type.as_ref().map_or("?", |t| t.as_str()),
            resource_type = envelope.resource_type.as_deref().unwrap_or("?"),
            logical_id = %envelope.logical_id,
            request_id = %envelope.request_id,
            remaining_ms = remaining.as_millis() as u64,
            "custom-resource event"
        );
        let response = match &self.planes {
            Err(init) => Response::failed(&envelope, init.clone()),
            Ok(planes) => guarded(planes.clone(), event, &envelope, deadlines.work).await,
        };
        if let Some(reason) = &response.reason {
            tracing::error!(reason = %reason, "answering FAILED");
        }
        self.responder
            .send(&response_url, &response, deadlines.put)
            .await?;
        Ok(response)
    }
}

/// Runs the work in its own task so a panic is caught, and races it against the watchdog.
async fn guarded<P: Planes>(
    planes: Arc<P>,
    event: Value,
    envelope: &Envelope,
    work_deadline: Instant,
) -> Response {
    let env = envelope.clone();
    let mut task =
        tokio::spawn(async move { dispatch(&*planes, &event, &env, work_deadline).await });
    let result = tokio::select! {
        joined = &mut task => match joined {
            Ok(result) => result,
            Err(join) if join.is_panic() => Err(Error::Refused(format!(
                "internal error: the request handler panicked ({})",
                panic_message(join.into_panic())
            ))),
            Err(join) => Err(Error::Refused(format!("internal error: {join}"))),
        },
        _ = tokio::time::sleep_until(work_deadline) => {
            task.abort();
            Err(Error::Deadline(
                "the request did not finish within the function's time limit; raise the \
                 function's Timeout (and the resource's ServiceTimeout) or retry".into(),
            ))
        }
    };
    match result {
        Ok(outcome) => Response::success(envelope, outcome.physical_id, outcome.data),
        Err(e) => Response::failed(envelope, e.to_string()),
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_owned()
    }
}

/// Typed parsing and routing, after the envelope is safe.
async fn dispatch<P: Planes>(
    planes: &P,
    event: &Value,
    envelope: &Envelope,
    deadline: Instant,
) -> Result<Outcome, Error> {
    let request_type = envelope.request_type.clone().map_err(Error::Event)?;
    // The Delete after a failed Create: nothing was made, so there is nothing to check.
    if request_type == RequestType::Delete
        && envelope.physical_id.as_deref() == Some(CREATE_FAILED_MARKER)
    {
        tracing::info!("acknowledging the Delete of a resource whose Create failed");
        return Ok(Outcome::bare(CREATE_FAILED_MARKER.to_owned()));
    }
    let resource_type = envelope
        .resource_type
        .as_deref()
        .ok_or_else(|| Error::Event("ResourceType is missing or not a string".into()))?;
    let ctx = RequestContext {
        stack: StackRef::parse(&envelope.stack_id)?,
        stack_id: envelope.stack_id.clone(),
        request_id: envelope.request_id.clone(),
        logical_id: envelope.logical_id.clone(),
        physical_id: envelope.physical_id.clone(),
        deadline,
    };
    if request_type != RequestType::Create && ctx.physical_id.is_none() {
        return Err(Error::Event(format!(
            "{} event has no PhysicalResourceId",
            request_type.as_str()
        )));
    }
    let props = properties::object(event, "ResourceProperties");
    match resource_type {
        PROFILE_TYPE => match request_type {
            RequestType::Create => {
                profile::create(planes, &ctx, &ProfileProps::parse(&props?)?).await
            }
            RequestType::Update => {
                let old = properties::object(event, "OldResourceProperties").unwrap_or_default();
                profile::update(planes, &ctx, &ProfileProps::parse(&props?)?, &old).await
            }
            RequestType::Delete => profile::delete(planes, &ctx).await,
        },
        LOGGING_TYPE => match request_type {
            RequestType::Create => {
                logging::apply(planes, &ctx, &LoggingProps::parse(&props?)?, None).await
            }
            RequestType::Update => {
                let old = properties::object(event, "OldResourceProperties")
                    .and_then(|m| LoggingProps::parse(&m))
                    .ok();
                let new = LoggingProps::parse(&props?)?;
                logging::apply(planes, &ctx, &new, old.as_ref().map(|o| &o.config)).await
            }
            RequestType::Delete => {
                let parsed = props.and_then(|m| LoggingProps::parse(&m));
                logging::delete(planes, &ctx, parsed).await
            }
        },
        other => Err(Error::Event(format!(
            "ResourceType {other:?} is not served by this function; use {PROFILE_TYPE} or \
             {LOGGING_TYPE}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{ACCOUNT, Fake};
    use crate::properties::OWNER_TAG_KEY;
    use crate::protocol::Status;
    use serde_json::json;
    use shared::aws::AwsErrorKind;

    const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/1f2e3d4c";
    const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";
    const SONNET: &str = "anthropic.claude-3-7-sonnet-20250219-v1:0";

    fn event(request_type: &str, resource_type: &str, props: Value) -> Value {
        json!({
            "RequestType": request_type,
            "ResponseURL": "http://127.0.0.1:9/response",
            "StackId": STACK,
            "RequestId": format!("req-{request_type}"),
            "LogicalResourceId": "ChatProfile",
            "ResourceType": resource_type,
            "ResourceProperties": props,
        })
    }

    fn profile_event(request_type: &str, props: Value) -> Value {
        event(request_type, PROFILE_TYPE, props)
    }

    async fn run(fake: &Fake, event: Value) -> Response {
        run_for(fake, event, Duration::from_secs(60)).await
    }

    async fn run_for(fake: &Fake, event: Value, remaining: Duration) -> Response {
        let envelope = Envelope::read(&event).unwrap();
        let deadlines = Deadlines::from_remaining(remaining);
        guarded(Arc::new(fake.clone()), event, &envelope, deadlines.work).await
    }

    fn ok(r: &Response) {
        assert_eq!(r.status, Status::Success, "{:?}", r.reason);
    }

    fn failed_with(r: &Response, needle: &str) {
        assert_eq!(r.status, Status::Failed);
        let reason = r.reason.as_deref().unwrap_or_default();
        assert!(
            reason.contains(needle),
            "reason {reason:?} lacks {needle:?}"
        );
    }

    #[tokio::test]
    async fn create_from_a_system_profile_id_returns_the_arn_and_native_attributes() {
        let fake = Fake::seeded();
        let r = run(
            &fake,
            profile_event("Create", json!({"ModelSource": format!("us.{SONNET}")})),
        )
        .await;
        ok(&r);
        assert!(r.physical_id.contains(":application-inference-profile/"));
        for key in [
            "InferenceProfileArn",
            "InferenceProfileId",
            "InferenceProfileIdentifier",
            "Models",
            "Status",
            "Type",
            "Arn",
            "Id",
            "Name",
            "SourceArn",
        ] {
            assert!(r.data.contains_key(key), "missing {key}");
        }
        assert_eq!(r.data["Arn"], r.physical_id.as_str());
        assert_eq!(r.data["Type"], "APPLICATION");
        assert_eq!(
            r.data["SourceArn"],
            format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.{SONNET}").as_str()
        );
        assert_eq!(r.data["Models"].as_str().unwrap().split(',').count(), 2);
        let name = r.data["Name"].as_str().unwrap();
        assert!(name.starts_with("demo-ChatProfile-"), "{name}");
    }

    #[tokio::test]
    async fn create_from_an_on_demand_model_id_copies_the_model_arn() {
        let fake = Fake::seeded();
        let r = run(
            &fake,
            profile_event(
                "Create",
                json!({"ModelSource": HAIKU, "ProfileName": "haiku"}),
            ),
        )
        .await;
        ok(&r);
        assert_eq!(r.data["Name"], "haiku");
        assert_eq!(
            r.data["SourceArn"],
            format!("arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}").as_str()
        );
    }

    #[tokio::test]
    async fn a_model_that_cannot_run_on_demand_is_refused_naming_the_system_profile() {
        let fake = Fake::seeded();
        let r = run(
            &fake,
            profile_event("Create", json!({"ModelSource": SONNET})),
        )
        .await;
        failed_with(&r, &format!("use the system inference profile us.{SONNET}"));
        assert_eq!(r.physical_id, CREATE_FAILED_MARKER);
        assert!(fake.app_profiles().is_empty());
    }

    #[tokio::test]
    async fn a_source_in_another_region_is_refused() {
        let fake = Fake::seeded();
        let r = run(
            &fake,
            profile_event(
                "Create",
                json!({
                    "ModelSource": format!("arn:aws:bedrock:eu-west-1::foundation-model/{HAIKU}")
                }),
            ),
        )
        .await;
        failed_with(&r, "own region");
    }

    #[tokio::test]
    async fn access_check_covers_every_region_the_profile_routes_to() {
        let fake = Fake::seeded();
        fake.state()
            .availability
            .get_mut(&("us-west-2".to_string(), SONNET.to_string()))
            .unwrap()
            .region = "NOT_AVAILABLE".into();
        let r = run(
            &fake,
            profile_event("Create", json!({"ModelSource": format!("us.{SONNET}")})),
        )
        .await;
        failed_with(&r, "not available in us-west-2");
        failed_with(&r, "enable the region");
        // Skipping the check lets the same Create through.
        let r = run(
            &fake,
            profile_event(
                "Create",
                json!({
                    "ModelSource": format!("us.{SONNET}"), "CheckModelAccess": "false"
                }),
            ),
        )
        .await;
        ok(&r);
    }

    #[tokio::test]
    async fn redelivered_create_returns_the_same_profile() {
        let fake = Fake::seeded();
        let ev = profile_event("Create", json!({"ModelSource": HAIKU}));
        let first = run(&fake, ev.clone()).await;
        let second = run(&fake, ev).await;
        ok(&first);
        ok(&second);
        assert_eq!(first.physical_id, second.physical_id);
        assert_eq!(fake.app_profiles().len(), 1);
    }

    #[tokio::test]
    async fn a_name_clash_adopts_only_a_profile_this_request_created() {
        let fake = Fake::seeded();
        let ev = profile_event(
            "Create",
            json!({"ModelSource": HAIKU, "ProfileName": "shared-name"}),
        );
        let first = run(&fake, ev.clone()).await;
        ok(&first);
        // The service forgot the token (e.g. it expired): the clash is resolved by the tag.
        fake.state().profiles[0].client_token = "forgotten".into();
        let again = run(&fake, ev).await;
        ok(&again);
        assert_eq!(again.physical_id, first.physical_id);
        // Another stack's request with the same name is refused, naming the fix.
        let mut other = profile_event(
            "Create",
            json!({"ModelSource": HAIKU, "ProfileName": "shared-name"}),
        );
        other["RequestId"] = json!("someone-else");
        let r = run(&fake, other).await;
        failed_with(&r, "was not created by this request");
        assert_eq!(fake.app_profiles().len(), 1);
    }

    #[tokio::test]
    async fn created_profiles_carry_the_ownership_tag_and_user_tags() {
        let fake = Fake::seeded();
        let r = run(
            &fake,
            profile_event(
                "Create",
                json!({
                    "ModelSource": HAIKU, "Tags": [{"Key": "team", "Value": "a"}]
                }),
            ),
        )
        .await;
        ok(&r);
        let tags = fake.tags_of(&r.physical_id);
        assert!(tags.contains(&("team".into(), "a".into())));
        assert!(
            tags.iter()
                .any(|(k, v)| k == OWNER_TAG_KEY && v.len() == 64)
        );
    }

    fn update_event(physical: &str, old: Value, new: Value) -> Value {
        let mut ev = profile_event("Update", new);
        ev["PhysicalResourceId"] = json!(physical);
        ev["OldResourceProperties"] = old;
        ev
    }

    #[tokio::test]
    async fn tag_changes_update_in_place_and_keep_the_ownership_tag() {
        let fake = Fake::seeded();
        let old = json!({"ModelSource": HAIKU, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]});
        let created = run(&fake, profile_event("Create", old.clone())).await;
        let new = json!({"ModelSource": HAIKU, "Tags": [{"Key": "a", "Value": "9"}, {"Key": "c", "Value": "3"}]});
        let r = run(&fake, update_event(&created.physical_id, old, new)).await;
        ok(&r);
        assert_eq!(r.physical_id, created.physical_id);
        let mut tags = fake.tags_of(&r.physical_id);
        tags.retain(|(k, _)| k != OWNER_TAG_KEY);
        tags.sort();
        assert_eq!(
            tags,
            vec![("a".into(), "9".into()), ("c".into(), "3".into())]
        );
        assert!(
            fake.tags_of(&r.physical_id)
                .iter()
                .any(|(k, _)| k == OWNER_TAG_KEY)
        );
        assert_eq!(fake.app_profiles().len(), 1);
    }

    #[tokio::test]
    async fn a_model_source_change_replaces_the_profile_under_a_new_generated_name() {
        let fake = Fake::seeded();
        let old = json!({"ModelSource": HAIKU});
        let created = run(&fake, profile_event("Create", old.clone())).await;
        let r = run(
            &fake,
            update_event(
                &created.physical_id,
                old,
                json!({"ModelSource": format!("us.{HAIKU}")}),
            ),
        )
        .await;
        ok(&r);
        assert_ne!(r.physical_id, created.physical_id);
        assert_ne!(r.data["Name"], created.data["Name"]);
        assert_eq!(
            fake.app_profiles().len(),
            2,
            "CloudFormation deletes the old one"
        );
    }

    #[tokio::test]
    async fn the_same_model_written_as_an_arn_is_not_a_change() {
        let fake = Fake::seeded();
        let old = json!({"ModelSource": HAIKU});
        let created = run(&fake, profile_event("Create", old.clone())).await;
        let new =
            json!({"ModelSource": format!("arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}")});
        let r = run(&fake, update_event(&created.physical_id, old, new)).await;
        ok(&r);
        assert_eq!(r.physical_id, created.physical_id);
    }

    #[tokio::test]
    async fn replacement_under_an_unchanged_explicit_name_says_to_rename() {
        let fake = Fake::seeded();
        let old = json!({"ModelSource": HAIKU, "ProfileName": "fixed"});
        let created = run(&fake, profile_event("Create", old.clone())).await;
        let new = json!({"ModelSource": HAIKU, "ProfileName": "fixed", "Description": "new text"});
        let r = run(&fake, update_event(&created.physical_id, old, new)).await;
        failed_with(&r, "Change ProfileName, or remove it");
        assert_eq!(
            r.physical_id, created.physical_id,
            "a failed Update keeps the current ID"
        );
    }

    #[tokio::test]
    async fn delete_removes_the_profile_and_a_second_delete_succeeds() {
        let fake = Fake::seeded();
        let created = run(
            &fake,
            profile_event("Create", json!({"ModelSource": HAIKU})),
        )
        .await;
        let mut del = profile_event("Delete", json!({"ModelSource": HAIKU}));
        del["PhysicalResourceId"] = json!(created.physical_id);
        ok(&run(&fake, del.clone()).await);
        assert!(fake.app_profiles().is_empty());
        let again = run(&fake, del).await;
        ok(&again);
        assert_eq!(again.physical_id, created.physical_id);
    }

    #[tokio::test]
    async fn delete_after_a_failed_create_makes_no_call() {
        let fake = Fake::seeded();
        for physical in [CREATE_FAILED_MARKER, "2026/11/27/[$LATEST]abc", "junk"] {
            let mut del = profile_event("Delete", json!({"Whatever": {"old": "shape"}}));
            del["PhysicalResourceId"] = json!(physical);
            let r = run(&fake, del).await;
            ok(&r);
            assert_eq!(r.physical_id, physical);
        }
        assert!(fake.calls().is_empty(), "{:?}", fake.calls());
    }

    #[tokio::test]
    async fn throttling_is_retried_within_the_deadline() {
        let fake = Fake::seeded();
        for _ in 0..3 {
            fake.fail_next(
                "CreateInferenceProfile",
                AwsErrorKind::Throttling,
                "ThrottlingException",
                "slow down",
            );
        }
        let r = run(
            &fake,
            profile_event("Create", json!({"ModelSource": HAIKU})),
        )
        .await;
        ok(&r);
        let creates = fake.calls_to("CreateInferenceProfile");
        assert_eq!(creates, 4);
    }

    #[tokio::test]
    async fn a_hung_call_is_answered_timed_out_before_the_deadline() {
        let fake = Fake::seeded();
        fake.state().hang_on = Some("CreateInferenceProfile");
        let started = Instant::now();
        let r = run_for(
            &fake,
            profile_event("Create", json!({"ModelSource": HAIKU})),
            Duration::from_millis(1500),
        )
        .await;
        failed_with(&r, "timed out");
        assert!(started.elapsed() < Duration::from_millis(1500));
        assert_eq!(r.physical_id, CREATE_FAILED_MARKER);
    }

    #[tokio::test]
    async fn a_panic_becomes_a_failed_response() {
        let fake = Fake::seeded();
        fake.state().panic_on = Some("GetFoundationModel");
        let r = run(
            &fake,
            profile_event("Create", json!({"ModelSource": HAIKU})),
        )
        .await;
        failed_with(&r, "panicked");
    }

    #[tokio::test]
    async fn garbage_events_get_a_specific_failure() {
        let fake = Fake::seeded();
        let cases = [
            (
                json!({"ResponseURL": "http://x/"}),
                "RequestType is missing",
            ),
            (
                json!({"ResponseURL": "http://x/", "RequestType": "Explode"}),
                "not Create, Update or Delete",
            ),
            (
                json!({"ResponseURL": "http://x/", "RequestType": 3}),
                "must be a string",
            ),
            (
                json!({"ResponseURL": "http://x/", "RequestType": "Create", "ResourceType": PROFILE_TYPE, "StackId": "nope"}),
                "StackId",
            ),
            (
                json!({"ResponseURL": "http://x/", "RequestType": "Create", "StackId": STACK, "ResourceType": "Custom::Other"}),
                "not served",
            ),
            (
                json!({"ResponseURL": "http://x/", "RequestType": "Update", "StackId": STACK, "ResourceType": PROFILE_TYPE}),
                "no PhysicalResourceId",
            ),
            (
                json!({"ResponseURL": "http://x/", "RequestType": "Create", "StackId": STACK, "ResourceType": PROFILE_TYPE, "ResourceProperties": [1]}),
                "must be an object",
            ),
        ];
        for (ev, needle) in cases {
            failed_with(&run(&fake, ev).await, needle);
        }
    }

    fn logging_event(request_type: &str, props: Value) -> Value {
        let mut ev = event(request_type, LOGGING_TYPE, props);
        if request_type != "Create" {
            ev["PhysicalResourceId"] =
                json!(format!("bedrock-invocation-logging:{ACCOUNT}:us-east-1"));
        }
        ev
    }

    fn logging_props(group: &str) -> Value {
        json!({"LogGroupName": group, "RoleArn": "arn:aws:iam::123456789012:role/bedrock-logging"})
    }

    #[tokio::test]
    async fn logging_create_sets_the_configuration_and_names_account_and_region() {
        let fake = Fake::seeded();
        let r = run(&fake, logging_event("Create", logging_props("/a"))).await;
        ok(&r);
        assert_eq!(
            r.physical_id,
            format!("bedrock-invocation-logging:{ACCOUNT}:us-east-1")
        );
        let cfg = fake.state().logging.clone().unwrap();
        assert_eq!(cfg.log_group_name, "/a");
        assert!(cfg.text && !cfg.image);
    }

    #[tokio::test]
    async fn logging_set_by_someone_else_is_not_overwritten_unless_asked() {
        let fake = Fake::seeded();
        fake.state().logging = Some(crate::control::LoggingConfig {
            log_group_name: "/theirs".into(),
            role_arn: "arn:aws:iam::123456789012:role/theirs".into(),
            ..Default::default()
        });
        let r = run(&fake, logging_event("Create", logging_props("/ours"))).await;
        failed_with(&r, "ReplaceExisting");
        assert_eq!(
            fake.state().logging.clone().unwrap().log_group_name,
            "/theirs"
        );
        let mut props = logging_props("/ours");
        props["ReplaceExisting"] = json!("true");
        ok(&run(&fake, logging_event("Create", props)).await);
        assert_eq!(
            fake.state().logging.clone().unwrap().log_group_name,
            "/ours"
        );
    }

    #[tokio::test]
    async fn logging_update_replaces_our_own_configuration() {
        let fake = Fake::seeded();
        ok(&run(&fake, logging_event("Create", logging_props("/v1"))).await);
        let mut ev = logging_event("Update", logging_props("/v2"));
        ev["OldResourceProperties"] = logging_props("/v1");
        ok(&run(&fake, ev).await);
        assert_eq!(fake.state().logging.clone().unwrap().log_group_name, "/v2");
    }

    #[tokio::test]
    async fn logging_delete_removes_only_a_configuration_that_is_still_ours() {
        let fake = Fake::seeded();
        ok(&run(&fake, logging_event("Create", logging_props("/ours"))).await);
        fake.state().logging.as_mut().unwrap().log_group_name = "/changed-by-hand".into();
        ok(&run(&fake, logging_event("Delete", logging_props("/ours"))).await);
        assert!(
            fake.state().logging.is_some(),
            "someone else's configuration stays"
        );
        fake.state().logging.as_mut().unwrap().log_group_name = "/ours".into();
        ok(&run(&fake, logging_event("Delete", logging_props("/ours"))).await);
        assert!(fake.state().logging.is_none());
    }

    #[tokio::test]
    async fn permission_validation_errors_are_retried_while_the_role_propagates() {
        let fake = Fake::seeded();
        for _ in 0..2 {
            fake.fail_next(
                "PutModelInvocationLoggingConfiguration",
                AwsErrorKind::Validation,
                "ValidationException",
                "Failed to validate permissions for log group: /a, with role: arn:aws:iam::123456789012:role/bedrock-logging. Verify the IAM role permissions are correct.",
            );
        }
        let r = run(&fake, logging_event("Create", logging_props("/a"))).await;
        ok(&r);
        let puts = fake.calls_to("PutModelInvocationLoggingConfiguration");
        assert_eq!(puts, 3);
    }

    #[tokio::test]
    async fn a_model_source_bedrock_rejects_is_named_in_the_reason() {
        let fake = Fake::seeded();
        fake.fail_next(
            "GetFoundationModel",
            AwsErrorKind::Validation,
            "ValidationException",
            "The provided model identifier is invalid.",
        );
        let r = run(
            &fake,
            profile_event("Create", json!({"ModelSource": HAIKU})),
        )
        .await;
        failed_with(&r, &format!("ModelSource {HAIKU} is not a model"));
        failed_with(&r, "The provided model identifier is invalid.");
        assert_eq!(r.physical_id, CREATE_FAILED_MARKER);
    }

    #[tokio::test]
    async fn other_validation_errors_are_not_retried() {
        let fake = Fake::seeded();
        fake.fail_next(
            "PutModelInvocationLoggingConfiguration",
            AwsErrorKind::Validation,
            "ValidationException",
            "log group name is bad",
        );
        let r = run(&fake, logging_event("Create", logging_props("/a"))).await;
        failed_with(&r, "log group name is bad");
    }
}
