//! The verifier function's core, kept free of Lambda types where possible so it can be tested directly.
