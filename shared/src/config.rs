//! The profile configuration: which friendly model IDs the product serves and which
//! inference profile (or model ID) each one is sent to.
//!
//! The file is LibreChat's own `librechat.yaml` (only `endpoints.bedrock` is read; every
//! other key is ignored) or a standalone document with the same keys at the top level:
//!
//! - `models`: the friendly IDs served, in order;
//! - `inferenceProfiles`: friendly ID → application-inference-profile ARN, system profile
//!   or model ID (usually `${ENV_VAR}`);
//! - `availableRegions`: regions offered to users (LibreChat's meaning: a choice, not an
//!   allow-list);
//! - `allowedInferenceRegions` (product-only): where inference may run, checked against
//!   `inferenceRegion` in invocation logs;
//! - `defaultRegion` (product-only): region for model IDs that carry none, falling back to
//!   `BEDROCK_AWS_DEFAULT_REGION`, then `AWS_REGION`;
//! - `additionalInferenceProfiles` (product-only): friendly ID → more profiles for the same
//!   model (e.g. one per region or account); the router spreads load over the mapped profile
//!   and these, and fails over between them.
//!
//! LibreChat ignores the product-only keys, so one file serves both. `${VAR}` references
//! are expanded from an injectable environment; unlike LibreChat (which passes an unset
//! reference through literally) an unset or empty variable is a startup error.
//!
//! Sources: `PROFILES_CONFIG_FILE` (a path; the normal way, since Lambda caps all
//! environment variables at 4 KB together) or `PROFILES_CONFIG` (inline YAML or JSON).

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use crate::arn::{ArnError, ModelRef, is_region_name};
use crate::model_names::{AliasError, Aliases, suggest};

/// Env var naming the config file.
pub const ENV_CONFIG_FILE: &str = "PROFILES_CONFIG_FILE";
/// Env var holding the config inline.
pub const ENV_CONFIG_INLINE: &str = "PROFILES_CONFIG";
/// LibreChat's Bedrock region variable, the first fallback for the default region.
pub const ENV_BEDROCK_DEFAULT_REGION: &str = "BEDROCK_AWS_DEFAULT_REGION";
/// The Lambda runtime's region, the last fallback for the default region.
pub const ENV_AWS_REGION: &str = "AWS_REGION";

/// Where the settings were found in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigLayout {
    /// `endpoints.bedrock` of a `librechat.yaml`.
    LibreChat,
    /// The same keys at the top level.
    Standalone,
}

