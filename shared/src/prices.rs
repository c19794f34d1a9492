//! What a call cost: the price table and the one cost function the router and the verifier share.
//!
//! Prices are USD per million tokens of each kind (input, output, cache read, cache write), per
//! foundation model and pricing region. A call is priced by the model that ran it and the region
//! AWS bills it in, never by the string the caller sent: an application-profile ARN names no
//! model, so the caller of [`PriceTable::cost`] passes the model *under* the profile (the router
//! from its resolved target, the verifier from the profile map), and the same tokens through a
//! profile or through the raw model ID cost the same.
//!
//! How AWS bills the region (Amazon Bedrock pricing page): an in-region call and a geographic
//! cross-region profile (`us.`, `eu.`, `apac.`, ...) are billed at the price of the *source*
//! region, the region the request was sent to (a profile ARN's region), whichever region
//! (`inferenceRegion`) served it; a `global.` profile has its own, lower, global price
//! ([`GLOBAL`]). The table therefore keys prices by the source region, or by [`GLOBAL`].
//!
//! Amounts are exact integers: a rate is held in micro-dollars per million tokens, which is
//! pico-dollars (10⁻¹² USD) per token, so the cost of a call is `tokens × rate` pico-dollars
//! with no rounding, and sums over any number of calls are exact.
//!
//! A call whose price is not known (a model or region missing from the table, a token kind the
//! entry has no rate for) is [`Cost::Unpriced`] with its tokens, never $0.
//!
//! ## The built-in table
//!
//! Source: the Amazon Bedrock pricing page (aws.amazon.com/bedrock/pricing, on-demand, US
//! regions) as quoted in stored copies dated January to March 2026; taken 2026-12-04. Claude
//! from 4.5 on: the page's rates are the `global` profile rates; in-region and geographic
//! profiles cost 10 % more. Prompt-cache writes cost 1.25 × input and reads 0.1 × input for
//! Claude; Nova reads cost 0.25 × input and writes are free. Only the US regions
//! (`us-east-1`, `us-east-2`, `us-west-2`) are built in, because the other regions' rates could
//! not be verified; a call elsewhere is unpriced until the config prices it.
//!
//! ## Overrides: the product-only `prices:` key
//!
//! ```yaml
//! prices:
//!   - model: anthropic.claude-sonnet-4-5-20250929-v1:0
//!     region: eu-west-1          # a region, `global`, or `*` (any region); default `*`
//!     input: 3.30                # USD per million tokens; a number or "${VAR}"
//!     output: 16.50
//!     cacheRead: 0.33            # optional; without it, cache-read tokens leave the call unpriced
//!     cacheWrite: 4.125
//! ```
//!
//! A configured entry wins over the built-in one for the same model and region; an exact region
//! wins over `*`. Entries are validated at start like the rest of the config.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::arn::{FoundationModelId, ModelRef, is_region_name};
use crate::config::{ConfigError, expand, read_source};

/// The pricing region of a `global.` cross-region profile.
pub const GLOBAL: &str = "global";
/// A configured entry for every region.
pub const ANY_REGION: &str = "*";

/// Pico-dollars (10⁻¹² USD) in one USD.
pub const PICO_PER_USD: u64 = 1_000_000_000_000;

/// Tokens of one call (or a sum of calls), by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    /// Input tokens billed at the input rate (not counting cache reads or writes).
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write: u64,
}

impl TokenUsage {
    /// Adds another usage, saturating.
    pub fn add(&mut self, other: &TokenUsage) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
        self.cache_write = self.cache_write.saturating_add(other.cache_write);
    }

    /// Every token of every kind.
    pub fn total(&self) -> u64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write)
    }
}

/// What one call cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// The price is known: this many pico-dollars.
    Priced {
        /// 10⁻¹² USD.
        pico_usd: u64,
    },
    /// The price is not known; the tokens are kept so the call is still counted.
    Unpriced {
        /// The call's tokens.
        tokens: TokenUsage,
    },
}

impl Cost {
    /// The pico-dollars of a priced call, zero for an unpriced one.
    pub fn pico_usd(&self) -> u64 {
        match self {
            Self::Priced { pico_usd } => *pico_usd,
            Self::Unpriced { .. } => 0,
        }
    }

    /// Whether the price was known.
    pub fn is_priced(&self) -> bool {
        matches!(self, Self::Priced { .. })
    }
}

/// Pico-dollars as USD, for display and metrics (not for sums: sum the integers).
pub fn pico_to_usd(pico: u64) -> f64 {
    pico as f64 / PICO_PER_USD as f64
}

