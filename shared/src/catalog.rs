//! What each model family can do, so the router shapes requests Bedrock will accept.
//!
//! [`capabilities_for`] accepts anything naming a model: a friendly ID, a foundation-model
//! ID or ARN, or a system-profile ID or ARN. The family is recognised from the model name
//! (provider prefix, geography and version suffix do not matter), so a new dated release
//! of a known family is covered without a code change. Claude versions are parsed
//! (`claude-3-5-sonnet`, `claude-sonnet-4-5`, `claude-opus-4-1`, ...) and rules keyed by
//! version, so Claude 4.6 or 5 inherit the newest rules. Anything unrecognised gets
//! [`Capabilities::conservative`]: no optional feature is claimed, so nothing is sent that
//! a model might reject.
//!
//! Figures follow the Bedrock model cards and Converse feature table at the time of writing.

use serde::Serialize;

use crate::arn::ModelRef;

/// How a model is asked to reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningShape {
    /// Anthropic extended thinking (Claude 3.7 and 4.x):
    /// `additionalModelRequestFields.thinking = {"type": "enabled", "budget_tokens": N}` with
    /// `min_budget_tokens <= N < maxTokens`. Temperature must stay unset and `topP`, when
    /// set, must be within 0.95–1.
    AnthropicThinking {
        /// Smallest budget Bedrock accepts.
        min_budget_tokens: u32,
    },
    /// Amazon Nova 2: `additionalModelRequestFields.reasoningConfig =
    /// {"type": "enabled", "maxReasoningEffort": "low"|"medium"|"high"}`. Sampling
    /// parameters are left unset while reasoning.
    NovaReasoningConfig,
    /// The model always reasons (DeepSeek R1); there is no switch. The reasoning arrives
    /// as `reasoningContent` blocks.
    AlwaysOn,
    /// OpenAI open-weight models: `additionalModelRequestFields.reasoning_effort =
    /// "low"|"medium"|"high"`.
    ReasoningEffort,
}

/// How hard the caller wants the model to think.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    /// Quick.
    Low,
    /// Balanced.
    Medium,
    /// Thorough.
    High,
}

impl Effort {
    fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// Anthropic thinking budget for this effort.
    fn budget_tokens(self) -> u32 {
        match self {
            Self::Low => 1024,
            Self::Medium => 4096,
            Self::High => 16384,
        }
    }
}

impl ReasoningShape {
    /// The `additionalModelRequestFields` that switch reasoning on at `effort` for a call
    /// allowed `max_tokens` output tokens. `None` when there is nothing to send (always-on
    /// models) or when `max_tokens` leaves no room for the smallest thinking budget.
    pub fn request_fields(self, effort: Effort, max_tokens: u32) -> Option<serde_json::Value> {
        match self {
            Self::AnthropicThinking { min_budget_tokens } => {
                // The budget must be below maxTokens, so the answer still has room.
                let ceiling = max_tokens.checked_sub(1)?;
                if ceiling < min_budget_tokens {
                    return None;
                }
                let budget = effort.budget_tokens().clamp(min_budget_tokens, ceiling);
                Some(serde_json::json!({"thinking": {"type": "enabled", "budget_tokens": budget}}))
            }
            Self::NovaReasoningConfig => Some(serde_json::json!({
                "reasoningConfig": {"type": "enabled", "maxReasoningEffort": effort.as_str()}
            })),
            Self::AlwaysOn => None,
            Self::ReasoningEffort => Some(serde_json::json!({"reasoning_effort": effort.as_str()})),
        }
    }

    /// Whether temperature must be left unset while reasoning.
    pub fn forbids_temperature(self) -> bool {
        matches!(
            self,
            Self::AnthropicThinking { .. } | Self::NovaReasoningConfig
        )
    }
}

/// How `temperature` and `topP` may be combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplingRule {
    /// Either, both or neither.
    Independent,
    /// At most one of the two (Claude Opus 4.1 and every Claude from 4.5 on reject both).
    TemperatureOrTopP,
}

