"""Invocation logs: with logging configured through PutModelInvocationLoggingConfiguration, each
runtime call writes one record in Bedrock's schema to moto's CloudWatch Logs, stream
`aws/bedrock/modelinvocations`; with logging off, nothing is written."""

import json
import uuid

import boto3
import pytest
from botocore.config import Config

REGION = "us-east-1"
ACCOUNT = "123456789012"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
NOVA = "amazon.nova-pro-v1:0"
SONNET_PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
STREAM = "aws/bedrock/modelinvocations"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def clients(emulator, moto):
    make = lambda service, url: boto3.client(service, region_name=REGION, endpoint_url=url, config=NO_RETRIES)
    return make("bedrock", emulator.url), make("bedrock-runtime", emulator.url), make("logs", moto.url)


def flush(emulator):
    import urllib.request
    request = urllib.request.Request(f"{emulator.url}/_emulator/runtime/logs/flush", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def enable_logging(bedrock, group):
    bedrock.put_model_invocation_logging_configuration(loggingConfig={
        "cloudWatchConfig": {"logGroupName": group, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/BedrockLogs"},
        "textDataDeliveryEnabled": True,
    })


def records(logs, group):
    events = logs.filter_log_events(logGroupName=group, logStreamNames=[STREAM])["events"]
    return [json.loads(e["message"]) for e in events]


def user(text):
    return [{"role": "user", "content": [{"text": text}]}]


def test_each_runtime_call_writes_one_record_in_bedrocks_schema(emulator_with_logs, moto):
    bedrock, runtime, logs = clients(emulator_with_logs, moto)
    group = f"/bedrock/invocations/{uuid.uuid4().hex[:8]}"
    enable_logging(bedrock, group)
    profile_arn = bedrock.create_inference_profile(
        inferenceProfileName="logged",
        modelSource={"copyFrom": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{SONNET_PROFILE}"},
    )["inferenceProfileArn"]

    converse = runtime.converse(modelId=profile_arn, messages=user("log me"), requestMetadata={"team": "search"})
    list(runtime.converse_stream(modelId=SONNET_PROFILE, messages=user("stream me"))["stream"])
    claude = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                         "messages": [{"role": "user", "content": "invoke me"}]})
    runtime.invoke_model(modelId=SONNET_PROFILE, body=claude, requestMetadata=json.dumps({"app": "router"}))
    list(runtime.invoke_model_with_response_stream(modelId=NOVA, body=json.dumps({"messages": user("nova")}))["body"])
    with pytest.raises(runtime.exceptions.ValidationException):
        runtime.converse(modelId=NOVA, messages=[])

    stats = flush(emulator_with_logs)
    assert stats["failed"] == 0 and stats["delivered"] == stats["queued"] == 5
    found = records(logs, group)
    assert [r["operation"] for r in found] == [
        "Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream", "Converse"]
    for record in found:
        assert record["schemaType"] == "ModelInvocationLog"
        assert record["schemaVersion"] == "1.0"
        assert record["accountId"] == ACCOUNT
        assert record["region"] == REGION
        assert record["identity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/{ACCESS_KEY}"
        assert record["timestamp"].endswith("Z") and len(record["timestamp"]) == 20
        assert record["input"]["inputContentType"] == "application/json"
        assert len(record["requestId"]) == 36

    logged_converse, logged_stream, logged_invoke, logged_invoke_stream, logged_failure = found
    assert logged_converse["requestId"] == converse["ResponseMetadata"]["RequestId"]
    assert logged_converse["modelId"] == profile_arn
    assert logged_converse["requestMetadata"] == {"team": "search"}
    profile_regions = {m["modelArn"].split(":")[3]
                       for m in bedrock.get_inference_profile(inferenceProfileIdentifier=profile_arn)["models"]}
    assert len(profile_regions) > 1 and logged_converse["inferenceRegion"] in profile_regions
    assert logged_converse["input"]["inputBodyJson"]["messages"] == user("log me")
    assert logged_converse["input"]["inputTokenCount"] == converse["usage"]["inputTokens"]
    assert logged_converse["output"]["outputBodyJson"]["output"] == converse["output"]
    assert logged_converse["output"]["outputTokenCount"] == converse["usage"]["outputTokens"]
    assert "errorCode" not in logged_converse

    assert logged_stream["modelId"] == SONNET_PROFILE
    assert logged_stream["output"]["outputBodyJson"]["stopReason"] == "end_turn"
    assert "requestMetadata" not in logged_stream

    assert logged_invoke["requestMetadata"] == {"app": "router"}
    assert logged_invoke["input"]["inputBodyJson"]["anthropic_version"] == "bedrock-2023-05-31"
    assert logged_invoke["output"]["outputBodyJson"]["type"] == "message"

    chunks = logged_invoke_stream["output"]["outputBodyJson"]
    assert logged_invoke_stream["modelId"] == NOVA and logged_invoke_stream["inferenceRegion"] == REGION
    assert isinstance(chunks, list) and "amazon-bedrock-invocationMetrics" in chunks[-1]

    assert logged_failure["errorCode"] == "ValidationException"
    assert "output" not in logged_failure


def test_no_records_are_written_when_logging_is_off(emulator_with_logs, moto):
    bedrock, runtime, logs = clients(emulator_with_logs, moto)
    group = f"/bedrock/off/{uuid.uuid4().hex[:8]}"
    enable_logging(bedrock, group)
    bedrock.delete_model_invocation_logging_configuration()
    runtime.converse(modelId=NOVA, messages=user("not logged"))
    assert flush(emulator_with_logs)["queued"] == 0
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []


def test_records_of_the_last_calls_survive_a_sigterm(moto):
    import signal
    from conftest import start_emulator
    service = start_emulator("--logs-endpoint", moto.url)
    try:
        bedrock, runtime, logs = clients(service, moto)
        group = f"/bedrock/invocations/{uuid.uuid4().hex[:8]}"
        enable_logging(bedrock, group)
        for i in range(5):
            runtime.converse(modelId=NOVA, messages=user(f"last words {i}"))
        # No flush of our own: stopping the emulator must deliver what is still queued.
        service.proc.send_signal(signal.SIGTERM)
        assert service.proc.wait(timeout=15) == 0
    finally:
        service.stop()
    got = records(logs, group)
    assert sorted(r["input"]["inputBodyJson"]["messages"][0]["content"][0]["text"] for r in got) == [
        f"last words {i}" for i in range(5)]