/// An amount for people to read (messages, alerts): cents when it is a dollar or more or whole
/// cents, otherwise as many decimals as it takes up to micro-dollars (the precision a budget is
/// configured in), so a $0.005 budget never reads as "$0.01". Exact: no float on the way.
pub fn usd_text(pico: u64) -> String {
    const PICO_PER_MICRO: u64 = 1_000_000;
    const PICO_PER_CENT: u64 = PICO_PER_USD / 100;
    let micro = pico / PICO_PER_MICRO;
    let (dollars, micro_part) = (micro / 1_000_000, micro % 1_000_000);
    if dollars > 0 || pico.is_multiple_of(PICO_PER_CENT) {
        let cents = pico / PICO_PER_CENT + u64::from(pico % PICO_PER_CENT >= PICO_PER_CENT / 2);
        return format!("{}.{:02}", cents / 100, cents % 100);
    }
    let digits = format!("{micro_part:06}");
    let digits = digits.trim_end_matches('0');
    format!("0.{digits:0<2}")
}

/// USD per million tokens of each kind, held as micro-dollars per million tokens
/// (= pico-dollars per token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    /// Input.
    pub input: u64,
    /// Output.
    pub output: u64,
    /// Cache read; `None` when the price is not known.
    pub cache_read: Option<u64>,
    /// Cache write; `None` when the price is not known.
    pub cache_write: Option<u64>,
}

impl Rates {
    /// The cost of `usage` at these rates; `None` when a kind of token used has no rate or the
    /// amount would not fit.
    pub fn cost(&self, usage: &TokenUsage) -> Option<u64> {
        let part = |tokens: u64, rate: Option<u64>| -> Option<u64> {
            if tokens == 0 {
                return Some(0);
            }
            tokens.checked_mul(rate?)
        };
        part(usage.input, Some(self.input))?
            .checked_add(part(usage.output, Some(self.output))?)?
            .checked_add(part(usage.cache_read, self.cache_read)?)?
            .checked_add(part(usage.cache_write, self.cache_write)?)
    }
}

