"""Many teams on one router, under `cargo lambda watch` with `ROUTER_AUTH_MODE=NONE`, driven by
the official `openai` SDK: API keys (stored as SHA-256 hashes) pick the tenant, two keys of one
tenant work at once while rotating and a removed key is refused, a wrong and a missing key get
the same 401, each tenant's calls go through its own profile with `tenant` in `requestMetadata`
(read back from the emulator's invocation logs in moto), and throttling on one of a tenant's
profiles moves its traffic to the other with no failed call.
"""

import hashlib
import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid

import boto3
import openai
import pytest

from conftest import LOCAL_AWS_ENV, TARGET_DIR, start_emulator
from router_harness import (NO_RETRIES, REGION, SONNET, admin, create_profile, enable_invocation_logs,
                            invocation_records, router_log, run_router)

A_OLD, A_NEW, B_KEY = "sk-team-a-2025", "sk-team-a-2026", "sk-team-b-1"


def sha256(key):
    return hashlib.sha256(key.encode()).hexdigest()


def tenants_config(arns, a_keys):
    return {
        "models": [SONNET],
        "inferenceProfiles": {SONNET: arns["shared"]},
        "defaultRegion": REGION,
        "tenants": {
            "team-a": {"apiKeys": [sha256(k) for k in a_keys],
                       "inferenceProfiles": {SONNET: arns["a"]},
                       "additionalInferenceProfiles": {SONNET: [arns["a-west"]]}},
            "team-b": {"apiKeys": [sha256(B_KEY)],
                       "inferenceProfiles": {SONNET: arns["b"]}},
        },
    }


@pytest.fixture(scope="module")
def stack(moto):
    emulator = start_emulator("--logs-endpoint", moto.url)
    try:
        logs, group = enable_invocation_logs(emulator, moto)
        arns = {"shared": create_profile(emulator, "shared-sonnet"),
                "a": create_profile(emulator, "team-a-sonnet"),
                "a-west": create_profile(emulator, "team-a-sonnet-west", region="us-west-2"),
                "b": create_profile(emulator, "team-b-sonnet")}
        with run_router(emulator, tenants_config(arns, [A_OLD, A_NEW]),
                        {"ROUTER_AUTH_MODE": "NONE"}) as url:
            yield {"emulator": emulator, "url": url, "logs": logs, "group": group, "arns": arns}
    finally:
        emulator.stop()


def client(stack, key):
    return openai.OpenAI(base_url=f"{stack['url']}/v1", api_key=key, max_retries=0, timeout=120)


def ask(stack, key, text, stream=False):
    """One completion; returns the router's headers."""
    raw = client(stack, key).chat.completions.with_raw_response.create(
        model=SONNET, messages=[{"role": "user", "content": text}], stream=stream)
    reply = raw.parse()
    if stream:
        assert "".join(c.choices[0].delta.content or "" for c in reply if c.choices)
    else:
        assert reply.choices[0].message.content
    return raw.headers


