//! The provisioner end to end: the real AWS SDK against the in-process Bedrock emulator, with a
//! loopback HTTP server standing in for CloudFormation's pre-signed ResponseURL. Every response
//! body that arrives is checked against the custom-resource protocol.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_bedrock::config::retry::RetryConfig;
use aws_sdk_bedrock::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use bedrock_emulator::{Emulator, Options, RunningEmulator};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use provisioner::config::Config;
use provisioner::handler::Provisioner;
use provisioner::respond::Responder;
use provisioner::sdk::SdkPlanes;
use serde_json::{Value, json};
use shared::aws::SdkConfig;
use tokio::net::TcpListener;

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/itest/0a1b2c3d-4e5f";
const PROFILE: &str = "Custom::BedrockInferenceProfile";
const LOGGING: &str = "Custom::BedrockInvocationLogging";
const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const SONNET37: &str = "anthropic.claude-3-7-sonnet-20250219-v1:0";
const MARKER: &str = "BedrockProvisioner::CREATE_FAILED";

// ---------------------------------------------------------------------------------------------
// The ResponseURL stand-in

#[derive(Debug, Clone)]
struct Received {
    method: String,
    content_type: Option<String>,
    body: Vec<u8>,
}

#[derive(Clone)]
struct ResponseSink {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    /// Answer 500 to this many PUTs before accepting.
    reject_first: Arc<Mutex<usize>>,
}

impl ResponseSink {
    async fn start() -> ResponseSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = ResponseSink {
            addr: listener.local_addr().unwrap(),
            received: Arc::default(),
            reject_first: Arc::default(),
        };
        let state = sink.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let state = state.clone();
                        async move {
                            let method = req.method().to_string();
                            let content_type = req
                                .headers()
                                .get(hyper::header::CONTENT_TYPE)
                                .map(|v| v.to_str().unwrap_or("<non-ascii>").to_owned());
                            let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                            let reject = {
                                let mut left = state.reject_first.lock().unwrap();
                                let r = *left > 0;
                                if r {
                                    *left -= 1;
                                }
                                r
                            };
                            let status = if reject {
                                StatusCode::INTERNAL_SERVER_ERROR
                            } else {
                                state.received.lock().unwrap().push(Received {
                                    method,
                                    content_type,
                                    body,
                                });
                                StatusCode::OK
                            };
                            Ok::<_, hyper::Error>(
                                Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        sink
    }

    fn url(&self) -> String {
        format!("http://{}/cfn-response?X-Amz-Signature=abc", self.addr)
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

/// Checks one body against the protocol and the event it answers; returns it parsed.
fn check_protocol(got: &Received, event: &Value) -> Value {
    assert_eq!(got.method, "PUT");
    assert!(
        got.content_type.as_deref().unwrap_or("").is_empty(),
        "Content-Type must be empty, got {:?}",
        got.content_type
    );
    assert!(got.body.len() <= 4096, "body is {} bytes", got.body.len());
    let body: Value = serde_json::from_slice(&got.body).expect("response body is JSON");
    let status = body["Status"].as_str().expect("Status");
    assert!(status == "SUCCESS" || status == "FAILED", "{status}");
    for field in ["StackId", "RequestId", "LogicalResourceId"] {
        assert_eq!(
            body[field].as_str().expect(field),
            event.get(field).and_then(Value::as_str).unwrap_or(""),
            "{field} must be echoed"
        );
    }
    let physical = body["PhysicalResourceId"]
        .as_str()
        .expect("PhysicalResourceId");
    assert!(!physical.is_empty(), "PhysicalResourceId must not be empty");
    if status == "FAILED" {
        assert!(
            !body["Reason"].as_str().unwrap_or("").trim().is_empty(),
            "FAILED needs a Reason"
        );
    }
    body
}

// ---------------------------------------------------------------------------------------------
// The harness

struct Harness {
    emulator: RunningEmulator,
    sink: ResponseSink,
    provisioner: Provisioner<SdkPlanes>,
    control: aws_sdk_bedrock::Client,
}

/// The SDK config as `load_sdk_config` gives it in Lambda: SDK retries in standard mode, so
/// the provisioner must turn them off itself.
fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "static",
        )))
        .retry_config(RetryConfig::standard())
        .endpoint_url(endpoint)
        .build()
}

