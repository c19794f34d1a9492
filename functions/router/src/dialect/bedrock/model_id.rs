//! What a Bedrock-API caller may put in `/model/{modelId}/...`: a friendly ID, a model or
//! system-profile ID the team serves, or a profile ARN, raw or percent-encoded (boto3 encodes
//! `:` and `/`, the Anthropic SDK and Claude Code only `/`). Whatever is named, the call goes to
//! the team's profile for that model; another team's (or anyone's) profile ARN is refused and
//! never invoked.

use crate::bedrock::Bedrock;
use crate::caps::Target;
use crate::directory::Directory;
use crate::error::RouterError;
use crate::handler::Call;
use crate::routes::decode_label;

/// The target for a path's `{modelId}`; refusals happen before any call to Bedrock.
pub async fn target<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    raw_id: &str,
) -> Result<Target, RouterError> {
    let id = decode_label(raw_id)?;
    match profile_arn(&id) {
        Some(ProfileArn::Application) => match call.target(&id).await {
            Err(RouterError::UnknownModel { .. }) => Err(RouterError::ForeignProfile { arn: id }),
            other => other,
        },
        // A system profile is Bedrock's, not a team's: its ID names a model like any other.
        Some(ProfileArn::System(profile_id)) => call.target(profile_id).await,
        None => call.target(&id).await,
    }
}

enum ProfileArn<'a> {
    Application,
    System(&'a str),
}

fn profile_arn(id: &str) -> Option<ProfileArn<'_>> {
    let (head, resource) = id.strip_prefix("arn:")?.split_once('/')?;
    if head.ends_with(":application-inference-profile") {
        Some(ProfileArn::Application)
    } else if head.ends_with(":inference-profile") {
        Some(ProfileArn::System(resource))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_arns_are_told_apart_by_their_resource_type() {
        assert!(matches!(
            profile_arn("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc"),
            Some(ProfileArn::Application)
        ));
        assert!(matches!(
            profile_arn(
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
            ),
            Some(ProfileArn::System(
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
            ))
        ));
        assert!(profile_arn("us.anthropic.claude-sonnet-4-5-20250929-v1:0").is_none());
        assert!(
            profile_arn("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0")
                .is_none()
        );
    }
}
