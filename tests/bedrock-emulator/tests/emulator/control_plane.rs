//! The control plane driven by the real Rust SDK (`aws-sdk-bedrock`) against an in-process
//! emulator on a free loopback port. The SDK accepts answers that lack required fields, so
//! every test asserts on values.

use std::io::Write;
use std::time::{Duration, Instant};

use aws_sdk_bedrock as bedrock;
use aws_sdk_bedrock::error::ProvideErrorMetadata;
use aws_sdk_bedrock::types::{
    InferenceProfileModelSource, InferenceProfileType, InferenceType, LoggingConfig, ModelModality,
    Tag,
};
use bedrock_emulator::state::{AgreementStatus, AuthorizationStatus};
use bedrock_emulator::{Emulator, Options, RunningEmulator};

use crate::set_local_env;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCOUNT: &str = "123456789012";
const SONNET_45: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const SONNET_45_FM: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const NOVA: &str = "us.amazon.nova-pro-v1:0";

async fn start() -> RunningEmulator {
    set_local_env();
    Emulator::start(Options::default()).await.unwrap()
}

fn client(emulator: &RunningEmulator, region: &str) -> bedrock::Client {
    crate::bedrock_client(&emulator.url(), region, crate::ACCESS_KEY)
}

fn system_arn(region: &str, id: &str) -> String {
    format!("arn:aws:bedrock:{region}:{ACCOUNT}:inference-profile/{id}")
}

fn source(arn: &str) -> InferenceProfileModelSource {
    InferenceProfileModelSource::CopyFrom(arn.to_string())
}

async fn create(client: &bedrock::Client, name: &str, from: &str) -> String {
    client
        .create_inference_profile()
        .inference_profile_name(name)
        .model_source(source(from))
        .send()
        .await
        .unwrap()
        .inference_profile_arn
}

/// One raw HTTP/1.1 exchange: (status, lower-cased headers, body).
async fn raw(emulator: &RunningEmulator, request: &str) -> (u16, Vec<(String, String)>, String) {
    let mut stream = tokio::net::TcpStream::connect(emulator.local_addr())
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn admin(emulator: &RunningEmulator, method: &str, path: &str, body: &str) -> (u16, String) {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, _, body) = raw(emulator, &request).await;
    (status, body)
}

#[tokio::test]
async fn system_profiles_are_listed_with_their_destination_models() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let out = c.list_inference_profiles().send().await.unwrap();
    let profiles = out.inference_profile_summaries();
    assert!(out.next_token().is_none());
    for id in [
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        SONNET_45,
        "global.anthropic.claude-opus-4-5-20251101-v1:0",
        NOVA,
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "us.meta.llama3-3-70b-instruct-v1:0",
    ] {
        assert!(
            profiles.iter().any(|p| p.inference_profile_id() == id),
            "{id} missing"
        );
    }
    assert!(
        profiles
            .iter()
            .all(|p| p.r#type() == &InferenceProfileType::SystemDefined)
    );
    let sonnet = profiles
        .iter()
        .find(|p| p.inference_profile_id() == SONNET_45)
        .unwrap();
    assert_eq!(
        sonnet.inference_profile_arn(),
        system_arn("us-east-1", SONNET_45)
    );
    assert_eq!(
        sonnet.inference_profile_name(),
        "US Anthropic Claude Sonnet 4.5"
    );
    assert_eq!(sonnet.status().as_str(), "ACTIVE");
    let regions: Vec<&str> = sonnet
        .models()
        .iter()
        .map(|m| m.model_arn().unwrap().split(':').nth(3).unwrap())
        .collect();
    assert_eq!(
        regions,
        ["us-east-1", "us-east-2", "us-west-1", "us-west-2"]
    );
    assert!(sonnet.created_at().is_some());
    emulator.shutdown().await;
}

