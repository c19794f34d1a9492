"""Spend per tenant against moto's DynamoDB and the local Bedrock: the router under `cargo lambda
watch` with `SPEND_TABLE_NAME` and `AWS_ENDPOINT_URL_DYNAMODB` pointed at moto, driven by the
official `openai` SDK. The table's item for a tenant and month must hold exactly the sum of what
each answer reported (tokens and pico-dollars), a model with no price must be counted as unpriced
tokens and never as $0, and the local stack must create the table the template declares.
"""

import hashlib
import sys
import time
import uuid
from datetime import datetime, timezone

import boto3
import openai
import pytest
from samtranslator.yaml_helper import yaml_parse

from conftest import REPO, start_emulator
from router_harness import NO_RETRIES, REGION, SONNET, create_profile, run_router

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
def stack(moto):
    emulator = start_emulator()
    table = f"spend-{uuid.uuid4().hex[:8]}"
    create_table_as_the_template_does(moto, table)
    try:
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
        with run_router(emulator, config, env) as url:
            yield {"url": url, "table": table, "arn": arn}
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
