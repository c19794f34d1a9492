//! The resolved call target. Capabilities are the shared catalog's ([`Caps`]), whichever way
//! they were found (friendly ID in the catalog, or the model underneath a profile ARN).

pub use shared::catalog::Capabilities as Caps;

/// Where a request goes: the ID Bedrock is called with, in which region, on whose behalf.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The friendly ID the caller sent (what responses and metrics name).
    pub friendly_id: String,
    /// The profile ARN or model ID passed to Converse as `modelId`.
    pub call_id: String,
    /// The region the call is made in (the ARN's region for a profile).
    pub region: String,
    /// True when `call_id` is an inference-profile ARN.
    pub is_profile: bool,
    pub caps: Caps,
    /// Every place the call may go, `call_id`/`region` first, then the model's further
    /// profiles (`additionalInferenceProfiles`), tried in turn on throttling or an outage.
    pub sites: Vec<crate::bedrock::CallSite>,
    /// The foundation model under a profile, when Bedrock reported it (the call is priced by
    /// it; see [`crate::spend`]).
    pub model_id: Option<String>,
}

impl Target {
    /// The same target with `site` as the profile called (for errors and logs of one attempt).
    pub fn at(&self, site: &crate::bedrock::CallSite) -> Self {
        Self {
            call_id: site.model_id.clone(),
            region: site.region.clone(),
            ..self.clone()
        }
    }
}

impl Target {
    /// A failure of a call to this target, for the caller and the logs.
    pub fn error(&self, source: crate::error::BedrockError) -> crate::error::RouterError {
        crate::error::RouterError::Bedrock {
            friendly_id: self.friendly_id.clone(),
            call_id: self.call_id.clone(),
            region: self.region.clone(),
            is_profile: self.is_profile,
            source,
        }
    }
}
