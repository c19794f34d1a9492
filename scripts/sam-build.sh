#!/usr/bin/env bash
# `sam build` of template.yaml on this machine: aws-sam-cli and cargo-lambda (with zig) from PyPI
# in .venv-sam, the Rust build method behind SAM's beta flag. Each function becomes an arm64
# `bootstrap` under target/sam-build/<LogicalId>/; the sizes and architectures are printed.
# Options are passed to `sam build` (e.g. --cached).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-local-env.sh
bash scripts/setup-deploy-tools.sh sam
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
export PATH="$PWD/.venv-sam/bin:$PATH"
export SAM_CLI_BETA_RUST_CARGO_LAMBDA=1 SAM_CLI_TELEMETRY=0

build_dir=target/sam-build
sam build --build-dir "$build_dir" "$@"

status=0
# RouterManagedFunction (RouterCompute=ManagedInstances) is built too: sam build ignores conditions.
for id in ProvisionerFunction RouterFunction RouterManagedFunction VerifierFunction; do
  bootstrap="$build_dir/$id/bootstrap"
  if [ ! -x "$bootstrap" ]; then
    echo "$id: no bootstrap at $bootstrap" >&2
    status=1
    continue
  fi
  # ELF e_machine (bytes 18-19, little-endian): b7 00 is aarch64.
  machine=$(od -An -tx1 -j18 -N2 "$bootstrap" | tr -d ' \n')
  printf '%-20s %10s bytes  e_machine %s\n' "$id" "$(stat -c %s "$bootstrap")" "$machine"
  if [ "$machine" != "b700" ]; then
    echo "$id: expected an arm64 (aarch64) bootstrap, e_machine is $machine" >&2
    status=1
  fi
done
exit $status
