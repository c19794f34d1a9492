#!/usr/bin/env bash
# Lints template.yaml as written and as SAM expands it (cfn-lint), then runs checkov's policy
# checks, for the default parameters and again for RouterCompute=ManagedInstances (linters judge
# a template by its defaults, so that choice is made the default in a copy). Any finding fails
# the script.
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
echo "cfn-lint: RouterCompute=ManagedInstances, as written and expanded"
.venv/bin/python scripts/tools/expand_sam.py template.yaml "$out/managed-expanded.json" \
  --choose RouterCompute=ManagedInstances \
  --choose RouterSubnetIds=subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788 \
  --choose RouterSecurityGroupIds=sg-0123456789abcdef0 \
  --source-out "$out/managed-source.json"
.venv/bin/cfn-lint "$out/managed-source.json" "$out/managed-expanded.json"
echo "checkov"
.venv-checkov/bin/checkov --quiet --compact --skip-download --framework cloudformation \
  -f template.yaml -f "$out/expanded.json" -f "$out/managed-source.json" -f "$out/managed-expanded.json"
echo "template checks passed"
