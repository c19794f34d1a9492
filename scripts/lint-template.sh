#!/usr/bin/env bash
# Lints template.yaml as written and as SAM expands it (cfn-lint), then runs checkov's policy
# checks. Any finding fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/aws-local-env.sh
bash scripts/setup-python.sh
bash scripts/setup-deploy-tools.sh checkov
out=target/template
mkdir -p "$out"

echo "cfn-lint: template.yaml"
.venv/bin/cfn-lint template.yaml
echo "cfn-lint: SAM expansion"
.venv/bin/python scripts/tools/expand_sam.py template.yaml "$out/expanded.json"
.venv/bin/cfn-lint "$out/expanded.json"
echo "checkov"
.venv-checkov/bin/checkov --quiet --compact --skip-download --framework cloudformation \
  -f template.yaml -f "$out/expanded.json"
echo "template checks passed"
