//! Logging and metrics.
//!
//! [`init_tracing`] sets up the same subscriber as `lambda_runtime`'s default
//! (`AWS_LAMBDA_LOG_LEVEL`, then `RUST_LOG`, else INFO; JSON lines when
//! `AWS_LAMBDA_LOG_FORMAT=JSON`), but tolerates being called twice (tests, local runs) and
//! maps Lambda's `FATAL` level to ERROR instead of silently falling back to INFO.
//!
//! [`Metrics`] builds one CloudWatch Embedded Metric Format document and writes it as its
//! own line. It goes straight to stdout, never through tracing: a JSON tracing layer would
//! nest the `_aws` block inside its own fields and CloudWatch would extract nothing.
//! Dimension keys come from the closed [`Dimension`] set, because every distinct
//! combination of dimension values is a separately billed custom metric; callers must also
//! keep the *values* bounded (friendly model IDs from the config, classes, error kinds —
//! never request IDs or free text).

use std::io::Write;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// EMF limit: dimensions in one dimension set.
pub const MAX_DIMENSIONS_PER_SET: usize = 30;
/// EMF limit: metrics in one document.
pub const MAX_METRICS: usize = 100;
/// CloudWatch limit on a dimension value's length.
pub const MAX_DIMENSION_VALUE_LEN: usize = 1024;
/// CloudWatch limit on a metric name's length.
pub const MAX_METRIC_NAME_LEN: usize = 255;

/// Log level and format from the Lambda environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// Most verbose level logged.
    pub level: LevelFilter,
    /// One JSON object per line.
    pub json: bool,
}

impl LogSettings {
    /// Reads `AWS_LAMBDA_LOG_LEVEL` (then `RUST_LOG`) and `AWS_LAMBDA_LOG_FORMAT` from `env`.
    pub fn from_env_with(env: impl Fn(&str) -> Option<String>) -> Self {
        let raw = env("AWS_LAMBDA_LOG_LEVEL")
            .filter(|s| !s.is_empty())
            .or_else(|| env("RUST_LOG").filter(|s| !s.is_empty()));
        let level = match raw.as_deref().map(str::trim) {
            Some(l) if l.eq_ignore_ascii_case("fatal") => LevelFilter::ERROR,
            Some(l) => l.parse().unwrap_or(LevelFilter::INFO),
            None => LevelFilter::INFO,
        };
        let json =
            env("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.trim().eq_ignore_ascii_case("json"));
        Self { level, json }
    }
}

/// Installs the global tracing subscriber from the process environment. Returns `false`
/// when one was already installed (the existing one is kept).
pub fn init_tracing() -> bool {
    let settings = LogSettings::from_env_with(|k| std::env::var(k).ok());
    let filter = EnvFilter::builder()
        .with_default_directive(settings.level.into())
        .from_env_lossy();
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    if settings.json {
        builder.json().try_init().is_ok()
    } else {
        builder.try_init().is_ok()
    }
}

/// Where EMF lines go: stdout in Lambda (one line each, outside any tracing layer, so the
/// runtime ships them to CloudWatch Logs and CloudWatch extracts the metrics), a buffer in tests.
pub trait MetricsSink: Send + Sync {
    /// Writes one document (without its trailing newline). A line that cannot be written is
    /// dropped: a metric is never worth failing the work it measures.
    fn emit(&self, line: &str);
}

/// Prints each document as its own stdout line.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutSink;

impl MetricsSink for StdoutSink {
    fn emit(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        // Ignored on purpose: see the trait.
        let _ = writeln!(out, "{line}");
    }
}

/// Keeps emitted lines in memory, for tests and callers that inspect them.
#[derive(Debug, Clone, Default)]
pub struct MemorySink(pub std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl MemorySink {
    /// The lines emitted so far.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl MetricsSink for MemorySink {
    fn emit(&self, line: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line.to_owned());
    }
}

impl<S: MetricsSink + ?Sized> MetricsSink for std::sync::Arc<S> {
    fn emit(&self, line: &str) {
        (**self).emit(line);
    }
}

impl<S: MetricsSink + ?Sized> MetricsSink for &S {
    fn emit(&self, line: &str) {
        (**self).emit(line);
    }
}

/// The only dimension keys the product emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// `provisioner`, `verifier`, `router`.
    Function,
    /// An invocation-log primary class.
    Class,
    /// A friendly model ID from the config.
    Model,
    /// An AWS region.
    Region,
    /// An error kind label.
    ErrorKind,
    /// A tenant ID from the config.
    Tenant,
    /// A router route (`chat_completions`, `converse`, ...).
    Route,
    /// An outcome (`ok`, `client_error`, `server_error`, ...).
    Outcome,
    /// A profile (or model ID) a call was sent to, from the config.
    Profile,
}

