//! Bedrock's binary stream framing (`application/vnd.amazon.eventstream`): prelude, headers,
//! payload and CRCs, written by the AWS SDK's own frame writer so boto3, the AWS SDKs, the
//! Anthropic SDK and Claude Code decode the router's streams as they decode Bedrock's.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;
use serde_json::Value;

/// The media type of an event-stream body.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// One frame of the event union member `event_type`, with `payload` as its JSON body.
pub fn event(event_type: &'static str, payload: &Value) -> Bytes {
    frame(
        [
            (":message-type", "event"),
            (":event-type", event_type),
            (":content-type", "application/json"),
        ],
        payload,
    )
}

/// One modeled exception frame (`exception_type` is the lowerCamel union member name, such as
/// `throttlingException`), with `{"message": ...}` as Bedrock sends it.
pub fn exception(exception_type: &'static str, message: &str) -> Bytes {
    frame(
        [
            (":message-type", "exception"),
            (":exception-type", exception_type),
            (":content-type", "application/json"),
        ],
        &serde_json::json!({ "message": message }),
    )
}

/// Every frame of a whole event-stream body as `(:event-type or :exception-type, payload)`;
/// for callers and tests that read the router's streams back.
pub fn read_frames(mut bytes: Bytes) -> Result<Vec<(String, Bytes)>, String> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let message = aws_smithy_eventstream::frame::read_message_from(&mut bytes)
            .map_err(|e| format!("frame {}: {e}", frames.len()))?;
        let name = message
            .headers()
            .iter()
            .find(|h| matches!(h.name().as_str(), ":event-type" | ":exception-type"))
            .and_then(|h| h.value().as_string().ok())
            .map(|s| s.as_str().to_owned())
            .ok_or_else(|| format!("frame {} names no event or exception type", frames.len()))?;
        frames.push((name, message.payload().clone()));
    }
    Ok(frames)
}

fn frame(headers: [(&'static str, &'static str); 3], payload: &Value) -> Bytes {
    let mut message = Message::new(crate::sse::json_framed(b"", payload, b""));
    for (name, value) in headers {
        message = message.add_header(Header::new(name, HeaderValue::String(value.into())));
    }
    let mut out = Vec::with_capacity(message.payload().len() + 128);
    // The only failures are headers or payload over the format's limits (128 KiB, 24 MiB); a
    // Bedrock event relayed whole is far below them, so this is logged, never sent half-written.
    if let Err(e) = write_message_to(&message, &mut out) {
        tracing::error!(error = %e, "event-stream frame could not be written");
        return Bytes::new();
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;
    use serde_json::json;

    fn header<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
        m.headers()
            .iter()
            .find(|h| h.name().as_str() == name)
            .and_then(|h| h.value().as_string().ok())
            .map(|s| s.as_str())
    }

    #[test]
    fn an_event_frame_reads_back_with_its_headers_and_payload() {
        let bytes = event("chunk", &json!({"bytes": "e30="}));
        let total = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        assert_eq!(total as usize, bytes.len());
        let m = read_message_from(&bytes[..]).unwrap();
        assert_eq!(header(&m, ":message-type"), Some("event"));
        assert_eq!(header(&m, ":event-type"), Some("chunk"));
        assert_eq!(header(&m, ":content-type"), Some("application/json"));
        let v: Value = serde_json::from_slice(m.payload()).unwrap();
        assert_eq!(v, json!({"bytes": "e30="}));
    }

    #[test]
    fn an_exception_frame_names_its_member_and_a_corrupt_crc_is_refused() {
        let bytes = exception("throttlingException", "slow down");
        let m = read_message_from(&bytes[..]).unwrap();
        assert_eq!(header(&m, ":message-type"), Some("exception"));
        assert_eq!(header(&m, ":exception-type"), Some("throttlingException"));
        assert_eq!(m.payload().as_ref(), br#"{"message":"slow down"}"#);
        let mut corrupt = bytes.to_vec();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        assert!(read_message_from(&corrupt[..]).is_err());
    }
}
