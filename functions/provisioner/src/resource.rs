//! What the resource logic ([`crate::profile`], [`crate::logging`]) is given and gives back.
//! Its own module so the handler depends on the resources and never the other way round.

use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::protocol::StackRef;

/// What the resource logic needs to know about the request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub stack: StackRef,
    pub stack_id: String,
    pub request_id: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    /// Work must be finished by then; retries and polls stop before it.
    pub deadline: Instant,
}

/// A successful result: the physical ID and the attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub physical_id: String,
    pub data: Map<String, Value>,
}

impl Outcome {
    pub fn bare(physical_id: String) -> Self {
        Outcome {
            physical_id,
            data: Map::new(),
        }
    }
}