impl Dimension {
    /// The key written into the document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Function => "Function",
            Self::Class => "Class",
            Self::Model => "Model",
            Self::Region => "Region",
            Self::ErrorKind => "ErrorKind",
            Self::Tenant => "Tenant",
            Self::Route => "Route",
            Self::Outcome => "Outcome",
            Self::Profile => "Profile",
        }
    }
}

/// CloudWatch metric units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
    /// Bytes.
    Bytes,
    /// Percent.
    Percent,
    /// Unitless.
    None,
}

impl Unit {
    /// The CloudWatch spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
            Self::Seconds => "Seconds",
            Self::Bytes => "Bytes",
            Self::Percent => "Percent",
            Self::None => "None",
        }
    }
}

/// A metric document that would be rejected or misread by CloudWatch.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A dimension was set twice.
    #[error("dimension `{0}` is set twice in one metric document")]
    DuplicateDimension(&'static str),
    /// An empty or overlong dimension value.
    #[error(
        "dimension `{key}` has a value of {len} characters; values must be 1 to {MAX_DIMENSION_VALUE_LEN} characters"
    )]
    DimensionValue {
        /// The key.
        key: &'static str,
        /// The value's length.
        len: usize,
    },
    /// A dimension set names a key that has no value.
    #[error("dimension set names `{0}`, which has no value in this document")]
    UnsetDimension(&'static str),
    /// More dimensions in one set than EMF allows.
    #[error("a dimension set has {0} dimensions; EMF allows at most {MAX_DIMENSIONS_PER_SET}")]
    TooManyDimensions(usize),
    /// A bad metric name.
    #[error(
        "metric name `{0}` must be 1 to {MAX_METRIC_NAME_LEN} characters, unique, and not a dimension key"
    )]
    MetricName(String),
    /// NaN or infinity.
    #[error("metric `{name}` has value {value}; only finite numbers can be written")]
    NotFinite {
        /// The metric.
        name: String,
        /// The value.
        value: f64,
    },
    /// More metrics than EMF allows.
    #[error("a metric document holds at most {MAX_METRICS} metrics")]
    TooManyMetrics,
    /// A document without metrics would be logged but extract nothing.
    #[error("a metric document needs at least one metric")]
    NoMetrics,
    /// Writing failed.
    #[error("cannot write metric document: {0}")]
    Io(#[from] std::io::Error),
}

/// One EMF document: a namespace, dimension values, one or more dimension sets, metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    namespace: String,
    dimensions: Vec<(Dimension, String)>,
    sets: Vec<Vec<Dimension>>,
    metrics: Vec<(String, Unit, f64)>,
}

