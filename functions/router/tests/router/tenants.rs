//! Many teams on one router: API keys (with rotation), each tenant's own profiles, and failover
//! across a model's profiles, against the in-process local Bedrock through the real SDK.

use super::*;
use router::RouterParts;
use router::attempt::RetryPolicy;
use router::auth::{AuthMode, Authenticator};
use shared::tenants::KeyHash;
use shared::tenants::TenantsConfig;

struct Tenants {
    emulator: RunningEmulator,
    sdk: SdkConfig,
    shared_arn: String,
    a_east: String,
    a_west: String,
    b_arn: String,
}

async fn create_profile(url: &str, region: &str, name: &str) -> String {
    aws_sdk_bedrock::Client::new(&sdk_config_in(url, region))
        .create_inference_profile()
        .inference_profile_name(name)
        .model_source(
            aws_sdk_bedrock::types::InferenceProfileModelSource::CopyFrom(format!(
                "arn:aws:bedrock:{region}:123456789012:inference-profile/{SONNET}"
            )),
        )
        .send()
        .await
        .unwrap()
        .inference_profile_arn()
        .to_owned()
}

async fn profiles() -> Tenants {
    set_local_env();
    let emulator = Emulator::start(Options::default()).await.unwrap();
    let url = emulator.url();
    Tenants {
        sdk: sdk_config(&url),
        shared_arn: create_profile(&url, REGION, "shared-sonnet").await,
        a_east: create_profile(&url, REGION, "team-a-east").await,
        a_west: create_profile(&url, "us-west-2", "team-a-west").await,
        b_arn: create_profile(&url, REGION, "team-b").await,
        emulator,
    }
}

impl Tenants {
    /// The profile document with team-a holding `a_keys`, team-b the key `b-key`.
    fn document(&self, a_keys: &[&str]) -> String {
        let a_hashes: Vec<String> = a_keys
            .iter()
            .map(|k| format!("\"{}\"", KeyHash::of(k).to_hex()))
            .collect();
        format!(
            "models: [\"{SONNET}\"]\ninferenceProfiles:\n  \"{SONNET}\": \"{}\"\ndefaultRegion: {REGION}\n\
             tenants:\n  team-a:\n    apiKeys: [{}]\n    inferenceProfiles:\n      \"{SONNET}\": \"{}\"\n    additionalInferenceProfiles:\n      \"{SONNET}\": [\"{}\"]\n\
             \x20 team-b:\n    apiKeys: [\"{}\"]\n    inferenceProfiles:\n      \"{SONNET}\": \"{}\"\n",
            self.shared_arn,
            a_hashes.join(", "),
            self.a_east,
            self.a_west,
            KeyHash::of("b-key").to_hex(),
            self.b_arn
        )
    }

    fn router(&self, a_keys: &[&str], sink: &MemorySink) -> Router<SdkBedrock, ProfileDirectory> {
        let doc = self.document(a_keys);
        let config = ProfileConfig::parse(&doc, |_| None).unwrap();
        let tenants = TenantsConfig::parse(&doc, &config, |_| None).unwrap();
        Router::with_tenants(
            RouterParts {
                bedrock: SdkBedrock::new(self.sdk.clone()),
                shared: ProfileDirectory::new(ProfileMap::new(&config)),
                auth: Authenticator::new(AuthMode::ApiKey, tenants).unwrap(),
                sink: Arc::new(sink.clone()),
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                retry: RetryPolicy::default(),
            },
            |t| ProfileDirectory::new(TenantsConfig::profile_map(t)),
        )
    }
}

