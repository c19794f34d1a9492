"""The emulator's runtime driven by boto3: all four operations, streaming included, for every
model ID form, and every injected fault parsed as botocore's typed error. botocore checks both
CRCs of every event-stream frame, so a successful stream is also a framing test."""

import json
import time
import urllib.request

import boto3
import botocore.exceptions
import pytest
import urllib3
from botocore.config import Config

REGION = "us-east-1"
ACCOUNT = "123456789012"
NOVA = "amazon.nova-pro-v1:0"
SONNET_FM = "anthropic.claude-sonnet-4-5-20250929-v1:0"
SONNET_PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
CLAUDE_37_PROFILE = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=10)


def runtime(emulator):
    return boto3.client("bedrock-runtime", region_name=REGION, endpoint_url=emulator.url, config=NO_RETRIES)


def control(emulator):
    return boto3.client("bedrock", region_name=REGION, endpoint_url=emulator.url, config=NO_RETRIES)


def admin(emulator, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{emulator.url}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b"null")


def inject(emulator, **spec):
    status, _ = admin(emulator, "POST", "/_emulator/runtime/faults", spec)
    assert status == 201


def app_profile_arn(emulator):
    source = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{SONNET_PROFILE}"
    created = control(emulator).create_inference_profile(
        inferenceProfileName="python-runtime", modelSource={"copyFrom": source})
    return created["inferenceProfileArn"]


def model_id_forms(emulator):
    return [
        NOVA,
        f"arn:aws:bedrock:{REGION}::foundation-model/{NOVA}",
        SONNET_PROFILE,
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{SONNET_PROFILE}",
        app_profile_arn(emulator),
    ]


def user(text):
    return [{"role": "user", "content": [{"text": text}]}]


def claude_body(text, **extra):
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 300,
                       "messages": [{"role": "user", "content": text}], **extra})


def nova_body(text):
    return json.dumps({"schemaVersion": "messages-v1", "messages": user(text)})


def test_converse_gives_every_model_id_form_the_same_deterministic_answer(emulator):
    client = runtime(emulator)
    answers = []
    for model in model_id_forms(emulator):
        out = client.converse(modelId=model, messages=user("Hello emulator"))
        text = out["output"]["message"]["content"][0]["text"]
        assert text.endswith("You said: Hello emulator"), model
        assert out["stopReason"] == "end_turn"
        assert out["usage"]["inputTokens"] == 2
        assert out["usage"]["totalTokens"] == out["usage"]["inputTokens"] + out["usage"]["outputTokens"]
        assert out["metrics"]["latencyMs"] >= 1
        assert out["ResponseMetadata"]["RequestId"]
        answers.append(text)
    assert len(set(answers)) == 1


def test_converse_stream_events_arrive_in_order_and_match_converse(emulator):
    client = runtime(emulator)
    for model in model_id_forms(emulator):
        whole = client.converse(modelId=model, messages=user("stream it"))
        events = list(client.converse_stream(modelId=model, messages=user("stream it"))["stream"])
        names = [next(iter(e)) for e in events]
        assert names[0] == "messageStart" and events[0]["messageStart"]["role"] == "assistant"
        assert names[-3:] == ["contentBlockStop", "messageStop", "metadata"]
        text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
        assert text == whole["output"]["message"]["content"][0]["text"]
        assert events[-1]["metadata"]["usage"] == {k: whole["usage"][k] for k in events[-1]["metadata"]["usage"]}


def test_invoke_model_returns_each_providers_native_body(emulator):
    client = runtime(emulator)
    forms = model_id_forms(emulator)
    for model in forms[2:]:
        out = client.invoke_model(modelId=model, body=claude_body("What is the capital of Sudan?"))
        body = json.loads(out["body"].read())
        assert out["contentType"] == "application/json"
        assert body["type"] == "message" and body["role"] == "assistant"
        assert body["content"][0]["text"].endswith("You said: What is the capital of Sudan?")
        assert body["usage"]["input_tokens"] == 7
        headers = out["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amzn-bedrock-input-token-count"] == "7"
    for model in forms[:2]:
        out = client.invoke_model(modelId=model, body=nova_body("Hi Nova"), contentType="application/json")
        body = json.loads(out["body"].read())
        assert body["output"]["message"]["content"][0]["text"].endswith("You said: Hi Nova")
        assert body["stopReason"] == "end_turn"


