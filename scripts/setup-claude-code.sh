#!/usr/bin/env bash
# Installs Claude Code into .local/claude-code for the Bedrock drop-in proof
# (tests/python/test_router_bedrock_api.py). Its native binary runs despite npm's engine warning.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${CLAUDE_CODE_VERSION:-2.1.197}"
DIR=.local/claude-code
if [[ -x "$DIR/node_modules/.bin/claude" ]] && "$DIR/node_modules/.bin/claude" --version 2>/dev/null | grep -q "^$VERSION "; then
  exit 0
fi
mkdir -p "$DIR"
npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$VERSION"
"$DIR/node_modules/.bin/claude" --version
