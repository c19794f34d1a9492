"""Claude Code itself as a client of the router, headless (`claude -p`), with nothing leaving
the machine: `HOME` in a temp dir, non-essential traffic off, and every proxy variable pointing
at a closed local port, so only the router (127.0.0.1, in `NO_PROXY`) can be reached.

The npm package is installed once per version into `.local/` (ignored by git).
"""

import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import LOCAL_AWS_ENV, REPO, free_port

CLAUDE_CODE_VERSION = "2.1.332"


def claude_binary():
    prefix = REPO / ".local" / f"claude-code-{CLAUDE_CODE_VERSION}"
    exe = prefix / "node_modules" / ".bin" / "claude"
    if not exe.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed, so Claude Code cannot be")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                        f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}"],
                       check=True, timeout=900, capture_output=True)
    return exe


def run_claude(prompt, env, timeout=300):
    """Runs `claude -p PROMPT` with only `env` (plus PATH and the safe AWS settings) and
    returns the completed process."""
    home = tempfile.mkdtemp(prefix="claude-home-")
    closed = f"http://127.0.0.1:{free_port()}"
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "HTTPS_PROXY": closed, "HTTP_PROXY": closed, "https_proxy": closed, "http_proxy": closed,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        **LOCAL_AWS_ENV,
        **env,
    }
    try:
        return subprocess.run([str(claude_binary()), "-p", prompt], env=full_env, capture_output=True,
                              text=True, timeout=timeout, cwd=home, stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(home, ignore_errors=True)
