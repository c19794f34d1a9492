#!/usr/bin/env bash
# Builds the three Lambda bootstraps with cargo-lambda (release) and prints their sizes.
# arm64 (the template's architecture) needs the aarch64 std; where it cannot be installed the
# x86_64 build still proves the functions build as bootstraps.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-local-env.sh
bash scripts/setup-python.sh
export PATH="$PWD/.venv/bin:$PATH"

arch_flag=""
if rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-linux-gnu \
  || rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1; then
  arch_flag="--arm64"
else
  echo "aarch64 target not installable here: building x86_64 bootstraps instead"
fi

cargo lambda build --release $arch_flag --output-format zip \
  --bin provisioner --bin verifier --bin router

for f in provisioner verifier router; do
  zip="target/lambda/$f/bootstrap.zip"
  printf '%-12s zip %8s bytes\n' "$f" "$(stat -c %s "$zip")"
done
