//! What each model family can do, derived from the foundation-model ID (the catalog in the
//! state knows access and regions; the runtime needs formats and limits).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Anthropic,
    Nova,
    Llama,
    Embedding(Embedder),
    Other,
}

/// The embedding request formats served on InvokeModel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedder {
    TitanV2,
    CohereV3,
    CohereV4,
    /// `amazon.nova-2-multimodal-embeddings-v1:0` (text only here).
    NovaMultimodal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reasoning {
    /// Anthropic's `thinking: {type: enabled, budget_tokens}` and/or `{type: adaptive}`.
    Thinking,
    /// Nova 2's `reasoningConfig: {type: enabled}`.
    ReasoningConfig,
}

/// Which `thinking` types a Claude model takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThinkingTypes {
    /// Claude 3.7 to 4.5: `enabled` with a `budget_tokens`.
    Budget,
    /// Claude 4.6: `enabled` with a budget, or `adaptive`.
    BudgetOrAdaptive,
    /// Claude 5: `adaptive` only; a budget is refused.
    Adaptive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub family: Family,
    pub reasoning: Option<Reasoning>,
    pub thinking_types: ThinkingTypes,
    pub max_output_tokens: u32,
    /// Smallest prefix, in tokens, a cache checkpoint stores; `None` where the model does not
    /// cache prompts.
    pub cache_min_tokens: Option<u32>,
    /// Claude's tier and version (which `anthropic_beta` values it takes, among others).
    pub claude: Option<Claude>,
    /// Whether the model answers CountTokens (Bedrock counts for Claude from 3.5 on).
    pub count_tokens: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Haiku,
    Sonnet,
    Opus,
}

/// A Claude model's tier and (major, minor) version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claude {
    pub tier: Tier,
    pub version: (u32, u32),
}

impl Claude {
    /// Whether Bedrock accepts `beta` in `anthropic_beta` for this model: the betas of the
    /// "Anthropic Claude Messages API" request reference of the Bedrock User Guide
    /// (model-parameters-anthropic-claude-messages-request-response.html, as of late 2025),
    /// and the per-feature pages for the 2026 betas (read 2026-12-04). Anything else (Claude Code's own
    /// `claude-code-20250219`, for one) is refused.
    pub fn accepts_beta(self, beta: &str) -> bool {
        let v = self.version;
        match beta {
            "computer-use-2024-10-22" => self.tier == Tier::Sonnet && v == (3, 5),
            "output-128k-2025-02-19" => v == (3, 7),
            "computer-use-2025-01-24" | "token-efficient-tools-2025-02-19" => v >= (3, 7),
            "interleaved-thinking-2025-05-14"
            | "dev-full-thinking-2025-05-14"
            | "fine-grained-tool-streaming-2025-05-14" => v >= (4, 0),
            "context-1m-2025-08-07" => self.tier == Tier::Sonnet && v >= (4, 0),
            "context-management-2025-06-27" | "tool-search-tool-2025-10-19" => v >= (4, 5),
            "tool-examples-2025-10-29" => v >= (4, 5) && self.tier != Tier::Haiku,
            "computer-use-2025-11-24" | "effort-2025-11-24" => {
                v >= (4, 6) || (self.tier == Tier::Opus && v >= (4, 5))
            }
            // The 2026 betas of the per-feature pages (compaction, mid-conversation changes,
            // thinking controls, dangerous-tool use), from Claude 4.6 on.
            "compact-2026-01-12"
            | "mid-conversation-output-config-2026-07-01"
            | "mid-conversation-tool-changes-2026-07-01"
            | "thinking-binding-controls-2026-08-01"
            | "thinking-display-updates-2026-08-18"
            | "dangerous-tool-use-2026-09-03" => v >= (4, 6),
            _ => false,
        }
    }
}

/// Claude's tier and (major, minor) version from an ID in either naming scheme
/// (`claude-3-5-sonnet-20240620`, `claude-sonnet-4-5-20250929`, `claude-opus-5-5`).
fn claude_version(rest: &str) -> Option<(Tier, (u32, u32))> {
    let tokens: Vec<&str> = rest.strip_prefix("claude-")?.split(['-', ':']).collect();
    let tier_pos = tokens
        .iter()
        .position(|t| matches!(*t, "haiku" | "sonnet" | "opus"))?;
    let small = |t: &&&str| t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit());
    let before: Vec<u32> = tokens[..tier_pos]
        .iter()
        .filter(small)
        .filter_map(|t| t.parse().ok())
        .collect();
    let after: Vec<u32> = tokens[tier_pos + 1..]
        .iter()
        .take_while(small)
        .filter_map(|t| t.parse().ok())
        .collect();
    let version = if before.is_empty() { after } else { before };
    let tier = match tokens[tier_pos] {
        "haiku" => Tier::Haiku,
        "sonnet" => Tier::Sonnet,
        _ => Tier::Opus,
    };
    Some((
        tier,
        (*version.first()?, version.get(1).copied().unwrap_or(0)),
    ))
}

