//! The commands: each prints its result (a table, or JSON with `--json`) and returns the exit
//! code.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use base64::Engine as _;
use rand::TryRngCore as _;
use serde_json::{Value, json};
use shared::tenants::{KeyHash, TenantsConfig};

use crate::args::{Cli, Command, Global, KeysCommand, ProfilesCommand, ScanArgs};
use crate::engine::{self, ScanRequest};
use crate::error::{CliError, EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK};
use crate::load::{self, LoadError, Loaded, Problem};
use crate::output::{json, table};

pub async fn run(cli: Cli) -> u8 {
    let g = &cli.global;
    let result = match cli.command {
        Command::Check { config } => check(g, &config),
        Command::Doctor { config, log_group } => doctor(g, &config, &log_group).await,
        Command::Scan(args) => scan(g, &args).await,
        Command::Profiles { command } => profiles(g, command).await,
        Command::Keys {
            command: KeysCommand::New { tenant },
        } => keys_new(g, &tenant),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if g.json {
                json(&json!({"ok": false, "error": {"kind": e.kind(), "message": e.to_string()}}));
            }
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// The SDK configuration from the standard AWS environment, with the command line's overrides.
async fn sdk_config(g: &Global) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(p) = &g.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &g.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(u) = &g.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    loader.load().await
}

/// Loads the config; on problems prints them and returns the exit code to end with.
fn load_or_report(
    g: &Global,
    path: &Path,
    log_group: &str,
) -> Result<Result<Loaded, u8>, CliError> {
    match load::load(path, g.region.as_deref(), log_group) {
        Ok(loaded) => Ok(Ok(loaded)),
        Err(LoadError::Unreadable(m)) => Err(CliError::Usage(m)),
        Err(LoadError::Invalid(problems)) => {
            print_problems(g, path, &problems);
            Ok(Err(EXIT_FINDINGS))
        }
    }
}

const STOPS_AT_FIRST: &str = "each section is validated up to its first error: fix it and run \
                              `bedrock-profiles check` again to see the next";

fn print_problems(g: &Global, path: &Path, problems: &[Problem]) {
    if g.json {
        json(&json!({
            "ok": false,
            "config": path.display().to_string(),
            "problems": problems,
            "note": STOPS_AT_FIRST,
        }));
        return;
    }
    println!("{}: {} problem(s)", path.display(), problems.len());
    for p in problems {
        println!("error [{}]: {}", p.section, p.message);
    }
    println!("note: {STOPS_AT_FIRST}");
}

fn check(g: &Global, path: &Path) -> Result<u8, CliError> {
    let loaded = match load_or_report(g, path, verifier::settings::DEFAULT_LOG_GROUP)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let c = &loaded.config;
    let tenants: Vec<&str> = loaded
        .tenants
        .tenants
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    if g.json {
        json(&json!({
            "ok": true,
            "config": path.display().to_string(),
            "layout": format!("{:?}", c.layout),
            "models": c.models,
            "inferenceProfiles": c.inference_profiles.iter().map(|(k, v)| (k.clone(), Value::String(v.to_string()))).collect::<serde_json::Map<_, _>>(),
            "defaultRegion": c.default_region,
            "tenants": tenants,
            "problems": [],
        }));
        return Ok(EXIT_OK);
    }
    println!("{}: ok", path.display());
    let rows: Vec<Vec<String>> = c
        .models
        .iter()
        .map(|m| {
            let target = c.profile_for(m).map_or_else(
                || "(sent as is: no profile)".to_owned(),
                ToString::to_string,
            );
            vec![m.clone(), target]
        })
        .collect();
    print!("{}", table(&["MODEL", "GOES TO"], &rows));
    if let Some(r) = &c.default_region {
        println!("default region: {r}");
    }
    if !tenants.is_empty() {
        println!("tenants: {}", tenants.join(", "));
    }
    Ok(EXIT_OK)
}

async fn doctor(g: &Global, path: &Path, log_group: &str) -> Result<u8, CliError> {
    let loaded = match load_or_report(g, path, log_group)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let sdk = sdk_config(g).await;
    let report = engine::doctor(&sdk, &loaded, log_group).await?;
    if g.json {
        json(&report);
    } else {
        let rows: Vec<Vec<String>> = report
            .checks
            .iter()
            .map(|c| {
                vec![
                    if c.ok { "ok" } else { "FAIL" }.to_owned(),
                    c.check.clone(),
                    c.subject.clone(),
                    c.detail.clone(),
                ]
            })
            .collect();
        print!("{}", table(&["", "CHECK", "SUBJECT", "DETAIL"], &rows));
        for c in report.failures() {
            if let Some(remedy) = &c.remedy {
                println!("fix {} {}: {remedy}", c.check, c.subject);
            }
        }
        println!(
            "{}",
            if report.ok {
                "doctor: all checks passed"
            } else {
                "doctor: some checks failed"
            }
        );
    }
    Ok(if report.ok { EXIT_OK } else { EXIT_FINDINGS })
}

/// `90s`, `15m`, `24h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, CliError> {
    let t = text.trim();
    let bad = || {
        CliError::Usage(format!(
            "`{text}` is not a duration: write a whole number and a unit, e.g. 90s, 15m, 24h, 7d"
        ))
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(bad)?,
        "h" => n.checked_mul(3600).ok_or_else(bad)?,
        "d" => n.checked_mul(86_400).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    if secs == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(secs))
}

