//! The many spellings of one model, and the aliases that send a name to a served model.
//!
//! Callers name models in several schemes: Anthropic's API names (`claude-opus-5-5`,
//! `claude-haiku-4-5-20251001`), Bedrock model IDs (`anthropic.claude-haiku-4-5-20251001-v1:0`)
//! and system-profile IDs (`us.anthropic.claude-haiku-4-5-20251001-v1:0`). [`ModelName`] is
//! where they meet: the geo prefix, the provider prefix and the Bedrock version suffix go, and
//! a trailing snapshot date is kept apart, so a dated name matches its own snapshot first and
//! any served snapshot of the same model after that.
//!
//! [`Aliases`] is the product-only `modelAliases` key: `name: friendly ID` pairs, where a
//! name ending in `*` matches every name with that prefix (`claude-haiku-*`), so a team can
//! send Claude Code's background model to whatever it serves.

use crate::arn::ModelRef;

/// Geo prefixes of system-defined inference profiles.
const GEO_PREFIXES: [&str; 8] = [
    "us-gov.", "global.", "apac.", "us.", "eu.", "jp.", "au.", "ca.",
];

/// A model name with its spelling differences removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelName {
    /// `claude-haiku-4-5`, `nova-pro`: no geo/provider prefix, no version suffix (case is kept:
    /// lookups stay case-sensitive, like every other model lookup).
    pub base: String,
    /// `20251001` when the name carries a snapshot date.
    pub snapshot: Option<String>,
}

impl ModelName {
    /// The name under any of the schemes above; `None` for something that cannot be a model
    /// name (empty, an ARN of an application profile, whitespace inside).
    pub fn of(name: &str) -> Option<Self> {
        let mut n = name.trim().to_owned();
        if n.is_empty() || n.contains(char::is_whitespace) {
            return None;
        }
        if n.starts_with("arn:") {
            // A foundation-model or system-profile ARN names a model; an application
            // profile's ARN does not.
            let reference = ModelRef::parse(name.trim()).ok()?;
            n = reference.foundation_model()?.as_str().to_owned();
        }
        for geo in GEO_PREFIXES {
            if let Some(rest) = n.strip_prefix(geo) {
                n = rest.to_owned();
                break;
            }
        }
        if let Some((provider, rest)) = n.split_once('.')
            && !provider.is_empty()
            && provider
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            n = rest.to_owned();
        }
        // `-v1:0`, `-v2`, `:0` (Bedrock's version suffix) and `-latest` (Anthropic's alias).
        if let Some(i) = n.find(':') {
            n.truncate(i);
        }
        if let Some(i) = n.rfind("-v")
            && n[i + 2..].bytes().all(|b| b.is_ascii_digit())
            && n.len() > i + 2
        {
            n.truncate(i);
        }
        if let Some(rest) = n.strip_suffix("-latest") {
            n = rest.to_owned();
        }
        let snapshot = match n.rsplit_once('-') {
            Some((head, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => {
                let date = date.to_owned();
                n = head.to_owned();
                Some(date)
            }
            _ => None,
        };
        (!n.is_empty()).then_some(Self { base: n, snapshot })
    }

    /// How well `self` (what a caller asked for) is served by `served`: 2 for the same
    /// snapshot (or both undated), 1 for the same model at another or no snapshot, 0 for a
    /// different model.
    pub fn match_score(&self, served: &ModelName) -> u8 {
        if self.base != served.base {
            0
        } else if self.snapshot == served.snapshot {
            2
        } else {
            1
        }
    }
}

/// One `modelAliases` entry: a name (or a prefix ending in `*`) and the friendly ID it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// As written: exact, or a prefix when it ends in `*`.
    pub pattern: String,
    /// A friendly ID in `models`.
    pub target: String,
}

impl Alias {
    fn matches(&self, name: &str) -> bool {
        match self.pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => self.pattern == name,
        }
    }
}

/// Why a `modelAliases` entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AliasError {
    /// Empty name or a `*` anywhere but at the end.
    #[error(
        "`modelAliases` key `{pattern}` is not a model name or a prefix ending in `*` (a `*` may only end the key, e.g. `claude-haiku-*`)"
    )]
    BadPattern {
        /// The key as written.
        pattern: String,
    },
    /// The target is not served.
    #[error(
        "`modelAliases` maps `{pattern}` to `{target}`, which is not in `models`{}; an alias must name a served model", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
    )]
    UnknownTarget {
        /// The key.
        pattern: String,
        /// The value.
        target: String,
        /// The nearest served model.
        suggestion: Option<String>,
    },
    /// The same key twice.
    #[error("`modelAliases` lists `{pattern}` twice; keep one")]
    Duplicate {
        /// The key.
        pattern: String,
    },
}

/// The `modelAliases` of one config. An exact entry wins over every prefix, and a longer prefix
/// over a shorter one, so the order of entries never matters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aliases(pub Vec<Alias>);

