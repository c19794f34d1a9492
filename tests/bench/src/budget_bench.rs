//! Budgets on beside budgets off: the same team-keyed chat completions through two routers that
//! differ only in spend tracking, interleaved with the direct SDK call, so the cost of the
//! budget check before the call and of queueing the spend after it shows as a difference of two
//! added latencies measured side by side.
//!
//! The spend store is the in-memory one: this measures the router's own work. A budget costs no
//! table round trip on the answer's path (its spend is read at most once per read interval and
//! the write is queued for the writer task); per-minute rate limits, not configured here, add
//! one counter update per call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use router::auth::{AuthMode, Authenticator};
use router::bedrock::SdkBedrock;
use router::handler::{Router, RouterParts};
use router::profiles::ProfileDirectory;
use router::spend::RouterSpend;
use shared::config::ProfileConfig;
use shared::prices::PriceTable;
use shared::profile_map::ProfileMap;
use shared::spend::{
    Alerts, MemoryAlerts, MemorySpendStore, SpendTracker, Stores, TrackerSettings, month_of,
};
use shared::tenants::{KeyHash, TenantsConfig};

use crate::error::BenchError;
use crate::harness::{BenchRouter, Counts, DiscardSink, Stack, chat_body};
use crate::report::{Row, Target};
use crate::router_bench::{answer_of, direct_call};
use crate::stats::percentile;

const KEY: &str = "bench-team-key";
const TEAM: &str = "bench-team";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A router whose one tenant is `bench-team` (API key), with or without a budget and spend
/// tracking; the memory store is returned to read what was written.
fn team_router(
    stack: &Stack,
    budgets: bool,
) -> Result<(BenchRouter, Option<MemorySpendStore>), BenchError> {
    let setup = |e: &dyn std::fmt::Display| BenchError::Setup(format!("budget router: {e}"));
    let budget = if budgets {
        "\n    budget: {monthlyUsd: 1000000, alertAt: [50, 100], enforce: true}"
    } else {
        ""
    };
    let doc = format!(
        "{}tenants:\n  {TEAM}:\n    apiKeys: [{}]{budget}\n",
        stack.profile_yaml(),
        KeyHash::of(KEY).to_hex()
    );
    let config = ProfileConfig::parse(&doc, |_| None).map_err(|e| setup(&e))?;
    let tenants = TenantsConfig::parse(&doc, &config, |_| None).map_err(|e| setup(&e))?;
    let sink: Arc<dyn shared::telemetry::MetricsSink> = Arc::new(DiscardSink);
    let mut store = None;
    let spend = budgets.then(|| {
        let memory = MemorySpendStore::default();
        store = Some(memory.clone());
        let tracker = SpendTracker::start(
            Stores::Memory(memory),
            Alerts::Memory(MemoryAlerts::default()),
            router::spend::budgets(&tenants),
            TrackerSettings::default(),
        );
        RouterSpend::with_tracker(PriceTable::built_in(), tracker, &tenants, Arc::clone(&sink))
    });
    let router = Router::with_tenants(
        RouterParts {
            bedrock: SdkBedrock::new(stack.sdk.clone()),
            shared: ProfileDirectory::new(ProfileMap::new(&config)),
            auth: Authenticator::new(AuthMode::ApiKey, tenants).map_err(|e| setup(&e))?,
            sink,
            max_body_bytes: router::config::DEFAULT_MAX_BODY_BYTES,
            retry: shared::retry::RetryPolicy::default(),
        },
        |t| ProfileDirectory::new(TenantsConfig::profile_map(t)),
    );
    let router = match spend {
        Some(spend) => router.with_spend(Arc::new(spend)),
        None => router,
    };
    Ok((router, store))
}

async fn team_call(router: &BenchRouter) -> Result<(), BenchError> {
    let request = http::Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {KEY}"))
        .body(lambda_http::Body::from(chat_body().to_string()))
        .map_err(|e| BenchError::Setup(format!("request: {e}")))?;
    let (status, body) = answer_of(router, request).await?;
    if status != http::StatusCode::OK || body.is_empty() {
        return Err(BenchError::BadAnswer {
            what: "the router with a team key".into(),
            detail: format!("{status}: {}", String::from_utf8_lossy(&body)),
        });
    }
    Ok(())
}

/// Added latency p50 with budgets off and on, and their difference, per repeat.
pub async fn budgets(stack: &Stack, counts: Counts) -> Result<Vec<Row>, BenchError> {
    let (off, _) = team_router(stack, false)?;
    let (on, store) = team_router(stack, true)?;
    let client = stack.runtime_client();
    for _ in 0..20.min(counts.latency_calls) {
        team_call(&off).await?;
        team_call(&on).await?;
        direct_call(&client, &stack.profile_arn).await?;
    }
    let (mut added_off, mut added_on, mut diff) = (vec![], vec![], vec![]);
    let mut calls_on = 20.min(counts.latency_calls) as u64;
    for _ in 0..counts.repeats {
        let (mut a, mut b, mut d) = (vec![], vec![], vec![]);
        for _ in 0..counts.latency_calls {
            let t = Instant::now();
            team_call(&off).await?;
            a.push(ms(t.elapsed()));
            let t = Instant::now();
            team_call(&on).await?;
            b.push(ms(t.elapsed()));
            let t = Instant::now();
            direct_call(&client, &stack.profile_arn).await?;
            d.push(ms(t.elapsed()));
        }
        calls_on += counts.latency_calls as u64;
        let (p_off, p_on, p_direct) = (
            percentile(&a, 50.0),
            percentile(&b, 50.0),
            percentile(&d, 50.0),
        );
        added_off.push(p_off - p_direct);
        added_on.push(p_on - p_direct);
        diff.push(p_on - p_off);
    }
    // Every answer's spend reached the store: the writes were off the path, not skipped.
    let store = store.ok_or_else(|| BenchError::Setup("no spend store".into()))?;
    let month = month_of(chrono::Utc::now());
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.totals(TEAM, &month).requests < calls_on && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let written = store.totals(TEAM, &month).requests;
    if written != calls_on {
        return Err(BenchError::BadAnswer {
            what: "the spend writer".into(),
            detail: format!("{written} of {calls_on} answers' spend reached the store"),
        });
    }
    let s = "budgets (in-process)";
    let n = format!(
        "{} team-keyed calls a run; {written} spend writes applied by the writer task",
        counts.latency_calls
    );
    Ok(vec![
        Row::new(s, "added latency p50, budgets off", "ms")
            .values(&added_off)
            .target(Target::at_most(0.15))
            .note(n),
        Row::new(s, "added latency p50, budgets on", "ms")
            .values(&added_on)
            .target(Target::at_most(0.15)),
        Row::new(s, "budget check + queued spend write, p50 on − off", "ms").values(&diff),
    ])
}
