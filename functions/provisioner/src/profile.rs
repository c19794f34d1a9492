//! `Custom::BedrockInferenceProfile`: an application inference profile as a stack resource.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use shared::arn::{AppProfileArn, ModelRef};
use tokio::time::Instant;

use crate::Error;
use crate::control::{ControlPlane, NewProfile, Planes, ProfileInfo};
use crate::properties::{OWNER_TAG_KEY, ProfileProps, is_valid_profile_name};
use crate::resource::{Outcome, RequestContext};
use crate::retry;
use shared::aws::AwsErrorKind;

/// The source a profile copies from, resolved to an ARN, with the models it routes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSource {
    pub arn: String,
    pub model_arns: Vec<String>,
}

/// A `clientRequestToken` derived from the request: the same delivery always yields the same
/// token, so Bedrock ignores a repeated Create. 64 hex characters fit the token pattern.
pub fn request_token(stack_id: &str, logical_id: &str, request_id: &str) -> String {
    let mut hash = Sha256::new();
    for part in [stack_id, logical_id, request_id] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    hex(&hash.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A unique profile name from the stack name, the logical ID and a short hash of the request,
/// so a replacement always gets a fresh name. Always valid for the name pattern and ≤ 64.
pub fn generated_name(stack_name: &str, logical_id: &str, token: &str) -> String {
    let clean = |s: &str, max: usize| -> String {
        let mut out = String::new();
        for c in s.chars() {
            let c = if c.is_ascii_alphanumeric() { c } else { '-' };
            if c == '-' && (out.is_empty() || out.ends_with('-')) {
                continue;
            }
            out.push(c);
            if out.len() >= max {
                break;
            }
        }
        out.trim_end_matches('-').to_owned()
    };
    let short: String = token.chars().take(10).collect();
    let parts: Vec<String> = [clean(stack_name, 25), clean(logical_id, 26), short]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    let name = parts.join("-");
    debug_assert!(is_valid_profile_name(&name));
    name
}

/// A source Bedrock does not know or does not accept is a problem with the `ModelSource` property,
/// so the Reason names the property and the value as written, not only the failed call.
fn source_lookup_error(region: &str, what: &str, e: Error) -> Error {
    match e {
        Error::Bedrock { source, .. } if source.kind == AwsErrorKind::NotFound => Error::Refused(
            format!("ModelSource {what} was not found in {region}: {source}"),
        ),
        Error::Bedrock { source, .. } if source.kind == AwsErrorKind::Validation => {
            Error::Refused(format!(
                "ModelSource {what} is not a model or inference profile Bedrock accepts in \
                 {region}: {source}"
            ))
        }
        e => e,
    }
}

/// Resolves the model source to an ARN in the stack's region, refusing a foundation model that
/// cannot be invoked on demand (naming the system profile to use instead).
pub async fn resolve_source<C: ControlPlane>(
    plane: &C,
    region: &str,
    props: &ProfileProps,
    deadline: Instant,
) -> Result<ResolvedSource, Error> {
    let text = &props.model_source_text;
    if let Some(source_region) = props.model_source.region()
        && source_region != region
    {
        return Err(Error::Refused(format!(
            "ModelSource {text} is in {source_region}, but this stack is in {region}; a profile \
             can only copy from a source in its own region. Use the ID form (without region) or \
             an ARN in {region}"
        )));
    }
    match &props.model_source {
        ModelRef::SystemProfile(_) | ModelRef::SystemProfileArn(_) => {
            let identifier = match &props.model_source {
                ModelRef::SystemProfile(id) => id.to_string(),
                other => other.to_string(),
            };
            let profile = retry::call(deadline, "GetInferenceProfile", || {
                plane.get_inference_profile(&identifier)
            })
            .await
            .map_err(|e| source_lookup_error(region, text, e))?;
            Ok(ResolvedSource {
                arn: profile.arn,
                model_arns: profile.model_arns,
            })
        }
        ModelRef::FoundationModel(_) | ModelRef::FoundationModelArn(_) => {
            let model_id = props
                .model_source
                .foundation_model()
                .map(|m| m.to_string())
                .unwrap_or_else(|| text.clone());
            let model = retry::call(deadline, "GetFoundationModel", || {
                plane.get_foundation_model(&model_id)
            })
            .await
            .map_err(|e| source_lookup_error(region, text, e))?;
            if !model.inference_types.iter().any(|t| t == "ON_DEMAND") {
                let profiles = retry::call(deadline, "ListInferenceProfiles", || {
                    plane.list_inference_profiles("SYSTEM_DEFINED")
                })
                .await?;
                let suffix = format!(".{model_id}");
                let mut candidates: Vec<String> = profiles
                    .into_iter()
                    .filter(|p| p.id.ends_with(&suffix))
                    .map(|p| p.id)
                    .collect();
                candidates.sort();
                let advice = if candidates.is_empty() {
                    format!("no system inference profile for it exists in {region}")
                } else {
                    format!(
                        "use the system inference profile {} as ModelSource instead",
                        candidates.join(" or ")
                    )
                };
                return Err(Error::Refused(format!(
                    "foundation model {model_id} cannot be invoked on demand in {region} \
                     (supported: {}); {advice}",
                    if model.inference_types.is_empty() {
                        "none".to_owned()
                    } else {
                        model.inference_types.join(", ")
                    }
                )));
            }
            let arn = if model.model_arn.is_empty() {
                format!("arn:aws:bedrock:{region}::foundation-model/{model_id}")
            } else {
                model.model_arn
            };
            Ok(ResolvedSource {
                arn: arn.clone(),
                model_arns: vec![arn],
            })
        }
        ModelRef::AppProfileArn(_) => Err(Error::Properties(format!(
            "ModelSource {text} is an application inference profile; Bedrock cannot copy from one"
        ))),
    }
}

/// What is wrong with one model's availability, with the fix; `None` when it can be invoked.
/// The problems and remedies are the ones the verifier's doctor reports too.
pub fn availability_problem(
    model_id: &str,
    region: &str,
    a: &crate::control::Availability,
) -> Option<String> {
    let problems = a.problems(model_id, region);
    (!problems.is_empty()).then(|| {
        let each: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.problem, p.remedy))
            .collect();
        format!("{}; then deploy again", each.join("; "))
    })
}

