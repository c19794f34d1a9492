"""Existing Bedrock code pointed at the router by changing only the endpoint: boto3's
`bedrock-runtime` with `endpoint_url` = the router's https URL and `AWS_BEARER_TOKEN_BEDROCK` =
a team key, the Anthropic SDK's `AnthropicBedrock(base_url=...)`, and Claude Code in Bedrock
mode. The router runs under `cargo lambda watch` with TLS from a local CA (botocore sends a
bearer token only over https); every call must land on the team's own profile, which the local
Bedrock's invocation logs (in moto) show.
"""

import hashlib
import json
import ssl
import urllib.request

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from claude_code import run_claude
from conftest import start_emulator
from router_harness import (ACCOUNT, REGION, SONNET, admin, create_profile, enable_invocation_logs,
                            invocation_records, run_router)

TEAM_KEY = "sk-bedrock-team-1"
OTHER_KEY = "sk-bedrock-team-2"
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
PROMPT = [{"role": "user", "content": [{"text": "hello through the router"}]}]


def sha256(key):
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture(scope="module")
def stack(moto, tmp_path_factory):
    emulator = start_emulator("--logs-endpoint", moto.url)
    try:
        logs, group = enable_invocation_logs(emulator, moto)
        arns = {"team": create_profile(emulator, "bedrock-api-team"),
                "other": create_profile(emulator, "bedrock-api-other")}
        config = {
            "models": [SONNET],
            "defaultRegion": REGION,
            "tenants": {
                "team": {"apiKeys": [sha256(TEAM_KEY)], "inferenceProfiles": {SONNET: arns["team"]}},
                "other": {"apiKeys": [sha256(OTHER_KEY)], "inferenceProfiles": {SONNET: arns["other"]}},
            },
        }
        tls_dir = tmp_path_factory.mktemp("router-tls")
        with run_router(emulator, config, {"ROUTER_AUTH_MODE": "NONE"}, tls_dir=tls_dir) as url:
            yield {"emulator": emulator, "url": url, "logs": logs, "group": group, "arns": arns,
                   "ca": str(tls_dir / "ca.pem")}
    finally:
        emulator.stop()


def client(stack, service):
    """A boto3 client as any script would build it, with the endpoint changed (and the local CA
    trusted); its key comes from `AWS_BEARER_TOKEN_BEDROCK`."""
    return boto3.client(service, region_name=REGION, endpoint_url=stack["url"], verify=stack["ca"],
                        config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def runtime(stack, monkeypatch):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", TEAM_KEY)
    return client(stack, "bedrock-runtime")


def test_boto3_converse_goes_through_the_teams_profile(runtime, stack):
    out = runtime.converse(modelId=SONNET, messages=PROMPT, inferenceConfig={"maxTokens": 40})
    assert out["output"]["message"]["role"] == "assistant"
    assert out["usage"]["outputTokens"] > 0
    assert out["ResponseMetadata"]["HTTPHeaders"]["x-router-profile"] == stack["arns"]["team"]


def test_boto3_converse_stream_reads_the_routers_event_stream(runtime):
    out = runtime.converse_stream(modelId=SONNET, messages=PROMPT, inferenceConfig={"maxTokens": 40})
    events = list(out["stream"])
    names = [next(iter(e)) for e in events]
    assert names[0] == "messageStart" and names[-1] == "metadata", names
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    assert text
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0


def test_boto3_names_a_profile_arn_encoded_its_own_way(runtime, stack):
    out = runtime.converse(modelId=stack["arns"]["team"], messages=PROMPT)
    assert out["ResponseMetadata"]["HTTPHeaders"]["x-router-profile"] == stack["arns"]["team"]


def test_another_teams_profile_arn_is_access_denied_and_never_invoked(runtime, stack):
    before = len(invocation_records(stack["emulator"], stack["logs"], stack["group"]))
    with pytest.raises(runtime.exceptions.AccessDeniedException):
        runtime.converse(modelId=stack["arns"]["other"], messages=PROMPT)
    foreign = stack["arns"]["other"].replace(ACCOUNT, "999999999999")
    with pytest.raises(runtime.exceptions.AccessDeniedException):
        runtime.converse(modelId=foreign, messages=PROMPT)
    after = invocation_records(stack["emulator"], stack["logs"], stack["group"])
    assert len(after) == before
    assert all(r["modelId"] != stack["arns"]["other"] for r in after)


def test_a_model_the_team_does_not_serve_is_a_4xx_without_a_bedrock_call(runtime, stack):
    before = len(invocation_records(stack["emulator"], stack["logs"], stack["group"]))
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        runtime.converse(modelId="amazon.titan-text-express-v1", messages=PROMPT)
    assert 400 <= raised.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    assert len(invocation_records(stack["emulator"], stack["logs"], stack["group"])) == before


def test_bedrock_throttling_surfaces_as_boto3s_throttling_exception(runtime, stack):
    admin(stack["emulator"], "POST", "/_emulator/runtime/faults",
          {"kind": "throttling", "operation": "Converse", "count": 3})
    try:
        with pytest.raises(runtime.exceptions.ThrottlingException):
            runtime.converse(modelId=SONNET, messages=PROMPT)
    finally:
        admin(stack["emulator"], "DELETE", "/_emulator/runtime/faults")


def test_a_bad_request_surfaces_as_boto3s_validation_exception(runtime):
    with pytest.raises(runtime.exceptions.ValidationException):
        runtime.converse(modelId=SONNET, messages=[{"role": "user", "content": []}])


def test_a_wrong_key_is_refused_in_bedrocks_shape(stack, monkeypatch):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "sk-not-a-key")
    refused = client(stack, "bedrock-runtime")
    with pytest.raises(refused.exceptions.AccessDeniedException):
        refused.converse(modelId=SONNET, messages=PROMPT)


