//! Prompt caching for callers that cannot place cache checkpoints themselves: the product-only
//! `promptCache:` setting, for every model, per model and per tenant.
//!
//! OpenAI's chat API has no way to say where a prompt may be cached, so an OpenAI-shaped caller
//! (an app, LibreChat) pays full price for the same long system prompt on every call. With this
//! setting the router places Converse `cachePoint`s for them (after the tools, the system prompt
//! and the last user turn, within the model's rules in [`crate::catalog::PromptCaching`]).
//!
//! ```yaml
//! promptCache:
//!   mode: auto            # auto | off; off when the key is absent
//!   ttl: 5m               # 5m | 1h (1h only on models that keep entries that long)
//!   models:               # per served model (friendly IDs from `models`)
//!     us.amazon.nova-2-lite-v1:0: off
//! tenants:
//!   team-a:
//!     promptCache: off    # or auto, or {mode: auto, ttl: 1h}
//! ```
//!
//! How the levels combine: the call's cache points are placed when the default, the model or the
//! tenant says `auto` and none of them, nor the request itself (`x-router-prompt-cache: off`),
//! says `off`. A cache write costs more than plain input on Claude, so anyone who knows the
//! prompts do not repeat can keep them out. The TTL is the tenant's, else the model's, else the
//! default's.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// Whether the router places cache points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Place them where the model's rules allow.
    Auto,
    /// Never place them.
    Off,
}

/// How long a cache entry lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ttl {
    /// Bedrock's default.
    FiveMinutes,
    /// On models that keep entries an hour.
    OneHour,
}

impl Ttl {
    /// Converse's `cachePoint.ttl` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FiveMinutes => "5m",
            Self::OneHour => "1h",
        }
    }

    /// Reads a `cachePoint.ttl` value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "5m" => Some(Self::FiveMinutes),
            "1h" => Some(Self::OneHour),
            _ => None,
        }
    }
}

/// What one level (default, model, tenant) says; `None` leaves the choice to the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Setting {
    /// Auto or off, if this level says.
    pub mode: Option<Mode>,
    /// The entries' lifetime, if this level says.
    pub ttl: Option<Ttl>,
}

impl Setting {
    /// Reads `auto`, `off` or `{mode: auto, ttl: 1h}`; `at` names the key in errors.
    pub fn from_value(value: &Value, at: &str) -> Result<Self, String> {
        match value {
            Value::String(word) => Ok(Self {
                mode: Some(mode(word, at)?),
                ttl: None,
            }),
            Value::Bool(on) => Ok(Self {
                mode: Some(if *on { Mode::Auto } else { Mode::Off }),
                ttl: None,
            }),
            Value::Object(fields) => {
                if let Some(unknown) = fields
                    .keys()
                    .find(|k| !matches!(k.as_str(), "mode" | "ttl"))
                {
                    return Err(format!(
                        "`{at}.{unknown}` is not a prompt-cache setting; use `mode` (auto | off) and `ttl` (5m | 1h)"
                    ));
                }
                let text = |key: &str| -> Result<Option<&str>, String> {
                    match fields.get(key) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => Ok(Some(s)),
                        Some(_) => Err(format!("`{at}.{key}` must be a string")),
                    }
                };
                let mode = text("mode")?.map(|m| mode(m, at)).transpose()?;
                let ttl = text("ttl")?
                    .map(|t| {
                        Ttl::parse(t)
                            .ok_or_else(|| format!("`{at}.ttl` must be `5m` or `1h`, got `{t}`"))
                    })
                    .transpose()?;
                Ok(Self { mode, ttl })
            }
            _ => Err(format!(
                "`{at}` must be `auto`, `off` or {{mode: auto, ttl: 5m}}"
            )),
        }
    }
}

fn mode(word: &str, at: &str) -> Result<Mode, String> {
    match word {
        "auto" => Ok(Mode::Auto),
        "off" => Ok(Mode::Off),
        other => Err(format!("`{at}` must be `auto` or `off`, got `{other}`")),
    }
}

/// What applies to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Place cache points.
    pub place: bool,
    /// The lifetime asked for; the model's rules may shorten it.
    pub ttl: Ttl,
}

/// The document's `promptCache:` (default and per model), validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptCachePolicy {
    default: Setting,
    models: BTreeMap<String, Setting>,
}

#[derive(Debug, Deserialize)]
struct RawDocument {
    #[serde(rename = "promptCache")]
    prompt_cache: Option<Value>,
}

