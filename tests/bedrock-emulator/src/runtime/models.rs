//! What each model family can do, derived from the foundation-model ID (the catalog in the
//! state knows access and regions; the runtime needs formats and limits).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Anthropic,
    Nova,
    Llama,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reasoning {
    /// Anthropic's `thinking: {type: enabled, budget_tokens}`.
    Thinking,
    /// Nova 2's `reasoningConfig: {type: enabled}`.
    ReasoningConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub family: Family,
    pub reasoning: Option<Reasoning>,
    pub max_output_tokens: u32,
}

/// Limits follow the providers' published model cards.
pub fn capabilities(foundation_model_id: &str) -> Capabilities {
    let id = foundation_model_id;
    if let Some(rest) = id.strip_prefix("anthropic.") {
        let thinking = [
            "claude-3-7",
            "claude-sonnet-4",
            "claude-opus-4",
            "claude-haiku-4",
        ]
        .iter()
        .any(|p| rest.starts_with(p));
        let max = if rest.starts_with("claude-3-7") {
            131_072
        } else if rest.starts_with("claude-opus-4-1") || rest.starts_with("claude-opus-4-2") {
            32_000
        } else if thinking {
            64_000
        } else if rest.starts_with("claude-3-5") {
            8_192
        } else {
            4_096
        };
        return Capabilities {
            family: Family::Anthropic,
            reasoning: thinking.then_some(Reasoning::Thinking),
            max_output_tokens: max,
        };
    }
    if let Some(rest) = id.strip_prefix("amazon.nova") {
        let nova2 = rest.starts_with("-2");
        return Capabilities {
            family: Family::Nova,
            reasoning: nova2.then_some(Reasoning::ReasoningConfig),
            max_output_tokens: if nova2 { 65_536 } else { 10_000 },
        };
    }
    if id.starts_with("meta.llama") {
        return Capabilities {
            family: Family::Llama,
            reasoning: None,
            max_output_tokens: 2_048,
        };
    }
    Capabilities {
        family: Family::Other,
        reasoning: None,
        max_output_tokens: 4_096,
    }
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
}
