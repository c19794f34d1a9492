"""Shared by the router suites: the router under `cargo lambda watch`, the emulator's admin
routes, profiles created with boto3, and the invocation-log records the emulator writes to
moto's CloudWatch Logs.

The first request makes `cargo lambda watch` compile the router, so `run_router` waits for
`/health` (minutes on a busy 2-core machine) before handing out the URL.
"""

import contextlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
from botocore.config import Config

from conftest import LOCAL_AWS_ENV, REPO, VENV_BIN, free_port

sys.path.insert(0, str(REPO / "scripts" / "tools"))
from local_tls import write_local_tls  # noqa: E402 (the stack's own certificate maker)

REGION = "us-east-1"
ACCOUNT = "123456789012"
SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
STREAM = "aws/bedrock/modelinvocations"
COMPILE_TIMEOUT = float(os.environ.get("ROUTER_WATCH_TIMEOUT", "900"))
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def admin(emulator, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(f"{emulator.url}{path}", data=data, method=method,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"{}")


def wait_for_health(url, proc, log_path, timeout, ca_file=None):
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"cargo lambda watch exited with {proc.returncode}:\n{open(log_path).read()[-4000:]}")
        try:
            # The first request triggers the build; it may take a while to answer.
            with urllib.request.urlopen(f"{url}/health", timeout=120, context=context) as response:
                if json.loads(response.read()) == {"status": "ok"}:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            pass
        time.sleep(1)
    raise TimeoutError(f"the router did not answer /health within {timeout}s:\n{open(log_path).read()[-4000:]}")


# Function URL base -> the file holding that router's whole output (cargo lambda watch's log).
_LOG_PATHS = {}


def router_log(url):
    """Everything the router under `url` has written so far (its logs and metrics lines)."""
    with open(_LOG_PATHS[url], encoding="utf-8", errors="replace") as handle:
        return handle.read()


@contextlib.contextmanager
def run_router(emulator, config, extra_env=None, tls_dir=None):
    """Runs the router under `cargo lambda watch` with `config` as PROFILES_CONFIG; yields its
    Function URL base (`http://127.0.0.1:PORT/lambda-url/router`). With `tls_dir` it is served
    over https with a certificate from a local CA written there (`tls_dir / "ca.pem"`), as the
    local stack serves it for the AWS SDKs' Bedrock API keys."""
    port = free_port()
    tls = write_local_tls(Path(tls_dir)) if tls_dir else None
    env = {**os.environ, **LOCAL_AWS_ENV,
           "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
           "AWS_ENDPOINT_URL_BEDROCK": emulator.url,
           "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator.url,
           "PROFILES_CONFIG": json.dumps(config),
           **(extra_env or {})}
    for key in ("PROFILES_CONFIG_FILE", "ROUTER_API_KEYS_SECRET_ARN"):
        if key not in (extra_env or {}):
            env.pop(key, None)
    log = tempfile.NamedTemporaryFile(prefix="router-watch-", suffix=".log", delete=False)
    # --ignore-changes: other work in the tree must not restart the function mid-test.
    proc = subprocess.Popen(
        [str(VENV_BIN / "cargo-lambda"), "lambda", "watch", "-p", "router", "--bin", "router",
         "--ignore-changes", "--timeout", "120", "-A", "127.0.0.1", "-P", str(port),
         *(["--tls-cert", tls["cert"], "--tls-key", tls["key"]] if tls else [])],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/lambda-url/router"
    try:
        wait_for_health(url, proc, log.name, COMPILE_TIMEOUT, tls["ca"] if tls else None)
        _LOG_PATHS[url] = log.name
        yield url
    finally:
        _LOG_PATHS.pop(url, None)
        try:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, 9)
        os.unlink(log.name)


def bedrock_client(emulator, region=REGION):
    return boto3.client("bedrock", region_name=region, endpoint_url=emulator.url, config=NO_RETRIES)


def enable_invocation_logs(emulator, moto):
    """Turns on invocation logging to a fresh group in moto; returns (logs client, group)."""
    logs = boto3.client("logs", region_name=REGION, endpoint_url=moto.url, config=NO_RETRIES)
    group = f"/bedrock/router/{uuid.uuid4().hex[:8]}"
    bedrock_client(emulator).put_model_invocation_logging_configuration(loggingConfig={
        "cloudWatchConfig": {"logGroupName": group, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/BedrockLogs"},
        "textDataDeliveryEnabled": True,
    })
    return logs, group


def create_profile(emulator, name, model=SONNET, region=REGION):
    return bedrock_client(emulator, region).create_inference_profile(
        inferenceProfileName=name,
        modelSource={"copyFrom": f"arn:aws:bedrock:{region}:{ACCOUNT}:inference-profile/{model}"},
    )["inferenceProfileArn"]


def invocation_records(emulator, logs, group):
    """Every invocation-log record delivered so far (the emulator's queue is flushed first)."""
    stats = admin(emulator, "POST", "/_emulator/runtime/logs/flush")
    assert stats["failed"] == 0, stats
    events = logs.filter_log_events(logGroupName=group, logStreamNames=[STREAM])["events"]
    return [json.loads(e["message"]) for e in events]
