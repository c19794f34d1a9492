//! One CloudWatch embedded-metric-format (EMF) document per request.
//!
//! Written with the shared EMF writer. Dimensions are bounded: `Model` is a configured friendly
//! ID or `-` (never a caller-supplied string that matched nothing), `Tenant` a configured
//! tenant name, `default` or `-` (not authenticated), `Region` the region of the profile that
//! answered (or `-`), `Route` one of a fixed set, `Outcome` `ok`, `client_error`, `throttled` or
//! `server_error`. `Attempts` counts the Bedrock calls made (more than 1 after a failover). The document is
//! written when the request record is dropped, so a stream the caller abandons is still
//! counted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::telemetry::{Dimension, Metrics, TelemetryError, Unit};

pub use crate::METRICS_NAMESPACE as NAMESPACE;

/// The workspace's one sink trait and its two sinks (stdout in Lambda, memory in tests),
/// re-exported so the router's callers name them from here.
pub use shared::telemetry::{MemorySink, MetricsSink, StdoutSink};

/// The fixed set of route names used as a dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteName {
    ChatCompletions,
    Embeddings,
    Models,
    Messages,
    CountTokens,
    Converse,
    ConverseStream,
    Invoke,
    InvokeStream,
    Health,
    Other,
}

impl RouteName {
    fn as_str(self) -> &'static str {
        match self {
            Self::ChatCompletions => "chat_completions",
            Self::Embeddings => "embeddings",
            Self::Models => "models",
            Self::Messages => "messages",
            Self::CountTokens => "count_tokens",
            Self::Converse => "converse",
            Self::ConverseStream => "converse_stream",
            Self::Invoke => "invoke",
            Self::InvokeStream => "invoke_stream",
            Self::Health => "health",
            Self::Other => "other",
        }
    }
}

/// What is known about one request; emits its EMF document when dropped.
pub struct RequestRecord {
    sink: Arc<dyn MetricsSink>,
    started: Instant,
    pub route: RouteName,
    pub model: Option<String>,
    /// The tenant's name once the caller is known.
    pub tenant: Option<String>,
    /// The profile (or model ID) that answered, and its region.
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Bedrock calls made for this request.
    pub attempts: u32,
    pub status: u16,
    pub first_token: Option<Duration>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Prompt tokens read from and written to Bedrock's prompt cache.
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// Prompt-cache checkpoints the request carried to Bedrock (the router's and the caller's),
    /// where the router knows them.
    pub cache_points: u8,
    /// Betas, fields and values the router dropped or changed so the target takes the request
    /// (`x-router-dropped`), and how many.
    pub adjusted: Option<String>,
    pub adjustments: u32,
    pub streamed: bool,
    /// Prices the answer and records its spend when the record is done (see [`crate::spend`]).
    pub spend: Option<crate::spend::SpendNote>,
}

impl RequestRecord {
    pub fn new(sink: Arc<dyn MetricsSink>, route: RouteName) -> Self {
        Self {
            sink,
            started: Instant::now(),
            route,
            model: None,
            tenant: None,
            profile: None,
            region: None,
            attempts: 0,
            status: 200,
            first_token: None,
            input_tokens: 0,
            output_tokens: 0,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            cache_points: 0,
            adjusted: None,
            adjustments: 0,
            streamed: false,
            spend: None,
        }
    }

    /// Notes what a ConverseStream event tells: the first token, and the usage at the end.
    pub fn note_converse_event(&mut self, event: &crate::converse::StreamEvent) {
        use crate::converse::StreamEvent as E;
        match event {
            E::ContentBlockDelta(_) | E::ContentBlockStart(_) => self.mark_first_token(),
            E::Metadata(meta) => {
                self.note_usage(&meta.usage);
            }
            _ => {}
        }
    }

    /// Notes a Converse usage block.
    pub fn note_usage(&mut self, usage: &crate::converse::Usage) {
        self.input_tokens = usage.input_tokens;
        self.output_tokens = usage.output_tokens;
        self.cache_read_tokens = usage.cache_read_input_tokens.unwrap_or(0);
        self.cache_write_tokens = usage.cache_write_input_tokens.unwrap_or(0);
    }

    pub fn mark_first_token(&mut self) {
        if self.first_token.is_none() {
            self.first_token = Some(self.started.elapsed());
        }
    }

