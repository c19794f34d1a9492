//! The built `bedrock-profiles` binary, driven as a user drives it, against the in-process local
//! Bedrock and moto's CloudWatch Logs. Every child gets the offline AWS environment (dummy
//! credentials, no instance metadata, no shared config files) and only 127.0.0.1 endpoints.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatchlogs::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use bedrock_emulator::{Emulator, Options};
use serde_json::{Value, json};
use shared::config::ProfileConfig;
use shared::tenants::TenantsConfig;

const ACCOUNT: &str = "123456789012";
const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const SONNET: &str = "us.anthropic.claude-3-7-sonnet-20250219-v1:0";
const NOVA: &str = "us.amazon.nova-pro-v1:0";
const SONNET_PROFILE: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/sonnet000001";
const STRANGER_PROFILE: &str =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/stranger0001";

/// The binary with the offline environment and nothing else from the caller's.
fn cli() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bedrock-profiles"));
    c.env_clear()
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(Stdio::null());
    c
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the binary runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bedrock-profiles-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .unwrap();
    path
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/librechat.yaml")
}

// ---------------------------------------------------------------------------------------------
// check

#[test]
fn check_accepts_the_example_config_and_lists_where_each_model_goes() {
    let (code, out, err) = run(cli().arg("check").arg(example()));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("claude-sonnet") && out.contains("abc123def456"),
        "{out}"
    );
    assert!(out.contains("(sent as is: no profile)"), "{out}");

    let (code, out, _) = run(cli().args(["--json", "check"]).arg(example()));
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["models"].as_array().unwrap().len(), 3);
}

