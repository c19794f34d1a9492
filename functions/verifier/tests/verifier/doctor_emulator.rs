//! The config doctor against the in-process local Bedrock, through the real SDK adapter.

use std::collections::BTreeMap;

use aws_sdk_bedrock::types::{CloudWatchConfig, InferenceProfileModelSource, LoggingConfig};
use bedrock_emulator::state::{AgreementPatch, AgreementStatus, ModelAccessPatch};
use bedrock_emulator::{Emulator, Options};
use verifier::doctor::{DoctorInput, SdkControlPlane, run_doctor};

use crate::moto::local_sdk;

const GROUP: &str = "/aws/bedrock/model-invocations";
const MISSING: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/missing00001";

async fn put_logging(client: &aws_sdk_bedrock::Client, group: &str) {
    client
        .put_model_invocation_logging_configuration()
        .logging_config(
            LoggingConfig::builder()
                .cloud_watch_config(
                    CloudWatchConfig::builder()
                        .log_group_name(group)
                        .role_arn("arn:aws:iam::123456789012:role/BedrockInvocationLogging")
                        .build()
                        .unwrap(),
                )
                .text_data_delivery_enabled(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_finds_a_missing_profile_missing_access_and_logging_off_or_elsewhere() {
    let emulator = Emulator::start(Options::default()).await.unwrap();
    let sdk = local_sdk(&emulator.url());
    let client = aws_sdk_bedrock::Client::new(&sdk);
    let profile = client
        .create_inference_profile()
        .inference_profile_name("team-a-sonnet")
        .model_source(InferenceProfileModelSource::CopyFrom(
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0"
                .into(),
        ))
        .send()
        .await
        .unwrap()
        .inference_profile_arn;

    let input = DoctorInput {
        models: vec!["sonnet".into(), "nova".into()],
        profiles: BTreeMap::from([
            ("sonnet".to_string(), profile.clone()),
            ("nova".to_string(), MISSING.to_string()),
        ]),
        default_region: "us-east-1".into(),
        log_regions: vec!["us-east-1".into()],
        log_group: GROUP.into(),
    };
    let cp = SdkControlPlane::new(sdk.clone());

    // Logging is off by default; the missing profile is reported, the real one passes.
    let report = run_doctor(&cp, &input).await;
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(!report.ok);
    let failed: Vec<(&str, &str)> = report
        .failures()
        .map(|c| (c.check.as_str(), c.subject.as_str()))
        .collect();
    assert_eq!(
        failed,
        vec![
            ("profile_exists", "nova"),
            ("invocation_logging", "us-east-1")
        ]
    );
    let exists = report
        .checks
        .iter()
        .find(|c| c.check == "profile_exists" && c.subject == "sonnet")
        .unwrap();
    assert!(exists.ok && exists.detail.contains("ACTIVE"), "{exists:?}");
    let access: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.check == "model_access")
        .collect();
    assert!(
        !access.is_empty() && access.iter().all(|c| c.ok),
        "{access:?}"
    );

    // Access not granted in one region; logging pointed at another group.
    emulator.state().set_model_access(
        "us-east-1",
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        &ModelAccessPatch {
            agreement_availability: Some(AgreementPatch {
                status: AgreementStatus::NotAvailable,
                error_message: None,
            }),
            ..ModelAccessPatch::default()
        },
    );
    put_logging(&client, "/somewhere/else").await;
    let report = run_doctor(&cp, &input).await;
    let access = report
        .failures()
        .find(|c| c.check == "model_access")
        .expect("access failure reported");
    assert_eq!(
        access.subject,
        "anthropic.claude-3-7-sonnet-20250219-v1:0 in us-east-1"
    );
    assert!(access.detail.contains("NOT_AVAILABLE"), "{access:?}");
    assert!(access.remedy.as_deref().unwrap().contains("request access"));
    let logging = report
        .failures()
        .find(|c| c.check == "invocation_logging")
        .unwrap();
    assert!(logging.detail.contains("/somewhere/else"));
    assert!(
        logging
            .remedy
            .as_deref()
            .unwrap()
            .contains("INVOCATION_LOG_GROUP=/somewhere/else")
    );

    // Logging pointed at the group the verifier reads: that check passes.
    put_logging(&client, GROUP).await;
    let report = run_doctor(&cp, &input).await;
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.check == "invocation_logging" && c.ok)
    );
    emulator.shutdown().await;
}
