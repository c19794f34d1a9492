"""Prompt caching for OpenAI-shaped callers, through the router under `cargo lambda watch` and the
local Bedrock: the official `openai` SDK sends the same long system prompt twice and the second
answer reports the cached tokens (`prompt_tokens_details.cached_tokens`), whole and streamed; a
request that opts out with `x-router-prompt-cache: off`, and a tenant whose setting is `off`,
never cache; every call still goes through the tenant's application inference profile; the
router's metrics carry a per-request hit (1) or miss (0) for the hit rate per team and model.
"""

import hashlib
import json
import urllib.error
import urllib.request

import openai
import pytest

from conftest import start_emulator, start_moto
from router_harness import (REGION, SONNET, create_profile, enable_invocation_logs,
                            invocation_records, router_log, run_router)

CACHING, NOT_CACHING = "sk-caching-team", "sk-uncached-team"
# Claude Sonnet 4.5 stores a checkpoint from 1,024 tokens of prompt on.
MIN_TOKENS = 1024


def sha256(key):
    return hashlib.sha256(key.encode()).hexdigest()


def system_prompt(topic):
    """About 4,000 tokens of policy text."""
    return " ".join(f"{topic}-rule-{i % 97} applies." for i in range(600))


@pytest.fixture(scope="module")
def stack():
    moto = start_moto()
    emulator = start_emulator("--logs-endpoint", moto.url)
    try:
        logs, group = enable_invocation_logs(emulator, moto)
        a = create_profile(emulator, "team-a-sonnet")
        b = create_profile(emulator, "team-b-sonnet")
        config = {
            "models": [SONNET],
            "inferenceProfiles": {SONNET: a},
            "defaultRegion": REGION,
            "promptCache": {"mode": "auto", "ttl": "5m"},
            "tenants": {
                "team-a": {"apiKeys": [sha256(CACHING)], "inferenceProfiles": {SONNET: a}},
                "team-b": {"apiKeys": [sha256(NOT_CACHING)], "inferenceProfiles": {SONNET: b},
                           "promptCache": "off"},
            },
        }
        with run_router(emulator, config, {"ROUTER_AUTH_MODE": "NONE"}) as url:
            yield {"emulator": emulator, "logs": logs, "group": group, "url": url,
                   "profiles": {"a": a, "b": b}}
    finally:
        emulator.stop()
        moto.stop()


def client(stack, key):
    return openai.OpenAI(base_url=f"{stack['url']}/v1", api_key=key, max_retries=0, timeout=120)


def ask(stack, key, system, question, **kwargs):
    return client(stack, key).chat.completions.create(
        model=SONNET,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
        **kwargs)


def test_a_long_system_prompt_sent_twice_is_read_from_the_cache_the_second_time(stack):
    system = system_prompt("billing")
    first = ask(stack, CACHING, system, "How do refunds work?")
    second = ask(stack, CACHING, system, "And for annual plans?")

    assert first.usage.prompt_tokens_details.cached_tokens == 0
    written = first.usage.prompt_tokens_details.cache_write_tokens
    assert written > MIN_TOKENS, first.usage
    # The system prompt's checkpoint is read; the new question after it is written.
    details = second.usage.prompt_tokens_details
    assert MIN_TOKENS < details.cached_tokens < written, (first.usage, second.usage)
    # OpenAI's prompt_tokens include the cached ones; the rest is the new question.
    assert 0 < second.usage.prompt_tokens - details.cached_tokens < 30
    assert second.usage.prompt_tokens == first.usage.prompt_tokens  # two five-token questions
    assert second.usage.total_tokens == second.usage.prompt_tokens + second.usage.completion_tokens


def test_a_streamed_answer_reports_the_cached_tokens_in_its_usage_chunk(stack):
    system = system_prompt("shipping")
    ask(stack, CACHING, system, "Where is my parcel?")
    chunks = list(ask(stack, CACHING, system, "Can I change the address?", stream=True,
                      stream_options={"include_usage": True}))
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1
    assert usage[0].prompt_tokens_details.cached_tokens > MIN_TOKENS


def test_a_request_can_opt_out_and_a_tenant_can_be_kept_out(stack):
    system = system_prompt("security")
    for _ in range(2):
        opted_out = ask(stack, CACHING, system, "Who may rotate keys?",
                        extra_headers={"x-router-prompt-cache": "off"})
        details = opted_out.usage.prompt_tokens_details
        assert (details.cached_tokens, details.cache_write_tokens) == (0, 0)

    system = system_prompt("onboarding")
    for _ in range(2):
        team_b = ask(stack, NOT_CACHING, system, "What is the first step?")
        details = team_b.usage.prompt_tokens_details
        assert (details.cached_tokens, details.cache_write_tokens) == (0, 0)


def test_a_bad_opt_out_value_is_refused_and_names_the_header(stack):
    request = urllib.request.Request(
        f"{stack['url']}/v1/chat/completions", method="POST",
        data=json.dumps({"model": SONNET, "messages": [{"role": "user", "content": "hi"}]}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {CACHING}",
                 "x-router-prompt-cache": "sometimes"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=120)
    assert refused.value.code == 400
    error = json.loads(refused.value.read())["error"]
    assert error["param"] == "x-router-prompt-cache"
    assert "`off`" in error["message"]


def test_cached_calls_go_through_the_profile_and_the_metrics_carry_the_hit_rate(stack):
    system = system_prompt("pricing")
    ask(stack, CACHING, system, "What does the pro plan cost?")
    ask(stack, CACHING, system, "And the team plan?")

    records = invocation_records(stack["emulator"], stack["logs"], stack["group"])
    cached = [r for r in records if r["input"].get("cacheReadInputTokenCount")]
    assert cached, "the invocation logs show cache reads"
    assert {r["modelId"] for r in cached} == {stack["profiles"]["a"]}

    hits = []
    for line in router_log(stack["url"]).splitlines():
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(doc, dict) and "PromptCacheHit" in doc:
            hits.append((doc["Tenant"], doc["PromptCacheHit"]))
    assert ("team-a", 1) in hits and ("team-a", 0) in hits, hits
    assert all(tenant == "team-a" for tenant, _ in hits), "uncached calls carry no hit metric"
