//! Model resolution: the caller's `model` to a call target, with capabilities.
//!
//! [`Directory`] is what the router asks; the production implementation wraps the shared
//! profile map. Capabilities come from the friendly ID when the catalog knows it; otherwise, for
//! a profile, from the model underneath it, found once with GetInferenceProfile and cached.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::bedrock::{Bedrock, CallSite, ProfileDescription};
use crate::caps::{Caps, Target};
use crate::error::{BedrockError, BedrockErrorKind, RouterError};

/// A resolved model before capability lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub friendly_id: String,
    pub call_id: String,
    pub region: String,
    pub is_profile: bool,
    /// Known from the friendly ID; `None` means "ask what the profile holds".
    pub caps: Option<Caps>,
    /// Further profiles for the same model, after `call_id`/`region`.
    pub alternates: Vec<CallSite>,
}

/// One entry of `GET /v1/models`.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub id: String,
    pub via_profile: bool,
    pub caps: Option<Caps>,
}

/// The configured models.
pub trait Directory: Send + Sync + 'static {
    /// Resolves a caller's `model`; an unknown one is [`RouterError::UnknownModel`].
    fn resolve(&self, model: &str) -> Result<Resolution, RouterError>;
    /// Every configured friendly ID, in configuration order.
    fn list(&self) -> Vec<Listed>;
    /// Capabilities of a foundation-model ID, if the catalog knows it.
    fn caps_for_model(&self, model_id: &str) -> Option<Caps>;
}

/// Caches what each profile is (GetInferenceProfile), so Bedrock is asked once per profile
/// and instance: for the capabilities of a profile the catalog cannot name, for the base model
/// CountTokens needs, and for the profile reads of Bedrock's own API.
#[derive(Default)]
pub struct ProfileCache {
    by_id: Mutex<HashMap<String, ProfileDescription>>,
    /// The capabilities decided per profile, including the conservative fallback when the
    /// lookup is denied (so a denied lookup is not repeated on every request).
    caps: Mutex<HashMap<String, Caps>>,
}

impl ProfileCache {
    /// The profile `id` (an ARN or a system-profile ID) in `region`, asked once.
    pub async fn describe<B: Bedrock>(
        &self,
        bedrock: &B,
        id: &str,
        region: &str,
    ) -> Result<ProfileDescription, BedrockError> {
        let cached = self
            .by_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        if let Some(found) = cached {
            return Ok(found);
        }
        let found = bedrock.inference_profile(id, region).await?;
        tracing::info!(profile = %id, model = ?found.foundation_model(), "inference profile described");
        self.by_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned(), found.clone());
        Ok(found)
    }

    /// Completes a resolution into a target, looking up the profile's model when needed.
    pub async fn target<B: Bedrock, D: Directory>(
        &self,
        bedrock: &B,
        directory: &D,
        resolution: Resolution,
    ) -> Result<Target, RouterError> {
        let known = self
            .caps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&resolution.call_id)
            .cloned();
        let caps = match (resolution.caps, known) {
            (Some(caps), _) | (None, Some(caps)) => caps,
            (None, None) if resolution.is_profile => {
                let caps = match self
                    .describe(bedrock, &resolution.call_id, &resolution.region)
                    .await
                {
                    Ok(profile) => profile
                        .foundation_model()
                        .and_then(|m| directory.caps_for_model(&m))
                        .unwrap_or_else(Caps::conservative),
                    // Without bedrock:GetInferenceProfile the profile still works; it is
                    // shaped as an unknown model (text only) rather than refused.
                    Err(source) if source.kind == BedrockErrorKind::AccessDenied => {
                        tracing::warn!(profile = %resolution.call_id, "GetInferenceProfile denied; using conservative capabilities");
                        Caps::conservative()
                    }
                    Err(source) => {
                        return Err(RouterError::Bedrock {
                            friendly_id: resolution.friendly_id.clone(),
                            call_id: resolution.call_id.clone(),
                            region: resolution.region.clone(),
                            is_profile: true,
                            source,
                        });
                    }
                };
                self.caps
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(resolution.call_id.clone(), caps.clone());
                caps
            }
            (None, None) => directory
                .caps_for_model(&resolution.call_id)
                .unwrap_or_else(Caps::conservative),
        };
        let mut sites = vec![CallSite {
            model_id: resolution.call_id.clone(),
            region: resolution.region.clone(),
        }];
        sites.extend(resolution.alternates);
        Ok(Target {
            sites,
            friendly_id: resolution.friendly_id,
            call_id: resolution.call_id,
            region: resolution.region,
            is_profile: resolution.is_profile,
            caps,
        })
    }
}
