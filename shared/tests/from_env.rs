//! The real-environment paths (`load_sdk_config`, `ProfileConfig::from_env`), exercised in
//! their own process so setting variables cannot disturb other tests. Everything points at
//! loopback with dummy credentials; instance-metadata lookups are disabled.

use std::io::{Read, Write};
use std::net::TcpListener;

use shared::aws::{RegionalClients, load_sdk_config};
use shared::config::ProfileConfig;
use shared::profile_map::ProfileMap;

/// Answers one HTTP request on loopback and returns its head.
fn one_shot_server(body: &'static str) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(resp.as_bytes()).unwrap();
        String::from_utf8_lossy(&buf).into_owned()
    });
    (url, handle)
}

#[test]
fn process_environment_drives_config_endpoints_and_regions() {
    let (url, server) = one_shot_server(r#"{"modelSummaries":[]}"#);
    let dir = std::env::temp_dir().join(format!("shared-from-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config_path = dir.join("librechat.yaml");
    std::fs::write(
        &config_path,
        "endpoints:\n  bedrock:\n    models: [\"us.anthropic.claude-3-7-sonnet-20250219-v1:0\"]\n    inferenceProfiles:\n      \"us.anthropic.claude-3-7-sonnet-20250219-v1:0\": \"${SONNET_ARN}\"\n",
    )
    .unwrap();
    let vars = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        ),
        ("AWS_ENDPOINT_URL_BEDROCK", url.as_str()),
        (
            "SONNET_ARN",
            "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abcdefghij12",
        ),
        ("PROFILES_CONFIG_FILE", config_path.to_str().unwrap()),
    ];
    for (k, v) in vars {
        // SAFETY: this is the only test in this binary, and it sets the environment before
        // starting any runtime or thread that reads it.
        unsafe { std::env::set_var(k, v) };
    }
    // SAFETY: as above.
    unsafe { std::env::remove_var("PROFILES_CONFIG") };

    let config = ProfileConfig::from_env().unwrap();
    let map = ProfileMap::new(&config);
    let target = map
        .resolve("us.anthropic.claude-3-7-sonnet-20250219-v1:0")
        .unwrap();
    assert_eq!(target.region, "us-west-2");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sdk = load_sdk_config().await;
        assert_eq!(
            sdk.region().map(ToString::to_string).as_deref(),
            Some("us-east-1")
        );
        let clients = RegionalClients::new(sdk, aws_sdk_bedrock::Client::new);
        clients
            .get(&target.region)
            .list_foundation_models()
            .send()
            .await
            .unwrap();
    });
    let head = server.join().unwrap();
    assert!(head.starts_with("GET /foundation-models"), "{head}");
    assert!(head.contains("/us-west-2/bedrock/aws4_request"), "{head}");
    std::fs::remove_dir_all(&dir).unwrap();
}