async fn send(
    router: &Router<SdkBedrock, ProfileDirectory>,
    path: &str,
    auth: Option<(&str, &str)>,
    body: &Value,
) -> (StatusCode, http::HeaderMap, String) {
    let mut req = request("POST", path, body);
    if let Some((name, value)) = auth {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    let response = router.handle(req).await;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

fn bearer(key: &str) -> Option<(&'static str, String)> {
    Some(("authorization", format!("Bearer {key}")))
}

async fn chat_as(
    router: &Router<SdkBedrock, ProfileDirectory>,
    key: &str,
    body: &Value,
) -> (StatusCode, http::HeaderMap, String) {
    let auth = bearer(key);
    send(
        router,
        "/v1/chat/completions",
        auth.as_ref().map(|(n, v)| (*n, v.as_str())),
        body,
    )
    .await
}

#[tokio::test]
async fn each_tenant_is_served_through_its_own_profiles_and_named_in_the_metrics() {
    let t = profiles().await;
    let sink = MemorySink::default();
    let router = t.router(&["a-key-1"], &sink);
    let mut a_profiles = std::collections::HashSet::new();
    for _ in 0..2 {
        let (status, headers, body) = chat_as(&router, "a-key-1", &chat(SONNET, "from a")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["x-router-tenant"], "team-a");
        a_profiles.insert(headers["x-router-profile"].to_str().unwrap().to_owned());
    }
    assert_eq!(
        a_profiles,
        [t.a_east.clone(), t.a_west.clone()].into_iter().collect(),
        "team-a's calls alternate over its two profiles"
    );
    let (status, headers, body) = send(
        &router,
        &format!("/model/{SONNET}/converse"),
        Some(("x-api-key", "b-key")),
        &json!({"messages": [{"role": "user", "content": [{"text": "from b"}]}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["x-router-tenant"], "team-b");
    assert_eq!(headers["x-router-profile"], t.b_arn.as_str());
    let tenants: Vec<String> = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["Tenant"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(tenants, vec!["team-a", "team-a", "team-b"]);
    t.emulator.shutdown().await;
}

#[tokio::test]
async fn both_keys_work_during_rotation_and_a_removed_key_gets_401() {
    let t = profiles().await;
    let sink = MemorySink::default();
    let rotating = t.router(&["a-key-old", "a-key-new"], &sink);
    for key in ["a-key-old", "a-key-new"] {
        let (status, headers, body) = chat_as(&rotating, key, &chat(SONNET, "rotate")).await;
        assert_eq!(status, StatusCode::OK, "{key}: {body}");
        assert_eq!(headers["x-router-tenant"], "team-a");
    }
    let rotated = t.router(&["a-key-new"], &sink);
    let (status, _, body) = chat_as(&rotated, "a-key-old", &chat(SONNET, "rotate")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _, _) = chat_as(&rotated, "a-key-new", &chat(SONNET, "rotate")).await;
    assert_eq!(status, StatusCode::OK);
    t.emulator.shutdown().await;
}

#[tokio::test]
async fn a_wrong_key_and_a_missing_key_get_the_same_401() {
    let t = profiles().await;
    let router = t.router(&["a-key-1"], &MemorySink::default());
    let body = chat(SONNET, "who am i");
    let (wrong, wrong_headers, wrong_body) = chat_as(&router, "a-key-2", &body).await;
    let (missing, _, missing_body) = send(&router, "/v1/chat/completions", None, &body).await;
    let (empty, _, empty_body) = send(
        &router,
        "/v1/chat/completions",
        Some(("x-api-key", " ")),
        &body,
    )
    .await;
    assert_eq!(wrong, StatusCode::UNAUTHORIZED);
    assert_eq!(missing, StatusCode::UNAUTHORIZED);
    assert_eq!(empty, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_body, missing_body);
    assert_eq!(wrong_body, empty_body);
    assert_eq!(wrong_headers["www-authenticate"], "Bearer");
    let v: Value = serde_json::from_str(&wrong_body).unwrap();
    assert_eq!(v["error"]["code"], "invalid_api_key");
    assert!(!wrong_body.contains("team-"), "{wrong_body}");
    // The native route refuses the same way, in Bedrock's dialect; /v1/models too.
    let (status, headers, _) = send(
        &router,
        &format!("/model/{SONNET}/converse"),
        None,
        &json!({"messages": [{"role": "user", "content": [{"text": "x"}]}]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["x-amzn-ErrorType"], "AccessDeniedException");
    let response = router
        .handle(request("GET", "/v1/models", &Value::Null))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Health stays open for probes.
    let response = router.handle(request("GET", "/health", &Value::Null)).await;
    assert_eq!(response.status(), StatusCode::OK);
    t.emulator.shutdown().await;
}

#[tokio::test]
async fn throttling_on_one_profile_moves_traffic_to_the_other_with_no_failed_call() {
    let t = profiles().await;
    let sink = MemorySink::default();
    let router = t.router(&["a-key-1"], &sink);
    let (status, _) = admin_exchange(
        &t.emulator.url(),
        "POST",
        "/_emulator/runtime/faults",
        json!({"kind": "throttling", "model": t.a_east}),
    )
    .await;
    assert_eq!(status, 201);
    let mut streamed = chat(SONNET, "stream while throttled");
    streamed["stream"] = json!(true);
    for i in 0..8 {
        let body = if i % 2 == 0 {
            chat(SONNET, "while throttled")
        } else {
            streamed.clone()
        };
        let (status, headers, text) = chat_as(&router, "a-key-1", &body).await;
        assert_eq!(status, StatusCode::OK, "call {i}: {text}");
        assert_eq!(headers["x-router-profile"], t.a_west.as_str(), "call {i}");
        assert_eq!(headers["x-router-region"], "us-west-2");
        assert!(!text.contains("\"error\""), "call {i}: {text}");
    }
    let attempts: Vec<f64> = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["Attempts"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert!(
        attempts.contains(&2.0),
        "some calls failed over: {attempts:?}"
    );
    assert!(attempts.iter().all(|a| *a <= 2.0), "{attempts:?}");
    t.emulator.shutdown().await;
}

#[tokio::test]
async fn a_stream_that_already_delivered_data_is_not_sent_again() {
    let t = profiles().await;
    let router = t.router(&["a-key-1"], &MemorySink::default());
    let (status, _) = admin_exchange(
        &t.emulator.url(),
        "POST",
        "/_emulator/runtime/faults",
        json!({"kind": "stream-error", "code": "ThrottlingException", "afterEvents": 3, "count": 2}),
    )
    .await;
    assert_eq!(status, 201);
    let mut body = chat(SONNET, "a long answer that breaks");
    body["stream"] = json!(true);
    let (status, headers, text) = chat_as(&router, "a-key-1", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-router-attempts"], "1");
    let last: Value = serde_json::from_str(&sse_data(&text).pop().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "rate_limit_error", "{text}");
    // A re-send would have used the rule's second firing.
    let (_, rules) = admin_exchange(
        &t.emulator.url(),
        "GET",
        "/_emulator/runtime/faults",
        Value::Null,
    )
    .await;
    assert!(rules.contains("\"remaining\":1"), "{rules}");
    t.emulator.shutdown().await;
}

#[tokio::test]
async fn client_errors_are_answered_at_once_without_failover() {
    let t = profiles().await;
    let router = t.router(&["a-key-1"], &MemorySink::default());
    for (code, expected) in [
        ("ValidationException", StatusCode::BAD_REQUEST),
        ("AccessDeniedException", StatusCode::FORBIDDEN),
    ] {
        admin_exchange(
            &t.emulator.url(),
            "POST",
            "/_emulator/runtime/faults",
            json!({"kind": "error", "code": code, "count": 1}),
        )
        .await;
        let (status, headers, text) = chat_as(&router, "a-key-1", &chat(SONNET, "bad")).await;
        assert_eq!(status, expected, "{code}: {text}");
        assert_eq!(headers["x-router-attempts"], "1", "{code}");
    }
    t.emulator.shutdown().await;
}