#[tokio::test]
async fn get_accepts_a_system_profile_by_id_and_by_arn() {
    let emulator = start().await;
    let c = client(&emulator, "us-west-2");
    let by_id = c
        .get_inference_profile()
        .inference_profile_identifier(NOVA)
        .send()
        .await
        .unwrap();
    let by_arn = c
        .get_inference_profile()
        .inference_profile_identifier(system_arn("us-west-2", NOVA))
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.inference_profile_arn(), system_arn("us-west-2", NOVA));
    assert_eq!(by_arn.inference_profile_id(), NOVA);
    assert_eq!(by_arn.models().len(), 3);
    assert_eq!(
        by_arn.description(),
        Some("Routes requests to Nova Pro in us-east-1, us-east-2 and us-west-2.")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_application_profile_is_created_read_listed_and_deleted() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let created = c
        .create_inference_profile()
        .inference_profile_name("team-sonnet")
        .description("Sonnet for the search team")
        .model_source(source(&system_arn("us-east-1", SONNET_45)))
        .send()
        .await
        .unwrap();
    let arn = created.inference_profile_arn().to_string();
    let id = arn.rsplit('/').next().unwrap().to_string();
    assert!(arn.starts_with(&format!(
        "arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/"
    )));
    assert_eq!(id.len(), 12);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    );
    assert_eq!(created.status().map(|s| s.as_str()), Some("ACTIVE"));

    // The SDK percent-encodes the ARN (`%3A`, `%2F`) in the path.
    let got = c
        .get_inference_profile()
        .inference_profile_identifier(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.inference_profile_name(), "team-sonnet");
    assert_eq!(got.description(), Some("Sonnet for the search team"));
    assert_eq!(got.inference_profile_id(), id);
    assert_eq!(got.r#type(), &InferenceProfileType::Application);
    let system = c
        .get_inference_profile()
        .inference_profile_identifier(SONNET_45)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.models(),
        system.models(),
        "models mirror the system profile"
    );
    assert!(got.created_at().is_some() && got.updated_at().is_some());
    let by_id = c
        .get_inference_profile()
        .inference_profile_identifier(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.inference_profile_arn(), arn);

    let listed = c
        .list_inference_profiles()
        .type_equals(InferenceProfileType::Application)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = listed
        .inference_profile_summaries()
        .iter()
        .map(|p| p.inference_profile_id())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    let default_listing = c.list_inference_profiles().send().await.unwrap();
    assert!(
        default_listing
            .inference_profile_summaries()
            .iter()
            .all(|p| p.inference_profile_id() != id)
    );

    c.delete_inference_profile()
        .inference_profile_identifier(&arn)
        .send()
        .await
        .unwrap();
    let err = c
        .get_inference_profile()
        .inference_profile_identifier(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = c
        .delete_inference_profile()
        .inference_profile_identifier(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_profile_copied_from_a_foundation_model_is_single_region() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let fm = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";
    let arn = create(&c, "haiku", fm).await;
    let got = c
        .get_inference_profile()
        .inference_profile_identifier(&arn)
        .send()
        .await
        .unwrap();
    let models: Vec<&str> = got.models().iter().filter_map(|m| m.model_arn()).collect();
    assert_eq!(models, [fm]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_same_client_request_token_returns_the_same_profile() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let mut arns = Vec::new();
    for _ in 0..2 {
        let out = c
            .create_inference_profile()
            .inference_profile_name("once")
            .client_request_token("deploy-42")
            .model_source(source(&system_arn("us-east-1", NOVA)))
            .send()
            .await
            .unwrap();
        arns.push(out.inference_profile_arn);
    }
    assert_eq!(arns[0], arns[1]);
    let listed = c
        .list_inference_profiles()
        .type_equals(InferenceProfileType::Application)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.inference_profile_summaries().len(), 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_name_is_a_conflict() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    create(&c, "dup", &system_arn("us-east-1", NOVA)).await;
    let err = c
        .create_inference_profile()
        .inference_profile_name("dup")
        .model_source(source(&system_arn("us-east-1", SONNET_45)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    assert!(err.into_service_error().is_conflict_exception());
    emulator.shutdown().await;
}

#[tokio::test]
async fn copy_sources_must_be_catalogued_models_or_system_profiles() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let app = create(&c, "base", &system_arn("us-east-1", NOVA)).await;
    let err = c
        .create_inference_profile()
        .inference_profile_name("from-app")
        .model_source(source(&app))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert!(
        err.message().unwrap().contains("'modelSource.copyFrom'"),
        "{:?}",
        err.message()
    );

    let err = c
        .create_inference_profile()
        .inference_profile_name("from-nothing")
        .model_source(source(&system_arn("us-east-1", "us.acme.nothing-v1:0")))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());

    let err = c
        .create_inference_profile()
        .inference_profile_name("from-eu")
        .model_source(source(&system_arn("us-east-1", "eu.amazon.nova-pro-v1:0")))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_system_defined_profile_cannot_be_deleted() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let err = c
        .delete_inference_profile()
        .inference_profile_identifier(NOVA)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert!(
        c.get_inference_profile()
            .inference_profile_identifier(NOVA)
            .send()
            .await
            .is_ok()
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_server_enforces_lengths_patterns_and_enums() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let from = system_arn("us-east-1", NOVA);
    let cases: Vec<(String, Option<Tag>, &str)> = vec![
        (
            "a".repeat(65),
            None,
            "Value '{name}' at 'inferenceProfileName' failed to satisfy constraint: Member must have length less than or equal to 64",
        ),
        (
            "bad..name".to_string(),
            None,
            "at 'inferenceProfileName' failed to satisfy constraint: Member must satisfy regular expression pattern: ([0-9a-zA-Z][ _-]?)+",
        ),
        (
            "ok".to_string(),
            Some(Tag::builder().key("bad#key").value("v").build().unwrap()),
            "at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern",
        ),
        (
            "ok".to_string(),
            Some(
                Tag::builder()
                    .key("k")
                    .value("x".repeat(257))
                    .build()
                    .unwrap(),
            ),
            "at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256",
        ),
    ];
    for (name, tag, expected) in cases {
        let err = c
            .create_inference_profile()
            .inference_profile_name(&name)
            .model_source(source(&from))
            .set_tags(tag.map(|t| vec![t]))
            .send()
            .await
            .unwrap_err();
        let message = err.message().unwrap_or_default().to_string();
        assert_eq!(err.code(), Some("ValidationException"));
        assert!(
            message.starts_with("1 validation error detected: "),
            "{message}"
        );
        assert!(
            message.contains(&expected.replace("{name}", &name)),
            "{message}"
        );
    }

    let err = c
        .list_inference_profiles()
        .type_equals(InferenceProfileType::from("BOGUS"))
        .send()
        .await
        .unwrap_err();
    assert!(err.message().unwrap().contains("Value 'BOGUS' at 'typeEquals' failed to satisfy constraint: Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]"));
    // The SDK in use predates projectIdentifier; send it as a newer client would.
    let signed = "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=0";
    let (status, headers, body) = raw(
        &emulator,
        &format!("GET /inference-profiles?projectIdentifier=not%20a%20project HTTP/1.1\r\nHost: localhost\r\n{signed}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        header(&headers, "x-amzn-errortype")
            .unwrap()
            .starts_with("ValidationException:")
    );
    assert!(body.contains("at 'projectIdentifier'"), "{body}");
    let (status, _, _) = raw(
        &emulator,
        &format!("GET /inference-profiles?projectIdentifier=default HTTP/1.1\r\nHost: localhost\r\n{signed}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 200);
    for (max, bound) in [
        (0, "greater than or equal to 1"),
        (5000, "less than or equal to 1000"),
    ] {
        let err = c
            .list_inference_profiles()
            .max_results(max)
            .send()
            .await
            .unwrap_err();
        let message = err.message().unwrap();
        assert!(
            message.contains(&format!("Value '{max}' at 'maxResults'")) && message.contains(bound),
            "{message}"
        );
    }
    let err = c
        .get_foundation_model()
        .model_identifier("Not A Model")
        .send()
        .await
        .unwrap_err();
    assert!(err.message().unwrap().contains("at 'modelIdentifier'"));
    let err = c
        .put_model_invocation_logging_configuration()
        .logging_config(
            LoggingConfig::builder()
                .cloud_watch_config(
                    bedrock::types::CloudWatchConfig::builder()
                        .log_group_name("g")
                        .role_arn("not-a-role")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(
        err.message()
            .unwrap()
            .contains("at 'loggingConfig.cloudWatchConfig.roleArn'")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn lists_page_with_opaque_tokens_in_creation_order() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let mut arns = Vec::new();
    for i in 0..5 {
        arns.push(create(&c, &format!("p{i}"), &system_arn("us-east-1", NOVA)).await);
    }
    let mut seen = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let out = c
            .list_inference_profiles()
            .type_equals(InferenceProfileType::Application)
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(out.inference_profile_summaries().len() <= 2);
        seen.extend(
            out.inference_profile_summaries()
                .iter()
                .map(|p| p.inference_profile_arn().to_string()),
        );
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, arns);

    let all_system: Vec<String> = c
        .list_inference_profiles()
        .max_results(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.inference_profile_id)
        .collect();
    let at_once: Vec<String> = c
        .list_inference_profiles()
        .send()
        .await
        .unwrap()
        .inference_profile_summaries
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.inference_profile_id)
        .collect();
    assert_eq!(all_system, at_once);

    let err = c
        .list_inference_profiles()
        .type_equals(InferenceProfileType::Application)
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn tags_are_stored_added_removed_and_listed() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    let arn = c
        .create_inference_profile()
        .inference_profile_name("tagged")
        .model_source(source(&system_arn("us-east-1", NOVA)))
        .tags(tag("team", "search"))
        .tags(tag("cost-center", "42"))
        .send()
        .await
        .unwrap()
        .inference_profile_arn;
    let pairs = |out: bedrock::operation::list_tags_for_resource::ListTagsForResourceOutput| {
        out.tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect::<Vec<_>>()
    };
    let listed = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        pairs(listed),
        [
            ("cost-center".into(), "42".into()),
            ("team".into(), "search".into())
        ]
    );
    c.tag_resource()
        .resource_arn(&arn)
        .tags(tag("team", "ads"))
        .tags(tag("env", "dev"))
        .send()
        .await
        .unwrap();
    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("cost-center")
        .send()
        .await
        .unwrap();
    let listed = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        pairs(listed),
        [("env".into(), "dev".into()), ("team".into(), "ads".into())]
    );

    let missing =
        format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/zzzzzzzzzzzz");
    let err = c
        .tag_resource()
        .resource_arn(&missing)
        .tags(tag("a", "b"))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    let too_many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    let err = c
        .tag_resource()
        .resource_arn(&arn)
        .set_tags(Some(too_many))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_too_many_tags_exception());
    emulator.shutdown().await;
}

#[tokio::test]
async fn foundation_models_report_how_they_can_be_invoked() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let sonnet = c
        .get_foundation_model()
        .model_identifier(SONNET_45_FM)
        .send()
        .await
        .unwrap();
    let details = sonnet.model_details().unwrap();
    assert_eq!(details.model_name(), Some("Claude Sonnet 4.5"));
    assert_eq!(details.provider_name(), Some("Anthropic"));
    assert_eq!(
        details.inference_types_supported(),
        [InferenceType::from("INFERENCE_PROFILE")]
    );
    assert_eq!(details.response_streaming_supported(), Some(true));
    assert_eq!(
        details.model_lifecycle().map(|l| l.status().as_str()),
        Some("LEGACY")
    );

    let by_arn = c
        .get_foundation_model()
        .model_identifier("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0")
        .send()
        .await
        .unwrap();
    let nova = by_arn.model_details().unwrap();
    assert_eq!(nova.model_id(), "amazon.nova-pro-v1:0");
    assert!(
        nova.inference_types_supported()
            .contains(&InferenceType::OnDemand)
    );

    let anthropic = c
        .list_foundation_models()
        .by_provider("anthropic")
        .send()
        .await
        .unwrap();
    assert!(anthropic.model_summaries().len() >= 5);
    assert!(
        anthropic
            .model_summaries()
            .iter()
            .all(|m| m.provider_name() == Some("Anthropic"))
    );
    let on_demand = c
        .list_foundation_models()
        .by_inference_type(InferenceType::OnDemand)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = on_demand
        .model_summaries()
        .iter()
        .map(|m| m.model_id())
        .collect();
    assert!(
        ids.contains(&"amazon.nova-pro-v1:0")
            && ids.contains(&"anthropic.claude-3-haiku-20240307-v1:0")
    );
    assert!(!ids.contains(&SONNET_45_FM));
    let text = c
        .list_foundation_models()
        .by_output_modality(ModelModality::Text)
        .send()
        .await
        .unwrap();
    assert_eq!(text.model_summaries().len(), 15);

    let err = c
        .get_foundation_model()
        .model_identifier("acme.nothing-v1:0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(
        err.message(),
        Some("The provided model identifier is invalid.")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn model_access_states_are_set_by_the_admin_route_and_reset() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let out = c
        .get_foundation_model_availability()
        .model_id(SONNET_45)
        .send()
        .await
        .unwrap();
    assert_eq!(out.model_id(), SONNET_45);
    assert_eq!(
        out.agreement_availability().unwrap().status().as_str(),
        "AVAILABLE"
    );
    assert_eq!(out.authorization_status().as_str(), "AUTHORIZED");
    assert_eq!(out.entitlement_availability().as_str(), "AVAILABLE");
    assert_eq!(out.region_availability().as_str(), "AVAILABLE");

    let (status, body) = admin(
        &emulator,
        "PUT",
        "/_emulator/model-access/anthropic.claude-sonnet-4-5-20250929-v1:0?region=us-east-1",
        r#"{"agreementAvailability":{"status":"ERROR","errorMessage":"Payment instrument declined"},"authorizationStatus":"NOT_AUTHORIZED"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let out = c
        .get_foundation_model_availability()
        .model_id(SONNET_45_FM)
        .send()
        .await
        .unwrap();
    let agreement = out.agreement_availability().unwrap();
    assert_eq!(agreement.status().as_str(), "ERROR");
    assert_eq!(
        agreement.error_message(),
        Some("Payment instrument declined")
    );
    assert_eq!(out.authorization_status().as_str(), "NOT_AUTHORIZED");
    let model = emulator
        .state()
        .runtime_model("us-east-1", SONNET_45)
        .unwrap();
    assert_eq!(model.access.agreement, AgreementStatus::Error);
    assert_eq!(
        model.access.authorization,
        AuthorizationStatus::NotAuthorized
    );
    assert!(!model.access.is_invocable());
    let west = client(&emulator, "us-west-2");
    let out = west
        .get_foundation_model_availability()
        .model_id(SONNET_45)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.authorization_status().as_str(),
        "AUTHORIZED",
        "other regions keep their state"
    );

    let (status, _) = admin(&emulator, "POST", "/_emulator/reset", "").await;
    assert_eq!(status, 200);
    let out = c
        .get_foundation_model_availability()
        .model_id(SONNET_45)
        .send()
        .await
        .unwrap();
    assert_eq!(out.authorization_status().as_str(), "AUTHORIZED");
    let (status, body) = admin(
        &emulator,
        "PUT",
        "/_emulator/model-access/amazon.nova-pro-v1:0",
        r#"{"regionAvailability":"MAYBE"}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_invocation_logging_configuration_is_put_read_and_deleted() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let out = c
        .get_model_invocation_logging_configuration()
        .send()
        .await
        .unwrap();
    assert!(out.logging_config().is_none());
    assert!(emulator.state().logging_config("us-east-1").is_none());
    c.put_model_invocation_logging_configuration()
        .logging_config(
            LoggingConfig::builder()
                .cloud_watch_config(
                    bedrock::types::CloudWatchConfig::builder()
                        .log_group_name("/bedrock/invocations")
                        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/BedrockLogging"))
                        .build()
                        .unwrap(),
                )
                .text_data_delivery_enabled(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let out = c
        .get_model_invocation_logging_configuration()
        .send()
        .await
        .unwrap();
    let config = out.logging_config().unwrap();
    assert_eq!(
        config.cloud_watch_config().unwrap().log_group_name(),
        "/bedrock/invocations"
    );
    assert_eq!(config.text_data_delivery_enabled(), Some(true));
    let stored = emulator.state().logging_config("us-east-1").unwrap();
    assert_eq!(
        stored["cloudWatchConfig"]["logGroupName"],
        "/bedrock/invocations"
    );
    assert!(emulator.state().logging_config("us-west-2").is_none());
    c.delete_model_invocation_logging_configuration()
        .send()
        .await
        .unwrap();
    assert!(
        c.get_model_invocation_logging_configuration()
            .send()
            .await
            .unwrap()
            .logging_config()
            .is_none()
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn each_region_keeps_its_own_profiles_and_catalog() {
    let emulator = start().await;
    let east = client(&emulator, "us-east-1");
    let west = client(&emulator, "us-west-2");
    let eu = client(&emulator, "eu-west-1");
    let arn = create(&east, "east-only", &system_arn("us-east-1", NOVA)).await;
    let listed = west
        .list_inference_profiles()
        .type_equals(InferenceProfileType::Application)
        .send()
        .await
        .unwrap();
    assert!(listed.inference_profile_summaries().is_empty());
    let err = west
        .get_inference_profile()
        .inference_profile_identifier(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    // The same name is free in another region.
    create(&west, "east-only", &system_arn("us-west-2", NOVA)).await;

    let eu_ids: Vec<String> = eu
        .list_inference_profiles()
        .send()
        .await
        .unwrap()
        .inference_profile_summaries
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.inference_profile_id)
        .collect();
    assert!(eu_ids.iter().any(|id| id == "eu.amazon.nova-pro-v1:0"));
    assert!(
        eu_ids
            .iter()
            .any(|id| id == "global.anthropic.claude-opus-4-5-20251101-v1:0")
    );
    assert!(eu_ids.iter().all(|id| !id.starts_with("us.")));
    emulator.shutdown().await;
}

#[tokio::test]
async fn runtime_model_ids_resolve_in_every_form() {
    let emulator = start().await;
    let c = client(&emulator, "us-east-1");
    let app = create(&c, "rt", &system_arn("us-east-1", SONNET_45)).await;
    let state = emulator.state();

    let m = state
        .runtime_model("us-east-1", "amazon.nova-pro-v1:0")
        .unwrap();
    assert!(m.called_on_demand && m.on_demand_supported);
    assert_eq!(m.inference_regions, ["us-east-1"]);
    assert_eq!(m.provider, "Amazon");

    let m = state.runtime_model("us-east-1", SONNET_45_FM).unwrap();
    assert!(
        m.called_on_demand && !m.on_demand_supported,
        "newer Claude is profile-only"
    );

    let m = state.runtime_model("us-east-1", &app).unwrap();
    assert_eq!(m.requested_id, app);
    assert_eq!(m.foundation_model_id, SONNET_45_FM);
    assert!(!m.called_on_demand);
    assert_eq!(
        m.inference_regions,
        ["us-east-1", "us-east-2", "us-west-1", "us-west-2"]
    );

    let m = state
        .runtime_model("us-east-1", &system_arn("us-east-1", NOVA))
        .unwrap();
    assert_eq!(m.foundation_model_id, "amazon.nova-pro-v1:0");
    let m = state
        .runtime_model(
            "us-west-2",
            "global.anthropic.claude-opus-4-5-20251101-v1:0",
        )
        .unwrap();
    assert_eq!(m.inference_regions[0], "us-west-2");
    assert!(m.inference_regions.len() > 3);

    let global_app = create(
        &c,
        "rt-global",
        &system_arn(
            "us-east-1",
            "global.anthropic.claude-opus-4-5-20251101-v1:0",
        ),
    )
    .await;
    let m = state.runtime_model("us-east-1", &global_app).unwrap();
    assert_eq!(
        m.foundation_model_id,
        "anthropic.claude-opus-4-5-20251101-v1:0"
    );
    assert_eq!(m.inference_regions[0], "us-east-1");
    assert!(m.inference_regions.len() > 3, "{:?}", m.inference_regions);
    let err = state
        .runtime_model("us-east-1", "acme.nothing-v1:0")
        .unwrap_err();
    assert_eq!(
        (err.error_type.as_str(), err.message.as_str()),
        (
            "ValidationException",
            "The provided model identifier is invalid."
        )
    );
    let err = state.runtime_model("us-west-2", &app).unwrap_err();
    assert_eq!(err.error_type, "ResourceNotFoundException");
    let err = state.runtime_model("eu-west-1", NOVA).unwrap_err();
    assert_eq!(err.error_type, "ValidationException");
    emulator.shutdown().await;
}

#[tokio::test]
async fn requests_without_authorization_are_refused_as_aws_does() {
    let emulator = start().await;
    let (status, headers, body) = raw(
        &emulator,
        "GET /inference-profiles HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        header(&headers, "x-amzn-errortype")
            .unwrap()
            .starts_with("MissingAuthenticationTokenException:")
    );
    assert_eq!(body, r#"{"message":"Missing Authentication Token"}"#);
    let request_id = header(&headers, "x-amzn-requestid").unwrap();
    assert_eq!(request_id.len(), 36);

    let (status, _, body) = raw(
        &emulator,
        "GET /inference-profiles?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-west-2%2Fbedrock%2Faws4_request&X-Amz-Signature=0 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200, "a presigned URL is signed too");
    assert!(body.contains("arn:aws:bedrock:us-west-2:"), "{body}");

    let (status, headers, _) = raw(
        &emulator,
        "GET /no-such-thing HTTP/1.1\r\nHost: localhost\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        header(&headers, "x-amzn-errortype")
            .unwrap()
            .starts_with("UnknownOperationException:")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_seed_file_provides_profiles_access_and_logging_after_every_reset() {
    set_local_env();
    let path =
        std::env::temp_dir().join(format!("bedrock-emulator-seed-{}.yaml", std::process::id()));
    let mut file = std::fs::File::create(&path).unwrap();
    write!(
        file,
        "modelAccess:\n  - modelId: amazon.nova-pro-v1:0\n    regions: [us-east-1]\n    entitlementAvailability: NOT_AVAILABLE\n\
loggingConfigurations:\n  us-east-1:\n    cloudWatchConfig: {{ logGroupName: seeded, roleArn: \"arn:aws:iam::{ACCOUNT}:role/r\" }}\n\
inferenceProfiles:\n  - region: us-east-1\n    id: seeded000001\n    inferenceProfileName: seeded\n    copyFrom: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0\n"
    )
    .unwrap();
    let emulator = Emulator::start(Options {
        seed: Some(path.clone()),
        ..Options::default()
    })
    .await
    .unwrap();
    let c = client(&emulator, "us-east-1");
    let arn =
        format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/seeded000001");
    c.delete_inference_profile()
        .inference_profile_identifier(&arn)
        .send()
        .await
        .unwrap();
    admin(&emulator, "POST", "/_emulator/reset", "").await;
    let got = c
        .get_inference_profile()
        .inference_profile_identifier(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.inference_profile_name(), "seeded");
    let out = c
        .get_foundation_model_availability()
        .model_id("amazon.nova-pro-v1:0")
        .send()
        .await
        .unwrap();
    assert_eq!(out.entitlement_availability().as_str(), "NOT_AVAILABLE");
    let logging = c
        .get_model_invocation_logging_configuration()
        .send()
        .await
        .unwrap();
    assert_eq!(
        logging
            .logging_config()
            .unwrap()
            .cloud_watch_config()
            .unwrap()
            .log_group_name(),
        "seeded"
    );
    emulator.shutdown().await;

    std::fs::write(&path, "modelAccess:\n  - modelId: acme.nothing-v1:0\n").unwrap();
    let err = Emulator::start(Options {
        seed: Some(path.clone()),
        ..Options::default()
    })
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("acme.nothing-v1:0"), "{err}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn the_binary_announces_itself_quickly_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bedrock-emulator"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(
        line.trim_end(),
        format!("listening on http://127.0.0.1:{port}")
    );
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}