impl Aliases {
    /// Validates `pairs` against the served `models`.
    pub fn new(pairs: Vec<(String, String)>, models: &[String]) -> Result<Self, AliasError> {
        let mut out: Vec<Alias> = Vec::with_capacity(pairs.len());
        for (pattern, target) in pairs {
            let pattern = pattern.trim().to_owned();
            let target = target.trim().to_owned();
            let star = pattern.find('*');
            if pattern.is_empty()
                || star.is_some_and(|i| i + 1 != pattern.len())
                || pattern.contains(char::is_whitespace)
            {
                return Err(AliasError::BadPattern { pattern });
            }
            if !models.contains(&target) {
                return Err(AliasError::UnknownTarget {
                    suggestion: suggest(&target, models),
                    pattern,
                    target,
                });
            }
            if out.iter().any(|a| a.pattern == pattern) {
                return Err(AliasError::Duplicate { pattern });
            }
            out.push(Alias { pattern, target });
        }
        Ok(Self(out))
    }

    /// The friendly ID `name` is an alias of, if any.
    pub fn lookup(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .filter(|a| a.matches(name))
            .max_by_key(|a| {
                let exact = !a.pattern.ends_with('*');
                (exact, a.pattern.len())
            })
            .map(|a| a.target.as_str())
    }
}

/// The model `key` most likely meant: the closest one by edit distance ignoring case (so a
/// case-only difference, distance 0, always wins), within a small limit.
pub(crate) fn suggest(key: &str, candidates: &[String]) -> Option<String> {
    let limit = 3.max(key.chars().count() / 10);
    candidates
        .iter()
        .map(|c| (edit_distance(&key.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

/// Levenshtein distance over chars.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(base: &str, snapshot: Option<&str>) -> ModelName {
        ModelName {
            base: base.into(),
            snapshot: snapshot.map(Into::into),
        }
    }

    #[test]
    fn every_scheme_of_one_claude_model_meets_in_one_name() {
        let dated = name("claude-haiku-4-5", Some("20251001"));
        for spelling in [
            "claude-haiku-4-5-20251001",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "global.anthropic.claude-haiku-4-5-20251001-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0",
        ] {
            assert_eq!(ModelName::of(spelling), Some(dated.clone()), "{spelling}");
        }
        assert_eq!(
            ModelName::of("claude-opus-5-5"),
            Some(name("claude-opus-5-5", None))
        );
        assert_eq!(
            ModelName::of("us.anthropic.claude-opus-5-5-v1"),
            Some(name("claude-opus-5-5", None))
        );
        assert_eq!(
            ModelName::of("claude-3-5-haiku-latest"),
            Some(name("claude-3-5-haiku", None))
        );
        assert_eq!(
            ModelName::of("amazon.nova-pro-v1:0"),
            Some(name("nova-pro", None))
        );
    }

    #[test]
    fn application_profile_arns_and_junk_are_not_model_names() {
        assert_eq!(
            ModelName::of(
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123def456"
            ),
            None
        );
        assert_eq!(ModelName::of(""), None);
        assert_eq!(ModelName::of("claude opus"), None);
    }

    #[test]
    fn the_same_snapshot_scores_above_another_snapshot_of_the_same_model() {
        let asked = ModelName::of("claude-haiku-4-5-20251001").unwrap();
        let same = ModelName::of("us.anthropic.claude-haiku-4-5-20251001-v1:0").unwrap();
        let later = ModelName::of("anthropic.claude-haiku-4-5-20261201-v1:0").unwrap();
        let other = ModelName::of("anthropic.claude-sonnet-4-5-20250929-v1:0").unwrap();
        assert_eq!(asked.match_score(&same), 2);
        assert_eq!(asked.match_score(&later), 1);
        assert_eq!(asked.match_score(&other), 0);
        let undated = ModelName::of("claude-opus-5-5").unwrap();
        assert_eq!(
            undated.match_score(&ModelName::of("anthropic.claude-opus-5-5-v1:0").unwrap()),
            2
        );
    }

    #[test]
    fn aliases_match_exactly_first_then_by_the_longest_prefix() {
        let models = vec!["nova-lite".to_owned(), "sonnet".to_owned()];
        let aliases = Aliases::new(
            vec![
                ("claude-*".into(), "sonnet".into()),
                ("claude-haiku-*".into(), "nova-lite".into()),
                ("claude-haiku-4-5-20251001".into(), "sonnet".into()),
            ],
            &models,
        )
        .unwrap();
        assert_eq!(aliases.lookup("claude-haiku-4-5-20251001"), Some("sonnet"));
        assert_eq!(
            aliases.lookup("claude-haiku-3"),
            Some("nova-lite"),
            "longest prefix"
        );
        assert_eq!(aliases.lookup("claude-opus-5-5"), Some("sonnet"));
        assert_eq!(aliases.lookup("gpt-4o"), None);
    }

    #[test]
    fn bad_aliases_are_refused_with_the_fix() {
        let models = vec!["sonnet".to_owned(), "nova".to_owned()];
        let err = Aliases::new(vec![("claude".into(), "sonet".into())], &models).unwrap_err();
        assert!(err.to_string().contains("did you mean `sonnet`"), "{err}");
        for bad in ["", "cl*ude", "**", "two words"] {
            assert!(
                matches!(
                    Aliases::new(vec![(bad.into(), "sonnet".into())], &models),
                    Err(AliasError::BadPattern { .. })
                ),
                "{bad:?}"
            );
        }
        let twice = vec![("a".into(), "sonnet".into()), ("a".into(), "nova".into())];
        assert!(matches!(
            Aliases::new(twice, &models),
            Err(AliasError::Duplicate { .. })
        ));
    }
}