/// Why the profile configuration cannot be used. Every message names the offending model,
/// key or variable and says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither source variable is set.
    #[error(
        "no profile configuration: set {ENV_CONFIG_FILE} to the path of a librechat.yaml (or standalone YAML/JSON) file, or {ENV_CONFIG_INLINE} to the document itself"
    )]
    NoSource,
    /// Both source variables are set, so which one is meant is unclear.
    #[error("both {ENV_CONFIG_FILE} and {ENV_CONFIG_INLINE} are set; set only one")]
    BothSources,
    /// The file could not be read.
    #[error("cannot read {ENV_CONFIG_FILE}=`{path}`: {source}")]
    ReadFile {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The document is not valid YAML or JSON, or a key has the wrong type.
    #[error("profile configuration is not valid {format}: {message}")]
    Syntax {
        /// `YAML` or `JSON`.
        format: &'static str,
        /// The parser's message (with line and column).
        message: String,
    },
    /// The document has no Bedrock settings at all.
    #[error(
        "profile configuration has no `endpoints.bedrock` section and no top-level `models`/`inferenceProfiles`; add the Bedrock settings under `endpoints.bedrock` (librechat.yaml) or at the top level (standalone)"
    )]
    NoBedrockSection,
    /// `models` is missing or empty.
    #[error(
        "profile configuration lists no `models`; add the friendly model IDs to serve under `models`"
    )]
    NoModels,
    /// A `${VAR}` reference whose variable is unset or empty.
    #[error("{}: variable `{variable}` is unset or empty; set {variable} in the function's environment (LibreChat would silently send the literal `${{{variable}}}` to Bedrock)", describe_location(field, model.as_deref()))]
    UnsetVariable {
        /// The variable name.
        variable: String,
        /// The key it appears under.
        field: &'static str,
        /// The model whose setting references it, when there is one.
        model: Option<String>,
    },
    /// `${` without a closing `}` or with an invalid name.
    #[error("{}: `{text}` has a malformed variable reference; write `${{NAME}}` with NAME made of letters, digits and `_`", describe_location(field, model.as_deref()))]
    MalformedVariable {
        /// The raw text.
        text: String,
        /// The key it appears under.
        field: &'static str,
        /// The model whose setting contains it, when there is one.
        model: Option<String>,
    },
    /// An empty string in `models`.
    #[error("`models` entry #{index} is empty; remove it or write a model ID")]
    EmptyModel {
        /// 1-based position.
        index: usize,
    },
    /// A model listed twice.
    #[error("model `{model}` is listed twice in `models`; remove the duplicate")]
    DuplicateModel {
        /// The model.
        model: String,
    },
    /// A model mapped twice in `inferenceProfiles`.
    #[error("model `{model}` appears twice in `inferenceProfiles`; keep one mapping")]
    DuplicateProfileKey {
        /// The model.
        model: String,
    },
    /// An `inferenceProfiles` key that is not in `models`.
    #[error("inferenceProfiles key `{key}` is not in `models` (lookups are exact and case-sensitive){}", match suggestion { Some(s) => format!("; did you mean `{s}`? Rename the key to `{s}`"), None => format!("; add `{key}` to `models` or remove the mapping") })]
    UnknownProfileKey {
        /// The key.
        key: String,
        /// The model it most likely meant.
        suggestion: Option<String>,
    },
    /// An `inferenceProfiles` value that Bedrock would not accept.
    #[error(
        "inferenceProfiles value for model `{model}` is not an inference-profile ARN or model ID Bedrock accepts: {source}; use the profile's ARN, e.g. `arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12`"
    )]
    InvalidProfileTarget {
        /// The model.
        model: String,
        /// Why the value is rejected (names the value).
        source: ArnError,
    },
    /// A model without a mapping that is not itself a Bedrock model ID.
    #[error(
        "model `{model}` has no `inferenceProfiles` entry, so it would be sent to Bedrock as is, but it is not a Bedrock model ID: {source}; map it to a profile ARN under `inferenceProfiles` or use a model ID"
    )]
    InvalidModelId {
        /// The model.
        model: String,
        /// Why it is not a model ID.
        source: ArnError,
    },
    /// A region that is not a region name.
    #[error("`{field}` has `{region}`, which is not a region name such as `us-east-1`")]
    InvalidRegion {
        /// The key or variable.
        field: &'static str,
        /// The value.
        region: String,
    },
    /// A region listed twice.
    #[error("region `{region}` is listed twice in `{field}`; remove the duplicate")]
    DuplicateRegion {
        /// The key.
        field: &'static str,
        /// The region.
        region: String,
    },
    /// An `additionalInferenceProfiles` key whose model has no `inferenceProfiles` entry.
    #[error(
        "additionalInferenceProfiles key `{key}` has no `inferenceProfiles` entry; the list adds profiles to that mapping, so map `{key}` under `inferenceProfiles` first (and list it in `models`)"
    )]
    UnmappedPoolKey {
        /// The key.
        key: String,
    },
    /// An `additionalInferenceProfiles` value that Bedrock would not accept.
    #[error(
        "additionalInferenceProfiles entry #{index} for model `{model}` is not an inference-profile ARN or model ID Bedrock accepts: {source}"
    )]
    InvalidPoolTarget {
        /// The model.
        model: String,
        /// 1-based position in the list.
        index: usize,
        /// Why the value is rejected (names the value).
        source: ArnError,
    },
    /// The same target twice among a model's profiles.
    #[error(
        "model `{model}` lists `{target}` more than once across `inferenceProfiles` and `additionalInferenceProfiles`; list each profile once"
    )]
    DuplicatePoolTarget {
        /// The model.
        model: String,
        /// The repeated target.
        target: String,
    },
    /// A model needs a region and none is configured.
    #[error(
        "model `{model}` is sent by model ID, which needs a region, but none is set; set `defaultRegion` in the config, or {ENV_BEDROCK_DEFAULT_REGION} or {ENV_AWS_REGION}"
    )]
    NoDefaultRegion {
        /// The first model that needs it.
        model: String,
    },
    /// A `modelAliases` entry that cannot be used.
    #[error(transparent)]
    Alias(#[from] AliasError),
}

fn describe_location(field: &str, model: Option<&str>) -> String {
    match model {
        Some(m) => format!("`{field}` for model `{m}`"),
        None => format!("`{field}`"),
    }
}

/// A validated profile configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileConfig {
    /// Friendly IDs served, in file order, unique.
    pub models: Vec<String>,
    /// Friendly ID → where calls go, in file order; every key is in `models`.
    pub inference_profiles: Vec<(String, ModelRef)>,
    /// Regions offered to users (LibreChat's meaning).
    pub available_regions: Vec<String>,
    /// Compliance allow-list for `inferenceRegion`; `None` when not configured.
    pub allowed_inference_regions: Option<Vec<String>>,
    /// Region for calls whose target carries none (`defaultRegion` →
    /// `BEDROCK_AWS_DEFAULT_REGION` → `AWS_REGION`).
    pub default_region: Option<String>,
    /// Friendly ID → further targets for the same model (product-only
    /// `additionalInferenceProfiles`); every key also has an `inferenceProfiles` entry.
    pub additional_profiles: Vec<(String, Vec<ModelRef>)>,
    /// Other names for served models (product-only `modelAliases`): Anthropic model names,
    /// retired IDs, prefixes such as `claude-haiku-*`.
    pub model_aliases: Aliases,
    /// Where in the document the settings were found.
    pub layout: ConfigLayout,
}

