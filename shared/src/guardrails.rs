//! A tenant's Bedrock guardrail: `guardrail: {id: abc123xyz789, version: "1", trace: true}`.
//!
//! The router attaches it to every call the tenant makes, on every route, so what the team
//! sends and what it gets back is screened whichever dialect its callers speak. The identifier
//! and version follow Bedrock's own patterns (Converse `guardrailConfig`, InvokeModel's
//! `X-Amzn-Bedrock-GuardrailIdentifier` / `-GuardrailVersion`), checked at start so a typo is a
//! startup error, not a 400 on every call.

use serde::Deserialize;

/// A guardrail as configured, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrail {
    /// The guardrail's ID (`abc123xyz789`) or ARN (`arn:aws:bedrock:...:guardrail/abc123xyz789`).
    pub identifier: String,
    /// A version number (`1`..`99999999`) or `DRAFT`.
    pub version: String,
    /// Ask Bedrock for the guardrail's trace in each answer.
    pub trace: bool,
}

/// `guardrail:` as written in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGuardrail {
    /// The guardrail's ID or ARN (may use `${VAR}`).
    pub id: String,
    /// Its version: a number or `DRAFT` (a YAML number is accepted).
    pub version: RawVersion,
    /// Whether answers carry the guardrail's trace (default false).
    #[serde(default)]
    pub trace: bool,
}

/// A version written as a number (`version: 1`) or a string (`version: "DRAFT"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawVersion {
    /// `version: 1`.
    Number(u64),
    /// `version: "1"` or `version: DRAFT`.
    Text(String),
}

impl RawGuardrail {
    /// Checks the identifier and version against Bedrock's patterns; `id` is already expanded.
    pub fn validate(self, id: String) -> Result<Guardrail, String> {
        if !is_guardrail_identifier(&id) {
            return Err(format!(
                "guardrail.id `{id}` is not a guardrail ID (lowercase letters and digits, e.g. `abc123xyz789`) or a guardrail ARN (`arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123xyz789`)"
            ));
        }
        let version = match self.version {
            RawVersion::Number(n) => n.to_string(),
            RawVersion::Text(t) => t,
        };
        if !is_guardrail_version(&version) {
            return Err(format!(
                "guardrail.version `{version}` must be a version number from 1 to 99999999 or DRAFT"
            ));
        }
        Ok(Guardrail {
            identifier: id,
            version,
            trace: self.trace,
        })
    }
}

impl Guardrail {
    /// Converse's `guardrailConfig.trace` value.
    pub fn converse_trace(&self) -> &'static str {
        if self.trace { "enabled" } else { "disabled" }
    }

    /// InvokeModel's `X-Amzn-Bedrock-Trace` value.
    pub fn invoke_trace(&self) -> &'static str {
        if self.trace { "ENABLED" } else { "DISABLED" }
    }
}

/// Bedrock's pattern: `[a-z0-9]+`, or `arn:aws(-[^:]+)?:bedrock:<region>:<account>:guardrail/[a-z0-9]+`.
fn is_guardrail_identifier(s: &str) -> bool {
    let id_ok = |id: &str| {
        !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    if s.len() > 2048 {
        return false;
    }
    if !s.starts_with("arn:") {
        return id_ok(s);
    }
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [_, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    (*partition == "aws" || partition.starts_with("aws-"))
        && *service == "bedrock"
        && crate::arn::is_region_name(region)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource.strip_prefix("guardrail/").is_some_and(id_ok)
}

/// Bedrock's pattern: `[1-9][0-9]{0,7}` or `DRAFT`.
fn is_guardrail_version(s: &str) -> bool {
    s == "DRAFT"
        || (!s.is_empty()
            && s.len() <= 8
            && !s.starts_with('0')
            && s.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(version: RawVersion) -> RawGuardrail {
        RawGuardrail {
            id: String::new(),
            version,
            trace: false,
        }
    }

    #[test]
    fn ids_arns_and_versions_follow_bedrocks_patterns() {
        for id in [
            "abc123xyz789",
            "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123xyz789",
            "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:guardrail/x1",
        ] {
            let g = raw(RawVersion::Number(3)).validate(id.to_owned()).unwrap();
            assert_eq!((g.identifier.as_str(), g.version.as_str()), (id, "3"));
        }
        for id in [
            "",
            "ABC123",
            "abc-123",
            "arn:aws:bedrock:us-east-1:123456789012:guardrail/",
            "arn:aws:bedrock:us-east-1:12345:guardrail/abc",
            "arn:aws:s3:us-east-1:123456789012:guardrail/abc",
        ] {
            let e = raw(RawVersion::Number(1))
                .validate(id.to_owned())
                .unwrap_err();
            assert!(e.contains("guardrail.id"), "{id}: {e}");
        }
        for (v, ok) in [
            ("DRAFT", true),
            ("1", true),
            ("99999999", true),
            ("0", false),
            ("01", false),
            ("123456789", false),
            ("draft", false),
            ("", false),
        ] {
            let got = raw(RawVersion::Text(v.to_owned())).validate("abc".into());
            assert_eq!(got.is_ok(), ok, "{v}: {got:?}");
        }
    }

    #[test]
    fn trace_names_follow_each_api() {
        let mut g = raw(RawVersion::Number(1)).validate("abc".into()).unwrap();
        assert_eq!(
            (g.converse_trace(), g.invoke_trace()),
            ("disabled", "DISABLED")
        );
        g.trace = true;
        assert_eq!(
            (g.converse_trace(), g.invoke_trace()),
            ("enabled", "ENABLED")
        );
    }
}
