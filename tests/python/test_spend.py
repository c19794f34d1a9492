"""Spend per tenant against moto's DynamoDB and the local Bedrock: the router under `cargo lambda
watch` with `SPEND_TABLE_NAME` and `AWS_ENDPOINT_URL_DYNAMODB` pointed at moto, driven by the
official `openai` SDK. The table's item for a tenant and month must hold exactly the sum of what
each answer reported (tokens and pico-dollars), a model with no price must be counted as unpriced
tokens and never as $0, and the local stack must create the table the template declares.
"""

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

import boto3
import openai
import pytest
from samtranslator.yaml_helper import yaml_parse

from conftest import LOCAL_AWS_ENV, REPO, start_emulator
from router_harness import (NO_RETRIES, REGION, SONNET, admin, create_profile, enable_invocation_logs,
                            run_router)

sys.path.insert(0, str(REPO / "scripts" / "tools"))
import local_stack  # noqa: E402

NOVA = "us.amazon.nova-2-lite-v1:0"  # served by the local Bedrock, absent from the price table
SONNET_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
# Configured rates (USD per million tokens): the test's own, so the expectation does not lean on
# the built-in table. One token at 3.3 USD per million is 3,300,000 pico-dollars.
INPUT_USD, OUTPUT_USD = 3.3, 16.5
INPUT_PICO, OUTPUT_PICO = 3_300_000, 16_500_000
A_KEY, B_KEY = "sk-spend-team-a", "sk-spend-team-b"


def sha256(key):
    return hashlib.sha256(key.encode()).hexdigest()


def dynamodb(moto):
    return boto3.client("dynamodb", region_name=REGION, endpoint_url=moto.url, config=NO_RETRIES)


def create_table_as_the_template_does(moto, name):
    props = yaml_parse((REPO / "template.yaml").read_text())["Resources"]["SpendTable"]["Properties"]
    client = dynamodb(moto)
    client.create_table(TableName=name, BillingMode=props["BillingMode"],
                        AttributeDefinitions=props["AttributeDefinitions"], KeySchema=props["KeySchema"])
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={
        "Enabled": True, "AttributeName": props["TimeToLiveSpecification"]["AttributeName"]})


def month_item(moto, table, tenant):
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    item = dynamodb(moto).get_item(TableName=table, ConsistentRead=True, Key={
        "pk": {"S": f"tenant#{tenant}"}, "sk": {"S": f"month#{month}"}}).get("Item", {})
    return {k: int(v["N"]) for k, v in item.items() if "N" in v}


def wait_for_requests(moto, table, tenant, requests, timeout=60):
    """The writes are queued off the answer's path: wait until all of them have landed."""
    deadline = time.monotonic() + timeout
    item = {}
    while time.monotonic() < deadline:
        item = month_item(moto, table, tenant)
        if item.get("requests", 0) >= requests:
            return item
        time.sleep(0.5)
    raise AssertionError(f"{tenant}: {requests} requests never landed in the table; last item {item}")


def test_the_local_stack_creates_the_spend_table_with_the_templates_keys_and_ttl(moto):
    props = yaml_parse((REPO / "template.yaml").read_text())["Resources"]["SpendTable"]["Properties"]
    stack = local_stack.LocalStack.__new__(local_stack.LocalStack)
    stack.logs_url = moto.url
    stack.create_spend_table()
    stack.create_spend_table()  # a restarted stack finds it already there
    client = dynamodb(moto)
    table = client.describe_table(TableName=local_stack.SPEND_TABLE)["Table"]
    assert table["KeySchema"] == props["KeySchema"]
    assert table["AttributeDefinitions"] == props["AttributeDefinitions"]
    ttl = client.describe_time_to_live(TableName=local_stack.SPEND_TABLE)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"


@pytest.fixture(scope="module")
def stack(moto, tmp_path_factory):
    emulator = start_emulator("--logs-endpoint", moto.url)
    table = f"spend-{uuid.uuid4().hex[:8]}"
    create_table_as_the_template_does(moto, table)
    try:
        _, log_group = enable_invocation_logs(emulator, moto)
        arn = create_profile(emulator, "spend-team-sonnet")
        config = {
            "models": [SONNET, NOVA],
            "inferenceProfiles": {SONNET: arn},
            "defaultRegion": REGION,
            "prices": [{"model": SONNET_MODEL, "region": REGION, "input": INPUT_USD, "output": OUTPUT_USD,
                        "cacheRead": 0.33, "cacheWrite": 4.125}],
            "tenants": {
                "team-a": {"apiKeys": [sha256(A_KEY)]},
                "team-b": {"apiKeys": [sha256(B_KEY)]},
            },
        }
        env = {"ROUTER_AUTH_MODE": "NONE", "AWS_ENDPOINT_URL_DYNAMODB": moto.url,
               "SPEND_TABLE_NAME": table, "SPEND_READ_INTERVAL_SECONDS": "1"}
        config_file = tmp_path_factory.mktemp("spend") / "profiles.json"
        config_file.write_text(json.dumps(config))
        with run_router(emulator, config, env) as url:
            yield {"url": url, "table": table, "arn": arn, "emulator": emulator,
                   "log_group": log_group, "config_file": config_file}
    finally:
        emulator.stop()


