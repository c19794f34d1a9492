//! The runtime's own state inside the emulator: fault rules, pacing, guardrails, the prompt
//! cache and the invocation-log shipper, with what a seed file sets. It lives in
//! `EmulatorState::runtime` and depends on nothing of the control plane's, so the control
//! plane's state can hold it without the two modules needing each other.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::faults::{self, FaultSpec};
use super::guardrails;
use super::logs::{self, Stats as LogStats};

/// The longest pause between stream events any setting accepts.
pub const MAX_PACE_MS: u64 = 60_000;

/// The `runtime` section a seed file may carry: faults present from the start and after every
/// reset, and the default pace.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeSeed {
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    #[serde(default)]
    pub pace_ms: Option<u64>,
}

/// The runtime's own state inside the emulator.
pub struct RuntimeState {
    pub(super) faults: faults::Faults,
    pub(super) logs: logs::Shipper,
    pub(super) pace_ms: AtomicU64,
    pub(super) seed: Mutex<RuntimeSeed>,
    pub(super) guardrails: guardrails::Guardrails,
    /// Prompt-cache entries: foundation-model ID and prefix digest. Kept until the next reset
    /// (no TTL), so a repeated prefix reads from the cache deterministically.
    pub(super) prompt_cache: Mutex<std::collections::HashSet<String>>,
}

/// Unpaced, no faults. `Emulator::start` then hands over the starting pace (`--pace-ms`, the
/// seed file, `BEDROCK_EMULATOR_PACE_MS`) and seeded faults through [`RuntimeState::seed`].
impl Default for RuntimeState {
    fn default() -> Self {
        Self {
            faults: faults::Faults::default(),
            logs: logs::Shipper::default(),
            pace_ms: AtomicU64::new(0),
            seed: Mutex::new(RuntimeSeed::default()),
            guardrails: guardrails::Guardrails::default(),
            prompt_cache: Mutex::new(std::collections::HashSet::new()),
        }
    }
}

impl RuntimeState {
    /// Back to the seeded faults and pace; queued log records are still delivered.
    pub fn reset(&self) {
        let seed = self.seed.lock().unwrap_or_else(|p| p.into_inner()).clone();
        self.faults.clear();
        self.guardrails.clear();
        self.prompt_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        for spec in seed.faults {
            // Checked when the seed was accepted, so this cannot fail.
            let _ = self.faults.add(spec);
        }
        self.pace_ms
            .store(seed.pace_ms.unwrap_or(0), Ordering::SeqCst);
    }

    /// Accepts a seed file's `runtime` section (kept for every later reset) and applies it.
    pub fn seed(&self, seed: RuntimeSeed) -> Result<(), String> {
        if let Some(ms) = seed.pace_ms
            && ms > MAX_PACE_MS
        {
            return Err(format!(
                "runtime.paceMs must be at most {MAX_PACE_MS}, got {ms}"
            ));
        }
        for (i, spec) in seed.faults.iter().enumerate() {
            spec.check()
                .map_err(|e| format!("runtime.faults[{i}]: {e}"))?;
        }
        *self.seed.lock().unwrap_or_else(|p| p.into_inner()) = seed;
        self.reset();
        Ok(())
    }

    /// Runs `f` on the prompt cache.
    pub(super) fn with_prompt_cache<T>(
        &self,
        f: impl FnOnce(&mut std::collections::HashSet<String>) -> T,
    ) -> T {
        f(&mut self.prompt_cache.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The pause between stream events for calls that do not set their own.
    pub fn pace_ms(&self) -> u64 {
        self.pace_ms.load(Ordering::SeqCst)
    }

    /// Sets the global pace until the next reset (the pacing admin route).
    pub fn set_pace_ms(&self, ms: u64) {
        self.pace_ms.store(ms, Ordering::SeqCst);
    }

    /// Adds a fault rule from Rust, as `POST /_emulator/runtime/faults` does over HTTP; returns
    /// its id. Cleared by the next reset, like rules added over HTTP.
    pub fn add_fault(&self, spec: FaultSpec) -> Result<u64, String> {
        self.faults.add(spec).map(|rule| rule.id)
    }

    /// Waits until every queued invocation-log record is delivered; call before shutdown.
    pub async fn flush_logs(&self) -> LogStats {
        self.logs.flush().await
    }

    /// Invocation-log delivery counts so far, without waiting.
    pub fn log_stats(&self) -> LogStats {
        self.logs.stats()
    }
}
