//! What a window's Bedrock calls cost, from the invocation logs: the authority for spend.
//!
//! Every successful call is priced as the router prices its answers (`shared::prices`: the
//! model under the profile, never its ARN, at the rate of the region the call was sent to), so
//! the router's live figure and this one agree for the same traffic. A call whose price is
//! unknown is counted as unpriced with its tokens, never as $0. Failed calls are not billed and
//! not counted here.
//!
//! The report's `cost` section groups the same calls four ways (by tenant from
//! `requestMetadata.tenant`, by profile ARN, by priced model, by caller identity) and gives
//! `unattributed`: the calls that went around the profiles (mapping misses and unmapped calls),
//! the spend no team's profile shows. Each map holds at most [`MAX_GROUPS`] keys (tenants,
//! callers and model IDs are the callers' to choose); later keys fold into [`OTHER`].

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use shared::prices::{Cost, TokenUsage, pico_to_usd};

use crate::observe::{Class, Observation, capped_entry};

/// Most keys any cost map holds: enough for every team, profile and model of an account and
/// its busiest callers, small enough that a window's memory stays flat.
pub const MAX_GROUPS: usize = 200;

/// The tenant key of calls that carry no `requestMetadata.tenant` (made without the router).
pub const NO_TENANT: &str = "(none)";
/// The caller key of records without `identity.arn`.
pub const NO_CALLER: &str = "(unknown)";

/// Calls, tokens and money of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CostTotals {
    /// Successful calls.
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// The priced calls' cost in pico-dollars (10⁻¹² USD): exact, for comparisons.
    pub pico_usd: u64,
    /// The same in USD, for reading.
    pub usd: f64,
    /// Calls with no known price, and their tokens (every kind).
    pub unpriced_requests: u64,
    pub unpriced_tokens: u64,
}

impl CostTotals {
    /// Adds another group's totals (folding groups into `(other)`).
    pub fn merge(&mut self, other: &CostTotals) {
        self.requests += other.requests;
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cache_read_tokens = self
            .cache_read_tokens
            .saturating_add(other.cache_read_tokens);
        self.cache_write_tokens = self
            .cache_write_tokens
            .saturating_add(other.cache_write_tokens);
        self.pico_usd = self.pico_usd.saturating_add(other.pico_usd);
        self.usd = pico_to_usd(self.pico_usd);
        self.unpriced_requests += other.unpriced_requests;
        self.unpriced_tokens = self.unpriced_tokens.saturating_add(other.unpriced_tokens);
    }

    fn add(&mut self, tokens: &TokenUsage, cost: &Cost) {
        self.requests += 1;
        self.input_tokens = self.input_tokens.saturating_add(tokens.input);
        self.output_tokens = self.output_tokens.saturating_add(tokens.output);
        self.cache_read_tokens = self.cache_read_tokens.saturating_add(tokens.cache_read);
        self.cache_write_tokens = self.cache_write_tokens.saturating_add(tokens.cache_write);
        match cost {
            Cost::Priced { pico_usd } => {
                self.pico_usd = self.pico_usd.saturating_add(*pico_usd);
                self.usd = pico_to_usd(self.pico_usd);
            }
            Cost::Unpriced { tokens } => {
                self.unpriced_requests += 1;
                self.unpriced_tokens = self.unpriced_tokens.saturating_add(tokens.total());
            }
        }
    }
}

/// The report's `cost` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CostReport {
    pub total: CostTotals,
    pub by_tenant: BTreeMap<String, CostTotals>,
    pub by_profile: BTreeMap<String, CostTotals>,
    pub by_model: BTreeMap<String, CostTotals>,
    pub by_caller: BTreeMap<String, CostTotals>,
    pub unattributed: Unattributed,
}

/// The calls that went around the profiles.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Unattributed {
    #[serde(flatten)]
    pub total: CostTotals,
    pub by_model: BTreeMap<String, CostTotals>,
}

/// Streaming cost counters for one run.
#[derive(Debug, Default)]
pub struct CostTally {
    total: CostTotals,
    by_tenant: HashMap<String, CostTotals>,
    by_profile: HashMap<String, CostTotals>,
    by_model: HashMap<String, CostTotals>,
    by_caller: HashMap<String, CostTotals>,
    unattributed: CostTotals,
    unattributed_by_model: HashMap<String, CostTotals>,
}

fn entry<'a>(map: &'a mut HashMap<String, CostTotals>, key: &str) -> &'a mut CostTotals {
    capped_entry(map, key, MAX_GROUPS)
}

impl CostTally {
    /// Counts one record: successful calls of every class but malformed.
    pub fn add(&mut self, o: &Observation) {
        let class = o.class();
        if class == Class::Malformed || o.error_code.is_some() {
            return;
        }
        let Some(cost) = &o.cost else {
            return;
        };
        let tokens = &o.usage.tokens;
        self.total.add(tokens, cost);
        let tenant = o.usage.tenant.as_deref().unwrap_or(NO_TENANT);
        entry(&mut self.by_tenant, tenant).add(tokens, cost);
        let model = o
            .priced_model
            .as_deref()
            .or(o.friendly_id.as_deref())
            .or(o.model_id.as_deref())
            .unwrap_or(NO_CALLER);
        entry(&mut self.by_model, model).add(tokens, cost);
        let caller = o.usage.caller.as_deref().unwrap_or(NO_CALLER);
        entry(&mut self.by_caller, caller).add(tokens, cost);
        match class {
            Class::Profiled | Class::UnknownProfile => {
                if let Some(arn) = o.model_id.as_deref() {
                    entry(&mut self.by_profile, arn).add(tokens, cost);
                }
            }
            Class::MappingMiss | Class::Unmapped => {
                self.unattributed.add(tokens, cost);
                entry(&mut self.unattributed_by_model, model).add(tokens, cost);
            }
            Class::Malformed => {}
        }
    }