/// `endpoints.bedrock` or the top level, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSection {
    models: Option<Vec<String>>,
    inference_profiles: Option<Entries>,
    available_regions: Option<Vec<String>>,
    allowed_inference_regions: Option<Vec<String>>,
    default_region: Option<String>,
    additional_inference_profiles: Option<Pools>,
    model_aliases: Option<Entries>,
}

impl RawSection {
    fn is_empty(&self) -> bool {
        self.models.is_none() && self.inference_profiles.is_none()
    }
}

#[derive(Debug, Deserialize)]
struct RawEndpoints {
    bedrock: Option<RawSection>,
}

/// The whole document. The section keys are repeated here rather than flattened: serde's
/// flatten buffers values untyped, which loses YAML scalar typing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDocument {
    endpoints: Option<RawEndpoints>,
    models: Option<Vec<String>>,
    inference_profiles: Option<Entries>,
    available_regions: Option<Vec<String>>,
    allowed_inference_regions: Option<Vec<String>>,
    default_region: Option<String>,
    additional_inference_profiles: Option<Pools>,
    model_aliases: Option<Entries>,
}

impl RawDocument {
    fn into_parts(self) -> (Option<RawSection>, RawSection) {
        let top = RawSection {
            models: self.models,
            inference_profiles: self.inference_profiles,
            available_regions: self.available_regions,
            allowed_inference_regions: self.allowed_inference_regions,
            default_region: self.default_region,
            additional_inference_profiles: self.additional_inference_profiles,
            model_aliases: self.model_aliases,
        };
        (self.endpoints.and_then(|e| e.bedrock), top)
    }
}

/// Map entries in document order, keeping duplicates so they can be reported.
#[derive(Debug, Default)]
pub(crate) struct Entries(pub(crate) Vec<(String, String)>);

/// `additionalInferenceProfiles` entries in document order, keeping duplicates.
#[derive(Debug, Default)]
pub(crate) struct Pools(pub(crate) Vec<(String, Vec<String>)>);

