#!/usr/bin/env bash
# Runs the whole product on this machine with no AWS account: moto's CloudWatch Logs, the local
# Bedrock, the provisioner creating the example profiles and invocation logging through real
# Create events, and the router and verifier under `cargo lambda watch`. Ctrl-C stops it all.
# Options: --bedrock-port (4000), --logs-port (4010), --lambda-port (9000),
# --verifier-mode schedule|stream|both (schedule: as the template's default VerifierMode).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-local-env.sh
bash scripts/setup-python.sh
cargo build --quiet -p bedrock-emulator --bins
# Built one by one, exactly as `cargo lambda watch` runs them (`cargo run --bin NAME`), so the
# first invocation of each does not wait on a compile.
for function in provisioner router verifier; do
  cargo build --quiet --bin "$function"
done
exec .venv/bin/python scripts/tools/local_stack.py "$@"
