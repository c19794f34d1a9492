//! The router's configuration, read once at cold start: the profile map, the tenants, the prices
//! and the prompt-cache policy (from one read of the configuration document), and the router's
//! own environment variables. Any problem stops the start with a message that says what to fix.

use shared::config::ProfileConfig;
use shared::tenants::TenantsConfig;

use crate::attempt::{ENV_MAX_ATTEMPTS, RetryPolicy, policy_from_env_value};
use crate::auth::{AuthMode, ENV_AUTH_MODE};
use crate::error::RouterError;

/// Overrides the request-size limit (bytes); must stay below the Function URL's 6 MB cap.
pub const ENV_MAX_BODY: &str = "ROUTER_MAX_BODY_BYTES";
/// The guardrail put on every call of tenants that name none: `<ID or ARN>:<version>`.
pub const ENV_GUARDRAIL: &str = "ROUTER_GUARDRAIL";
/// A Secrets Manager secret (ARN or name) holding `{"<tenant>": ["<sha256 hex>", ...]}`.
pub const ENV_KEYS_SECRET: &str = "ROUTER_API_KEYS_SECRET_ARN";

/// Function URLs accept request payloads up to 6 MB; the router keeps a margin below that.
pub const DEFAULT_MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
/// The Function URL's request payload cap; a configured limit may not exceed it.
pub const FUNCTION_URL_MAX_BYTES: usize = 6 * 1024 * 1024;

/// Everything the router is configured with.
#[derive(Debug)]
pub struct RouterConfig {
    pub profiles: ProfileConfig,
    /// Tenants with their keys and models; keys from the secret are added after the read.
    pub tenants: TenantsConfig,
    pub auth_mode: AuthMode,
    pub max_body_bytes: usize,
    pub retry: RetryPolicy,
    /// The secret holding more key hashes, if any.
    pub keys_secret: Option<String>,
    /// The price table with the document's `prices:` over it.
    pub prices: shared::prices::PriceTable,
    /// The guardrail of every tenant without its own (`ROUTER_GUARDRAIL`).
    pub guardrail: Option<shared::guardrails::Guardrail>,
    /// Where cache checkpoints are placed for OpenAI-shaped callers (`promptCache:`).
    pub prompt_cache: shared::prompt_cache::PromptCachePolicy,
}

impl RouterConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, RouterError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `env` (the environment, or a map in tests).
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, RouterError> {
        let config_error = |e: &dyn std::fmt::Display| RouterError::Config(e.to_string());
        // One read of the document gives the profiles, the tenants and the prices.
        let shared::tenants::ProfileDocument {
            config: profiles,
            tenants,
            prices,
            prompt_cache,
        } = shared::tenants::load_with_tenants(&env).map_err(|e| config_error(&e))?;
        Ok(Self {
            auth_mode: AuthMode::parse(env(ENV_AUTH_MODE).as_deref())?,
            max_body_bytes: max_body_bytes(env(ENV_MAX_BODY).as_deref())?,
            retry: policy_from_env_value(env(ENV_MAX_ATTEMPTS).as_deref())?,
            keys_secret: env(ENV_KEYS_SECRET)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            guardrail: guardrail(env(ENV_GUARDRAIL).as_deref())?,
            profiles,
            tenants,
            prices,
            prompt_cache,
        })
    }
}

/// `ROUTER_GUARDRAIL`: `<guardrail ID or ARN>:<version>`, the form IAM's
/// `bedrock:GuardrailIdentifier` condition key takes, so the template passes one value to both.
pub fn guardrail(
    value: Option<&str>,
) -> Result<Option<shared::guardrails::Guardrail>, RouterError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let (id, version) = value.rsplit_once(':').ok_or_else(|| {
        RouterError::Config(format!(
            "{ENV_GUARDRAIL} must be `<guardrail ID or ARN>:<version>` (e.g. `arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123xyz789:1`), got `{value}`"
        ))
    })?;
    shared::guardrails::RawGuardrail {
        id: id.to_owned(),
        version: shared::guardrails::RawVersion::Text(version.to_owned()),
        trace: false,
    }
    .validate(id.to_owned())
    .map(Some)
    .map_err(|e| RouterError::Config(format!("{ENV_GUARDRAIL}: {e}")))
}

/// Reads the request-size limit from `ROUTER_MAX_BODY_BYTES`'s value, if set.
pub fn max_body_bytes(value: Option<&str>) -> Result<usize, RouterError> {
    let Some(v) = value else {
        return Ok(DEFAULT_MAX_BODY_BYTES);
    };
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=FUNCTION_URL_MAX_BYTES).contains(n))
        .ok_or_else(|| {
            RouterError::Config(format!(
                "{ENV_MAX_BODY} must be a byte count between 1 and {FUNCTION_URL_MAX_BYTES} (the Function URL cap), got {v:?}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn one_document_gives_profiles_tenants_and_settings() {
        let doc = "models: [amazon.nova-pro-v1:0]\ndefaultRegion: us-east-1\ntenants:\n  team-a:\n    models: [amazon.nova-pro-v1:0]\n";
        let config = RouterConfig::from_lookup(lookup(&[
            ("PROFILES_CONFIG", doc),
            (ENV_MAX_ATTEMPTS, "5"),
            (ENV_KEYS_SECRET, "  "),
        ]))
        .unwrap();
        assert_eq!(config.profiles.models.len(), 1);
        assert_eq!(config.tenants.tenants[0].name, "team-a");
        assert_eq!(config.retry.max_attempts, 5);
        assert_eq!(config.auth_mode, AuthMode::AwsIam);
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(config.keys_secret, None, "a blank secret name is no secret");
        assert_eq!(config.guardrail, None);
    }

    #[test]
    fn the_default_guardrail_takes_the_iam_condition_keys_form() {
        let g = guardrail(Some(
            "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123xyz789:7",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            (g.identifier.as_str(), g.version.as_str()),
            (
                "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123xyz789",
                "7"
            )
        );
        assert_eq!(
            guardrail(Some("abc:DRAFT")).unwrap().unwrap().version,
            "DRAFT"
        );
        assert_eq!(guardrail(Some(" ")).unwrap(), None);
    }

    #[test]
    fn each_bad_setting_is_a_startup_error_naming_it() {
        let doc = "models: [amazon.nova-pro-v1:0]\ndefaultRegion: us-east-1\n";
        for (key, value) in [
            (ENV_AUTH_MODE, "OPEN"),
            (ENV_MAX_BODY, "7000000"),
            (ENV_MAX_ATTEMPTS, "0"),
            (ENV_GUARDRAIL, "abc123"),
            (ENV_GUARDRAIL, "Bad-Id:1"),
            (ENV_GUARDRAIL, "abc123:0"),
        ] {
            let err = RouterConfig::from_lookup(lookup(&[("PROFILES_CONFIG", doc), (key, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
        assert!(RouterConfig::from_lookup(lookup(&[])).is_err());
    }

    #[test]
    fn the_body_limit_stays_within_the_function_url_cap() {
        assert_eq!(max_body_bytes(None).unwrap(), DEFAULT_MAX_BODY_BYTES);
        assert_eq!(max_body_bytes(Some("1024")).unwrap(), 1024);
        assert!(max_body_bytes(Some("0")).is_err());
        assert!(max_body_bytes(Some("6291457")).is_err());
    }
}
