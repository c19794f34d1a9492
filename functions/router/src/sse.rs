//! Server-sent events framing for both streaming dialects.

use bytes::Bytes;
use serde_json::Value;

/// `value` as compact JSON between `prefix` and `suffix`, serialised straight into one buffer
/// (`Display` for `Value` goes through `fmt` a piece at a time, which showed in the router's
/// CPU profile).
pub fn json_framed(prefix: &[u8], value: &Value, suffix: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(prefix.len() + 256 + suffix.len());
    out.extend_from_slice(prefix);
    // A `Value` always serialises (its map keys are strings) and a Vec takes every byte.
    if let Err(e) = serde_json::to_writer(&mut out, value) {
        tracing::error!(error = %e, "JSON serialisation failed");
    }
    out.extend_from_slice(suffix);
    Bytes::from(out)
}

/// An OpenAI stream line: `data: <json>` and a blank line.
pub fn data(value: &Value) -> Bytes {
    json_framed(b"data: ", value, b"\n\n")
}

/// The OpenAI end-of-stream marker.
pub fn done() -> Bytes {
    Bytes::from_static(b"data: [DONE]\n\n")
}

/// A named event (native route): `event: <name>` then `data: <json>`.
pub fn event(name: &str, value: &Value) -> Bytes {
    let prefix = [b"event: ", name.as_bytes(), b"\ndata: "].concat();
    json_framed(&prefix, value, b"\n\n")
}

/// A named event whose data is JSON already serialised (relayed as it came).
pub fn raw_event(name: &str, json: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(name.len() + json.len() + 16);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
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
