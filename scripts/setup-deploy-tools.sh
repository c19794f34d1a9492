#!/usr/bin/env bash
# Creates the deploy/lint tool environments (idempotent). Each tool gets its own venv because
# their pins clash: checkov pins an old boto3 that lacks newer Bedrock operations, and
# aws-sam-cli pins its own botocore.
#   .venv-checkov  checkov (policy checks)
#   .venv-sam      aws-sam-cli + cargo-lambda (sam build)
set -euo pipefail
cd "$(dirname "$0")/.."

make_venv() {
  local venv=$1; shift
  local want
  want=$(printf '%s\n' "$@" | sha256sum | cut -d' ' -f1)
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if [ "$(cat "$venv/.requirements.sha" 2>/dev/null)" != "$want" ]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
    echo "$want" > "$venv/.requirements.sha"
  fi
}

case "${1:-all}" in
  checkov) make_venv .venv-checkov "checkov>=3.2" ;;
  sam) make_venv .venv-sam "aws-sam-cli>=1.140" "cargo-lambda>=1.8" "ziglang>=0.13" ;;
  all)
    make_venv .venv-checkov "checkov>=3.2"
    make_venv .venv-sam "aws-sam-cli>=1.140" "cargo-lambda>=1.8" "ziglang>=0.13"
    ;;
  *) echo "usage: $0 [checkov|sam|all]" >&2; exit 2 ;;
esac
