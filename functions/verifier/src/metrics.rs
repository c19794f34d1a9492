//! CloudWatch Embedded Metric Format documents for a completed window.
//!
//! Dimensions stay bounded: one document without dimensions (the totals the alarm watches) and
//! one per friendly model ID *from the config*; traffic for any other model is folded into
//! `(other)`, so a caller inventing model IDs cannot mint billed custom metrics.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::report::{Counts, OTHER, Report};

fn metric_values(records: u64, c: &Counts) -> Vec<(&'static str, f64, &'static str)> {
    let coverage = if records == 0 {
        100.0
    } else {
        c.profiled as f64 * 100.0 / records as f64
    };
    vec![
        ("Invocations", records as f64, "Count"),
        ("Profiled", c.profiled as f64, "Count"),
        ("MappingMisses", c.mapping_miss as f64, "Count"),
        ("Unmapped", c.unmapped as f64, "Count"),
        ("UnknownProfiles", c.unknown_profile as f64, "Count"),
        ("Malformed", c.malformed as f64, "Count"),
        ("RegionViolations", c.region_violation as f64, "Count"),
        ("Errors", c.error as f64, "Count"),
        ("Coverage", coverage, "Percent"),
    ]
}

fn document(
    namespace: &str,
    timestamp_ms: i64,
    dimension: Option<(&str, &str)>,
    records: u64,
    counts: &Counts,
) -> Value {
    let values = metric_values(records, counts);
    let mut doc = serde_json::Map::new();
    let dims: Vec<Vec<&str>> = match dimension {
        Some((k, _)) => vec![vec![k]],
        None => vec![vec![]],
    };
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": dims,
                "Metrics": values.iter().map(|(n, _, u)| json!({"Name": n, "Unit": u})).collect::<Vec<_>>(),
            }],
        }),
    );
    if let Some((k, v)) = dimension {
        doc.insert(k.into(), Value::String(v.into()));
    }
    for (n, v, _) in values {
        doc.insert(n.into(), json!(v));
    }
    Value::Object(doc)
}

/// The EMF documents for a report, timestamped at the window's start so a window's numbers land
/// in the period they describe. Returns nothing for an incomplete window: its numbers are
/// emitted by the run that completes it.
pub fn emf_documents(
    report: &Report,
    window_start_ms: i64,
    namespace: &str,
    configured_models: &BTreeSet<String>,
) -> Vec<Value> {
    if !report.complete {
        return Vec::new();
    }
    let mut docs = vec![document(
        namespace,
        window_start_ms,
        None,
        report.records,
        &report.counts,
    )];
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
    for (model, (records, counts)) in per_model {
        docs.push(document(
            namespace,
            window_start_ms,
            Some(("Model", model)),
            records,
            &counts,
        ));
    }
    docs
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
        assert!(emf_documents(&report(false), 0, "NS", &BTreeSet::new()).is_empty());
    }

    #[test]
    fn dimensions_are_limited_to_configured_models_plus_other() {
        let models = BTreeSet::from(["sonnet".to_string()]);
        let docs = emf_documents(&report(true), 1000, "NS", &models);
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
    }
}
