//! CountTokens (`POST /model/{modelId}/count-tokens`): the input tokens InvokeModel or Converse
//! would report for the same request, without running it.
//!
//! The model may be named by foundation-model ID or ARN, or by system-profile ID or ARN (the
//! count is the underlying model's). An application-profile ARN is refused as an invalid model
//! identifier: the operation's `modelId` is a `FoundationModelVersionIdentifier`, and counting
//! is a property of the model, not of a profile. Only models Bedrock counts for (Claude from
//! 3.5 on) are served; the others get a ValidationException.

use base64::Engine;
use serde_json::{Value, json};

use super::converse;
use super::fail::Fail;
use super::invoke;
use super::models;
use super::responder;
use crate::state::RuntimeContext;

/// The `inputTokens` for one CountTokens request body.
pub fn count(ctx: &RuntimeContext, model_id: &str, body: &[u8]) -> Result<Value, Fail> {
    if crate::arn::Arn::parse(model_id)
        .is_some_and(|arn| arn.resource_type == "application-inference-profile")
    {
        return Err(Fail::validation(
            "The provided model identifier is invalid.",
        ));
    }
    let model = ctx
        .state
        .runtime_model(&ctx.request.region, model_id)
        .map_err(super::service::from_api)?;
    let caps = models::capabilities(&model.foundation_model_id);
    if !caps.count_tokens {
        return Err(Fail::validation(format!(
            "The provided model {} doesn't support counting tokens.",
            model.foundation_model_id
        )));
    }
    let request: Value = serde_json::from_slice(body).map_err(|e| {
        Fail::validation(format!(
            "Malformed input request: the body is not valid JSON ({e}), please reformat your input and try again."
        ))
    })?;
    let input = request
        .get("input")
        .and_then(Value::as_object)
        .ok_or_else(|| Fail::validation("1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null"))?;
    let prompt = match (input.get("invokeModel"), input.get("converse")) {
        (Some(invoke_model), None) => {
            let encoded = invoke_model
                .get("body")
                .and_then(Value::as_str)
                .ok_or_else(|| Fail::validation("1 validation error detected: Value null at 'input.invokeModel.body' failed to satisfy constraint: Member must not be null"))?;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| Fail::validation("Malformed input request: input.invokeModel.body is not valid base64, please reformat your input and try again."))?;
            let native: Value = serde_json::from_slice(&raw).map_err(|e| {
                Fail::validation(format!("Malformed input request: the body is not valid JSON ({e}), please reformat your input and try again."))
            })?;
            invoke::parse(&native, &caps, &model.foundation_model_id)?
        }
        (None, Some(converse_request)) => converse::check(converse_request, &caps)?.prompt,
        _ => {
            return Err(Fail::validation(
                "Malformed input request: input must set exactly one of invokeModel and converse, please reformat your input and try again.",
            ));
        }
    };
    Ok(json!({ "inputTokens": responder::input_tokens(&prompt) }))
}
