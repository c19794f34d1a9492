"""The README's first command, end to end: the offline stack starts, a completion sent to the
printed Function URL goes through a profile, and the verifier's report counts it as profiled.

The router under `cargo lambda watch` once exited on a clean CI clone after the Runtime API
dropped a streamed response's connection, and every later request got a 408; the router now
keeps serving after such a failure (`functions/router/tests/router/runtime_loop.rs`).
"""

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import REPO, VENV_BIN, free_port

STARTUP_LIMIT_S = 1500


def start_stack(*extra_args: str) -> dict:
    """Runs scripts/local-stack.sh on free ports until it prints `ready`; `stop_stack` stops
    it."""
    ports = {"bedrock": free_port(), "logs": free_port(), "lambda": free_port()}
    proc = subprocess.Popen(
        ["bash", str(REPO / "scripts" / "local-stack.sh"),
         "--bedrock-port", str(ports["bedrock"]), "--logs-port", str(ports["logs"]),
         "--lambda-port", str(ports["lambda"]), *extra_args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines = []
    deadline = time.monotonic() + STARTUP_LIMIT_S
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.strip() == "ready":
            break
    if not lines or lines[-1] != "ready":
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the local stack did not become ready:\n" + "\n".join(lines[-40:]))
    info = json.loads((REPO / ".local" / "stack.json").read_text())
    return {"proc": proc, "lines": lines, "ports": ports, **info}


def stop_stack(stack: dict) -> None:
    """Ctrl-C, as a user stops it: the stack's services run in their own sessions, so killing
    the script's group would leave them holding their ports (the https router's fixed one among
    them) for the next stack. SIGKILL only if it does not stop."""
    proc = stack["proc"]
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def stack():
    started = start_stack()
    yield started
    stop_stack(started)


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_a_completion_through_the_printed_url_lands_as_profiled(stack):
    printed = [l for l in stack["lines"] if l.startswith("Router Function URL: ")]
    assert printed, stack["lines"]
    router_url = printed[0].removeprefix("Router Function URL: ")
    assert router_url == stack["router_url"]
    assert router_url.startswith("http://127.0.0.1:")

    started = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=2)
    model = "us.anthropic.claude-opus-5-5"
    canary = f"canary-prompt-{uuid.uuid4().hex}"
    reply = post_json(f"{router_url}/v1/chat/completions",
                      {"model": model, "messages": [{"role": "user", "content": f"Say hello {canary}"}]})
    assert reply["model"] == model
    assert reply["choices"][0]["message"]["content"]

    # The emulator delivers records asynchronously: wait until moto has this one.
    import boto3

    logs = boto3.client("logs", endpoint_url=stack["logs_url"], region_name="us-east-1")
    # The stack made the log group before turning logging on, so it answers (empty) at once.
    for _ in range(300):
        events = logs.filter_log_events(logGroupName=stack["log_group"]).get("events", [])
        if events:
            break
        time.sleep(0.1)
    assert events, "no invocation record reached CloudWatch Logs"

    ended = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    backfill = {"start": started.isoformat(), "end": ended.isoformat()}
    result = subprocess.run(
        [str(VENV_BIN / "cargo-lambda"), "lambda", "invoke", "verifier", "--invoke-address", "127.0.0.1",
         "--invoke-port", str(stack["ports"]["lambda"]), "--data-ascii", json.dumps(backfill)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["complete"] is True, report
    assert report["records"] == 1, report
    assert report["counts"]["profiled"] == 1, report
    assert report["counts"]["mapping_miss"] == 0, report
    assert report["doctor"]["ok"] is True, report["doctor"]

    # The router's spend (the table the stack created) and the verifier's cost from the log
    # record agree: same tenant, same tokens, same pico-dollars.
    month = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m")
    dynamodb = boto3.client("dynamodb", endpoint_url=stack["logs_url"], region_name="us-east-1")
    key = {"pk": {"S": "tenant#default"}, "sk": {"S": f"month#{month}"}}
    for _ in range(100):
        item = dynamodb.get_item(TableName=stack["spend_table"], Key=key, ConsistentRead=True).get("Item")
        if item:
            break
        time.sleep(0.1)
    assert item, "the router's spend reached the local stack's table"
    seen = report["cost"]["by_tenant"]["default"]
    assert seen["requests"] == int(item["requests"]["N"]) == 1
    assert seen["pico_usd"] == int(item["costPicoUsd"]["N"])
    assert seen["output_tokens"] == int(item["outputTokens"]["N"])

    # The whole run's function output (provisioner, router and verifier, which read the record
    # holding the prompt) carries no prompt text.
    functions_log = (REPO / ".local" / "lambda-watch.log").read_text(errors="replace")
    assert "BedrockProfiles/Router" in functions_log and "\"Namespace\":\"BedrockProfiles\"" in functions_log
    assert canary not in functions_log
    assert canary in json.dumps(events), "the invocation log itself does hold the prompt"


def test_ctrl_c_stops_everything_it_started(stack):
    # Runs last in this module (pytest keeps file order).
    proc = stack["proc"]
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    for port in stack["ports"].values():
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