def raw_post(url, headers):
    body = json.dumps({"model": SONNET, "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"content-type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_both_keys_of_a_tenant_work_while_rotating(stack):
    for key in (A_OLD, A_NEW):
        assert ask(stack, key, "rotation")["x-router-tenant"] == "team-a"
    assert ask(stack, B_KEY, "rotation")["x-router-tenant"] == "team-b"


def test_a_wrong_and_a_missing_key_get_the_same_401(stack):
    with pytest.raises(openai.AuthenticationError) as err:
        client(stack, "sk-not-a-key").chat.completions.create(
            model=SONNET, messages=[{"role": "user", "content": "hi"}])
    assert err.value.status_code == 401
    url = f"{stack['url']}/v1/chat/completions"
    wrong = raw_post(url, {"authorization": "Bearer sk-not-a-key"})
    missing = raw_post(url, {})
    other_header = raw_post(url, {"x-api-key": "sk-team-a-2024"})
    assert wrong[0] == missing[0] == other_header[0] == 401
    assert wrong[1] == missing[1] == other_header[1]
    assert b"team-" not in wrong[1]
    assert json.loads(wrong[1])["error"]["code"] == "invalid_api_key"


def test_each_tenants_calls_carry_its_own_profile_and_name_in_the_invocation_logs(stack):
    arns = stack["arns"]
    for i in range(2):
        ask(stack, A_OLD, f"tenant a call {i}", stream=bool(i))
        ask(stack, B_KEY, f"tenant b call {i}", stream=bool(i))
    records = invocation_records(stack["emulator"], stack["logs"], stack["group"])
    by_tenant = {}
    for r in records:
        tenant = r.get("requestMetadata", {}).get("tenant")
        if tenant:
            by_tenant.setdefault(tenant, []).append(r)
    assert len(by_tenant.get("team-a", [])) >= 2 and len(by_tenant.get("team-b", [])) >= 2, records
    assert {r["modelId"] for r in by_tenant["team-a"]} <= {arns["a"], arns["a-west"]}
    assert {r["modelId"] for r in by_tenant["team-b"]} == {arns["b"]}
    for r in records:
        assert r["requestMetadata"]["model"] == SONNET
        assert r["modelId"] != arns["shared"], "no keyed call uses the shared profile"


def test_throttling_on_one_profile_moves_traffic_to_the_other_with_no_failed_call(stack):
    emulator, arns = stack["emulator"], stack["arns"]
    admin(emulator, "POST", "/_emulator/runtime/faults", {"kind": "throttling", "model": arns["a"]})
    try:
        used = [ask(stack, A_NEW, f"under throttling {i}", stream=bool(i % 2)) for i in range(6)]
    finally:
        admin(emulator, "DELETE", "/_emulator/runtime/faults")
    assert {h["x-router-profile"] for h in used} == {arns["a-west"]}
    assert {h["x-router-attempts"] for h in used} <= {"1", "2"}
    assert "2" in {h["x-router-attempts"] for h in used}


def test_a_key_removed_from_the_config_gets_401_and_its_successor_still_works(stack):
    # Keys are read once at cold start: rotating means deploying the new list.
    rotated = tenants_config(stack["arns"], [A_NEW])
    with run_router(stack["emulator"], rotated, {"ROUTER_AUTH_MODE": "NONE"}) as url:
        fresh = dict(stack, url=url)
        with pytest.raises(openai.AuthenticationError):
            client(fresh, A_OLD).chat.completions.create(
                model=SONNET, messages=[{"role": "user", "content": "hi"}])
        assert ask(fresh, A_NEW, "after rotation")["x-router-tenant"] == "team-a"


def test_auth_none_without_keys_refuses_to_start(stack):
    # The fixture's `cargo lambda watch` has built the binary; the check runs before the
    # Lambda runtime is contacted, so the binary can be started directly.
    config = {"models": [SONNET], "inferenceProfiles": {SONNET: stack["arns"]["shared"]},
              "defaultRegion": REGION}
    env = {**os.environ, **LOCAL_AWS_ENV, "PROFILES_CONFIG": json.dumps(config),
           "ROUTER_AUTH_MODE": "NONE"}
    env.pop("PROFILES_CONFIG_FILE", None)
    env.pop("ROUTER_API_KEYS_SECRET_ARN", None)
    done = subprocess.run([str(TARGET_DIR / "debug" / "router")], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "API keys are mandatory" in done.stderr + done.stdout


def test_key_hashes_can_come_from_a_secrets_manager_secret(stack, moto):
    secrets = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto.url, config=NO_RETRIES)
    arn = secrets.create_secret(Name=f"router-keys-{uuid.uuid4().hex[:8]}",
                                SecretString=json.dumps({"team-b": [sha256("sk-from-secret")]}))["ARN"]
    config = tenants_config(stack["arns"], [A_NEW])
    with run_router(stack["emulator"], config, {"ROUTER_AUTH_MODE": "NONE",
                                                "ROUTER_API_KEYS_SECRET_ARN": arn,
                                                "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto.url}) as url:
        fresh = dict(stack, url=url)
        assert ask(fresh, "sk-from-secret", "keyed by the secret")["x-router-tenant"] == "team-b"
        assert ask(fresh, B_KEY, "keyed by the config")["x-router-tenant"] == "team-b"


def test_the_router_logs_hold_no_prompt_and_no_key(stack):
    """Runs last: every request of this module, plus canary prompts sent every way the router
    reads text (plain, streamed, native, refused, and with a wrong key), must leave the router's
    whole output (logs and metrics lines) free of prompt text, keys and key hashes."""
    canary = f"canary-prompt-{uuid.uuid4().hex}"
    wrong_key = f"sk-canary-wrong-{uuid.uuid4().hex}"
    ask(stack, B_KEY, f"{canary} plain")
    ask(stack, A_NEW, f"{canary} streamed", stream=True)
    native = urllib.request.Request(
        f"{stack['url']}/model/{SONNET}/converse", method="POST",
        data=json.dumps({"messages": [{"role": "user", "content": [{"text": f"{canary} native"}]}]}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {B_KEY}"})
    with urllib.request.urlopen(native, timeout=120) as response:
        assert response.status == 200
    refused = [
        {"model": SONNET, "messages": [{"role": "wizard", "content": f"{canary} bad role"}]},
        {"model": f"{canary}-model", "messages": [{"role": "user", "content": f"{canary} unknown model"}]},
        {"model": SONNET, "messages": [{"role": "user", "content": [{"type": "image_url",
                                        "image_url": {"url": f"https://{canary}.example/cat.png"}}]}]},
    ]
    for body in refused:
        request = urllib.request.Request(f"{stack['url']}/v1/chat/completions", method="POST",
                                         data=json.dumps(body).encode(),
                                         headers={"content-type": "application/json",
                                                  "authorization": f"Bearer {B_KEY}"})
        with pytest.raises(urllib.error.HTTPError) as refusal:
            urllib.request.urlopen(request, timeout=120)
        assert 400 <= refusal.value.code < 500
    status, _ = raw_post(f"{stack['url']}/v1/chat/completions", {"authorization": f"Bearer {wrong_key}"})
    assert status == 401

    log = router_log(stack["url"])
    # The capture works: the router's own lines for these requests are in it.
    assert "router configured" in log and "chat completion" in log and "BedrockProfiles/Router" in log
    for secret in (canary, wrong_key, A_OLD, A_NEW, B_KEY, sha256(A_OLD), sha256(A_NEW), sha256(B_KEY),
                   "canary-prompt", "sk-team-", "Bearer "):
        assert secret not in log, f"{secret!r} appears in the router's output"
