//! Spend per tenant and month, budgets and rate limits, kept in one DynamoDB table.
//!
//! - [`SpendStore`] is the seam: atomic adds to one item per tenant and month, a read of it, a
//!   once-per-month claim of each budget threshold, and per-minute counters. [`DynamoSpendStore`]
//!   is the AWS adapter; [`MemorySpendStore`] the in-memory fake (with an outage switch).
//! - [`SpendTracker`] is what a function holds: it answers "may this tenant call now?" from a
//!   cached estimate (at most one read per tenant per [`TrackerSettings::read_interval`]), takes
//!   each answer's cost without waiting ([`SpendTracker::record`] only queues it), and runs the
//!   writer task that applies the queue to the store. A failed write stays queued, is retried
//!   with back-off and counted; nothing is lost while the instance lives, and the estimate keeps
//!   counting what is still queued, so the budget check sees it even while the table is down.
//!
//! Amounts are integers: pico-dollars (10⁻¹² USD, see [`crate::prices`]) and tokens, added with
//! DynamoDB's atomic `ADD`, so concurrent writers from many instances never lose an update and
//! the sums are exact.
//!
//! Table layout (partition key `pk`, sort key `sk`, both strings; `expiresAt` is the TTL):
//!
//! | item | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | spend | `tenant#<name>` | `month#2026-12` | `costPicoUsd`, `inputTokens`, `outputTokens`, `cacheReadTokens`, `cacheWriteTokens`, `unpricedTokens`, `requests`, `updatedAt` |
//! | alert claim | `tenant#<name>` | `alert#2026-12#80` | `sentAt`, `expiresAt` |
//! | rate counter | `tenant#<name>` | `minute#2026-12-04T16:05` | `requests`, `tokens`, `expiresAt` |

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::prices::{PICO_PER_USD, TokenUsage, usd_text};

/// Env var naming the spend table.
pub const ENV_TABLE: &str = "SPEND_TABLE_NAME";
/// Env var: seconds between reads of one tenant's spend (default [`DEFAULT_READ_INTERVAL`]).
pub const ENV_READ_INTERVAL: &str = "SPEND_READ_INTERVAL_SECONDS";
/// Env var: the SNS topic budget alerts go to.
pub const ENV_ALERT_TOPIC: &str = "ALERT_TOPIC_ARN";

/// How stale a tenant's spend may be before the next budget check reads it again.
pub const DEFAULT_READ_INTERVAL: Duration = Duration::from_secs(10);

/// Env var: the longest an on-demand router waits, after an answer is sent and before it asks
/// for the next invocation, for that answer's spend write (milliseconds, 0 turns the wait off;
/// default [`DEFAULT_SETTLE_TIMEOUT`]). See [`SpendTracker::settle`].
pub const ENV_SETTLE_TIMEOUT: &str = "SPEND_SETTLE_TIMEOUT_MS";

/// Default of [`ENV_SETTLE_TIMEOUT`]: a DynamoDB update in the same region takes a few
/// milliseconds; a second covers a slow one and bounds what a table outage adds to each call.
pub const DEFAULT_SETTLE_TIMEOUT: Duration = Duration::from_secs(1);

/// The most a budget may be, in USD (keeps pico-dollar amounts far inside `u64`).
pub const MAX_MONTHLY_USD: f64 = 1_000_000.0;

/// A tenant's monthly budget, as configured:
/// `budget: {monthlyUsd: 500, alertAt: [50, 80, 100], enforce: true}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// The budget in pico-dollars.
    pub monthly_pico_usd: u64,
    /// Percentages of the budget that each publish one alert per month, ascending.
    pub alert_at: Vec<u32>,
    /// Refuse calls once the budget is spent (otherwise only alert).
    pub enforce: bool,
}

/// Per-minute limits: `rateLimits: {requestsPerMinute: 60, tokensPerMinute: 100000}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests started per minute.
    pub requests_per_minute: Option<u64>,
    /// Tokens (every kind) used per minute.
    pub tokens_per_minute: Option<u64>,
}

/// `budget:` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawBudget {
    monthly_usd: f64,
    #[serde(default)]
    alert_at: Vec<u32>,
    #[serde(default = "enforce_by_default")]
    enforce: bool,
}

fn enforce_by_default() -> bool {
    true
}

impl RawBudget {
    /// Validates; the error says what to write instead.
    pub fn validate(self) -> Result<Budget, String> {
        if !self.monthly_usd.is_finite()
            || self.monthly_usd <= 0.0
            || self.monthly_usd > MAX_MONTHLY_USD
        {
            return Err(format!(
                "`budget.monthlyUsd` is {}; write an amount in USD above 0 and at most {MAX_MONTHLY_USD}",
                self.monthly_usd
            ));
        }
        let mut alert_at = self.alert_at;
        for pct in &alert_at {
            if !(1..=1000).contains(pct) {
                return Err(format!(
                    "`budget.alertAt` has {pct}; thresholds are percentages of the budget from 1 to 1000"
                ));
            }
        }
        let unique: BTreeSet<u32> = alert_at.iter().copied().collect();
        if unique.len() != alert_at.len() {
            return Err("`budget.alertAt` lists a threshold twice; list each once".to_owned());
        }
        alert_at.sort_unstable();
        Ok(Budget {
            monthly_pico_usd: (self.monthly_usd * PICO_PER_USD as f64).round() as u64,
            alert_at,
            enforce: self.enforce,
        })
    }
}

/// `rateLimits:` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawRateLimits {
    #[serde(default)]
    requests_per_minute: Option<u64>,
    #[serde(default)]
    tokens_per_minute: Option<u64>,
}

impl RawRateLimits {
    /// Validates; the error says what to write instead.
    pub fn validate(self) -> Result<RateLimits, String> {
        if self.requests_per_minute.is_none() && self.tokens_per_minute.is_none() {
            return Err(
                "`rateLimits` sets no limit; give `requestsPerMinute`, `tokensPerMinute` or both"
                    .to_owned(),
            );
        }
        for (name, v) in [
            ("requestsPerMinute", self.requests_per_minute),
            ("tokensPerMinute", self.tokens_per_minute),
        ] {
            if v == Some(0) {
                return Err(format!(
                    "`rateLimits.{name}` is 0, which would refuse every call; write a positive number or leave it out"
                ));
            }
        }
        Ok(RateLimits {
            requests_per_minute: self.requests_per_minute,
            tokens_per_minute: self.tokens_per_minute,
        })
    }
}

/// The month an amount belongs to (`2026-12`, UTC).
pub fn month_of(t: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", t.year(), t.month())
}

/// The minute a rate counter belongs to (`2026-12-04T16:05`, UTC).
pub fn minute_of(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

/// What one answer (or a batch of answers) adds to a tenant's month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpendDelta {
    /// Priced cost.
    pub pico_usd: u64,
    /// Tokens of every call, priced or not.
    pub tokens: TokenUsage,
    /// Tokens of calls whose price is unknown.
    pub unpriced_tokens: u64,
    /// Answers.
    pub requests: u64,
}