    fn outcome(&self) -> &'static str {
        match self.status {
            429 => "throttled",
            400..=499 => "client_error",
            500.. => "server_error",
            _ => "ok",
        }
    }

    fn document(&self) -> Result<Metrics, TelemetryError> {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        // Token counts are far below 2^53, so the conversion is exact.
        let mut doc = Metrics::new(NAMESPACE)
            .dimension(Dimension::Model, self.model.as_deref().unwrap_or("-"))?
            .dimension(Dimension::Route, self.route.as_str())?
            .dimension(Dimension::Outcome, self.outcome())?
            .dimension(Dimension::Tenant, self.tenant.as_deref().unwrap_or("-"))?
            .dimension(Dimension::Region, self.region.as_deref().unwrap_or("-"))?
            .dimension_set(&[Dimension::Model, Dimension::Outcome])?
            .dimension_set(&[Dimension::Route, Dimension::Outcome])?
            .dimension_set(&[Dimension::Tenant, Dimension::Model])?
            .dimension_set(&[Dimension::Tenant, Dimension::Outcome])?
            .dimension_set(&[Dimension::Model, Dimension::Region])?
            .metric("Requests", Unit::Count, 1.0)?
            .metric("Attempts", Unit::Count, f64::from(self.attempts))?
            .metric("Latency", Unit::Milliseconds, ms(self.started.elapsed()))?
            .metric("InputTokens", Unit::Count, self.input_tokens as f64)?
            .metric("OutputTokens", Unit::Count, self.output_tokens as f64)?
            .metric(
                "CacheReadTokens",
                Unit::Count,
                self.cache_read_tokens as f64,
            )?
            .metric(
                "CacheWriteTokens",
                Unit::Count,
                self.cache_write_tokens as f64,
            )?
            .metric("Adjustments", Unit::Count, f64::from(self.adjustments))?;
        if self.cache_points > 0 {
            // 1 when a cacheable request read from the cache: its average per tenant and model
            // is the cache hit rate, with the same dimensions as the token counts.
            let hit = if self.cache_read_tokens > 0 { 1.0 } else { 0.0 };
            doc = doc.metric("PromptCacheHit", Unit::Count, hit)?;
        }
        if let Some(ttft) = self.first_token {
            doc = doc.metric("TimeToFirstToken", Unit::Milliseconds, ms(ttft))?;
        }
        Ok(doc)
    }

    fn line(&self) -> Result<String, TelemetryError> {
        let mut out = Vec::with_capacity(1024);
        self.document()?
            .write_to(&mut out, chrono::Utc::now().timestamp_millis())?;
        if out.last() == Some(&b'\n') {
            out.pop();
        }
        // serde_json writes UTF-8; the lossy branch is never taken.
        Ok(String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }
}

impl Drop for RequestRecord {
    fn drop(&mut self) {
        if let Some(note) = self.spend.take() {
            note.finish(shared::prices::TokenUsage {
                input: self.input_tokens,
                output: self.output_tokens,
                cache_read: self.cache_read_tokens,
                cache_write: self.cache_write_tokens,
            });
        }
        match self.line() {
            Ok(line) => self.sink.emit(&line),
            Err(e) => tracing::warn!(error = %e, "metrics document not written"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_emits_one_emf_document_when_dropped() {
        let sink = MemorySink::default();
        {
            let mut r = RequestRecord::new(Arc::new(sink.clone()), RouteName::ChatCompletions);
            r.model = Some("claude".into());
            r.status = 404;
            r.input_tokens = 3;
            r.mark_first_token();
        }
        let lines = sink.0.lock().unwrap();
        assert_eq!(lines.len(), 1);
        let doc: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(doc["Outcome"], "client_error");
        assert_eq!(doc["Model"], "claude");
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert!(doc["TimeToFirstToken"].is_number());
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([
                ["Model", "Outcome"],
                ["Route", "Outcome"],
                ["Tenant", "Model"],
                ["Tenant", "Outcome"],
                ["Model", "Region"]
            ])
        );
        let names: Vec<_> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap().to_owned())
            .collect();
        assert!(names.contains(&"TimeToFirstToken".to_owned()));
    }

    #[test]
    fn an_unresolved_model_is_reported_as_a_dash() {
        let sink = MemorySink::default();
        drop(RequestRecord::new(Arc::new(sink.clone()), RouteName::Other));
        let doc: serde_json::Value = serde_json::from_str(&sink.0.lock().unwrap()[0]).unwrap();
        assert_eq!(doc["Model"], "-");
        assert!(doc.get("TimeToFirstToken").is_none());
    }
}
