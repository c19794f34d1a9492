#!/usr/bin/env bash
# Runs every test of the project on this machine, offline:
#   Rust unit tests, the in-process suites against the local Bedrock, and the Python suites that
#   drive the local Bedrock and the router with independent clients (boto3, the AWS CLI, the
#   OpenAI SDK) next to moto's CloudWatch Logs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-local-env.sh
bash scripts/setup-python.sh

# The Python suites start these binaries themselves.
cargo build --quiet -p bedrock-emulator --bins

cargo test --workspace --quiet
.venv/bin/pytest tests/python -q -p no:cacheprovider
