"""The Anthropic Messages API on the router, under `cargo lambda watch` with the local Bedrock,
driven by the official `anthropic` SDK and by Claude Code itself: plain, streamed, a tools round
trip, an image, thinking, count_tokens, each error class, a non-Claude model answering an
Anthropic client, and the invocation logs showing only the team's profile ARNs.
"""

import base64
import hashlib

import anthropic
import pytest

from claude_code import run_claude
from conftest import start_emulator
from router_harness import (REGION, SONNET, admin, create_profile, enable_invocation_logs,
                            invocation_records, router_log, run_router)

NOVA = "us.amazon.nova-pro-v1:0"
TEAM_KEY = "sk-team-claude-1"
# A 1x1 PNG.
PIXEL = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def sha256(key):
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture(scope="module")
def stack(moto):
    emulator = start_emulator("--logs-endpoint", moto.url)
    try:
        logs, group = enable_invocation_logs(emulator, moto)
        arns = {"claude": create_profile(emulator, "team-claude"),
                "nova": create_profile(emulator, "team-nova", model=NOVA)}
        config = {
            "models": [SONNET, NOVA],
            "defaultRegion": REGION,
            "tenants": {"team-a": {
                "apiKeys": [sha256(TEAM_KEY)],
                "inferenceProfiles": {SONNET: arns["claude"], NOVA: arns["nova"]},
                # Claude Code's background model goes to Nova; every other Claude name to the
                # team's Claude.
                "modelAliases": {"claude-haiku-*": NOVA, "claude-*": SONNET},
            }},
        }
        with run_router(emulator, config, {"ROUTER_AUTH_MODE": "NONE"}) as url:
            yield {"emulator": emulator, "url": url, "logs": logs, "group": group, "arns": arns}
    finally:
        emulator.stop()


def client(stack, key=TEAM_KEY):
    return anthropic.Anthropic(base_url=stack["url"], api_key=key, max_retries=0, timeout=120)


def test_a_plain_message_goes_through_the_teams_claude_profile(stack):
    raw = client(stack).messages.with_raw_response.create(
        model="claude-sonnet-4-5-20250929", max_tokens=200,
        messages=[{"role": "user", "content": "Say hello"}])
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.model == "claude-sonnet-4-5-20250929"
    assert raw.headers["x-router-profile"] == stack["arns"]["claude"]
    assert raw.headers["x-router-tenant"] == "team-a"


def test_a_streamed_message_arrives_as_anthropic_events(stack):
    with client(stack).messages.stream(
            model="claude-sonnet-4-5", max_tokens=200,
            messages=[{"role": "user", "content": "Tell me a short story"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


def test_a_tools_round_trip(stack):
    c = client(stack)
    tools = [{"name": "get_weather", "description": "Weather for a city",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                               "required": ["city"]}}]
    first = c.messages.create(model=SONNET, max_tokens=300, tools=tools,
                              tool_choice={"type": "tool", "name": "get_weather"},
                              messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert first.stop_reason == "tool_use"
    call = next(b for b in first.content if b.type == "tool_use")
    assert call.name == "get_weather"
    second = c.messages.create(model=SONNET, max_tokens=300, tools=tools, messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21C"}]},
    ])
    assert second.stop_reason == "end_turn"
    assert "sunny" in second.content[0].text


def test_an_image_is_passed_to_claude(stack):
    message = client(stack).messages.create(model=SONNET, max_tokens=100, messages=[{
        "role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
            {"type": "text", "text": "What is in this image?"}]}])
    assert message.content[0].text


def test_thinking_comes_back_as_thinking_blocks(stack):
    message = client(stack).messages.create(
        model=SONNET, max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "Think, then answer: 2+2?"}])
    kinds = [b.type for b in message.content]
    assert "thinking" in kinds and "text" in kinds, kinds