/// One document per error of the shared config suite, in the file a user would write.
/// A case name, the document, and the variables set in the CLI's environment.
type ConfigCase = (&'static str, String, Vec<(&'static str, &'static str)>);

fn config_error_cases() -> Vec<ConfigCase> {
    let lc = |body: &str| format!("endpoints:\n  bedrock:\n{body}");
    vec![
        ("yaml syntax", "models: [unclosed".into(), vec![]),
        ("json syntax", "{\"models\": ".into(), vec![]),
        ("wrong type", "models: {a: 1}".into(), vec![]),
        (
            "no bedrock section",
            "version: 1\nendpoints:\n  custom: []\n".into(),
            vec![],
        ),
        (
            "no models",
            lc("    availableRegions: [us-east-1]\n"),
            vec![],
        ),
        ("empty model", "models: [\"\"]".into(), vec![]),
        (
            "duplicate model",
            format!("models: [\"{HAIKU}\", \"{HAIKU}\"]"),
            vec![],
        ),
        (
            "unset variable",
            lc(
                "    models: [sonnet]\n    inferenceProfiles:\n      sonnet: ${SONNET_PROFILE_ARN}\n",
            ),
            vec![],
        ),
        (
            "empty variable",
            lc(
                "    models: [sonnet]\n    inferenceProfiles:\n      sonnet: ${SONNET_PROFILE_ARN}\n",
            ),
            vec![("SONNET_PROFILE_ARN", "")],
        ),
        (
            "malformed variable",
            lc("    models: [sonnet]\n    inferenceProfiles:\n      sonnet: ${SONNET\n"),
            vec![],
        ),
        (
            "key differing in case",
            lc(&format!(
                "    models: [Sonnet]\n    inferenceProfiles:\n      sonnet: {SONNET_PROFILE}\n"
            )),
            vec![],
        ),
        (
            "key far from every model",
            lc(&format!(
                "    models: [sonnet]\n    inferenceProfiles:\n      zzzzzzzzzz: {SONNET_PROFILE}\n"
            )),
            vec![],
        ),
        (
            "bad profile value",
            lc(
                "    models: [sonnet]\n    inferenceProfiles:\n      sonnet: arn:aws:bedrock:us-east-1:123:application-inference-profile/x\n",
            ),
            vec![],
        ),
        ("unmapped non-model", "models: [my-claude]\n".into(), vec![]),
        (
            "invalid region",
            format!("models: [\"{HAIKU}\"]\navailableRegions: [mars-1]\n"),
            vec![],
        ),
        (
            "invalid default region",
            format!("models: [\"{HAIKU}\"]\ndefaultRegion: nowhere\n"),
            vec![],
        ),
        (
            "invalid BEDROCK_AWS_DEFAULT_REGION",
            format!("models: [\"{HAIKU}\"]\n"),
            vec![("BEDROCK_AWS_DEFAULT_REGION", "x")],
        ),
        (
            "duplicate region",
            format!("models: [\"{HAIKU}\"]\nallowedInferenceRegions: [us-east-1, us-east-1]\n"),
            vec![],
        ),
        (
            "duplicate profile key (json)",
            format!(
                "{{\"models\": [\"sonnet\"], \"inferenceProfiles\": {{\"sonnet\": \"{SONNET_PROFILE}\", \"sonnet\": \"{SONNET_PROFILE}\"}}}}"
            ),
            vec![],
        ),
        (
            "pool without mapping",
            format!(
                "models: [\"{HAIKU}\"]\nadditionalInferenceProfiles:\n  \"{HAIKU}\": [{SONNET_PROFILE}]\n"
            ),
            vec![],
        ),
        (
            "bad pool entry",
            format!(
                "models: [sonnet]\ninferenceProfiles:\n  sonnet: {SONNET_PROFILE}\nadditionalInferenceProfiles:\n  sonnet: [not-an-arn:x]\n"
            ),
            vec![],
        ),
        (
            "pool repeats the mapping",
            format!(
                "models: [sonnet]\ninferenceProfiles:\n  sonnet: {SONNET_PROFILE}\nadditionalInferenceProfiles:\n  sonnet: [{SONNET_PROFILE}]\n"
            ),
            vec![],
        ),
    ]
}

#[test]
fn every_config_error_reaches_the_terminal_with_its_fix_and_exit_1() {
    for (name, doc, vars) in config_error_cases() {
        // What the functions would say at cold start, from the same loader.
        let expected = ProfileConfig::parse(&doc, |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
                .or_else(|| (k == "AWS_REGION").then(|| "us-east-1".to_owned()))
        })
        .expect_err(name)
        .to_string();
        let path = temp_file(&format!("{}.yaml", name.replace(' ', "-")), &doc);
        let mut cmd = cli();
        cmd.arg("check").arg(&path);
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 1, "{name}: {out}{err}");
        assert!(
            out.contains(&expected),
            "{name}: expected {expected:?} in\n{out}"
        );
        assert!(
            out.starts_with(&format!("{}: 1 problem(s)", path.display())),
            "{name}: {out}"
        );

        let (code, out, _) = run(cmd.arg("--json"));
        assert_eq!(code, 1, "{name}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["problems"][0]["message"], expected.as_str(), "{name}");
    }
}

#[test]
fn tenant_and_verifier_problems_are_reported_with_the_config_section_ok() {
    let doc = format!(
        "models: [sonnet]\ninferenceProfiles:\n  sonnet: {SONNET_PROFILE}\ntenants:\n  default:\n    apiKeys: [abc]\n"
    );
    let path = temp_file("tenant.yaml", &doc);
    let (code, out, _) = run(cli().arg("check").arg(&path));
    assert_eq!(code, 1, "{out}");
    let base = ProfileConfig::parse(&doc, |_| None).unwrap();
    let expected = TenantsConfig::parse(&doc, &base, |_| None)
        .unwrap_err()
        .to_string();
    assert!(
        out.contains(&format!("error [tenants]: {expected}")),
        "{out}"
    );
}

#[test]
fn a_prompt_cache_setting_the_router_would_refuse_is_reported() {
    let doc = format!(
        "models: [sonnet]\ninferenceProfiles:\n  sonnet: {SONNET_PROFILE}\npromptCache: {{mode: auto, ttl: 2h}}\n"
    );
    let path = temp_file("cache.yaml", &doc);
    let (code, out, _) = run(cli().arg("check").arg(&path));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error [promptCache]: `promptCache.ttl` must be `5m` or `1h`, got `2h`"),
        "{out}"
    );
}

