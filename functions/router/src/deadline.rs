//! The time an invocation may spend waiting on Bedrock.
//!
//! Lambda kills a function at its timeout without a word: a non-streaming caller gets a bare
//! 502 from the Function URL, a streaming caller a stream that just stops, and the request's
//! metrics are never written. So every wait on Bedrock (each attempt, each back-off, each next
//! stream event) is bounded by the invocation's deadline minus [`RESERVE`], and running out
//! becomes an ordinary error: a 504 before the stream starts, an error event after, counted like
//! any other failure.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{BedrockError, BedrockErrorKind};

/// Events of one Bedrock stream, in arrival order (every wait on them goes through a
/// [`Deadline`]).
pub type Events<E> =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<E, BedrockError>> + Send>>;

/// Kept back from the deadline to write the error answer and the metrics document.
pub const RESERVE: Duration = Duration::from_millis(500);

/// When waiting on Bedrock must stop (the invocation's deadline less [`RESERVE`]); `unbounded` outside Lambda (no invocation context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    until: Option<Instant>,
}

impl Deadline {
    pub const fn unbounded() -> Self {
        Self { until: None }
    }

    /// A budget of `remaining` (the invocation's time left) less [`RESERVE`], from now.
    pub fn from_remaining(remaining: Duration) -> Self {
        Self {
            until: Some(Instant::now() + remaining.saturating_sub(RESERVE)),
        }
    }

    /// The budget for an invocation whose runtime deadline header said `deadline_ms`.
    pub fn from_deadline_ms(deadline_ms: u64) -> Self {
        Self::from_remaining(shared::deadline::remaining(deadline_ms))
    }

    /// Whether waiting `delay` still leaves time for an attempt.
    pub fn allows(&self, delay: Duration) -> bool {
        self.until
            .is_none_or(|until| Instant::now() + delay < until)
    }

    /// Runs a Bedrock call, turning "the budget ran out first" into an
    /// [`BedrockErrorKind::OutOfTime`] error.
    pub async fn run<T>(
        &self,
        call: impl Future<Output = Result<T, BedrockError>>,
    ) -> Result<T, BedrockError> {
        match self.until {
            None => call.await,
            Some(until) => tokio::time::timeout_at(until, call)
                .await
                .unwrap_or_else(|_| Err(out_of_time())),
        }
    }

    /// Waits for the next item of a stream within the budget; running out yields an
    /// [`BedrockErrorKind::OutOfTime`] error as the next item.
    pub async fn next<T>(
        &self,
        next: impl Future<Output = Option<Result<T, BedrockError>>>,
    ) -> Option<Result<T, BedrockError>> {
        match self.until {
            None => next.await,
            Some(until) => tokio::time::timeout_at(until, next)
                .await
                .unwrap_or_else(|_| Some(Err(out_of_time()))),
        }
    }
}

impl Deadline {
    /// Waits for a stream's first item: a stream is committed to (never re-sent) only once it
    /// has produced one, so an error before it is still an ordinary, retryable failure.
    pub async fn first<T>(
        &self,
        mut items: Events<T>,
    ) -> Result<(Option<T>, Events<T>), BedrockError> {
        use futures_util::StreamExt as _;
        match self.next(items.next()).await {
            Some(Ok(item)) => Ok((Some(item), items)),
            Some(Err(e)) => Err(e),
            None => Ok((None, items)),
        }
    }
}

fn out_of_time() -> BedrockError {
    BedrockError::new(
        BedrockErrorKind::OutOfTime,
        "the invocation's time ran out while waiting for Bedrock",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn unbounded_waits_as_long_as_the_call_takes() {
        let deadline = Deadline::unbounded();
        let slow = async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, BedrockError>(7)
        };
        assert_eq!(deadline.run(slow).await, Ok(7));
        assert!(deadline.allows(Duration::from_secs(3600)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_longer_than_the_budget_is_out_of_time_at_the_budget() {
        let deadline = Deadline::from_remaining(Duration::from_secs(3));
        let started = Instant::now();
        let slow = async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, BedrockError>(())
        };
        let err = deadline.run(slow).await.unwrap_err();
        assert_eq!(err.kind, BedrockErrorKind::OutOfTime);
        assert_eq!(started.elapsed(), Duration::from_secs(3) - RESERVE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_within_the_budget_keeps_its_own_result() {
        let deadline = Deadline::from_remaining(Duration::from_secs(3));
        let quick = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Err::<(), _>(BedrockError::new(BedrockErrorKind::Throttling, "slow down"))
        };
        assert_eq!(
            deadline.run(quick).await.unwrap_err().kind,
            BedrockErrorKind::Throttling
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_stalls_past_the_budget_ends_with_out_of_time() {
        let deadline = Deadline::from_remaining(Duration::from_secs(2));
        let stalled = std::future::pending::<Option<Result<u8, BedrockError>>>();
        let item = deadline.next(stalled).await;
        assert!(matches!(item, Some(Err(e)) if e.kind == BedrockErrorKind::OutOfTime));
        assert_eq!(deadline.next(async { None::<Result<u8, _>> }).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_back_off_that_would_pass_the_deadline_is_not_allowed() {
        let deadline = Deadline::from_remaining(Duration::from_secs(2));
        assert!(deadline.allows(Duration::from_millis(1000)));
        assert!(!deadline.allows(Duration::from_millis(1500)));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!deadline.allows(Duration::from_millis(600)));
    }

    #[test]
    fn a_deadline_already_passed_leaves_no_time() {
        let deadline = Deadline::from_deadline_ms(1_000_000_000_000);
        assert!(!deadline.allows(Duration::ZERO));
    }
}
