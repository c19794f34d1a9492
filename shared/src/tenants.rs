//! Tenants: teams served by one router, each billed through its own profiles.
//!
//! The tenants live in the same document as the profile configuration, under a product-only
//! top-level `tenants:` key that LibreChat ignores (in a `librechat.yaml` it sits next to
//! `endpoints:`). Each tenant names how its callers are recognised and, optionally, its own
//! models and profiles:
//!
//! ```yaml
//! tenants:
//!   team-a:
//!     apiKeys:                      # SHA-256 of each key, hex; two at once while rotating
//!       - 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//!     principals:                   # IAM callers (Function URL auth AWS_IAM)
//!       - arn:aws:iam::123456789012:user/alice
//!       - arn:aws:sts::123456789012:assumed-role/TeamA/*
//!     models: [claude]              # optional: what the tenant may use (default: the shared models)
//!     inferenceProfiles:            # optional: its own profiles (default: the shared mapping)
//!       claude: ${TEAM_A_CLAUDE_ARN}
//!     additionalInferenceProfiles:  # optional: more profiles for failover / load spreading
//!       claude: [${TEAM_A_CLAUDE_WEST_ARN}]
//!     defaultRegion: us-east-1      # optional
//!     allowedInferenceRegions: [us-east-1, us-west-2]   # optional, narrows the shared list
//!     budget: {monthlyUsd: 500, alertAt: [50, 80, 100], enforce: true}   # optional, see crate::spend
//!     rateLimits: {requestsPerMinute: 60, tokensPerMinute: 200000}      # optional
//! ```
//!
//! A tenant's effective config is the shared one with the tenant's settings layered on top: its
//! `models` (when given) replace the shared list, a model the tenant does not map keeps the
//! shared mapping (and the shared extra profiles), a model it maps gets only the tenant's
//! profiles, and the inference allow-list is the intersection of both. The result is validated
//! like the shared config, so every error (unknown model key, unset `${VAR}`, bad ARN, ...) is
//! reported with the tenant's name.
//!
//! Key hashes may also come from a JSON secret (`{"team-a": ["<hash>", ...]}`), merged with
//! [`TenantsConfig::add_secret_keys`]. The verifier classifies everyone's traffic with
//! [`TenantsConfig::classification_map`].

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::{ConfigError, Entries, Pools, ProfileConfig, expand};
use crate::profile_map::ProfileMap;

/// The tenant that callers matching no configured tenant are served as (the shared map).
pub const DEFAULT_TENANT: &str = "default";

/// Longest tenant name: names are metric dimension values and `requestMetadata` values.
pub const MAX_TENANT_NAME_LEN: usize = 64;

/// Why the tenants cannot be used. Every message names the tenant and the setting.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The document or secret is not valid, or a key has the wrong type or is unknown.
    #[error("{what} is not valid: {message}")]
    Syntax {
        /// `tenants configuration` or `API key secret`.
        what: &'static str,
        /// The parser's message.
        message: String,
    },
    /// A tenant name that cannot be used.
    #[error(
        "tenant name `{name}` is not usable: {reason}; use 1 to {MAX_TENANT_NAME_LEN} letters, digits, `-`, `_` or `.`"
    )]
    InvalidName {
        /// The name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A stored key hash that is not a SHA-256 hex digest.
    #[error(
        "tenant `{tenant}`: {field} entry #{index} is not a SHA-256 hash: {reason}; store the hex digest of the key (e.g. `printf %s \"$KEY\" | sha256sum | cut -d' ' -f1`), never the key itself"
    )]
    InvalidKeyHash {
        /// The tenant.
        tenant: String,
        /// `apiKeys`, or where in the secret.
        field: &'static str,
        /// 1-based position.
        index: usize,
        /// What is wrong (length or character; the value itself is not repeated).
        reason: String,
    },
    /// The same key hash configured twice.
    #[error(
        "one API key hash is configured for tenant `{first}` and again for tenant `{second}`; a key must identify exactly one tenant, so remove one of them"
    )]
    DuplicateKeyHash {
        /// Where it was seen first.
        first: String,
        /// Where it was seen again.
        second: String,
    },
    /// A principal that is not an IAM ARN or uses `*` where it cannot be matched.
    #[error("tenant `{tenant}`: principal `{principal}` {reason}")]
    InvalidPrincipal {
        /// The tenant.
        tenant: String,
        /// The principal as written.
        principal: String,
        /// What is wrong and the accepted forms.
        reason: &'static str,
    },
    /// A principal listed under two tenants (or twice).
    #[error(
        "principal `{principal}` is listed for tenant `{first}` and again for tenant `{second}`; a caller must map to exactly one tenant"
    )]
    DuplicatePrincipal {
        /// The principal.
        principal: String,
        /// First tenant.
        first: String,
        /// Second tenant.
        second: String,
    },
    /// A tenant's models or profiles are invalid.
    #[error("tenant `{tenant}`: {source}")]
    Profiles {
        /// The tenant.
        tenant: String,
        /// What the profile validation found (names the model, key or variable).
        source: ConfigError,
    },
    /// The secret names a tenant the configuration does not have.
    #[error(
        "the API key secret has keys for tenant `{tenant}`, which is not configured under `tenants`; add `{tenant}: {{}}` there (it then uses the shared models) or fix the name{}",
        match suggestion { Some(s) => format!(" (did you mean `{s}`?)"), None => String::new() }
    )]
    UnknownSecretTenant {
        /// The name in the secret.
        tenant: String,
        /// The configured tenant it most likely meant.
        suggestion: Option<String>,
    },
    /// The document could not be read.
    #[error(transparent)]
    Source(ConfigError),
}

