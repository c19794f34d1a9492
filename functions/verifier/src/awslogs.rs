//! Builds `awslogs` payloads exactly as CloudWatch Logs hands them to a subscribed Lambda: the
//! subscription JSON, gzipped, then base64 with padding. The function only decodes (with
//! `aws_lambda_events`); this side is for the tests, the end-to-end suites and the benchmark,
//! which must feed it real payloads. `aws_lambda_events`' own serializer writes base64 without
//! padding, which its decoder (and CloudWatch Logs' format) does not use, so it cannot stand in.

use base64::Engine as _;
use serde_json::{Value, json};

/// One log event of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub timestamp: i64,
    pub message: String,
}

/// The `{"awslogs": {"data": ...}}` payload of a `DATA_MESSAGE` batch.
pub fn payload(
    owner: &str,
    log_group: &str,
    log_stream: &str,
    filter: &str,
    events: &[Event],
) -> std::io::Result<Value> {
    let log_events: Vec<Value> = events
        .iter()
        .map(|e| json!({"id": e.id, "timestamp": e.timestamp, "message": e.message}))
        .collect();
    let data = json!({
        "messageType": "DATA_MESSAGE",
        "owner": owner,
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": [filter],
        "logEvents": log_events,
    });
    encode(&data)
}

/// Gzips and base64-encodes any subscription JSON (a control message, say) into a payload.
pub fn encode(data: &Value) -> std::io::Result<Value> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    serde_json::to_writer(&mut gz, data)?;
    let blob = base64::engine::general_purpose::STANDARD.encode(gz.finish()?);
    Ok(json!({"awslogs": {"data": blob}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_payload_decodes_with_the_functions_decoder() {
        // Lengths that need one, two and no padding characters.
        for n in [1usize, 2, 3, 10] {
            let events: Vec<Event> = (0..n)
                .map(|i| Event {
                    id: format!("{i:056}"),
                    timestamp: 1_000 + i as i64,
                    message: "x".repeat(i),
                })
                .collect();
            let p = payload("123456789012", "/g", "s", "f", &events).unwrap();
            let data = crate::stream::decode(&p).unwrap();
            assert_eq!(data.log_events.len(), n);
            assert_eq!(data.log_events[n - 1].message, "x".repeat(n - 1));
            assert_eq!(data.subscription_filters, vec!["f".to_string()]);
        }
    }
}
