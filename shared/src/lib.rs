//! The domain shared by the provisioner, the verifier and the router.