/// A sampling combination the model would reject.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SamplingViolation {
    /// Both were set on a model that accepts only one.
    #[error("model family `{family}` accepts `temperature` or `top_p`, not both; send only one")]
    BothTemperatureAndTopP {
        /// The family.
        family: String,
    },
    /// Temperature was set while reasoning is on.
    #[error(
        "model family `{family}` does not accept `temperature` while reasoning is enabled; leave it unset"
    )]
    TemperatureWhileReasoning {
        /// The family.
        family: String,
    },
    /// `top_p` below what reasoning allows.
    #[error(
        "model family `{family}` accepts `top_p` between 0.95 and 1 while reasoning is enabled; got {top_p}"
    )]
    TopPWhileReasoning {
        /// The family.
        family: String,
        /// The value sent.
        top_p: f32,
    },
    /// Temperature or `top_p` outside 0–1.
    #[error("`{name}` must be between 0 and 1; got {value}")]
    OutOfRange {
        /// `temperature` or `top_p`.
        name: &'static str,
        /// The value sent.
        value: f32,
    },
}

/// How a model caches prompts: where Converse `cachePoint`s may go and when they store anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PromptCaching {
    /// Tokens the prompt prefix must reach before a checkpoint stores it; a checkpoint placed
    /// earlier is accepted but caches nothing.
    pub min_tokens: u32,
    /// Most checkpoints one request may carry.
    pub max_points: u8,
    /// A checkpoint may follow the tool definitions.
    pub in_tools: bool,
    /// Entries may live one hour (`ttl: 1h`) as well as the default five minutes.
    pub one_hour: bool,
}

/// What a model can do through Converse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// The family recognised (`claude-sonnet-4.5`, `nova-pro`, ...) or `unknown`.
    pub family: String,
    /// ConverseStream works.
    pub streaming: bool,
    /// `toolConfig` is accepted.
    pub tool_use: bool,
    /// `image` content blocks are accepted.
    pub image_input: bool,
    /// `document` content blocks are accepted.
    pub document_input: bool,
    /// How to switch reasoning on, when the model can reason.
    pub reasoning: Option<ReasoningShape>,
    /// How the model caches prompts (`cachePoint` blocks are accepted), when it does.
    pub prompt_caching: Option<PromptCaching>,
    /// How temperature and top_p combine.
    pub sampling: SamplingRule,
    /// Largest `maxTokens` accepted.
    pub max_output_tokens: u32,
    /// `outputConfig.textFormat` with a JSON schema is accepted.
    pub json_schema_output: bool,
    /// Invocable by its bare model ID; `false` means only through an inference profile.
    pub on_demand: bool,
}

impl Capabilities {
    /// What an unrecognised model gets: text in, text out, streaming, nothing optional.
    pub fn conservative() -> Self {
        Self {
            family: "unknown".to_owned(),
            streaming: true,
            tool_use: false,
            image_input: false,
            document_input: false,
            reasoning: None,
            prompt_caching: None,
            sampling: SamplingRule::TemperatureOrTopP,
            max_output_tokens: 4096,
            json_schema_output: false,
            on_demand: true,
        }
    }

    /// True when the family was recognised.
    pub fn is_known(&self) -> bool {
        self.family != "unknown"
    }

