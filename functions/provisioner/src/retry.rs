//! Retrying control-plane calls with back-off, never past the work deadline: the shared
//! [`shared::retry::retry`] with the provisioner's policy. The SDK clients are built without
//! their own retries ([`crate::sdk::SdkPlanes`]), so each attempt here is one request on the wire.

use std::future::Future;
use std::time::Duration;

use shared::aws::AwsError;
use shared::deadline::Deadline;
use shared::retry::{RetryPolicy, retry};
use tokio::time::Instant;

use crate::Error;
use crate::control::ApiResult;

/// Control-plane calls are retried until the work deadline rather than a fixed number of times:
/// a stack waits for the answer anyway, and IAM propagation (see
/// [`crate::logging::is_permission_propagation`]) can take tens of seconds.
pub const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: usize::MAX,
    base_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(5),
};

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
    R: Fn(&AwsError) -> bool,
{
    retry(
        &POLICY,
        Deadline::at(deadline),
        operation,
        |err: &AwsError| err.is_retryable() || also_retry(err),
        |_| f(),
    )
    .await
    .map_err(|gave_up| Error::bedrock(operation, gave_up.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::aws::AwsErrorKind;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn throttled() -> AwsError {
        AwsError::new(AwsErrorKind::Throttling, "ThrottlingException", "slow down")
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
            Err::<(), _>(AwsError::new(
                AwsErrorKind::Validation,
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