impl<'de> Deserialize<'de> for Pools {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pools;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of model ID to a list of inference-profile ARNs")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Pools, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Vec<String>>()? {
                    out.push((k, v));
                }
                Ok(Pools(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of model ID to inference-profile ARN")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl ProfileConfig {
    /// Loads from the process environment: the document from `PROFILES_CONFIG_FILE` or
    /// `PROFILES_CONFIG`, `${VAR}` and region fallbacks from the same environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](Self::from_env) with an injected environment.
    pub fn from_env_with(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text = read_source(&env)?;
        Self::parse(&text, env)
    }

    /// Parses and validates a document (YAML, or JSON when it starts with `{`), expanding
    /// `${VAR}` from `env`.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let doc: RawDocument = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| ConfigError::Syntax {
                format: "JSON",
                message: e.to_string(),
            })?
        } else {
            let mut opts = serde_saphyr::Options::default();
            // The snippet would quote the file, which may hold values that do not belong in logs.
            opts.with_snippet = false;
            serde_saphyr::from_str_with_options(text, opts).map_err(|e| ConfigError::Syntax {
                format: "YAML",
                message: e.to_string(),
            })?
        };
        let (from_librechat, top) = doc.into_parts();
        let (raw, layout) = match from_librechat {
            Some(section) => (section, ConfigLayout::LibreChat),
            None if !top.is_empty() => (top, ConfigLayout::Standalone),
            None => return Err(ConfigError::NoBedrockSection),
        };
        Self::validate(raw, layout, &env)
    }

    fn validate(
        raw: RawSection,
        layout: ConfigLayout,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        // Models.
        let mut models = Vec::new();
        let mut seen = HashSet::new();
        for (i, m) in raw.models.unwrap_or_default().into_iter().enumerate() {
            let m = expand(&m, env, "models", None)?;
            if m.trim().is_empty() {
                return Err(ConfigError::EmptyModel { index: i + 1 });
            }
            if !seen.insert(m.clone()) {
                return Err(ConfigError::DuplicateModel { model: m });
            }
            models.push(m);
        }
        if models.is_empty() {
            return Err(ConfigError::NoModels);
        }

        // Profiles.
        let mut inference_profiles: Vec<(String, ModelRef)> = Vec::new();
        let mut keys = HashSet::new();
        for (key, value) in raw.inference_profiles.unwrap_or_default().0 {
            let key = expand(&key, env, "inferenceProfiles", None)?;
            if !keys.insert(key.clone()) {
                return Err(ConfigError::DuplicateProfileKey { model: key });
            }
            if !seen.contains(&key) {
                return Err(ConfigError::UnknownProfileKey {
                    suggestion: suggest(&key, &models),
                    key,
                });
            }
            let value = expand(&value, env, "inferenceProfiles", Some(&key))?;
            let target = ModelRef::parse(value.trim()).map_err(|source| {
                ConfigError::InvalidProfileTarget {
                    model: key.clone(),
                    source,
                }
            })?;
            inference_profiles.push((key, target));
        }

        // Models without a mapping go to Bedrock as they are.
        for m in &models {
            if !keys.contains(m) {
                ModelRef::parse(m).map_err(|source| ConfigError::InvalidModelId {
                    model: m.clone(),
                    source,
                })?;
            }
        }

        // More profiles for mapped models.
        let mut additional_profiles: Vec<(String, Vec<ModelRef>)> = Vec::new();
        for (key, values) in raw.additional_inference_profiles.unwrap_or_default().0 {
            let key = expand(&key, env, "additionalInferenceProfiles", None)?;
            let Some(primary) = inference_profiles
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
            else {
                return Err(ConfigError::UnmappedPoolKey { key });
            };
            if additional_profiles.iter().any(|(k, _)| *k == key) {
                return Err(ConfigError::DuplicateProfileKey { model: key });
            }
            let mut seen_targets = vec![primary.to_string()];
            let mut pool = Vec::with_capacity(values.len());
            for (i, value) in values.iter().enumerate() {
                let value = expand(value, env, "additionalInferenceProfiles", Some(&key))?;
                let target = ModelRef::parse(value.trim()).map_err(|source| {
                    ConfigError::InvalidPoolTarget {
                        model: key.clone(),
                        index: i + 1,
                        source,
                    }
                })?;
                let shown = target.to_string();
                if seen_targets.contains(&shown) {
                    return Err(ConfigError::DuplicatePoolTarget {
                        model: key,
                        target: shown,
                    });
                }
                seen_targets.push(shown);
                pool.push(target);
            }
            additional_profiles.push((key, pool));
        }

        let mut alias_pairs = Vec::new();
        for (key, value) in raw.model_aliases.unwrap_or_default().0 {
            let key = expand(&key, env, "modelAliases", None)?;
            let value = expand(&value, env, "modelAliases", Some(&key))?;
            alias_pairs.push((key, value));
        }
        let model_aliases = Aliases::new(alias_pairs, &models)?;

        let available_regions = regions(
            raw.available_regions.unwrap_or_default(),
            "availableRegions",
            env,
        )?;
        let allowed_inference_regions = raw
            .allowed_inference_regions
            .map(|r| regions(r, "allowedInferenceRegions", env))
            .transpose()?;

        let default_region = match raw.default_region {
            Some(r) => Some(region(
                expand(&r, env, "defaultRegion", None)?,
                "defaultRegion",
            )?),
            None => match env(ENV_BEDROCK_DEFAULT_REGION).filter(|s| !s.is_empty()) {
                Some(r) => Some(region(r, ENV_BEDROCK_DEFAULT_REGION)?),
                None => match env(ENV_AWS_REGION).filter(|s| !s.is_empty()) {
                    Some(r) => Some(region(r, ENV_AWS_REGION)?),
                    None => None,
                },
            },
        };
        if default_region.is_none() {
            let pool_needs_region = additional_profiles
                .iter()
                .find(|(_, pool)| pool.iter().any(|t| t.region().is_none()))
                .map(|(k, _)| k);
            let needs_region = models
                .iter()
                .find(|m| match inference_profiles.iter().find(|(k, _)| k == *m) {
                    Some((_, target)) => target.region().is_none(),
                    None => true,
                })
                .or(pool_needs_region);
            if let Some(m) = needs_region {
                return Err(ConfigError::NoDefaultRegion { model: m.clone() });
            }
        }

        Ok(Self {
            models,
            inference_profiles,
            available_regions,
            allowed_inference_regions,
            default_region,
            additional_profiles,
            model_aliases,
            layout,
        })
    }

    /// The configured target of a friendly ID, when it has an `inferenceProfiles` entry.
    pub fn profile_for(&self, friendly_id: &str) -> Option<&ModelRef> {
        self.inference_profiles
            .iter()
            .find(|(k, _)| k == friendly_id)
            .map(|(_, v)| v)
    }

    /// The further targets of a friendly ID (`additionalInferenceProfiles`), empty when none.
    pub fn additional_profiles_for(&self, friendly_id: &str) -> &[ModelRef] {
        self.additional_profiles
            .iter()
            .find(|(k, _)| k == friendly_id)
            .map_or(&[], |(_, v)| v.as_slice())
    }
}

/// The configuration document's text, from `PROFILES_CONFIG_FILE` or `PROFILES_CONFIG` (the
/// same source every reader of the document uses, e.g. [`crate::tenants`]).
pub fn read_source(env: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let file = env(ENV_CONFIG_FILE).filter(|s| !s.is_empty());
    let inline = env(ENV_CONFIG_INLINE).filter(|s| !s.trim().is_empty());
    match (file, inline) {
        (Some(_), Some(_)) => Err(ConfigError::BothSources),
        (None, None) => Err(ConfigError::NoSource),
        (Some(path), None) => {
            std::fs::read_to_string(&path).map_err(|source| ConfigError::ReadFile { path, source })
        }
        (None, Some(text)) => Ok(text),
    }
}

fn region(r: String, field: &'static str) -> Result<String, ConfigError> {
    let r = r.trim().to_owned();
    if is_region_name(&r) {
        Ok(r)
    } else {
        Err(ConfigError::InvalidRegion { field, region: r })
    }
}

