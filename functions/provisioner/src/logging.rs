//! `Custom::BedrockInvocationLogging`: the account-and-region-wide model-invocation logging
//! setting as a stack resource that never overwrites or removes someone else's configuration.

use serde_json::{Map, Value};

use crate::Error;
use crate::control::{ControlPlane, LoggingConfig, Planes};
use crate::properties::LoggingProps;
use crate::resource::{Outcome, RequestContext};
use crate::retry;
use shared::aws::{AwsError, AwsErrorKind};

const PHYSICAL_PREFIX: &str = "bedrock-invocation-logging";

/// The physical ID: one logging setting per account and region.
pub fn physical_id(account: &str, region: &str) -> String {
    format!("{PHYSICAL_PREFIX}:{account}:{region}")
}

/// While a new delivery role propagates through IAM, Bedrock answers
/// "Failed to validate permissions for log group ..." for a while.
pub fn is_permission_propagation(err: &AwsError) -> bool {
    err.kind == AwsErrorKind::Validation
        && err
            .message
            .to_ascii_lowercase()
            .contains("failed to validate permissions")
}

fn data(config: &LoggingConfig, ctx: &RequestContext) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("LogGroupName".into(), config.log_group_name.clone().into());
    d.insert("RoleArn".into(), config.role_arn.clone().into());
    d.insert("Region".into(), ctx.stack.region.clone().into());
    d.insert("AccountId".into(), ctx.stack.account.clone().into());
    d
}

fn describe(config: &LoggingConfig) -> String {
    format!(
        "log group {:?}, role {}",
        config.log_group_name, config.role_arn
    )
}

async fn put<C: ControlPlane>(
    plane: &C,
    config: &LoggingConfig,
    ctx: &RequestContext,
) -> Result<(), Error> {
    retry::call_retrying(
        ctx.deadline,
        "PutModelInvocationLoggingConfiguration",
        is_permission_propagation,
        || plane.put_logging(config),
    )
    .await
    .map_err(|e| match e {
        Error::Bedrock { source, .. } if is_permission_propagation(&source) => {
            Error::Refused(format!(
                "Bedrock could not validate the delivery role's permissions before the time limit \
             ({source}); check that {} trusts bedrock.amazonaws.com and may write to log group \
             {:?}",
                config.role_arn, config.log_group_name
            ))
        }
        e => e,
    })
}

/// The account and region's logging configuration now, if any.
async fn read_current<C: ControlPlane>(
    plane: &C,
    ctx: &RequestContext,
) -> Result<Option<LoggingConfig>, Error> {
    retry::call(
        ctx.deadline,
        "GetModelInvocationLoggingConfiguration",
        || plane.get_logging(),
    )
    .await
}

/// Create, and Update (which sets the new configuration under the same physical ID).
pub async fn apply<P: Planes>(
    planes: &P,
    ctx: &RequestContext,
    props: &LoggingProps,
    previous: Option<&LoggingConfig>,
) -> Result<Outcome, Error> {
    let region = ctx.stack.region.as_str();
    let plane = planes.for_region(region);
    let current = read_current(&plane, ctx).await?;
    let desired = &props.config;
    match &current {
        Some(c) if c.same_as(desired) => {
            tracing::info!("invocation logging already has the desired configuration");
        }
        Some(c) if previous.is_some_and(|p| c.same_as(p)) || props.replace_existing => {
            if props.replace_existing && !previous.is_some_and(|p| c.same_as(p)) {
                tracing::warn!(replaced = %describe(c), "replacing an existing invocation-logging configuration (ReplaceExisting)");
            }
            put(&plane, desired, ctx).await?;
        }
        Some(c) => {
            return Err(Error::Refused(format!(
                "model-invocation logging in account {} region {region} is already configured \
                 ({}) by something other than this resource; set ReplaceExisting to \"true\" to \
                 take it over, or remove this resource",
                ctx.stack.account,
                describe(c)
            )));
        }
        None => put(&plane, desired, ctx).await?,
    }
    Ok(Outcome {
        physical_id: physical_id(&ctx.stack.account, region),
        data: data(desired, ctx),
    })
}

/// Delete: removes the configuration only while it is still the one this resource set.
pub async fn delete<P: Planes>(
    planes: &P,
    ctx: &RequestContext,
    props: Result<LoggingProps, Error>,
) -> Result<Outcome, Error> {
    let physical = ctx.physical_id.clone().unwrap_or_default();
    if !physical.starts_with(&format!("{PHYSICAL_PREFIX}:")) {
        tracing::info!(physical_id = %physical, "nothing to delete: this resource never set logging");
        return Ok(Outcome::bare(physical));
    }
    let props = match props {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell which configuration this resource set; leaving logging as it is");
            return Ok(Outcome::bare(physical));
        }
    };
    let region = ctx.stack.region.as_str();
    let plane = planes.for_region(region);
    let current = read_current(&plane, ctx).await?;
    match current {
        Some(c) if c.same_as(&props.config) => {
            retry::call(
                ctx.deadline,
                "DeleteModelInvocationLoggingConfiguration",
                || plane.delete_logging(),
            )
            .await?;
            tracing::info!("invocation logging configuration removed");
        }
        Some(c) => {
            tracing::info!(current = %describe(&c), "logging was changed by someone else; leaving it");
        }
        None => tracing::info!("invocation logging already off"),
    }
    Ok(Outcome::bare(physical))
}