    /// Checks a sampling combination against this model's rules.
    pub fn check_sampling(
        &self,
        temperature: Option<f32>,
        top_p: Option<f32>,
        reasoning: bool,
    ) -> Result<(), SamplingViolation> {
        for (name, value) in [("temperature", temperature), ("top_p", top_p)] {
            if let Some(v) = value
                && !(0.0..=1.0).contains(&v)
            {
                return Err(SamplingViolation::OutOfRange { name, value: v });
            }
        }
        let family = || self.family.clone();
        if self.sampling == SamplingRule::TemperatureOrTopP
            && temperature.is_some()
            && top_p.is_some()
        {
            return Err(SamplingViolation::BothTemperatureAndTopP { family: family() });
        }
        if reasoning && let Some(shape) = self.reasoning {
            if shape.forbids_temperature() && temperature.is_some() {
                return Err(SamplingViolation::TemperatureWhileReasoning { family: family() });
            }
            if let (ReasoningShape::AnthropicThinking { .. }, Some(p)) = (shape, top_p)
                && p < 0.95
            {
                return Err(SamplingViolation::TopPWhileReasoning {
                    family: family(),
                    top_p: p,
                });
            }
        }
        Ok(())
    }
}

/// Capabilities of whatever `model` names. Never fails: unknown models get
/// [`Capabilities::conservative`].
pub fn capabilities_for(model: &str) -> Capabilities {
    let haystack = match ModelRef::parse(model.trim()) {
        Ok(r) => match r.foundation_model() {
            Some(m) => m.as_str().to_ascii_lowercase(),
            None => return Capabilities::conservative(),
        },
        Err(_) => model.trim().to_ascii_lowercase(),
    };
    // One spelling for `anthropic.claude-...`, `claude_...` and friendly names.
    let h = haystack.replace(['.', '_', ' ', '/'], "-");
    claude(&h)
        .or_else(|| nova(&h))
        .or_else(|| llama(&h))
        .or_else(|| mistral(&h))
        .or_else(|| cohere(&h))
        .or_else(|| deepseek(&h))
        .or_else(|| gpt_oss(&h))
        .unwrap_or_else(Capabilities::conservative)
}

fn caps(family: impl Into<String>) -> Capabilities {
    Capabilities {
        family: family.into(),
        streaming: true,
        tool_use: true,
        image_input: false,
        document_input: false,
        reasoning: None,
        prompt_caching: None,
        sampling: SamplingRule::Independent,
        max_output_tokens: 4096,
        json_schema_output: false,
        on_demand: true,
    }
}

/// Claude: finds the tier (haiku/sonnet/opus) and the version numbers around it, in both
/// naming schemes (`claude-3-5-sonnet-20240620`, `claude-sonnet-4-5-20250929`).
fn claude(h: &str) -> Option<Capabilities> {
    let start = h.find("claude-")?;
    let tokens: Vec<&str> = h[start + "claude-".len()..].split('-').collect();
    let tier_pos = tokens
        .iter()
        .position(|t| matches!(*t, "haiku" | "sonnet" | "opus"))?;
    let tier = tokens[tier_pos];
    fn small_number(t: &&str) -> bool {
        t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit())
    }
    let before: Vec<u32> = tokens[..tier_pos]
        .iter()
        .filter(|t| small_number(t))
        .filter_map(|t| t.parse().ok())
        .collect();
    let after: Vec<u32> = tokens[tier_pos + 1..]
        .iter()
        .take_while(|t| small_number(t))
        .filter_map(|t| t.parse().ok())
        .collect();
    let version = if before.is_empty() { after } else { before };
    let major = *version.first()?;
    let minor = version.get(1).copied().unwrap_or(0);
    let v = (major, minor);

    let mut c = caps(format!(
        "claude-{tier}-{major}{}",
        if minor > 0 {
            format!(".{minor}")
        } else {
            String::new()
        }
    ));
    c.document_input = true;
    c.image_input = !(v == (3, 5) && tier == "haiku");
    c.prompt_caching = (v >= (3, 7) || (v == (3, 5) && tier == "haiku")).then(|| {
        // Opus and Haiku from 4.5 need 4,096 tokens before a checkpoint, Sonnet from 4.6 and
        // Haiku 3.5 need 2,048, the rest 1,024; one-hour entries from 4.5 on (Anthropic's and
        // Bedrock's prompt-caching pages, read 2026-12-04; Claude 5 assumed to keep 4.6's rules).
        let min_tokens = match (tier, v) {
            ("opus" | "haiku", v) if v >= (4, 5) => 4096,
            ("sonnet", v) if v >= (4, 6) => 2048,
            ("haiku", (3, 5)) => 2048,
            _ => 1024,
        };
        PromptCaching {
            min_tokens,
            max_points: 4,
            in_tools: true,
            one_hour: v >= (4, 5),
        }
    });
    c.reasoning = (v >= (3, 7)).then_some(ReasoningShape::AnthropicThinking {
        min_budget_tokens: 1024,
    });
    c.sampling = if v >= (4, 5) || (v == (4, 1) && tier == "opus") {
        SamplingRule::TemperatureOrTopP
    } else {
        SamplingRule::Independent
    };
    // Claude 5 and Opus 4.6 write up to 128K tokens (Bedrock model cards, read 2026-12-04).
    c.max_output_tokens = match (v, tier) {
        (v, _) if v < (3, 5) => 4096,
        (v, _) if v < (3, 7) => 8192,
        (v, "opus") if v < (4, 5) => 32000,
        (v, _) if v >= (5, 0) => 128000,
        ((4, 6), "opus") => 128000,
        _ => 64000,
    };
    c.json_schema_output = v >= (4, 5);
    // From 3.7 on Claude is served only through inference profiles.
    c.on_demand = v < (3, 7);
    Some(c)
}