/// A SHA-256 digest of an API key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyHash(pub [u8; 32]);

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Digests identify keys; they are not printed in full.
        write!(f, "KeyHash({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

impl KeyHash {
    /// The SHA-256 of an API key, as the router compares it and `apiKeys` stores it.
    pub fn of(key: &str) -> Self {
        use sha2::Digest as _;
        Self(sha2::Sha256::digest(key.as_bytes()).into())
    }

    /// The 64 lowercase hex characters `apiKeys` takes.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 64 hex characters (either case), optionally prefixed `sha256:`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let hex = text.trim();
        let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
        if hex.len() != 64 {
            return Err(format!("expected 64 hex characters, got {}", hex.len()));
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            let nibble = |b: u8| (b as char).to_digit(16);
            match (nibble(pair[0]), nibble(pair[1])) {
                (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
                _ => {
                    return Err(format!(
                        "character {} is not a hex digit",
                        if nibble(pair[0]).is_none() {
                            2 * i + 1
                        } else {
                            2 * i + 2
                        }
                    ));
                }
            }
        }
        Ok(Self(out))
    }
}

/// An IAM caller pattern: an exact ARN, or every session of an assumed role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Matches this ARN exactly (`arn:aws:iam::123456789012:user/alice`,
    /// `arn:aws:sts::123456789012:assumed-role/TeamA/session-1`).
    Exact(String),
    /// `arn:aws:sts::<account>:assumed-role/<role>/*`: any session of the role. Holds the
    /// prefix up to and including the last `/`.
    RoleSessions(String),
}

impl Principal {
    /// Parses one `principals` entry.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || !parts[1].starts_with("aws") {
            return Err(
                "is not an IAM ARN; write `arn:aws:iam::<account>:user/<name>`, `arn:aws:iam::<account>:role/<name>` or `arn:aws:sts::<account>:assumed-role/<role>/<session or *>`",
            );
        }
        if !matches!(parts[2], "iam" | "sts") {
            return Err("names a service other than `iam` or `sts`; callers are IAM identities");
        }
        if parts[4].len() != 12 || !parts[4].bytes().all(|b| b.is_ascii_digit()) {
            return Err("has no 12-digit account ID");
        }
        let resource = parts[5];
        if resource.is_empty() {
            return Err("has no resource (user, role or assumed-role)");
        }
        if !resource.contains('*') {
            return Ok(Self::Exact(text.to_owned()));
        }
        let is_session_wildcard = parts[2] == "sts"
            && resource.starts_with("assumed-role/")
            && resource.ends_with("/*")
            && resource.matches('*').count() == 1
            && resource.split('/').count() == 3
            && resource.split('/').nth(1).is_some_and(|r| !r.is_empty());
        if is_session_wildcard {
            Ok(Self::RoleSessions(text[..text.len() - 1].to_owned()))
        } else {
            Err(
                "uses `*` where it cannot be matched; `*` is allowed only as the whole session name of an assumed role: `arn:aws:sts::<account>:assumed-role/<role>/*`",
            )
        }
    }

    /// Whether the caller ARN `arn` (the Function URL's `userArn`) matches.
    pub fn matches(&self, arn: &str) -> bool {
        match self {
            Self::Exact(p) => p == arn,
            Self::RoleSessions(prefix) => arn
                .strip_prefix(prefix.as_str())
                .is_some_and(|session| !session.is_empty() && !session.contains('/')),
        }
    }

    fn as_text(&self) -> String {
        match self {
            Self::Exact(p) => p.clone(),
            Self::RoleSessions(prefix) => format!("{prefix}*"),
        }
    }
}

/// One tenant, validated.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Its name (metric dimension, `requestMetadata` `tenant`).
    pub name: String,
    /// Hashes of the API keys that identify it.
    pub api_keys: Vec<KeyHash>,
    /// IAM callers that identify it.
    pub principals: Vec<Principal>,
    /// Its effective profile configuration (the shared one with its settings on top).
    pub profiles: ProfileConfig,
    /// Its monthly budget (`budget:`), when it has one.
    pub budget: Option<crate::spend::Budget>,
    /// Its per-minute limits (`rateLimits:`), when it has them.
    pub rate_limits: Option<crate::spend::RateLimits>,
    /// The Bedrock guardrail attached to every call it makes (`guardrail:`), when it has one.
    pub guardrail: Option<crate::guardrails::Guardrail>,
    /// Its say on prompt caching for OpenAI-shaped callers (`promptCache:`).
    pub prompt_cache: crate::prompt_cache::Setting,
}

