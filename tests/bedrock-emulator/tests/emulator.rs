//! The emulator driven by the real Rust SDKs against in-process emulators on free loopback
//! ports (and the binary as a child process). One test binary for the crate, so a debug build
//! links once: the control plane and the runtime are its two modules.

#[path = "emulator/control_plane.rs"]
mod control_plane;
#[path = "emulator/runtime.rs"]
mod runtime;

/// Pins a local AWS environment for the whole process. Every client here is configured
/// explicitly; the variables make sure nothing can ever look for real credentials or the
/// instance-metadata address. Set once, before the first client of this process exists, so
/// tests on parallel threads never race `set_var`.
pub fn set_local_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: called once per process, before any SDK client reads the environment.
        unsafe {
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
            std::env::set_var("AWS_REGION", "us-east-1");
            std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE");
            std::env::set_var(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            );
        }
    });
}
