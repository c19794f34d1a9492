//! `application/vnd.amazon.eventstream` frames: prelude, headers, payload and both CRC32s.
//!
//! Only string headers are needed by Bedrock's streams (`:message-type`, `:event-type`,
//! `:exception-type`, `:content-type`), so only the string header type (7) is encoded.

use bytes::{BufMut, Bytes, BytesMut};

const HEADER_TYPE_STRING: u8 = 7;

/// Encodes one message. Header names and values are short protocol constants, so the u8/u16
/// length prefixes cannot overflow.
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut encoded_headers = BytesMut::new();
    for (name, value) in headers {
        encoded_headers.put_u8(name.len() as u8);
        encoded_headers.put_slice(name.as_bytes());
        encoded_headers.put_u8(HEADER_TYPE_STRING);
        encoded_headers.put_u16(value.len() as u16);
        encoded_headers.put_slice(value.as_bytes());
    }
    let total = 12 + encoded_headers.len() + payload.len() + 4;
    let mut frame = BytesMut::with_capacity(total);
    frame.put_u32(total as u32);
    frame.put_u32(encoded_headers.len() as u32);
    let prelude_crc = crc32fast::hash(&frame[..8]);
    frame.put_u32(prelude_crc);
    frame.put_slice(&encoded_headers);
    frame.put_slice(payload);
    let message_crc = crc32fast::hash(&frame);
    frame.put_u32(message_crc);
    frame.freeze()
}

/// A modeled event, e.g. `contentBlockDelta` or `chunk`.
pub fn event(event_type: &str, payload: &serde_json::Value) -> Bytes {
    encode(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    )
}

/// A modeled exception event; `exception_type` is the lowerCamel union member name.
pub fn exception(exception_type: &str, payload: &serde_json::Value) -> Bytes {
    encode(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        payload.to_string().as_bytes(),
    )
}

/// The random-length padding Bedrock adds to each event (`"p"`), so clients prove they ignore
/// unknown members. Drawn from a seed, never from a clock, so output stays reproducible.
pub fn padding(seed: u64) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let len = 1 + (seed % ALPHABET.len() as u64) as usize;
    String::from_utf8_lossy(&ALPHABET[..len]).into_owned()
}

/// A decoded frame, for tests and for the invocation log of streamed calls.
#[cfg(test)]
#[derive(Debug)]
pub struct Decoded {
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
}

/// Decodes one frame, checking both CRCs, and returns it with the rest of the input.
#[cfg(test)]
pub fn decode(input: &[u8]) -> Result<(Decoded, &[u8]), String> {
    let read_u32 = |at: usize| -> Result<u32, String> {
        input
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| "truncated".to_string())
    };
    let total = read_u32(0)? as usize;
    let headers_len = read_u32(4)? as usize;
    if read_u32(8)? != crc32fast::hash(&input[..8]) {
        return Err("prelude crc mismatch".into());
    }
    if input.len() < total {
        return Err("truncated".into());
    }
    if read_u32(total - 4)? != crc32fast::hash(&input[..total - 4]) {
        return Err("message crc mismatch".into());
    }
    let mut headers = Vec::new();
    let mut at = 12;
    while at < 12 + headers_len {
        let name_len = input[at] as usize;
        let name = String::from_utf8_lossy(&input[at + 1..at + 1 + name_len]).into_owned();
        at += 1 + name_len;
        if input[at] != HEADER_TYPE_STRING {
            return Err("unexpected header type".into());
        }
        let value_len = u16::from_be_bytes([input[at + 1], input[at + 2]]) as usize;
        let value = String::from_utf8_lossy(&input[at + 3..at + 3 + value_len]).into_owned();
        at += 3 + value_len;
        headers.push((name, value));
    }
    let payload = input[12 + headers_len..total - 4].to_vec();
    Ok((Decoded { headers, payload }, &input[total..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_event_decodes_with_valid_crcs_and_its_headers() {
        let frame = event("messageStart", &serde_json::json!({"role": "assistant"}));
        let (decoded, rest) = decode(&frame).unwrap();
        assert!(rest.is_empty());
        assert!(
            decoded
                .headers
                .contains(&(":event-type".into(), "messageStart".into()))
        );
        assert_eq!(decoded.payload, br#"{"role":"assistant"}"#);
    }

    #[test]
    fn the_empty_frame_matches_the_specs_fixed_size_and_crc() {
        // The smithy event-stream test vector "empty message": 16 bytes, prelude CRC 0x05c248eb.
        let frame = encode(&[], b"");
        assert_eq!(frame.len(), 16);
        assert_eq!(&frame[8..12], &0x05c2_48ebu32.to_be_bytes());
        assert_eq!(&frame[12..16], &0x7d98_c8ffu32.to_be_bytes());
    }

    #[test]
    fn a_flipped_payload_byte_breaks_the_message_crc() {
        let mut frame = exception(
            "throttlingException",
            &serde_json::json!({"message": "slow down"}),
        )
        .to_vec();
        let last_payload = frame.len() - 5;
        frame[last_payload] ^= 1;
        assert_eq!(decode(&frame).unwrap_err(), "message crc mismatch");
    }

    #[test]
    fn padding_is_a_non_empty_prefix_of_the_alphabet() {
        assert_eq!(padding(0), "a");
        assert_eq!(padding(3), "abcd");
        assert!(padding(u64::MAX).len() <= 62);
    }
}
