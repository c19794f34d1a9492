//! Replays every fuzz target's corpus and crashers on stable Rust.
//!
//! Each target's body lives in `fuzz/checks/<target>.rs` and is compiled both into the
//! cargo-fuzz binary (nightly) and into this test, so a corpus file exercises exactly the same
//! product entry points and invariants here as under libFuzzer. A crasher kept in
//! `fuzz/artifacts/<target>/` fails this test until the product is fixed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../../fuzz/checks/arn.rs"]
mod arn;
#[path = "../../../fuzz/checks/config.rs"]
mod config;
#[path = "../../../fuzz/checks/custom_resource.rs"]
mod custom_resource;
#[path = "../../../fuzz/checks/invocation_log.rs"]
mod invocation_log;
#[path = "../../../fuzz/checks/openai_request.rs"]
mod openai_request;
#[path = "../../../fuzz/checks/sse.rs"]
mod sse;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Feeds every corpus and artifact file of `target` to `run`; fails naming each input that
/// panics. An empty corpus is a failure too: the replay would then prove nothing.
fn replay(target: &str, run: fn(&[u8])) {
    let corpus = files_in(&fuzz_dir().join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target} is empty or missing"
    );
    let artifacts = files_in(&fuzz_dir().join("artifacts").join(target));
    let mut failures = Vec::new();
    for file in corpus.iter().chain(&artifacts) {
        let data = std::fs::read(file).expect("readable corpus file");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(&data))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{}: {message}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs of `{target}` fail:\n{}",
        failures.len(),
        corpus.len() + artifacts.len(),
        failures.join("\n")
    );
}

#[test]
fn arn_corpus_round_trips_through_display() {
    replay("arn", arn::run);
}

#[test]
fn config_corpus_never_panics_and_accepted_configs_resolve() {
    replay("config", config::run);
}

#[test]
fn invocation_log_corpus_gets_exactly_one_documented_class() {
    replay("invocation_log", invocation_log::run);
}

#[test]
fn openai_request_corpus_is_refused_with_4xx_or_translated_within_capabilities() {
    replay("openai_request", openai_request::run);
}

#[test]
fn sse_corpus_frames_every_chunk_as_one_data_line() {
    replay("sse", sse::run);
}

#[test]
fn custom_resource_corpus_always_gets_an_answer_within_4_kb() {
    replay("custom_resource", custom_resource::run);
}
