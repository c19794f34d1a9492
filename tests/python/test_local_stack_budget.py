"""The README's spend walkthrough, live: `bash scripts/local-stack.sh --team-budget-usd N` serves
team-a with an API key made for the run and an enforced budget; a few calls with the `openai` SDK
show the team's spend in the table, exactly what the answers cost at the configured prices, and
then the refusal the team gets, with no Bedrock call behind it.
"""

import os
import stat
import time
from datetime import datetime, timezone
from pathlib import Path

import boto3
import openai
import pytest

from test_local_stack import start_stack, stop_stack

BUDGET_USD = "0.002"
MODEL = "us.anthropic.claude-opus-5-5"
# The local stack's example rates for Claude Opus 5.5 (USD per million tokens); in pico-dollars
# per token that is the rate times 10^6, so every cost below is an exact integer.
INPUT_PICO, OUTPUT_PICO = 5 * 10**6, 25 * 10**6
PICO_PER_USD = 10**12


@pytest.fixture(scope="module")
def stack():
    started = start_stack("--team-budget-usd", BUDGET_USD)
    yield started
    stop_stack(started)


def router(stack, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stack['router_url']}/v1", api_key=key, max_retries=0, timeout=300)


def team_key(stack) -> str:
    path = Path(stack["team_key_file"])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, "the key file is readable by its owner only"
    return path.read_text().strip()


def invocation_records(stack) -> int:
    logs = boto3.client("logs", endpoint_url=stack["logs_url"], region_name="us-east-1")
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=stack["log_group"])
    return sum(len(page.get("events", [])) for page in pages)


def spend_item(stack, tenant: str) -> dict:
    table = boto3.client("dynamodb", endpoint_url=stack["logs_url"], region_name="us-east-1")
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    item = table.get_item(
        TableName=stack["spend_table"], Key={"pk": {"S": f"tenant#{tenant}"}, "sk": {"S": f"month#{month}"}}
    ).get("Item", {})
    return {k: int(v["N"]) for k, v in item.items() if "N" in v}


def test_the_banner_gives_the_teams_curl_and_where_its_spend_is(stack):
    text = "\n".join(stack["lines"])
    assert "authorization: Bearer $(cat .local/team-a.key)" in text
    assert "tenant#team-a" in text and "insufficient_quota" in text
    assert stack["team"] == "team-a"


def test_a_call_without_the_teams_key_is_refused(stack):
    with pytest.raises(openai.AuthenticationError) as refused:
        router(stack, "not-a-key").chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Say hello"}]
        )
    assert refused.value.status_code == 401


def test_a_teams_spend_is_what_its_answers_cost_then_the_budget_stops_it(stack):
    client = router(stack, team_key(stack))
    costs, refusal = [], None
    for _ in range(60):
        try:
            answer = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "Say hello"}]
            )
        except openai.RateLimitError as e:
            refusal = e
            break
        usage = answer.usage
        costs.append(usage.prompt_tokens * INPUT_PICO + usage.completion_tokens * OUTPUT_PICO)
    assert refusal is not None, f"no refusal after {len(costs)} calls costing {sum(costs)} pico-USD"
    assert len(costs) >= 2, "a few calls pass before the budget is reached"

    # What the team sees: OpenAI's insufficient_quota, naming the team, the month and the budget.
    assert refusal.status_code == 429
    body = refusal.body
    assert body["code"] == "insufficient_quota" and body["type"] == "insufficient_quota", body
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    assert "team-a" in body["message"] and month in body["message"], body["message"]

    # Calls were admitted while the spend was under the budget, and not after.
    budget = int(float(BUDGET_USD) * PICO_PER_USD)
    assert sum(costs) >= budget and sum(costs[:-1]) < budget, (costs, budget)

    # The table holds exactly what the answers cost (the writes are off the answer's path).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        item = spend_item(stack, "team-a")
        if item.get("requests") == len(costs):
            break
        time.sleep(0.2)
    assert item.get("requests") == len(costs), item
    assert item["costPicoUsd"] == sum(costs), (item, costs)
    assert item.get("unpricedTokens", 0) == 0, "the example prices price every token"

    # The refusal reached no Bedrock: the invocation log holds the answered calls and no more.
    deadline = time.monotonic() + 30
    while invocation_records(stack) < len(costs) and time.monotonic() < deadline:
        time.sleep(0.2)
    before = invocation_records(stack)
    assert before == len(costs), "one invocation record per answered call"
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Say hello"}])
    time.sleep(2)
    assert invocation_records(stack) == before, "a refused call made a Bedrock call"