/// Every configured tenant, in document order.
#[derive(Debug, Clone, Default)]
pub struct TenantsConfig {
    /// The tenants.
    pub tenants: Vec<Tenant>,
}

#[derive(Debug, Deserialize)]
struct RawDocument {
    tenants: Option<TenantEntries>,
}

/// Tenants in document order (duplicates are reported by the YAML/JSON parser or here).
#[derive(Debug, Default)]
struct TenantEntries(Vec<(String, RawTenant)>);

impl<'de> Deserialize<'de> for TenantEntries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TenantEntries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of tenant name to its settings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<TenantEntries, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Option<RawTenant>>()? {
                    out.push((k, v.unwrap_or_default()));
                }
                Ok(TenantEntries(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawTenant {
    #[serde(default)]
    api_keys: Vec<String>,
    #[serde(default)]
    principals: Vec<String>,
    models: Option<Vec<String>>,
    inference_profiles: Option<Entries>,
    additional_inference_profiles: Option<Pools>,
    default_region: Option<String>,
    allowed_inference_regions: Option<Vec<String>>,
    budget: Option<crate::spend::RawBudget>,
    rate_limits: Option<crate::spend::RawRateLimits>,
    model_aliases: Option<Entries>,
    guardrail: Option<crate::guardrails::RawGuardrail>,
    prompt_cache: Option<serde_json::Value>,
}

fn check_name(name: &str) -> Result<(), TenantError> {
    let invalid = |reason| TenantError::InvalidName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() || name.len() > MAX_TENANT_NAME_LEN {
        return Err(invalid("its length is out of range"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(invalid("it contains other characters"));
    }
    if name == DEFAULT_TENANT {
        return Err(invalid(
            "`default` is reserved for callers that match no tenant (they get the shared models)",
        ));
    }
    Ok(())
}

/// Why [`load_with_tenants`] could not load the configuration.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The shared profile configuration is unusable.
    #[error("profile config: {0}")]
    Profiles(#[from] ConfigError),
    /// The `tenants:` section is unusable.
    #[error("tenants config: {0}")]
    Tenants(#[from] TenantError),
    /// The `prices:` section is unusable.
    #[error("prices config: {0}")]
    Prices(#[from] crate::prices::PriceError),
    /// The `promptCache:` section is unusable.
    #[error("prompt cache config: {0}")]
    PromptCache(String),
}

/// Everything one profile document holds, read once.
#[derive(Debug, Clone)]
pub struct ProfileDocument {
    /// The shared profile configuration (LibreChat's `endpoints.bedrock` keys).
    pub config: ProfileConfig,
    /// `tenants:`.
    pub tenants: TenantsConfig,
    /// The built-in price table with `prices:` over it.
    pub prices: crate::prices::PriceTable,
    /// `promptCache:`: where the router caches prompts for OpenAI-shaped callers.
    pub prompt_cache: crate::prompt_cache::PromptCachePolicy,
}

/// Reads the profile document once (from `PROFILES_CONFIG_FILE` / `PROFILES_CONFIG` in `env`)
/// and returns its shared configuration, its tenants and its prices: one read per cold start,
/// so they can never come from different versions of the file. (It lives here, not in
/// [`crate::config`], because tenants build on the config and not the other way round.)
pub fn load_with_tenants(
    env: impl Fn(&str) -> Option<String>,
) -> Result<ProfileDocument, LoadError> {
    let text = crate::config::read_source(&env)?;
    let config = ProfileConfig::parse(&text, &env)?;
    let tenants = TenantsConfig::parse(&text, &config, &env)?;
    let prices = crate::prices::PriceTable::parse(&text, &env)?;
    let prompt_cache =
        crate::prompt_cache::PromptCachePolicy::parse(&text, &tenants.served_models(&config))
            .map_err(LoadError::PromptCache)?;
    Ok(ProfileDocument {
        config,
        tenants,
        prices,
        prompt_cache,
    })
}

impl TenantsConfig {
    /// Every friendly ID served to anyone: the shared `models` and each tenant's own.
    pub fn served_models(&self, base: &ProfileConfig) -> Vec<String> {
        let mut served = base.models.clone();
        for model in self.tenants.iter().flat_map(|t| &t.profiles.models) {
            if !served.contains(model) {
                served.push(model.clone());
            }
        }
        served
    }

    /// Reads the `tenants:` section of the profile document named by `PROFILES_CONFIG_FILE` /
    /// `PROFILES_CONFIG`, layered over `base` (that document's shared config).
    pub fn from_env_with(
        env: impl Fn(&str) -> Option<String>,
        base: &ProfileConfig,
    ) -> Result<Self, TenantError> {
        let text = crate::config::read_source(&env).map_err(TenantError::Source)?;
        Self::parse(&text, base, env)
    }

    /// Parses the `tenants:` section of `text` (YAML, or JSON when it starts with `{`). A
    /// document without one has no tenants.
    pub fn parse(
        text: &str,
        base: &ProfileConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, TenantError> {
        let syntax = |message: String| TenantError::Syntax {
            what: "tenants configuration",
            message,
        };
        let doc: RawDocument = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| syntax(e.to_string()))?
        } else {
            let mut opts = serde_saphyr::Options::default();
            opts.with_snippet = false;
            serde_saphyr::from_str_with_options(text, opts).map_err(|e| syntax(e.to_string()))?
        };
        let mut out = Self::default();
        for (name, raw) in doc.tenants.unwrap_or_default().0 {
            check_name(&name)?;
            if out.tenants.iter().any(|t| t.name == name) {
                return Err(syntax(format!(
                    "tenant `{name}` is defined twice; merge the two entries"
                )));
            }
            let tenant = Self::tenant(name, raw, base, &env)?;
            out.push_checked(tenant)?;
        }
        Ok(out)
    }

    fn tenant(
        name: String,
        raw: RawTenant,
        base: &ProfileConfig,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Tenant, TenantError> {
        let profiles_err = |source| TenantError::Profiles {
            tenant: name.clone(),
            source,
        };
        let mut api_keys = Vec::with_capacity(raw.api_keys.len());
        for (i, k) in raw.api_keys.iter().enumerate() {
            let k = expand(k, env, "apiKeys", None).map_err(profiles_err)?;
            api_keys.push(
                KeyHash::parse(&k).map_err(|reason| TenantError::InvalidKeyHash {
                    tenant: name.clone(),
                    field: "apiKeys",
                    index: i + 1,
                    reason,
                })?,
            );
        }
        let mut principals = Vec::with_capacity(raw.principals.len());
        for p in &raw.principals {
            let p = expand(p, env, "principals", None).map_err(profiles_err)?;
            principals.push(Principal::parse(&p).map_err(|reason| {
                TenantError::InvalidPrincipal {
                    tenant: name.clone(),
                    principal: p.clone(),
                    reason,
                }
            })?);
        }
        let profiles = Self::effective(&raw, base, env).map_err(profiles_err)?;
        let setting_err = |message: String| TenantError::Syntax {
            what: "tenants configuration",
            message: format!("tenant `{name}`: {message}"),
        };
        let budget = raw
            .budget
            .map(|b| b.validate())
            .transpose()
            .map_err(setting_err)?;
        let rate_limits = raw
            .rate_limits
            .map(|r| r.validate())
            .transpose()
            .map_err(setting_err)?;
        let guardrail = match raw.guardrail {
            None => None,
            Some(g) => {
                let id = expand(&g.id, env, "guardrail.id", None).map_err(profiles_err)?;
                Some(g.validate(id).map_err(setting_err)?)
            }
        };
        let prompt_cache = match &raw.prompt_cache {
            None => crate::prompt_cache::Setting::default(),
            Some(v) => {
                crate::prompt_cache::Setting::from_value(v, "promptCache").map_err(setting_err)?
            }
        };
        Ok(Tenant {
            name,
            api_keys,
            principals,
            profiles,
            budget,
            rate_limits,
            guardrail,
            prompt_cache,
        })
    }

    /// The tenant's settings over `base`, validated as one profile config.
    fn effective(
        raw: &RawTenant,
        base: &ProfileConfig,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<ProfileConfig, ConfigError> {
        let models = raw.models.clone().unwrap_or_else(|| base.models.clone());
        let own = raw
            .inference_profiles
            .as_ref()
            .map_or(&[][..], |e| &e.0[..]);
        let mut keys = HashSet::new();
        for (k, _) in own {
            if !keys.insert(k.as_str()) {
                return Err(ConfigError::DuplicateProfileKey { model: k.clone() });
            }
        }
        let mut profiles = Map::new();
        for (k, v) in own {
            profiles.insert(k.clone(), Value::String(v.clone()));
        }
        let own_pools = raw
            .additional_inference_profiles
            .as_ref()
            .map_or(&[][..], |p| &p.0[..]);
        let mut pools = Map::new();
        for (k, v) in own_pools {
            if pools.contains_key(k) {
                return Err(ConfigError::DuplicateProfileKey { model: k.clone() });
            }
            pools.insert(k.clone(), Value::from(v.clone()));
        }
        // Models the tenant does not map keep the shared mapping and the shared extra profiles.
        for m in &models {
            if keys.contains(m.as_str()) {
                continue;
            }
            if let Some(target) = base.profile_for(m) {
                profiles.insert(m.clone(), Value::String(target.to_string()));
                let pool = base.additional_profiles_for(m);
                if !pool.is_empty() && !pools.contains_key(m) {
                    pools.insert(
                        m.clone(),
                        Value::from(pool.iter().map(ToString::to_string).collect::<Vec<_>>()),
                    );
                }
            }
        }
        // The tenant's own aliases, then the shared ones for models it also serves.
        let mut aliases = Map::new();
        for (k, v) in raw.model_aliases.as_ref().map_or(&[][..], |e| &e.0[..]) {
            if aliases.contains_key(k) {
                return Err(ConfigError::Alias(
                    crate::model_names::AliasError::Duplicate { pattern: k.clone() },
                ));
            }
            aliases.insert(k.clone(), Value::String(v.clone()));
        }
        for alias in &base.model_aliases.0 {
            if models.contains(&alias.target) && !aliases.contains_key(&alias.pattern) {
                aliases.insert(alias.pattern.clone(), Value::String(alias.target.clone()));
            }
        }
        let mut doc = Map::new();
        doc.insert("modelAliases".into(), Value::Object(aliases));
        doc.insert("models".into(), Value::from(models));
        doc.insert("inferenceProfiles".into(), Value::Object(profiles));
        doc.insert("additionalInferenceProfiles".into(), Value::Object(pools));
        if let Some(r) = raw
            .default_region
            .clone()
            .or_else(|| base.default_region.clone())
        {
            doc.insert("defaultRegion".into(), Value::String(r));
        }
        if let Some(r) = &raw.allowed_inference_regions {
            doc.insert("allowedInferenceRegions".into(), Value::from(r.clone()));
        }
        let text = Value::Object(doc).to_string();
        let mut config = ProfileConfig::parse(&text, |k| env(k))?;
        config.available_regions = base.available_regions.clone();
        config.layout = base.layout;
        // A tenant may narrow the shared compliance boundary, never widen it.
        config.allowed_inference_regions = match (
            &base.allowed_inference_regions,
            config.allowed_inference_regions.take(),
        ) {
            (Some(b), Some(o)) => Some(b.iter().filter(|r| o.contains(r)).cloned().collect()),
            (b, o) => o.or_else(|| b.clone()),
        };
        Ok(config)
    }

    /// Adds a tenant after checking its keys and principals are not someone else's.
    fn push_checked(&mut self, tenant: Tenant) -> Result<(), TenantError> {
        for (i, h) in tenant.api_keys.iter().enumerate() {
            let earlier = self
                .tenants
                .iter()
                .find(|t| t.api_keys.contains(h))
                .map(|t| t.name.clone())
                .or_else(|| {
                    tenant.api_keys[..i]
                        .contains(h)
                        .then(|| tenant.name.clone())
                });
            if let Some(first) = earlier {
                return Err(TenantError::DuplicateKeyHash {
                    first,
                    second: tenant.name.clone(),
                });
            }
        }
        for (i, p) in tenant.principals.iter().enumerate() {
            let earlier = self
                .tenants
                .iter()
                .find(|t| t.principals.contains(p))
                .map(|t| t.name.clone())
                .or_else(|| {
                    tenant.principals[..i]
                        .contains(p)
                        .then(|| tenant.name.clone())
                });
            if let Some(first) = earlier {
                return Err(TenantError::DuplicatePrincipal {
                    principal: p.as_text(),
                    first,
                    second: tenant.name.clone(),
                });
            }
        }
        self.tenants.push(tenant);
        Ok(())
    }

    /// Merges key hashes from a JSON secret `{"<tenant>": ["<sha256 hex>", ...]}` (read once
    /// at cold start). Every tenant named must be configured; the same checks as for
    /// `apiKeys` apply (format, no hash twice).
    pub fn add_secret_keys(&mut self, secret: &str) -> Result<(), TenantError> {
        let parsed: Vec<(String, Vec<String>)> = serde_json::from_str::<Pools>(secret)
            .map(|p| p.0)
            .map_err(|e| TenantError::Syntax {
                what: "API key secret",
                message: format!(
                    "{e}; expected a JSON object of tenant name to a list of SHA-256 hex digests"
                ),
            })?;
        for (name, hashes) in parsed {
            let Some(pos) = self.tenants.iter().position(|t| t.name == name) else {
                let names: Vec<String> = self.tenants.iter().map(|t| t.name.clone()).collect();
                return Err(TenantError::UnknownSecretTenant {
                    suggestion: crate::model_names::suggest(&name, &names),
                    tenant: name,
                });
            };
            for (i, h) in hashes.iter().enumerate() {
                let hash = KeyHash::parse(h).map_err(|reason| TenantError::InvalidKeyHash {
                    tenant: name.clone(),
                    field: "the secret's list",
                    index: i + 1,
                    reason,
                })?;
                if let Some(first) = self.tenants.iter().find(|t| t.api_keys.contains(&hash)) {
                    return Err(TenantError::DuplicateKeyHash {
                        first: first.name.clone(),
                        second: name,
                    });
                }
                self.tenants[pos].api_keys.push(hash);
            }
        }
        Ok(())
    }

    /// How many API key hashes are configured in all.
    pub fn key_count(&self) -> usize {
        self.tenants.iter().map(|t| t.api_keys.len()).sum()
    }

    /// The tenant whose principals match the caller ARN `arn`: an exact ARN wins over a
    /// role-session pattern; `None` when no tenant lists it.
    pub fn by_principal(&self, arn: &str) -> Option<&Tenant> {
        let exact = self.tenants.iter().find(|t| {
            t.principals
                .iter()
                .any(|p| matches!(p, Principal::Exact(_)) && p.matches(arn))
        });
        exact.or_else(|| {
            self.tenants
                .iter()
                .find(|t| t.principals.iter().any(|p| p.matches(arn)))
        })
    }

    /// The map for classifying invocation logs of everyone served from this document: the
    /// shared map, plus every tenant's models and profiles (so a tenant's profile ARN counts
    /// as `profiled`, and a raw call to a model a tenant routes through a profile as a
    /// mapping miss).
    pub fn classification_map(&self, base: &ProfileConfig) -> ProfileMap {
        ProfileMap::union(base, self.tenants.iter().map(|t| &t.profiles))
    }

    /// The tenant's routing map.
    pub fn profile_map(tenant: &Tenant) -> ProfileMap {
        ProfileMap::new(&tenant.profiles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation_log::{PrimaryClass, classify};

    const SHARED_ARN: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/shared000001";
    const A_ARN: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/teama0000001";
    const A_WEST: &str =
        "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/teamawest001";
    const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    const NOVA: &str = "amazon.nova-pro-v1:0";
    const H1: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const H2: &str = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

    fn base() -> ProfileConfig {
        let doc = format!(
            "models: [\"{SONNET}\", \"{NOVA}\"]\ninferenceProfiles:\n  \"{SONNET}\": \"{SHARED_ARN}\"\nallowedInferenceRegions: [us-east-1, us-east-2]\ndefaultRegion: us-east-1\n"
        );
        ProfileConfig::parse(&doc, |_| None).unwrap()
    }

    fn parse(tenants: &str) -> Result<TenantsConfig, TenantError> {
        parse_env(tenants, |_| None)
    }

    fn parse_env(
        tenants: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<TenantsConfig, TenantError> {
        TenantsConfig::parse(&format!("tenants:\n{tenants}"), &base(), env)
    }

    #[test]
    fn one_load_gives_the_config_and_its_tenants() {
        let doc = format!(
            "models: [\"{SONNET}\"]\ninferenceProfiles:\n  \"{SONNET}\": \"{SHARED_ARN}\"\ntenants:\n  team-a:\n    apiKeys: [\"{H1}\"]\n"
        );
        let reads = std::cell::Cell::new(0);
        let env = |k: &str| {
            (k == "PROFILES_CONFIG").then(|| {
                reads.set(reads.get() + 1);
                doc.clone()
            })
        };
        let ProfileDocument {
            config, tenants, ..
        } = load_with_tenants(env).unwrap();
        assert_eq!(reads.get(), 1);
        assert_eq!(config.models, vec![SONNET.to_owned()]);
        assert_eq!(tenants.tenants[0].name, "team-a");
        let err = load_with_tenants(|k| (k == "PROFILES_CONFIG").then(|| "tenants: 3".to_owned()))
            .unwrap_err();
        assert!(
            err.to_string().starts_with("profile config: ")
                || err.to_string().starts_with("tenants config: "),
            "{err}"
        );
        assert!(
            load_with_tenants(|_| None)
                .unwrap_err()
                .to_string()
                .starts_with("profile config: ")
        );
    }

    #[test]
    fn a_document_without_tenants_has_none() {
        let t = TenantsConfig::parse("models: [x]", &base(), |_| None).unwrap();
        assert!(t.tenants.is_empty());
        assert_eq!(t.key_count(), 0);
    }

    #[test]
    fn a_tenant_maps_its_own_profile_and_keeps_the_shared_ones() {
        let t = parse_env(
            &format!(
                "  team-a:\n    apiKeys: [\"{H1}\", \"sha256:{H2}\"]\n    inferenceProfiles:\n      \"{SONNET}\": ${{A}}\n    additionalInferenceProfiles:\n      \"{SONNET}\": [\"{A_WEST}\"]\n    allowedInferenceRegions: [us-east-2, us-west-2]\n"
            ),
            |k| (k == "A").then(|| A_ARN.to_owned()),
        )
        .unwrap();
        let a = &t.tenants[0];
        assert_eq!(a.api_keys.len(), 2);
        let map = TenantsConfig::profile_map(a);
        let sites = map.call_sites(SONNET);
        assert_eq!(sites[0].call_id, A_ARN);
        assert_eq!(sites[1].call_id, A_WEST);
        assert_eq!(sites[1].region, "us-west-2");
        assert_eq!(map.resolve(NOVA).unwrap().call_id, NOVA);
        assert_eq!(
            map.allowed_inference_regions(),
            Some(&["us-east-2".to_owned()][..])
        );
    }

    #[test]
    fn a_tenant_may_have_a_budget_and_rate_limits_validated_at_start() {
        let t = parse(
            "  team-a:\n    budget: {monthlyUsd: 500, alertAt: [100, 50, 80]}\n    rateLimits: {requestsPerMinute: 60}\n  team-b: {}\n",
        )
        .unwrap();
        let budget = t.tenants[0].budget.clone().unwrap();
        assert_eq!(budget.monthly_pico_usd, 500 * crate::prices::PICO_PER_USD);
        assert_eq!(budget.alert_at, vec![50, 80, 100]);
        assert!(
            budget.enforce,
            "a budget is enforced unless it says otherwise"
        );
        assert_eq!(
            t.tenants[0].rate_limits.unwrap().requests_per_minute,
            Some(60)
        );
        assert!(t.tenants[1].budget.is_none() && t.tenants[1].rate_limits.is_none());
        let e = parse("  team-a:\n    budget: {monthlyUsd: -3}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("team-a") && e.contains("monthlyUsd"), "{e}");
        let e = parse("  team-a:\n    budget: {monthlyUsd: 5, limit: 3}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("limit"), "{e}");
    }

    #[test]
    fn a_tenant_may_name_a_guardrail_checked_at_start() {
        let t = parse(
            "  team-a:\n    guardrail: {id: abc123xyz789, version: 2, trace: true}\n  team-b: {}\n",
        )
        .unwrap();
        let g = t.tenants[0].guardrail.clone().unwrap();
        assert_eq!(
            (g.identifier.as_str(), g.version.as_str(), g.trace),
            ("abc123xyz789", "2", true)
        );
        assert!(t.tenants[1].guardrail.is_none());
        for (bad, words) in [
            ("{id: Not-An-Id, version: 1}", ["team-a", "guardrail.id"]),
            ("{id: abc, version: draft}", ["team-a", "guardrail.version"]),
            (
                "{id: abc, version: 1, mode: x}",
                ["mode", "expected one of id, version, trace"],
            ),
        ] {
            let e = parse(&format!("  team-a:\n    guardrail: {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(words.iter().all(|w| e.contains(w)), "{bad}: {e}");
        }
    }

    #[test]
    fn a_tenants_models_restrict_what_it_may_use() {
        let t = parse(&format!("  team-b:\n    models: [\"{NOVA}\"]\n")).unwrap();
        let map = TenantsConfig::profile_map(&t.tenants[0]);
        assert_eq!(map.models(), &[NOVA.to_owned()]);
        assert!(map.resolve(SONNET).is_err());
    }

    #[test]
    fn an_empty_tenant_uses_the_shared_map() {
        let t = parse("  team-c:\n").unwrap();
        let map = TenantsConfig::profile_map(&t.tenants[0]);
        assert_eq!(map.resolve(SONNET).unwrap().call_id, SHARED_ARN);
    }

    #[test]
    fn an_unknown_model_key_names_the_tenant() {
        let err = parse(&format!(
            "  team-a:\n    inferenceProfiles:\n      claude: \"{A_ARN}\"\n"
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("tenant `team-a`: inferenceProfiles key `claude` is not in `models`"),
            "{err}"
        );
    }

    #[test]
    fn an_unset_variable_names_the_tenant_and_the_variable() {
        let err = parse(&format!(
            "  team-a:\n    inferenceProfiles:\n      \"{SONNET}\": ${{TEAM_A_ARN}}\n"
        ))
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("tenant `team-a`:"), "{msg}");
        assert!(msg.contains("variable `TEAM_A_ARN` is unset"), "{msg}");
    }

    #[test]
    fn a_short_or_non_hex_hash_is_refused_without_echoing_it() {
        let err = parse("  team-a:\n    apiKeys: [abc123]\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(
                "apiKeys entry #1 is not a SHA-256 hash: expected 64 hex characters, got 6"
            ),
            "{msg}"
        );
        assert!(!msg.contains("abc123"));
        let bad = format!("{}zz", &H1[..62]);
        let err = parse(&format!("  team-a:\n    apiKeys: [{bad}]\n")).unwrap_err();
        assert!(
            err.to_string().contains("character 63 is not a hex digit"),
            "{err}"
        );
    }

    #[test]
    fn the_same_hash_for_two_tenants_is_refused() {
        let err = parse(&format!(
            "  team-a:\n    apiKeys: [\"{H1}\"]\n  team-b:\n    apiKeys: [\"{}\"]\n",
            H1.to_uppercase()
        ))
        .unwrap_err();
        assert!(
            matches!(&err, TenantError::DuplicateKeyHash { first, second } if first == "team-a" && second == "team-b"),
            "{err}"
        );
    }

    #[test]
    fn a_misspelled_setting_is_a_syntax_error_naming_it() {
        let err = parse("  team-a:\n    apiKey: [x]\n").unwrap_err();
        assert!(err.to_string().contains("apiKey"), "{err}");
    }

    #[test]
    fn reserved_and_odd_tenant_names_are_refused() {
        assert!(
            parse("  default: {}\n")
                .unwrap_err()
                .to_string()
                .contains("reserved")
        );
        assert!(
            parse("  \"team a\": {}\n")
                .unwrap_err()
                .to_string()
                .contains("other characters")
        );
    }

    #[test]
    fn principals_match_exactly_or_by_role_session() {
        let t = parse(
            "  team-a:\n    principals: [\"arn:aws:sts::123456789012:assumed-role/TeamA/*\"]\n  alice:\n    principals: [\"arn:aws:sts::123456789012:assumed-role/TeamA/alice\"]\n",
        )
        .unwrap();
        let name = |arn| t.by_principal(arn).map(|t| t.name.as_str());
        assert_eq!(
            name("arn:aws:sts::123456789012:assumed-role/TeamA/bob"),
            Some("team-a")
        );
        assert_eq!(
            name("arn:aws:sts::123456789012:assumed-role/TeamA/alice"),
            Some("alice")
        );
        assert_eq!(
            name("arn:aws:sts::123456789012:assumed-role/TeamAB/bob"),
            None
        );
        assert_eq!(name("arn:aws:sts::123456789012:assumed-role/TeamA/"), None);
        assert_eq!(
            name("arn:aws:sts::999999999999:assumed-role/TeamA/bob"),
            None
        );
    }

    #[test]
    fn wildcards_other_than_a_role_session_are_refused() {
        for bad in [
            "arn:aws:iam::123456789012:role/*",
            "arn:aws:sts::123456789012:assumed-role/*/x",
            "arn:aws:sts::123456789012:assumed-role/Team*/*",
            "arn:aws:sts::12345:assumed-role/TeamA/*",
            "team-a",
        ] {
            let err = parse(&format!("  team-a:\n    principals: [\"{bad}\"]\n")).unwrap_err();
            assert!(
                matches!(err, TenantError::InvalidPrincipal { .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_principal_for_two_tenants_is_refused() {
        let p = "arn:aws:iam::123456789012:user/alice";
        let err = parse(&format!(
            "  a:\n    principals: [\"{p}\"]\n  b:\n    principals: [\"{p}\"]\n"
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("listed for tenant `a` and again for tenant `b`"),
            "{err}"
        );
    }

    #[test]
    fn secret_keys_join_their_tenant_and_are_checked() {
        let mut t = parse(&format!(
            "  team-a:\n    apiKeys: [\"{H1}\"]\n  team-b: {{}}\n"
        ))
        .unwrap();
        t.add_secret_keys(&format!("{{\"team-b\": [\"{H2}\"]}}"))
            .unwrap();
        assert_eq!(t.tenants[1].name, "team-b");
        assert_eq!(t.tenants[1].api_keys, vec![KeyHash::parse(H2).unwrap()]);
        assert_eq!(t.key_count(), 2);
        let err = t
            .add_secret_keys(&format!("{{\"team-b\": [\"{H1}\"]}}"))
            .unwrap_err();
        assert!(matches!(err, TenantError::DuplicateKeyHash { .. }), "{err}");
        let err = t.add_secret_keys("{\"team-x\": []}").unwrap_err();
        assert!(
            err.to_string()
                .contains("`team-x`, which is not configured"),
            "{err}"
        );
        let err = t.add_secret_keys("[1]").unwrap_err();
        assert!(
            err.to_string().starts_with("API key secret is not valid"),
            "{err}"
        );
    }

    #[test]
    fn the_classification_map_counts_every_tenants_profiles_as_ours() {
        let t = parse(&format!(
            "  team-a:\n    inferenceProfiles:\n      \"{SONNET}\": \"{A_ARN}\"\n    additionalInferenceProfiles:\n      \"{SONNET}\": [\"{A_WEST}\"]\n"
        ))
        .unwrap();
        let map = t.classification_map(&base());
        for arn in [SHARED_ARN, A_ARN, A_WEST] {
            assert_eq!(map.profile_owner(arn), Some(SONNET), "{arn}");
            let line = format!("{{\"schemaType\":\"ModelInvocationLog\",\"modelId\":\"{arn}\"}}");
            assert_eq!(classify(&line, &map).class, PrimaryClass::Profiled, "{arn}");
        }
        // Routing still follows the shared map.
        assert_eq!(map.resolve(SONNET).unwrap().call_id, SHARED_ARN);
    }

    #[test]
    fn key_hashes_are_sha256_hex_and_parse_back() {
        let hash = KeyHash::of("test");
        assert_eq!(
            hash.to_hex(),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        assert_eq!(KeyHash::parse(&hash.to_hex()).unwrap(), hash);
    }
}
