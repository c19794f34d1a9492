//! One retry policy and one retry loop for every call that is worth repeating.
//!
//! Back-off is "full jitter": before attempt `n` (1-based, `n ≥ 2`) the caller waits a random
//! time between 0 and `base_delay · 2^(n-2)`, capped at `max_delay`. Spreading the waits at
//! random keeps many functions that were throttled together from coming back together.
//!
//! No wait ever runs past the caller's [`Deadline`]: a back-off that would end after it is not
//! started, and the last error is returned with [`GaveUp::OutOfTime`] so the caller can still
//! answer (a CloudFormation response, a scan report) before Lambda stops it.
//!
//! Wherever a function loops with this, its SDK client is built with the SDK's own retries off
//! (`RetryConfig::disabled()`): otherwise each of our attempts would hide up to three of the
//! SDK's, its back-off would ignore the deadline, and rate pacing could not see them.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::deadline::Deadline;

/// How often and how patiently one call site retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1 is always made).
    pub max_attempts: usize,
    /// The ceiling of the first back-off.
    pub base_delay: Duration,
    /// No back-off is longer than this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts, 100 ms then 200 ms ceilings: the SDK's own standard mode, made
    /// deadline-aware.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// Attempts allowed when there are `sites` places to try (e.g. a model's profiles, failed
    /// over in turn): at least one per site, so each is tried once.
    pub fn attempts_for(&self, sites: usize) -> usize {
        self.max_attempts.max(sites).max(1)
    }

    /// The upper bound of the pause before attempt `attempt` (1-based; zero for the first).
    pub fn ceiling_before(&self, attempt: usize) -> Duration {
        if attempt <= 1 {
            return Duration::ZERO;
        }
        let exp = u32::try_from(attempt - 2).unwrap_or(u32::MAX).min(16);
        self.base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay)
    }

    /// The pause before attempt `attempt` (1-based; the first has none): uniformly random
    /// between zero and [`RetryPolicy::ceiling_before`].
    pub fn delay_before(&self, attempt: usize) -> Duration {
        let ceiling = self.ceiling_before(attempt);
        if ceiling.is_zero() {
            return Duration::ZERO;
        }
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::random_range(0..=millis))
    }
}

/// Why [`retry`] stopped trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaveUp {
    /// The error is not one that another attempt can fix.
    NotRetryable,
    /// Every attempt the policy allows was made.
    Exhausted,
    /// The next back-off would have ended past the deadline.
    OutOfTime,
}

/// The last error of a call that did not succeed, with how many attempts were made and why
/// no more were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryError<E> {
    /// The last attempt's error.
    pub error: E,
    /// Attempts made, the first included.
    pub attempts: usize,
    /// Why the loop stopped.
    pub gave_up: GaveUp,
}

