//! The results: one row per figure, printed as a table, written as JSON and as an SVG chart.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use crate::stats::Summary;

/// Which side of a target is good.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cmp {
    AtMost,
    AtLeast,
}

/// A target from the issue.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Target {
    pub cmp: Cmp,
    pub value: f64,
}

impl Target {
    pub fn at_most(value: f64) -> Self {
        Self {
            cmp: Cmp::AtMost,
            value,
        }
    }

    pub fn at_least(value: f64) -> Self {
        Self {
            cmp: Cmp::AtLeast,
            value,
        }
    }

    /// Judged on the median over runs.
    pub fn met_by(&self, median: f64) -> bool {
        match self.cmp {
            Cmp::AtMost => median <= self.value,
            Cmp::AtLeast => median >= self.value,
        }
    }

    fn label(&self) -> String {
        let op = match self.cmp {
            Cmp::AtMost => "≤",
            Cmp::AtLeast => "≥",
        };
        format!("{op} {}", fmt_num(self.value))
    }

    /// How far the median is from the target, as a fraction where 1.0 is the target and
    /// smaller is better, whichever the direction.
    fn load(&self, median: f64) -> f64 {
        match self.cmp {
            Cmp::AtMost if self.value > 0.0 => median / self.value,
            Cmp::AtLeast if median > 0.0 => self.value / median,
            _ => f64::INFINITY,
        }
    }
}

/// One figure with its spread over repeated runs.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub section: String,
    pub metric: String,
    pub unit: String,
    pub value: Option<Summary>,
    /// The same figure measured for the floor in the same runs.
    pub floor: Option<Summary>,
    /// value / floor per run, summarised.
    pub ratio: Option<Summary>,
    pub target: Option<Target>,
    pub note: Option<String>,
}

impl Row {
    pub fn new(section: &str, metric: impl Into<String>, unit: &str) -> Self {
        Self {
            section: section.to_owned(),
            metric: metric.into(),
            unit: unit.to_owned(),
            value: None,
            floor: None,
            ratio: None,
            target: None,
            note: None,
        }
    }

    pub fn values(mut self, values: &[f64]) -> Self {
        self.value = Summary::of(values);
        self
    }

    /// The floor's per-run values; the ratio is taken run by run against `values` given before.
    pub fn floor_with_ratio(mut self, values: &[f64], floors: &[f64]) -> Self {
        self.floor = Summary::of(floors);
        let ratios: Vec<f64> = values
            .iter()
            .zip(floors)
            .filter(|(_, f)| **f != 0.0)
            .map(|(v, f)| v / f)
            .collect();
        self.ratio = Summary::of(&ratios);
        self
    }

    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// `Some(true)` pass, `Some(false)` miss, `None` when there is no target or no value.
    pub fn verdict(&self) -> Option<bool> {
        Some(self.target?.met_by(self.value?.median))
    }
}

/// Everything one run of the benchmark measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: String,
    pub repeats: usize,
    pub machine: Value,
    pub rows: Vec<Row>,
}