@pytest.fixture
def control(stack, monkeypatch):
    """boto3's `bedrock` control-plane client on the same base URL, as Claude Code reads it."""
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", TEAM_KEY)
    return client(stack, "bedrock")


def test_the_teams_served_models_are_listed_as_profiles(control, stack):
    system = control.list_inference_profiles(typeEquals="SYSTEM_DEFINED")["inferenceProfileSummaries"]
    assert [p["inferenceProfileId"] for p in system] == [SONNET]
    assert system[0]["models"][0]["modelArn"].endswith(f"foundation-model/{SONNET.split('.', 1)[1]}")
    app = control.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
    assert [p["inferenceProfileArn"] for p in app] == [stack["arns"]["team"]]
    page = control.list_inference_profiles(maxResults=1)
    assert len(page["inferenceProfileSummaries"]) == 1 and page["nextToken"]
    rest = control.list_inference_profiles(maxResults=1, nextToken=page["nextToken"])
    assert len(rest["inferenceProfileSummaries"]) == 1 and "nextToken" not in rest


def test_a_profile_read_by_arn_carries_its_models_and_another_teams_is_denied(control, stack):
    got = control.get_inference_profile(inferenceProfileIdentifier=stack["arns"]["team"])
    assert got["type"] == "APPLICATION"
    assert "anthropic.claude-sonnet-4-5" in got["models"][0]["modelArn"]
    # Claude Code's spelling: colons raw, the slash encoded.
    arn = stack["arns"]["team"].replace("/", "%2F")
    with urllib.request.urlopen(urllib.request.Request(
            f"{stack['url']}/inference-profiles/{arn}", headers={"authorization": f"Bearer {TEAM_KEY}"}),
            context=ssl.create_default_context(cafile=stack["ca"]), timeout=60) as response:
        assert json.loads(response.read())["inferenceProfileArn"] == stack["arns"]["team"]
    with pytest.raises(control.exceptions.AccessDeniedException):
        control.get_inference_profile(inferenceProfileIdentifier=stack["arns"]["other"])


CLAUDE_BODY = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 60,
               "anthropic_beta": ["a-beta-bedrock-does-not-take"],
               "messages": [{"role": "user", "content": "hello through invoke"}]}


def test_boto3_invoke_model_answers_with_bedrocks_headers(runtime, stack):
    out = runtime.invoke_model(modelId=SONNET, body=json.dumps(CLAUDE_BODY))
    answer = json.loads(out["body"].read())
    assert answer["content"][0]["text"]
    headers = out["ResponseMetadata"]["HTTPHeaders"]
    assert int(headers["x-amzn-bedrock-output-token-count"]) == answer["usage"]["output_tokens"]
    assert headers["x-router-profile"] == stack["arns"]["team"]
    assert "a-beta-bedrock-does-not-take" in headers["x-router-dropped"]


