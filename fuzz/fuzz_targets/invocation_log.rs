//! Fuzz target `invocation_log`: the body lives in `fuzz/checks/invocation_log.rs`, which the stable replay test
//! (`tests/e2e/tests/fuzz_replay.rs`) runs over this target's corpus and artifacts.
#![no_main]

#[path = "../checks/invocation_log.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