def test_invoke_model_with_response_stream_chunks_end_with_invocation_metrics(emulator):
    client = runtime(emulator)
    forms = model_id_forms(emulator)
    for model in forms[2:]:
        out = client.invoke_model_with_response_stream(modelId=model, body=claude_body("Tell me"))
        assert out["contentType"] == "application/json"
        chunks = [json.loads(e["chunk"]["bytes"]) for e in out["body"]]
        assert chunks[0]["type"] == "message_start"
        assert [c["type"] for c in chunks[-2:]] == ["message_delta", "message_stop"]
        metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
        assert metrics["inputTokenCount"] == 2
        assert metrics["outputTokenCount"] == chunks[-2]["usage"]["output_tokens"]
    for model in forms[:2]:
        out = client.invoke_model_with_response_stream(modelId=model, body=nova_body("Hi"))
        chunks = [json.loads(e["chunk"]["bytes"]) for e in out["body"]]
        assert "messageStart" in chunks[0]
        assert chunks[-1]["amazon-bedrock-invocationMetrics"]["inputTokenCount"] == 1


def test_unknown_on_demand_and_no_access_errors_match_bedrock(emulator):
    client = runtime(emulator)
    with pytest.raises(client.exceptions.ValidationException, match="The provided model identifier is invalid."):
        client.converse(modelId="anthropic.claude-unknown-v1:0", messages=user("x"))
    with pytest.raises(client.exceptions.ValidationException, match="with on-demand throughput isn't supported"):
        client.invoke_model(modelId=SONNET_FM, body=claude_body("x"))
    admin(emulator, "PUT", f"/_emulator/model-access/{SONNET_FM}?region={REGION}",
          {"authorizationStatus": "NOT_AUTHORIZED"})
    with pytest.raises(client.exceptions.AccessDeniedException, match="AWS Marketplace"):
        client.converse_stream(modelId=SONNET_PROFILE, messages=user("x"))


def test_invalid_requests_get_validation_exceptions_with_the_failing_member(emulator):
    client = runtime(emulator)
    with pytest.raises(client.exceptions.ValidationException, match="inferenceConfig.temperature"):
        client.converse(modelId=NOVA, messages=user("x"), inferenceConfig={"temperature": 1.5})
    with pytest.raises(client.exceptions.ValidationException, match="exceeds the model limit of 10000"):
        client.converse(modelId=NOVA, messages=user("x"), inferenceConfig={"maxTokens": 20000})
    with pytest.raises(client.exceptions.ValidationException, match="png, jpeg, gif, webp"):
        client.converse(modelId=NOVA, messages=[{"role": "user", "content": [
            {"image": {"format": "bmp", "source": {"bytes": b"\x89PNG"}}}]}])
    with pytest.raises(client.exceptions.ValidationException, match="alternate"):
        client.converse(modelId=NOVA, messages=user("a") + user("b"))
    with pytest.raises(client.exceptions.ValidationException, match="required key \\[max_tokens\\]"):
        client.invoke_model(modelId=SONNET_PROFILE, body=json.dumps({"anthropic_version": "bedrock-2023-05-31",
                                                                   "messages": []}))


def test_tools_and_reasoning_follow_the_documented_rules(emulator):
    client = runtime(emulator)
    tools = {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {
        "type": "object", "properties": {"q": {"type": "string"}}}}}}]}
    no_call = client.converse(modelId=SONNET_PROFILE, messages=user("hello"), toolConfig=tools)
    assert no_call["stopReason"] == "end_turn"
    call = client.converse(modelId=SONNET_PROFILE, messages=user("please use lookup"), toolConfig=tools)
    assert call["stopReason"] == "tool_use"
    tool_use = call["output"]["message"]["content"][-1]["toolUse"]
    assert tool_use["name"] == "lookup" and tool_use["input"] == {"q": "please use lookup"}

    out = client.converse(modelId=CLAUDE_37_PROFILE, messages=user("think"), inferenceConfig={"maxTokens": 4000},
                          additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1024}})
    reasoning = out["output"]["message"]["content"][0]["reasoningContent"]["reasoningText"]
    assert reasoning["text"] and reasoning["signature"]
    streamed = list(client.converse_stream(
        modelId=CLAUDE_37_PROFILE, messages=user("think"), inferenceConfig={"maxTokens": 4000},
        additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 1024}})["stream"])
    deltas = [e["contentBlockDelta"]["delta"] for e in streamed if "contentBlockDelta" in e]
    assert "".join(d["reasoningContent"].get("text", "") for d in deltas if "reasoningContent" in d) == reasoning["text"]
    assert any(d.get("reasoningContent", {}).get("signature") == reasoning["signature"] for d in deltas)


