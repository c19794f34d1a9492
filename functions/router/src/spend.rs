//! The router's side of spend: the cost of every answer, budgets and rate limits before a call.
//!
//! - [`RouterSpend::admit`] runs before the Bedrock call: the tenant's per-minute limits (one
//!   counter update in the spend table) and its budget (a cached read, at most one per tenant
//!   per `SPEND_READ_INTERVAL_SECONDS`). A refusal is a [`Refusal`], rendered as a 429 in the
//!   route's dialect by [`rendered`].
//! - [`RouterSpend::note`] gives the request record a [`SpendNote`]; when the record is done
//!   (the answer sent or the stream ended), [`SpendNote::finish`] prices its usage with the
//!   shared price table (by the model under the target, never the profile ARN), writes one EMF
//!   document (cost and tokens per tenant, model and profile, budget use, the store's health)
//!   and queues the spend for the writer task. Nothing here waits on the table after the call.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use shared::prices::{Cost, PriceTable, TokenUsage, model_under, pico_to_usd};
use shared::spend::{
    Alerts, DynamoSpendStore, LogAlerts, RateLimits, Refusal, SnsAlerts, SpendDelta, SpendTracker,
    Stores, TrackerSettings,
};
use shared::telemetry::{Dimension, Metrics, Unit};
use shared::tenants::TenantsConfig;

use crate::caps::Target;
use crate::converse::Usage;
use crate::error::RouterError;
use shared::telemetry::MetricsSink;

use crate::METRICS_NAMESPACE as NAMESPACE;

/// The tracker the router holds.
pub type Tracker = SpendTracker<Stores, Alerts>;

/// Costs, budgets and limits for every tenant of one router instance.
pub struct RouterSpend {
    prices: PriceTable,
    /// `None` without a spend table: answers are still priced in the metrics.
    tracker: Option<Tracker>,
    limits: HashMap<String, RateLimits>,
    sink: Arc<dyn MetricsSink>,
    /// Store failures already reported, so each document carries only the new ones.
    reported_failures: AtomicU64,
}

impl RouterSpend {
    /// Prices only: no table, no budgets, no limits.
    pub fn prices_only(prices: PriceTable, sink: Arc<dyn MetricsSink>) -> Self {
        Self {
            prices,
            tracker: None,
            limits: HashMap::new(),
            sink,
            reported_failures: AtomicU64::new(0),
        }
    }

    /// With a tracker: the tenants' budgets are in it; their limits are taken from `tenants`.
    pub fn with_tracker(
        prices: PriceTable,
        tracker: Tracker,
        tenants: &TenantsConfig,
        sink: Arc<dyn MetricsSink>,
    ) -> Self {
        let limits = tenants
            .tenants
            .iter()
            .filter_map(|t| t.rate_limits.map(|l| (t.name.clone(), l)))
            .collect();
        Self {
            tracker: Some(tracker),
            limits,
            ..Self::prices_only(prices, sink)
        }
    }

    /// Cold start: `prices` (the configuration's table), and the spend table named
    /// by `SPEND_TABLE_NAME` (budgets and limits need it: configuring them without it is a
    /// startup error). Alerts go to `ALERT_TOPIC_ARN` when set.
    pub fn from_env(
        env: impl Fn(&str) -> Option<String>,
        prices: PriceTable,
        sdk: &aws_config::SdkConfig,
        tenants: &TenantsConfig,
        sink: Arc<dyn MetricsSink>,
    ) -> Result<Self, RouterError> {
        let table = env(shared::spend::ENV_TABLE).filter(|t| !t.trim().is_empty());
        let Some(table) = table else {
            if let Some(t) = tenants
                .tenants
                .iter()
                .find(|t| t.budget.is_some() || t.rate_limits.is_some())
            {
                return Err(RouterError::Config(format!(
                    "tenant `{}` has a budget or rate limits, which are kept in the spend table, but {} is not set; set it to the table's name (the template creates it)",
                    t.name,
                    shared::spend::ENV_TABLE
                )));
            }
            return Ok(Self::prices_only(prices, sink));
        };
        let settings = TrackerSettings::from_env_with(&env).map_err(RouterError::Config)?;
        let alerts = match env(shared::spend::ENV_ALERT_TOPIC).filter(|t| !t.trim().is_empty()) {
            Some(topic) => Alerts::Sns(SnsAlerts::new(sdk, topic.trim())),
            None => Alerts::Log(LogAlerts),
        };
        let tracker = SpendTracker::start(
            Stores::Dynamo(DynamoSpendStore::new(sdk, table.trim())),
            alerts,
            budgets(tenants),
            settings,
        );
        Ok(Self::with_tracker(prices, tracker, tenants, sink))
    }