impl Metrics {
    /// An empty document in `namespace`.
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            dimensions: Vec::new(),
            sets: Vec::new(),
            metrics: Vec::new(),
        }
    }

    /// Sets a dimension value.
    pub fn dimension(
        mut self,
        key: Dimension,
        value: impl Into<String>,
    ) -> Result<Self, TelemetryError> {
        let value = value.into();
        if self.dimensions.iter().any(|(k, _)| *k == key) {
            return Err(TelemetryError::DuplicateDimension(key.as_str()));
        }
        let len = value.chars().count();
        if len == 0 || len > MAX_DIMENSION_VALUE_LEN {
            return Err(TelemetryError::DimensionValue {
                key: key.as_str(),
                len,
            });
        }
        self.dimensions.push((key, value));
        Ok(self)
    }

    /// Adds a dimension set (a roll-up). Without any, one set with every dimension set on
    /// the document is written. An empty set aggregates over all dimensions.
    pub fn dimension_set(mut self, keys: &[Dimension]) -> Result<Self, TelemetryError> {
        if keys.len() > MAX_DIMENSIONS_PER_SET {
            return Err(TelemetryError::TooManyDimensions(keys.len()));
        }
        let mut set: Vec<Dimension> = Vec::with_capacity(keys.len());
        for k in keys {
            if set.contains(k) {
                return Err(TelemetryError::DuplicateDimension(k.as_str()));
            }
            set.push(*k);
        }
        self.sets.push(set);
        Ok(self)
    }

    /// Adds a metric value.
    pub fn metric(
        mut self,
        name: impl Into<String>,
        unit: Unit,
        value: f64,
    ) -> Result<Self, TelemetryError> {
        let name = name.into();
        let len = name.chars().count();
        let clashes = self.metrics.iter().any(|(n, _, _)| *n == name)
            || self.dimensions.iter().any(|(k, _)| k.as_str() == name)
            || name == "_aws";
        if len == 0 || len > MAX_METRIC_NAME_LEN || clashes {
            return Err(TelemetryError::MetricName(name));
        }
        if !value.is_finite() {
            return Err(TelemetryError::NotFinite { name, value });
        }
        if self.metrics.len() == MAX_METRICS {
            return Err(TelemetryError::TooManyMetrics);
        }
        self.metrics.push((name, unit, value));
        Ok(self)
    }

    fn check(&self) -> Result<(), TelemetryError> {
        if self.metrics.is_empty() {
            return Err(TelemetryError::NoMetrics);
        }
        if self.dimensions.len() > MAX_DIMENSIONS_PER_SET {
            return Err(TelemetryError::TooManyDimensions(self.dimensions.len()));
        }
        for set in &self.sets {
            for k in set {
                if !self.dimensions.iter().any(|(d, _)| d == k) {
                    return Err(TelemetryError::UnsetDimension(k.as_str()));
                }
            }
        }
        for (name, _, _) in &self.metrics {
            if self.dimensions.iter().any(|(k, _)| k.as_str() == name) {
                return Err(TelemetryError::MetricName(name.clone()));
            }
        }
        Ok(())
    }

    /// Writes the document as one line (JSON + `\n`) to `out`, stamped `timestamp_ms`
    /// (milliseconds since the Unix epoch). The line is written with a single call so it
    /// is not interleaved with log lines.
    pub fn write_to(&self, out: &mut impl Write, timestamp_ms: i64) -> Result<(), TelemetryError> {
        self.check()?;
        let mut line = serde_json::to_vec(&Doc {
            m: self,
            timestamp_ms,
        })
        .map_err(std::io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)?;
        out.flush()?;
        Ok(())
    }

    /// Writes the document to stdout, stamped now.
    pub fn emit(&self) -> Result<(), TelemetryError> {
        let now = chrono::Utc::now().timestamp_millis();
        self.write_to(&mut std::io::stdout().lock(), now)
    }
}

struct Doc<'a> {
    m: &'a Metrics,
    timestamp_ms: i64,
}

struct Aws<'a>(&'a Doc<'a>);
struct Directive<'a>(&'a Metrics);
struct Sets<'a>(&'a Metrics);
struct Keys<'a>(&'a [Dimension]);
struct Defs<'a>(&'a Metrics);
struct Def<'a>(&'a str, Unit);

impl Serialize for Doc<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("_aws", &Aws(self))?;
        for (k, v) in &self.m.dimensions {
            map.serialize_entry(k.as_str(), v)?;
        }
        for (name, _, value) in &self.m.metrics {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Serialize for Aws<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("Timestamp", &self.0.timestamp_ms)?;
        map.serialize_entry("CloudWatchMetrics", &[Directive(self.0.m)])?;
        map.end()
    }
}

impl Serialize for Directive<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("Namespace", &self.0.namespace)?;
        map.serialize_entry("Dimensions", &Sets(self.0))?;
        map.serialize_entry("Metrics", &Defs(self.0))?;
        map.end()
    }
}

impl Serialize for Sets<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        if m.sets.is_empty() {
            let all: Vec<Dimension> = m.dimensions.iter().map(|(k, _)| *k).collect();
            let mut seq = s.serialize_seq(Some(1))?;
            seq.serialize_element(&Keys(&all))?;
            return seq.end();
        }
        let mut seq = s.serialize_seq(Some(m.sets.len()))?;
        for set in &m.sets {
            seq.serialize_element(&Keys(set))?;
        }
        seq.end()
    }
}

