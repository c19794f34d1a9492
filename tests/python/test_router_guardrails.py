"""A tenant's Bedrock guardrail, through the router under `cargo lambda watch`: the local Bedrock
holds a guardrail that blocks a phrase (set through its admin API); team-a's configuration names
it, team-b's does not. The official `openai` and `anthropic` SDKs and boto3 (Bedrock's Converse
through the router) each see team-a's blocked prompt come back in their own content-filter
shape, while team-b's identical prompt is answered; the guardrail also replaces one a caller
names itself.
"""

import hashlib

import anthropic
import boto3
import openai
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from conftest import start_emulator
from router_harness import NO_RETRIES, REGION, SONNET, admin, create_profile, run_router

GUARDED, OPEN = "sk-guarded-team", "sk-open-team"
BLOCKED_PROMPT = "Please share the Launch Codes with me."
BLOCKED_MESSAGE = "This request is outside what team-a may ask."


def sha256(key):
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture(scope="module")
def stack():
    emulator = start_emulator()
    try:
        admin(emulator, "PUT", "/_emulator/runtime/guardrails/gr1a2b3c4d5e",
              {"blockedWords": ["launch codes"], "blockedInputMessaging": BLOCKED_MESSAGE})
        a = create_profile(emulator, "team-a-sonnet")
        b = create_profile(emulator, "team-b-sonnet")
        config = {
            "models": [SONNET],
            "inferenceProfiles": {SONNET: a},
            "defaultRegion": REGION,
            "tenants": {
                "team-a": {"apiKeys": [sha256(GUARDED)], "inferenceProfiles": {SONNET: a},
                           "guardrail": {"id": "gr1a2b3c4d5e", "version": "DRAFT", "trace": True}},
                "team-b": {"apiKeys": [sha256(OPEN)], "inferenceProfiles": {SONNET: b}},
            },
        }
        with run_router(emulator, config, {"ROUTER_AUTH_MODE": "NONE"}) as url:
            yield {"emulator": emulator, "url": url}
    finally:
        emulator.stop()


def chat(stack, key, text, stream=False):
    client = openai.OpenAI(base_url=f"{stack['url']}/v1", api_key=key, max_retries=0, timeout=120)
    return client.chat.completions.create(
        model=SONNET, messages=[{"role": "user", "content": text}], stream=stream)


def test_openai_callers_of_the_guarded_team_get_content_filter_and_others_do_not(stack):
    blocked = chat(stack, GUARDED, BLOCKED_PROMPT)
    assert blocked.choices[0].finish_reason == "content_filter"
    assert blocked.choices[0].message.content == BLOCKED_MESSAGE
    assert blocked.usage.prompt_tokens == 0, "a blocked prompt never reached the model"

    answered = chat(stack, OPEN, BLOCKED_PROMPT)
    assert answered.choices[0].finish_reason == "stop"
    assert "Launch Codes" in answered.choices[0].message.content

    clean = chat(stack, GUARDED, "What is the capital of France?")
    assert clean.choices[0].finish_reason == "stop"
    assert clean.choices[0].message.content != BLOCKED_MESSAGE


def test_a_streamed_blocked_prompt_ends_with_content_filter(stack):
    chunks = list(chat(stack, GUARDED, BLOCKED_PROMPT, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert (text, finish) == (BLOCKED_MESSAGE, ["content_filter"])


def test_anthropic_callers_get_bedrocks_intervention_on_claude(stack):
    def ask(key):
        client = anthropic.Anthropic(base_url=stack["url"], api_key=key, max_retries=0, timeout=120)
        return client.messages.create(model="claude-sonnet-4-5", max_tokens=200,
                                      messages=[{"role": "user", "content": BLOCKED_PROMPT}])
    blocked = ask(GUARDED)
    assert [b.text for b in blocked.content] == [BLOCKED_MESSAGE]
    assert ask(OPEN).content[0].text != BLOCKED_MESSAGE


def test_bedrock_callers_see_guardrail_intervened_and_cannot_swap_the_guardrail(stack):
    def converse(key, **extra):
        # Unsigned, with the team's key as a Bearer token: the router's API-key mode over plain
        # http (test_router_bedrock_api.py covers AWS_BEARER_TOKEN_BEDROCK over https).
        client = boto3.client("bedrock-runtime", region_name=REGION, endpoint_url=stack["url"],
                              config=NO_RETRIES.merge(Config(signature_version=UNSIGNED)))
        client.meta.events.register(
            "before-send.bedrock-runtime.*",
            lambda request, **_: request.headers.__setitem__("Authorization", f"Bearer {key}"))
        return client.converse(modelId=SONNET, messages=[
            {"role": "user", "content": [{"text": BLOCKED_PROMPT}]}], **extra)

    # A guardrail the caller names (one that does not exist) is replaced by the team's.
    out = converse(GUARDED, guardrailConfig={"guardrailIdentifier": "othercallers", "guardrailVersion": "1"})
    assert out["stopReason"] == "guardrail_intervened"
    assert out["output"]["message"]["content"] == [{"text": BLOCKED_MESSAGE}]
    assert converse(OPEN)["stopReason"] == "end_turn"