def ask(stack, key, model, text):
    client = openai.OpenAI(base_url=f"{stack['url']}/v1", api_key=key, max_retries=0, timeout=120)
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
    assert reply.choices[0].message.content
    return reply.usage


def test_a_tenants_spend_is_the_exact_sum_of_each_answers_priced_usage(stack, moto):
    usages = [ask(stack, A_KEY, SONNET, f"Count to {n} in words, please.") for n in range(1, 7)]
    item = wait_for_requests(moto, stack["table"], "team-a", len(usages))
    inputs = sum(u.prompt_tokens for u in usages)
    outputs = sum(u.completion_tokens for u in usages)
    assert inputs > 0 and outputs > 0
    assert item["requests"] == len(usages)
    assert item["inputTokens"] + item.get("cacheReadTokens", 0) + item.get("cacheWriteTokens", 0) == inputs
    assert item["outputTokens"] == outputs
    expected = (item["inputTokens"] * INPUT_PICO + item["outputTokens"] * OUTPUT_PICO
                + item.get("cacheReadTokens", 0) * 330_000 + item.get("cacheWriteTokens", 0) * 4_125_000)
    assert item["costPicoUsd"] == expected
    assert item.get("unpricedTokens", 0) == 0


def test_a_model_with_no_price_is_counted_as_unpriced_tokens_never_as_zero_dollars(stack, moto):
    usages = [ask(stack, B_KEY, NOVA, f"Name {n} colours.") for n in range(1, 4)]
    item = wait_for_requests(moto, stack["table"], "team-b", len(usages))
    tokens = sum(u.prompt_tokens + u.completion_tokens for u in usages)
    assert tokens > 0
    assert item["unpricedTokens"] == tokens
    assert item["costPicoUsd"] == 0
    assert item["requests"] == len(usages)


