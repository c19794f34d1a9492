//! Injected faults: rules that match calls by model and operation and fire a set number of
//! times (or until cleared), so a test can inject exactly one throttle, one broken stream, one
//! dropped connection.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::fail::{Fail, canonical_code};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// 429 ThrottlingException before any output.
    Throttling,
    /// Any modeled error before any output (`code`, default InternalServerException).
    Error,
    /// Extra delay before the call is served (`latencyMs`).
    Latency,
    /// A stream that fails after `afterEvents` events with a modeled exception event (`code`,
    /// default ModelStreamErrorException). Non-streaming calls are not matched.
    StreamError,
    /// The connection is closed: before the response when `afterEvents` is absent, otherwise
    /// mid-stream after that many events.
    Drop,
}

/// A rule as the admin route accepts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// Matches the model ID as sent or the foundation model ID; `*` matches any run of
    /// characters. Absent = every model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `Converse`, `ConverseStream`, `InvokeModel` or `InvokeModelWithResponseStream`; absent =
    /// every operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// How many matching calls fire the fault; absent = until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_events: Option<usize>,
}

const OPERATIONS: [&str; 4] = [
    "Converse",
    "ConverseStream",
    "InvokeModel",
    "InvokeModelWithResponseStream",
];

impl FaultSpec {
    /// Refuses specs that could never behave as written.
    pub fn check(&self) -> Result<(), String> {
        if let Some(op) = &self.operation
            && !OPERATIONS.contains(&op.as_str())
        {
            return Err(format!(
                "operation must be one of {}",
                OPERATIONS.join(", ")
            ));
        }
        if let Some(code) = &self.code
            && canonical_code(code).is_none()
        {
            return Err(format!("code {code} is not a Bedrock runtime error shape"));
        }
        if self.kind == FaultKind::Latency && self.latency_ms.is_none() {
            return Err("a latency fault needs latencyMs".into());
        }
        if self.kind == FaultKind::StreamError
            && let Some(op) = &self.operation
            && !op.ends_with("Stream")
        {
            return Err("a stream-error fault only applies to streaming operations".into());
        }
        if self.count == Some(0) {
            return Err("count must be at least 1 (omit it for a permanent fault)".into());
        }
        Ok(())
    }

    fn matches(&self, operation: &str, requested: &str, foundation: &str, streaming: bool) -> bool {
        let op_ok = self.operation.as_deref().is_none_or(|o| o == operation);
        let model_ok = self
            .model
            .as_deref()
            .is_none_or(|p| glob(p, requested) || glob(p, foundation));
        let kind_ok = match self.kind {
            FaultKind::StreamError => streaming,
            FaultKind::Drop if self.after_events.is_some() => streaming,
            _ => true,
        };
        op_ok && model_ok && kind_ok
    }

    /// The error this rule answers with, for error-like kinds.
    pub fn fail(&self) -> Fail {
        let default = match self.kind {
            FaultKind::Throttling => "ThrottlingException",
            FaultKind::StreamError => "ModelStreamErrorException",
            _ => "InternalServerException",
        };
        let code = self
            .code
            .as_deref()
            .and_then(canonical_code)
            .unwrap_or(default);
        let message = self.message.clone().unwrap_or_else(|| {
            match code {
                "ThrottlingException" => "Too many requests, please wait before trying again.",
                "ServiceUnavailableException" => "Bedrock is unable to process your request.",
                "ModelStreamErrorException" => {
                    "The model stream failed while producing its response."
                }
                "ModelTimeoutException" => {
                    "Model has timed out in processing the request. Try your request again."
                }
                _ => "The server encountered an internal error while processing the request.",
            }
            .to_string()
        });
        Fail::new(code, message)
    }
}

/// `*` matches any run of characters; everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    pub id: u64,
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// How many more times it fires (None = until cleared).
    pub remaining: Option<u32>,
}

