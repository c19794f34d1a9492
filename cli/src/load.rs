//! The config, loaded as the functions load it at cold start: the document from
//! `PROFILES_CONFIG_FILE`, `${VAR}` from the environment, `AWS_REGION` as the last fallback
//! region (here `--region` when given), then the `tenants:` section over it, then the
//! verifier's plan (which regions hold logs).

use std::path::Path;

use serde::Serialize;
use shared::config::{
    ConfigError, ENV_AWS_REGION, ENV_CONFIG_FILE, ENV_CONFIG_INLINE, ProfileConfig,
};
use shared::tenants::{TenantError, TenantsConfig};

/// A loaded, validated config.
pub struct Loaded {
    pub config: ProfileConfig,
    pub tenants: TenantsConfig,
    /// The built-in price table with the document's `prices:` over it (what `scan` prices by).
    pub prices: shared::prices::PriceTable,
}

/// One problem with the config; the message names the setting and says how to fix it.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Which reader refused it: `config`, `tenants` or `verifier`.
    pub section: &'static str,
    pub message: String,
}

/// Why the config cannot be used.
pub enum LoadError {
    /// The file cannot be read at all.
    Unreadable(String),
    /// It was read and has problems.
    Invalid(Vec<Problem>),
}

/// The environment the functions would see, with the document at `path`.
fn environment(path: &Path, region: Option<&str>) -> impl Fn(&str) -> Option<String> {
    let path = path.to_string_lossy().into_owned();
    let region = region.map(str::to_owned);
    move |key: &str| match key {
        ENV_CONFIG_FILE => Some(path.clone()),
        ENV_CONFIG_INLINE => None,
        ENV_AWS_REGION if region.is_some() => region.clone(),
        _ => std::env::var(key).ok(),
    }
}

/// Loads and validates the config at `path`; `log_group` is the one the verifier would read.
pub fn load(path: &Path, region: Option<&str>, log_group: &str) -> Result<Loaded, LoadError> {
    let env = environment(path, region);
    let config = match ProfileConfig::from_env_with(&env) {
        Ok(c) => c,
        Err(ConfigError::ReadFile { source, .. }) => {
            return Err(LoadError::Unreadable(format!(
                "cannot read {}: {source}",
                path.display()
            )));
        }
        Err(e) => return Err(LoadError::Invalid(vec![problem("config", &e)])),
    };
    let mut problems = Vec::new();
    let tenants = match TenantsConfig::from_env_with(&env, &config) {
        Ok(t) => t,
        Err(e) => {
            problems.push(tenant_problem(&e));
            TenantsConfig::default()
        }
    };
    let prices = match shared::prices::PriceTable::from_env_with(&env) {
        Ok(p) => p,
        Err(e) => {
            problems.push(problem("prices", &e));
            shared::prices::PriceTable::built_in()
        }
    };
    // The router refuses to start with a bad `promptCache:`; the check reports it beside the rest.
    let served = tenants.served_models(&config);
    if let Err(e) = shared::config::read_source(&env)
        .map_err(|e| e.to_string())
        .and_then(|text| shared::prompt_cache::PromptCachePolicy::parse(&text, &served))
    {
        problems.push(problem("promptCache", &e));
    }
    // The verifier refuses to start without a region to read; that is a config problem too.
    if let Err(e) = check_plan(&config, log_group) {
        problems.push(Problem {
            section: "verifier",
            message: e,
        });
    }
    if problems.is_empty() {
        Ok(Loaded {
            config,
            tenants,
            prices,
        })
    } else {
        Err(LoadError::Invalid(problems))
    }
}

fn problem(section: &'static str, e: &dyn std::fmt::Display) -> Problem {
    Problem {
        section,
        message: e.to_string(),
    }
}

fn tenant_problem(e: &TenantError) -> Problem {
    problem("tenants", e)
}

/// The verifier's refusal to start (no region to read), as a message.
fn check_plan(config: &shared::config::ProfileConfig, log_group: &str) -> Result<(), String> {
    verifier::plan::plan(config, log_group)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