def test_http_faults_raise_botocores_modeled_exceptions_once(emulator):
    client = runtime(emulator)
    inject(emulator, kind="throttling", operation="Converse", count=1)
    with pytest.raises(client.exceptions.ThrottlingException):
        client.converse(modelId=NOVA, messages=user("x"))
    client.converse(modelId=NOVA, messages=user("x"))
    inject(emulator, kind="error", code="ServiceUnavailableException", count=1)
    with pytest.raises(client.exceptions.ServiceUnavailableException):
        client.invoke_model(modelId=NOVA, body=nova_body("x"))
    inject(emulator, kind="error", code="ModelTimeoutException", model="*nova*", count=1)
    with pytest.raises(client.exceptions.ModelTimeoutException):
        client.invoke_model_with_response_stream(modelId=NOVA, body=nova_body("x"))


def test_a_stream_fault_arrives_as_a_modeled_exception_event(emulator):
    client = runtime(emulator)
    inject(emulator, kind="stream-error", code="ThrottlingException", operation="ConverseStream", afterEvents=3, count=1)
    received = []
    with pytest.raises(botocore.exceptions.EventStreamError) as raised:
        for event in client.converse_stream(modelId=NOVA, messages=user("x"))["stream"]:
            received.append(event)
    assert len(received) == 3
    assert raised.value.response["Error"]["Code"] == "throttlingException"
    inject(emulator, kind="stream-error", operation="InvokeModelWithResponseStream", afterEvents=1, count=1)
    with pytest.raises(botocore.exceptions.EventStreamError) as raised:
        list(client.invoke_model_with_response_stream(modelId=NOVA, body=nova_body("x"))["body"])
    assert raised.value.response["Error"]["Code"] == "modelStreamErrorException"


def test_dropped_connections_surface_as_connection_errors(emulator):
    client = runtime(emulator)
    inject(emulator, kind="drop", operation="Converse", count=1)
    with pytest.raises((botocore.exceptions.ConnectionClosedError, botocore.exceptions.ResponseStreamingError,
                        botocore.exceptions.ReadTimeoutError, botocore.exceptions.EndpointConnectionError)):
        client.converse(modelId=NOVA, messages=user("x"))
    inject(emulator, kind="drop", operation="ConverseStream", afterEvents=2, count=1)
    received = []
    # botocore does not wrap a connection broken while reading the event stream.
    with pytest.raises((botocore.exceptions.BotoCoreError, urllib3.exceptions.ProtocolError)):
        for event in client.converse_stream(modelId=NOVA, messages=user("x"))["stream"]:
            received.append(event)
    assert len(received) == 2
    assert client.converse(modelId=NOVA, messages=user("x"))["stopReason"] == "end_turn"


def test_paced_streams_are_delivered_event_by_event(emulator):
    client = runtime(emulator)
    admin(emulator, "PUT", "/_emulator/runtime/pacing", {"delayMs": 80})
    start = time.monotonic()
    arrivals = [time.monotonic() - start for _ in client.converse_stream(modelId=NOVA, messages=user("pace"))["stream"]]
    assert len(arrivals) >= 5
    assert arrivals[-1] >= 0.08 * (len(arrivals) - 1)
    assert all(b - a >= 0.06 for a, b in zip(arrivals, arrivals[1:]))
    assert arrivals[0] < arrivals[-1] / 2


def test_the_pace_option_paces_streams_from_the_start_and_after_a_reset():
    from conftest import start_emulator
    service = start_emulator("--pace-ms", "70")
    try:
        assert admin(service, "GET", "/_emulator/runtime/pacing") == (200, {"delayMs": 70})
        admin(service, "PUT", "/_emulator/runtime/pacing", {"delayMs": 0})
        admin(service, "POST", "/_emulator/reset")
        assert admin(service, "GET", "/_emulator/runtime/pacing") == (200, {"delayMs": 70})
        start = time.monotonic()
        arrivals = [time.monotonic() - start
                    for _ in runtime(service).converse_stream(modelId=NOVA, messages=user("pace"))["stream"]]
        assert all(b - a >= 0.05 for a, b in zip(arrivals, arrivals[1:])), arrivals
    finally:
        service.stop()