def test_count_tokens_is_bedrocks_count(stack):
    c = client(stack)
    counted = c.messages.count_tokens(model="claude-sonnet-4-5",
                                      messages=[{"role": "user", "content": "Count these words please"}])
    assert counted.input_tokens > 0
    answered = c.messages.create(model="claude-sonnet-4-5", max_tokens=50,
                                 messages=[{"role": "user", "content": "Count these words please"}])
    assert counted.input_tokens == answered.usage.input_tokens


def test_a_model_that_is_not_claude_answers_an_anthropic_client(stack):
    raw = client(stack).messages.with_raw_response.create(
        model="claude-haiku-4-5-20251001", max_tokens=100,
        system="be brief", messages=[{"role": "user", "content": "hi"}])
    message = raw.parse()
    assert message.content[0].type == "text" and message.content[0].text
    assert raw.headers["x-router-profile"] == stack["arns"]["nova"]
    with client(stack).messages.stream(model="claude-haiku-4-5", max_tokens=100,
                                       messages=[{"role": "user", "content": "stream please"}]) as stream:
        assert "".join(stream.text_stream)
        assert stream.get_final_message().usage.output_tokens > 0


def test_each_error_class_reaches_the_sdk(stack):
    with pytest.raises(anthropic.AuthenticationError):
        client(stack, "sk-wrong").messages.create(model=SONNET, max_tokens=10,
                                                  messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.NotFoundError) as err:
        client(stack).messages.create(model="gpt-4o", max_tokens=10,
                                      messages=[{"role": "user", "content": "hi"}])
    assert SONNET in str(err.value), "names what the tenant may use"
    with pytest.raises(anthropic.BadRequestError):
        client(stack).messages.create(model=SONNET, max_tokens=10, messages=[])
    emulator = stack["emulator"]
    admin(emulator, "POST", "/_emulator/runtime/faults", {"kind": "throttling", "count": 3})
    try:
        with pytest.raises(anthropic.RateLimitError):
            client(stack).messages.create(model=SONNET, max_tokens=10,
                                          messages=[{"role": "user", "content": "hi"}])
    finally:
        admin(emulator, "DELETE", "/_emulator/runtime/faults")
    fm = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    admin(emulator, "PUT", f"/_emulator/model-access/{fm}", {"agreementAvailability": {"status": "NOT_AVAILABLE"}})
    try:
        with pytest.raises(anthropic.PermissionDeniedError):
            client(stack).messages.create(model=SONNET, max_tokens=10,
                                          messages=[{"role": "user", "content": "hi"}])
    finally:
        admin(emulator, "PUT", f"/_emulator/model-access/{fm}", {"agreementAvailability": {"status": "AVAILABLE"}})
    admin(emulator, "POST", "/_emulator/runtime/faults",
          {"kind": "stream-error", "afterEvents": 3, "count": 1, "operation": "InvokeModelWithResponseStream"})
    try:
        with pytest.raises(anthropic.APIError):
            with client(stack).messages.stream(model=SONNET, max_tokens=300,
                                               messages=[{"role": "user", "content": "a long answer"}]) as s:
                for _ in s.text_stream:
                    pass
    finally:
        admin(emulator, "DELETE", "/_emulator/runtime/faults")


def test_claude_code_answers_through_a_team_key_and_only_profiles_reach_the_logs(stack):
    before = len(invocation_records(stack["emulator"], stack["logs"], stack["group"]))
    done = run_claude("say hi", {"ANTHROPIC_BASE_URL": stack["url"], "ANTHROPIC_API_KEY": TEAM_KEY})
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}\nrouter:\n{router_log(stack['url'])[-3000:]}"
    assert done.stdout.strip(), done.stderr
    records = invocation_records(stack["emulator"], stack["logs"], stack["group"])
    assert len(records) > before, "Claude Code's calls reached Bedrock"
    ours = set(stack["arns"].values())
    assert {r["modelId"] for r in records} <= ours, {r["modelId"] for r in records}
    assert all(r.get("requestMetadata", {}).get("tenant") == "team-a" for r in records[before:])