/// Checks GetFoundationModelAvailability for every model the source routes to, each in its own
/// region, and fails with every problem found.
pub async fn check_access<P: Planes>(
    planes: &P,
    model_arns: &[String],
    deadline: Instant,
) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for arn in model_arns {
        let (region, model_id) = match ModelRef::parse(arn) {
            Ok(ModelRef::FoundationModelArn(a)) => (a.region.clone(), a.model.to_string()),
            _ => {
                tracing::warn!(model_arn = %arn, "skipping access check for an unexpected model ARN");
                continue;
            }
        };
        if !seen.insert((region.clone(), model_id.clone())) {
            continue;
        }
        let plane = planes.for_region(&region);
        let availability = retry::call(deadline, "GetFoundationModelAvailability", || {
            plane.get_foundation_model_availability(&model_id)
        })
        .await?;
        if let Some(problem) = availability_problem(&model_id, &region, &availability) {
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "model access check failed (set CheckModelAccess to \"false\" to skip it): {}",
            problems.join("; ")
        )))
    }
}

/// The attributes `Fn::GetAtt` can read: the native resource's names and short ones.
pub fn data(profile: &ProfileInfo, source_arn: &str) -> Map<String, Value> {
    let mut d = Map::new();
    let mut put = |k: &str, v: &str| {
        d.insert(k.to_owned(), Value::String(v.to_owned()));
    };
    put("InferenceProfileArn", &profile.arn);
    put("InferenceProfileId", &profile.id);
    put("InferenceProfileIdentifier", &profile.arn);
    put("Models", &profile.model_arns.join(","));
    put("Status", &profile.status);
    put("Type", &profile.kind);
    put("Arn", &profile.arn);
    put("Id", &profile.id);
    put("Name", &profile.name);
    put("SourceArn", source_arn);
    d
}

