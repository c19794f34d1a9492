//! Retrying control-plane calls with back-off, never past the work deadline.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::Error;
use crate::control::{ApiError, ApiErrorKind, ApiResult};

const FIRST_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Calls `f` until it succeeds, fails for good, or the next try would land past `deadline`.
/// Transient failures (throttling, 5xx, connection trouble) are retried.
pub async fn call<T, F, Fut>(deadline: Instant, operation: &'static str, f: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ApiResult<T>>,
{
    call_retrying(deadline, operation, |_| false, f).await
}

/// Like [`call`], also retrying the failures `also_retry` accepts.
pub async fn call_retrying<T, F, Fut, R>(
    deadline: Instant,
    operation: &'static str,
    also_retry: R,
    mut f: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ApiResult<T>>,
    R: Fn(&ApiError) -> bool,
{
    let mut delay = FIRST_DELAY;
    let mut attempt = 1u32;
    loop {
        match f().await {
            Ok(value) => return Ok(value),
            Err(err) => {
                let retryable = err.kind == ApiErrorKind::Transient || also_retry(&err);
                if !retryable || Instant::now() + delay >= deadline {
                    return Err(Error::bedrock(operation, err));
                }
                tracing::warn!(operation, attempt, error = %err, delay_ms = delay.as_millis() as u64, "retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_DELAY);
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn throttled() -> ApiError {
        ApiError::new(ApiErrorKind::Transient, "ThrottlingException", "slow down")
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let out = call(Instant::now() + Duration::from_secs(30), "Op", || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                Err(throttled())
            } else {
                Ok(7)
            }
        })
        .await
        .unwrap();
        assert_eq!(out, 7);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_before_the_deadline() {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(2);
        let err = call(deadline, "Op", || async { Err::<(), _>(throttled()) })
            .await
            .unwrap_err();
        assert!(Instant::now() < deadline);
        assert!(err.to_string().contains("ThrottlingException"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failures_are_not_retried() {
        let calls = AtomicU32::new(0);
        let err = call(Instant::now() + Duration::from_secs(30), "Op", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(ApiError::new(
                ApiErrorKind::Validation,
                "ValidationException",
                "bad",
            ))
        })
        .await
        .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(err.to_string().contains("bad"));
    }
}