/// Why the `prices:` section cannot be used. Every message names the entry and the field.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// The document or an entry's shape is wrong.
    #[error("prices configuration is not valid: {0}")]
    Syntax(String),
    /// A field of an entry is wrong.
    #[error("prices entry #{index} (`{model}`): {message}")]
    Entry {
        /// 1-based position.
        index: usize,
        /// The entry's model, as written.
        model: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A `${VAR}` problem or the document could not be read.
    #[error(transparent)]
    Source(#[from] ConfigError),
}

#[derive(Debug, Default, Deserialize)]
struct RawDocument {
    #[serde(default)]
    prices: Option<Vec<RawEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawEntry {
    model: String,
    #[serde(default)]
    region: Option<String>,
    input: Value,
    output: Value,
    #[serde(default)]
    cache_read: Option<Value>,
    #[serde(default)]
    cache_write: Option<Value>,
}

/// Prices by (foundation model, pricing region): the built-in table with the config's entries
/// over it.
#[derive(Debug, Clone)]
pub struct PriceTable {
    entries: HashMap<(String, String), Rates>,
}

impl Default for PriceTable {
    fn default() -> Self {
        Self::built_in()
    }
}

/// The built-in regions (see the module docs for why only these).
const US_REGIONS: [&str; 3] = ["us-east-1", "us-east-2", "us-west-2"];

/// `(model, input, output, cache read, cache write)` in USD per million tokens, for
/// [`US_REGIONS`]; a negative cache rate means "not known".
const REGIONAL: [(&str, f64, f64, f64, f64); 17] = [
    (
        "anthropic.claude-3-haiku-20240307-v1:0",
        0.25,
        1.25,
        -1.0,
        -1.0,
    ),
    (
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        0.80,
        4.00,
        0.08,
        1.00,
    ),
    (
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        3.00,
        15.00,
        -1.0,
        -1.0,
    ),
    (
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        3.00,
        15.00,
        0.30,
        3.75,
    ),
    (
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        3.00,
        15.00,
        0.30,
        3.75,
    ),
    (
        "anthropic.claude-sonnet-4-20250514-v1:0",
        3.00,
        15.00,
        0.30,
        3.75,
    ),
    (
        "anthropic.claude-opus-4-20250514-v1:0",
        15.00,
        75.00,
        1.50,
        18.75,
    ),
    (
        "anthropic.claude-opus-4-1-20250805-v1:0",
        15.00,
        75.00,
        1.50,
        18.75,
    ),
    // From 4.5 on, in-region and geographic profiles cost 10 % over the global rate.
    (
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        3.30,
        16.50,
        0.33,
        4.125,
    ),
    (
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        1.10,
        5.50,
        0.11,
        1.375,
    ),
    (
        "anthropic.claude-opus-4-5-20251101-v1:0",
        5.50,
        27.50,
        0.55,
        6.875,
    ),
    ("amazon.nova-micro-v1:0", 0.035, 0.14, 0.00875, 0.0),
    ("amazon.nova-lite-v1:0", 0.06, 0.24, 0.015, 0.0),
    ("amazon.nova-pro-v1:0", 0.80, 3.20, 0.20, 0.0),
    ("amazon.nova-premier-v1:0", 2.50, 12.50, -1.0, -1.0),
    ("cohere.command-r-plus-v1:0", 3.00, 15.00, -1.0, -1.0),
    ("cohere.command-r-v1:0", 0.50, 1.50, -1.0, -1.0),
];

/// The `global.` profile rates (the pricing page's headline rates for Claude 4.5).
const GLOBAL_RATES: [(&str, f64, f64, f64, f64); 3] = [
    (
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        3.00,
        15.00,
        0.30,
        3.75,
    ),
    (
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        1.00,
        5.00,
        0.10,
        1.25,
    ),
    (
        "anthropic.claude-opus-4-5-20251101-v1:0",
        5.00,
        25.00,
        0.50,
        6.25,
    ),
];

/// USD per million tokens → micro-dollars per million tokens. Only for the constants above,
/// which have at most six decimals.
fn micros(usd: f64) -> u64 {
    (usd * 1_000_000.0).round() as u64
}

fn built_in_rates(input: f64, output: f64, read: f64, write: f64) -> Rates {
    Rates {
        input: micros(input),
        output: micros(output),
        cache_read: (read >= 0.0).then(|| micros(read)),
        cache_write: (write >= 0.0).then(|| micros(write)),
    }
}

impl PriceTable {
    /// The built-in table alone.
    pub fn built_in() -> Self {
        let mut entries = HashMap::new();
        for (model, i, o, r, w) in REGIONAL {
            for region in US_REGIONS {
                entries.insert(
                    (model.to_owned(), region.to_owned()),
                    built_in_rates(i, o, r, w),
                );
            }
        }
        for (model, i, o, r, w) in GLOBAL_RATES {
            entries.insert(
                (model.to_owned(), GLOBAL.to_owned()),
                built_in_rates(i, o, r, w),
            );
        }
        Self { entries }
    }

    /// An empty table (tests, and a deployment that wants only its own prices).
    pub fn empty() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }

    /// The built-in table with the `prices:` section of the profile document named by
    /// `PROFILES_CONFIG_FILE` / `PROFILES_CONFIG` over it.
    pub fn from_env_with(env: impl Fn(&str) -> Option<String>) -> Result<Self, PriceError> {
        let text = read_source(&env)?;
        Self::parse(&text, env)
    }

    /// The built-in table with the `prices:` section of `text` (YAML, or JSON when it starts
    /// with `{`) over it. A document without the key gives the built-in table.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, PriceError> {
        let doc: RawDocument = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| PriceError::Syntax(e.to_string()))?
        } else {
            let mut opts = serde_saphyr::Options::default();
            opts.with_snippet = false;
            serde_saphyr::from_str_with_options(text, opts)
                .map_err(|e| PriceError::Syntax(e.to_string()))?
        };
        let mut table = Self::built_in();
        let mut seen = HashMap::new();
        for (i, raw) in doc.prices.unwrap_or_default().into_iter().enumerate() {
            let index = i + 1;
            let err = |message: String| PriceError::Entry {
                index,
                model: raw.model.clone(),
                message,
            };
            let model = expand(&raw.model, &env, "prices", None)?;
            let model = model.trim().to_owned();
            let parsed = FoundationModelId::parse(&model).map_err(|e| {
                err(format!(
                    "`model` must be a foundation-model ID such as `anthropic.claude-3-haiku-20240307-v1:0` (profiles are priced by the model under them): {e}"
                ))
            })?;
            let region = match &raw.region {
                None => ANY_REGION.to_owned(),
                Some(r) => expand(r, &env, "prices", Some(&model))?.trim().to_owned(),
            };
            if region != ANY_REGION && region != GLOBAL && !is_region_name(&region) {
                return Err(err(format!(
                    "`region` is `{region}`; write a region such as `us-east-1`, `global` (for `global.` profiles) or `*` (every region)"
                )));
            }
            let rate = |field: &'static str, v: &Value| -> Result<u64, PriceError> {
                rate_micros(v, &env, &model).map_err(|m| err(format!("`{field}` {m}")))
            };
            let rates = Rates {
                input: rate("input", &raw.input)?,
                output: rate("output", &raw.output)?,
                cache_read: raw
                    .cache_read
                    .as_ref()
                    .map(|v| rate("cacheRead", v))
                    .transpose()?,
                cache_write: raw
                    .cache_write
                    .as_ref()
                    .map(|v| rate("cacheWrite", v))
                    .transpose()?,
            };
            let key = (parsed.as_str().to_owned(), region.clone());
            if let Some(first) = seen.insert(key.clone(), index) {
                return Err(err(format!(
                    "entry #{first} already prices this model in region `{region}`; keep one"
                )));
            }
            table.entries.insert(key, rates);
        }
        Ok(table)
    }

    /// The rates for `model` in pricing region `region`: an exact region first, then a
    /// configured `*` entry (never for [`GLOBAL`], which AWS prices apart).
    pub fn rates(&self, model: &str, region: &str) -> Option<&Rates> {
        let exact = self.entries.get(&(model.to_owned(), region.to_owned()));
        exact.or_else(|| {
            (region != GLOBAL)
                .then(|| self.entries.get(&(model.to_owned(), ANY_REGION.to_owned())))
                .flatten()
        })
    }

    /// The cost of a call of `usage` tokens to `model`, sent to `source_region`.
    ///
    /// `model` is what ran: a foundation-model ID or ARN, or a system (cross-region) profile ID
    /// or ARN (a `global.` profile is priced at the global rate, a geographic one at the source
    /// region's). An application-profile ARN names no model, so it is never priced: pass the
    /// model under it. Unknown models, regions and rates give [`Cost::Unpriced`].
    pub fn cost(&self, usage: &TokenUsage, model: &str, source_region: &str) -> Cost {
        let unpriced = Cost::Unpriced { tokens: *usage };
        let Ok(reference) = ModelRef::parse(model.trim()) else {
            return unpriced;
        };
        let Some(foundation) = reference.foundation_model() else {
            return unpriced;
        };
        let global = reference.system_profile().is_some_and(|p| p.geo == GLOBAL);
        let region = if global { GLOBAL } else { source_region };
        match self
            .rates(foundation.as_str(), region)
            .and_then(|r| r.cost(usage))
        {
            Some(pico_usd) => Cost::Priced { pico_usd },
            None => unpriced,
        }
    }
}

