#!/usr/bin/env bash
# Dependency checks CI runs after lint:
# 1. No crate of the product workspace declares a dependency it does not use (cargo-machete).
#    The fuzz crate is left out: it is its own workspace and reaches the shared checks through
#    `#[path]` modules that cargo-machete does not follow.
# 2. The vendored `lambda_runtime_api_client` (vendor/README.md: Nagle's algorithm off, the
#    40 ms stall per response) is what the build really uses. A version bump of lambda_runtime
#    that the patch no longer matches makes cargo fall back to the crates.io copy with only a
#    warning; this turns that into a failure.
# 3. No module cycle inside a crate (scripts/tools/module_cycles.py): a module's dependencies
#    point one way, so each one can be read, tested and moved on its own.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-machete >/dev/null 2>&1; then
    cargo install cargo-machete --locked
fi
cargo machete shared functions tests cli

source_line=$(cargo tree --workspace --invert lambda_runtime_api_client --depth 0 --quiet 2>&1 | head -n 1)
case "$source_line" in
    "lambda_runtime_api_client "*"/vendor/lambda_runtime_api_client)")
        echo "lambda_runtime_api_client comes from vendor/: $source_line"
        ;;
    *)
        echo "lambda_runtime_api_client no longer comes from vendor/ (the [patch.crates-io] is" >&2
        echo "not applied; see vendor/README.md): ${source_line:-not in the dependency tree}" >&2
        exit 1
        ;;
esac

python3 scripts/tools/module_cycles.py shared/src functions/provisioner/src functions/router/src \
    functions/verifier/src cli/src tests/bench/src tests/e2e tests/bedrock-emulator/src
