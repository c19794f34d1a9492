//! ARN parsing for the identifiers Bedrock accepts.

/// `arn:{partition}:{service}:{region}:{account}:{type}/{id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource_type: String,
    pub resource_id: String,
}

impl Arn {
    /// Parses an ARN whose resource is `type/id`; `None` for anything else. The ID may itself
    /// contain `:` (e.g. `anthropic.claude-3-haiku-20240307-v1:0`), so only the first five
    /// colons split.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let partition = parts.next()?;
        let service = parts.next()?;
        let region = parts.next()?;
        let account = parts.next()?;
        let resource = parts.next()?;
        let (resource_type, resource_id) = resource.split_once('/')?;
        if partition.is_empty() || service.is_empty() || resource_id.is_empty() {
            return None;
        }
        Some(Self {
            partition: partition.to_string(),
            service: service.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            resource_type: resource_type.to_string(),
            resource_id: resource_id.to_string(),
        })
    }
}

/// `arn:aws:bedrock:{region}::foundation-model/{id}` (the account field is empty).
pub fn foundation_model_arn(region: &str, model_id: &str) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{model_id}")
}

/// `arn:aws:bedrock:{region}:{account}:inference-profile/{id}`.
pub fn system_profile_arn(region: &str, account: &str, profile_id: &str) -> String {
    format!("arn:aws:bedrock:{region}:{account}:inference-profile/{profile_id}")
}

/// `arn:aws:bedrock:{region}:{account}:application-inference-profile/{id}`.
pub fn application_profile_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:bedrock:{region}:{account}:application-inference-profile/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foundation_model_arn_keeps_the_colon_of_its_version() {
        let arn = Arn::parse(
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        )
        .unwrap();
        assert_eq!(arn.region, "us-east-1");
        assert_eq!(arn.account, "");
        assert_eq!(arn.resource_type, "foundation-model");
        assert_eq!(arn.resource_id, "anthropic.claude-3-haiku-20240307-v1:0");
    }

    #[test]
    fn text_without_a_resource_slash_is_not_an_arn() {
        assert_eq!(
            Arn::parse("arn:aws:bedrock:us-east-1:123456789012:thing"),
            None
        );
        assert_eq!(Arn::parse("us.amazon.nova-pro-v1:0"), None);
    }
}