fn nova(h: &str) -> Option<Capabilities> {
    let rest = &h[h.find("nova-")? + "nova-".len()..];
    let (gen2, rest) = match rest.strip_prefix("2-") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let tier = ["micro", "lite", "pro", "premier"]
        .into_iter()
        .find(|t| rest.starts_with(t))?;
    let mut c = caps(format!("nova-{}{tier}", if gen2 { "2-" } else { "" }));
    c.image_input = tier != "micro";
    c.document_input = tier != "micro";
    // Nova caches the system prompt and messages, not tool definitions, from 1K tokens, with
    // the default five-minute entries only (Bedrock's prompt-caching page, read 2026-12-04).
    c.prompt_caching = Some(PromptCaching {
        min_tokens: 1024,
        max_points: 4,
        in_tools: false,
        one_hour: false,
    });
    c.max_output_tokens = match (gen2, tier) {
        (true, _) => 65535,
        (false, "premier") => 32000,
        _ => 10000,
    };
    c.reasoning = gen2.then_some(ReasoningShape::NovaReasoningConfig);
    c.on_demand = !gen2 && tier != "premier";
    Some(c)
}

fn llama(h: &str) -> Option<Capabilities> {
    let start = h.find("llama")?;
    let rest = &h[start + "llama".len()..];
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let mut c;
    if let Some(r) = rest.strip_prefix("4-") {
        let variant = if r.starts_with("maverick") {
            "maverick"
        } else if r.starts_with("scout") {
            "scout"
        } else {
            "4"
        };
        c = caps(format!("llama4-{variant}"));
        c.image_input = true;
        c.max_output_tokens = 8192;
        c.on_demand = false;
    } else if let Some(r) = rest.strip_prefix("3-") {
        let (minor, size) = match r.split_once('-') {
            Some((m, s)) if m.len() == 1 => (m, s),
            _ => ("0", r),
        };
        c = caps(format!("llama3.{minor}"));
        c.max_output_tokens = 2048;
        c.tool_use =
            minor != "0" && !(minor == "2" && (size.starts_with("1b") || size.starts_with("3b")));
        c.image_input = minor == "2" && (size.starts_with("11b") || size.starts_with("90b"));
        c.on_demand = matches!(minor, "0" | "1");
    } else {
        return None;
    }
    Some(c)
}

