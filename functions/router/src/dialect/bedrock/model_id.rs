//! What a Bedrock-API caller may put in `/model/{modelId}/...`: a friendly ID, a model or
//! system-profile ID the team serves, or a profile ARN, raw or percent-encoded (boto3 encodes
//! `:` and `/`, the Anthropic SDK and Claude Code only `/`). Whatever is named, the call goes to
//! the team's profile for that model; another team's (or anyone's) profile ARN is refused and
//! never invoked.

use shared::arn::ModelRef;

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
    match ModelRef::parse(&id) {
        Ok(ModelRef::AppProfileArn(_)) => match call.target(&id).await {
            Err(RouterError::UnknownModel { .. }) => Err(RouterError::ForeignProfile { arn: id }),
            other => other,
        },
        // A system profile is Bedrock's, not a team's: its ID names a model like any other.
        Ok(ModelRef::SystemProfileArn(arn)) => call.target(&arn.profile.to_string()).await,
        _ => call.target(&id).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_arns_are_told_apart_by_their_resource_type() {
        let app =
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12";
        assert!(matches!(
            ModelRef::parse(app),
            Ok(ModelRef::AppProfileArn(_))
        ));
        let system = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0";
        match ModelRef::parse(system) {
            Ok(ModelRef::SystemProfileArn(arn)) => assert_eq!(
                arn.profile.to_string(),
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
            ),
            other => panic!("{other:?}"),
        }
    }
}
