//! CloudWatch Embedded Metric Format documents for a completed window.
//!
//! Dimensions stay bounded: one document without dimensions (the totals the alarm watches) and
//! one per friendly model ID *from the config*; traffic for any other model is folded into
//! `(other)`, so a caller inventing model IDs cannot mint billed custom metrics.

use std::collections::{BTreeMap, BTreeSet};

use shared::telemetry::{Dimension, Metrics, TelemetryError, Unit};

use crate::cost::CostTotals;
use crate::report::{Counts, OTHER, Report};

fn metric_values(records: u64, c: &Counts) -> [(&'static str, f64, Unit); 9] {
    let coverage = if records == 0 {
        100.0
    } else {
        c.profiled as f64 * 100.0 / records as f64
    };
    [
        ("Invocations", records as f64, Unit::Count),
        ("Profiled", c.profiled as f64, Unit::Count),
        ("MappingMisses", c.mapping_miss as f64, Unit::Count),
        ("Unmapped", c.unmapped as f64, Unit::Count),
        ("UnknownProfiles", c.unknown_profile as f64, Unit::Count),
        ("Malformed", c.malformed as f64, Unit::Count),
        ("RegionViolations", c.region_violation as f64, Unit::Count),
        ("Errors", c.error as f64, Unit::Count),
        ("Coverage", coverage, Unit::Percent),
    ]
}

/// One document: the totals (an empty dimension set, which the alarm watches) when `model` is
/// `None`, else one model's numbers under its `Model` dimension.
fn document(
    namespace: &str,
    model: Option<&str>,
    records: u64,
    counts: &Counts,
) -> Result<Metrics, TelemetryError> {
    let mut doc = match model {
        Some(m) => Metrics::new(namespace)
            .dimension(Dimension::Model, m)?
            .dimension_set(&[Dimension::Model])?,
        None => Metrics::new(namespace).dimension_set(&[])?,
    };
    for (name, value, unit) in metric_values(records, counts) {
        doc = doc.metric(name, unit, value)?;
    }
    Ok(doc)
}

/// The EMF lines for a report, timestamped at the window's start so a window's numbers land
/// in the period they describe. Returns nothing for an incomplete window: its numbers are
/// emitted by the run that completes it. A document CloudWatch would reject (a configured
/// model ID too long to be a dimension value) is logged with its reason and left out; the
/// totals never depend on a model ID.
pub fn emf_lines(
    report: &Report,
    window_start_ms: i64,
    namespace: &str,
    configured_models: &BTreeSet<String>,
) -> Vec<String> {
    if !report.complete {
        return Vec::new();
    }
    let mut per_model: BTreeMap<&str, (u64, Counts)> = BTreeMap::new();
    for (model, mc) in &report.by_model {
        let key = if configured_models.contains(model) {
            model.as_str()
        } else {
            OTHER
        };
        let e = per_model.entry(key).or_default();
        e.0 += mc.records;
        e.1.profiled += mc.counts.profiled;
        e.1.mapping_miss += mc.counts.mapping_miss;
        e.1.unmapped += mc.counts.unmapped;
        e.1.unknown_profile += mc.counts.unknown_profile;
        e.1.malformed += mc.counts.malformed;
        e.1.region_violation += mc.counts.region_violation;
        e.1.error += mc.counts.error;
    }
    let totals = (None, report.records, &report.counts);
    let models = per_model
        .iter()
        .map(|(model, (records, counts))| (Some(*model), *records, counts));
    std::iter::once(totals)
        .chain(models)
        .filter_map(|(model, records, counts)| {
            let line = document(namespace, model, records, counts).and_then(|doc| {
                let mut line = Vec::new();
                doc.write_to(&mut line, window_start_ms)?;
                line.pop(); // the sink ends each document's line itself
                String::from_utf8(line).map_err(|e| std::io::Error::other(e).into())
            });
            line.map_err(
                |e| tracing::error!(model = ?model, error = %e, "an EMF document was left out"),
            )
            .ok()
        })
        .collect()
}

/// The cost documents for a complete report: the totals (`Cost`, `UnattributedCost` in USD,
/// tokens by kind, `UnpricedTokens`) without dimensions, then `Cost` and tokens per configured
/// tenant (`Tenant`) and per priced model (`Model`). Tenants outside `tenants` fold into
/// `(other)`, and so do models no price is known for: `requestMetadata` and model IDs are the
/// caller's to choose, the dimension values are not.
pub fn cost_lines(
    report: &Report,
    window_start_ms: i64,
    namespace: &str,
    tenants: &BTreeSet<String>,
) -> Vec<String> {
    if !report.complete {
        return Vec::new();
    }
    let cost = &report.cost;
    let fold = |groups: &BTreeMap<String, CostTotals>,
                known: &dyn Fn(&str, &CostTotals) -> bool| {
        let mut out: BTreeMap<String, CostTotals> = BTreeMap::new();
        for (key, totals) in groups {
            let key = if known(key, totals) {
                key.as_str()
            } else {
                OTHER
            };
            out.entry(key.to_owned()).or_default().merge(totals);
        }
        out
    };
    let by_tenant = fold(&cost.by_tenant, &|t, _| tenants.contains(t));
    let by_model = fold(&cost.by_model, &|_, c| c.unpriced_requests < c.requests);
    let mut docs = vec![(None, &cost.total, Some(&cost.unattributed.total))];
    docs.extend(
        by_tenant
            .iter()
            .map(|(t, c)| (Some((Dimension::Tenant, t.as_str())), c, None)),
    );
    docs.extend(
        by_model
            .iter()
            .map(|(m, c)| (Some((Dimension::Model, m.as_str())), c, None)),
    );
    docs.into_iter()
        .filter_map(|(dimension, totals, unattributed)| {
            let line = (|| {
                let mut doc = match dimension {
                    Some((key, value)) => Metrics::new(namespace)
                        .dimension(key, value)?
                        .dimension_set(&[key])?,
                    None => Metrics::new(namespace).dimension_set(&[])?,
                };
                doc = doc
                    .metric("Cost", Unit::None, totals.usd)?
                    .metric("InputTokens", Unit::Count, totals.input_tokens as f64)?
                    .metric("OutputTokens", Unit::Count, totals.output_tokens as f64)?
                    .metric("CacheReadTokens", Unit::Count, totals.cache_read_tokens as f64)?
                    .metric("CacheWriteTokens", Unit::Count, totals.cache_write_tokens as f64)?
                    .metric("UnpricedTokens", Unit::Count, totals.unpriced_tokens as f64)?;
                if let Some(u) = unattributed {
                    doc = doc.metric("UnattributedCost", Unit::None, u.usd)?;
                }
                let mut line = Vec::new();
                doc.write_to(&mut line, window_start_ms)?;
                line.pop();
                String::from_utf8(line).map_err(|e| std::io::Error::other(e).into())
            })();
            line.map_err(|e: TelemetryError| {
                tracing::error!(dimension = ?dimension.map(|d| d.1), error = %e, "a cost EMF document was left out")
            })
            .ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::DoctorReport;
    use crate::report::ModelCounts;
    use crate::window::WindowJson;

    fn report(complete: bool) -> Report {
        let mut by_model = BTreeMap::new();
        for (m, n) in [("sonnet", 3u64), ("invented-1", 1), ("invented-2", 1)] {
            by_model.insert(
                m.to_string(),
                ModelCounts {
                    records: n,
                    counts: Counts {
                        profiled: n,
                        ..Counts::default()
                    },
                    ..ModelCounts::default()
                },
            );
        }
        Report {
            window: WindowJson {
                start: "a".into(),
                end: "b".into(),
            },
            complete,
            records: 5,
            counts: Counts {
                profiled: 4,
                mapping_miss: 1,
                ..Counts::default()
            },
            by_model,
            findings: vec![],
            doctor: DoctorReport::skipped(),
            cost: crate::cost::CostReport::default(),
        }
    }

    #[test]
    fn an_incomplete_window_emits_no_metrics() {
        assert!(emf_lines(&report(false), 0, "NS", &BTreeSet::new()).is_empty());
    }

    fn documents(report: &Report, models: &BTreeSet<String>) -> Vec<serde_json::Value> {
        emf_lines(report, 1000, "NS", models)
            .iter()
            .map(|l| {
                assert!(!l.contains('\n'), "one line per document: {l}");
                serde_json::from_str(l).unwrap()
            })
            .collect()
    }

    #[test]
    fn dimensions_are_limited_to_configured_models_plus_other() {
        let models = BTreeSet::from(["sonnet".to_string()]);
        let docs = documents(&report(true), &models);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0]["Invocations"], 5.0);
        assert_eq!(docs[0]["Coverage"], 80.0);
        assert_eq!(docs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "NS");
        assert_eq!(docs[0]["_aws"]["Timestamp"], 1000);
        let models: Vec<&str> = docs[1..]
            .iter()
            .map(|d| d["Model"].as_str().unwrap())
            .collect();
        assert_eq!(models, vec!["(other)", "sonnet"]);
        assert_eq!(docs[1]["Invocations"], 2.0);
        // Totals roll up over no dimension; a model's document over Model alone.
        let sets = |d: &serde_json::Value| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"].clone();
        assert_eq!(sets(&docs[0]), serde_json::json!([[]]));
        assert_eq!(sets(&docs[1]), serde_json::json!([["Model"]]));
        let units: Vec<&str> = docs[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Unit"].as_str().unwrap())
            .collect();
        assert_eq!(units.len(), 9);
        assert_eq!(units.last(), Some(&"Percent"));
    }

    #[test]
    fn a_model_id_too_long_for_a_dimension_loses_only_its_own_document() {
        let long = "m".repeat(1025);
        let mut r = report(true);
        let mc = r.by_model.remove("sonnet").unwrap();
        r.by_model.insert(long.clone(), mc);
        let docs = documents(&r, &BTreeSet::from([long]));
        let models: Vec<&str> = docs[1..]
            .iter()
            .map(|d| d["Model"].as_str().unwrap())
            .collect();
        assert_eq!(models, vec!["(other)"]);
        assert_eq!(docs[0]["Invocations"], 5.0, "the totals are still written");
    }

    #[test]
    fn cost_documents_bound_tenants_and_models_and_carry_unattributed_spend() {
        use crate::cost::{CostReport, CostTotals, Unattributed};
        let totals = |requests, pico_usd, unpriced_requests| {
            let mut c = CostTotals {
                requests,
                unpriced_requests,
                ..CostTotals::default()
            };
            c.merge(&CostTotals {
                pico_usd,
                input_tokens: 10,
                ..CostTotals::default()
            });
            c
        };
        let mut r = report(true);
        r.cost = CostReport {
            total: totals(4, 3_000_000_000, 1),
            by_tenant: BTreeMap::from([
                ("team-a".to_owned(), totals(2, 2_000_000_000, 0)),
                ("invented".to_owned(), totals(2, 1_000_000_000, 1)),
            ]),
            by_model: BTreeMap::from([
                ("priced-model".to_owned(), totals(3, 3_000_000_000, 0)),
                ("acme.unknown".to_owned(), totals(1, 0, 1)),
            ]),
            unattributed: Unattributed {
                total: totals(1, 500_000_000, 0),
                by_model: BTreeMap::new(),
            },
            ..CostReport::default()
        };
        let lines = cost_lines(&r, 1000, "NS", &BTreeSet::from(["team-a".to_owned()]));
        let docs: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(docs.len(), 5);
        assert_eq!(docs[0]["Cost"], 0.003);
        assert_eq!(docs[0]["UnattributedCost"], 0.0005);
        let tenants: Vec<&str> = docs[1..3]
            .iter()
            .map(|d| d["Tenant"].as_str().unwrap())
            .collect();
        assert_eq!(
            tenants,
            ["(other)", "team-a"],
            "an invented tenant is not a dimension value"
        );
        let models: Vec<&str> = docs[3..]
            .iter()
            .map(|d| d["Model"].as_str().unwrap())
            .collect();
        assert_eq!(
            models,
            ["(other)", "priced-model"],
            "a model without a price is folded"
        );
        assert!(cost_lines(&report(false), 0, "NS", &BTreeSet::new()).is_empty());
    }
}
