//! What Bedrock accepts in a Claude InvokeModel body, per model: the `anthropic_beta` values
//! and the top-level fields beyond the Messages API's core ones.
//!
//! Bedrock answers 400 ("invalid beta flag", "extraneous key [x] is not permitted") to a beta
//! or field the model does not take there, while Anthropic's own API takes them, so callers
//! written for Anthropic (Claude Code sends `claude-code-20250219`, `prompt-caching-scope-…`,
//! `metadata`, `context_management`, …) fail on Bedrock unless the router drops what the target
//! cannot take.
//!
//! Sources (taken 2026-12-04): the Amazon Bedrock User Guide, "Anthropic Claude Messages API —
//! Request and Response" (`anthropic_beta`, the request fields) and the per-feature pages
//! (extended and adaptive thinking, compaction, context management, effort, tool search);
//! cross-checked against the per-provider beta allow-lists that gateways publish for Bedrock's
//! InvokeModel. A beta not listed here is dropped: an unknown flag is refused by Bedrock, while
//! a dropped flag only turns an experimental feature off.

/// A Claude model's tier and version, as far as the features below depend on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaudeModel {
    /// `haiku`, `sonnet` or `opus`.
    pub tier: &'static str,
    /// `(4, 5)` for Claude Sonnet 4.5.
    pub version: (u32, u32),
}

impl ClaudeModel {
    /// The Claude model a model ID, system-profile ID or Anthropic name names (both naming
    /// schemes: `claude-3-7-sonnet-…` and `claude-sonnet-4-5-…`); `None` for anything else.
    pub fn of(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        let start = lower.find("claude-")?;
        let tokens: Vec<&str> = lower[start + "claude-".len()..].split(['-', ':']).collect();
        let tier_pos = tokens
            .iter()
            .position(|t| matches!(*t, "haiku" | "sonnet" | "opus"))?;
        let tier = match tokens[tier_pos] {
            "haiku" => "haiku",
            "sonnet" => "sonnet",
            _ => "opus",
        };
        fn small(t: &&&str) -> bool {
            t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit())
        }
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
        let v = if before.is_empty() { after } else { before };
        let major = *v.first()?;
        Some(Self {
            tier,
            version: (major, v.get(1).copied().unwrap_or(0)),
        })
    }

    /// Whether the model thinks on Bedrock at all (`thinking: {"type": "enabled"}`).
    pub fn thinks(self) -> bool {
        self.version >= (3, 7)
    }

    /// Whether it takes `thinking: {"type": "adaptive"}` (Claude 4.6 and later).
    pub fn adaptive_thinking(self) -> bool {
        self.version >= (4, 6)
    }

    /// The `anthropic_beta` values Bedrock takes for this model.
    pub fn accepted_betas(self) -> Vec<&'static str> {
        BETAS
            .iter()
            .filter(|(_, rule)| rule(self))
            .map(|(beta, _)| *beta)
            .collect()
    }

    /// Whether Bedrock takes `beta` for this model.
    pub fn accepts_beta(self, beta: &str) -> bool {
        BETAS
            .iter()
            .any(|(known, rule)| *known == beta && rule(self))
    }

    /// Whether Bedrock takes the top-level body field `field` for this model.
    pub fn accepts_field(self, field: &str) -> bool {
        match field {
            "anthropic_version" | "anthropic_beta" | "max_tokens" | "messages" | "system"
            | "temperature" | "top_p" | "top_k" | "stop_sequences" | "tools" | "tool_choice" => {
                true
            }
            "thinking" => self.thinks(),
            // Effort and structured output settings.
            "output_config" => {
                self.version >= (4, 5) && self.tier == "opus" || self.version >= (4, 6)
            }
            // Tool-result clearing and thinking clearing, with its beta.
            "context_management" => self.accepts_beta("context-management-2025-06-27"),
            _ => false,
        }
    }
}

type Rule = fn(ClaudeModel) -> bool;