def test_boto3_invoke_model_with_response_stream_yields_the_models_chunks(runtime):
    out = runtime.invoke_model_with_response_stream(modelId=SONNET, body=json.dumps(CLAUDE_BODY))
    chunks = [json.loads(e["chunk"]["bytes"]) for e in out["body"]]
    assert chunks[0]["type"] == "message_start" and chunks[-1]["type"] == "message_stop"
    text = "".join(c["delta"].get("text", "") for c in chunks if c["type"] == "content_block_delta")
    assert text
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] > 0


def test_a_stream_failing_mid_way_ends_with_boto3s_event_stream_error(runtime, stack):
    admin(stack["emulator"], "POST", "/_emulator/runtime/faults",
          {"kind": "stream-error", "code": "ThrottlingException", "afterEvents": 2, "count": 1,
           "operation": "InvokeModelWithResponseStream"})
    out = runtime.invoke_model_with_response_stream(modelId=SONNET, body=json.dumps(CLAUDE_BODY))
    with pytest.raises(botocore.exceptions.EventStreamError) as raised:
        list(out["body"])
    assert raised.value.response["Error"]["Code"] == "throttlingException"


def test_boto3_count_tokens_request_is_read_and_sent_to_the_base_model(runtime, stack):
    with pytest.raises(runtime.exceptions.ValidationException):
        runtime.count_tokens(modelId=SONNET, input={"converse": {"messages": []}})
    body = json.dumps({k: v for k, v in CLAUDE_BODY.items() if k != "anthropic_beta"}).encode()
    out = runtime.count_tokens(modelId=SONNET, input={"invokeModel": {"body": body}})
    answered = runtime.invoke_model(modelId=SONNET, body=body)
    usage = json.loads(answered["body"].read())["usage"]
    assert out["inputTokens"] == usage["input_tokens"] > 0


def anthropic_bedrock(stack):
    import anthropic
    return anthropic.AnthropicBedrock(base_url=stack["url"], api_key=TEAM_KEY, aws_region=REGION,
                                      max_retries=0,
                                      http_client=anthropic.DefaultHttpxClient(
                                          verify=ssl.create_default_context(cafile=stack["ca"])))


def test_anthropic_bedrock_sdk_plain_and_streamed(stack, monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key, raising=False)
    client = anthropic_bedrock(stack)
    message = client.messages.create(model=SONNET, max_tokens=60,
                                     messages=[{"role": "user", "content": "hello from the SDK"}])
    assert message.content[0].text and message.usage.output_tokens > 0
    arn_model = stack["arns"]["team"]
    with client.messages.stream(model=arn_model, max_tokens=60,
                                messages=[{"role": "user", "content": "stream from the SDK"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.stop_reason


def test_every_call_of_this_module_went_through_the_teams_profile(stack):
    """Runs after the clients above: the local Bedrock logged only the team's profile ARN."""
    records = invocation_records(stack["emulator"], stack["logs"], stack["group"])
    assert records
    assert {r["modelId"] for r in records} == {stack["arns"]["team"]}, {r["modelId"] for r in records}


def test_claude_code_in_bedrock_mode_answers_through_the_router(stack):
    """Claude Code headless with only the Bedrock endpoint and a team key changed. It lists the
    profiles, probes about ten Claude model IDs with /invoke (the ones the team does not serve
    get a 4xx with no Bedrock call), then streams its answer."""
    before = invocation_records(stack["emulator"], stack["logs"], stack["group"])
    done = run_claude("say hi", {"CLAUDE_CODE_USE_BEDROCK": "1", "ANTHROPIC_BEDROCK_BASE_URL": stack["url"],
                                 "AWS_BEARER_TOKEN_BEDROCK": TEAM_KEY, "NODE_EXTRA_CA_CERTS": stack["ca"]})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.strip()
    new = invocation_records(stack["emulator"], stack["logs"], stack["group"])[len(before):]
    assert new, "Claude Code's answer reached Bedrock"
    assert {r["modelId"] for r in new} == {stack["arns"]["team"]}
    assert "InvokeModelWithResponseStream" in {r["operation"] for r in new}, {r["operation"] for r in new}
