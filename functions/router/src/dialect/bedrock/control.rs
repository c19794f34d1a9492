//! The control-plane reads Bedrock clients make against the same base URL:
//! `GET /inference-profiles` and `GET /inference-profiles/{id}`, in Bedrock's JSON shape.
//!
//! A team's served models are its profiles: each friendly ID that is a system-profile ID
//! (`us.anthropic.…`) is listed as `SYSTEM_DEFINED` under that ID (calling it lands on the team's
//! profile), and each of the team's application profiles as `APPLICATION` under its ARN. The
//! underlying `models` of a system profile come from its ID; an application profile's are the
//! live ones from GetInferenceProfile, asked once per profile and cached.

use http::StatusCode;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use shared::arn::ModelRef;

use crate::bedrock::Bedrock;
use crate::directory::{Directory, Resolution};
use crate::error::RouterError;
use crate::handler::Call;
use crate::relay::{Reply, json_reply};
use crate::routes::decode_label;

/// Bedrock's own page limit for ListInferenceProfiles.
const MAX_RESULTS: usize = 1000;

/// `GET /inference-profiles` with `type`, `maxResults` and `nextToken` as Bedrock takes them.
pub async fn list<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    query: &str,
) -> Result<Reply, RouterError> {
    let mut wanted = None;
    let mut max_results = MAX_RESULTS;
    let mut start: usize = 0;
    for (key, value) in pairs(query) {
        match key.as_str() {
            "type" => match value.as_str() {
                "SYSTEM_DEFINED" | "APPLICATION" => wanted = Some(value),
                _ => {
                    return Err(RouterError::invalid(
                        "typeEquals",
                        format!("`type` must be SYSTEM_DEFINED or APPLICATION, got `{value}`"),
                    ));
                }
            },
            "maxResults" => {
                max_results = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_RESULTS).contains(n))
                    .ok_or_else(|| {
                        RouterError::invalid(
                            "maxResults",
                            format!("`maxResults` must be a whole number from 1 to {MAX_RESULTS}, got `{value}`"),
                        )
                    })?;
            }
            "nextToken" => {
                start = value.parse().map_err(|_| {
                    RouterError::invalid(
                        "nextToken",
                        "`nextToken` is not one this router handed out; start again without it",
                    )
                })?;
            }
            _ => {}
        }
    }
    let mut summaries = Vec::new();
    for listed in call.directory().list() {
        let resolution = call.directory().resolve(&listed.id)?;
        for kind in [Kind::System, Kind::Application] {
            if wanted.as_deref().is_some_and(|w| w != kind.name()) {
                continue;
            }
            if let Some(summary) = describe(call, &resolution, kind).await? {
                summaries.push(summary);
            }
        }
    }
    let end = start.saturating_add(max_results).min(summaries.len());
    let page: Vec<Value> = summaries.get(start..end).unwrap_or_default().to_vec();
    let mut body = json!({ "inferenceProfileSummaries": page });
    if end < summaries.len() {
        body["nextToken"] = json!(end.to_string());
    }
    Ok(json_reply(StatusCode::OK, &body))
}

/// `GET /inference-profiles/{id}`: one of the team's profiles, by ID or ARN.
pub async fn get<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    raw_id: &str,
) -> Result<Reply, RouterError> {
    let id = decode_label(raw_id)?;
    let reference = ModelRef::parse(&id).ok();
    let (name, kind) = match &reference {
        Some(r) if r.app_profile().is_some() => (id.clone(), Kind::Application),
        Some(r) => match r.system_profile() {
            Some(p) => (format!("{}.{}", p.geo, p.model.as_str()), Kind::System),
            None => (id.clone(), Kind::System),
        },
        None => (id.clone(), Kind::Application),
    };
    let resolution = match call.directory().resolve(&name) {
        Ok(r) => r,
        Err(RouterError::UnknownModel { .. }) if kind == Kind::Application => {
            return Err(RouterError::ForeignProfile { arn: id });
        }
        Err(e) => return Err(e),
    };
    let found = describe(call, &resolution, kind).await?;
    // A served model that is neither a system-profile ID nor behind a profile is no profile.
    let summary = found.ok_or_else(|| RouterError::UnknownModel {
        model: id.clone(),
        message: format!(
            "inference profile `{id}` is not one of your team's profiles; GET /inference-profiles lists them"
        ),
    })?;
    Ok(json_reply(StatusCode::OK, &summary))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    System,
    Application,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::System => "SYSTEM_DEFINED",
            Self::Application => "APPLICATION",
        }
    }
}

/// The served model as a profile of `kind`, if it is one.
async fn describe<B: Bedrock, D: Directory>(
    call: &Call<'_, B, D>,
    resolution: &Resolution,
    kind: Kind,
) -> Result<Option<Value>, RouterError> {
    let app = ModelRef::parse(&resolution.call_id)
        .ok()
        .filter(|r| r.app_profile().is_some());
    let account = app.as_ref().and_then(|r| r.account()).unwrap_or_default();
    let from_name = ModelRef::parse(&resolution.friendly_id).ok();
    let (id, arn, models) = match kind {
        Kind::System => {
            let Some(system) = from_name.as_ref().and_then(|r| r.system_profile()) else {
                return Ok(None);
            };
            let id = format!("{}.{}", system.geo, system.model.as_str());
            let arn = format!(
                "arn:aws:bedrock:{}:{account}:inference-profile/{id}",
                resolution.region
            );
            let model = format!(
                "arn:aws:bedrock:{}::foundation-model/{}",
                resolution.region,
                system.model.as_str()
            );
            (id, arn, vec![model])
        }
        Kind::Application => {
            if app.is_none() {
                return Ok(None);
            }
            let arn = resolution.call_id.clone();
            let id = arn.rsplit('/').next().unwrap_or_default().to_owned();
            (id, arn, profile_models(call, resolution).await?)
        }
    };
    Ok(Some(json!({
        "inferenceProfileName": resolution.friendly_id,
        "description": format!("{} for your team through the router", resolution.friendly_id),
        "inferenceProfileArn": arn,
        "inferenceProfileId": id,
        "models": models.iter().map(|m| json!({"modelArn": m})).collect::<Vec<_>>(),
        "status": "ACTIVE",
        "type": kind.name(),
    })))
}

/// The foundation models under an application profile (GetInferenceProfile, once, cached):
/// what a client reads to pick the features it uses.
async fn profile_models<B: Bedrock, D: Directory>(
    call: &Call<'_, B, D>,
    resolution: &Resolution,
) -> Result<Vec<String>, RouterError> {
    // Asked once per profile and instance: the router's profile cache.
    let described = call
        .describe(&resolution.call_id, &resolution.region)
        .await
        .map_err(|source| RouterError::Bedrock {
            friendly_id: resolution.friendly_id.clone(),
            call_id: resolution.call_id.clone(),
            region: resolution.region.clone(),
            is_profile: true,
            source,
        })?;
    Ok(described.model_arns)
}

/// `key=value` pairs of a query string, percent-decoded (`+` is a space, as forms send it).
fn pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(move |p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_are_decoded() {
        let got: Vec<_> = pairs("type=SYSTEM_DEFINED&nextToken=a%3Ab&x").collect();
        assert_eq!(
            got,
            vec![
                ("type".into(), "SYSTEM_DEFINED".into()),
                ("nextToken".into(), "a:b".into()),
                ("x".into(), String::new())
            ]
        );
    }
}