/// The model reference to price a call by: `call_id` itself when it names a model (a model or
/// system-profile ID or ARN), else the friendly ID when that does (LibreChat's convention of
/// keying `inferenceProfiles` by model or system-profile ID), else `learned` (the model Bedrock
/// reports under an application profile). `None` when nothing names the model: the call is
/// then unpriced, never priced by the profile's ARN.
pub fn model_under<'a>(
    friendly_id: Option<&'a str>,
    call_id: &'a str,
    learned: Option<&'a str>,
) -> Option<&'a str> {
    let names_model =
        |s: &str| ModelRef::parse(s.trim()).is_ok_and(|r| r.foundation_model().is_some());
    [Some(call_id), friendly_id, learned]
        .into_iter()
        .flatten()
        .find(|s| names_model(s))
}

/// A configured rate: a number, or a string (after `${VAR}` expansion) holding one; USD per
/// million tokens with at most six decimals, between 0 and 1,000,000.
fn rate_micros(
    v: &Value,
    env: &impl Fn(&str) -> Option<String>,
    model: &str,
) -> Result<u64, String> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => expand(s, env, "prices", Some(model)).map_err(|e| e.to_string())?,
        other => {
            return Err(format!(
                "must be USD per million tokens as a number, got {other}"
            ));
        }
    };
    parse_decimal_micros(text.trim()).ok_or_else(|| {
        format!(
            "is `{}`; write USD per million tokens as a plain decimal between 0 and 1000000 with at most six decimals, e.g. `3.30`",
            text.trim()
        )
    })
}

