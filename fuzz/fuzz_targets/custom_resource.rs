//! Fuzz target `custom_resource`: the body lives in `fuzz/checks/custom_resource.rs`, which the stable replay test
//! (`tests/e2e/tests/fuzz_replay.rs`) runs over this target's corpus and artifacts.
#![no_main]

#[path = "../checks/custom_resource.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
