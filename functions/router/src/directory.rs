//! Model resolution: the caller's `model` to a call target, with capabilities.
//!
//! [`Directory`] is what the router asks; the production implementation wraps the shared
//! profile map. Capabilities come from the friendly ID when the catalog knows it; otherwise, for
//! a profile, from the model underneath it, found once with GetInferenceProfile and cached.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::bedrock::{Bedrock, CallSite};
use crate::caps::{Caps, Target};
use crate::error::{BedrockErrorKind, RouterError};

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

/// Caches what each profile holds, so GetInferenceProfile is called once per profile.
#[derive(Default)]
pub struct ProfileCapsCache {
    by_arn: Mutex<HashMap<String, (Caps, Option<String>)>>,
}

impl ProfileCapsCache {
    /// Completes a resolution into a target, looking up the profile's model when needed.
    pub async fn target<B: Bedrock, D: Directory>(
        &self,
        bedrock: &B,
        directory: &D,
        resolution: Resolution,
    ) -> Result<Target, RouterError> {
        let (caps, model_id) = match resolution.caps {
            Some(caps) => (caps, None),
            None if resolution.is_profile => {
                let cached = self
                    .by_arn
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&resolution.call_id)
                    .cloned();
                match cached {
                    Some(known) => known,
                    None => {
                        let lookup = bedrock
                            .profile_model(&resolution.call_id, &resolution.region)
                            .await;
                        let known = match lookup {
                            Ok(model_id) => {
                                tracing::info!(profile = %resolution.call_id, model_id = %model_id, "profile capabilities resolved");
                                let caps = directory
                                    .caps_for_model(&model_id)
                                    .unwrap_or_else(Caps::conservative);
                                (caps, Some(model_id))
                            }
                            // Without bedrock:GetInferenceProfile the profile still works; it is
                            // shaped as an unknown model (text only) rather than refused.
                            Err(source) if source.kind == BedrockErrorKind::AccessDenied => {
                                tracing::warn!(profile = %resolution.call_id, "GetInferenceProfile denied; using conservative capabilities");
                                (Caps::conservative(), None)
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
                        self.by_arn
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(resolution.call_id.clone(), known.clone());
                        known
                    }
                }
            }
            None => (
                directory
                    .caps_for_model(&resolution.call_id)
                    .unwrap_or_else(Caps::conservative),
                None,
            ),
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
            model_id,
        })
    }
}