impl Harness {
    async fn start() -> Harness {
        let emulator = Emulator::start(Options::default()).await.unwrap();
        Self::with_endpoint(emulator, None).await
    }

    /// `front`: an endpoint to use instead of the emulator's own (a throttling or silent front).
    async fn with_endpoint(emulator: RunningEmulator, front: Option<String>) -> Harness {
        let endpoint = front.unwrap_or_else(|| emulator.url());
        let sink = ResponseSink::start().await;
        let provisioner = Provisioner::new(
            Ok(SdkPlanes::from_sdk_config(&sdk_config(&endpoint))),
            Responder::new(),
        );
        let control = aws_sdk_bedrock::Client::new(&sdk_config(&emulator.url()));
        Harness {
            emulator,
            sink,
            provisioner,
            control,
        }
    }

    fn event(
        &self,
        request_type: &str,
        resource_type: &str,
        request_id: &str,
        props: Value,
    ) -> Value {
        json!({
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provisioner",
            "ResponseURL": self.sink.url(),
            "StackId": STACK,
            "RequestId": request_id,
            "LogicalResourceId": "Chat",
            "ResourceType": resource_type,
            "ResourceProperties": props,
        })
    }

    /// Invokes the handler and returns the one response body it delivered.
    async fn invoke_within(&self, event: Value, remaining: Duration) -> Value {
        let before = self.sink.count();
        let outcome = self.provisioner.handle(event.clone(), remaining).await;
        assert!(outcome.is_ok(), "delivery failed: {outcome:?}");
        let received = self.sink.take();
        assert_eq!(
            received.len() + before,
            before + 1,
            "exactly one PUT per event"
        );
        check_protocol(&received[0], &event)
    }

    async fn invoke(&self, event: Value) -> Value {
        self.invoke_within(event, Duration::from_secs(60)).await
    }

    async fn app_profiles(&self) -> Vec<String> {
        self.control
            .list_inference_profiles()
            .type_equals(aws_sdk_bedrock::types::InferenceProfileType::Application)
            .send()
            .await
            .unwrap()
            .inference_profile_summaries()
            .iter()
            .map(|p| p.inference_profile_arn().to_owned())
            .collect()
    }

    fn set_access(&self, model: &str, patch: Value) {
        let patch = serde_json::from_value(patch).unwrap();
        self.emulator
            .state()
            .set_model_access(REGION, model, &patch);
    }
}

fn success(body: &Value) {
    assert_eq!(body["Status"], "SUCCESS", "{body}");
}

fn failed_with(body: &Value, needle: &str) {
    assert_eq!(body["Status"], "FAILED", "{body}");
    let reason = body["Reason"].as_str().unwrap();
    assert!(
        reason.contains(needle),
        "Reason {reason:?} lacks {needle:?}"
    );
}

fn with_physical(mut event: Value, physical: &str) -> Value {
    event["PhysicalResourceId"] = json!(physical);
    event
}

// ---------------------------------------------------------------------------------------------
// Create from each source kind