fn mistral(h: &str) -> Option<Capabilities> {
    let mut c;
    if h.contains("pixtral-large") {
        c = caps("pixtral-large");
        c.image_input = true;
        c.document_input = true;
        c.max_output_tokens = 8192;
        c.on_demand = false;
    } else if h.contains("mistral-large") {
        c = caps("mistral-large");
        c.document_input = true;
        c.max_output_tokens = 8192;
    } else if h.contains("mistral-small") {
        c = caps("mistral-small");
        c.max_output_tokens = 8192;
    } else if h.contains("mixtral") || h.contains("mistral-7b") {
        c = caps("mistral-7b-mixtral");
        c.tool_use = false;
        c.max_output_tokens = 8192;
    } else {
        return None;
    }
    Some(c)
}

fn cohere(h: &str) -> Option<Capabilities> {
    let mut c = if h.contains("command-r-plus") || h.contains("command-r+") {
        caps("command-r-plus")
    } else if h.contains("command-r") {
        caps("command-r")
    } else {
        return None;
    };
    c.document_input = true;
    c.max_output_tokens = 4096;
    Some(c)
}

fn deepseek(h: &str) -> Option<Capabilities> {
    if !h.contains("deepseek") {
        return None;
    }
    let mut c;
    if h.contains("r1") {
        c = caps("deepseek-r1");
        c.tool_use = false;
        c.reasoning = Some(ReasoningShape::AlwaysOn);
        c.max_output_tokens = 32768;
        c.on_demand = false;
    } else if h.contains("v3") {
        c = caps("deepseek-v3");
        c.max_output_tokens = 8192;
    } else {
        return None;
    }
    Some(c)
}

