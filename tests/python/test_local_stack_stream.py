"""The offline stack in stream mode: a completion through the router reaches the verifier as a
real `awslogs` subscription batch built from what the local Bedrock wrote to moto, and shows up
as a metric line within seconds, with no scan.
"""

import base64
import gzip
import json
import os
import signal
import sys
import time
import uuid

import pytest

from conftest import REPO
from test_local_stack import post_json, start_stack, stop_stack

sys.path.insert(0, str(REPO / "scripts" / "tools"))
import local_stack  # noqa: E402

# What "within seconds" allows on a loaded 2-core machine: the poll is every second.
METRIC_WITHIN_S = 30


def test_a_payload_is_gzip_then_base64_of_the_subscription_json():
    events = [{"eventId": "1" * 56, "timestamp": 1_795_778_523_000, "message": "{\"modelId\":\"m\"}",
               "logStreamName": "aws/bedrock/modelinvocations"}]
    payload = local_stack.awslogs_payload("aws/bedrock/modelinvocations", events)
    data = json.loads(gzip.decompress(base64.b64decode(payload["awslogs"]["data"], validate=True)))
    assert data["messageType"] == "DATA_MESSAGE"
    assert data["logGroup"] == local_stack.LOG_GROUP
    assert data["subscriptionFilters"] == [local_stack.SUBSCRIPTION_FILTER]
    assert data["logEvents"] == [{"id": "1" * 56, "timestamp": 1_795_778_523_000, "message": "{\"modelId\":\"m\"}"}]


def test_batches_hold_one_stream_each_and_close_at_the_limits(monkeypatch):
    monkeypatch.setattr(local_stack, "BATCH_EVENTS", 2)
    events = [{"eventId": str(i), "timestamp": i, "message": "x", "logStreamName": "a" if i % 3 else "b"}
              for i in range(7)]
    batches = local_stack.subscription_batches(events)
    for stream, batch in batches:
        assert {e["logStreamName"] for e in batch} == {stream}
        assert 1 <= len(batch) <= 2
    delivered = [e["eventId"] for _, batch in batches for e in batch]
    assert sorted(delivered) == sorted(e["eventId"] for e in events), "each event once"
    monkeypatch.setattr(local_stack, "BATCH_EVENTS", 100)
    monkeypatch.setattr(local_stack, "BATCH_BYTES", 3)
    big = [{"eventId": str(i), "timestamp": i, "message": "xx", "logStreamName": "a"} for i in range(3)]
    assert [len(b) for _, b in local_stack.subscription_batches(big)] == [1, 1, 1]


@pytest.fixture(scope="module")
def stream_stack():
    started = start_stack("--verifier-mode", "stream")
    yield started
    stop_stack(started)


def test_a_call_through_the_router_is_a_metric_line_within_seconds(stream_stack):
    assert stream_stack["verifier_mode"] == "stream"
    journal = REPO / ".local" / "stream.log"
    functions_log = REPO / ".local" / "lambda-watch.log"
    lines_before = functions_log.read_text(errors="replace").count("\"Namespace\":\"BedrockProfiles\"")

    model = "us.anthropic.claude-opus-5-5"
    canary = f"canary-prompt-{uuid.uuid4().hex}"
    sent = time.monotonic()
    reply = post_json(f"{stream_stack['router_url']}/v1/chat/completions",
                      {"model": model, "messages": [{"role": "user", "content": f"Say hello {canary}"}]})
    assert reply["model"] == model

    batches = []
    while time.monotonic() - sent < METRIC_WITHIN_S:
        answers = [json.loads(l) for l in journal.read_text().splitlines() if l.strip()]
        batches = [a for a in answers if isinstance(a, dict) and a.get("records")]
        if batches:
            break
        time.sleep(0.25)
    assert batches, f"no batch reached the verifier within {METRIC_WITHIN_S}s: {journal.read_text()}"
    elapsed = time.monotonic() - sent
    assert sum(b["counts"]["profiled"] for b in batches) == 1, batches
    assert sum(b["records"] for b in batches) == 1, batches
    assert batches[0]["message_type"] == "DATA_MESSAGE"
    # The subscription's control message came first and counted nothing.
    first = json.loads(journal.read_text().splitlines()[0])
    assert first["message_type"] == "CONTROL_MESSAGE" and first["records"] == 0, first

    # The verifier wrote the batch's EMF documents (totals and the model's) to its log.
    log_text = functions_log.read_text(errors="replace")
    assert log_text.count("\"Namespace\":\"BedrockProfiles\"") >= lines_before + 2
    assert canary not in log_text, "no prompt text in the functions' output"
    print(f"router call -> verifier metric line in {elapsed:.1f}s")


def test_ctrl_c_stops_the_stream_stack(stream_stack):
    proc = stream_stack["proc"]
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) == 0