impl Serialize for Keys<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for k in self.0 {
            seq.serialize_element(k.as_str())?;
        }
        seq.end()
    }
}

impl Serialize for Defs<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.metrics.len()))?;
        for (name, unit, _) in &self.0.metrics {
            seq.serialize_element(&Def(name, *unit))?;
        }
        seq.end()
    }
}

impl Serialize for Def<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("Name", self.0)?;
        map.serialize_entry("Unit", self.1.as_str())?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn line(m: &Metrics) -> String {
        let mut out = Vec::new();
        m.write_to(&mut out, 1_700_000_000_123).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn emf_document_has_the_exact_shape_cloudwatch_extracts() {
        let m = Metrics::new("BedrockProfiles")
            .dimension(Dimension::Function, "verifier")
            .unwrap()
            .dimension(Dimension::Class, "mapping_miss")
            .unwrap()
            .metric("Records", Unit::Count, 12.0)
            .unwrap()
            .metric("ScanDuration", Unit::Milliseconds, 250.5)
            .unwrap();
        assert_eq!(
            line(&m),
            concat!(
                r#"{"_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"BedrockProfiles","#,
                r#""Dimensions":[["Function","Class"]],"#,
                r#""Metrics":[{"Name":"Records","Unit":"Count"},{"Name":"ScanDuration","Unit":"Milliseconds"}]}]},"#,
                r#""Function":"verifier","Class":"mapping_miss","Records":12.0,"ScanDuration":250.5}"#,
                "\n"
            )
        );
    }

    #[test]
    fn explicit_dimension_sets_are_written_in_order() {
        let m = Metrics::new("NS")
            .dimension(Dimension::Function, "router")
            .unwrap()
            .dimension(Dimension::Model, "claude")
            .unwrap()
            .dimension_set(&[Dimension::Function, Dimension::Model])
            .unwrap()
            .dimension_set(&[])
            .unwrap()
            .metric("Requests", Unit::Count, 1.0)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line(&m)).unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Function", "Model"], []])
        );
    }

    #[test]
    fn document_is_one_line() {
        let m = Metrics::new("NS")
            .dimension(Dimension::Region, "us-east-1")
            .unwrap()
            .metric("A", Unit::None, 1.0)
            .unwrap();
        let l = line(&m);
        assert_eq!(l.matches('\n').count(), 1);
        assert!(l.ends_with('\n'));
    }

    #[test]
    fn duplicate_dimension_is_rejected() {
        let e = Metrics::new("NS")
            .dimension(Dimension::Model, "a")
            .unwrap()
            .dimension(Dimension::Model, "b")
            .unwrap_err();
        assert!(matches!(e, TelemetryError::DuplicateDimension("Model")));
        let e = Metrics::new("NS")
            .dimension_set(&[Dimension::Model, Dimension::Model])
            .unwrap_err();
        assert!(matches!(e, TelemetryError::DuplicateDimension("Model")));
    }

    #[test]
    fn dimension_set_over_the_emf_limit_is_rejected() {
        let keys = vec![Dimension::Model; MAX_DIMENSIONS_PER_SET + 1];
        let e = Metrics::new("NS").dimension_set(&keys).unwrap_err();
        assert!(matches!(e, TelemetryError::TooManyDimensions(31)), "{e}");
    }

    #[test]
    fn empty_or_overlong_dimension_values_are_rejected() {
        assert!(matches!(
            Metrics::new("NS").dimension(Dimension::Model, ""),
            Err(TelemetryError::DimensionValue { len: 0, .. })
        ));
        assert!(matches!(
            Metrics::new("NS").dimension(Dimension::Model, "x".repeat(1025)),
            Err(TelemetryError::DimensionValue { len: 1025, .. })
        ));
        assert!(
            Metrics::new("NS")
                .dimension(Dimension::Model, "x".repeat(1024))
                .is_ok()
        );
    }

    #[test]
    fn dimension_set_must_name_set_dimensions() {
        let m = Metrics::new("NS")
            .dimension_set(&[Dimension::Tenant])
            .unwrap()
            .metric("A", Unit::Count, 1.0)
            .unwrap();
        let e = m.write_to(&mut Vec::new(), 0).unwrap_err();
        assert!(matches!(e, TelemetryError::UnsetDimension("Tenant")), "{e}");
    }

    #[test]
    fn metric_names_must_be_valid_unique_and_not_dimension_keys() {
        let base = Metrics::new("NS")
            .dimension(Dimension::Class, "profiled")
            .unwrap();
        assert!(matches!(
            base.clone().metric("", Unit::Count, 1.0),
            Err(TelemetryError::MetricName(_))
        ));
        assert!(matches!(
            base.clone().metric("Class", Unit::Count, 1.0),
            Err(TelemetryError::MetricName(_))
        ));
        assert!(matches!(
            base.clone().metric("_aws", Unit::Count, 1.0),
            Err(TelemetryError::MetricName(_))
        ));
        assert!(matches!(
            base.clone().metric("x".repeat(256), Unit::Count, 1.0),
            Err(TelemetryError::MetricName(_))
        ));
        let twice = base.clone().metric("A", Unit::Count, 1.0).unwrap();
        assert!(matches!(
            twice.metric("A", Unit::Count, 2.0),
            Err(TelemetryError::MetricName(_))
        ));
        // A dimension added after a same-named metric is caught at write time.
        let late = Metrics::new("NS")
            .metric("Model", Unit::Count, 1.0)
            .unwrap()
            .dimension(Dimension::Model, "m")
            .unwrap();
        assert!(matches!(
            late.write_to(&mut Vec::new(), 0),
            Err(TelemetryError::MetricName(_))
        ));
    }

    #[test]
    fn non_finite_values_are_rejected() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(matches!(
                Metrics::new("NS").metric("A", Unit::Count, v),
                Err(TelemetryError::NotFinite { .. })
            ));
        }
    }

    #[test]
    fn metric_count_is_bounded_and_nonzero() {
        let mut m = Metrics::new("NS");
        for i in 0..MAX_METRICS {
            m = m.metric(format!("M{i}"), Unit::Count, 1.0).unwrap();
        }
        assert!(matches!(
            m.metric("Extra", Unit::Count, 1.0),
            Err(TelemetryError::TooManyMetrics)
        ));
        assert!(matches!(
            Metrics::new("NS").write_to(&mut Vec::new(), 0),
            Err(TelemetryError::NoMetrics)
        ));
    }

    #[test]
    fn write_errors_are_reported() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("closed"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let m = Metrics::new("NS").metric("A", Unit::Count, 1.0).unwrap();
        assert!(matches!(
            m.write_to(&mut Broken, 0),
            Err(TelemetryError::Io(_))
        ));
    }

    #[test]
    fn lambda_log_level_wins_over_rust_log() {
        let s = LogSettings::from_env_with(env(&[
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
            ("RUST_LOG", "error"),
        ]));
        assert_eq!(s.level, LevelFilter::DEBUG);
        let s = LogSettings::from_env_with(env(&[("RUST_LOG", "warn")]));
        assert_eq!(s.level, LevelFilter::WARN);
        let s = LogSettings::from_env_with(env(&[]));
        assert_eq!(s.level, LevelFilter::INFO);
        assert!(!s.json);
    }

    #[test]
    fn fatal_maps_to_error_and_garbage_to_info() {
        let s = LogSettings::from_env_with(env(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]));
        assert_eq!(s.level, LevelFilter::ERROR);
        let s = LogSettings::from_env_with(env(&[("AWS_LAMBDA_LOG_LEVEL", "loud")]));
        assert_eq!(s.level, LevelFilter::INFO);
    }

    #[test]
    fn json_format_is_chosen_case_insensitively() {
        assert!(LogSettings::from_env_with(env(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")])).json);
        assert!(LogSettings::from_env_with(env(&[("AWS_LAMBDA_LOG_FORMAT", "json")])).json);
        assert!(!LogSettings::from_env_with(env(&[("AWS_LAMBDA_LOG_FORMAT", "Text")])).json);
    }

    #[test]
    fn init_tracing_twice_keeps_the_first_subscriber() {
        let first = init_tracing();
        assert!(!init_tracing(), "a second call must not replace or panic");
        let _ = first;
    }
}