/// `"3.30"` → 3_300_000. Exact: no floating point on the way.
fn parse_decimal_micros(s: &str) -> Option<u64> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 6 {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    if whole > 1_000_000 {
        return None;
    }
    let mut frac_micros: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..6 {
        frac_micros *= 10;
    }
    whole.checked_mul(1_000_000)?.checked_add(frac_micros)
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_read_in_cents_or_in_as_many_decimals_as_a_small_one_needs() {
        let usd = |micro: u64| super::usd_text(micro * 1_000_000);
        assert_eq!(usd(0), "0.00");
        assert_eq!(usd(10_000), "0.01");
        assert_eq!(usd(5_000), "0.005");
        assert_eq!(usd(5_270), "0.00527");
        assert_eq!(usd(310), "0.00031");
        assert_eq!(usd(500_000_000), "500.00");
        assert_eq!(usd(1_234_567), "1.23");
        assert_eq!(usd(1_235_000), "1.24", "half a cent rounds up");
        assert_eq!(super::usd_text(1), "0.00", "under a micro-dollar");
    }

    use super::*;

    const SONNET45: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    const NOVA_PRO: &str = "amazon.nova-pro-v1:0";

    fn usage(input: u64, output: u64, cache_read: u64, cache_write: u64) -> TokenUsage {
        TokenUsage {
            input,
            output,
            cache_read,
            cache_write,
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_call_costs_tokens_times_the_rate_of_each_kind_exactly() {
        let t = PriceTable::built_in();
        // 1,000 in × $3.30/M + 500 out × $16.50/M + 2,000 read × $0.33/M + 100 write × $4.125/M
        let c = t.cost(&usage(1000, 500, 2000, 100), SONNET45, "us-east-1");
        let want = 1000 * 3_300_000 + 500 * 16_500_000 + 2000 * 330_000 + 100 * 4_125_000;
        assert_eq!(c, Cost::Priced { pico_usd: want });
        assert!((pico_to_usd(c.pico_usd()) - 0.012_622_5).abs() < 1e-12);
    }

    #[test]
    fn every_spelling_of_the_same_model_in_the_same_region_costs_the_same() {
        let t = PriceTable::built_in();
        let u = usage(123, 45, 0, 0);
        let want = t.cost(&u, SONNET45, "us-west-2");
        assert!(want.is_priced());
        for spelling in [
            format!("us.{SONNET45}"),
            format!("arn:aws:bedrock:us-west-2::foundation-model/{SONNET45}"),
            format!("arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.{SONNET45}"),
        ] {
            assert_eq!(t.cost(&u, &spelling, "us-west-2"), want, "{spelling}");
        }
    }

    #[test]
    fn a_global_profile_is_priced_at_the_global_rate_and_a_geographic_one_at_the_source_region() {
        let t = PriceTable::built_in();
        let u = usage(1_000_000, 0, 0, 0);
        assert_eq!(
            t.cost(&u, &format!("global.{SONNET45}"), "us-east-1"),
            Cost::Priced {
                pico_usd: 3 * PICO_PER_USD
            }
        );
        assert_eq!(
            t.cost(&u, &format!("us.{SONNET45}"), "us-east-1"),
            Cost::Priced {
                pico_usd: 3_300_000_000_000
            }
        );
    }

    #[test]
    fn an_application_profile_arn_is_never_priced_by_its_string() {
        let t = PriceTable::built_in();
        let u = usage(10, 10, 0, 0);
        let arn =
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12";
        assert_eq!(t.cost(&u, arn, "us-east-1"), Cost::Unpriced { tokens: u });
    }

    #[test]
    fn unknown_models_regions_and_missing_cache_rates_are_unpriced_never_zero() {
        let t = PriceTable::built_in();
        let u = usage(10, 20, 0, 0);
        for (model, region) in [
            ("meta.llama3-3-70b-instruct-v1:0", "us-east-1"),
            (SONNET45, "eu-west-1"),
            ("not a model", "us-east-1"),
        ] {
            assert_eq!(
                t.cost(&u, model, region),
                Cost::Unpriced { tokens: u },
                "{model}"
            );
        }
        // Claude 3 Haiku has no cache price: cache tokens leave the call unpriced.
        let haiku = "anthropic.claude-3-haiku-20240307-v1:0";
        assert!(t.cost(&u, haiku, "us-east-1").is_priced());
        assert!(!t.cost(&usage(1, 1, 5, 0), haiku, "us-east-1").is_priced());
        // A zero-token call of a known model is priced at zero: it really cost nothing.
        assert_eq!(
            t.cost(&TokenUsage::default(), NOVA_PRO, "us-east-1"),
            Cost::Priced { pico_usd: 0 }
        );
    }

    #[test]
    fn nova_cache_writes_are_free_and_reads_a_quarter_of_input() {
        let t = PriceTable::built_in();
        let c = t.cost(&usage(0, 0, 1000, 1000), NOVA_PRO, "us-east-2");
        assert_eq!(
            c,
            Cost::Priced {
                pico_usd: 1000 * 200_000
            }
        );
    }

    #[test]
    fn configured_prices_override_and_extend_the_table_with_variables() {
        let doc = r#"
models: [x]
prices:
  - model: anthropic.claude-sonnet-4-5-20250929-v1:0
    region: us-east-1
    input: "${NEGOTIATED_INPUT}"
    output: 12
    cacheRead: 0.25
    cacheWrite: 3
  - model: meta.llama3-3-70b-instruct-v1:0
    input: 0.72
    output: 0.72
"#;
        let env = |k: &str| (k == "NEGOTIATED_INPUT").then(|| "2.5".to_owned());
        let t = PriceTable::parse(doc, env).unwrap();
        let u = usage(1_000_000, 1_000_000, 0, 0);
        assert_eq!(
            t.cost(&u, SONNET45, "us-east-1").pico_usd(),
            (2_500_000 + 12_000_000) * 1_000_000
        );
        // Other regions keep the built-in price.
        assert_eq!(
            t.cost(&u, SONNET45, "us-west-2").pico_usd(),
            (3_300_000 + 16_500_000) * 1_000_000
        );
        // `*` covers every region, not the global rate.
        let llama = "meta.llama3-3-70b-instruct-v1:0";
        assert!(t.cost(&u, llama, "ap-south-1").is_priced());
        assert!(
            !t.cost(&u, &format!("global.{llama}"), "us-east-1")
                .is_priced()
        );
    }

    #[test]
    fn bad_price_entries_are_start_errors_naming_the_entry_and_field() {
        let cases = [
            (
                "prices:\n  - model: arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12\n    input: 1\n    output: 1\n",
                "foundation-model ID",
            ),
            (
                "prices:\n  - model: amazon.nova-pro-v1:0\n    input: -1\n    output: 1\n",
                "`input`",
            ),
            (
                "prices:\n  - model: amazon.nova-pro-v1:0\n    input: 0.0000001\n    output: 1\n",
                "six decimals",
            ),
            (
                "prices:\n  - model: amazon.nova-pro-v1:0\n    region: mars\n    input: 1\n    output: 1\n",
                "`region` is `mars`",
            ),
            (
                "prices:\n  - model: amazon.nova-pro-v1:0\n    input: 1\n    output: 1\n  - model: amazon.nova-pro-v1:0\n    input: 2\n    output: 2\n",
                "entry #1 already prices",
            ),
            (
                "prices:\n  - model: amazon.nova-pro-v1:0\n    input: 1\n    output: 1\n    cacheReed: 1\n",
                "cacheReed",
            ),
            (
                "prices:\n  - model: amazon.nova-pro-v1:0\n    input: \"${UNSET}\"\n    output: 1\n",
                "UNSET",
            ),
        ];
        for (doc, needle) in cases {
            let e = PriceTable::parse(doc, no_env).unwrap_err().to_string();
            assert!(e.contains(needle), "{doc}: {e}");
        }
    }

    #[test]
    fn a_document_without_prices_gives_the_built_in_table() {
        let t = PriceTable::parse("models: [a]\n", no_env).unwrap();
        assert!(t.rates(NOVA_PRO, "us-east-1").is_some());
    }

    #[test]
    fn the_model_under_a_profile_comes_from_the_call_then_the_friendly_id_then_learning() {
        let arn =
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12";
        let geo = format!("us.{SONNET45}");
        assert_eq!(model_under(Some("x"), SONNET45, None), Some(SONNET45));
        assert_eq!(model_under(Some(&geo), arn, None), Some(geo.as_str()));
        assert_eq!(
            model_under(Some("claude"), arn, Some(NOVA_PRO)),
            Some(NOVA_PRO)
        );
        assert_eq!(model_under(Some("claude"), arn, None), None);
    }

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(parse_decimal_micros("3.30"), Some(3_300_000));
        assert_eq!(parse_decimal_micros("0.00875"), Some(8_750));
        assert_eq!(parse_decimal_micros(".5"), Some(500_000));
        assert_eq!(parse_decimal_micros("12"), Some(12_000_000));
        for bad in ["", ".", "1e3", "-1", "1.2.3", "1000001", "0.0000001"] {
            assert_eq!(parse_decimal_micros(bad), None, "{bad}");
        }
    }
}