    /// The section as the report shows it (maps sorted by key).
    pub fn report(&self) -> CostReport {
        let sorted = |m: &HashMap<String, CostTotals>| {
            m.iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect::<BTreeMap<_, _>>()
        };
        CostReport {
            total: self.total,
            by_tenant: sorted(&self.by_tenant),
            by_profile: sorted(&self.by_profile),
            by_model: sorted(&self.by_model),
            by_caller: sorted(&self.by_caller),
            unattributed: Unattributed {
                total: self.unattributed,
                by_model: sorted(&self.unattributed_by_model),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::ConfigClassifier;
    use crate::observe::Classifier;
    use crate::observe::OTHER;
    use shared::config::ProfileConfig;
    use shared::prices::PriceTable;

    const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    const SONNET_FM: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    const APP: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123def456";
    const UNPRICED: &str = "acme.model-nobody-prices-v1:0";

    fn classifier() -> ConfigClassifier {
        let yaml = format!(
            "models: [\"{SONNET}\", \"{UNPRICED}\"]\ninferenceProfiles:\n  \"{SONNET}\": {APP}\ndefaultRegion: us-east-1\n"
        );
        ConfigClassifier::new(&ProfileConfig::parse(&yaml, |_| None).unwrap())
    }

    fn line(
        model: &str,
        tenant: Option<&str>,
        tokens: (u64, u64, u64, u64),
        error: bool,
    ) -> String {
        let (input, output, read, write) = tokens;
        let metadata = tenant.map_or(String::new(), |t| {
            format!(r#","requestMetadata":{{"tenant":"{t}","model":"m"}}"#)
        });
        let error = if error {
            r#","errorCode":"ThrottlingException""#
        } else {
            ""
        };
        format!(
            r#"{{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"2026-12-04T10:00:00Z","accountId":"123456789012","identity":{{"arn":"arn:aws:iam::123456789012:user/dev"}},"region":"us-east-1","requestId":"r","operation":"Converse","modelId":"{model}","inferenceRegion":"us-east-2","input":{{"inputTokenCount":{input},"cacheReadInputTokenCount":{read},"cacheWriteInputTokenCount":{write}}},"output":{{"outputTokenCount":{output}}}{metadata}{error}}}"#
        )
    }

    fn tally(lines: &[String]) -> CostReport {
        let c = classifier();
        let mut t = CostTally::default();
        for l in lines {
            t.add(&c.observe(l));
        }
        t.report()
    }

    fn expected(tokens: (u64, u64, u64, u64)) -> u64 {
        let usage = TokenUsage {
            input: tokens.0,
            output: tokens.1,
            cache_read: tokens.2,
            cache_write: tokens.3,
        };
        PriceTable::built_in()
            .cost(&usage, SONNET_FM, "us-east-1")
            .pico_usd()
    }

    #[test]
    fn a_profile_and_the_raw_model_id_of_the_same_model_cost_the_same() {
        let tokens = (1000, 200, 300, 40);
        let r = tally(&[
            line(APP, Some("team-a"), tokens, false),
            line(SONNET, None, tokens, false),
        ]);
        let each = expected(tokens);
        assert!(each > 0);
        assert_eq!(
            r.total.pico_usd,
            2 * each,
            "cache reads and writes are priced too"
        );
        assert_eq!(r.by_tenant["team-a"].pico_usd, each);
        assert_eq!(r.by_tenant[NO_TENANT].pico_usd, each);
        assert_eq!(r.by_profile[APP].requests, 1);
        assert_eq!(
            r.by_model[SONNET].requests, 2,
            "the profile is priced by its model"
        );
        // The raw call went around the profile: that is the unattributed spend.
        assert_eq!(r.unattributed.total.pico_usd, each);
        assert_eq!(r.unattributed.by_model[SONNET].requests, 1);
        assert_eq!(
            (
                r.total.input_tokens,
                r.total.cache_read_tokens,
                r.total.cache_write_tokens
            ),
            (2000, 600, 80)
        );
    }

    #[test]
    fn an_unknown_price_is_unpriced_never_zero_and_failures_cost_nothing() {
        let r = tally(&[
            line(UNPRICED, Some("team-b"), (10, 5, 0, 0), false),
            line(APP, Some("team-b"), (99, 99, 0, 0), true),
            "not a record".to_owned(),
        ]);
        assert_eq!(r.total.requests, 1);
        assert_eq!(r.total.pico_usd, 0);
        assert_eq!(
            (r.total.unpriced_requests, r.total.unpriced_tokens),
            (1, 15)
        );
        assert_eq!(r.by_tenant["team-b"].unpriced_tokens, 15);
    }

    #[test]
    fn groups_past_the_cap_fold_into_other() {
        let lines: Vec<String> = (0..MAX_GROUPS + 5)
            .map(|i| line(APP, Some(&format!("t{i}")), (1, 1, 0, 0), false))
            .collect();
        let r = tally(&lines);
        assert_eq!(r.by_tenant.len(), MAX_GROUPS + 1);
        assert_eq!(r.by_tenant[OTHER].requests, 5);
        assert_eq!(r.total.requests, (MAX_GROUPS + 5) as u64);
    }
}