impl SpendDelta {
    fn merge(&mut self, other: &SpendDelta) {
        self.pico_usd = self.pico_usd.saturating_add(other.pico_usd);
        self.tokens.add(&other.tokens);
        self.unpriced_tokens = self.unpriced_tokens.saturating_add(other.unpriced_tokens);
        self.requests = self.requests.saturating_add(other.requests);
    }
}

/// A tenant's month in the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpendTotals {
    /// Priced cost.
    pub pico_usd: u64,
    /// Tokens by kind.
    pub tokens: TokenUsage,
    /// Tokens of calls whose price is unknown.
    pub unpriced_tokens: u64,
    /// Answers.
    pub requests: u64,
}

/// A store call that failed (unreachable, throttled, refused); the writer retries it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("spend store: {0}")]
pub struct StoreError(pub String);

/// Where spend is kept. Every method is one request to the store.
pub trait SpendStore: Send + Sync + 'static {
    /// Adds `delta` to `tenant`'s `month` atomically and returns the totals after the add.
    fn add(
        &self,
        tenant: &str,
        month: &str,
        delta: &SpendDelta,
    ) -> impl Future<Output = Result<SpendTotals, StoreError>> + Send;

    /// `tenant`'s `month` (zeros when nothing was spent).
    fn read(
        &self,
        tenant: &str,
        month: &str,
    ) -> impl Future<Output = Result<SpendTotals, StoreError>> + Send;

    /// Claims threshold `pct` of `tenant`'s `month`: `true` for the one caller that claimed it
    /// first (a conditional write, so many instances publish once).
    fn claim_alert(
        &self,
        tenant: &str,
        month: &str,
        pct: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives a claim back (its alert could not be published), so a later write tries again.
    fn release_alert(
        &self,
        tenant: &str,
        month: &str,
        pct: u32,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Adds to `tenant`'s counters for `minute` and returns `(requests, tokens)` after the add.
    fn count_minute(
        &self,
        tenant: &str,
        minute: &str,
        requests: u64,
        tokens: u64,
    ) -> impl Future<Output = Result<(u64, u64), StoreError>> + Send;
}

/// Where budget alerts go.
pub trait AlertSink: Send + Sync + 'static {
    /// Publishes one alert.
    fn publish(
        &self,
        subject: &str,
        body: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Alerts to an SNS topic.
#[derive(Debug, Clone)]
pub struct SnsAlerts {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsAlerts {
    /// Publishes to `topic_arn`.
    pub fn new(sdk: &aws_config::SdkConfig, topic_arn: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_sns::Client::new(sdk),
            topic_arn: topic_arn.into(),
        }
    }
}

impl AlertSink for SnsAlerts {
    async fn publish(&self, subject: &str, body: &str) -> Result<(), StoreError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StoreError(aws_sdk_sns::error::DisplayErrorContext(&e).to_string()))
    }
}

/// No alert topic: alerts are logged only.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogAlerts;

impl AlertSink for LogAlerts {
    async fn publish(&self, subject: &str, _body: &str) -> Result<(), StoreError> {
        tracing::warn!(subject, "budget alert (no alert topic configured)");
        Ok(())
    }
}

/// Keeps alert subjects in memory (tests, and the local stack's checks).
#[derive(Debug, Clone, Default)]
pub struct MemoryAlerts(pub Arc<Mutex<Vec<String>>>);

impl MemoryAlerts {
    /// The subjects published so far.
    pub fn subjects(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl AlertSink for MemoryAlerts {
    async fn publish(&self, subject: &str, _body: &str) -> Result<(), StoreError> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(subject.to_owned());
        Ok(())
    }
}

/// The alert sink a function picks at start: the SNS topic when one is configured.
#[derive(Debug, Clone)]
pub enum Alerts {
    /// Publish to SNS.
    Sns(SnsAlerts),
    /// Log only.
    Log(LogAlerts),
    /// Keep in memory.
    Memory(MemoryAlerts),
}

impl AlertSink for Alerts {
    async fn publish(&self, subject: &str, body: &str) -> Result<(), StoreError> {
        match self {
            Self::Sns(a) => a.publish(subject, body).await,
            Self::Log(a) => a.publish(subject, body).await,
            Self::Memory(a) => a.publish(subject, body).await,
        }
    }
}

/// The store a function picks at start: the DynamoDB table, or memory (tests, and a single
/// instance without a table).
#[derive(Debug, Clone)]
pub enum Stores {
    /// The DynamoDB table.
    Dynamo(DynamoSpendStore),
    /// In memory.
    Memory(MemorySpendStore),
}

impl SpendStore for Stores {
    async fn add(&self, t: &str, m: &str, d: &SpendDelta) -> Result<SpendTotals, StoreError> {
        match self {
            Self::Dynamo(s) => s.add(t, m, d).await,
            Self::Memory(s) => s.add(t, m, d).await,
        }
    }

    async fn read(&self, t: &str, m: &str) -> Result<SpendTotals, StoreError> {
        match self {
            Self::Dynamo(s) => s.read(t, m).await,
            Self::Memory(s) => s.read(t, m).await,
        }
    }

    async fn claim_alert(&self, t: &str, m: &str, pct: u32) -> Result<bool, StoreError> {
        match self {
            Self::Dynamo(s) => s.claim_alert(t, m, pct).await,
            Self::Memory(s) => s.claim_alert(t, m, pct).await,
        }
    }

    async fn release_alert(&self, t: &str, m: &str, pct: u32) -> Result<(), StoreError> {
        match self {
            Self::Dynamo(s) => s.release_alert(t, m, pct).await,
            Self::Memory(s) => s.release_alert(t, m, pct).await,
        }
    }

    async fn count_minute(
        &self,
        t: &str,
        minute: &str,
        requests: u64,
        tokens: u64,
    ) -> Result<(u64, u64), StoreError> {
        match self {
            Self::Dynamo(s) => s.count_minute(t, minute, requests, tokens).await,
            Self::Memory(s) => s.count_minute(t, minute, requests, tokens).await,
        }
    }
}

/// The DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoSpendStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn get_n(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn totals_from(item: &HashMap<String, AttributeValue>) -> SpendTotals {
    SpendTotals {
        pico_usd: get_n(item, "costPicoUsd"),
        tokens: TokenUsage {
            input: get_n(item, "inputTokens"),
            output: get_n(item, "outputTokens"),
            cache_read: get_n(item, "cacheReadTokens"),
            cache_write: get_n(item, "cacheWriteTokens"),
        },
        unpriced_tokens: get_n(item, "unpricedTokens"),
        requests: get_n(item, "requests"),
    }
}