def test_an_invalid_pace_stops_the_start_with_a_message():
    import subprocess
    from conftest import emulator_binary
    done = subprocess.run([str(emulator_binary()), "--listen", "127.0.0.1:0", "--pace-ms", "soon"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--pace-ms" in done.stderr and "soon" in done.stderr


OPUS_55_PROFILE = "us.anthropic.claude-opus-5-5"
HAIKU_45_PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_todays_models_answer_through_their_system_profiles(emulator):
    client = runtime(emulator)
    for model in [OPUS_55_PROFILE, HAIKU_45_PROFILE, "global.anthropic.claude-sonnet-4-6", "us.anthropic.claude-sonnet-5"]:
        out = json.loads(client.invoke_model(modelId=model, body=claude_body("Hello"))["body"].read())
        assert out["type"] == "message", model
    reply = client.converse(modelId="us.amazon.nova-2-lite-v1:0", messages=user("Hi"))
    assert reply["stopReason"] == "end_turn"
    with pytest.raises(client.exceptions.ValidationException, match="on-demand throughput isn't supported"):
        client.converse(modelId="anthropic.claude-opus-5-5", messages=user("Hi"))


def test_anthropic_bodies_are_validated_as_bedrock_validates_them(emulator):
    client = runtime(emulator)
    refusals = [
        (claude_body("x", anthropic_version="2023-06-01"), "anthropic_version: 2023-06-01 is not a valid enum value"),
        (claude_body("x", model="claude-opus-5-5"), r"extraneous key \[model\] is not permitted"),
        (claude_body("x", stream=True), r"extraneous key \[stream\] is not permitted"),
        (claude_body("x", foo=1), r"extraneous key \[foo\] is not permitted"),
        (claude_body("x", anthropic_beta=["claude-code-20250219", "interleaved-thinking-2025-05-14"]), "invalid beta flag"),
        (claude_body("x", max_tokens=128001), "exceeds the model limit of 128000"),
        (json.dumps({"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "x"}]}),
         r"required key \[max_tokens\] not found"),
    ]
    for body, message in refusals:
        with pytest.raises(client.exceptions.ValidationException, match=message):
            client.invoke_model(modelId=OPUS_55_PROFILE, body=body)
    with pytest.raises(client.exceptions.ValidationException, match="invalid beta flag"):
        client.invoke_model(modelId=CLAUDE_37_PROFILE, body=claude_body("x", anthropic_beta=["effort-2025-11-24"]))


def test_a_claude_code_shaped_stream_has_thinking_tool_use_and_metrics(emulator):
    client = runtime(emulator)
    body = claude_body(
        "use get_weather for Paris", max_tokens=128000,
        anthropic_beta=["interleaved-thinking-2025-05-14", "context-management-2025-06-27", "effort-2025-11-24"],
        thinking={"type": "adaptive"}, context_management={"edits": []}, output_config={"effort": "high"},
        metadata={"user_id": "someone"}, system=[{"type": "text", "text": "Be brief."}],
        tools=[{"name": "get_weather", "description": "weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
    )
    out = client.invoke_model_with_response_stream(modelId=OPUS_55_PROFILE, body=body)
    assert out["contentType"] == "application/json"
    chunks = [json.loads(e["chunk"]["bytes"]) for e in out["body"]]
    types = [c["type"] for c in chunks]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    starts = [c["content_block"]["type"] for c in chunks if c["type"] == "content_block_start"]
    assert starts[0] == "thinking" and starts[-1] == "tool_use"
    assert any(c.get("delta", {}).get("type") == "signature_delta" for c in chunks)
    partial = "".join(c["delta"]["partial_json"] for c in chunks if c.get("delta", {}).get("type") == "input_json_delta")
    assert json.loads(partial)["city"]
    assert chunks[-2]["delta"]["stop_reason"] == "tool_use"
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["outputTokenCount"] == chunks[-2]["usage"]["output_tokens"]
    assert metrics["inputTokenCount"] == chunks[0]["message"]["usage"]["input_tokens"]


def test_a_repeated_cached_system_prompt_is_read_from_the_cache(emulator):
    client = runtime(emulator)
    system = [{"type": "text", "text": "policy " * 5000, "cache_control": {"type": "ephemeral"}}]
    first = json.loads(client.invoke_model(modelId=HAIKU_45_PROFILE, body=claude_body("Hi", system=system))["body"].read())
    second = json.loads(client.invoke_model(modelId=HAIKU_45_PROFILE, body=claude_body("Hi", system=system))["body"].read())
    assert first["usage"]["cache_creation_input_tokens"] == 5000
    assert first["usage"]["cache_read_input_tokens"] == 0
    assert second["usage"]["cache_creation_input_tokens"] == 0
    assert second["usage"]["cache_read_input_tokens"] == 5000
    assert second["usage"]["input_tokens"] == first["usage"]["input_tokens"] == 1
    # Below Haiku 4.5's 4096-token minimum nothing is cached.
    short = [{"type": "text", "text": "policy " * 2000, "cache_control": {"type": "ephemeral"}}]
    out = json.loads(client.invoke_model(modelId=HAIKU_45_PROFILE, body=claude_body("Hi", system=short))["body"].read())
    assert out["usage"]["cache_creation_input_tokens"] == 0


def test_count_tokens_agrees_with_invoke_model_and_converse(emulator):
    client = runtime(emulator)
    body = claude_body("How many tokens is this?", system="You count words.")
    invoked = json.loads(client.invoke_model(modelId=OPUS_55_PROFILE, body=body)["body"].read())
    for model in ["anthropic.claude-opus-5-5", OPUS_55_PROFILE]:
        counted = client.count_tokens(modelId=model, input={"invokeModel": {"body": body}})
        assert counted["inputTokens"] == invoked["usage"]["input_tokens"]
    conversed = client.converse(modelId=OPUS_55_PROFILE, messages=user("How many tokens is this?"),
                                system=[{"text": "You count words."}])
    counted = client.count_tokens(modelId="anthropic.claude-opus-5-5", input={"converse": {
        "messages": user("How many tokens is this?"), "system": [{"text": "You count words."}]}})
    assert counted["inputTokens"] == conversed["usage"]["inputTokens"]
    with pytest.raises(client.exceptions.ValidationException, match="doesn't support counting tokens"):
        client.count_tokens(modelId=NOVA, input={"converse": {"messages": user("x")}})
    with pytest.raises(client.exceptions.ValidationException, match="The provided model identifier is invalid."):
        client.count_tokens(modelId=app_profile_arn(emulator), input={"invokeModel": {"body": body}})
    with pytest.raises(client.exceptions.ValidationException, match=r"extraneous key \[foo\]"):
        client.count_tokens(modelId="anthropic.claude-opus-5-5",
                            input={"invokeModel": {"body": claude_body("x", foo=1)}})


def test_embedding_models_answer_deterministic_vectors_of_the_asked_dimension(emulator):
    client = runtime(emulator)
    titan = "amazon.titan-embed-text-v2:0"
    body = json.dumps({"inputText": "hello embeddings", "dimensions": 512})
    first = client.invoke_model(modelId=titan, body=body)
    out = json.loads(first["body"].read())
    assert len(out["embedding"]) == 512 and out["inputTextTokenCount"] == 2
    assert first["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-output-token-count"] == "0"
    again = json.loads(client.invoke_model(modelId=titan, body=body)["body"].read())
    assert again["embedding"] == out["embedding"]
    with pytest.raises(client.exceptions.ValidationException, match="dimensions"):
        client.invoke_model(modelId=titan, body=json.dumps({"inputText": "x", "dimensions": 300}))
    texts = [f"document {i}" for i in range(96)]
    cohere = json.loads(client.invoke_model(modelId="cohere.embed-english-v3", body=json.dumps(
        {"texts": texts, "input_type": "search_document"}))["body"].read())
    assert cohere["response_type"] == "embeddings_floats" and len(cohere["embeddings"]) == 96
    assert len(cohere["embeddings"][0]) == 1024
    with pytest.raises(client.exceptions.ValidationException, match="between 1 and 96"):
        client.invoke_model(modelId="cohere.embed-multilingual-v3", body=json.dumps(
            {"texts": texts + ["one more"], "input_type": "search_document"}))
    v4 = json.loads(client.invoke_model(modelId="cohere.embed-v4:0", body=json.dumps(
        {"texts": ["a", "b"], "input_type": "search_query", "output_dimension": 256,
         "embedding_types": ["float"]}))["body"].read())
    assert len(v4["embeddings"]["float"][1]) == 256
    with pytest.raises(client.exceptions.ValidationException, match="doesn't support the model"):
        client.converse(modelId=titan, messages=user("x"))
