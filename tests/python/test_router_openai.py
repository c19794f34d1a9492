"""The router under `cargo lambda watch`, driven by the official `openai` SDK, against the local
Bedrock. Friendly model IDs map to application inference profiles created here with boto3; the
emulator's invocation logs (in moto's CloudWatch Logs) must show the profile ARN as `modelId` for
every mapped call.

The first request makes `cargo lambda watch` compile the router, so the fixture waits for
`/health` (minutes on a busy 2-core machine) before any test runs.
"""

import json
import socket
import time
import urllib.error
import urllib.request

import openai
import pytest

from conftest import start_emulator
from router_harness import (REGION, SONNET, admin, create_profile, enable_invocation_logs,
                            invocation_records, run_router)

TEAM = "team-sonnet"
NOVA = "amazon.nova-pro-v1:0"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"
       "RU5ErkJggg==")


@pytest.fixture(scope="module")
def stack(moto):
    emulator = start_emulator("--logs-endpoint", moto.url)
    try:
        logs, group = enable_invocation_logs(emulator, moto)
        sonnet_arn = create_profile(emulator, "router-sonnet")
        team_arn = create_profile(emulator, "router-team")
        config = {"models": [SONNET, TEAM, NOVA],
                  "inferenceProfiles": {SONNET: sonnet_arn, TEAM: team_arn},
                  "defaultRegion": REGION}
        with run_router(emulator, config) as url:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused-locally", max_retries=0, timeout=120)
            yield {"emulator": emulator, "client": client, "url": url, "logs": logs, "group": group,
                   "arns": {SONNET: sonnet_arn, TEAM: team_arn}}
    finally:
        emulator.stop()


def test_a_plain_completion_answers_with_the_friendly_model_and_usage(stack):
    reply = stack["client"].chat.completions.create(
        model=SONNET, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello router"}])
    assert reply.model == SONNET
    assert "You said: hello router" in reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_a_streamed_completion_matches_the_plain_one_and_reports_usage(stack):
    client = stack["client"]
    plain = client.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "stream this"}])
    chunks = list(client.chat.completions.create(
        model=SONNET, messages=[{"role": "user", "content": "stream this"}],
        stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens
    assert all(c.model == SONNET for c in chunks)


def test_a_tool_call_and_its_follow_up_tool_message(stack):
    client = stack["client"]
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    messages = [{"role": "user", "content": "call get_weather for Paris"}]
    first = client.chat.completions.create(model=SONNET, messages=messages, tools=tools)
    assert first.choices[0].finish_reason == "tool_calls"
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert "city" in json.loads(call.function.arguments)
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"}]
    second = client.chat.completions.create(model=SONNET, messages=messages, tools=tools)
    assert second.choices[0].finish_reason == "stop"
    assert "sunny, 21 C" in second.choices[0].message.content


def test_an_inline_image_is_accepted(stack):
    reply = stack["client"].chat.completions.create(model=SONNET, messages=[{"role": "user", "content": [
        {"type": "text", "text": "what is in this image?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}])
    assert reply.choices[0].message.content


def test_response_format_json_schema_is_passed_to_a_model_that_supports_it(stack):
    reply = stack["client"].chat.completions.create(
        model=SONNET, messages=[{"role": "user", "content": "give me a city"}],
        response_format={"type": "json_schema", "json_schema": {
            "name": "city", "schema": {"type": "object", "properties": {"name": {"type": "string"}}}}})
    assert reply.choices[0].message.content


def test_the_model_list_names_friendly_ids_only(stack):
    models = stack["client"].models.list()
    assert [m.id for m in models.data] == [SONNET, TEAM, NOVA]
    assert not any(m.id.startswith("arn:") for m in models.data)


def test_an_unknown_model_raises_not_found_listing_what_is_available(stack):
    with pytest.raises(openai.NotFoundError) as err:
        stack["client"].chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert err.value.status_code == 404
    assert f"available models: {SONNET}, {TEAM}, {NOVA}" in err.value.message


def test_bad_requests_raise_bad_request_with_the_reason(stack):
    client = stack["client"]
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}])
    assert "not fetched" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=SONNET, messages=[])
    assert "at least one message" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=NOVA, messages=[{"role": "user", "content": "hi"}], temperature=1.7)
    assert "temperature" in err.value.message


def test_throttling_raises_rate_limit_and_a_broken_stream_raises_api_error(stack):
    client, emulator = stack["client"], stack["emulator"]
    # The router retries throttling itself (3 attempts with back-off), so the fault outlasts them.
    admin(emulator, "POST", "/_emulator/runtime/faults", {"kind": "throttling", "count": 3})
    try:
        with pytest.raises(openai.RateLimitError) as err:
            client.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "hi"}])
        assert err.value.response.headers["retry-after"] == "2"
    finally:
        admin(emulator, "DELETE", "/_emulator/runtime/faults")
    admin(emulator, "POST", "/_emulator/runtime/faults",
          {"kind": "stream-error", "afterEvents": 3, "count": 1, "operation": "ConverseStream"})
    stream = client.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "a long answer"}],
                                            stream=True)
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


def test_a_missing_model_agreement_raises_permission_denied(stack):
    emulator = stack["emulator"]
    fm = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    admin(emulator, "PUT", f"/_emulator/model-access/{fm}", {"agreementAvailability": {"status": "NOT_AVAILABLE"}})
    try:
        with pytest.raises(openai.PermissionDeniedError) as err:
            stack["client"].chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "hi"}])
        assert "model agreement" in err.value.message
    finally:
        admin(emulator, "PUT", f"/_emulator/model-access/{fm}", {"agreementAvailability": {"status": "AVAILABLE"}})