#[tokio::test]
async fn create_from_each_source_kind_makes_an_active_profile() {
    let h = Harness::start().await;
    let sources = [
        format!("us.{SONNET37}"),
        format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.{SONNET37}"),
        HAIKU.to_owned(),
        format!("arn:aws:bedrock:{REGION}::foundation-model/{HAIKU}"),
    ];
    for (i, source) in sources.iter().enumerate() {
        let body = h
            .invoke(h.event(
                "Create",
                PROFILE,
                &format!("create-{i}"),
                json!({"ModelSource": source}),
            ))
            .await;
        success(&body);
        let arn = body["PhysicalResourceId"].as_str().unwrap();
        assert!(
            arn.starts_with(&format!(
                "arn:aws:bedrock:{REGION}:{ACCOUNT}:application-inference-profile/"
            )),
            "{arn}"
        );
        let data = &body["Data"];
        assert_eq!(data["InferenceProfileArn"], arn);
        assert_eq!(data["Arn"], arn);
        assert_eq!(data["Status"], "ACTIVE");
        assert_eq!(data["Type"], "APPLICATION");
        assert!(
            data["SourceArn"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:bedrock:")
        );
        assert!(!data["Models"].as_str().unwrap().is_empty());
        // The emulator agrees the profile exists and copies the right source.
        let live = h
            .control
            .get_inference_profile()
            .inference_profile_identifier(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(
            live.inference_profile_name(),
            data["Name"].as_str().unwrap()
        );
        assert_eq!(live.inference_profile_id(), data["Id"].as_str().unwrap());
    }
    assert_eq!(h.app_profiles().await.len(), 4);
}

#[tokio::test]
async fn a_model_without_on_demand_throughput_is_refused_with_the_profile_to_use() {
    let h = Harness::start().await;
    let ev = h.event(
        "Create",
        PROFILE,
        "no-on-demand",
        json!({"ModelSource": SONNET37}),
    );
    let body = h.invoke(ev).await;
    failed_with(&body, &format!("us.{SONNET37}"));
    assert_eq!(body["PhysicalResourceId"], MARKER);
    assert!(h.app_profiles().await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Model access

#[tokio::test]
async fn access_check_fails_for_each_availability_state_with_the_remedy() {
    let h = Harness::start().await;
    let cases = [
        (
            json!({"agreementAvailability": {"status": "NOT_AVAILABLE"}}),
            "accept it",
        ),
        (
            json!({"agreementAvailability": {"status": "PENDING"}}),
            "wait a few minutes",
        ),
        (
            json!({"agreementAvailability": {"status": "ERROR", "errorMessage": "payment declined"}}),
            "payment declined",
        ),
        (
            json!({"authorizationStatus": "NOT_AUTHORIZED"}),
            "not authorized",
        ),
        (
            json!({"entitlementAvailability": "NOT_AVAILABLE"}),
            "not entitled",
        ),
        (
            json!({"regionAvailability": "NOT_AVAILABLE"}),
            "enable the region",
        ),
    ];
    let healthy = json!({
        "agreementAvailability": {"status": "AVAILABLE"},
        "authorizationStatus": "AUTHORIZED",
        "entitlementAvailability": "AVAILABLE",
        "regionAvailability": "AVAILABLE"
    });
    for (i, (patch, remedy)) in cases.into_iter().enumerate() {
        h.set_access(HAIKU, patch);
        let body = h
            .invoke(h.event(
                "Create",
                PROFILE,
                &format!("access-{i}"),
                json!({"ModelSource": HAIKU}),
            ))
            .await;
        failed_with(&body, remedy);
        failed_with(&body, HAIKU);
        h.set_access(HAIKU, healthy.clone());
    }
    assert!(
        h.app_profiles().await.is_empty(),
        "no profile is made when access fails"
    );
    // The same Create passes once access is healthy, and with the check off it never looks.
    h.set_access(HAIKU, json!({"regionAvailability": "NOT_AVAILABLE"}));
    let body = h
        .invoke(h.event(
            "Create",
            PROFILE,
            "skip-check",
            json!({"ModelSource": HAIKU, "CheckModelAccess": "false"}),
        ))
        .await;
    success(&body);
}

// ---------------------------------------------------------------------------------------------
// Rule 6: duplicate delivery

#[tokio::test]
async fn a_redelivered_create_makes_one_profile() {
    let h = Harness::start().await;
    let ev = h.event(
        "Create",
        PROFILE,
        "dup-1",
        json!({"ModelSource": HAIKU, "ProfileName": "dup"}),
    );
    let first = h.invoke(ev.clone()).await;
    let second = h.invoke(ev).await;
    success(&first);
    success(&second);
    assert_eq!(first["PhysicalResourceId"], second["PhysicalResourceId"]);
    assert_eq!(h.app_profiles().await.len(), 1);
    // A different request under the same explicit name is not adopted.
    let other = h
        .invoke(h.event(
            "Create",
            PROFILE,
            "dup-2",
            json!({"ModelSource": HAIKU, "ProfileName": "dup"}),
        ))
        .await;
    failed_with(&other, "was not created by this request");
    assert_eq!(h.app_profiles().await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Rules 3, 4, 5: the lifecycle

#[tokio::test]
async fn create_then_update_tags_then_replace_then_delete() {
    let h = Harness::start().await;
    let v1 = json!({"ModelSource": HAIKU, "Tags": [{"Key": "team", "Value": "a"}]});
    let created = h
        .invoke(h.event("Create", PROFILE, "life-1", v1.clone()))
        .await;
    success(&created);
    let arn1 = created["PhysicalResourceId"].as_str().unwrap().to_owned();

    // Update (tags): in place, same physical ID.
    let v2 = json!({"ModelSource": HAIKU, "Tags": [{"Key": "team", "Value": "b"}, {"Key": "env", "Value": "dev"}]});
    let mut ev = with_physical(h.event("Update", PROFILE, "life-2", v2.clone()), &arn1);
    ev["OldResourceProperties"] = v1;
    let tagged = h.invoke(ev).await;
    success(&tagged);
    assert_eq!(tagged["PhysicalResourceId"], arn1.as_str());
    let tags = h
        .control
        .list_tags_for_resource()
        .resource_arn(&arn1)
        .send()
        .await
        .unwrap();
    let mut user: Vec<(String, String)> = tags
        .tags()
        .iter()
        .filter(|t| !t.key().starts_with("bedrock-provisioner:"))
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    user.sort();
    assert_eq!(
        user,
        vec![("env".into(), "dev".into()), ("team".into(), "b".into())]
    );

    // Update (replace): a new source makes a new profile with a new generated name.
    let v3 = json!({"ModelSource": format!("us.{HAIKU}"), "Tags": [{"Key": "team", "Value": "b"}]});
    let mut ev = with_physical(h.event("Update", PROFILE, "life-3", v3.clone()), &arn1);
    ev["OldResourceProperties"] = v2;
    let replaced = h.invoke(ev).await;
    success(&replaced);
    let arn2 = replaced["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert_ne!(arn2, arn1);
    assert_ne!(replaced["Data"]["Name"], created["Data"]["Name"]);

    // CloudFormation's cleanup deletes the old one, then the stack deletes the new one.
    for (i, arn) in [&arn1, &arn2].into_iter().enumerate() {
        let body = h
            .invoke(with_physical(
                h.event("Delete", PROFILE, &format!("life-del-{i}"), v3.clone()),
                arn,
            ))
            .await;
        success(&body);
        assert_eq!(body["PhysicalResourceId"], arn.as_str());
    }
    assert!(h.app_profiles().await.is_empty());
}

#[tokio::test]
async fn replacing_under_an_unchanged_explicit_name_says_to_rename() {
    let h = Harness::start().await;
    let v1 = json!({"ModelSource": HAIKU, "ProfileName": "fixed-name"});
    let created = h
        .invoke(h.event("Create", PROFILE, "fixed-1", v1.clone()))
        .await;
    let arn = created["PhysicalResourceId"].as_str().unwrap();
    let mut ev = with_physical(
        h.event(
            "Update",
            PROFILE,
            "fixed-2",
            json!({"ModelSource": format!("us.{HAIKU}"), "ProfileName": "fixed-name"}),
        ),
        arn,
    );
    ev["OldResourceProperties"] = v1;
    let body = h.invoke(ev).await;
    failed_with(&body, "Change ProfileName, or remove it");
    assert_eq!(body["PhysicalResourceId"], arn);
}

#[tokio::test]
async fn delete_after_a_failed_create_is_acknowledged_without_calls() {
    let h = Harness::start().await;
    let failed = h
        .invoke(h.event(
            "Create",
            PROFILE,
            "fc-1",
            json!({"ModelSource": "nope.not-a-model-v1:0"}),
        ))
        .await;
    assert_eq!(failed["Status"], "FAILED");
    let physical = failed["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert_eq!(physical, MARKER);
    let body = h
        .invoke(with_physical(
            h.event("Delete", PROFILE, "fc-2", json!({"ModelSource": "nope"})),
            &physical,
        ))
        .await;
    success(&body);
    assert_eq!(body["PhysicalResourceId"], MARKER);
}

#[tokio::test]
async fn deleting_an_already_deleted_profile_succeeds() {
    let h = Harness::start().await;
    let created = h
        .invoke(h.event("Create", PROFILE, "gone-1", json!({"ModelSource": HAIKU})))
        .await;
    let arn = created["PhysicalResourceId"].as_str().unwrap();
    h.control
        .delete_inference_profile()
        .inference_profile_identifier(arn)
        .send()
        .await
        .unwrap();
    let body = h
        .invoke(with_physical(
            h.event("Delete", PROFILE, "gone-2", json!({})),
            arn,
        ))
        .await;
    success(&body);
}

// ---------------------------------------------------------------------------------------------
// Rules 7, 8, 9: shapes, strings, late parsing

#[tokio::test]
async fn old_property_shapes_on_delete_are_accepted() {
    let h = Harness::start().await;
    let created = h
        .invoke(h.event("Create", PROFILE, "old-1", json!({"ModelSource": HAIKU})))
        .await;
    let arn = created["PhysicalResourceId"].as_str().unwrap();
    let old_shape =
        json!({"InferenceProfileName": "x", "Model": {"Id": HAIKU}, "Tags": {"a": "b"}});
    let body = h
        .invoke(with_physical(
            h.event("Delete", PROFILE, "old-2", old_shape),
            arn,
        ))
        .await;
    success(&body);
    assert!(h.app_profiles().await.is_empty());
}

#[tokio::test]
async fn unknown_properties_are_named_and_service_properties_allowed() {
    let h = Harness::start().await;
    let body = h
        .invoke(h.event(
            "Create",
            PROFILE,
            "unk",
            json!({
                "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:p",
                "ServiceTimeout": "300",
                "ModelSource": HAIKU,
                "Modelsource": HAIKU,
            }),
        ))
        .await;
    failed_with(&body, "unknown property Modelsource");
    let body = h
        .invoke(h.event(
            "Create",
            PROFILE,
            "strings",
            json!({
                "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:p",
                "ServiceTimeout": "300",
                "ModelSource": HAIKU,
                "CheckModelAccess": "true",
            }),
        ))
        .await;
    success(&body);
}

#[tokio::test]
async fn properties_of_the_wrong_type_fail_with_a_reason_naming_them() {
    let h = Harness::start().await;
    let cases = [
        (json!({"ModelSource": 42.5}), "ModelSource"),
        (
            json!({"ModelSource": ["a"]}),
            "ModelSource must be a string",
        ),
        (
            json!({"ModelSource": HAIKU, "Tags": "team=a"}),
            "Tags must be a list",
        ),
        (
            json!({"ModelSource": HAIKU, "CheckModelAccess": "maybe"}),
            "CheckModelAccess",
        ),
        (
            json!({"ModelSource": HAIKU, "ProfileName": "has..dots"}),
            "ProfileName",
        ),
        (json!("not an object"), "must be an object"),
    ];
    for (i, (props, needle)) in cases.into_iter().enumerate() {
        let body = h
            .invoke(h.event("Create", PROFILE, &format!("wrong-{i}"), props))
            .await;
        failed_with(&body, needle);
        assert_eq!(body["PhysicalResourceId"], MARKER);
    }
}

#[tokio::test]
async fn garbage_events_still_get_exactly_one_failed_response() {
    let h = Harness::start().await;
    let url = h.sink.url();
    let cases = [
        json!({"ResponseURL": url}),
        json!({"ResponseURL": url, "RequestType": "Create", "RequestId": 7, "StackId": ["x"]}),
        json!({"ResponseURL": url, "RequestType": "Frobnicate", "StackId": STACK, "RequestId": "g", "LogicalResourceId": "L"}),
        json!({"ResponseURL": url, "RequestType": "Create", "StackId": "not-a-stack", "RequestId": "g", "LogicalResourceId": "L", "ResourceType": PROFILE}),
        json!({"ResponseURL": url, "RequestType": "Create", "StackId": STACK, "RequestId": "g", "LogicalResourceId": "L", "ResourceType": "Custom::Mystery"}),
    ];
    for ev in cases {
        let body = h.invoke(ev).await;
        assert_eq!(body["Status"], "FAILED", "{body}");
    }
    // Without a ResponseURL nothing can be sent: the handler reports it and sends nothing.
    assert!(
        h.provisioner
            .handle(json!({"StackId": STACK}), Duration::from_secs(5))
            .await
            .is_err()
    );
    assert_eq!(h.sink.count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Rules 1 and 2: always respond, in time

#[tokio::test]
async fn a_broken_config_at_init_fails_every_event_with_the_cause() {
    let sink = ResponseSink::start().await;
    let cause = Config::from_lookup(|k| (k == "AWS_REGION").then(|| "mars-central".to_owned()))
        .unwrap_err();
    let init: Result<SdkPlanes, provisioner::Error> = Err(cause);
    let provisioner: Provisioner<SdkPlanes> = Provisioner::new(init, Responder::new());
    for request_type in ["Create", "Update", "Delete"] {
        let ev = json!({
            "RequestType": request_type, "ResponseURL": sink.url(), "StackId": STACK,
            "RequestId": request_type, "LogicalResourceId": "Chat", "ResourceType": PROFILE,
            "PhysicalResourceId": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12",
            "ResourceProperties": {"ModelSource": HAIKU},
        });
        provisioner
            .handle(ev.clone(), Duration::from_secs(10))
            .await
            .unwrap();
        let got = sink.take();
        assert_eq!(got.len(), 1);
        let body = check_protocol(&got[0], &ev);
        failed_with(&body, "could not start");
        failed_with(&body, "mars-central");
        let reason = body["Reason"].as_str().unwrap_or_default();
        assert_eq!(
            reason.matches("could not start").count(),
            1,
            "the cause is stated once: {reason}"
        );
    }
}

#[tokio::test]
async fn the_response_put_is_retried_until_accepted() {
    let h = Harness::start().await;
    *h.sink.reject_first.lock().unwrap() = 2;
    let body = h
        .invoke(h.event(
            "Create",
            PROFILE,
            "put-retry",
            json!({"ModelSource": HAIKU}),
        ))
        .await;
    success(&body);
    // Both refusals were used up, one answer was accepted (checked by `invoke`), and the work
    // behind it was done once: re-sending the answer never re-runs the Create.
    assert_eq!(*h.sink.reject_first.lock().unwrap(), 0);
    let profiles = h.app_profiles().await;
    assert_eq!(profiles.len(), 1, "{profiles:?}");
    assert_eq!(body["PhysicalResourceId"], profiles[0].as_str());
}

/// A Bedrock endpoint that accepts connections and never answers.
async fn silent_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_deadline_too_short_to_finish_gets_failed_in_time() {
    let emulator = Emulator::start(Options::default()).await.unwrap();
    let h = Harness::with_endpoint(emulator, Some(silent_endpoint().await)).await;
    let remaining = Duration::from_millis(2500);
    let started = Instant::now();
    let body = h
        .invoke_within(
            h.event("Create", PROFILE, "slow", json!({"ModelSource": HAIKU})),
            remaining,
        )
        .await;
    let took = started.elapsed();
    failed_with(&body, "timed out");
    assert_eq!(body["PhysicalResourceId"], MARKER);
    assert!(
        took < remaining,
        "the answer took {took:?}, past the {remaining:?} deadline"
    );
}

/// A front that answers ThrottlingException to the first `throttles` requests and forwards the
/// rest to the emulator.
async fn throttling_front(target: SocketAddr, throttles: usize) -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(0usize));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let counter = counter.clone();
                    async move {
                        let n = {
                            let mut c = counter.lock().unwrap();
                            *c += 1;
                            *c
                        };
                        if n <= throttles {
                            return Ok::<_, hyper::Error>(
                                Response::builder()
                                    .status(429)
                                    .header("x-amzn-ErrorType", "ThrottlingException")
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from_static(
                                        br#"{"message":"Too many requests, please wait before trying again."}"#,
                                    )))
                                    .unwrap(),
                            );
                        }
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await?.to_bytes();
                        let upstream = tokio::net::TcpStream::connect(target).await.unwrap();
                        let (mut sender, conn) =
                            hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await?;
                        tokio::spawn(conn);
                        let forwarded = Request::from_parts(parts, Full::new(body));
                        let reply = sender.send_request(forwarded).await?;
                        let (parts, body) = reply.into_parts();
                        let body = body.collect().await?.to_bytes();
                        Ok(Response::from_parts(parts, Full::new(body)))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn a_throttled_control_plane_recovers_within_the_deadline() {
    let emulator = Emulator::start(Options::default()).await.unwrap();
    let (front, seen) = throttling_front(emulator.local_addr(), 5).await;
    let h = Harness::with_endpoint(emulator, Some(front)).await;
    let body = h
        .invoke(h.event(
            "Create",
            PROFILE,
            "throttled",
            json!({"ModelSource": HAIKU}),
        ))
        .await;
    success(&body);
    assert!(
        *seen.lock().unwrap() > 5,
        "the front saw the throttled attempts and the recovery"
    );
    assert_eq!(h.app_profiles().await.len(), 1);
}

/// One logical call makes exactly the policy's attempts on the wire: the SDK's own retries
/// (standard mode in the loaded config, 3 attempts) are off, so they do not multiply ours.
#[tokio::test]
async fn one_logical_call_makes_exactly_the_policy_attempts_on_the_wire() {
    use provisioner::control::{ControlPlane, Planes};
    use shared::deadline::Deadline;
    use shared::retry::{GaveUp, RetryPolicy, retry};

    let emulator = Emulator::start(Options::default()).await.unwrap();
    let (front, seen) = throttling_front(emulator.local_addr(), usize::MAX).await;
    let planes = SdkPlanes::from_sdk_config(&sdk_config(&front));
    let plane = planes.for_region(REGION);
    for max_attempts in [1, 4] {
        *seen.lock().unwrap() = 0;
        let policy = RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        };
        let err = retry(
            &policy,
            Deadline::unbounded(),
            "GetFoundationModel",
            |e: &shared::aws::AwsError| e.is_retryable(),
            |_| plane.get_foundation_model(HAIKU),
        )
        .await
        .unwrap_err();
        assert_eq!(err.gave_up, GaveUp::Exhausted, "{err}");
        assert_eq!(err.attempts, max_attempts);
        assert_eq!(
            *seen.lock().unwrap(),
            max_attempts,
            "requests on the wire for {max_attempts} attempts"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Custom::BedrockInvocationLogging

fn logging_props(group: &str) -> Value {
    json!({
        "LogGroupName": group,
        "RoleArn": "arn:aws:iam::123456789012:role/bedrock-logging",
        "TextDataDeliveryEnabled": "true",
        "ImageDataDeliveryEnabled": "false",
    })
}

async fn live_group(h: &Harness) -> Option<String> {
    h.control
        .get_model_invocation_logging_configuration()
        .send()
        .await
        .unwrap()
        .logging_config()
        .and_then(|c| c.cloud_watch_config())
        .map(|c| c.log_group_name().to_owned())
}

#[tokio::test]
async fn logging_create_update_delete_round_trip() {
    let h = Harness::start().await;
    let created = h
        .invoke(h.event("Create", LOGGING, "log-1", logging_props("/ours/v1")))
        .await;
    success(&created);
    let physical = format!("bedrock-invocation-logging:{ACCOUNT}:{REGION}");
    assert_eq!(created["PhysicalResourceId"], physical.as_str());
    assert_eq!(created["Data"]["LogGroupName"], "/ours/v1");
    assert_eq!(live_group(&h).await.as_deref(), Some("/ours/v1"));

    let mut ev = with_physical(
        h.event("Update", LOGGING, "log-2", logging_props("/ours/v2")),
        &physical,
    );
    ev["OldResourceProperties"] = logging_props("/ours/v1");
    let updated = h.invoke(ev).await;
    success(&updated);
    assert_eq!(updated["PhysicalResourceId"], physical.as_str());
    assert_eq!(live_group(&h).await.as_deref(), Some("/ours/v2"));

    let deleted = h
        .invoke(with_physical(
            h.event("Delete", LOGGING, "log-3", logging_props("/ours/v2")),
            &physical,
        ))
        .await;
    success(&deleted);
    assert_eq!(live_group(&h).await, None);
}

#[tokio::test]
async fn logging_set_by_someone_else_is_kept_unless_replace_existing() {
    let h = Harness::start().await;
    let theirs = aws_sdk_bedrock::types::LoggingConfig::builder()
        .cloud_watch_config(
            aws_sdk_bedrock::types::CloudWatchConfig::builder()
                .log_group_name("/theirs")
                .role_arn("arn:aws:iam::123456789012:role/theirs")
                .build()
                .unwrap(),
        )
        .text_data_delivery_enabled(true)
        .build();
    h.control
        .put_model_invocation_logging_configuration()
        .logging_config(theirs)
        .send()
        .await
        .unwrap();

    let body = h
        .invoke(h.event("Create", LOGGING, "take-1", logging_props("/ours")))
        .await;
    failed_with(&body, "ReplaceExisting");
    assert_eq!(live_group(&h).await.as_deref(), Some("/theirs"));

    let mut props = logging_props("/ours");
    props["ReplaceExisting"] = json!("true");
    let body = h
        .invoke(h.event("Create", LOGGING, "take-2", props.clone()))
        .await;
    success(&body);
    assert_eq!(live_group(&h).await.as_deref(), Some("/ours"));

    // Someone changes it again; our Delete leaves their configuration alone.
    let physical = body["PhysicalResourceId"].as_str().unwrap();
    let again = aws_sdk_bedrock::types::LoggingConfig::builder()
        .cloud_watch_config(
            aws_sdk_bedrock::types::CloudWatchConfig::builder()
                .log_group_name("/theirs-again")
                .role_arn("arn:aws:iam::123456789012:role/theirs")
                .build()
                .unwrap(),
        )
        .build();
    h.control
        .put_model_invocation_logging_configuration()
        .logging_config(again)
        .send()
        .await
        .unwrap();
    let body = h
        .invoke(with_physical(
            h.event("Delete", LOGGING, "take-3", props),
            physical,
        ))
        .await;
    success(&body);
    assert_eq!(live_group(&h).await.as_deref(), Some("/theirs-again"));
}

// ---------------------------------------------------------------------------------------------
// The event files

#[tokio::test]
async fn every_event_file_replays_through_the_handler() {
    let h = Harness::start().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/provisioner");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 6,
        "expected the event files in {}",
        dir.display()
    );
    for path in names {
        let mut ev: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(
            ev["ResponseURL"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:"),
            "{} must answer to loopback",
            path.display()
        );
        ev["ResponseURL"] = json!(h.sink.url());
        let body = h.invoke(ev).await;
        success(&body);
        eprintln!(
            "{}: {}",
            path.file_name().unwrap().to_string_lossy(),
            body["PhysicalResourceId"]
        );
    }
}

#[tokio::test]
async fn an_event_whose_response_url_is_not_cloudformations_is_refused_before_any_work() {
    let h = Harness::start().await;
    for url in [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://collector.example/put?X-Amz-Signature=abc",
    ] {
        let mut event = h.event(
            "Create",
            PROFILE,
            "create-elsewhere",
            json!({"ModelSource": HAIKU}),
        );
        event["ResponseURL"] = json!(url);
        let err = h
            .provisioner
            .handle(event, Duration::from_secs(60))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is refused"), "{err}");
        assert!(!err.to_string().contains("X-Amz-Signature"), "{err}");
    }
    assert!(h.app_profiles().await.is_empty(), "no profile was created");
    assert_eq!(h.sink.count(), 0, "nothing was sent anywhere");
    h.emulator.shutdown().await;
}