impl PromptCachePolicy {
    /// Parses the `promptCache:` key of `text` (YAML, or JSON when it starts with `{`);
    /// `served` are the friendly IDs any `models:` key must be one of.
    pub fn parse(text: &str, served: &[String]) -> Result<Self, String> {
        let doc: RawDocument = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| format!("promptCache: {e}"))?
        } else {
            let mut opts = serde_saphyr::Options::default();
            opts.with_snippet = false;
            serde_saphyr::from_str_with_options(text, opts)
                .map_err(|e| format!("promptCache: {e}"))?
        };
        match doc.prompt_cache {
            None | Some(Value::Null) => Ok(Self::default()),
            Some(Value::Object(mut fields)) => {
                let models = fields.remove("models");
                let default = Setting::from_value(&Value::Object(fields), "promptCache")?;
                let mut out = Self {
                    default,
                    models: BTreeMap::new(),
                };
                match models {
                    None | Some(Value::Null) => {}
                    Some(Value::Object(entries)) => {
                        for (model, value) in entries {
                            if !served.contains(&model) {
                                return Err(format!(
                                    "`promptCache.models` names `{model}`, which is not a served model; use a friendly ID from `models`{}",
                                    crate::model_names::suggest(&model, served)
                                        .map(|s| format!(" (did you mean `{s}`?)"))
                                        .unwrap_or_default()
                                ));
                            }
                            let at = format!("promptCache.models.{model}");
                            out.models.insert(model, Setting::from_value(&value, &at)?);
                        }
                    }
                    Some(_) => {
                        return Err(
                            "`promptCache.models` must map friendly model IDs to `auto`, `off` or {mode, ttl}"
                                .to_owned(),
                        );
                    }
                }
                Ok(out)
            }
            Some(other) => Ok(Self {
                default: Setting::from_value(&other, "promptCache")?,
                models: BTreeMap::new(),
            }),
        }
    }

    /// Whether, and how long, to cache a call to `model` (its friendly ID) for a tenant whose
    /// own setting is `tenant`, when the request itself opted out or not.
    pub fn decide(&self, model: &str, tenant: Setting, request_opted_out: bool) -> Decision {
        let levels = [
            self.default,
            self.models.get(model).copied().unwrap_or_default(),
            tenant,
        ];
        let says = |m| levels.iter().any(|l| l.mode == Some(m));
        Decision {
            place: !request_opted_out && says(Mode::Auto) && !says(Mode::Off),
            ttl: levels
                .iter()
                .rev()
                .find_map(|l| l.ttl)
                .unwrap_or(Ttl::FiveMinutes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOVA: &str = "us.amazon.nova-2-lite-v1:0";
    const OPUS: &str = "us.anthropic.claude-opus-5-5";

    fn served() -> Vec<String> {
        vec![NOVA.to_owned(), OPUS.to_owned()]
    }

    fn auto() -> Setting {
        Setting {
            mode: Some(Mode::Auto),
            ttl: None,
        }
    }

    #[test]
    fn absent_means_off_everywhere() {
        let p = PromptCachePolicy::parse("models: []\n", &served()).unwrap();
        assert!(!p.decide(OPUS, Setting::default(), false).place);
        assert!(p.decide(OPUS, auto(), false).place, "a tenant may opt in");
    }

    #[test]
    fn off_at_any_level_or_in_the_request_wins_and_the_nearest_ttl_applies() {
        let text = format!(
            "promptCache:\n  mode: auto\n  ttl: 1h\n  models:\n    {NOVA}: off\n    {OPUS}: {{ttl: 5m}}\n"
        );
        let p = PromptCachePolicy::parse(&text, &served()).unwrap();
        assert!(!p.decide(NOVA, auto(), false).place, "the model's off wins");
        let opus = p.decide(OPUS, Setting::default(), false);
        assert_eq!((opus.place, opus.ttl), (true, Ttl::FiveMinutes));
        let tenant = Setting {
            mode: Some(Mode::Off),
            ttl: None,
        };
        assert!(!p.decide(OPUS, tenant, false).place);
        assert!(!p.decide(OPUS, Setting::default(), true).place);
        let long = Setting {
            mode: None,
            ttl: Some(Ttl::OneHour),
        };
        assert_eq!(p.decide(OPUS, long, false).ttl, Ttl::OneHour);
    }

    #[test]
    fn the_short_form_and_json_are_read() {
        let p = PromptCachePolicy::parse("{\"promptCache\": \"auto\"}", &served()).unwrap();
        assert!(p.decide(NOVA, Setting::default(), false).place);
    }

    #[test]
    fn mistakes_are_named() {
        for (text, expected) in [
            (
                "promptCache: sometimes\n",
                "`promptCache` must be `auto` or `off`, got `sometimes`",
            ),
            (
                "promptCache: {mode: auto, ttl: 2h}\n",
                "`promptCache.ttl` must be `5m` or `1h`, got `2h`",
            ),
            (
                "promptCache: {mode: auto, size: 3}\n",
                "`promptCache.size` is not a prompt-cache setting",
            ),
            (
                "promptCache: {models: {us.amazon.nova-2-lite-v1:1: off}}\n",
                "not a served model; use a friendly ID from `models` (did you mean `us.amazon.nova-2-lite-v1:0`?)",
            ),
            (
                "promptCache: 3\n",
                "`promptCache` must be `auto`, `off` or {mode: auto, ttl: 5m}",
            ),
        ] {
            let e = PromptCachePolicy::parse(text, &served()).unwrap_err();
            assert!(e.contains(expected), "{text}: {e}");
        }
    }
}
