"""`events/provisioner/response-receiver.py`, the stand-in for CloudFormation's ResponseURL that
docs/provisioner.md uses to replay the event files: it must accept a protocol-correct answer and
name every protocol fault in a wrong one, so a replay can be trusted."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from conftest import REPO, free_port, wait_for_port

RECEIVER = REPO / "events" / "provisioner" / "response-receiver.py"
GOOD = {"Status": "SUCCESS", "PhysicalResourceId": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1", "RequestId": "r-1",
        "LogicalResourceId": "Chat", "Data": {}}


@pytest.fixture(scope="module")
def receiver():
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(RECEIVER), str(port)], stdout=subprocess.PIPE, text=True)
    wait_for_port(port, proc)
    yield f"http://127.0.0.1:{port}/cloudformation-response", proc
    proc.terminate()
    proc.wait(timeout=10)


def put(url, body: bytes, content_type=""):
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def verdict(proc):
    """The receiver's `protocol:` line for the last PUT."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("protocol: "):
            return line.strip().removeprefix("protocol: ")
    raise TimeoutError("no protocol line")


def test_a_correct_answer_is_accepted(receiver):
    url, proc = receiver
    assert put(url, json.dumps(GOOD).encode()) == 200
    assert verdict(proc) == "OK"


@pytest.mark.parametrize("body, content_type, expected", [
    (json.dumps(GOOD).encode(), "application/json", "Content-Type must be empty"),
    (json.dumps({**GOOD, "Data": {"x": "y" * 5000}}).encode(), "", "(> 4096)"),
    (b"not json", "", "body is not JSON"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "RequestId"}).encode(), "", "RequestId missing"),
    (json.dumps({**GOOD, "Status": "FAILED"}).encode(), "", "FAILED without a Reason"),
])
def test_each_protocol_fault_is_named(receiver, body, content_type, expected):
    url, proc = receiver
    assert put(url, body, content_type) == 400
    assert expected in verdict(proc)