fn gpt_oss(h: &str) -> Option<Capabilities> {
    if !h.contains("gpt-oss") {
        return None;
    }
    let mut c = caps("gpt-oss");
    c.reasoning = Some(ReasoningShape::ReasoningEffort);
    c.max_output_tokens = 8192;
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(m: &str) -> String {
        capabilities_for(m).family
    }

    #[test]
    fn every_spelling_of_a_model_gets_the_same_capabilities() {
        let id = "anthropic.claude-sonnet-4-5-20250929-v1:0";
        let want = capabilities_for(id);
        for other in [
            format!("us.{id}"),
            format!("global.{id}"),
            format!("arn:aws:bedrock:us-east-1::foundation-model/{id}"),
            format!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.{id}"),
            "claude-sonnet-4-5".to_owned(),
        ] {
            assert_eq!(capabilities_for(&other), want, "{other}");
        }
        assert_eq!(want.family, "claude-sonnet-4.5");
    }

    #[test]
    fn claude_families_are_recognised_in_both_naming_schemes() {
        let cases = [
            ("anthropic.claude-3-haiku-20240307-v1:0", "claude-haiku-3"),
            ("anthropic.claude-3-sonnet-20240229-v1:0", "claude-sonnet-3"),
            ("anthropic.claude-3-opus-20240229-v1:0", "claude-opus-3"),
            (
                "anthropic.claude-3-5-sonnet-20241022-v2:0",
                "claude-sonnet-3.5",
            ),
            (
                "anthropic.claude-3-5-haiku-20241022-v1:0",
                "claude-haiku-3.5",
            ),
            (
                "anthropic.claude-3-7-sonnet-20250219-v1:0",
                "claude-sonnet-3.7",
            ),
            ("anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),
            ("anthropic.claude-opus-4-20250514-v1:0", "claude-opus-4"),
            ("anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4.1"),
            (
                "anthropic.claude-haiku-4-5-20251001-v1:0",
                "claude-haiku-4.5",
            ),
            ("anthropic.claude-opus-4-5-20251101-v1:0", "claude-opus-4.5"),
            ("anthropic.claude-sonnet-4-6", "claude-sonnet-4.6"),
            ("anthropic.claude-opus-4-6-v1", "claude-opus-4.6"),
            ("anthropic.claude-sonnet-5", "claude-sonnet-5"),
            ("us.anthropic.claude-haiku-5-5", "claude-haiku-5.5"),
            ("global.anthropic.claude-opus-5-5", "claude-opus-5.5"),
        ];
        for (id, fam) in cases {
            assert_eq!(family(id), fam, "{id}");
        }
    }

    #[test]
    fn claude_reasoning_starts_at_3_7_with_the_thinking_shape() {
        assert_eq!(
            capabilities_for("anthropic.claude-3-5-sonnet-20240620-v1:0").reasoning,
            None
        );
        for id in [
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
            "anthropic.claude-sonnet-4-20250514-v1:0",
            "anthropic.claude-opus-4-5-20251101-v1:0",
        ] {
            assert_eq!(
                capabilities_for(id).reasoning,
                Some(ReasoningShape::AnthropicThinking {
                    min_budget_tokens: 1024
                }),
                "{id}"
            );
        }
    }

    #[test]
    fn newer_claude_models_take_temperature_or_top_p_not_both() {
        for id in [
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "anthropic.claude-opus-4-5-20251101-v1:0",
            "anthropic.claude-opus-4-1-20250805-v1:0",
        ] {
            let c = capabilities_for(id);
            assert_eq!(c.sampling, SamplingRule::TemperatureOrTopP, "{id}");
            assert!(matches!(
                c.check_sampling(Some(0.5), Some(0.9), false),
                Err(SamplingViolation::BothTemperatureAndTopP { .. })
            ));
            assert!(c.check_sampling(Some(0.5), None, false).is_ok());
        }
        for id in [
            "anthropic.claude-sonnet-4-20250514-v1:0",
            "anthropic.claude-3-haiku-20240307-v1:0",
        ] {
            let c = capabilities_for(id);
            assert_eq!(c.sampling, SamplingRule::Independent, "{id}");
            assert!(c.check_sampling(Some(0.5), Some(0.9), false).is_ok());
        }
    }

    #[test]
    fn reasoning_forbids_temperature_and_low_top_p_on_claude() {
        let c = capabilities_for("anthropic.claude-3-7-sonnet-20250219-v1:0");
        assert!(matches!(
            c.check_sampling(Some(0.3), None, true),
            Err(SamplingViolation::TemperatureWhileReasoning { .. })
        ));
        assert!(matches!(
            c.check_sampling(None, Some(0.5), true),
            Err(SamplingViolation::TopPWhileReasoning { .. })
        ));
        assert!(c.check_sampling(None, Some(0.95), true).is_ok());
        assert!(c.check_sampling(Some(0.3), None, false).is_ok());
    }

    #[test]
    fn sampling_values_outside_zero_to_one_are_rejected() {
        let c = capabilities_for("amazon.nova-pro-v1:0");
        assert!(matches!(
            c.check_sampling(Some(1.5), None, false),
            Err(SamplingViolation::OutOfRange {
                name: "temperature",
                ..
            })
        ));
        assert!(matches!(
            c.check_sampling(None, Some(-0.1), false),
            Err(SamplingViolation::OutOfRange { name: "top_p", .. })
        ));
    }

    #[test]
    fn claude_from_3_7_is_profile_only() {
        assert!(capabilities_for("anthropic.claude-3-5-sonnet-20240620-v1:0").on_demand);
        assert!(!capabilities_for("anthropic.claude-3-7-sonnet-20250219-v1:0").on_demand);
        assert!(!capabilities_for("anthropic.claude-sonnet-4-5-20250929-v1:0").on_demand);
    }

    #[test]
    fn claude_3_5_haiku_takes_no_images_but_caches_prompts() {
        let c = capabilities_for("anthropic.claude-3-5-haiku-20241022-v1:0");
        assert!(!c.image_input && c.prompt_caching.is_some());
        let c = capabilities_for("anthropic.claude-3-haiku-20240307-v1:0");
        assert!(c.image_input && c.prompt_caching.is_none());
    }

    #[test]
    fn cache_checkpoint_rules_follow_the_model() {
        let rules = |id| capabilities_for(id).prompt_caching.unwrap();
        let min = |id| rules(id).min_tokens;
        assert_eq!(min("anthropic.claude-3-7-sonnet-20250219-v1:0"), 1024);
        assert_eq!(min("anthropic.claude-sonnet-4-5-20250929-v1:0"), 1024);
        assert_eq!(min("anthropic.claude-sonnet-4-6"), 2048);
        assert_eq!(min("anthropic.claude-3-5-haiku-20241022-v1:0"), 2048);
        assert_eq!(min("anthropic.claude-haiku-4-5-20251001-v1:0"), 4096);
        assert_eq!(min("us.anthropic.claude-opus-5-5"), 4096);
        assert!(rules("anthropic.claude-sonnet-4-5-20250929-v1:0").one_hour);
        assert!(!rules("anthropic.claude-3-7-sonnet-20250219-v1:0").one_hour);
        let nova = rules("us.amazon.nova-2-lite-v1:0");
        assert_eq!(
            (nova.min_tokens, nova.in_tools, nova.one_hour),
            (1024, false, false)
        );
        assert!(
            capabilities_for("meta.llama3-70b-instruct-v1:0")
                .prompt_caching
                .is_none()
        );
    }

    #[test]
    fn claude_output_limits_follow_the_version() {
        let max = |id| capabilities_for(id).max_output_tokens;
        assert_eq!(max("anthropic.claude-3-haiku-20240307-v1:0"), 4096);
        assert_eq!(max("anthropic.claude-3-5-sonnet-20241022-v2:0"), 8192);
        assert_eq!(max("anthropic.claude-3-7-sonnet-20250219-v1:0"), 64000);
        assert_eq!(max("anthropic.claude-opus-4-1-20250805-v1:0"), 32000);
        assert_eq!(max("anthropic.claude-opus-4-5-20251101-v1:0"), 64000);
        assert_eq!(max("anthropic.claude-opus-4-6-v1"), 128000);
        assert_eq!(max("us.anthropic.claude-opus-5-5"), 128000);
        assert_eq!(max("global.anthropic.claude-haiku-5-5"), 128000);
        assert_eq!(max("anthropic.claude-sonnet-4-6"), 64000);
    }

    #[test]
    fn nova_tiers_differ_in_media_and_profile_needs() {
        let micro = capabilities_for("amazon.nova-micro-v1:0");
        assert_eq!(micro.family, "nova-micro");
        assert!(
            !micro.image_input
                && micro.tool_use
                && micro.prompt_caching.is_some()
                && micro.on_demand
        );
        for (id, fam) in [
            ("amazon.nova-lite-v1:0", "nova-lite"),
            ("us.amazon.nova-pro-v1:0", "nova-pro"),
            ("us.amazon.nova-premier-v1:0", "nova-premier"),
        ] {
            let c = capabilities_for(id);
            assert_eq!(c.family, fam);
            assert!(
                c.image_input && c.document_input && c.reasoning.is_none(),
                "{id}"
            );
        }
        assert!(!capabilities_for("amazon.nova-premier-v1:0").on_demand);
        let nova2 = capabilities_for("us.amazon.nova-2-lite-v1:0");
        assert_eq!(nova2.family, "nova-2-lite");
        assert_eq!(nova2.reasoning, Some(ReasoningShape::NovaReasoningConfig));
    }

    #[test]
    fn llama_versions_decide_tools_and_vision() {
        let l30 = capabilities_for("meta.llama3-70b-instruct-v1:0");
        assert_eq!(l30.family, "llama3.0");
        assert!(!l30.tool_use && l30.on_demand);
        let l31 = capabilities_for("meta.llama3-1-70b-instruct-v1:0");
        assert_eq!(l31.family, "llama3.1");
        assert!(l31.tool_use && !l31.image_input);
        let l32v = capabilities_for("us.meta.llama3-2-90b-instruct-v1:0");
        assert!(l32v.image_input && l32v.tool_use && !l32v.on_demand);
        let l32s = capabilities_for("us.meta.llama3-2-1b-instruct-v1:0");
        assert!(!l32s.image_input && !l32s.tool_use);
        assert_eq!(family("us.meta.llama3-3-70b-instruct-v1:0"), "llama3.3");
        let l4 = capabilities_for("us.meta.llama4-maverick-17b-instruct-v1:0");
        assert_eq!(l4.family, "llama4-maverick");
        assert!(l4.image_input && !l4.on_demand);
        assert_eq!(
            family("us.meta.llama4-scout-17b-instruct-v1:0"),
            "llama4-scout"
        );
    }

    #[test]
    fn mistral_cohere_and_deepseek_are_recognised() {
        assert_eq!(family("mistral.mistral-large-2407-v1:0"), "mistral-large");
        assert_eq!(family("mistral.mistral-small-2402-v1:0"), "mistral-small");
        assert!(!capabilities_for("mistral.mixtral-8x7b-instruct-v0:1").tool_use);
        assert!(capabilities_for("us.mistral.pixtral-large-2502-v1:0").image_input);
        assert_eq!(family("cohere.command-r-plus-v1:0"), "command-r-plus");
        assert_eq!(family("cohere.command-r-v1:0"), "command-r");
        let r1 = capabilities_for("us.deepseek.r1-v1:0");
        assert_eq!(r1.family, "deepseek-r1");
        assert_eq!(r1.reasoning, Some(ReasoningShape::AlwaysOn));
        assert!(!r1.tool_use && !r1.on_demand);
        let v3 = capabilities_for("deepseek.v3-v1:0");
        assert_eq!(v3.family, "deepseek-v3");
        assert!(v3.tool_use && v3.reasoning.is_none());
    }

    #[test]
    fn unknown_models_get_the_conservative_default() {
        for m in [
            "",
            "my-model",
            "ai21.jamba-1-5-large-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12",
            "claude",
            "claude-sonnet",
            "nova-",
            "llama",
            "deepseek",
            "\u{1F600}claude-\u{1F600}",
        ] {
            let c = capabilities_for(m);
            assert_eq!(c, Capabilities::conservative(), "{m}");
            assert!(!c.is_known());
        }
        let c = Capabilities::conservative();
        assert!(!c.tool_use && !c.image_input && c.reasoning.is_none());
        assert_eq!(c.sampling, SamplingRule::TemperatureOrTopP);
    }

    #[test]
    fn reasoning_request_fields_have_the_real_parameter_shapes() {
        let anthropic = ReasoningShape::AnthropicThinking {
            min_budget_tokens: 1024,
        };
        assert_eq!(
            anthropic.request_fields(Effort::Medium, 8192),
            Some(serde_json::json!({"thinking": {"type": "enabled", "budget_tokens": 4096}}))
        );
        // The budget stays below maxTokens.
        assert_eq!(
            anthropic.request_fields(Effort::High, 2000),
            Some(serde_json::json!({"thinking": {"type": "enabled", "budget_tokens": 1999}}))
        );
        assert_eq!(anthropic.request_fields(Effort::Low, 1024), None);
        assert_eq!(
            ReasoningShape::NovaReasoningConfig.request_fields(Effort::High, 1000),
            Some(
                serde_json::json!({"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}})
            )
        );
        assert_eq!(
            ReasoningShape::AlwaysOn.request_fields(Effort::Low, 1000),
            None
        );
        assert_eq!(
            ReasoningShape::ReasoningEffort.request_fields(Effort::Low, 1000),
            Some(serde_json::json!({"reasoning_effort": "low"}))
        );
    }

    #[test]
    fn capabilities_serialise_for_diagnostics() {
        let v = serde_json::to_value(capabilities_for(
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
        ))
        .unwrap();
        assert_eq!(
            v["reasoning"]["anthropic_thinking"]["min_budget_tokens"],
            1024
        );
        assert_eq!(v["sampling"], "independent");
    }
}