fn sdk_error<E, R>(e: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
}

/// Rate counters live two minutes past their minute; alert claims a little over a month.
const MINUTE_TTL_SECS: i64 = 120;
const CLAIM_TTL_SECS: i64 = 40 * 86_400;

impl DynamoSpendStore {
    /// The store over `table`.
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table: table.into(),
        }
    }

    fn key(
        &self,
        tenant: &str,
        sort: String,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("tenant#{tenant}")))
            .key("sk", s(sort))
    }
}

impl SpendStore for DynamoSpendStore {
    async fn add(
        &self,
        tenant: &str,
        month: &str,
        d: &SpendDelta,
    ) -> Result<SpendTotals, StoreError> {
        let out = self
            .key(tenant, format!("month#{month}"))
            .update_expression("ADD #c :c, #i :i, #o :o, #r :r, #w :w, #u :u, #n :n SET #t = :t")
            .expression_attribute_names("#c", "costPicoUsd")
            .expression_attribute_names("#i", "inputTokens")
            .expression_attribute_names("#o", "outputTokens")
            .expression_attribute_names("#r", "cacheReadTokens")
            .expression_attribute_names("#w", "cacheWriteTokens")
            .expression_attribute_names("#u", "unpricedTokens")
            .expression_attribute_names("#n", "requests")
            .expression_attribute_names("#t", "updatedAt")
            .expression_attribute_values(":c", n(d.pico_usd))
            .expression_attribute_values(":i", n(d.tokens.input))
            .expression_attribute_values(":o", n(d.tokens.output))
            .expression_attribute_values(":r", n(d.tokens.cache_read))
            .expression_attribute_values(":w", n(d.tokens.cache_write))
            .expression_attribute_values(":u", n(d.unpriced_tokens))
            .expression_attribute_values(":n", n(d.requests))
            .expression_attribute_values(":t", s(Utc::now().to_rfc3339()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.attributes().map(totals_from).unwrap_or_default())
    }

    async fn read(&self, tenant: &str, month: &str) -> Result<SpendTotals, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("tenant#{tenant}")))
            .key("sk", s(format!("month#{month}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.item().map(totals_from).unwrap_or_default())
    }

    async fn claim_alert(&self, tenant: &str, month: &str, pct: u32) -> Result<bool, StoreError> {
        let now = Utc::now();
        let result = self
            .key(tenant, format!("alert#{month}#{pct}"))
            .update_expression("SET #s = :s, #e = :e")
            .condition_expression("attribute_not_exists(#s)")
            .expression_attribute_names("#s", "sentAt")
            .expression_attribute_names("#e", "expiresAt")
            .expression_attribute_values(":s", s(now.to_rfc3339()))
            // DynamoDB's TTL only reads numbers: a string `expiresAt` would never expire.
            .expression_attribute_values(
                ":e",
                n(u64::try_from(now.timestamp() + CLAIM_TTL_SECS).unwrap_or(0)),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn release_alert(&self, tenant: &str, month: &str, pct: u32) -> Result<(), StoreError> {
        self.key(tenant, format!("alert#{month}#{pct}"))
            .update_expression("REMOVE #s")
            .expression_attribute_names("#s", "sentAt")
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error)
    }

    async fn count_minute(
        &self,
        tenant: &str,
        minute: &str,
        requests: u64,
        tokens: u64,
    ) -> Result<(u64, u64), StoreError> {
        let expires = Utc::now().timestamp() + MINUTE_TTL_SECS;
        let out = self
            .key(tenant, format!("minute#{minute}"))
            .update_expression("ADD #n :n, #k :k SET #e = :e")
            .expression_attribute_names("#n", "requests")
            .expression_attribute_names("#k", "tokens")
            .expression_attribute_names("#e", "expiresAt")
            .expression_attribute_values(":n", n(requests))
            .expression_attribute_values(":k", n(tokens))
            .expression_attribute_values(":e", n(u64::try_from(expires).unwrap_or(0)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(sdk_error)?;
        let item = out.attributes().cloned().unwrap_or_default();
        Ok((get_n(&item, "requests"), get_n(&item, "tokens")))
    }
}

/// The in-memory store: the unit tests' fake, with a switch that makes every call fail as an
/// unreachable table would.
#[derive(Debug, Clone, Default)]
pub struct MemorySpendStore {
    inner: Arc<Mutex<MemoryInner>>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    months: HashMap<(String, String), SpendTotals>,
    claims: BTreeSet<(String, String, u32)>,
    minutes: HashMap<(String, String), (u64, u64)>,
    down: bool,
    calls: u64,
}

impl MemorySpendStore {
    /// Makes every call fail (`true`) or work again (`false`).
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Calls made so far (failed ones included).
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// What the store holds for `tenant`'s `month`.
    pub fn totals(&self, tenant: &str, month: &str) -> SpendTotals {
        self.lock()
            .months
            .get(&(tenant.to_owned(), month.to_owned()))
            .copied()
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn call(&self) -> Result<std::sync::MutexGuard<'_, MemoryInner>, StoreError> {
        let mut g = self.lock();
        g.calls += 1;
        if g.down {
            return Err(StoreError("the table is unreachable".to_owned()));
        }
        Ok(g)
    }
}

impl SpendStore for MemorySpendStore {
    async fn add(
        &self,
        tenant: &str,
        month: &str,
        d: &SpendDelta,
    ) -> Result<SpendTotals, StoreError> {
        let mut g = self.call()?;
        let t = g
            .months
            .entry((tenant.to_owned(), month.to_owned()))
            .or_default();
        t.pico_usd += d.pico_usd;
        t.tokens.add(&d.tokens);
        t.unpriced_tokens += d.unpriced_tokens;
        t.requests += d.requests;
        Ok(*t)
    }

    async fn read(&self, tenant: &str, month: &str) -> Result<SpendTotals, StoreError> {
        let g = self.call()?;
        Ok(g.months
            .get(&(tenant.to_owned(), month.to_owned()))
            .copied()
            .unwrap_or_default())
    }

    async fn claim_alert(&self, tenant: &str, month: &str, pct: u32) -> Result<bool, StoreError> {
        let mut g = self.call()?;
        Ok(g.claims.insert((tenant.to_owned(), month.to_owned(), pct)))
    }

    async fn release_alert(&self, tenant: &str, month: &str, pct: u32) -> Result<(), StoreError> {
        let mut g = self.call()?;
        g.claims.remove(&(tenant.to_owned(), month.to_owned(), pct));
        Ok(())
    }

    async fn count_minute(
        &self,
        tenant: &str,
        minute: &str,
        requests: u64,
        tokens: u64,
    ) -> Result<(u64, u64), StoreError> {
        let mut g = self.call()?;
        let c = g
            .minutes
            .entry((tenant.to_owned(), minute.to_owned()))
            .or_default();
        c.0 += requests;
        c.1 += tokens;
        Ok(*c)
    }
}

/// Why a call is refused before it reaches Bedrock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The tenant's budget for the month is spent.
    #[error(
        "tenant `{tenant}` has spent its budget for {month}: ${spent} of ${budget}; calls resume on the 1st of next month (UTC) or when the budget is raised",
        spent = usd_text(*spent_pico_usd),
        budget = usd_text(*budget_pico_usd)
    )]
    BudgetExhausted {
        /// The tenant.
        tenant: String,
        /// `2026-12`.
        month: String,
        /// The budget.
        budget_pico_usd: u64,
        /// What is known to be spent.
        spent_pico_usd: u64,
    },
    /// A per-minute limit is reached.
    #[error(
        "tenant `{tenant}` has reached its limit of {limit} {what} per minute; retry after {retry_after_secs} seconds"
    )]
    RateLimited {
        /// The tenant.
        tenant: String,
        /// `requests` or `tokens`.
        what: &'static str,
        /// The limit.
        limit: u64,
        /// Seconds until the next minute starts.
        retry_after_secs: u64,
    },
}