impl<E> RetryError<E> {
    /// The last attempt's error, for callers that report it the same whatever the reason.
    pub fn into_error(self) -> E {
        self.error
    }
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.gave_up {
            GaveUp::NotRetryable => write!(f, "{}", self.error),
            GaveUp::Exhausted => write!(f, "{} (after {} attempts)", self.error, self.attempts),
            GaveUp::OutOfTime => write!(
                f,
                "{} (after {} attempts, no time left for another)",
                self.error, self.attempts
            ),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for RetryError<E> {}

/// Runs `attempt` (given its 1-based number) until it succeeds, fails with an error
/// `is_retryable` rejects, has been made `policy.max_attempts` times, or the next back-off
/// would end past `deadline`. Each retry is logged with `operation` and the error.
pub async fn retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    deadline: Deadline,
    operation: &str,
    is_retryable: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, RetryError<E>>
where
    E: fmt::Display,
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let max_attempts = policy.max_attempts.max(1);
    let mut made = 0;
    loop {
        made += 1;
        let error = match attempt(made).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let gave_up = if !is_retryable(&error) {
            Some(GaveUp::NotRetryable)
        } else if made >= max_attempts {
            Some(GaveUp::Exhausted)
        } else {
            None
        };
        if let Some(gave_up) = gave_up {
            return Err(RetryError {
                error,
                attempts: made,
                gave_up,
            });
        }
        let delay = policy.delay_before(made + 1);
        if !deadline.allows(delay) {
            return Err(RetryError {
                error,
                attempts: made,
                gave_up: GaveUp::OutOfTime,
            });
        }
        tracing::warn!(
            operation,
            attempt = made,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error = %error,
            "retrying"
        );
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use tokio::time::Instant;

    fn policy(max_attempts: usize) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }

    #[test]
    fn back_off_is_jittered_below_an_exponential_ceiling() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_before(0), Duration::ZERO);
        assert_eq!(p.delay_before(1), Duration::ZERO);
        for attempt in 2..8 {
            let ceiling = (100u64 << (attempt - 2)).min(2000);
            assert_eq!(p.ceiling_before(attempt), Duration::from_millis(ceiling));
            let delays: Vec<u64> = (0..200)
                .map(|_| p.delay_before(attempt).as_millis() as u64)
                .collect();
            assert!(
                delays.iter().all(|d| *d <= ceiling),
                "{attempt}: {delays:?}"
            );
            let distinct: std::collections::HashSet<_> = delays.iter().collect();
            assert!(distinct.len() > 10, "jittered: {attempt}");
        }
        assert_eq!(p.ceiling_before(usize::MAX), Duration::from_secs(2));
    }

    #[test]
    fn every_site_is_tried_at_least_once() {
        let p = RetryPolicy::default();
        assert_eq!(p.attempts_for(0), 3);
        assert_eq!(p.attempts_for(1), 3);
        assert_eq!(p.attempts_for(5), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn retryable_failures_are_retried_until_success() {
        let calls = Cell::new(0);
        let out = retry(
            &policy(10),
            Deadline::unbounded(),
            "Op",
            |_: &&str| true,
            |n| {
                calls.set(n);
                async move { if n < 4 { Err("throttled") } else { Ok(n * 10) } }
            },
        )
        .await;
        assert_eq!(out, Ok(40));
        assert_eq!(calls.get(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_that_is_not_retryable_is_returned_at_once() {
        let calls = Cell::new(0);
        let err = retry(
            &policy(10),
            Deadline::unbounded(),
            "Op",
            |e: &&str| *e != "bad",
            |n| {
                calls.set(n);
                async { Err::<(), _>("bad") }
            },
        )
        .await
        .unwrap_err();
        assert_eq!(calls.get(), 1);
        assert_eq!(
            (err.error, err.attempts, err.gave_up),
            ("bad", 1, GaveUp::NotRetryable)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_stop_at_the_policy_maximum() {
        let calls = Cell::new(0);
        let err = retry(
            &policy(3),
            Deadline::unbounded(),
            "Op",
            |_: &&str| true,
            |n| {
                calls.set(n);
                async { Err::<(), _>("throttled") }
            },
        )
        .await
        .unwrap_err();
        assert_eq!(calls.get(), 3);
        assert_eq!(err.gave_up, GaveUp::Exhausted);
        assert_eq!(err.to_string(), "throttled (after 3 attempts)");
    }

    #[tokio::test(start_paused = true)]
    async fn no_back_off_runs_past_the_deadline() {
        let start = Instant::now();
        let deadline = Deadline::at(start + Duration::from_secs(2));
        let err = retry(
            &policy(usize::MAX),
            deadline,
            "Op",
            |_: &&str| true,
            |_| async { Err::<(), _>("throttled") },
        )
        .await
        .unwrap_err();
        assert!(Instant::now() < start + Duration::from_secs(2));
        assert_eq!(err.gave_up, GaveUp::OutOfTime);
        assert!(err.attempts > 1, "{err:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn at_least_one_attempt_is_made_even_with_no_time_or_attempts() {
        let calls = Cell::new(0);
        let passed = Deadline::at(Instant::now());
        let out = retry(
            &policy(0),
            passed,
            "Op",
            |_: &&str| true,
            |n| {
                calls.set(n);
                async { Ok::<_, &str>(()) }
            },
        )
        .await;
        assert_eq!(out, Ok(()));
        assert_eq!(calls.get(), 1);
    }
}
