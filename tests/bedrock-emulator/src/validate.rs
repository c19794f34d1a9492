//! Server-side checks of the lengths, patterns and enums of the Bedrock model (the SDKs check
//! almost none of them), reported the way AWS reports them:
//! `1 validation error detected: Value 'x' at 'field' failed to satisfy constraint: ...`.

use crate::state::ApiError;

#[derive(Debug, Default)]
pub struct Violations(Vec<String>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, value: Option<&str>, field: &str, constraint: &str) {
        let value = match value {
            Some(v) => format!("'{v}'"),
            None => "null".to_string(),
        };
        self.0.push(format!(
            "Value {value} at '{field}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member that is absent.
    pub fn missing(&mut self, field: &str) {
        self.push(None, field, "Member must not be null");
    }

    /// A member of the wrong JSON type.
    pub fn wrong_type(&mut self, field: &str, expected: &str) {
        self.0.push(format!(
            "Value at '{field}' failed to satisfy constraint: Member must be {expected}"
        ));
    }

    /// Checks a length in characters; returns whether it held.
    pub fn length(&mut self, field: &str, value: &str, min: usize, max: usize) -> bool {
        let len = value.chars().count();
        if len < min {
            self.push(
                Some(value),
                field,
                &format!("Member must have length greater than or equal to {min}"),
            );
            false
        } else if len > max {
            self.push(
                Some(value),
                field,
                &format!("Member must have length less than or equal to {max}"),
            );
            false
        } else {
            true
        }
    }

    pub fn pattern(&mut self, field: &str, value: &str, matches: bool, pattern: &str) {
        if !matches {
            self.push(
                Some(value),
                field,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    pub fn one_of(&mut self, field: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.push(
                Some(value),
                field,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
        }
    }

    pub fn range(&mut self, field: &str, value: i64, min: i64, max: i64) {
        let text = value.to_string();
        if value < min {
            self.push(
                Some(&text),
                field,
                &format!("Member must have value greater than or equal to {min}"),
            );
        } else if value > max {
            self.push(
                Some(&text),
                field,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    pub fn count(&mut self, field: &str, len: usize, min: usize, max: usize) {
        if len < min {
            self.0.push(format!(
                "Value at '{field}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
            ));
        } else if len > max {
            self.0.push(format!(
                "Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            ));
        }
    }

    /// `Ok` when nothing failed, else the ValidationException listing every failure.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ApiError::validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Err(ApiError::validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

pub const NAME_PATTERN: &str = "([0-9a-zA-Z][ _-]?)+";
pub const DESCRIPTION_PATTERN: &str = "([0-9a-zA-Z:.][ _-]?)+";
pub const TOKEN_PATTERN: &str = "[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?";
pub const TAG_PATTERN: &str = "[a-zA-Z0-9\\s._:/=+@-]*";
pub const PROFILE_IDENTIFIER_PATTERN: &str = "(arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):(inference-profile|application-inference-profile)/)?[a-zA-Z0-9-:.]+";
pub const MODEL_SOURCE_PATTERN: &str = "arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):(inference-profile|foundation-model)/[a-zA-Z0-9-:.]+";
pub const MODEL_IDENTIFIER_PATTERN: &str = "(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}::foundation-model/[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2})|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2})";
pub const BEDROCK_MODEL_ID_PATTERN: &str = "[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}(/[a-z0-9]{12}|)";
pub const TAGGABLE_ARN_PATTERN: &str =
    "arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:(...)/[a-z0-9-:.]+";
pub const ROLE_ARN_PATTERN: &str = "arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+";
pub const PAGINATION_TOKEN_PATTERN: &str = "\\S*";
pub const PROVIDER_PATTERN: &str = "[A-Za-z0-9- ]{1,63}";

/// `(<unit>[ _-]?)+`: units from `unit`, at most one separator after each.
fn units_with_separators(value: &str, unit: impl Fn(char) -> bool) -> bool {
    let mut previous_was_unit = false;
    for c in value.chars() {
        if unit(c) {
            previous_was_unit = true;
        } else if matches!(c, ' ' | '_' | '-') && previous_was_unit {
            previous_was_unit = false;
        } else {
            return false;
        }
    }
    !value.is_empty()
}

pub fn is_profile_name(value: &str) -> bool {
    units_with_separators(value, |c| c.is_ascii_alphanumeric())
}

pub fn is_description(value: &str) -> bool {
    units_with_separators(value, |c| c.is_ascii_alphanumeric() || c == ':' || c == '.')
}

pub fn is_token(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                && bytes.len() <= 256
        }
        _ => false,
    }
}

/// `[a-zA-Z0-9-:.]+`
pub fn is_profile_id(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'.'))
}

pub fn is_tag_text(value: &str) -> bool {
    value.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || c.is_whitespace()
            || matches!(c, '.' | '_' | ':' | '/' | '=' | '+' | '@' | '-')
    })
}

fn is_partition(value: &str) -> bool {
    matches!(
        value,
        "aws" | "aws-us-gov" | "aws-cn" | "aws-iso" | "aws-iso-b"
    )
}

fn is_region_field(value: &str) -> bool {
    value.len() <= 20
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_account_field(value: &str) -> bool {
    value.is_empty() || value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

/// An inference-profile-shaped ARN whose resource type is one of `types`.
fn is_profile_style_arn(value: &str, types: &[&str]) -> bool {
    let mut parts = value.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("bedrock"), Some(region), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let Some((kind, id)) = rest.split_once('/') else {
        return false;
    };
    is_partition(partition)
        && is_region_field(region)
        && is_account_field(account)
        && types.contains(&kind)
        && is_profile_id(id)
}

pub fn is_profile_identifier(value: &str) -> bool {
    if value.starts_with("arn:") {
        is_profile_style_arn(
            value,
            &["inference-profile", "application-inference-profile"],
        )
    } else {
        is_profile_id(value)
    }
}

pub fn is_model_source_arn(value: &str) -> bool {
    is_profile_style_arn(value, &["inference-profile", "foundation-model"])
}

fn is_model_piece(value: &str) -> bool {
    (1..=63).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A model ID `provider.name[.more][:n[:m]]`: 2–4 dotted pieces and up to two `:` suffixes,
/// lowercase letters, digits and `-` only (a loose reading of the Bedrock model-ID patterns).
pub fn is_model_id(value: &str) -> bool {
    let mut parts = value.split(':');
    let Some(main) = parts.next() else {
        return false;
    };
    let suffixes: Vec<&str> = parts.collect();
    let pieces: Vec<&str> = main.split('.').collect();
    value.len() <= 140
        && (2..=4).contains(&pieces.len())
        && pieces.iter().all(|p| is_model_piece(p))
        && suffixes.len() <= 2
        && suffixes.iter().all(|s| is_model_piece(s))
}

/// GetFoundationModel's `modelIdentifier`: a model ID or a foundation-model ARN.
pub fn is_model_identifier(value: &str) -> bool {
    if let Some(rest) = value.strip_prefix("arn:") {
        let mut parts = rest.splitn(5, ':');
        let (Some(partition), Some("bedrock"), Some(region), Some(""), Some(resource)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return false;
        };
        let Some(id) = resource.strip_prefix("foundation-model/") else {
            return false;
        };
        (partition == "aws" || partition.starts_with("aws-"))
            && !region.is_empty()
            && is_region_field(region)
            && is_model_id(id)
    } else {
        is_model_id(value)
    }
}

pub fn is_role_arn(value: &str) -> bool {
    let mut parts = value.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    (partition == "aws" || partition.starts_with("aws-"))
        && is_account_field(account)
        && rest.strip_prefix("role/").is_some_and(|r| !r.is_empty())
}

pub fn is_taggable_arn(value: &str) -> bool {
    let mut parts = value.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("bedrock"), Some(region), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    (partition == "aws" || partition.starts_with("aws-"))
        && !region.is_empty()
        && is_region_field(region)
        && account.len() == 12
        && is_account_field(account)
        && rest.split_once('/').is_some_and(|(kind, id)| {
            !kind.is_empty()
                && is_profile_id(id)
                && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        })
}

pub const PROJECT_PATTERN: &str =
    "([a-zA-Z0-9_-]+|arn:aws(-[^:]+)?:bedrock:[0-9a-z-]{1,20}:[0-9]{12}:project/[a-zA-Z0-9_-]+)";

/// A project name, or `arn:aws…:bedrock:{region}:{account}:project/{name}`.
pub fn is_project_identifier(value: &str) -> bool {
    let is_name = |v: &str| {
        !v.is_empty()
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if is_name(value) {
        return true;
    }
    let mut parts = value.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("bedrock"), Some(region), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    (partition == "aws" || partition.starts_with("aws-"))
        && !region.is_empty()
        && is_region_field(region)
        && account.len() == 12
        && is_account_field(account)
        && rest.strip_prefix("project/").is_some_and(is_name)
}

pub fn is_provider(value: &str) -> bool {
    (1..=63).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_allow_single_separators_between_letters() {
        assert!(is_profile_name("claude-sonnet_team 1"));
        assert!(is_profile_name("a-"));
        assert!(!is_profile_name("-a"));
        assert!(!is_profile_name("a--b"));
        assert!(!is_profile_name("a.b"));
        assert!(!is_profile_name(""));
    }

    #[test]
    fn tokens_start_and_end_with_alphanumerics() {
        assert!(is_token("0f9c2c2e-8b0a-4d5c-9a8e-3f1f0c1d2e3f"));
        assert!(!is_token("-abc"));
        assert!(!is_token("abc_def"));
    }

    #[test]
    fn model_sources_must_be_foundation_models_or_system_profiles() {
        assert!(is_model_source_arn(
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
        ));
        assert!(is_model_source_arn(
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0"
        ));
        assert!(!is_model_source_arn(
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12"
        ));
    }

    #[test]
    fn model_ids_are_lowercase_dotted_with_optional_versions() {
        assert!(is_model_id("anthropic.claude-3-haiku-20240307-v1:0"));
        assert!(is_model_id("us.anthropic.claude-sonnet-4-5-20250929-v1:0"));
        assert!(is_model_id("anthropic.claude-3-haiku-20240307-v1:0:200k"));
        assert!(!is_model_id("Anthropic.Claude"));
        assert!(!is_model_id("nodot"));
    }

    #[test]
    fn several_failures_are_counted_in_one_message() {
        let mut v = Violations::new();
        v.length("inferenceProfileName", &"a".repeat(65), 1, 64);
        v.one_of("typeEquals", "BOGUS", &["SYSTEM_DEFINED", "APPLICATION"]);
        let err = v.finish().unwrap_err();
        assert!(
            err.message
                .starts_with("2 validation errors detected: Value '"),
            "{}",
            err.message
        );
        assert!(err.message.contains("at 'typeEquals' failed to satisfy constraint: Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]"));
    }
}