/// How the tracker behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackerSettings {
    /// At most one read of a tenant's spend per this interval.
    pub read_interval: Duration,
    /// First back-off after a failed write.
    pub initial_backoff: Duration,
    /// Longest back-off between write attempts.
    pub max_backoff: Duration,
    /// Bound of [`SpendTracker::settle`] as the router's runtime calls it; zero: no wait.
    pub settle_timeout: Duration,
}

impl Default for TrackerSettings {
    fn default() -> Self {
        Self {
            read_interval: DEFAULT_READ_INTERVAL,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            settle_timeout: DEFAULT_SETTLE_TIMEOUT,
        }
    }
}

impl TrackerSettings {
    /// Reads [`ENV_READ_INTERVAL`] (whole seconds, 1 to 3600) and [`ENV_SETTLE_TIMEOUT`]
    /// (whole milliseconds, 0 to 10000).
    pub fn from_env_with(env: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut s = Self::default();
        if let Some(v) = env(ENV_READ_INTERVAL).filter(|v| !v.trim().is_empty()) {
            let secs = v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=3600).contains(n))
                .ok_or_else(|| {
                    format!(
                        "{ENV_READ_INTERVAL}={v:?} must be a whole number of seconds from 1 to 3600"
                    )
                })?;
            s.read_interval = Duration::from_secs(secs);
        }
        if let Some(v) = env(ENV_SETTLE_TIMEOUT).filter(|v| !v.trim().is_empty()) {
            let ms = v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= 10_000)
                .ok_or_else(|| {
                    format!(
                        "{ENV_SETTLE_TIMEOUT}={v:?} must be a whole number of milliseconds from 0 (no wait) to 10000"
                    )
                })?;
            s.settle_timeout = Duration::from_millis(ms);
        }
        Ok(s)
    }
}

/// Counters about the store, for metrics (monotonic except `pending`).
#[derive(Debug, Default)]
pub struct TrackerStats {
    /// Writes applied.
    pub writes: AtomicU64,
    /// Writes that failed (each is retried).
    pub write_failures: AtomicU64,
    /// Reads made.
    pub reads: AtomicU64,
    /// Reads that failed (the check then uses the last estimate).
    pub read_failures: AtomicU64,
    /// Rate-limit checks that could not reach the store (the call was let through).
    pub rate_check_failures: AtomicU64,
    /// Alerts published.
    pub alerts: AtomicU64,
    /// Alerts that could not be claimed or published (retried on a later write).
    pub alert_failures: AtomicU64,
    /// Updates queued and not yet applied.
    pub pending: AtomicU64,
}

/// A snapshot of [`TrackerStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// See [`TrackerStats::writes`].
    pub writes: u64,
    /// See [`TrackerStats::write_failures`].
    pub write_failures: u64,
    /// See [`TrackerStats::reads`].
    pub reads: u64,
    /// See [`TrackerStats::read_failures`].
    pub read_failures: u64,
    /// See [`TrackerStats::rate_check_failures`].
    pub rate_check_failures: u64,
    /// See [`TrackerStats::alerts`].
    pub alerts: u64,
    /// See [`TrackerStats::alert_failures`].
    pub alert_failures: u64,
    /// See [`TrackerStats::pending`].
    pub pending: u64,
}

impl TrackerStats {
    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            writes: l(&self.writes),
            write_failures: l(&self.write_failures),
            reads: l(&self.reads),
            read_failures: l(&self.read_failures),
            rate_check_failures: l(&self.rate_check_failures),
            alerts: l(&self.alerts),
            alert_failures: l(&self.alert_failures),
            pending: l(&self.pending),
        }
    }
}

/// What this instance knows about one tenant's current month.
#[derive(Debug, Default)]
struct Estimate {
    month: String,
    /// The store's total as last seen (a read, or the answer to one of our adds).
    stored: u64,
    /// Our adds not yet in the store.
    queued: u64,
    read_at: Option<Instant>,
    /// Thresholds known to be claimed this month.
    alerted: BTreeSet<u32>,
}

impl Estimate {
    fn roll(&mut self, month: &str) {
        if self.month != month {
            *self = Estimate {
                month: month.to_owned(),
                ..Estimate::default()
            };
        }
    }
}

#[derive(Default)]
struct TenantState {
    estimate: Mutex<Estimate>,
    /// Held while reading, so concurrent checks wait for one read instead of each making one.
    read_gate: tokio::sync::Mutex<()>,
}

enum Update {
    Month {
        tenant: String,
        month: String,
        delta: SpendDelta,
    },
    Minute {
        tenant: String,
        minute: String,
        tokens: u64,
    },
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Month(String, String),
    Minute(String, String),
}

struct Pending {
    delta: SpendDelta,
    /// Queued updates merged into this write (each counts once in `stats.pending`).
    updates: u64,
    /// Of those, the ones not yet in any attempt (each counts once in `Shared::untried`).
    untried: u64,
    attempts: u32,
    next_try: Instant,
}

struct Shared<S, A> {
    store: S,
    alerts: A,
    budgets: HashMap<String, Budget>,
    settings: TrackerSettings,
    tenants: Mutex<HashMap<String, Arc<TenantState>>>,
    stats: TrackerStats,
    /// Updates recorded whose first write attempt (with the alerts it triggers) has not ended.
    untried: AtomicU64,
    /// Woken each time `untried` goes down.
    tried: tokio::sync::Notify,
}

impl<S, A> Shared<S, A> {
    fn tenant(&self, name: &str) -> Arc<TenantState> {
        let mut map = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(map.entry(name.to_owned()).or_default())
    }
}

fn lock(e: &Mutex<Estimate>) -> std::sync::MutexGuard<'_, Estimate> {
    e.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Budgets, rate limits and spend recording for every tenant of one function instance.