fn regions(
    list: Vec<String>,
    field: &'static str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ConfigError> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for r in list {
        let r = region(expand(&r, env, field, None)?, field)?;
        if out.contains(&r) {
            return Err(ConfigError::DuplicateRegion { field, region: r });
        }
        out.push(r);
    }
    Ok(out)
}

/// Expands every `${NAME}` in `text`. An unset or empty variable is an error.
pub(crate) fn expand(
    text: &str,
    env: &impl Fn(&str) -> Option<String>,
    field: &'static str,
    model: Option<&str>,
) -> Result<String, ConfigError> {
    if !text.contains("${") {
        return Ok(text.to_owned());
    }
    let malformed = || ConfigError::MalformedVariable {
        text: text.to_owned(),
        field,
        model: model.map(str::to_owned),
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(malformed)?;
        let name = &after[..end];
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(malformed());
        }
        match env(name).filter(|v| !v.is_empty()) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(ConfigError::UnsetVariable {
                    variable: name.to_owned(),
                    field,
                    model: model.map(str::to_owned),
                });
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    pub(crate) const ARN_A: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12";
    const SONNET: &str = "us.anthropic.claude-3-7-sonnet-20250219-v1:0";
    const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn librechat(profiles: &str) -> String {
        format!(
            r#"
version: 1.2.1
cache: true
interface:
  agents: true
endpoints:
  custom:
    - name: "Other"
      apiKey: "${{OTHER_KEY}}"
      baseURL: "http://example.invalid"
  bedrock:
    titleModel: "{HAIKU}"
    models:
      - "{SONNET}"
      - "{HAIKU}"
    inferenceProfiles:
{profiles}
    availableRegions:
      - "us-east-1"
      - "us-west-2"
    allowedInferenceRegions: ["us-east-1", "us-east-2", "us-west-2"]
"#
        )
    }

    fn ok_env() -> impl Fn(&str) -> Option<String> {
        env(&[("SONNET_PROFILE", ARN_A), ("AWS_REGION", "eu-west-1")])
    }

    #[test]
    fn librechat_file_reads_only_the_bedrock_section() {
        let text = librechat(&format!("      \"{SONNET}\": \"${{SONNET_PROFILE}}\""));
        let c = ProfileConfig::parse(&text, ok_env()).unwrap();
        assert_eq!(c.layout, ConfigLayout::LibreChat);
        assert_eq!(c.models, vec![SONNET.to_owned(), HAIKU.to_owned()]);
        assert_eq!(c.inference_profiles.len(), 1);
        assert_eq!(c.profile_for(SONNET).unwrap().to_string(), ARN_A);
        assert_eq!(c.profile_for(HAIKU), None);
        assert_eq!(c.available_regions, vec!["us-east-1", "us-west-2"]);
        assert_eq!(
            c.allowed_inference_regions.as_deref(),
            Some(
                &[
                    "us-east-1".to_owned(),
                    "us-east-2".into(),
                    "us-west-2".into()
                ][..]
            )
        );
        assert_eq!(c.default_region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn standalone_yaml_and_json_give_the_same_config() {
        let yaml = format!(
            "models: [\"{SONNET}\", \"{HAIKU}\"]\ninferenceProfiles:\n  \"{SONNET}\": \"{ARN_A}\"\ndefaultRegion: us-east-2\n"
        );
        let json = format!(
            r#"{{"models": ["{SONNET}", "{HAIKU}"], "inferenceProfiles": {{"{SONNET}": "{ARN_A}"}}, "defaultRegion": "us-east-2"}}"#
        );
        let a = ProfileConfig::parse(&yaml, env(&[])).unwrap();
        let b = ProfileConfig::parse(&json, env(&[])).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.layout, ConfigLayout::Standalone);
        assert_eq!(a.default_region.as_deref(), Some("us-east-2"));
        assert_eq!(a.allowed_inference_regions, None);
    }

    #[test]
    fn default_region_falls_back_from_config_to_bedrock_var_to_aws_region() {
        let doc = format!("models: [\"{HAIKU}\"]");
        let both = env(&[
            ("BEDROCK_AWS_DEFAULT_REGION", "us-west-2"),
            ("AWS_REGION", "eu-west-1"),
        ]);
        let c = ProfileConfig::parse(&doc, both).unwrap();
        assert_eq!(c.default_region.as_deref(), Some("us-west-2"));
        let c = ProfileConfig::parse(&doc, env(&[("AWS_REGION", "eu-west-1")])).unwrap();
        assert_eq!(c.default_region.as_deref(), Some("eu-west-1"));
        let with_key = format!("{doc}\ndefaultRegion: ap-south-1");
        let c = ProfileConfig::parse(&with_key, env(&[("AWS_REGION", "eu-west-1")])).unwrap();
        assert_eq!(c.default_region.as_deref(), Some("ap-south-1"));
    }

    #[test]
    fn a_model_without_region_and_no_default_is_a_startup_error() {
        let e = ProfileConfig::parse(&format!("models: [\"{HAIKU}\"]"), env(&[])).unwrap_err();
        assert!(
            matches!(&e, ConfigError::NoDefaultRegion { model } if model == HAIKU),
            "{e}"
        );
        // With every model on an ARN, no default region is needed.
        let doc =
            format!("models: [\"{SONNET}\"]\ninferenceProfiles: {{\"{SONNET}\": \"{ARN_A}\"}}");
        assert!(ProfileConfig::parse(&doc, env(&[])).is_ok());
    }

    #[test]
    fn unset_env_var_is_a_startup_error_naming_variable_and_model() {
        let text = librechat(&format!("      \"{SONNET}\": \"${{SONNET_PROFILE}}\""));
        let e = ProfileConfig::parse(&text, env(&[("AWS_REGION", "us-east-1")])).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, ConfigError::UnsetVariable { .. }), "{msg}");
        assert!(
            msg.contains("SONNET_PROFILE") && msg.contains(SONNET),
            "{msg}"
        );
    }

    #[test]
    fn empty_env_var_is_a_startup_error() {
        let text = librechat(&format!("      \"{SONNET}\": \"${{SONNET_PROFILE}}\""));
        let e = ProfileConfig::parse(
            &text,
            env(&[("SONNET_PROFILE", ""), ("AWS_REGION", "us-east-1")]),
        )
        .unwrap_err();
        assert!(
            matches!(e, ConfigError::UnsetVariable { ref variable, .. } if variable == "SONNET_PROFILE")
        );
    }

    #[test]
    fn variables_expand_inside_longer_strings_and_in_regions() {
        let doc = format!(
            "models: [\"{SONNET}\"]\ninferenceProfiles:\n  \"{SONNET}\": \"arn:aws:bedrock:${{R}}:${{ACCT}}:application-inference-profile/abcdefghij12\"\navailableRegions: [\"${{R}}\"]"
        );
        let c = ProfileConfig::parse(&doc, env(&[("R", "us-east-1"), ("ACCT", "123456789012")]))
            .unwrap();
        assert_eq!(c.profile_for(SONNET).unwrap().to_string(), ARN_A);
        assert_eq!(c.available_regions, vec!["us-east-1"]);
    }

    #[test]
    fn malformed_variable_reference_is_rejected() {
        for bad in ["${UNCLOSED", "${}", "${1X}", "${A-B}"] {
            let doc =
                format!("models: [\"{SONNET}\"]\ninferenceProfiles:\n  \"{SONNET}\": \"{bad}\"");
            let e = ProfileConfig::parse(&doc, env(&[])).unwrap_err();
            assert!(
                matches!(e, ConfigError::MalformedVariable { .. }),
                "{bad}: {e}"
            );
            assert!(e.to_string().contains(SONNET), "{e}");
        }
    }

    #[test]
    fn other_sections_variables_are_not_expanded() {
        // OTHER_KEY in endpoints.custom is unset: that is LibreChat's business, not ours.
        let text = librechat(&format!("      \"{SONNET}\": \"{ARN_A}\""));
        assert!(ProfileConfig::parse(&text, env(&[("AWS_REGION", "us-east-1")])).is_ok());
    }

    #[test]
    fn profile_key_differing_only_in_case_suggests_the_model() {
        let upper = SONNET.replace("claude", "Claude");
        let text = librechat(&format!("      \"{upper}\": \"{ARN_A}\""));
        let e = ProfileConfig::parse(&text, ok_env()).unwrap_err();
        match &e {
            ConfigError::UnknownProfileKey { key, suggestion } => {
                assert_eq!(key, &upper);
                assert_eq!(suggestion.as_deref(), Some(SONNET));
            }
            other => panic!("{other}"),
        }
        assert!(e.to_string().contains("did you mean"), "{e}");
        assert!(e.to_string().contains("case-sensitive"), "{e}");
    }

    #[test]
    fn profile_key_with_a_typo_suggests_the_nearest_model() {
        let typo = SONNET.replace("20250219", "20250291");
        let text = librechat(&format!("      \"{typo}\": \"{ARN_A}\""));
        let e = ProfileConfig::parse(&text, ok_env()).unwrap_err();
        assert!(
            matches!(&e, ConfigError::UnknownProfileKey { suggestion: Some(s), .. } if s == SONNET),
            "{e}"
        );
    }

    #[test]
    fn profile_key_far_from_every_model_asks_to_add_it() {
        let text = librechat(&format!(
            "      \"meta.llama3-70b-instruct-v1:0\": \"{ARN_A}\""
        ));
        let e = ProfileConfig::parse(&text, ok_env()).unwrap_err();
        assert!(
            matches!(
                &e,
                ConfigError::UnknownProfileKey {
                    suggestion: None,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("add `meta.llama3-70b-instruct-v1:0` to `models`"),
            "{e}"
        );
    }

    #[test]
    fn profile_value_that_bedrock_rejects_is_a_startup_error() {
        for bad in [
            "arn:aws:bedrock:us-east-1:123:application-inference-profile/x",
            "arn:aws:s3:::bucket/key",
            "not a model",
            "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc",
        ] {
            let text = librechat(&format!("      \"{SONNET}\": \"{bad}\""));
            let e = ProfileConfig::parse(&text, ok_env()).unwrap_err();
            assert!(
                matches!(&e, ConfigError::InvalidProfileTarget { model, .. } if model == SONNET),
                "{bad}: {e}"
            );
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn system_profile_and_model_ids_are_accepted_as_profile_values() {
        let doc = format!(
            "models: [\"claude\", \"haiku\"]\ninferenceProfiles:\n  claude: \"{SONNET}\"\n  haiku: \"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}\"\ndefaultRegion: us-east-1"
        );
        let c = ProfileConfig::parse(&doc, env(&[])).unwrap();
        assert_eq!(c.profile_for("claude").unwrap().to_string(), SONNET);
    }

    #[test]
    fn unmapped_model_that_is_not_a_model_id_is_a_startup_error() {
        let doc = "models: [\"my-claude\"]\ndefaultRegion: us-east-1";
        let e = ProfileConfig::parse(doc, env(&[])).unwrap_err();
        assert!(
            matches!(&e, ConfigError::InvalidModelId { model, .. } if model == "my-claude"),
            "{e}"
        );
    }

    #[test]
    fn invalid_regions_are_rejected_wherever_they_appear() {
        let base = format!("models: [\"{HAIKU}\"]\n");
        for (extra, field) in [
            ("availableRegions: [\"us-east\"]", "availableRegions"),
            (
                "allowedInferenceRegions: [\"US-EAST-1\"]",
                "allowedInferenceRegions",
            ),
            ("defaultRegion: useast1", "defaultRegion"),
        ] {
            let e = ProfileConfig::parse(
                &format!("{base}{extra}"),
                env(&[("AWS_REGION", "us-east-1")]),
            )
            .unwrap_err();
            assert!(
                matches!(&e, ConfigError::InvalidRegion { field: f, .. } if *f == field),
                "{extra}: {e}"
            );
        }
        let e = ProfileConfig::parse(&base, env(&[("AWS_REGION", "nowhere")])).unwrap_err();
        assert!(
            matches!(
                &e,
                ConfigError::InvalidRegion {
                    field: "AWS_REGION",
                    ..
                }
            ),
            "{e}"
        );
        let e =
            ProfileConfig::parse(&base, env(&[("BEDROCK_AWS_DEFAULT_REGION", "x")])).unwrap_err();
        assert!(
            matches!(
                &e,
                ConfigError::InvalidRegion {
                    field: "BEDROCK_AWS_DEFAULT_REGION",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn duplicate_models_are_rejected() {
        let doc = format!("models: [\"{HAIKU}\", \"{HAIKU}\"]\ndefaultRegion: us-east-1");
        let e = ProfileConfig::parse(&doc, env(&[])).unwrap_err();
        assert!(
            matches!(&e, ConfigError::DuplicateModel { model } if model == HAIKU),
            "{e}"
        );
    }

    #[test]
    fn duplicate_regions_are_rejected() {
        for field in ["availableRegions", "allowedInferenceRegions"] {
            let doc = format!(
                "models: [\"{HAIKU}\"]\ndefaultRegion: us-east-1\n{field}: [us-east-1, us-east-1]"
            );
            let e = ProfileConfig::parse(&doc, env(&[])).unwrap_err();
            assert!(
                matches!(&e, ConfigError::DuplicateRegion { field: f, .. } if *f == field),
                "{e}"
            );
        }
    }

    #[test]
    fn duplicate_profile_keys_are_rejected_in_json() {
        let json = format!(
            r#"{{"models": ["{SONNET}"], "inferenceProfiles": {{"{SONNET}": "{ARN_A}", "{SONNET}": "{ARN_A}"}}}}"#
        );
        let e = ProfileConfig::parse(&json, env(&[])).unwrap_err();
        assert!(
            matches!(&e, ConfigError::DuplicateProfileKey { model } if model == SONNET),
            "{e}"
        );
    }

    #[test]
    fn duplicate_profile_keys_are_rejected_in_yaml() {
        let yaml = format!(
            "models: [\"{SONNET}\"]\ninferenceProfiles:\n  \"{SONNET}\": \"{ARN_A}\"\n  \"{SONNET}\": \"{ARN_A}\"\n"
        );
        assert!(ProfileConfig::parse(&yaml, env(&[])).is_err());
    }

    #[test]
    fn empty_model_entry_is_rejected() {
        let e = ProfileConfig::parse("models: [\"\"]", env(&[])).unwrap_err();
        assert!(matches!(e, ConfigError::EmptyModel { index: 1 }), "{e}");
    }

    #[test]
    fn missing_models_is_rejected() {
        let doc = format!("inferenceProfiles: {{\"{SONNET}\": \"{ARN_A}\"}}");
        let e = ProfileConfig::parse(&doc, env(&[])).unwrap_err();
        assert!(matches!(e, ConfigError::NoModels), "{e}");
    }

    #[test]
    fn document_without_bedrock_settings_is_rejected() {
        let e =
            ProfileConfig::parse("version: 1\nendpoints:\n  custom: []\n", env(&[])).unwrap_err();
        assert!(matches!(e, ConfigError::NoBedrockSection), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_format() {
        let e = ProfileConfig::parse("models: [unclosed", env(&[])).unwrap_err();
        assert!(
            matches!(e, ConfigError::Syntax { format: "YAML", .. }),
            "{e}"
        );
        let e = ProfileConfig::parse("{\"models\": ", env(&[])).unwrap_err();
        assert!(
            matches!(e, ConfigError::Syntax { format: "JSON", .. }),
            "{e}"
        );
        let e = ProfileConfig::parse("models: {a: 1}", env(&[])).unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }), "{e}");
    }

    #[test]
    fn source_is_the_file_or_the_inline_document_but_not_both() {
        let dir = std::env::temp_dir().join(format!("shared-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("librechat.yaml");
        std::fs::write(
            &path,
            librechat(&format!("      \"{SONNET}\": \"{ARN_A}\"")),
        )
        .unwrap();
        let p = path.to_str().unwrap();

        let c = ProfileConfig::from_env_with(env(&[
            ("PROFILES_CONFIG_FILE", p),
            ("AWS_REGION", "us-east-1"),
        ]))
        .unwrap();
        assert_eq!(c.layout, ConfigLayout::LibreChat);
        let inline = format!("models: [\"{HAIKU}\"]");
        let c = ProfileConfig::from_env_with(env(&[
            ("PROFILES_CONFIG", &inline),
            ("AWS_REGION", "us-east-1"),
        ]))
        .unwrap();
        assert_eq!(c.models, vec![HAIKU]);

        let e = ProfileConfig::from_env_with(env(&[
            ("PROFILES_CONFIG_FILE", p),
            ("PROFILES_CONFIG", &inline),
        ]))
        .unwrap_err();
        assert!(matches!(e, ConfigError::BothSources), "{e}");
        assert!(matches!(
            ProfileConfig::from_env_with(env(&[])),
            Err(ConfigError::NoSource)
        ));
        let missing = dir.join("missing.yaml");
        let e = ProfileConfig::from_env_with(env(&[(
            "PROFILES_CONFIG_FILE",
            missing.to_str().unwrap(),
        )]))
        .unwrap_err();
        assert!(matches!(e, ConfigError::ReadFile { .. }), "{e}");
        assert!(e.to_string().contains("missing.yaml"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn suggestion_prefers_case_insensitive_match_over_edit_distance() {
        let models = vec!["abc".to_owned(), "ABD".to_owned()];
        assert_eq!(suggest("abd", &models).as_deref(), Some("ABD"));
        assert_eq!(crate::model_names::edit_distance("kitten", "sitting"), 3);
        assert_eq!(suggest("zzzzzzzz", &models), None);
    }

    const POOL_A: &str =
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/poolaaaaaaaa";
    const POOL_B: &str =
        "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/poolbbbbbbbb";

    #[test]
    fn additional_profiles_extend_a_mapping_in_order() {
        let doc = format!(
            "models: [claude]\ninferenceProfiles:\n  claude: \"{POOL_A}\"\nadditionalInferenceProfiles:\n  claude: [\"${{WEST}}\"]\n"
        );
        let c = ProfileConfig::parse(&doc, |k| (k == "WEST").then(|| POOL_B.to_owned())).unwrap();
        let pool: Vec<String> = c
            .additional_profiles_for("claude")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(pool, vec![POOL_B.to_owned()]);
        assert!(c.additional_profiles_for("other").is_empty());
    }

    #[test]
    fn additional_profiles_need_a_mapping_and_distinct_valid_targets() {
        let unmapped = "models: [amazon.nova-pro-v1:0]\ndefaultRegion: us-east-1\nadditionalInferenceProfiles:\n  amazon.nova-pro-v1:0: []\n";
        let err = ProfileConfig::parse(unmapped, |_| None).unwrap_err();
        assert!(matches!(err, ConfigError::UnmappedPoolKey { .. }), "{err}");
        let twice = format!(
            "models: [claude]\ninferenceProfiles:\n  claude: \"{POOL_A}\"\nadditionalInferenceProfiles:\n  claude: [\"{POOL_A}\"]\n"
        );
        let err = ProfileConfig::parse(&twice, |_| None).unwrap_err();
        assert!(
            err.to_string().contains(
                "lists `{POOL_A}` more than once"
                    .replace("{POOL_A}", POOL_A)
                    .as_str()
            ),
            "{err}"
        );
        let bad = format!(
            "models: [claude]\ninferenceProfiles:\n  claude: \"{POOL_A}\"\nadditionalInferenceProfiles:\n  claude: [\"{POOL_B}\", \"not an arn\"]\n"
        );
        let err = ProfileConfig::parse(&bad, |_| None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("additionalInferenceProfiles entry #2 for model `claude`"),
            "{err}"
        );
    }
}
