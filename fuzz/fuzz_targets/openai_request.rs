//! Fuzz target `openai_request`: the body lives in `fuzz/checks/openai_request.rs`, which the stable replay test
//! (`tests/e2e/tests/fuzz_replay.rs`) runs over this target's corpus and artifacts.
#![no_main]

#[path = "../checks/openai_request.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