    /// The tracker, when there is a table.
    pub fn tracker(&self) -> Option<&Tracker> {
        self.tracker.as_ref()
    }

    /// After an answer is sent, before an on-demand environment asks for its next invocation
    /// (and may be frozen or shut down): waits, at most `SPEND_SETTLE_TIMEOUT_MS`, until the
    /// spend of the answers so far has had its write attempt ([`SpendTracker::settle`]).
    pub async fn settle(&self) {
        let Some(tracker) = &self.tracker else {
            return;
        };
        let bound = tracker.settings().settle_timeout;
        if bound.is_zero() || tracker.settle(bound).await {
            return;
        }
        tracing::warn!(
            pending = tracker.stats().pending,
            bound_ms = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX),
            "spend writes not settled within {}; they stay queued for the next invocation",
            shared::spend::ENV_SETTLE_TIMEOUT
        );
    }

    /// Whether `tenant` may make a call now: its rate limits, then its budget.
    pub async fn admit(&self, tenant: &str) -> Result<(), Refusal> {
        let Some(tracker) = &self.tracker else {
            return Ok(());
        };
        let now = chrono::Utc::now();
        if let Some(limits) = self.limits.get(tenant) {
            tracker.check_rate(tenant, limits, now).await?;
        }
        tracker.check_budget(tenant, now).await
    }

    /// What the record needs to price the answer of a call to `target` for `tenant`.
    pub fn note(self: &Arc<Self>, tenant: &str, target: &Target) -> SpendNote {
        SpendNote {
            spend: Arc::clone(self),
            tenant: tenant.to_owned(),
            model: target.friendly_id.clone(),
            profile: target.call_id.clone(),
            priced_model: model_under(
                Some(&target.friendly_id),
                &target.call_id,
                target.model_id.as_deref(),
            )
            .map(str::to_owned),
            region: target.region.clone(),
        }
    }

    /// The cost of `usage` on `target`'s model, as [`SpendNote::finish`] prices it.
    pub fn cost(&self, usage: &TokenUsage, priced_model: Option<&str>, region: &str) -> Cost {
        match priced_model {
            Some(model) => self.prices.cost(usage, model, region),
            None => Cost::Unpriced { tokens: *usage },
        }
    }

    fn emit(&self, note: &SpendNote, usage: &TokenUsage, cost: Cost) {
        let now = chrono::Utc::now();
        let tracker = self.tracker.as_ref();
        let stats = tracker.map(Tracker::stats).unwrap_or_default();
        let failures = stats.write_failures + stats.read_failures + stats.rate_check_failures;
        let new_failures =
            failures.saturating_sub(self.reported_failures.swap(failures, Ordering::Relaxed));
        let budget_used = tracker.and_then(|t| {
            t.budget(&note.tenant)
                .map(|b| t.estimate(&note.tenant, now) as f64 * 100.0 / b.monthly_pico_usd as f64)
        });
        let unpriced = match cost {
            Cost::Priced { .. } => 0,
            Cost::Unpriced { tokens } => tokens.total(),
        };
        let doc = (|| {
            let mut doc = Metrics::new(NAMESPACE)
                .dimension(Dimension::Tenant, &note.tenant)?
                .dimension(Dimension::Model, &note.model)?
                .dimension(Dimension::Profile, &note.profile)?
                .dimension_set(&[Dimension::Tenant])?
                .dimension_set(&[Dimension::Tenant, Dimension::Model])?
                .dimension_set(&[Dimension::Model, Dimension::Profile])?
                .metric("Cost", Unit::None, pico_to_usd(cost.pico_usd()))?
                .metric("UnpricedTokens", Unit::Count, unpriced as f64)?
                .metric("CacheReadTokens", Unit::Count, usage.cache_read as f64)?
                .metric("CacheWriteTokens", Unit::Count, usage.cache_write as f64)?
                .metric("SpendStoreFailures", Unit::Count, new_failures as f64)?
                .metric("SpendWritesPending", Unit::Count, stats.pending as f64)?;
            if let Some(pct) = budget_used {
                doc = doc.metric("BudgetUsed", Unit::Percent, pct)?;
            }
            let mut out = Vec::with_capacity(768);
            doc.write_to(&mut out, now.timestamp_millis())?;
            if out.last() == Some(&b'\n') {
                out.pop();
            }
            Ok::<_, shared::telemetry::TelemetryError>(String::from_utf8_lossy(&out).into_owned())
        })();
        match doc {
            Ok(line) => self.sink.emit(&line),
            Err(e) => tracing::warn!(error = %e, "spend metrics document not written"),
        }
    }
}

