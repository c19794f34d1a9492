#!/usr/bin/env bash
# Benchmarks the router and the verifier on this machine, each figure beside its floor.
#   bash scripts/bench.sh           full run (several minutes after the build)
#   bash scripts/bench.sh --quick   every section with tiny counts (CI: proves it still runs)
# Builds in release mode, prints a Markdown table and writes target/bench/results.json and
# target/bench/results.svg. Everything talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-local-env.sh

quick=""
case "${1:-}" in
  "") ;;
  --quick) quick="--quick" ;;
  *) echo "usage: bash scripts/bench.sh [--quick]" >&2; exit 2 ;;
esac

# The benchmark and the three bootstraps it cold-starts, in one release build.
cargo build --release -p bench -p router -p verifier -p provisioner -p bedrock-profiles

# Package sizes come from cargo-lambda's arm64 zips. CI's build-lambdas.sh leaves them in
# target/lambda; a full run builds them when they are missing, a quick run reports them missing.
if [[ -z "$quick" ]]; then
  missing=0
  for f in router verifier provisioner; do
    [[ -f "target/lambda/$f/bootstrap.zip" ]] || missing=1
  done
  if [[ "$missing" == 1 ]]; then
    bash scripts/build-lambdas.sh
  fi
elif [[ ! -x .venv/bin/cargo-lambda ]]; then
  bash scripts/setup-python.sh
fi

exec target/release/bench $quick
