//! The domain shared by the provisioner, the verifier and the router: typed Bedrock model
//! references ([`arn`]), and — as they land — the profile config and map, the model
//! catalog, invocation-log classification, AWS client setup and telemetry.

pub mod arn;
pub mod aws;
pub mod catalog;
pub mod config;
pub mod invocation_log;
pub mod profile_map;
pub mod telemetry;