/// Cheap to clone; the writer task lives as long as any clone.
pub struct SpendTracker<S, A> {
    shared: Arc<Shared<S, A>>,
    queue: mpsc::UnboundedSender<Update>,
}

impl<S, A> Clone for SpendTracker<S, A> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            queue: self.queue.clone(),
        }
    }
}

impl<S: SpendStore, A: AlertSink> SpendTracker<S, A> {
    /// A tracker over `store` for tenants with `budgets`, and its writer task (spawned on the
    /// current tokio runtime).
    pub fn start(
        store: S,
        alerts: A,
        budgets: HashMap<String, Budget>,
        settings: TrackerSettings,
    ) -> Self {
        let shared = Arc::new(Shared {
            store,
            alerts,
            budgets,
            settings,
            tenants: Mutex::new(HashMap::new()),
            stats: TrackerStats::default(),
            untried: AtomicU64::new(0),
            tried: tokio::sync::Notify::new(),
        });
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(Arc::clone(&shared), rx));
        Self { shared, queue }
    }

    /// How it was configured.
    pub fn settings(&self) -> &TrackerSettings {
        &self.shared.settings
    }

    /// The store's counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// The store (tests read it back).
    pub fn store(&self) -> &S {
        &self.shared.store
    }

    /// The budget configured for `tenant`.
    pub fn budget(&self, tenant: &str) -> Option<&Budget> {
        self.shared.budgets.get(tenant)
    }

    /// What this instance knows `tenant` has spent in the month of `now`: the store's total as
    /// last read or written, plus what is still queued here.
    pub fn estimate(&self, tenant: &str, now: DateTime<Utc>) -> u64 {
        let state = self.shared.tenant(tenant);
        let mut e = lock(&state.estimate);
        e.roll(&month_of(now));
        e.stored.saturating_add(e.queued)
    }

    /// Whether `tenant` may make a call at `now` under its budget. Reads the store at most
    /// once per read interval; a failed read is counted and the last estimate used (the call
    /// is not refused for the store's sake).
    pub async fn check_budget(&self, tenant: &str, now: DateTime<Utc>) -> Result<(), Refusal> {
        let Some(budget) = self.shared.budgets.get(tenant) else {
            return Ok(());
        };
        if !budget.enforce {
            return Ok(());
        }
        let month = month_of(now);
        let state = self.shared.tenant(tenant);
        let stale = |state: &TenantState| {
            let mut e = lock(&state.estimate);
            e.roll(&month);
            e.read_at
                .is_none_or(|t| t.elapsed() >= self.shared.settings.read_interval)
        };
        if stale(&state) {
            let _gate = state.read_gate.lock().await;
            if stale(&state) {
                self.shared.stats.reads.fetch_add(1, Ordering::Relaxed);
                let read = self.shared.store.read(tenant, &month).await;
                let mut e = lock(&state.estimate);
                e.roll(&month);
                e.read_at = Some(Instant::now());
                match read {
                    // Totals only grow within a month; an add answered meanwhile may be newer.
                    Ok(t) => e.stored = e.stored.max(t.pico_usd),
                    Err(err) => {
                        self.shared
                            .stats
                            .read_failures
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(tenant, error = %err, "spend read failed; checking the budget against the last known spend");
                    }
                }
            }
        }
        let spent = {
            let e = lock(&state.estimate);
            e.stored.saturating_add(e.queued)
        };
        if spent >= budget.monthly_pico_usd {
            return Err(Refusal::BudgetExhausted {
                tenant: tenant.to_owned(),
                month,
                budget_pico_usd: budget.monthly_pico_usd,
                spent_pico_usd: spent,
            });
        }
        Ok(())
    }

    /// Counts one request against `limits` at `now` and refuses it when a per-minute limit is
    /// reached. One store call; when the store cannot be reached the call is let through and
    /// the failure counted.
    pub async fn check_rate(
        &self,
        tenant: &str,
        limits: &RateLimits,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let (requests, tokens) = match self
            .shared
            .store
            .count_minute(tenant, &minute_of(now), 1, 0)
            .await
        {
            Ok(counts) => counts,
            Err(err) => {
                self.shared
                    .stats
                    .rate_check_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(tenant, error = %err, "rate-limit counter unreachable; letting the call through");
                return Ok(());
            }
        };
        let retry_after_secs = u64::from(60 - now.second()).max(1);
        let refuse = |what, limit| Refusal::RateLimited {
            tenant: tenant.to_owned(),
            what,
            limit,
            retry_after_secs,
        };
        if let Some(limit) = limits.requests_per_minute
            && requests > limit
        {
            return Err(refuse("requests", limit));
        }
        if let Some(limit) = limits.tokens_per_minute
            && tokens >= limit
        {
            return Err(refuse("tokens", limit));
        }
        Ok(())
    }

    /// Records what one answer cost. Never waits: the estimate is updated here and the write
    /// queued for the writer task.
    pub fn record(
        &self,
        tenant: &str,
        now: DateTime<Utc>,
        delta: SpendDelta,
        count_minute_tokens: bool,
    ) {
        let month = month_of(now);
        {
            let state = self.shared.tenant(tenant);
            let mut e = lock(&state.estimate);
            e.roll(&month);
            e.queued = e.queued.saturating_add(delta.pico_usd);
        }
        self.shared.stats.pending.fetch_add(1, Ordering::Relaxed);
        self.shared.untried.fetch_add(1, Ordering::Relaxed);
        let total = delta.tokens.total();
        // The writer lives as long as the tracker, so the queue is open while `self` exists.
        let _ = self.queue.send(Update::Month {
            tenant: tenant.to_owned(),
            month,
            delta,
        });
        if count_minute_tokens && total > 0 {
            self.shared.stats.pending.fetch_add(1, Ordering::Relaxed);
            self.shared.untried.fetch_add(1, Ordering::Relaxed);
            let _ = self.queue.send(Update::Minute {
                tenant: tenant.to_owned(),
                minute: minute_of(now),
                tokens: total,
            });
        }
    }

    /// Waits until every update recorded so far has had its first write attempt (applied, or
    /// failed and kept for its retry) and any alert it triggered has been published, or until
    /// `timeout` passes; `true` when nothing was left untried.
    ///
    /// The on-demand router calls it after each answer is sent and before it asks Lambda for the
    /// next invocation: Lambda freezes an environment once it asks, and may shut a frozen one
    /// down, which would drop writes still queued. The caller has the whole answer by then, so
    /// the wait costs billed milliseconds, never a byte's delay. It does not wait for retries:
    /// while the table is down each call pays one failed attempt at most, and the write stays
    /// queued (counted in `SpendWritesPending`) for the next invocation.
    pub async fn settle(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            let woken = self.shared.tried.notified();
            tokio::pin!(woken);
            // Registered before the check, so a decrement between the check and the wait wakes it.
            woken.as_mut().enable();
            if self.shared.untried.load(Ordering::Acquire) == 0 {
                return true;
            }
            if tokio::time::timeout_at(until, woken).await.is_err() {
                return self.shared.untried.load(Ordering::Acquire) == 0;
            }
        }
    }

    /// Waits until every queued update is applied or `timeout` passes; `true` when nothing is
    /// left (tests, and a shutdown hook).
    pub async fn flush(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            if self.shared.stats.pending.load(Ordering::Relaxed) == 0 {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn backoff(settings: &TrackerSettings, attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(16);
    let ceiling = settings
        .initial_backoff
        .saturating_mul(1u32 << exp)
        .min(settings.max_backoff);
    // Half fixed, half random: instances that failed together do not retry together.
    let half = ceiling / 2;
    let millis = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand_below(millis))
}

fn rand_below(max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    // The sub-second clock is random enough to spread retries; no crate needed for that.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    nanos % (max + 1)
}

/// A queued update as the pending key it merges into and what it adds. A minute counter's
/// tokens travel in `tokens.input` (every kind together, as the limit counts them).
fn keyed(u: Update) -> (Key, SpendDelta) {
    match u {
        Update::Month {
            tenant,
            month,
            delta,
        } => (Key::Month(tenant, month), delta),
        Update::Minute {
            tenant,
            minute,
            tokens,
        } => (
            Key::Minute(tenant, minute),
            SpendDelta {
                tokens: TokenUsage {
                    input: tokens,
                    ..TokenUsage::default()
                },
                ..SpendDelta::default()
            },
        ),
    }
}

enum Wake {
    Update(Update),
    Closed,
    Timer,
}

async fn writer<S: SpendStore, A: AlertSink>(
    shared: Arc<Shared<S, A>>,
    mut rx: mpsc::UnboundedReceiver<Update>,
) {
    let mut pending: HashMap<Key, Pending> = HashMap::new();
    let mut open = true;
    let take = |u: Update, pending: &mut HashMap<Key, Pending>| {
        let (key, delta) = keyed(u);
        match pending.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let p = e.get_mut();
                p.delta.merge(&delta);
                p.updates += 1;
                if p.attempts > 0 {
                    // It joins a write that is failing and waits for that write's retry: trying
                    // it sooner would only fail again, so nobody should wait on it.
                    tried(&shared, 1);
                } else {
                    p.untried += 1;
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Pending {
                    delta,
                    updates: 1,
                    untried: 1,
                    attempts: 0,
                    next_try: Instant::now(),
                });
            }
        }
    };
    loop {
        // Wait for work: a new update, or the earliest retry.
        let next_try = pending.values().map(|p| p.next_try).min();
        let wake = match (next_try, open) {
            (None, false) => return,
            (None, true) => rx.recv().await.map_or(Wake::Closed, Wake::Update),
            (Some(at), true) => tokio::select! {
                u = rx.recv() => u.map_or(Wake::Closed, Wake::Update),
                () = tokio::time::sleep_until(at) => Wake::Timer,
            },
            (Some(at), false) => {
                tokio::time::sleep_until(at).await;
                Wake::Timer
            }
        };
        match wake {
            Wake::Update(u) => {
                take(u, &mut pending);
                // Take whatever else is queued before writing, so a burst becomes one write.
                while let Ok(more) = rx.try_recv() {
                    take(more, &mut pending);
                }
            }
            Wake::Closed => open = false,
            Wake::Timer => {}
        }
        let now = Instant::now();
        let due: Vec<Key> = pending
            .iter()
            .filter(|(_, p)| p.next_try <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(mut p) = pending.remove(&key) else {
                continue;
            };
            let result = match &key {
                Key::Month(tenant, month) => {
                    match shared.store.add(tenant, month, &p.delta).await {
                        Ok(totals) => {
                            after_add(&shared, tenant, month, &p.delta, &totals);
                            Ok(Some(totals.pico_usd))
                        }
                        Err(e) => Err(e),
                    }
                }
                Key::Minute(tenant, minute) => shared
                    .store
                    .count_minute(tenant, minute, 0, p.delta.tokens.input)
                    .await
                    .map(|_| None),
            };
            let first_tries = std::mem::take(&mut p.untried);
            match result {
                Ok(total) => {
                    shared.stats.writes.fetch_add(1, Ordering::Relaxed);
                    shared.stats.pending.fetch_sub(p.updates, Ordering::Relaxed);
                    if let (Some(total), Key::Month(tenant, month)) = (total, &key) {
                        alerts(&shared, tenant, month, total).await;
                    }
                    tried(&shared, first_tries);
                }
                Err(err) => {
                    shared.stats.write_failures.fetch_add(1, Ordering::Relaxed);
                    p.attempts += 1;
                    let wait = backoff(&shared.settings, p.attempts);
                    tracing::warn!(error = %err, attempts = p.attempts, retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "spend write failed; kept and retried");
                    p.next_try = Instant::now() + wait;
                    pending.insert(key, p);
                    tried(&shared, first_tries);
                }
            }
        }
    }
}

