//! Every use of the verifier and provisioner libraries, in one place: their scan, doctor and
//! create path, without their Lambda handlers (no EMF on stdout, no SNS alert, no
//! CloudFormation response).

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use provisioner::control::{ControlPlane as _, Planes as _, ProfileInfo};
use provisioner::properties::ProfileProps;
use provisioner::protocol::StackRef;
use provisioner::resource::RequestContext;
use provisioner::sdk::SdkPlanes;
use shared::arn::ModelRef;
use shared::aws::AwsError;
use verifier::classify::{ConfigClassifier, learn_profile_models};
use verifier::doctor::{DoctorReport, SdkControlPlane, run_doctor};
use verifier::logs::{LogsSource, Page, SdkLogs};
use verifier::report::{Finding, Report, Tally};
use verifier::scan::{ResumePoint, ScanSettings, ScanStats, scan_regions};
use verifier::window::{Window, WindowJson, fmt_ms};

use crate::error::CliError;
use crate::load::Loaded;

pub use verifier::report::Report as ScanReport;

fn plan(loaded: &Loaded, log_group: &str) -> Result<verifier::plan::Plan, CliError> {
    let mut plan = verifier::plan::plan(&loaded.config, log_group)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    plan.read_regions_of(
        loaded
            .tenants
            .classification_map(&loaded.config)
            .profile_arns(),
    );
    Ok(plan)
}

/// The verifier's doctor over the config's profiles, models and log regions.
pub async fn doctor(
    sdk: &aws_config::SdkConfig,
    loaded: &Loaded,
    log_group: &str,
) -> Result<DoctorReport, CliError> {
    let plan = plan(loaded, log_group)?;
    let control_plane = SdkControlPlane::new(sdk.clone());
    Ok(run_doctor(&control_plane, &plan.doctor).await)
}

/// What a scan needs besides the config.
pub struct ScanRequest<'a> {
    pub log_group: &'a str,
    pub window: Window,
    pub requests_per_second: f64,
    pub page_size: Option<i32>,
    /// Stop asking for pages after this long.
    pub time_limit: Option<Duration>,
    pub quiet: bool,
}

/// A scan's result: the verifier's report (its doctor skipped) and where to resume, if it
/// stopped early.
pub struct ScanOutcome {
    pub report: Report,
    pub resume: Option<ResumePoint>,
    pub interrupted: bool,
    pub stats: ScanStats,
}

/// Scans the window over every region the config's profiles live in, exactly as the verifier
/// does, until done, out of time, or `interrupt` completes (Ctrl-C).
pub async fn scan(
    sdk: &aws_config::SdkConfig,
    loaded: &Loaded,
    request: &ScanRequest<'_>,
    interrupt: impl Future<Output = ()>,
) -> Result<ScanOutcome, CliError> {
    let plan = plan(loaded, request.log_group)?;
    let control_plane = SdkControlPlane::new(sdk.clone());
    let mut map = loaded.tenants.classification_map(&loaded.config);
    learn_profile_models(&mut map, &control_plane).await;
    let classifier = ConfigClassifier::with_map(map).with_prices(loaded.prices.clone());
    let mut sdk_logs = SdkLogs::new(sdk.clone());
    if let Some(size) = request.page_size {
        sdk_logs = sdk_logs.with_page_limit(size);
    }
    let logs = Progress::new(sdk_logs, request.quiet);
    let settings = ScanSettings {
        requests_per_second: request.requests_per_second,
        deadline_margin: Duration::ZERO,
        ..ScanSettings::default()
    };
    let deadline = request
        .time_limit
        .map(|limit| tokio::time::Instant::now() + limit);
    let window = request.window;
    let mut tally = Tally::default();
    let mut stats = ScanStats::default();
    let (resume, interrupted) = {
        let scanning = scan_regions(
            &logs,
            &classifier,
            &plan.regions,
            request.log_group,
            window,
            &settings,
            deadline,
            &mut tally,
            &mut stats,
        );
        tokio::pin!(scanning);
        tokio::pin!(interrupt);
        tokio::select! {
            biased;
            done = &mut scanning => {
                let resume = done.map_err(|e| CliError::Aws(e.to_string()))?;
                (resume, false)
            }
            () = &mut interrupt => (Some(logs.resume_point(&plan.regions, window)), true),
        }
    };
    logs.finish();

    let mut findings = tally.findings(&plan.findings);
    if let Some(r) = &resume {
        findings.insert(
            0,
            Finding {
                class: "incomplete_scan".into(),
                model: None,
                profile: None,
                count: tally.records(),
                remedy: format!(
                    "the scan stopped in {} at {}: run it again with --start {} --end {} to \
                     finish the window (see `resume` for each region)",
                    r.region,
                    fmt_ms(r.resume_ms),
                    fmt_ms(r.resume_ms),
                    fmt_ms(window.end_ms),
                ),
                callers: Vec::new(),
                resume: Some(r.backfill_inputs(window)),
            },
        );
    }
    let report = Report {
        window: WindowJson::from(window),
        complete: resume.is_none(),
        records: tally.records(),
        counts: tally.counts.clone(),
        by_model: tally.by_model(),
        findings,
        doctor: DoctorReport::skipped(),
        cost: tally.cost(),
    };
    Ok(ScanOutcome {
        report,
        resume,
        interrupted,
        stats,
    })
}