/// RFC 3339 or epoch milliseconds.
fn parse_instant(flag: &str, text: &str) -> Result<i64, CliError> {
    let t = text.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| d.timestamp_millis())
        .map_err(|e| {
            CliError::Usage(format!(
                "--{flag} `{text}` is not RFC 3339 (2026-01-31T00:00:00Z) or epoch milliseconds: {e}"
            ))
        })
}

async fn scan(g: &Global, args: &ScanArgs) -> Result<u8, CliError> {
    let now = chrono::Utc::now().timestamp_millis();
    let (start_ms, end_ms) = match (&args.since, &args.start, &args.end) {
        (Some(since), None, None) => {
            let d = parse_duration(since)?;
            let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
            (now.saturating_sub(ms), now)
        }
        (None, Some(s), Some(e)) => (parse_instant("start", s)?, parse_instant("end", e)?),
        _ => {
            return Err(CliError::Usage(
                "give the window: --since 24h, or --start and --end".into(),
            ));
        }
    };
    let window = engine::window(start_ms, end_ms)?;
    if !(args.requests_per_second > 0.0 && args.requests_per_second <= 25.0) {
        return Err(CliError::Usage(
            "--requests-per-second must be above 0 and at most 25".into(),
        ));
    }
    let time_limit = args.time_limit.as_deref().map(parse_duration).transpose()?;
    // Listen for Ctrl-C from the start (the handler is installed when the task first runs), so
    // one pressed while the profiles are being read still ends the scan with a report.
    let (pressed, ctrl_c) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = pressed.send(());
        }
    });
    let interrupt = async move {
        // Without signal support there is nothing to wait for; the scan then runs to its end.
        if ctrl_c.await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let loaded = match load_or_report(g, &args.config, &args.log_group)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let sdk = sdk_config(g).await;
    let request = ScanRequest {
        log_group: &args.log_group,
        window,
        requests_per_second: args.requests_per_second,
        page_size: args.page_size,
        time_limit,
        quiet: g.quiet,
    };
    let outcome = engine::scan(&sdk, &loaded, &request, interrupt).await?;
    let report = &outcome.report;
    if outcome.interrupted && !g.quiet {
        eprintln!("scan: interrupted; printing what was counted so far");
    }
    if g.json {
        let mut value = serde_json::to_value(report).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.remove("doctor");
            map.insert("interrupted".into(), Value::Bool(outcome.interrupted));
            map.insert(
                "resume".into(),
                outcome
                    .resume
                    .as_ref()
                    .map_or(Value::Null, |r| r.backfill_inputs(window)),
            );
        }
        json(&value);
    } else {
        print_scan(report, &outcome);
    }
    Ok(if !report.complete {
        EXIT_INCOMPLETE
    } else if report.has_problems() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

fn print_scan(report: &engine::ScanReport, outcome: &engine::ScanOutcome) {
    println!(
        "window {} .. {}  complete: {}  records: {}",
        report.window.start, report.window.end, report.complete, report.records
    );
    let counts = |name: String, records: u64, c: &verifier::report::Counts| {
        vec![
            name,
            records.to_string(),
            c.profiled.to_string(),
            c.mapping_miss.to_string(),
            c.unmapped.to_string(),
            c.unknown_profile.to_string(),
            c.malformed.to_string(),
            c.region_violation.to_string(),
            c.error.to_string(),
        ]
    };
    let mut rows: Vec<Vec<String>> = report
        .by_model
        .iter()
        .map(|(model, m)| counts(model.clone(), m.records, &m.counts))
        .collect();
    rows.push(counts("TOTAL".into(), report.records, &report.counts));
    print!(
        "{}",
        table(
            &[
                "MODEL",
                "RECORDS",
                "PROFILED",
                "MAPPING_MISS",
                "UNMAPPED",
                "UNKNOWN_PROFILE",
                "MALFORMED",
                "REGION_VIOLATION",
                "ERROR"
            ],
            &rows
        )
    );
    if report.findings.is_empty() {
        println!("no findings");
    }
    for f in &report.findings {
        let mut subject = Vec::new();
        if let Some(m) = &f.model {
            subject.push(format!("model {m}"));
        }
        if let Some(p) = &f.profile {
            subject.push(format!("profile {p}"));
        }
        println!(
            "finding {} ({} records{}{})",
            f.class,
            f.count,
            if subject.is_empty() { "" } else { ", " },
            subject.join(", ")
        );
        println!("  fix: {}", f.remedy);
        for c in &f.callers {
            println!(
                "  caller {} {} x{}",
                c.identity.as_deref().unwrap_or("(unknown identity)"),
                c.request_metadata.as_deref().unwrap_or(""),
                c.count
            );
        }
    }
    if let Some(r) = &outcome.resume {
        println!(
            "incomplete: resume with --start {} --end {} (region {}{})",
            verifier::window::fmt_ms(r.resume_ms),
            report.window.end,
            r.region,
            if r.remaining_regions.is_empty() {
                String::new()
            } else {
                format!(
                    "; then the whole window in {}",
                    r.remaining_regions.join(", ")
                )
            }
        );
    }
    let s = &outcome.stats;
    eprintln!(
        "scan: {} requests, {} pages, {} retries",
        s.requests, s.pages, s.retries
    );
}

/// Asks on a terminal; refuses to write unattended without `--yes`.
fn confirm(yes: bool, question: &str) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "{question}: this writes to the AWS account and stdin is not a terminal to confirm \
             on; pass --yes"
        )));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Usage(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::Declined(
            "not confirmed; nothing was changed".into(),
        ))
    }
}

