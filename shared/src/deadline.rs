//! The time left in a Lambda invocation, read the same way by every function.
//!
//! Lambda sends `Lambda-Runtime-Deadline-Ms` as an absolute Unix time in milliseconds. Local
//! runtime emulators do not always: `cargo lambda watch` sends the timeout itself (e.g.
//! `600000`), which read as a date lies in 1970 and would leave no time at all — the provisioner
//! would answer nothing and the verifier would scan nothing. A value too small to be a date is
//! therefore taken as a budget, capped at Lambda's 15-minute limit.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

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

/// When waiting must stop: a point on tokio's clock, or none outside Lambda.
///
/// Every function bounds its waits (each back-off, each call it chooses to bound) by one of
/// these, so running out becomes an ordinary error the function can still report instead of
/// Lambda killing it mid-answer. Taken from the runtime's deadline header
/// ([`Deadline::from_deadline_ms`]) less whatever the caller keeps back to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    until: Option<Instant>,
}

/// A bounded wait ran past its [`Deadline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the invocation's time ran out")]
pub struct OutOfTime;

impl Deadline {
    /// No deadline: waits are as long as they take (outside Lambda, in tools and tests).
    pub const fn unbounded() -> Self {
        Self { until: None }
    }

    /// A deadline at `instant`.
    pub const fn at(instant: Instant) -> Self {
        Self {
            until: Some(instant),
        }
    }

    /// `at(instant)` when there is one, else [`Deadline::unbounded`].
    pub const fn at_opt(instant: Option<Instant>) -> Self {
        Self { until: instant }
    }

    /// A deadline `remaining` from now.
    pub fn from_remaining(remaining: Duration) -> Self {
        Self::at(Instant::now() + remaining)
    }

    /// The deadline of an invocation whose runtime deadline header said `deadline_ms`, less
    /// `reserve` (the time kept back to write the answer).
    pub fn from_deadline_ms(deadline_ms: u64, reserve: Duration) -> Self {
        Self::from_remaining(remaining(deadline_ms).saturating_sub(reserve))
    }

    /// The same deadline moved `margin` earlier (never before the start of tokio's clock).
    pub fn less(self, margin: Duration) -> Self {
        Self {
            until: self
                .until
                .map(|u| u.checked_sub(margin).unwrap_or_else(Instant::now)),
        }
    }

    /// The instant, if bounded.
    pub fn instant(&self) -> Option<Instant> {
        self.until
    }

    /// Time left now (`None` when unbounded, zero once passed).
    pub fn remaining(&self) -> Option<Duration> {
        self.until
            .map(|u| u.saturating_duration_since(Instant::now()))
    }

    /// Whether waiting `delay` from now still ends before the deadline: a back-off that would
    /// not is not worth starting.
    pub fn allows(&self, delay: Duration) -> bool {
        self.until
            .is_none_or(|until| Instant::now() + delay < until)
    }

    /// Runs `work` until it finishes or the deadline passes, whichever comes first.
    pub async fn within<F: Future>(&self, work: F) -> Result<F::Output, OutOfTime> {
        match self.until {
            None => Ok(work.await),
            Some(until) => tokio::time::timeout_at(until, work)
                .await
                .map_err(|_| OutOfTime),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_unbounded_deadline_allows_any_wait() {
        let d = Deadline::unbounded();
        assert!(d.allows(Duration::from_secs(3600)));
        assert_eq!(d.remaining(), None);
        let slow = async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            7
        };
        assert_eq!(d.within(slow).await, Ok(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_that_would_pass_the_deadline_is_not_allowed() {
        let d = Deadline::from_remaining(Duration::from_secs(2));
        assert!(d.allows(Duration::from_millis(1999)));
        assert!(!d.allows(Duration::from_secs(2)));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!d.allows(Duration::from_millis(1000)));
        assert_eq!(d.remaining(), Some(Duration::from_secs(1)));
        assert!(
            !d.less(Duration::from_millis(500))
                .allows(Duration::from_millis(500))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn work_longer_than_the_deadline_is_out_of_time_at_the_deadline() {
        let d = Deadline::from_remaining(Duration::from_secs(3));
        let started = Instant::now();
        let slow = tokio::time::sleep(Duration::from_secs(60));
        assert_eq!(d.within(slow).await, Err(OutOfTime));
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn the_header_deadline_keeps_the_reserve_back() {
        let passed = Deadline::from_deadline_ms(1_000_000_000_000, Duration::ZERO);
        assert!(!passed.allows(Duration::ZERO));
        let budget = Deadline::from_deadline_ms(10_000, Duration::from_millis(500));
        assert_eq!(budget.remaining(), Some(Duration::from_millis(9_500)));
    }

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