/// `n` updates have ended their first write attempt: wakes whoever [`SpendTracker::settle`]s.
fn tried<S, A>(shared: &Shared<S, A>, n: u64) {
    if n > 0 {
        shared.untried.fetch_sub(n, Ordering::Release);
        shared.tried.notify_waiters();
    }
}

/// Updates the estimate after an add: the delta left the queue and the store's total is known.
fn after_add<S, A>(
    shared: &Shared<S, A>,
    tenant: &str,
    month: &str,
    delta: &SpendDelta,
    totals: &SpendTotals,
) {
    let state = shared.tenant(tenant);
    let mut e = lock(&state.estimate);
    if e.month == month {
        e.queued = e.queued.saturating_sub(delta.pico_usd);
        e.stored = e.stored.max(totals.pico_usd);
    }
}

/// Publishes each threshold the total has reached and nobody has claimed yet this month.
async fn alerts<S: SpendStore, A: AlertSink>(
    shared: &Shared<S, A>,
    tenant: &str,
    month: &str,
    total: u64,
) {
    let Some(budget) = shared.budgets.get(tenant) else {
        return;
    };
    let state = shared.tenant(tenant);
    for &pct in &budget.alert_at {
        let reached =
            u128::from(total) * 100 >= u128::from(budget.monthly_pico_usd) * u128::from(pct);
        if !reached {
            break;
        }
        let known = {
            let e = lock(&state.estimate);
            e.month == month && e.alerted.contains(&pct)
        };
        if known {
            continue;
        }
        let claimed = match shared.store.claim_alert(tenant, month, pct).await {
            Ok(c) => c,
            Err(err) => {
                shared.stats.alert_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(tenant, pct, error = %err, "budget alert claim failed; retried on the next write");
                continue;
            }
        };
        if claimed {
            let subject = format!("Bedrock budget: {tenant} reached {pct}% for {month}");
            let body = format!(
                "Tenant {tenant} has spent ${} of its ${} budget for {month} ({pct}% threshold).{}",
                usd_text(total),
                usd_text(budget.monthly_pico_usd),
                if budget.enforce && pct >= 100 {
                    " Calls are refused until the month ends or the budget is raised."
                } else {
                    ""
                }
            );
            if let Err(err) = shared.alerts.publish(&subject, &body).await {
                shared.stats.alert_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(tenant, pct, error = %err, "budget alert not published; giving the claim back");
                if let Err(err) = shared.store.release_alert(tenant, month, pct).await {
                    tracing::error!(tenant, pct, error = %err, "budget alert claim could not be given back; this threshold's alert is lost for the month");
                }
                continue;
            }
            shared.stats.alerts.fetch_add(1, Ordering::Relaxed);
            tracing::info!(tenant, pct, month, "budget alert published");
        }
        let mut e = lock(&state.estimate);
        if e.month == month {
            e.alerted.insert(pct);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Collected = MemoryAlerts;

    fn budget(usd: f64, alert_at: Vec<u32>) -> Budget {
        RawBudget {
            monthly_usd: usd,
            alert_at,
            enforce: true,
        }
        .validate()
        .unwrap()
    }

    fn usd(x: u64) -> SpendDelta {
        SpendDelta {
            pico_usd: x * PICO_PER_USD,
            requests: 1,
            ..SpendDelta::default()
        }
    }

    fn tracker(
        store: MemorySpendStore,
        alerts: Collected,
        b: Budget,
    ) -> SpendTracker<MemorySpendStore, Collected> {
        SpendTracker::start(
            store,
            alerts,
            HashMap::from([("team-a".to_owned(), b)]),
            TrackerSettings {
                read_interval: Duration::from_secs(10),
                initial_backoff: Duration::from_millis(5),
                max_backoff: Duration::from_millis(20),
                settle_timeout: DEFAULT_SETTLE_TIMEOUT,
            },
        )
    }

    fn now() -> DateTime<Utc> {
        "2026-12-04T16:05:30Z".parse().unwrap()
    }

    #[tokio::test]
    async fn recorded_spend_reaches_the_store_and_the_budget_refuses_after_it() {
        let store = MemorySpendStore::default();
        let t = tracker(store.clone(), Collected::default(), budget(10.0, vec![]));
        assert!(t.check_budget("team-a", now()).await.is_ok());
        for _ in 0..10 {
            t.record("team-a", now(), usd(1), false);
        }
        let refusal = t.check_budget("team-a", now()).await.unwrap_err();
        assert!(
            refusal.to_string().contains("2026-12")
                && refusal.to_string().contains("$10.00 of $10.00"),
            "{refusal}"
        );
        assert!(t.flush(Duration::from_secs(5)).await);
        assert_eq!(
            store.totals("team-a", "2026-12").pico_usd,
            10 * PICO_PER_USD
        );
        assert_eq!(store.totals("team-a", "2026-12").requests, 10);
        // Other tenants have no budget; a new month starts from zero.
        assert!(t.check_budget("team-b", now()).await.is_ok());
        let next_month: DateTime<Utc> = "2027-01-01T00:00:01Z".parse().unwrap();
        assert!(t.check_budget("team-a", next_month).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn reads_happen_at_most_once_per_interval_per_tenant() {
        let store = MemorySpendStore::default();
        let t = tracker(store.clone(), Collected::default(), budget(10.0, vec![]));
        let checks: Vec<_> = (0..16)
            .map(|_| {
                let t = t.clone();
                tokio::spawn(async move { t.check_budget("team-a", now()).await })
            })
            .collect();
        for c in checks {
            assert!(c.await.unwrap().is_ok());
        }
        assert_eq!(t.stats().reads, 1);
        assert_eq!(store.calls(), 1);
    }

    #[tokio::test]
    async fn a_store_outage_loses_nothing_and_is_counted() {
        let store = MemorySpendStore::default();
        let t = tracker(store.clone(), Collected::default(), budget(100.0, vec![]));
        store.set_down(true);
        for _ in 0..5 {
            t.record("team-a", now(), usd(2), false);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(t.stats().write_failures >= 1);
        assert_eq!(t.stats().pending, 5);
        // The estimate still counts what is queued.
        assert_eq!(t.estimate("team-a", now()), 10 * PICO_PER_USD);
        store.set_down(false);
        assert!(t.flush(Duration::from_secs(5)).await);
        assert_eq!(
            store.totals("team-a", "2026-12").pico_usd,
            10 * PICO_PER_USD
        );
        assert_eq!(store.totals("team-a", "2026-12").requests, 5);
    }

    #[tokio::test]
    async fn each_threshold_alerts_once_per_month_across_instances() {
        let store = MemorySpendStore::default();
        let alerts = Collected::default();
        let b = budget(10.0, vec![50, 80, 100]);
        let a = tracker(store.clone(), alerts.clone(), b.clone());
        let c = tracker(store.clone(), alerts.clone(), b);
        for i in 0..12 {
            let inst = if i % 2 == 0 { &a } else { &c };
            inst.record("team-a", now(), usd(1), false);
            inst.flush(Duration::from_secs(5)).await;
        }
        let got = alerts.subjects();
        assert_eq!(
            got,
            vec![
                "Bedrock budget: team-a reached 50% for 2026-12",
                "Bedrock budget: team-a reached 80% for 2026-12",
                "Bedrock budget: team-a reached 100% for 2026-12",
            ]
        );
    }

    #[tokio::test]
    async fn rate_limits_refuse_with_the_seconds_left_in_the_minute() {
        let store = MemorySpendStore::default();
        let t = tracker(store.clone(), Collected::default(), budget(10.0, vec![]));
        let limits = RateLimits {
            requests_per_minute: Some(2),
            tokens_per_minute: Some(100),
        };
        assert!(t.check_rate("team-a", &limits, now()).await.is_ok());
        assert!(t.check_rate("team-a", &limits, now()).await.is_ok());
        let r = t.check_rate("team-a", &limits, now()).await.unwrap_err();
        assert!(matches!(
            r,
            Refusal::RateLimited {
                what: "requests",
                retry_after_secs: 30,
                ..
            }
        ));
        let later: DateTime<Utc> = "2026-12-04T16:06:00Z".parse().unwrap();
        let tokens = SpendDelta {
            tokens: TokenUsage {
                input: 60,
                output: 40,
                ..TokenUsage::default()
            },
            ..SpendDelta::default()
        };
        t.record("team-a", later, tokens, true);
        assert!(t.flush(Duration::from_secs(5)).await);
        let r = t.check_rate("team-a", &limits, later).await.unwrap_err();
        assert!(matches!(r, Refusal::RateLimited { what: "tokens", .. }));
        // An unreachable counter lets calls through and is counted.
        store.set_down(true);
        assert!(t.check_rate("team-a", &limits, later).await.is_ok());
        assert_eq!(t.stats().rate_check_failures, 1);
    }

    #[test]
    fn budgets_and_limits_are_validated_with_a_fix() {
        let bad = RawBudget {
            monthly_usd: 0.0,
            alert_at: vec![],
            enforce: true,
        };
        assert!(bad.validate().unwrap_err().contains("monthlyUsd"));
        let bad = RawBudget {
            monthly_usd: 5.0,
            alert_at: vec![50, 50],
            enforce: true,
        };
        assert!(bad.validate().unwrap_err().contains("twice"));
        let ok = RawBudget {
            monthly_usd: 500.0,
            alert_at: vec![100, 50, 80],
            enforce: false,
        }
        .validate()
        .unwrap();
        assert_eq!(ok.alert_at, vec![50, 80, 100]);
        assert_eq!(ok.monthly_pico_usd, 500 * PICO_PER_USD);
        let none = RawRateLimits {
            requests_per_minute: None,
            tokens_per_minute: None,
        };
        assert!(none.validate().is_err());
        let zero = RawRateLimits {
            requests_per_minute: Some(0),
            tokens_per_minute: None,
        };
        assert!(zero.validate().unwrap_err().contains("requestsPerMinute"));
    }

    /// A store whose adds take `delay` (a table slower than the settle bound).
    #[derive(Clone, Default)]
    struct SlowStore {
        inner: MemorySpendStore,
        delay: Duration,
    }

    impl SpendStore for SlowStore {
        async fn add(&self, t: &str, m: &str, d: &SpendDelta) -> Result<SpendTotals, StoreError> {
            tokio::time::sleep(self.delay).await;
            self.inner.add(t, m, d).await
        }
        async fn read(&self, t: &str, m: &str) -> Result<SpendTotals, StoreError> {
            self.inner.read(t, m).await
        }
        async fn claim_alert(&self, t: &str, m: &str, pct: u32) -> Result<bool, StoreError> {
            self.inner.claim_alert(t, m, pct).await
        }
        async fn release_alert(&self, t: &str, m: &str, pct: u32) -> Result<(), StoreError> {
            self.inner.release_alert(t, m, pct).await
        }
        async fn count_minute(
            &self,
            t: &str,
            m: &str,
            requests: u64,
            tokens: u64,
        ) -> Result<(u64, u64), StoreError> {
            self.inner.count_minute(t, m, requests, tokens).await
        }
    }

    #[tokio::test]
    async fn settling_returns_once_the_write_and_its_alert_are_done() {
        let store = MemorySpendStore::default();
        let alerts = Collected::default();
        let t = tracker(store.clone(), alerts.clone(), budget(10.0, vec![50]));
        t.record("team-a", now(), usd(6), true);
        // Nothing has run the writer yet: this is what a freeze right now would drop.
        assert_eq!(store.totals("team-a", "2026-12").requests, 0);
        assert!(t.settle(Duration::from_secs(5)).await);
        assert_eq!(store.totals("team-a", "2026-12").pico_usd, 6 * PICO_PER_USD);
        assert_eq!(
            alerts.subjects(),
            vec!["Bedrock budget: team-a reached 50% for 2026-12"]
        );
        assert_eq!(t.stats().pending, 0);
        // Nothing recorded since: settling again returns at once.
        assert!(t.settle(Duration::ZERO).await);
    }

    #[tokio::test]
    async fn settling_waits_for_one_failed_attempt_not_for_the_retries() {
        let store = MemorySpendStore::default();
        let t = SpendTracker::start(
            store.clone(),
            Collected::default(),
            HashMap::from([("team-a".to_owned(), budget(100.0, vec![]))]),
            TrackerSettings {
                initial_backoff: Duration::from_secs(600),
                max_backoff: Duration::from_secs(600),
                ..TrackerSettings::default()
            },
        );
        store.set_down(true);
        t.record("team-a", now(), usd(2), false);
        assert!(t.settle(Duration::from_secs(5)).await);
        assert_eq!(t.stats().write_failures, 1);
        assert_eq!(t.stats().pending, 1, "kept for its retry");
        // A second answer joins the failing write: no new attempt, nothing to wait for.
        t.record("team-a", now(), usd(2), false);
        assert!(t.settle(Duration::from_secs(5)).await);
        assert_eq!(t.stats().write_failures, 1);
        assert_eq!(t.stats().pending, 2);
        assert_eq!(t.estimate("team-a", now()), 4 * PICO_PER_USD);
    }

    #[tokio::test(start_paused = true)]
    async fn settling_gives_up_at_its_bound_and_the_write_still_lands() {
        let store = SlowStore {
            delay: Duration::from_millis(200),
            ..SlowStore::default()
        };
        let t = SpendTracker::start(
            store.clone(),
            Collected::default(),
            HashMap::from([("team-a".to_owned(), budget(100.0, vec![]))]),
            TrackerSettings::default(),
        );
        t.record("team-a", now(), usd(3), false);
        let started = Instant::now();
        assert!(!t.settle(Duration::from_millis(50)).await);
        assert_eq!(started.elapsed(), Duration::from_millis(50));
        assert!(t.settle(Duration::from_secs(1)).await);
        assert_eq!(started.elapsed(), Duration::from_millis(200));
        assert_eq!(
            store.inner.totals("team-a", "2026-12").pico_usd,
            3 * PICO_PER_USD
        );
    }

    #[test]
    fn the_settle_bound_is_read_in_milliseconds_with_a_fix() {
        let env = |v: &'static str| move |k: &str| (k == ENV_SETTLE_TIMEOUT).then(|| v.to_owned());
        assert_eq!(
            TrackerSettings::from_env_with(|_| None)
                .unwrap()
                .settle_timeout,
            DEFAULT_SETTLE_TIMEOUT
        );
        assert_eq!(
            TrackerSettings::from_env_with(env("250"))
                .unwrap()
                .settle_timeout,
            Duration::from_millis(250)
        );
        assert_eq!(
            TrackerSettings::from_env_with(env("0"))
                .unwrap()
                .settle_timeout,
            Duration::ZERO
        );
        for bad in ["1.5", "-1", "20000", "soon"] {
            let err = TrackerSettings::from_env_with(env(bad)).unwrap_err();
            assert!(
                err.contains(ENV_SETTLE_TIMEOUT) && err.contains("from 0 (no wait) to 10000"),
                "{err}"
            );
        }
    }

    #[test]
    fn months_and_minutes_are_utc_keys() {
        assert_eq!(month_of(now()), "2026-12");
        assert_eq!(minute_of(now()), "2026-12-04T16:05");
    }
}