/// Each beta Bedrock documents for Claude, with the models that take it.
const BETAS: &[(&str, Rule)] = &[
    ("computer-use-2024-10-22", |m| {
        m.version == (3, 5) && m.tier == "sonnet"
    }),
    ("computer-use-2025-01-24", |m| m.version >= (3, 7)),
    ("computer-use-2025-11-24", |m| {
        m.version >= (4, 5) && m.tier == "opus" || m.version >= (4, 6)
    }),
    ("token-efficient-tools-2025-02-19", |m| m.version == (3, 7)),
    ("output-128k-2025-02-19", |m| m.version == (3, 7)),
    ("interleaved-thinking-2025-05-14", |m| m.version >= (4, 0)),
    ("dev-full-thinking-2025-05-14", |m| m.version >= (4, 0)),
    ("fine-grained-tool-streaming-2025-05-14", |m| {
        m.version >= (4, 0)
    }),
    ("context-1m-2025-08-07", |m| {
        m.tier == "sonnet" && m.version >= (4, 0)
    }),
    ("context-management-2025-06-27", |m| m.version >= (4, 5)),
    ("tool-search-tool-2025-10-19", |m| {
        m.version >= (4, 5) && m.tier != "haiku"
    }),
    ("tool-examples-2025-10-29", |m| {
        m.version >= (4, 5) && m.tier != "haiku"
    }),
    ("effort-2025-11-24", |m| {
        m.version >= (4, 5) && m.tier == "opus" || m.version >= (4, 6)
    }),
    ("compact-2026-01-12", |m| m.version >= (4, 6)),
    ("mid-conversation-output-config-2026-07-01", |m| {
        m.version >= (4, 6)
    }),
    ("mid-conversation-tool-changes-2026-07-01", |m| {
        m.version >= (4, 6)
    }),
    ("thinking-binding-controls-2026-08-01", |m| {
        m.version >= (4, 6)
    }),
    ("thinking-display-updates-2026-08-18", |m| {
        m.version >= (4, 6)
    }),
    ("dangerous-tool-use-2026-09-03", |m| m.version >= (4, 6)),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_naming_schemes_name_the_same_claude() {
        let sonnet = ClaudeModel::of("us.anthropic.claude-sonnet-4-5-20250929-v1:0").unwrap();
        assert_eq!(sonnet.tier, "sonnet");
        assert_eq!(sonnet.version, (4, 5));
        let old = ClaudeModel::of("anthropic.claude-3-7-sonnet-20250219-v1:0").unwrap();
        assert_eq!((old.tier, old.version), ("sonnet", (3, 7)));
        let opus = ClaudeModel::of("claude-opus-5-5").unwrap();
        assert_eq!((opus.tier, opus.version), ("opus", (5, 5)));
        assert_eq!(ClaudeModel::of("amazon.nova-pro-v1:0"), None);
    }

    #[test]
    fn claude_codes_own_betas_are_never_accepted_and_documented_ones_are_by_model() {
        let opus = ClaudeModel::of("claude-opus-5-5").unwrap();
        for beta in [
            "claude-code-20250219",
            "prompt-caching-scope-2026-01-05",
            "oauth-2025-04-20",
            "files-api-2025-04-14",
        ] {
            assert!(!opus.accepts_beta(beta), "{beta}");
        }
        for beta in [
            "interleaved-thinking-2025-05-14",
            "context-management-2025-06-27",
            "effort-2025-11-24",
        ] {
            assert!(opus.accepts_beta(beta), "{beta}");
        }
        let haiku = ClaudeModel::of("claude-haiku-4-5-20251001").unwrap();
        assert!(!haiku.accepts_beta("effort-2025-11-24"));
        assert!(!haiku.accepts_beta("context-1m-2025-08-07"));
        let sonnet37 = ClaudeModel::of("anthropic.claude-3-7-sonnet-20250219-v1:0").unwrap();
        assert!(sonnet37.accepts_beta("output-128k-2025-02-19"));
        assert!(!sonnet37.accepts_beta("interleaved-thinking-2025-05-14"));
    }

    #[test]
    fn fields_follow_the_features_the_model_has() {
        let haiku35 = ClaudeModel::of("anthropic.claude-3-5-haiku-20241022-v1:0").unwrap();
        assert!(!haiku35.accepts_field("thinking"));
        assert!(haiku35.accepts_field("tools"));
        let sonnet45 = ClaudeModel::of("claude-sonnet-4-5-20250929").unwrap();
        assert!(sonnet45.accepts_field("thinking"));
        assert!(!sonnet45.adaptive_thinking());
        assert!(sonnet45.accepts_field("context_management"));
        assert!(!sonnet45.accepts_field("output_config"));
        let opus = ClaudeModel::of("claude-opus-5-5").unwrap();
        assert!(opus.adaptive_thinking() && opus.accepts_field("output_config"));
        for never in [
            "metadata",
            "service_tier",
            "container",
            "mcp_servers",
            "model",
            "stream",
        ] {
            assert!(!opus.accepts_field(never), "{never}");
        }
    }
}
