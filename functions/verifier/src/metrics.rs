//! CloudWatch Embedded Metric Format documents for a completed window.
//!
//! Dimensions stay bounded: one document without dimensions (the totals the alarm watches) and
//! one per friendly model ID *from the config*; traffic for any other model is folded into
//! `(other)`, so a caller inventing model IDs cannot mint billed custom metrics.

use std::collections::{BTreeMap, BTreeSet};

use shared::telemetry::{Dimension, Metrics, TelemetryError, Unit};

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
}