/// Each configured tenant's budget.
pub fn budgets(tenants: &TenantsConfig) -> HashMap<String, shared::spend::Budget> {
    tenants
        .tenants
        .iter()
        .filter_map(|t| t.budget.clone().map(|b| (t.name.clone(), b)))
        .collect()
}

/// One answer's spend, waiting for its usage.
pub struct SpendNote {
    spend: Arc<RouterSpend>,
    tenant: String,
    model: String,
    profile: String,
    priced_model: Option<String>,
    region: String,
}

impl SpendNote {
    /// Prices `usage`, writes the metrics document and queues the spend. Never waits.
    pub fn finish(self, usage: TokenUsage) -> Cost {
        let cost = self
            .spend
            .cost(&usage, self.priced_model.as_deref(), &self.region);
        self.spend.emit(&self, &usage, cost);
        if let Some(tracker) = &self.spend.tracker {
            let delta = SpendDelta {
                pico_usd: cost.pico_usd(),
                tokens: usage,
                unpriced_tokens: match cost {
                    Cost::Priced { .. } => 0,
                    Cost::Unpriced { tokens } => tokens.total(),
                },
                requests: 1,
            };
            let limited = self
                .spend
                .limits
                .get(&self.tenant)
                .is_some_and(|l| l.tokens_per_minute.is_some());
            tracker.record(&self.tenant, chrono::Utc::now(), delta, limited);
        }
        cost
    }
}