impl Report {
    pub fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "section": r.section,
                    "metric": r.metric,
                    "unit": r.unit,
                    "value": r.value,
                    "floor": r.floor,
                    "ratio_to_floor": r.ratio,
                    "target": r.target,
                    "verdict": r.verdict().map(|ok| if ok { "pass" } else { "miss" }),
                    "note": r.note,
                })
            })
            .collect();
        json!({"mode": self.mode, "repeats": self.repeats, "machine": self.machine, "rows": rows})
    }

    /// A Markdown table (also readable on a terminal).
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str("| section | figure | min | median | max | floor (median) | ratio to floor (median) | target | verdict |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|\n");
        for r in &self.rows {
            let (min, med, max) = match r.value {
                Some(s) => (fmt_num(s.min), fmt_num(s.median), fmt_num(s.max)),
                None => ("–".into(), "–".into(), "–".into()),
            };
            let floor = r.floor.map_or("–".into(), |s| fmt_num(s.median));
            let ratio = r
                .ratio
                .map_or("–".into(), |s| format!("{}×", fmt_num(s.median)));
            let target = r
                .target
                .map_or("–".into(), |t| format!("{} {}", t.label(), r.unit));
            let verdict = match r.verdict() {
                Some(true) => "pass",
                Some(false) => "**miss**",
                None => "–",
            };
            let note = r
                .note
                .as_deref()
                .map_or(String::new(), |n| format!(" ({n})"));
            let _ = writeln!(
                out,
                "| {} | {} [{}]{} | {min} | {med} | {max} | {floor} | {ratio} | {target} | {verdict} |",
                r.section, r.metric, r.unit, note
            );
        }
        out
    }

    /// A bar per targeted figure: its median as a share of the target (1.0 = on target, shorter
    /// is better), with the min–max spread as a whisker.
    pub fn svg(&self) -> String {
        let rows: Vec<&Row> = self.rows.iter().filter(|r| r.target.is_some()).collect();
        let (left, bar_w, row_h, top) = (330.0, 360.0, 22.0, 40.0);
        let height = top + row_h * rows.len() as f64 + 30.0;
        let width = left + bar_w + 120.0;
        let scale = bar_w / 2.0; // the axis runs from 0 to 2× the target
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(
            s,
            r#"<text x="10" y="18" font-size="13" font-weight="bold">Median as a share of its target (1 = target; shorter is better; whisker = min–max over {} runs)</text>"#,
            self.repeats
        );
        let one = left + scale;
        let _ = writeln!(
            s,
            r##"<line x1="{one}" y1="{}" x2="{one}" y2="{}" stroke="#333" stroke-dasharray="4 3"/><text x="{one}" y="{}" text-anchor="middle">target</text>"##,
            top - 8.0,
            height - 24.0,
            height - 10.0
        );
        for (i, r) in rows.iter().enumerate() {
            let y = top + row_h * i as f64;
            let label = xml_escape(&format!("{} · {}", r.section, r.metric));
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end">{label}</text>"#,
                left - 6.0,
                y + 14.0
            );
            let (Some(t), Some(v)) = (r.target, r.value) else {
                let _ = writeln!(
                    s,
                    r#"<text x="{left}" y="{}">not measured</text>"#,
                    y + 14.0
                );
                continue;
            };
            let clamp = |x: f64| (x.clamp(0.0, 2.0)) * scale;
            let med = clamp(t.load(v.median));
            let (a, b) = (clamp(t.load(v.min)), clamp(t.load(v.max)));
            let colour = if t.met_by(v.median) {
                "#2e7d32"
            } else {
                "#c62828"
            };
            let _ = writeln!(
                s,
                r#"<rect x="{left}" y="{}" width="{med:.1}" height="{}" fill="{colour}"/>"#,
                y + 4.0,
                row_h - 8.0
            );
            let _ = writeln!(
                s,
                r##"<line x1="{:.1}" y1="{}" x2="{:.1}" y2="{}" stroke="#000"/>"##,
                left + a.min(b),
                y + row_h / 2.0,
                left + a.max(b),
                y + row_h / 2.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}">{} {} ({})</text>"#,
                left + bar_w + 6.0,
                y + 14.0,
                fmt_num(v.median),
                xml_escape(&r.unit),
                xml_escape(&t.label())
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Three significant digits, without exponent for everyday magnitudes.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a == 0.0 {
        "0".to_owned()
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            mode: "quick".into(),
            repeats: 3,
            machine: json!({}),
            rows: vec![
                Row::new("router", "added p50", "ms")
                    .values(&[0.1, 0.2, 0.12])
                    .floor_with_ratio(&[0.1, 0.2, 0.12], &[1.0, 1.0, 2.0])
                    .target(Target::at_most(0.15)),
                Row::new("router", "rps", "req/s")
                    .values(&[5000.0, 7000.0, 6500.0])
                    .target(Target::at_least(6000.0)),
                Row::new("package", "zip <a&b>", "bytes"),
            ],
        }
    }

    #[test]
    fn a_target_is_judged_on_the_median_in_its_direction() {
        let r = report();
        assert_eq!(r.rows[0].verdict(), Some(true));
        assert_eq!(r.rows[1].verdict(), Some(true));
        assert_eq!(r.rows[2].verdict(), None);
        let slow = Row::new("x", "y", "ms")
            .values(&[0.2, 0.3, 0.4])
            .target(Target::at_most(0.15));
        assert_eq!(slow.verdict(), Some(false));
    }

    #[test]
    fn the_ratio_to_the_floor_is_taken_run_by_run() {
        let r = report();
        let ratio = r.rows[0].ratio.unwrap();
        assert_eq!((ratio.min, ratio.median, ratio.max), (0.06, 0.1, 0.2));
    }

    #[test]
    fn the_table_has_one_line_per_row_and_marks_misses() {
        let mut r = report();
        r.rows.push(
            Row::new("x", "slow", "ms")
                .values(&[1.0])
                .target(Target::at_most(0.5)),
        );
        let table = r.table();
        assert_eq!(table.lines().count(), 2 + r.rows.len());
        assert!(table.contains("**miss**"));
        assert!(table.contains("| router | added p50 [ms] | 0.100 | 0.120 | 0.200 | 1.00 | 0.100× | ≤ 0.150 ms | pass |"), "{table}");
    }

    #[test]
    fn the_json_carries_verdicts_and_ratios() {
        let j = report().to_json();
        assert_eq!(j["rows"][0]["verdict"], "pass");
        assert_eq!(j["rows"][0]["ratio_to_floor"]["median"], 0.1);
        assert!(j["rows"][2]["value"].is_null());
    }

    #[test]
    fn the_svg_is_one_well_formed_document_with_escaped_labels() {
        let mut r = report();
        r.rows[1].metric = "a<b & c".into();
        let svg = r.svg();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a&lt;b &amp; c"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }

    #[test]
    fn numbers_keep_three_significant_digits() {
        assert_eq!(fmt_num(1234.4), "1234");
        assert_eq!(fmt_num(12.345), "12.3");
        assert_eq!(fmt_num(1.2345), "1.23");
        assert_eq!(fmt_num(0.012345), "0.012");
        assert_eq!(fmt_num(0.0), "0");
    }
}