fn anthropic(rest: &str) -> Capabilities {
    let claude = claude_version(rest).map(|(tier, version)| Claude { tier, version });
    let (tier, v) = claude.map_or((None, (0, 0)), |c| (Some(c.tier), c.version));
    let thinking = v >= (3, 7);
    let max_output_tokens = match (tier, v) {
        (_, v) if v >= (5, 0) => 128_000,
        (Some(Tier::Opus), (4, 6)) => 128_000,
        (_, (3, 7)) => 131_072,
        (Some(Tier::Opus), (4, 0) | (4, 1)) => 32_000,
        _ if thinking => 64_000,
        (_, (3, 5)) => 8_192,
        _ => 4_096,
    };
    let cache_min_tokens = match (tier, v) {
        (Some(Tier::Haiku), (3, 5)) => Some(2048),
        (Some(Tier::Opus | Tier::Haiku), v) if v >= (4, 5) => Some(4096),
        (Some(Tier::Sonnet), v) if v >= (4, 6) => Some(2048),
        (_, v) if v >= (3, 7) => Some(1024),
        _ => None,
    };
    Capabilities {
        family: Family::Anthropic,
        reasoning: thinking.then_some(Reasoning::Thinking),
        thinking_types: if v >= (5, 0) {
            ThinkingTypes::Adaptive
        } else if v >= (4, 6) {
            ThinkingTypes::BudgetOrAdaptive
        } else {
            ThinkingTypes::Budget
        },
        max_output_tokens,
        cache_min_tokens,
        claude,
        count_tokens: v >= (3, 5),
    }
}

impl Capabilities {
    /// Whether Bedrock accepts `beta` in this model's `anthropic_beta` (never for non-Claude).
    pub fn accepts_beta(&self, beta: &str) -> bool {
        self.claude.is_some_and(|c| c.accepts_beta(beta))
    }
}

/// Limits follow the providers' published model cards.
pub fn capabilities(foundation_model_id: &str) -> Capabilities {
    let id = foundation_model_id;
    let plain = |family, max_output_tokens| Capabilities {
        family,
        reasoning: None,
        thinking_types: ThinkingTypes::Budget,
        max_output_tokens,
        cache_min_tokens: None,
        claude: None,
        count_tokens: false,
    };
    if let Some(rest) = id.strip_prefix("anthropic.") {
        return anthropic(rest);
    }
    let embedder = match id {
        "amazon.titan-embed-text-v2:0" => Some(Embedder::TitanV2),
        "cohere.embed-english-v3" | "cohere.embed-multilingual-v3" => Some(Embedder::CohereV3),
        "cohere.embed-v4:0" => Some(Embedder::CohereV4),
        "amazon.nova-2-multimodal-embeddings-v1:0" => Some(Embedder::NovaMultimodal),
        _ => None,
    };
    if let Some(e) = embedder {
        return plain(Family::Embedding(e), 0);
    }
    if let Some(rest) = id.strip_prefix("amazon.nova") {
        let nova2 = rest.starts_with("-2");
        return Capabilities {
            reasoning: nova2.then_some(Reasoning::ReasoningConfig),
            cache_min_tokens: Some(1024),
            ..plain(Family::Nova, if nova2 { 65_536 } else { 10_000 })
        };
    }
    if id.starts_with("meta.llama") {
        return plain(Family::Llama, 2_048);
    }
    plain(Family::Other, 4_096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_claude_models_think_and_nova_pro_does_not() {
        let sonnet = capabilities("anthropic.claude-sonnet-4-5-20250929-v1:0");
        assert_eq!(sonnet.family, Family::Anthropic);
        assert_eq!(sonnet.reasoning, Some(Reasoning::Thinking));
        let nova = capabilities("amazon.nova-pro-v1:0");
        assert_eq!(nova.family, Family::Nova);
        assert_eq!(nova.reasoning, None);
        assert_eq!(nova.max_output_tokens, 10_000);
        assert_eq!(
            capabilities("meta.llama3-1-70b-instruct-v1:0").family,
            Family::Llama
        );
    }

    #[test]
    fn the_claude_5_generation_thinks_adaptively_with_a_larger_output() {
        for id in [
            "anthropic.claude-opus-5-5",
            "anthropic.claude-haiku-5-5",
            "anthropic.claude-sonnet-5",
        ] {
            let c = capabilities(id);
            assert_eq!(c.thinking_types, ThinkingTypes::Adaptive, "{id}");
            assert_eq!(c.max_output_tokens, 128_000, "{id}");
            assert!(c.accepts_beta("effort-2025-11-24"), "{id}");
        }
        let opus46 = capabilities("anthropic.claude-opus-4-6-v1");
        assert_eq!(opus46.thinking_types, ThinkingTypes::BudgetOrAdaptive);
        assert_eq!(opus46.max_output_tokens, 128_000);
        let haiku45 = capabilities("anthropic.claude-haiku-4-5-20251001-v1:0");
        assert_eq!(haiku45.cache_min_tokens, Some(4096));
        assert!(!haiku45.accepts_beta("context-1m-2025-08-07"));
        assert!(!haiku45.accepts_beta("effort-2025-11-24"));
        assert!(
            capabilities("anthropic.claude-sonnet-4-5-20250929-v1:0")
                .accepts_beta("context-1m-2025-08-07")
        );
        assert!(!capabilities("anthropic.claude-opus-5-5").accepts_beta("claude-code-20250219"));
        assert!(
            capabilities("anthropic.claude-3-haiku-20240307-v1:0")
                .cache_min_tokens
                .is_none()
        );
        assert!(!capabilities("anthropic.claude-3-haiku-20240307-v1:0").count_tokens);
    }
}
