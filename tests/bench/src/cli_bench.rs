//! The operator CLI as a user meets it: the release binary's size and how long a command takes
//! from exec to exit (`--version`, and `check` on the example config), over repeated runs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::report::Row;

const SECTION: &str = "CLI (bedrock-profiles, release)";
/// Runs per figure: a process start is short, so many runs give a stable median.
const RUNS_PER_REPEAT: usize = 20;

/// Wall time of each run in milliseconds, or why it could not be measured.
fn wall_ms(bin: &Path, args: &[&str], root: &Path, runs: usize) -> Result<Vec<f64>, String> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let status = Command::new(bin)
            .args(args)
            .current_dir(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        if !status.success() {
            return Err(format!(
                "`bedrock-profiles {}` exited with {status}",
                args.join(" ")
            ));
        }
        times.push(ms);
    }
    Ok(times)
}

pub fn cli(root: &Path, repeats: usize) -> Vec<Row> {
    let bin = root.join("target/release/bedrock-profiles");
    let size = Row::new(SECTION, "binary size", "MB");
    let Ok(meta) = std::fs::metadata(&bin) else {
        return vec![size.note(format!(
            "not measured: {} is missing (cargo build --release -p bedrock-profiles)",
            bin.display()
        ))];
    };
    let mut rows = vec![size.values(&[meta.len() as f64 / 1e6])];
    let runs = RUNS_PER_REPEAT * repeats.max(1);
    for (metric, args) in [
        ("`--version` wall time", vec!["--version"]),
        (
            "`check cli/examples/librechat.yaml` wall time",
            vec!["check", "cli/examples/librechat.yaml"],
        ),
    ] {
        let row = Row::new(SECTION, metric, "ms");
        rows.push(match wall_ms(&bin, &args, root, runs) {
            Ok(times) => row.values(&times).note(format!("{runs} runs")),
            Err(e) => row.note(e),
        });
    }
    rows
}