def test_the_native_converse_route_answers_in_bedrocks_shape(stack):
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "native"}]}]}).encode()
    request = urllib.request.Request(f"{stack['url']}/model/{TEAM}/converse", data=body, method="POST",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        reply = json.loads(response.read())
    assert reply["output"]["message"]["role"] == "assistant"
    assert reply["stopReason"] == "end_turn"


def test_stream_chunks_are_forwarded_as_bedrock_produces_them(stack):
    emulator = stack["emulator"]
    admin(emulator, "PUT", "/_emulator/runtime/pacing", {"delayMs": 150})
    try:
        started = time.monotonic()
        arrivals = []
        for chunk in stack["client"].chat.completions.create(
                model=SONNET, messages=[{"role": "user", "content": "tell me something paced and long"}],
                stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append(time.monotonic() - started)
    finally:
        admin(emulator, "PUT", "/_emulator/runtime/pacing", {"delayMs": 0})
    assert len(arrivals) >= 3
    # Buffering would deliver everything at the end; forwarding spreads the chunks out.
    # Half the paced spread leaves room for scheduling jitter on a busy machine.
    assert arrivals[-1] - arrivals[0] >= 0.5 * 0.15 * (len(arrivals) - 1), arrivals


def raw_post(url, body: bytes, content_type="application/json"):
    request = urllib.request.Request(url, data=body, method="POST", headers={"content-type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_hostile_bodies_get_4xx_and_the_function_keeps_serving(stack):
    url = f"{stack['url']}/v1/chat/completions"
    cases = [
        (b"{", "not valid JSON"),
        (json.dumps({"model": SONNET, "messages": [{"role": "user", "content": "a" * 5_900_000}]}).encode(),
         "the router accepts at most"),
        (json.dumps({"model": SONNET, "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,!!!!"}}]}]}).encode(), "not valid base64"),
        (json.dumps({"model": SONNET, "messages": [{"role": "user", "content": "hi"}],
                     "tools": [{"type": "function", "function": {"name": f"t{i}"}} for i in range(200)]}).encode(),
         "at most 128"),
    ]
    # Binary bodies travel base64-encoded in the Function URL event; cargo lambda watch does that
    # only for non-text content types (with application/json it fails before the function runs).
    cases.append((b"\x00\xff\xfe\x80", "not valid JSON", "application/octet-stream"))
    for body, expected, *content_type in cases:
        status, payload = raw_post(url, body, *content_type)
        assert 400 <= status < 500, (status, payload[:300], body[:40])
        assert expected in json.loads(payload)["error"]["message"], payload[:300]
    with urllib.request.urlopen(f"{stack['url']}/health", timeout=60) as response:
        assert json.loads(response.read()) == {"status": "ok"}


def test_invocation_logs_show_the_profile_arn_for_every_mapped_call(stack):
    client = stack["client"]
    client.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "logged plain"}])
    list(client.chat.completions.create(model=TEAM, messages=[{"role": "user", "content": "logged stream"}],
                                        stream=True))
    client.chat.completions.create(model=NOVA, messages=[{"role": "user", "content": "logged unmapped"}])
    records = invocation_records(stack["emulator"], stack["logs"], stack["group"])
    mapped = [r for r in records if r.get("requestMetadata", {}).get("model") in stack["arns"]]
    assert len(mapped) >= 3, records
    for record in mapped:
        assert record["modelId"] == stack["arns"][record["requestMetadata"]["model"]], record
    unmapped = [r for r in records if r.get("requestMetadata", {}).get("model") == NOVA]
    assert unmapped and all(r["modelId"] == NOVA for r in unmapped)


def test_a_caller_that_disconnects_mid_stream_does_not_take_the_function_down(stack):
    """The caller hangs up after the first chunk of a paced stream; later calls are still answered.
    (What happens inside the sandbox when the Runtime API drops the response connection is pinned
    by the router's `runtime_loop` test against a scripted Runtime API.)"""
    emulator = stack["emulator"]
    admin(emulator, "PUT", "/_emulator/runtime/pacing", {"delayMs": 200})
    try:
        host, port = stack["url"].removeprefix("http://").split("/", 1)[0].split(":")
        body = json.dumps({"model": SONNET, "stream": True,
                           "messages": [{"role": "user", "content": "a long paced answer to abandon"}]}).encode()
        path = "/" + stack["url"].removeprefix("http://").split("/", 1)[1] + "/v1/chat/completions"
        with socket.create_connection((host, int(port)), timeout=60) as sock:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\ncontent-type: application/json\r\n"
                         f"content-length: {len(body)}\r\n\r\n".encode() + body)
            received = b""
            while b"data: " not in received:
                chunk = sock.recv(4096)
                assert chunk, received
                received += chunk
            assert received.startswith(b"HTTP/1.1 200"), received[:200]
            sock.shutdown(socket.SHUT_RDWR)
    finally:
        admin(emulator, "PUT", "/_emulator/runtime/pacing", {"delayMs": 0})
    # Every later call is answered by the same warm function.
    for _ in range(3):
        reply = stack["client"].chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "still there?"}])
        assert "You said: still there?" in reply.choices[0].message.content
