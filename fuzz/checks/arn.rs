//! `arn`: `shared::arn::ModelRef::parse` on arbitrary UTF-8.
//!
//! Invariants: parsing never panics; a rejection renders as a non-empty message; anything
//! accepted displays canonically, i.e. `parse(display(x)) == x`, the display of the re-parse is
//! the same string, the serde form round-trips, and the reference is the same target as itself.

use shared::arn::ModelRef;

/// The fuzz entry point: bytes that are not UTF-8 cannot reach the parser (it takes `&str`).
pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
}

/// Parses `text` and checks the round-trip invariants on success.
pub fn check(text: &str) {
    let parsed = match ModelRef::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => {
            assert!(!e.to_string().is_empty(), "empty error for {text:?}");
            return;
        }
    };
    let shown = parsed.to_string();
    let reparsed = ModelRef::parse(&shown).unwrap_or_else(|e| {
        panic!("{text:?} parsed as {parsed:?}, but its display {shown:?} is refused: {e}")
    });
    assert_eq!(
        reparsed, parsed,
        "{text:?} displays as {shown:?}, which parses differently"
    );
    assert_eq!(
        reparsed.to_string(),
        shown,
        "display is not canonical for {text:?}"
    );
    assert!(
        parsed.same_target(&reparsed),
        "{text:?} is not the same target as its own re-parse"
    );
    assert_eq!(
        parsed.is_arn(),
        shown.starts_with("arn:"),
        "is_arn disagrees with the display {shown:?}"
    );
    assert_eq!(
        parsed.is_arn(),
        parsed.region().is_some(),
        "only ARN forms carry a region: {parsed:?}"
    );
    let json = serde_json::to_string(&parsed).expect("a ModelRef serialises");
    let back: ModelRef = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("serde form {json} of {text:?} is refused: {e}"));
    assert_eq!(back, parsed, "serde round trip changed {text:?}");
}