/// A Converse usage block as token counts by kind.
pub fn token_usage(u: &Usage) -> TokenUsage {
    TokenUsage {
        input: u.input_tokens,
        output: u.output_tokens,
        cache_read: u.cache_read_input_tokens.unwrap_or(0),
        cache_write: u.cache_write_input_tokens.unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MemorySink;
    use http::StatusCode;
    use shared::spend::{MemoryAlerts, MemorySpendStore};

    const SONNET: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    const ARN: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12";

    fn target(friendly: &str, call_id: &str, model_id: Option<&str>) -> Target {
        Target {
            friendly_id: friendly.to_owned(),
            call_id: call_id.to_owned(),
            region: "us-east-1".to_owned(),
            is_profile: call_id.starts_with("arn:"),
            caps: shared::catalog::capabilities_for(friendly),
            sites: Vec::new(),
            model_id: model_id.map(str::to_owned),
        }
    }

    fn tenants(doc: &str) -> TenantsConfig {
        let base = shared::config::ProfileConfig::parse(
            &format!("models: [{SONNET}]\ndefaultRegion: us-east-1\n"),
            |_| None,
        )
        .unwrap();
        TenantsConfig::parse(doc, &base, |_| None).unwrap()
    }

    fn usage() -> TokenUsage {
        TokenUsage {
            input: 1000,
            output: 100,
            cache_read: 50,
            cache_write: 10,
        }
    }

    #[test]
    fn a_profile_and_the_raw_model_of_the_same_model_cost_the_same() {
        let sink = MemorySink::default();
        let spend = Arc::new(RouterSpend::prices_only(
            PriceTable::built_in(),
            Arc::new(sink.clone()),
        ));
        let raw = spend
            .note("team-a", &target(SONNET, SONNET, None))
            .finish(usage());
        let unnamed = spend
            .note("team-a", &target("claude", ARN, None))
            .finish(usage());
        assert!(
            !unnamed.is_priced(),
            "nothing names the model under the profile"
        );
        let via_profile = spend
            .note("team-a", &target(&format!("us.{SONNET}"), ARN, None))
            .finish(usage());
        let learned = spend
            .note("team-a", &target("claude", ARN, Some(SONNET)))
            .finish(usage());
        assert!(raw.is_priced());
        assert_eq!(raw, via_profile);
        assert_eq!(raw, learned);
        let docs: Vec<serde_json::Value> = sink
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(docs.len(), 4);
        assert_eq!(docs[0]["Profile"], SONNET);
        assert_eq!(docs[2]["Profile"], ARN);
        assert!((docs[0]["Cost"].as_f64().unwrap() - pico_to_usd(raw.pico_usd())).abs() < 1e-15);
        assert_eq!(docs[1]["UnpricedTokens"], 1160.0);
    }

    #[tokio::test]
    async fn budget_and_rate_refusals_come_before_the_call_and_render_as_429() {
        let t = tenants(
            "tenants:\n  team-a:\n    budget: {monthlyUsd: 0.01}\n    rateLimits: {requestsPerMinute: 1000}\n",
        );
        let store = MemorySpendStore::default();
        let tracker = SpendTracker::start(
            Stores::Memory(store.clone()),
            Alerts::Memory(MemoryAlerts::default()),
            budgets(&t),
            TrackerSettings::default(),
        );
        let spend = Arc::new(RouterSpend::with_tracker(
            PriceTable::built_in(),
            tracker,
            &t,
            Arc::new(MemorySink::default()),
        ));
        assert!(spend.admit("team-a").await.is_ok());
        // 10,000 output tokens of Sonnet 4.5 in us-east-1: $0.165, over the $0.01 budget.
        let big = TokenUsage {
            output: 10_000,
            ..TokenUsage::default()
        };
        spend
            .note("team-a", &target(SONNET, SONNET, None))
            .finish(big);
        let refusal = spend.admit("team-a").await.unwrap_err();
        let r = crate::error::render(&RouterError::Refused(refusal));
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.code, Some("insufficient_quota"));
        assert_eq!(r.shape, "ThrottlingException");
        assert!(
            r.message.contains("team-a") && r.message.contains("budget"),
            "{}",
            r.message
        );
        assert_eq!(r.retry_after, None);
        // Tenants without a budget are never refused for one.
        assert!(spend.admit("team-b").await.is_ok());
        let limited = crate::error::render(&RouterError::Refused(Refusal::RateLimited {
            tenant: "team-a".into(),
            what: "requests",
            limit: 5,
            retry_after_secs: 12,
        }));
        assert_eq!(limited.retry_after, Some(12));
        assert_eq!(limited.code, Some("rate_limit_exceeded"));
    }

    #[test]
    fn budgets_without_a_table_are_a_startup_error() {
        let t = tenants("tenants:\n  team-a:\n    budget: {monthlyUsd: 5}\n");
        let sdk = aws_config::SdkConfig::builder().build();
        let err = RouterSpend::from_env(
            |_| None,
            PriceTable::built_in(),
            &sdk,
            &t,
            Arc::new(MemorySink::default()),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("SPEND_TABLE_NAME") && err.contains("team-a"),
            "{err}"
        );
    }

    #[test]
    fn converse_usage_counts_cache_tokens_apart() {
        let u = Usage {
            input_tokens: 3,
            output_tokens: 4,
            total_tokens: 17,
            cache_read_input_tokens: Some(6),
            cache_write_input_tokens: Some(4),
        };
        assert_eq!(
            token_usage(&u),
            TokenUsage {
                input: 3,
                output: 4,
                cache_read: 6,
                cache_write: 4
            }
        );
    }
}
