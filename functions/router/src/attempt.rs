//! The one attempt runner every route's Bedrock call goes through: spreading calls over a
//! model's profiles and failing over between them, within the invocation's deadline.
//!
//! A friendly ID may have several profiles (its `inferenceProfiles` entry plus
//! `additionalInferenceProfiles`, e.g. one per region or account). Each request starts at the
//! next profile in turn (round-robin), and a call that fails because Bedrock is overloaded or
//! unreachable — throttling, model not ready, service unavailable, internal errors, connection
//! failures — is retried on the next profile after a jittered exponential back-off ("full
//! jitter": a random delay between 0 and `base · 2^(attempt-1)`, capped). Client errors
//! (validation, access denied, not found, quota) are never retried: another profile would
//! refuse them too, or the caller must act.
//!
//! The SDK's own retries are disabled for Bedrock runtime calls (see
//! [`crate::bedrock::SdkBedrock`]): otherwise every throttle would cost three attempts on the
//! same profile before the router could move on. With a single profile the router still makes
//! up to `max_attempts` calls with back-off, as the SDK would have.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::bedrock::CallSite;
use crate::caps::Target;
use crate::deadline::Deadline;
use crate::error::{BedrockError, BedrockErrorKind, RouterError};
use crate::metrics::RequestRecord;

/// How hard the router tries: the workspace's one retry policy (shared with the provisioner
/// and the verifier), with `max_attempts` raised to the number of profiles so each is tried once.
pub use shared::retry::RetryPolicy;

/// How many calls one request may make in all (default 3).
pub const ENV_MAX_ATTEMPTS: &str = "ROUTER_MAX_ATTEMPTS";

/// The default policy with `ROUTER_MAX_ATTEMPTS`'s value applied, if set.
pub fn policy_from_env_value(value: Option<&str>) -> Result<RetryPolicy, RouterError> {
    let mut policy = RetryPolicy::default();
    if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
        policy.max_attempts = v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=10).contains(n))
            .ok_or_else(|| {
                RouterError::Config(format!(
                    "{ENV_MAX_ATTEMPTS} must be a whole number from 1 to 10, got {v:?}"
                ))
            })?;
    }
    Ok(policy)
}

/// Whether a failure is Bedrock being overloaded or unreachable (worth another profile), not
/// something about the request: the workspace's one rule ([`BedrockErrorKind::is_retryable`]).
pub fn is_retryable(kind: BedrockErrorKind) -> bool {
    kind.is_retryable()
}

/// Round-robin starting points, shared by all requests of one function instance.
#[derive(Debug, Default)]
pub struct Rotation(AtomicUsize);

impl Rotation {
    /// The first profile to try out of `sites`.
    pub fn start(&self, sites: usize) -> usize {
        if sites <= 1 {
            return 0;
        }
        self.0.fetch_add(1, Ordering::Relaxed) % sites
    }
}

/// Runs one logical Bedrock call with failover: the policy and the instance-wide rotation.
#[derive(Debug, Default)]
pub struct AttemptRunner {
    pub policy: RetryPolicy,
    rotation: Rotation,
}

impl AttemptRunner {
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            rotation: Rotation::default(),
        }
    }

    /// The target's call sites in this request's order: round-robin start, then the rest.
    fn plan(&self, target: &Target) -> (Vec<CallSite>, usize) {
        let mut sites = if target.sites.is_empty() {
            vec![CallSite {
                model_id: target.call_id.clone(),
                region: target.region.clone(),
            }]
        } else {
            target.sites.clone()
        };
        let start = self.rotation.start(sites.len());
        sites.rotate_left(start);
        let attempts = self.policy.attempts_for(sites.len());
        (sites, attempts)
    }

    /// Calls `call` on the target's profiles in turn until one answers, a failure is not worth
    /// another profile, or attempts or time run out. `call` covers everything up to the point
    /// of no return (for a stream: its first event), so a stream is never re-sent once bytes
    /// could have reached the caller. The record learns every attempt and the profile used;
    /// the answer comes with the target as called.
    pub async fn run<T, F, Fut>(
        &self,
        target: &Target,
        deadline: Deadline,
        record: &mut RequestRecord,
        mut call: F,
    ) -> Result<(T, Target), RouterError>
    where
        F: FnMut(CallSite) -> Fut,
        Fut: Future<Output = Result<T, BedrockError>>,
    {
        let (sites, attempts) = self.plan(target);
        let mut attempt = 0;
        loop {
            let site = &sites[attempt % sites.len()];
            attempt += 1;
            let delay = self.policy.delay_before(attempt);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            record.attempts += 1;
            record.profile = Some(site.model_id.clone());
            record.region = Some(site.region.clone());
            match deadline.run(call(site.clone())).await {
                Ok(answer) => return Ok((answer, target.at(site))),
                Err(e) if self.may_retry(&e, attempt, attempts, deadline) => {
                    tracing::warn!(model = %target.friendly_id, call_id = %site.model_id, region = %site.region, kind = ?e.kind, attempt, "Bedrock overloaded or unreachable; trying the next profile");
                }
                Err(e) => return Err(target.at(site).error(e)),
            }
        }
    }

    /// Another attempt is made for an overload or outage, while attempts and time are left.
    fn may_retry(
        &self,
        e: &BedrockError,
        attempt: usize,
        attempts: usize,
        deadline: Deadline,
    ) -> bool {
        is_retryable(e.kind)
            && attempt < attempts
            && deadline.allows(self.policy.delay_before(attempt + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_overload_and_outage_errors_fail_over() {
        use BedrockErrorKind as K;
        for k in [
            K::Throttling,
            K::ModelNotReady,
            K::ServiceUnavailable,
            K::InternalServer,
            K::Transport,
        ] {
            assert!(is_retryable(k), "{k:?}");
        }
        for k in [
            K::Validation,
            K::AccessDenied,
            K::ResourceNotFound,
            K::ServiceQuotaExceeded,
            K::ModelTimeout,
            K::ModelError,
            K::ModelStreamError,
        ] {
            assert!(!is_retryable(k), "{k:?}");
        }
    }

    #[test]
    fn max_attempts_comes_from_the_environment_within_bounds() {
        assert_eq!(policy_from_env_value(Some("5")).unwrap().max_attempts, 5);
        assert_eq!(policy_from_env_value(None).unwrap().max_attempts, 3);
        for bad in ["0", "11", "x"] {
            assert!(policy_from_env_value(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn rotation_spreads_starting_points() {
        let r = Rotation::default();
        let starts: Vec<usize> = (0..4).map(|_| r.start(2)).collect();
        assert_eq!(starts, vec![0, 1, 0, 1]);
        assert_eq!(r.start(1), 0);
    }
}
