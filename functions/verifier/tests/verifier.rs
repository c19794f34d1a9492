//! The verifier's integration tests: the window, paging and scale against in-process fakes, the
//! scan end to end against moto's CloudWatch Logs, the doctor against the local Bedrock emulator,
//! and the `events/verifier` fixtures.

#[path = "verifier/alloc.rs"]
mod alloc;
#[path = "verifier/doctor_emulator.rs"]
mod doctor_emulator;
#[path = "verifier/events.rs"]
mod events;
#[path = "verifier/moto.rs"]
mod moto;
#[path = "verifier/paging.rs"]
mod paging;
#[path = "verifier/scale.rs"]
mod scale;
#[path = "verifier/support.rs"]
mod support;
#[path = "verifier/tiling.rs"]
mod tiling;
#[path = "verifier/wire.rs"]
mod wire;