/// Polls until the profile is ACTIVE, within the deadline.
async fn wait_active<C: ControlPlane>(
    plane: &C,
    arn: &str,
    deadline: Instant,
) -> Result<ProfileInfo, Error> {
    let mut delay = Duration::from_millis(250);
    loop {
        // Right after creation a read may not see the profile yet.
        let profile = retry::call_retrying(
            deadline,
            "GetInferenceProfile",
            |e| e.kind == AwsErrorKind::NotFound,
            || plane.get_inference_profile(arn),
        )
        .await?;
        if profile.status == "ACTIVE" {
            return Ok(profile);
        }
        if Instant::now() + delay >= deadline {
            return Err(Error::Deadline(format!(
                "profile {arn} was created but is still {} ; it was not ACTIVE before the \
                 function's time limit",
                if profile.status.is_empty() {
                    "without a status"
                } else {
                    &profile.status
                }
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Finds an application profile by name and adopts it only when its ownership tag carries this
/// request's token.
async fn adopt_if_ours<C: ControlPlane>(
    plane: &C,
    name: &str,
    token: &str,
    region: &str,
    conflict: &str,
    deadline: Instant,
) -> Result<String, Error> {
    let profiles = retry::call(deadline, "ListInferenceProfiles", || {
        plane.list_inference_profiles("APPLICATION")
    })
    .await?;
    let Some(existing) = profiles.into_iter().find(|p| p.name == name) else {
        return Err(Error::Refused(format!(
            "Bedrock refused to create profile {name:?} in {region}: {conflict}"
        )));
    };
    let tags = retry::call(deadline, "ListTagsForResource", || {
        plane.list_tags(&existing.arn)
    })
    .await?;
    let ours = tags.iter().any(|(k, v)| k == OWNER_TAG_KEY && v == token);
    if ours {
        tracing::info!(profile_arn = %existing.arn, "adopting the profile this same request created earlier");
        Ok(existing.arn)
    } else {
        Err(Error::Refused(format!(
            "an inference profile named {name:?} already exists in {region} ({}) and was not \
             created by this request; choose another ProfileName, or remove ProfileName to get a \
             generated unique name",
            existing.arn
        )))
    }
}

/// Create (also used for a replacement during Update).
pub async fn create<P: Planes>(
    planes: &P,
    ctx: &RequestContext,
    props: &ProfileProps,
) -> Result<Outcome, Error> {
    let region = ctx.stack.region.as_str();
    let plane = planes.for_region(region);
    let source = resolve_source(&plane, region, props, ctx.deadline).await?;
    if props.check_model_access {
        check_access(planes, &source.model_arns, ctx.deadline).await?;
    }
    let token = request_token(&ctx.stack_id, &ctx.logical_id, &ctx.request_id);
    let name = props
        .name
        .clone()
        .unwrap_or_else(|| generated_name(&ctx.stack.name, &ctx.logical_id, &token));
    let mut tags = props.tags.clone();
    tags.push((OWNER_TAG_KEY.to_owned(), token.clone()));
    let new = NewProfile {
        name: name.clone(),
        description: props.description.clone(),
        source_arn: source.arn.clone(),
        tags,
        client_token: token.clone(),
    };
    let arn = match retry::call(ctx.deadline, "CreateInferenceProfile", || {
        plane.create_inference_profile(&new)
    })
    .await
    {
        Ok(arn) => arn,
        Err(Error::Bedrock { source: err, .. }) if err.kind == AwsErrorKind::Conflict => {
            adopt_if_ours(
                &plane,
                &name,
                &token,
                region,
                &err.to_string(),
                ctx.deadline,
            )
            .await?
        }
        Err(e) => return Err(e),
    };
    tracing::info!(profile_arn = %arn, profile_name = %name, "profile created");
    let profile = wait_active(&plane, &arn, ctx.deadline).await?;
    Ok(Outcome {
        physical_id: profile.arn.clone(),
        data: data(&profile, &source.arn),
    })
}

fn text_of(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Which replacement-only properties differ between the old properties and the new ones.
/// The old ones are read loosely: they may come from an earlier template version.
pub fn replacement_changes(old: &Map<String, Value>, new: &ProfileProps) -> Vec<&'static str> {
    let mut changes = Vec::new();
    if text_of(old, "ProfileName") != new.name {
        changes.push("ProfileName");
    }
    if text_of(old, "Description") != new.description {
        changes.push("Description");
    }
    let same_source = match text_of(old, "ModelSource") {
        Some(old_text) => match ModelRef::parse(&old_text) {
            Ok(old_ref) => old_ref.same_target(&new.model_source),
            Err(_) => old_text == new.model_source_text,
        },
        None => false,
    };
    if !same_source {
        changes.push("ModelSource");
    }
    changes
}

/// Update: tags change in place; name, description or model source make a new profile.
pub async fn update<P: Planes>(
    planes: &P,
    ctx: &RequestContext,
    props: &ProfileProps,
    old: &Map<String, Value>,
) -> Result<Outcome, Error> {
    let current = ctx
        .physical_id
        .as_deref()
        .and_then(|id| AppProfileArn::parse(id).ok());
    let Some(current) = current else {
        tracing::info!("no profile behind the physical ID; creating one");
        return create(planes, ctx, props).await;
    };
    let changes = replacement_changes(old, props);
    if !changes.is_empty() {
        if let Some(name) = &props.name
            && text_of(old, "ProfileName").as_deref() == Some(name.as_str())
        {
            return Err(Error::Refused(format!(
                "changing {} needs a new profile, but ProfileName {name:?} is unchanged and names \
                 must be unique: the new profile cannot be created while the old one exists. \
                 Change ProfileName, or remove it to get a generated unique name",
                changes.join(" and ")
            )));
        }
        tracing::info!(changed = ?changes, "replacing the profile");
        return create(planes, ctx, props).await;
    }
    let arn = current.to_string();
    let plane = planes.for_region(&current.region);
    let live = match retry::call(ctx.deadline, "GetInferenceProfile", || {
        plane.get_inference_profile(&arn)
    })
    .await
    {
        Ok(p) => p,
        Err(Error::Bedrock { source, .. }) if source.kind == AwsErrorKind::NotFound => {
            tracing::warn!(profile_arn = %arn, "the profile is gone; creating a replacement");
            return create(planes, ctx, props).await;
        }
        Err(e) => return Err(e),
    };
    let existing = retry::call(ctx.deadline, "ListTagsForResource", || {
        plane.list_tags(&arn)
    })
    .await?;
    let stale: Vec<String> = existing
        .iter()
        .filter(|(k, _)| k != OWNER_TAG_KEY && !props.tags.iter().any(|(nk, _)| nk == k))
        .map(|(k, _)| k.clone())
        .collect();
    let fresh: Vec<(String, String)> = props
        .tags
        .iter()
        .filter(|t| !existing.contains(t))
        .cloned()
        .collect();
    if !stale.is_empty() {
        retry::call(ctx.deadline, "UntagResource", || {
            plane.untag_resource(&arn, &stale)
        })
        .await?;
    }
    if !fresh.is_empty() {
        retry::call(ctx.deadline, "TagResource", || {
            plane.tag_resource(&arn, &fresh)
        })
        .await?;
    }
    tracing::info!(profile_arn = %arn, removed = stale.len(), set = fresh.len(), "tags updated in place");
    let source = resolve_source(&plane, &current.region, props, ctx.deadline).await?;
    Ok(Outcome {
        physical_id: arn,
        data: data(&live, &source.arn),
    })
}

/// Delete: already gone is success; a physical ID that is no profile ARN (a failed Create) is
/// success without any call.
pub async fn delete<P: Planes>(planes: &P, ctx: &RequestContext) -> Result<Outcome, Error> {
    let physical = ctx.physical_id.clone().unwrap_or_default();
    let Ok(arn) = AppProfileArn::parse(&physical) else {
        tracing::info!(physical_id = %physical, "nothing to delete: not a profile ARN");
        return Ok(Outcome::bare(physical));
    };
    let plane = planes.for_region(&arn.region);
    let arn_text = arn.to_string();
    match retry::call(ctx.deadline, "DeleteInferenceProfile", || {
        plane.delete_inference_profile(&arn_text)
    })
    .await
    {
        Ok(()) => tracing::info!(profile_arn = %arn_text, "profile deleted"),
        Err(Error::Bedrock { source, .. }) if source.kind == AwsErrorKind::NotFound => {
            tracing::info!(profile_arn = %arn_text, "profile already gone");
        }
        Err(e) => return Err(e),
    }
    Ok(Outcome::bare(physical))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_token_is_stable_and_fits_the_token_pattern() {
        let a = request_token("stack", "Logical", "req");
        assert_eq!(a, request_token("stack", "Logical", "req"));
        assert_ne!(a, request_token("stack", "Logical", "req2"));
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn generated_names_are_valid_unique_and_short() {
        let t1 = request_token("s", "l", "1");
        let t2 = request_token("s", "l", "2");
        let long_stack = "my--very-long-stack-name-that-goes-on-and-on-forever";
        let n1 = generated_name(long_stack, "ChatProfileForTheWholeTeamAndMore", &t1);
        let n2 = generated_name(long_stack, "ChatProfileForTheWholeTeamAndMore", &t2);
        assert_ne!(n1, n2);
        for n in [&n1, &n2] {
            assert!(n.len() <= 64, "{n}");
            assert!(is_valid_profile_name(n), "{n}");
        }
        assert!(n1.starts_with("my-very-long-stack"));
    }

    #[test]
    fn availability_problems_name_the_remedy() {
        use crate::control::Availability;
        let ok = Availability::available();
        assert_eq!(availability_problem("m.x", "us-east-1", &ok), None);
        let cases = [
            (
                Availability {
                    agreement: "NOT_AVAILABLE".into(),
                    ..ok.clone()
                },
                "accept it",
            ),
            (
                Availability {
                    agreement: "PENDING".into(),
                    ..ok.clone()
                },
                "wait a few minutes",
            ),
            (
                Availability {
                    agreement: "ERROR".into(),
                    agreement_error: Some("boom".into()),
                    ..ok.clone()
                },
                "boom",
            ),
            (
                Availability {
                    authorization: "NOT_AUTHORIZED".into(),
                    ..ok.clone()
                },
                "not authorized",
            ),
            (
                Availability {
                    entitlement: "NOT_AVAILABLE".into(),
                    ..ok.clone()
                },
                "not entitled",
            ),
            (
                Availability {
                    region: "NOT_AVAILABLE".into(),
                    ..ok.clone()
                },
                "enable the region",
            ),
        ];
        for (a, expected) in cases {
            let p = availability_problem("m.x", "us-east-1", &a).unwrap();
            assert!(p.contains(expected), "{p}");
        }
    }
}