def scan_report(stack, moto):
    """The verifier's report of the last 30 minutes of the stack's invocation logs, through the
    operator CLI's scan (the verifier's own code), once the local Bedrock has delivered them."""
    assert admin(stack["emulator"], "POST", "/_emulator/runtime/logs/flush")["failed"] == 0
    env = {**os.environ, **LOCAL_AWS_ENV, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": moto.url,
           "AWS_ENDPOINT_URL_BEDROCK": stack["emulator"].url}
    done = subprocess.run(
        ["cargo", "run", "-q", "-p", "bedrock-profiles", "--", "scan", str(stack["config_file"]),
         "--since", "30m", "--log-group", stack["log_group"], "--json", "--quiet"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_the_verifier_prices_the_logs_exactly_as_the_router_priced_the_answers(stack, moto):
    """The same traffic, two readings: the router's spend table (the live figure) and the
    verifier's scan of the invocation logs (the authority), through the operator CLI's scan,
    which runs the verifier's own code. Tokens and pico-dollars must agree for every tenant."""
    report = scan_report(stack, moto)
    assert report["complete"] is True, report
    by_tenant = report["cost"]["by_tenant"]
    for tenant in ("team-a", "team-b"):
        item = month_item(moto, stack["table"], tenant)
        seen = by_tenant[tenant]
        assert seen["requests"] == item["requests"], (tenant, seen, item)
        assert seen["pico_usd"] == item["costPicoUsd"], (tenant, seen, item)
        assert seen["input_tokens"] == item["inputTokens"], (tenant, seen, item)
        assert seen["output_tokens"] == item["outputTokens"], (tenant, seen, item)
        assert seen["unpriced_tokens"] == item.get("unpricedTokens", 0), (tenant, seen, item)
    assert by_tenant["team-a"]["pico_usd"] > 0
    # Nova has no profile in this config: its calls went around the profiles and are the
    # unattributed spend (here unpriced tokens), the Sonnet calls through the profile are not.
    unattributed = report["cost"]["unattributed"]
    assert list(unattributed["by_model"]) == [NOVA], unattributed
    assert unattributed["requests"] == by_tenant["team-b"]["requests"], unattributed


def test_a_call_around_the_profile_is_priced_as_the_same_call_through_it(stack, moto):
    """Priced by the model that ran and the region, never by the ARN: the same Sonnet prompt once
    through the router (team-a's profile) and once straight to Bedrock with the raw model ID, as an
    old script would send it. The verifier prices both at the same rates; the raw call is the
    unattributed spend (what went around the profiles), priced, never $0 or unpriced."""
    prompt = "Price this the same whichever way it is sent."
    runtime = boto3.client("bedrock-runtime", region_name=REGION, endpoint_url=stack["emulator"].url,
                           config=NO_RETRIES)
    direct = runtime.converse(modelId=SONNET, messages=[{"role": "user", "content": [{"text": prompt}]}])["usage"]
    assert direct["inputTokens"] > 0 and direct["outputTokens"] > 0
    cost = scan_report(stack, moto)["cost"]
    around = {m: t for m, t in cost["unattributed"]["by_model"].items() if m != NOVA}
    assert len(around) == 1, cost["unattributed"]
    (model, raw), = around.items()
    assert "sonnet" in model, model
    assert raw["requests"] == 1 and raw["unpriced_tokens"] == 0, raw
    assert raw["pico_usd"] == direct["inputTokens"] * INPUT_PICO + direct["outputTokens"] * OUTPUT_PICO, raw
    # Through the profile, team-a's Sonnet calls at the very same per-token rates.
    team = cost["by_tenant"]["team-a"]
    assert team["pico_usd"] == team["input_tokens"] * INPUT_PICO + team["output_tokens"] * OUTPUT_PICO, team


# --- Budgets, alerts, rate limits and an unreachable table -------------------------------------
#
# Prices the test sets high (1,000 USD per million tokens, so one token costs a tenth of a cent)
# make a budget of one dollar run out in a few dozen calls; every call asks for at most
# MAX_TOKENS output tokens, which bounds what one call can cost (C_max).

BUDGET_KEY, LIMITED_KEY = "sk-budget-team", "sk-limited-team"
DEAR_PICO = 1_000_000_000  # 1,000 USD per million tokens, in pico-dollars per token
MAX_TOKENS = 40
CALLERS = 16


class Switch:
    """A TCP forwarder to moto that can be cut: the spend table made unreachable and back."""

    def __init__(self, target_port):
        import socket
        import threading
        self.up = True
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.target = target_port

        def pipe(a, b):
            try:
                while data := a.recv(65536):
                    b.sendall(data)
            except OSError:
                pass
            finally:
                for s in (a, b):
                    try:
                        s.close()
                    except OSError:
                        pass

        def serve():
            while True:
                try:
                    client, _ = self.server.accept()
                except OSError:
                    return
                if not self.up:
                    client.close()
                    continue
                try:
                    upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                except OSError:
                    client.close()
                    continue
                threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
                threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()

    def close(self):
        self.server.close()


@pytest.fixture(scope="module")
def budget_stack(moto):
    from urllib.parse import urlparse
    emulator = start_emulator()
    table = f"spend-{uuid.uuid4().hex[:8]}"
    create_table_as_the_template_does(moto, table)
    sns = boto3.client("sns", region_name=REGION, endpoint_url=moto.url, config=NO_RETRIES)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto.url, config=NO_RETRIES)
    topic = sns.create_topic(Name=f"budget-{uuid.uuid4().hex[:6]}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"alerts-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "false"})
    switch = Switch(urlparse(moto.url).port)
    try:
        arn = create_profile(emulator, "budget-team-sonnet")
        config = {
            "models": [SONNET],
            "inferenceProfiles": {SONNET: arn},
            "defaultRegion": REGION,
            "prices": [{"model": SONNET_MODEL, "region": REGION, "input": 1000, "output": 1000}],
            "tenants": {
                "budget-team": {"apiKeys": [sha256(BUDGET_KEY)],
                                "budget": {"monthlyUsd": 1, "alertAt": [50, 100], "enforce": True}},
                "limited-team": {"apiKeys": [sha256(LIMITED_KEY)],
                                 "rateLimits": {"requestsPerMinute": 3}},
            },
        }
        env = {"ROUTER_AUTH_MODE": "NONE", "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{switch.port}",
               "AWS_ENDPOINT_URL_SNS": moto.url, "ALERT_TOPIC_ARN": topic,
               "SPEND_TABLE_NAME": table, "SPEND_READ_INTERVAL_SECONDS": "1"}
        with run_router(emulator, config, env) as url:
            yield {"url": url, "table": table, "sqs": sqs, "queue": queue, "switch": switch}
    finally:
        switch.close()
        emulator.stop()