#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<(u64, Vec<FaultRule>)>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<FaultRule>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add(&self, spec: FaultSpec) -> Result<FaultRule, String> {
        spec.check()?;
        let mut guard = self.lock();
        guard.0 += 1;
        let rule = FaultRule {
            id: guard.0,
            remaining: spec.count,
            spec,
        };
        guard.1.push(rule.clone());
        Ok(rule)
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.lock().1.clone()
    }

    pub fn clear(&self) {
        self.lock().1.clear();
    }

    pub fn remove(&self, id: u64) -> bool {
        let mut guard = self.lock();
        let before = guard.1.len();
        guard.1.retain(|r| r.id != id);
        guard.1.len() != before
    }

    /// The rules that fire for this call (at most one per kind, first added wins), each
    /// consuming one of its counts.
    pub fn take(
        &self,
        operation: &str,
        requested: &str,
        foundation: &str,
        streaming: bool,
    ) -> Vec<FaultSpec> {
        let mut guard = self.lock();
        let mut fired: Vec<FaultSpec> = Vec::new();
        for rule in guard.1.iter_mut() {
            if fired.iter().any(|f| f.kind == rule.spec.kind)
                || !rule
                    .spec
                    .matches(operation, requested, foundation, streaming)
            {
                continue;
            }
            if let Some(left) = rule.remaining.as_mut() {
                *left -= 1;
            }
            fired.push(rule.spec.clone());
        }
        guard.1.retain(|r| r.remaining != Some(0));
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: FaultKind) -> FaultSpec {
        FaultSpec {
            kind,
            model: None,
            operation: None,
            count: Some(1),
            code: None,
            message: None,
            latency_ms: None,
            after_events: None,
        }
    }

    #[test]
    fn a_counted_fault_fires_exactly_that_many_times() {
        let faults = Faults::default();
        let mut s = spec(FaultKind::Throttling);
        s.count = Some(2);
        faults.add(s).unwrap();
        assert_eq!(faults.take("Converse", "m", "m", false).len(), 1);
        assert_eq!(faults.take("Converse", "m", "m", false).len(), 1);
        assert!(faults.take("Converse", "m", "m", false).is_empty());
        assert!(faults.list().is_empty());
    }

    #[test]
    fn rules_match_by_model_pattern_and_operation() {
        let faults = Faults::default();
        let mut s = spec(FaultKind::Error);
        s.model = Some("*claude-sonnet-4-5*".into());
        s.operation = Some("InvokeModel".into());
        s.count = None;
        faults.add(s).unwrap();
        assert!(
            faults
                .take(
                    "Converse",
                    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                    "x",
                    false
                )
                .is_empty()
        );
        assert!(
            faults
                .take(
                    "InvokeModel",
                    "amazon.nova-pro-v1:0",
                    "amazon.nova-pro-v1:0",
                    false
                )
                .is_empty()
        );
        assert_eq!(
            faults
                .take(
                    "InvokeModel",
                    "arn:aws:bedrock:us-east-1:1:application-inference-profile/abc",
                    "anthropic.claude-sonnet-4-5-20250929-v1:0",
                    false
                )
                .len(),
            1
        );
    }

    #[test]
    fn stream_faults_skip_non_streaming_calls_and_bad_specs_are_refused() {
        let faults = Faults::default();
        faults.add(spec(FaultKind::StreamError)).unwrap();
        assert!(faults.take("Converse", "m", "m", false).is_empty());
        assert_eq!(faults.take("ConverseStream", "m", "m", true).len(), 1);
        let mut bad = spec(FaultKind::Error);
        bad.code = Some("NoSuchError".into());
        assert!(faults.add(bad).is_err());
        assert!(faults.add(spec(FaultKind::Latency)).is_err());
    }

    #[test]
    fn throttling_defaults_to_bedrocks_message() {
        let fail = spec(FaultKind::Throttling).fail();
        assert_eq!((fail.code, fail.status), ("ThrottlingException", 429));
        assert_eq!(
            fail.message,
            "Too many requests, please wait before trying again."
        );
        assert!(glob("a*c*e", "abcde") && !glob("a*z", "abc"));
    }
}
