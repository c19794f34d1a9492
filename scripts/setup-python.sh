#!/usr/bin/env bash
# Creates the local Python tool environment used by the tests (idempotent).
# .venv: moto's CloudWatch Logs server, boto3, the AWS CLI, the OpenAI SDK, pytest, cargo-lambda.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
STAMP="$VENV/.requirements.sha"
want=$(sha256sum tests/python/requirements.txt | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
  echo "$want" > "$STAMP"
fi