#[test]
fn an_unreadable_config_is_a_usage_error() {
    let (code, out, err) = run(cli().args(["check", "/nonexistent/librechat.yaml"]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("cannot read /nonexistent/librechat.yaml"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = run(cli().args(["scan", "x.yaml"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--since 24h"), "{err}");
    let (code, _, err) = run(cli().args(["scan", "x.yaml", "--since", "24 parsecs"]));
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = run(cli().args(["frobnicate"]));
    assert_eq!(code, 2);
}

// ---------------------------------------------------------------------------------------------
// keys

#[test]
fn a_new_key_is_accepted_by_the_router_for_its_tenant_and_only_it() {
    let (code, out, err) = run(cli().args(["--json", "keys", "new", "--tenant", "team-a"]));
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let key = v["key"].as_str().unwrap();
    assert!(key.len() >= 40, "{key}");

    // The YAML pasted next to a shared config, loaded as the router loads it.
    let doc = format!(
        "models: [\"{HAIKU}\"]\ndefaultRegion: us-east-1\n{}",
        v["yaml"].as_str().unwrap()
    );
    let base = ProfileConfig::parse(&doc, |_| None).unwrap();
    let tenants = TenantsConfig::parse(&doc, &base, |_| None).unwrap();
    assert_eq!(tenants.tenants[0].name, "team-a");
    assert_eq!(
        tenants.tenants[0].api_keys[0].to_hex(),
        v["sha256"].as_str().unwrap()
    );
    let auth = router::auth::Authenticator::new(router::auth::AuthMode::ApiKey, tenants).unwrap();
    let request = |key: &str| {
        http::Request::builder()
            .header("authorization", format!("Bearer {key}"))
            .body(lambda_http::Body::Empty)
            .unwrap()
    };
    assert_eq!(
        auth.tenant_of(&request(key)).unwrap(),
        router::auth::TenantId::configured(0)
    );
    assert!(auth.tenant_of(&request(&format!("{key}x"))).is_err());

    let (_, again, _) = run(cli().args(["--json", "keys", "new", "--tenant", "team-a"]));
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_ne!(again["key"], v["key"], "every key is new");
}

#[test]
fn a_tenant_name_the_router_would_refuse_is_refused() {
    for bad in ["default", "team a", ""] {
        let (code, out, err) = run(cli().args(["keys", "new", "--tenant", bad]));
        assert_eq!(code, 2, "{bad:?}: {out}{err}");
        assert!(out.is_empty(), "no key is printed for {bad:?}: {out}");
    }
}

// ---------------------------------------------------------------------------------------------
// profiles and doctor, against the local Bedrock

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_create_twice_makes_one_profile_and_delete_removes_it() {
    let emulator = Emulator::start(Options::default()).await.unwrap();
    let url = emulator.url();
    let url1 = url.clone();
    let (code, first, err) = tokio::task::spawn_blocking(move || {
        let mut c = cli();
        c.args(["--json", "--endpoint-url", &url1, "profiles", "create"])
            .args(["--name", "chat-haiku", "--source", HAIKU, "--yes"])
            .args(["--model-id", "haiku", "--tag", "team=a"]);
        run(&mut c)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{first}{err}");
    let first = json_of(&first);
    let arn = first["arn"].as_str().unwrap().to_owned();
    assert!(arn.contains(":application-inference-profile/"), "{arn}");
    assert_eq!(first["status"], "ACTIVE");
    assert_eq!(first["configLine"], format!("haiku: {arn}"));

    let url2 = url.clone();
    let (code, second, err) = tokio::task::spawn_blocking(move || {
        let mut c = cli();
        c.args(["--json", "--endpoint-url", &url2, "profiles", "create"])
            .args(["--name", "chat-haiku", "--source", HAIKU, "--yes"]);
        run(&mut c)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{second}{err}");
    assert_eq!(json_of(&second)["arn"], arn.as_str());

    let list = |url: String| {
        tokio::task::spawn_blocking(move || {
            run(cli().args(["--json", "--endpoint-url", &url, "profiles", "list"]))
        })
    };
    let (code, out, _) = list(url.clone()).await.unwrap();
    assert_eq!(code, 0);
    let named: Vec<Value> = json_of(&out)["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "chat-haiku")
        .cloned()
        .collect();
    assert_eq!(named.len(), 1, "{out}");

    // Without --yes and without a terminal, nothing is written.
    let url3 = url.clone();
    let (code, _, err) = tokio::task::spawn_blocking(move || {
        run(cli()
            .args(["--endpoint-url", &url3, "profiles", "create"])
            .args(["--name", "other", "--source", HAIKU]))
    })
    .await
    .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--yes"), "{err}");

    let url4 = url.clone();
    let arn2 = arn.clone();
    let (code, _, err) = tokio::task::spawn_blocking(move || {
        run(cli().args([
            "--endpoint-url",
            &url4,
            "profiles",
            "delete",
            &arn2,
            "--yes",
        ]))
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = list(url.clone()).await.unwrap();
    assert!(!out.contains("chat-haiku"), "{out}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_create_refuses_an_unknown_source_with_exit_1() {
    let emulator = Emulator::start(Options::default()).await.unwrap();
    let url = emulator.url();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        run(cli()
            .args(["--endpoint-url", &url, "profiles", "create"])
            .args([
                "--name",
                "x",
                "--source",
                "anthropic.claude-nonexistent-v9:0",
                "--yes",
            ]))
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("anthropic.claude-nonexistent-v9:0"), "{err}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_logging_off_with_its_fix_and_exit_1() {
    let emulator = Emulator::start(Options::default()).await.unwrap();
    let url = emulator.url();
    let u = url.clone();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        run(cli()
            .args(["--json", "--endpoint-url", &u, "profiles", "create"])
            .args(["--name", "doc-haiku", "--source", HAIKU, "--yes"]))
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}{err}");
    let arn = json_of(&out)["arn"].as_str().unwrap().to_owned();
    let config = temp_file(
        "doctor.yaml",
        &format!("models: [haiku]\ninferenceProfiles:\n  haiku: {arn}\ndefaultRegion: us-east-1\n"),
    );
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        run(cli().args(["--endpoint-url", &url, "doctor"]).arg(&config))
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("doctor: some checks failed"), "{out}");
    let logging_fails = out
        .lines()
        .any(|l| l.starts_with("FAIL") && l.to_ascii_lowercase().contains("logging"));
    assert!(logging_fails, "{out}");
    assert!(out.contains("fix "), "{out}");
    let profile_ok = out.lines().any(|l| l.starts_with("ok") && l.contains(&arn));
    assert!(profile_ok, "{out}");
    emulator.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// scan, against moto's CloudWatch Logs

struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Moto {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup-python.sh",
        bin.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return moto;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto_server did not listen on {port}");
}

fn local_sdk(url: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "static",
        )))
        .endpoint_url(url)
        .behavior_version(BehaviorVersion::latest())
        .build()
}

fn record(model_id: &str, inference_region: &str, n: usize) -> Value {
    json!({
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": "2026-11-27T10:00:00Z",
        "accountId": ACCOUNT,
        "identity": {"arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/App/session-{}", n % 3)},
        "region": "us-east-1",
        "requestId": format!("00000000-0000-4000-8000-{n:012}"),
        "operation": "Converse",
        "modelId": model_id,
        "input": {"inputContentType": "application/json", "inputTokenCount": 17},
        "output": {"outputContentType": "application/json", "outputTokenCount": 11},
        "inferenceRegion": inference_region
    })
}

const SCAN_CONFIG: &str = "endpoints:\n  bedrock:\n    models: [\"us.anthropic.claude-3-7-sonnet-20250219-v1:0\", \"us.amazon.nova-pro-v1:0\"]\n    inferenceProfiles:\n      \"us.anthropic.claude-3-7-sonnet-20250219-v1:0\": \"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/sonnet000001\"\n    allowedInferenceRegions: [us-east-1, us-east-2]\n    defaultRegion: us-east-1\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_counts_the_same_as_the_verifier_library_for_the_same_traffic() {
    let moto = start_moto();
    let emulator = Emulator::start(Options::default()).await.unwrap();
    let sdk = local_sdk(&moto.url);
    let group = "/aws/bedrock/model-invocations";
    let mut messages: Vec<String> = Vec::new();
    messages.extend((0..7).map(|i| record(SONNET_PROFILE, "us-east-1", i).to_string()));
    messages.extend((0..4).map(|i| record(SONNET, "us-east-1", 100 + i).to_string()));
    messages.extend((0..2).map(|i| record(NOVA, "us-east-2", 200 + i).to_string()));
    messages.extend((0..3).map(|i| record(SONNET_PROFILE, "us-west-2", 300 + i).to_string()));
    messages.push(record(STRANGER_PROFILE, "us-east-1", 400).to_string());
    messages.push("not json at all".into());
    let (start, end) = put_records(&sdk, &messages).await;

    // The verifier's own library over the same group and window.
    let config = ProfileConfig::parse(SCAN_CONFIG, |_| None).unwrap();
    let plan = verifier::plan::plan(&config, group).unwrap();
    let v = verifier::Verifier {
        logs: verifier::logs::SdkLogs::new(sdk.clone()),
        control_plane: verifier::fake::FakeControlPlane::default(),
        notifier: verifier::alert::NoAlerts,
        classifier: verifier::classify::ConfigClassifier::new(&config),
        metrics: Discard,
        regions: plan.regions.clone(),
        findings: plan.findings,
        doctor: plan.doctor,
        settings: verifier::settings::Settings {
            doctor: false,
            ..Default::default()
        },
    };
    let window = verifier::window::Window::new(start, end).unwrap();
    let library = verifier::run_window(&v, window, &plan.regions, None)
        .await
        .unwrap();
    let library = serde_json::to_value(&library).unwrap();
    assert_eq!(library["records"], 18);

    let path = temp_file("scan.yaml", SCAN_CONFIG);
    let (moto_url, bedrock_url) = (moto.url.clone(), emulator.url());
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        run(cli()
            .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", &moto_url)
            .env("AWS_ENDPOINT_URL_BEDROCK", &bedrock_url)
            .args(["--json", "scan"])
            .arg(&path)
            .args(["--start", &start.to_string(), "--end", &end.to_string()])
            .args(["--requests-per-second", "20"]))
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "problems found: {out}{err}");
    let cli_report = json_of(&out);
    assert_eq!(cli_report["complete"], true);
    assert_eq!(cli_report["interrupted"], false);
    for key in ["window", "records", "counts", "by_model", "findings"] {
        assert_eq!(cli_report[key], library[key], "{key}");
    }
    assert_eq!(cli_report["counts"]["mapping_miss"], 4);
    assert_eq!(
        cli_report["counts"]["unmapped"], 2,
        "Nova is served without a profile"
    );
    assert_eq!(cli_report["counts"]["region_violation"], 3);
    assert_eq!(cli_report["counts"]["malformed"], 1);

    // The table carries the same totals, and each finding its remedy.
    let path = temp_file("scan.yaml", SCAN_CONFIG);
    let (moto_url, bedrock_url) = (moto.url.clone(), emulator.url());
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        run(cli()
            .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", &moto_url)
            .env("AWS_ENDPOINT_URL_BEDROCK", &bedrock_url)
            .arg("scan")
            .arg(&path)
            .args(["--start", &start.to_string(), "--end", &end.to_string()]))
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{err}");
    let total = out.lines().find(|l| l.starts_with("TOTAL")).unwrap();
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>(),
        ["TOTAL", "18", "10", "4", "2", "1", "1", "3", "0"],
        "{out}"
    );
    assert!(out.contains("finding mapping_miss"), "{out}");
    assert!(out.contains("  fix: "), "{out}");
    emulator.shutdown().await;
}

struct Discard;

impl shared::telemetry::MetricsSink for Discard {
    fn emit(&self, _line: &str) {}
}

/// Writes `messages` one second apart into a fresh invocation-log group; returns a window
/// that holds them all.
async fn put_records(sdk: &aws_config::SdkConfig, messages: &[String]) -> (i64, i64) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let group = "/aws/bedrock/model-invocations";
    let stream = "aws/bedrock/modelinvocations";
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let (start, end) = (now - 3_600_000, now - 60_000);
    let events: Vec<InputLogEvent> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            InputLogEvent::builder()
                .timestamp(start + 1_000 * (i as i64 + 1))
                .message(m)
                .build()
                .unwrap()
        })
        .collect();
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();
    (start, end)
}

/// `n` raw-model calls that should have gone through the Sonnet profile.
async fn seed_group(sdk: &aws_config::SdkConfig, n: usize) -> (i64, i64) {
    let messages: Vec<String> = (0..n)
        .map(|i| record(SONNET, "us-east-1", i).to_string())
        .collect();
    put_records(sdk, &messages).await
}

fn scan_cmd(moto_url: &str, config: &Path, start: &str, end: &str) -> Command {
    let mut c = cli();
    c.env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", moto_url)
        .env("AWS_ENDPOINT_URL_BEDROCK", "http://127.0.0.1:9")
        .args(["--json", "scan"])
        .arg(config)
        .args(["--start", start, "--end", end, "--page-size", "2"]);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_prints_what_was_counted_and_a_resume_window_that_finishes_the_count() {
    let moto = start_moto();
    let sdk = local_sdk(&moto.url);
    let (start, end) = seed_group(&sdk, 20).await;
    let config = temp_file("interrupt.yaml", SCAN_CONFIG);
    let url = moto.url.clone();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        // Two records a page, two pages a second: ten seconds for the whole group. The
        // interrupt follows the first progress line rather than a fixed sleep, so a slow
        // first call (a cold moto on a fresh machine) cannot leave nothing counted.
        let mut child = scan_cmd(&url, &config, &start.to_string(), &end.to_string())
            .args(["--requests-per-second", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut err = String::new();
        loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                break;
            }
            err.push_str(&line);
            if line.contains("records read") {
                break;
            }
        }
        let killed = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        stderr.read_to_string(&mut err).unwrap();
        let o = child.wait_with_output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            err,
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 4, "{out}{err}");
    assert!(
        err.contains("pages") && err.contains("records read"),
        "progress on stderr: {err}"
    );
    let first = json_of(&out);
    assert_eq!(first["complete"], false);
    assert_eq!(first["interrupted"], true);
    let counted = first["records"].as_u64().unwrap();
    assert!(counted > 0 && counted < 20, "{counted}");
    let resume = &first["resume"][0];
    assert_eq!(resume["regions"], json!(["us-east-1"]));
    assert_eq!(first["findings"][0]["class"], "incomplete_scan");

    // Scanning the resume window counts exactly the rest.
    let config = temp_file("interrupt.yaml", SCAN_CONFIG);
    let url = moto.url.clone();
    let (rs, re) = (
        resume["start"].as_str().unwrap().to_owned(),
        resume["end"].as_str().unwrap().to_owned(),
    );
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        run(scan_cmd(&url, &config, &rs, &re).args(["--requests-per-second", "25"]))
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "mapping misses: {out}{err}");
    let rest = json_of(&out);
    assert_eq!(rest["complete"], true);
    assert_eq!(counted + rest["records"].as_u64().unwrap(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_limit_stops_the_scan_with_the_verifiers_resume_point() {
    let moto = start_moto();
    let sdk = local_sdk(&moto.url);
    let (start, end) = seed_group(&sdk, 20).await;
    let config = temp_file("limit.yaml", SCAN_CONFIG);
    let url = moto.url.clone();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        run(
            scan_cmd(&url, &config, &start.to_string(), &end.to_string()).args([
                "--requests-per-second",
                "2",
                "--time-limit",
                "2s",
            ]),
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 4, "{out}{err}");
    let report = json_of(&out);
    assert_eq!(report["complete"], false);
    assert_eq!(report["interrupted"], false);
    assert!(report["records"].as_u64().unwrap() < 20);
    assert!(report["resume"][0]["start"].is_string(), "{out}");
}
