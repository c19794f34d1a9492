//! Server-sent events framing for both streaming dialects.

use bytes::Bytes;
use serde_json::Value;

/// An OpenAI stream line: `data: <json>` and a blank line.
pub fn data(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// The OpenAI end-of-stream marker.
pub fn done() -> Bytes {
    Bytes::from_static(b"data: [DONE]\n\n")
}

/// A named event (native route): `event: <name>` then `data: <json>`.
pub fn event(name: &str, value: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {value}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_lines_end_with_a_blank_line_and_keep_json_on_one_line() {
        let b = data(&json!({"a": "line1\nline2"}));
        assert_eq!(&b[..], b"data: {\"a\":\"line1\\nline2\"}\n\n");
    }

    #[test]
    fn named_events_carry_the_event_field_first() {
        let b = event(
            "messageStart",
            &json!({"messageStart": {"role": "assistant"}}),
        );
        assert_eq!(
            &b[..],
            b"event: messageStart\ndata: {\"messageStart\":{\"role\":\"assistant\"}}\n\n"
        );
        assert_eq!(&done()[..], b"data: [DONE]\n\n");
    }
}
