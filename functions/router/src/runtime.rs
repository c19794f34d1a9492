//! Keeps a warm router serving when one invocation's conversation with the Lambda Runtime API
//! fails.
//!
//! `lambda_runtime` ends its poll loop on any error from the Runtime API, including a failed
//! write of a streamed response body (the caller hung up mid-stream and the runtime closed the
//! response connection). That invocation cannot be answered any more, but exiting would throw away
//! the warm SDK clients and connection pools and make the next caller pay a cold start. So the
//! loop is started again. A Runtime API that fails again and again right away is not a lost
//! caller but an unreachable endpoint (the sandbox is shutting down, or the address is wrong):
//! then the error is returned so the process exits as `lambda_runtime` would have.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// A run that ends sooner than this after it started counts as an immediate failure.
pub const QUICK_FAILURE: Duration = Duration::from_secs(1);

/// Immediate failures in a row after which the Runtime API is taken to be gone.
pub const QUICK_FAILURES_TO_GIVE_UP: u32 = 3;

/// Runs `serve` until it returns `Ok`, or until it has failed immediately
/// [`QUICK_FAILURES_TO_GIVE_UP`] times in a row; returns that last error. Each restart is logged
/// with the error (which never carries request content: it is the Runtime API transport's).
pub async fn serve_until_unrecoverable<F, Fut, E>(mut serve: F) -> Result<(), E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let mut quick_failures = 0;
    loop {
        let started = Instant::now();
        let Err(error) = serve().await else {
            return Ok(());
        };
        if started.elapsed() < QUICK_FAILURE {
            quick_failures += 1;
        } else {
            quick_failures = 0;
        }
        if quick_failures >= QUICK_FAILURES_TO_GIVE_UP {
            tracing::error!(%error, quick_failures, "the Lambda Runtime API keeps failing; exiting");
            return Err(error);
        }
        tracing::warn!(%error, "an invocation's Runtime API exchange failed; polling for the next invocation");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test(start_paused = true)]
    async fn a_clean_end_returns_at_once() {
        let runs = Cell::new(0);
        let result: Result<(), String> = serve_until_unrecoverable(|| {
            runs.set(runs.get() + 1);
            async { Ok(()) }
        })
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(runs.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn immediate_failures_in_a_row_give_up_with_the_last_error() {
        let runs = Cell::new(0);
        let result = serve_until_unrecoverable(|| {
            runs.set(runs.get() + 1);
            let n = runs.get();
            async move { Err::<(), _>(format!("refused #{n}")) }
        })
        .await;
        assert_eq!(result, Err("refused #3".to_owned()));
        assert_eq!(runs.get(), QUICK_FAILURES_TO_GIVE_UP);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_after_serving_a_while_restarts_the_loop() {
        // Runs 1-5 serve for a minute each before a caller-side failure: each is restarted.
        // Runs 6-8 fail at once: the third of them gives up.
        let runs = Cell::new(0);
        let result = serve_until_unrecoverable(|| {
            runs.set(runs.get() + 1);
            let n = runs.get();
            async move {
                if n <= 5 {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                Err::<(), _>(format!("failure #{n}"))
            }
        })
        .await;
        assert_eq!(result, Err("failure #8".to_owned()));
        assert_eq!(runs.get(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_run_between_quick_failures_resets_the_count() {
        // quick, quick, long, quick, then a clean end: the long run broke the streak.
        let runs = Cell::new(0);
        let result = serve_until_unrecoverable(|| {
            runs.set(runs.get() + 1);
            let n = runs.get();
            async move {
                match n {
                    3 => {
                        tokio::time::sleep(QUICK_FAILURE * 2).await;
                        Err("long".to_owned())
                    }
                    5 => Ok(()),
                    _ => Err(format!("quick #{n}")),
                }
            }
        })
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(runs.get(), 5);
    }
}