async fn profiles(g: &Global, command: ProfilesCommand) -> Result<u8, CliError> {
    let sdk = sdk_config(g).await;
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    match command {
        ProfilesCommand::Create {
            name,
            source,
            description,
            tags,
            model_id,
            no_access_check,
            wait,
            yes,
        } => {
            let wait = parse_duration(&wait)?;
            let tags = tags
                .iter()
                .map(|t| match t.split_once('=') {
                    Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
                    _ => Err(CliError::Usage(format!("--tag `{t}` is not KEY=VALUE"))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            confirm(
                yes,
                &format!("create inference profile `{name}` from {source} in {region}?"),
            )?;
            let created = engine::create_profile(
                &sdk,
                engine::NewProfile {
                    name: name.clone(),
                    source,
                    description,
                    tags,
                    check_access: !no_access_check,
                    wait,
                },
            )
            .await?;
            let id = model_id.unwrap_or(name.clone());
            let config_line = format!("{id}: {}", created.arn);
            if g.json {
                json(&json!({
                    "ok": true,
                    "name": name,
                    "arn": created.arn,
                    "status": created.status,
                    "models": created.models,
                    "configLine": config_line,
                }));
            } else {
                println!("{}  {}", created.arn, created.status);
                println!(
                    "\nPaste under endpoints.bedrock in librechat.yaml (and list `{id}` in models):"
                );
                println!("  inferenceProfiles:\n    {config_line}");
            }
            Ok(EXIT_OK)
        }
        ProfilesCommand::List => {
            let list = engine::list_profiles(&sdk).await?;
            if g.json {
                let items: Vec<Value> = list
                    .iter()
                    .map(|p| {
                        json!({"name": p.name, "arn": p.arn, "status": p.status, "models": p.model_arns})
                    })
                    .collect();
                json(&json!({"region": region, "profiles": items}));
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|p| vec![p.name.clone(), p.status.clone(), p.arn.clone()])
                    .collect();
                print!("{}", table(&["NAME", "STATUS", "ARN"], &rows));
            }
            Ok(EXIT_OK)
        }
        ProfilesCommand::Delete { arn, yes } => {
            confirm(yes, &format!("delete inference profile {arn}?"))?;
            engine::delete_profile(&sdk, &arn).await?;
            if g.json {
                json(&json!({"ok": true, "deleted": arn}));
            } else {
                println!("deleted (or already gone): {arn}");
            }
            Ok(EXIT_OK)
        }
    }
}

/// Bytes of randomness in a key: 256 bits, as strong as the SHA-256 that stores it.
const KEY_BYTES: usize = 32;
/// Marks the product's keys, so a leaked one is recognisable (secret scanners, logs).
const KEY_PREFIX: &str = "bpk_";

fn keys_new(g: &Global, tenant: &str) -> Result<u8, CliError> {
    let mut bytes = [0u8; KEY_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| CliError::Aws(format!("the system random source failed: {e}")))?;
    let key = format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = KeyHash::of(&key).to_hex();
    let yaml = format!("tenants:\n  {tenant}:\n    apiKeys:\n      - {hash}\n");
    accepted_by_the_loader(tenant, &yaml)?;
    if g.json {
        json(&json!({"tenant": tenant, "key": key, "sha256": hash, "yaml": yaml}));
    } else {
        println!("tenant:  {tenant}");
        println!("key:     {key}");
        println!("sha256:  {hash}");
        println!(
            "\nThe key is shown this once and written nowhere: hand it to the tenant now. Callers \
             send it as `Authorization: Bearer <key>` or `x-api-key`.\nPaste the hash into the \
             config (in librechat.yaml `tenants:` sits next to `endpoints:`; for an existing \
             tenant add the hash to its apiKeys):\n"
        );
        print!("{yaml}");
    }
    Ok(EXIT_OK)
}

/// Runs the snippet through the tenants loader the router uses, so a bad tenant name is refused
/// here rather than at the router's next cold start.
fn accepted_by_the_loader(tenant: &str, yaml: &str) -> Result<(), CliError> {
    let base = shared::config::ProfileConfig::parse(
        "models: [amazon.nova-lite-v1:0]\ndefaultRegion: us-east-1\n",
        |_| None,
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let parsed = TenantsConfig::parse(yaml, &base, |_| None)
        .map_err(|e| CliError::Usage(format!("--tenant `{tenant}`: {e}")))?;
    if parsed.tenants.iter().any(|t| t.name == tenant) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "--tenant `{tenant}` is not a usable tenant name (letters, digits, `-`, `_`, `.`)"
        )))
    }
}