def raw_chat(stack, key, text):
    client = openai.OpenAI(base_url=f"{stack['url']}/v1", api_key=key, max_retries=0, timeout=120)
    return client.chat.completions.with_raw_response.create(
        model=SONNET, max_tokens=MAX_TOKENS, messages=[{"role": "user", "content": text}])


def test_a_rate_limit_answers_429_with_retry_after(budget_stack):
    statuses = []
    for n in range(4):
        try:
            raw_chat(budget_stack, LIMITED_KEY, f"hello {n}")
            statuses.append(200)
        except openai.RateLimitError as e:
            statuses.append(429)
            retry = int(e.response.headers["retry-after"])
            assert 1 <= retry <= 60, retry
            assert e.body["code"] == "rate_limit_exceeded", e.body
    assert statuses == [200, 200, 200, 429]


def test_the_table_unreachable_answers_flow_and_the_spend_catches_up(budget_stack, moto):
    # limited-team's four calls above are in the table; cut it, make calls, bring it back.
    switch = budget_stack["switch"]
    before = wait_for_requests(moto, budget_stack["table"], "limited-team", 3)
    switch.up = False
    try:
        time.sleep(61 - datetime.now(timezone.utc).second % 60)  # a fresh rate-limit minute
        for n in range(3):
            assert raw_chat(budget_stack, LIMITED_KEY, f"while the table is down {n}").http_response.status_code == 200
        time.sleep(2)
        assert month_item(moto, budget_stack["table"], "limited-team")["requests"] == before["requests"]
    finally:
        switch.up = True
    after = wait_for_requests(moto, budget_stack["table"], "limited-team", before["requests"] + 3, timeout=120)
    assert after["requests"] == before["requests"] + 3, "every queued write landed once"
    from router_harness import router_log
    failures = [json.loads(l).get("SpendStoreFailures", 0) for l in router_log(budget_stack["url"]).splitlines()
                if '"SpendStoreFailures"' in l]
    assert sum(failures) > 0, "the failed writes were counted"


def test_a_budget_under_16_callers_overshoots_no_more_than_the_bound_and_alerts_once(budget_stack, moto):
    import concurrent.futures
    costs, refusals = [], []

    def caller(i):
        n = 0
        while True:
            n += 1
            try:
                raw = raw_chat(budget_stack, BUDGET_KEY, f"caller {i} call {n}")
                usage = raw.parse().usage
                costs.append((usage.prompt_tokens + usage.completion_tokens) * DEAR_PICO)
            except openai.RateLimitError as e:
                refusals.append(e)
                return

    with concurrent.futures.ThreadPoolExecutor(CALLERS) as pool:
        list(pool.map(caller, range(CALLERS)))
    assert len(refusals) == CALLERS, "every caller was stopped by the budget"
    body = refusals[0].body
    assert body["code"] == "insufficient_quota" and body["type"] == "insufficient_quota", body
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    assert "budget-team" in body["message"] and month in body["message"], body["message"]

    item = wait_for_requests(moto, budget_stack["table"], "budget-team", len(costs))
    budget = 1_000_000_000_000
    assert item["costPicoUsd"] == sum(costs), "the table holds exactly what the answers cost"
    assert item["costPicoUsd"] >= budget, "calls were admitted until the budget was spent"
    # The README's bound with one instance: K × C_max, K = the callers in flight.
    prompt_tokens = max(c // DEAR_PICO for c in costs)
    c_max = (prompt_tokens + MAX_TOKENS) * DEAR_PICO
    assert item["costPicoUsd"] - budget <= CALLERS * c_max, (item["costPicoUsd"], c_max)

    # 50 % and 100 %: one alert each, however many callers crossed them.
    sqs, queue = budget_stack["sqs"], budget_stack["queue"]
    subjects, deadline = [], time.monotonic() + 30
    while time.monotonic() < deadline and len(subjects) < 2:
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            subjects.append(json.loads(m["Body"])["Subject"])
    time.sleep(3)
    for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
        subjects.append(json.loads(m["Body"])["Subject"])
    assert len(subjects) == 2, subjects
    assert any("50" in s for s in subjects) and any("100" in s for s in subjects), subjects
