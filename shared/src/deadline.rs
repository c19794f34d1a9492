//! The time left in a Lambda invocation, read the same way by every function.
//!
//! Lambda sends `Lambda-Runtime-Deadline-Ms` as an absolute Unix time in milliseconds. Local
//! runtime emulators do not always: `cargo lambda watch` sends the timeout itself (e.g.
//! `600000`), which read as a date lies in 1970 and would leave no time at all — the provisioner
//! would answer nothing and the verifier would scan nothing. A value too small to be a date is
//! therefore taken as a budget, capped at Lambda's 15-minute limit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest a Lambda invocation can run.
pub const MAX_INVOCATION: Duration = Duration::from_secs(15 * 60);

/// Smallest value that can be an absolute deadline in Unix milliseconds (September 2001).
const PLAUSIBLE_EPOCH_MS: u64 = 1_000_000_000_000;

/// Time left before `deadline_ms` (the runtime's deadline header) at `now_ms`.
pub fn remaining_from_deadline_ms(deadline_ms: u64, now_ms: u64) -> Duration {
    if deadline_ms < PLAUSIBLE_EPOCH_MS {
        Duration::from_millis(deadline_ms).min(MAX_INVOCATION)
    } else {
        Duration::from_millis(deadline_ms.saturating_sub(now_ms))
    }
}

/// Time left before `deadline_ms`, by the system clock.
pub fn remaining(deadline_ms: u64) -> Duration {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    remaining_from_deadline_ms(deadline_ms, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absolute_deadline_leaves_the_time_until_it() {
        let now = 1_795_785_112_843;
        assert_eq!(
            remaining_from_deadline_ms(now + 299_500, now),
            Duration::from_millis(299_500)
        );
        assert_eq!(remaining_from_deadline_ms(now - 5, now), Duration::ZERO);
    }

    #[test]
    fn a_deadline_too_small_to_be_a_date_is_a_budget() {
        let now = 1_795_785_112_843;
        assert_eq!(
            remaining_from_deadline_ms(600_000, now),
            Duration::from_secs(600)
        );
        assert_eq!(
            remaining_from_deadline_ms(999_999_999_999, now),
            Duration::from_secs(15 * 60)
        );
    }

    #[test]
    fn the_clock_reading_agrees_with_the_pure_one() {
        let left = remaining(u64::MAX);
        assert!(left > Duration::from_secs(3600));
        assert_eq!(remaining(0), Duration::ZERO);
    }
}