/// The window the user asked for, checked by the verifier's own rules.
pub fn window(start_ms: i64, end_ms: i64) -> Result<Window, CliError> {
    Window::new(start_ms, end_ms).map_err(|e| CliError::Usage(e.to_string()))
}

/// Reads pages through the verifier's SDK adapter, printing progress on stderr and keeping
/// track of where an interrupted scan must resume.
struct Progress<L> {
    inner: L,
    quiet: bool,
    state: Mutex<ProgressState>,
}

#[derive(Default)]
struct ProgressState {
    region: Option<String>,
    /// The newest timestamp read in the region so far. The scan counts a timestamp's records only
    /// once it has seen a later one, so a scan dropped between pages has counted everything
    /// before this instant and nothing at it.
    newest_ms: Option<i64>,
    pages: u64,
    records: u64,
    retries: u64,
    last_print: Option<Instant>,
}

impl<L> Progress<L> {
    fn new(inner: L, quiet: bool) -> Self {
        Progress {
            inner,
            quiet,
            state: Mutex::new(ProgressState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ProgressState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn resume_point(&self, regions: &[String], window: Window) -> ResumePoint {
        let s = self.state();
        let region = s
            .region
            .clone()
            .or_else(|| regions.first().cloned())
            .unwrap_or_default();
        let remaining_regions = regions
            .iter()
            .skip_while(|r| **r != region)
            .skip(1)
            .cloned()
            .collect();
        ResumePoint {
            region,
            resume_ms: s.newest_ms.unwrap_or(window.start_ms),
            remaining_regions,
        }
    }

    fn finish(&self) {
        let s = self.state();
        if !self.quiet && s.last_print.is_some() {
            eprintln!(
                "scan: done reading: {} pages, {} records, {} retries",
                s.pages, s.records, s.retries
            );
        }
    }
}

impl<L: LogsSource + Sync> LogsSource for Progress<L> {
    async fn filter_page(
        &self,
        region: &str,
        group: &str,
        window: Window,
        token: Option<String>,
    ) -> Result<Page, AwsError> {
        {
            let mut s = self.state();
            if s.region.as_deref() != Some(region) {
                s.region = Some(region.to_owned());
                s.newest_ms = None;
            }
        }
        let out = self.inner.filter_page(region, group, window, token).await;
        let mut s = self.state();
        match &out {
            Ok(page) => {
                s.pages += 1;
                s.records += page.events.len() as u64;
                if let Some(newest) = page.events.iter().map(|e| e.timestamp).max() {
                    s.newest_ms = Some(s.newest_ms.map_or(newest, |n| n.max(newest)));
                }
                let due = s
                    .last_print
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
                if !self.quiet && due {
                    s.last_print = Some(Instant::now());
                    eprintln!(
                        "scan: {region}: {} pages, {} records read{}",
                        s.pages,
                        s.records,
                        s.newest_ms
                            .map(|ms| format!(", up to {}", fmt_ms(ms)))
                            .unwrap_or_default()
                    );
                }
            }
            Err(error) if error.is_retryable() => {
                s.retries += 1;
                if !self.quiet {
                    eprintln!(
                        "scan: {region}: throttled or unavailable, backing off (retry {}): {error}",
                        s.retries
                    );
                }
            }
            Err(_) => {}
        }
        out
    }
}

/// A profile to create.
pub struct NewProfile {
    pub name: String,
    pub source: String,
    pub description: Option<String>,
    pub tags: Vec<(String, String)>,
    pub check_access: bool,
    pub wait: Duration,
}

/// The created (or found again) profile.
pub struct Created {
    pub arn: String,
    pub status: String,
    pub models: Vec<String>,
}

/// Stands in for the stack the provisioner normally works for: the request identity is derived
/// from the profile name, so the same create twice carries the same client token and ownership
/// tag, and the second finds the first profile instead of making another.
fn request_context(
    region: &str,
    name: &str,
    physical_id: Option<String>,
    wait: Duration,
) -> RequestContext {
    RequestContext {
        stack: StackRef {
            partition: "aws".into(),
            region: region.to_owned(),
            account: String::new(),
            name: "bedrock-profiles".into(),
        },
        stack_id: "bedrock-profiles-cli".into(),
        request_id: name.to_owned(),
        logical_id: name.to_owned(),
        physical_id,
        deadline: tokio::time::Instant::now() + wait,
    }
}

fn region_of(sdk: &aws_config::SdkConfig) -> Result<String, CliError> {
    sdk.region().map(|r| r.to_string()).ok_or_else(|| {
        CliError::Usage(
            "no AWS region: pass --region or set AWS_REGION (or the profile's region)".into(),
        )
    })
}

/// The provisioner's create path: source resolution, access check, idempotent create, wait for
/// ACTIVE.
pub async fn create_profile(
    sdk: &aws_config::SdkConfig,
    new: NewProfile,
) -> Result<Created, CliError> {
    let region = region_of(sdk)?;
    let model_source = ModelRef::parse(new.source.trim())
        .map_err(|e| CliError::Usage(format!("--source: {e}")))?;
    let props = ProfileProps {
        name: Some(new.name.clone()),
        description: new.description,
        model_source,
        model_source_text: new.source.clone(),
        tags: new.tags,
        check_model_access: new.check_access,
    };
    let planes = SdkPlanes::from_sdk_config(sdk);
    let ctx = request_context(&region, &new.name, None, new.wait);
    let outcome = provisioner::profile::create(&planes, &ctx, &props)
        .await
        .map_err(provisioner_error)?;
    let text = |k: &str| {
        outcome
            .data
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Ok(Created {
        arn: outcome.physical_id.clone(),
        status: text("Status"),
        models: text("Models")
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// The provisioner's delete: already gone is done.
pub async fn delete_profile(sdk: &aws_config::SdkConfig, arn: &str) -> Result<(), CliError> {
    if shared::arn::AppProfileArn::parse(arn).is_err() {
        return Err(CliError::Usage(format!(
            "`{arn}` is not an application-inference-profile ARN \
             (arn:aws:bedrock:<region>:<account>:application-inference-profile/<id>)"
        )));
    }
    let region = region_of(sdk)?;
    let planes = SdkPlanes::from_sdk_config(sdk);
    let ctx = request_context(&region, arn, Some(arn.to_owned()), Duration::from_secs(60));
    provisioner::profile::delete(&planes, &ctx)
        .await
        .map(|_| ())
        .map_err(provisioner_error)
}

/// The application profiles of the region.
pub async fn list_profiles(sdk: &aws_config::SdkConfig) -> Result<Vec<ProfileInfo>, CliError> {
    let region = region_of(sdk)?;
    SdkPlanes::from_sdk_config(sdk)
        .for_region(&region)
        .list_inference_profiles("APPLICATION")
        .await
        .map_err(|e| {
            CliError::Aws(format!(
                "Bedrock ListInferenceProfiles failed in {region}: {e}"
            ))
        })
}

/// A refusal (bad source, no model access, name taken) is a problem with the request; the rest
/// is AWS failing.
fn provisioner_error(e: provisioner::Error) -> CliError {
    match e {
        provisioner::Error::Refused(m) => CliError::Refused(m),
        provisioner::Error::Properties(m) => CliError::Usage(m),
        other => CliError::Aws(other.to_string()),
    }
}
