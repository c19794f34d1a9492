"""boto3 drives every control-plane operation of the local Bedrock and parses every answer.

botocore validates only required members, types and minimums, so these tests also prove the
emulator's own checks of maximums, patterns and enums, and that each error maps to the
modeled exception class (`client.exceptions.X`).
"""

import datetime
import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config

ACCOUNT = "123456789012"
SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-pro-v1:0"


def bedrock(emulator, region="us-east-1"):
    return boto3.client(
        "bedrock",
        region_name=region,
        endpoint_url=emulator.url,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"max_attempts": 1}),
    )


def system_arn(model_id, region="us-east-1"):
    return f"arn:aws:bedrock:{region}:{ACCOUNT}:inference-profile/{model_id}"


def create(client, name, source=None):
    return client.create_inference_profile(
        inferenceProfileName=name, modelSource={"copyFrom": source or system_arn(NOVA)}
    )


def admin(emulator, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(emulator.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as response:
        return response.status, json.loads(response.read() or b"{}")


def test_system_profiles_are_listed_and_read_by_id_and_arn(emulator):
    client = bedrock(emulator)
    summaries = client.list_inference_profiles()["inferenceProfileSummaries"]
    ids = {p["inferenceProfileId"] for p in summaries}
    assert {SONNET, NOVA, "global.anthropic.claude-opus-4-5-20251101-v1:0"} <= ids
    assert all(p["type"] == "SYSTEM_DEFINED" and p["status"] == "ACTIVE" for p in summaries)
    by_id = client.get_inference_profile(inferenceProfileIdentifier=SONNET)
    by_arn = client.get_inference_profile(inferenceProfileIdentifier=system_arn(SONNET))
    assert by_id["inferenceProfileArn"] == system_arn(SONNET)
    assert by_arn["inferenceProfileId"] == SONNET
    assert [m["modelArn"].split(":")[3] for m in by_arn["models"]] == [
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    ]
    assert isinstance(by_arn["createdAt"], datetime.datetime)


def test_an_application_profile_lives_from_create_to_delete(emulator):
    client = bedrock(emulator)
    created = client.create_inference_profile(
        inferenceProfileName="librechat-sonnet",
        description="Sonnet for LibreChat",
        modelSource={"copyFrom": system_arn(SONNET)},
        tags=[{"key": "Application", "value": "LibreChat"}],
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert len(created["ResponseMetadata"]["RequestId"]) == 36
    assert created["status"] == "ACTIVE"
    arn = created["inferenceProfileArn"]
    profile_id = arn.rsplit("/", 1)[1]
    assert arn == f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/{profile_id}"
    assert len(profile_id) == 12 and profile_id.isalnum() and profile_id == profile_id.lower()

    got = client.get_inference_profile(inferenceProfileIdentifier=arn)
    assert got["type"] == "APPLICATION"
    assert got["inferenceProfileName"] == "librechat-sonnet"
    assert got["description"] == "Sonnet for LibreChat"
    assert got["models"] == client.get_inference_profile(inferenceProfileIdentifier=SONNET)["models"]
    assert isinstance(got["updatedAt"], datetime.datetime)

    listed = client.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
    assert [p["inferenceProfileArn"] for p in listed] == [arn]

    deleted = client.delete_inference_profile(inferenceProfileIdentifier=arn)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_inference_profile(inferenceProfileIdentifier=arn)


def test_repeating_a_client_request_token_returns_the_first_profile(emulator):
    client = bedrock(emulator)
    kwargs = dict(
        inferenceProfileName="once",
        clientRequestToken="retry-token-1",
        modelSource={"copyFrom": system_arn(NOVA)},
    )
    first = client.create_inference_profile(**kwargs)["inferenceProfileArn"]
    second = client.create_inference_profile(**kwargs)["inferenceProfileArn"]
    assert first == second
    assert len(client.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]) == 1


def test_a_duplicate_name_raises_conflict(emulator):
    client = bedrock(emulator)
    create(client, "taken")
    with pytest.raises(client.exceptions.ConflictException) as caught:
        create(client, "taken", system_arn(SONNET))
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_server_side_validation_names_the_field(emulator):
    client = bedrock(emulator)
    with pytest.raises(client.exceptions.ValidationException) as caught:
        create(client, "x" * 100)
    assert "at 'inferenceProfileName' failed to satisfy constraint: Member must have length less than or equal to 64" in str(caught.value)
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.list_inference_profiles(typeEquals="BOGUS")
    assert "Value 'BOGUS' at 'typeEquals'" in str(caught.value)
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.list_inference_profiles(maxResults=5000)
    assert "Member must have value less than or equal to 1000" in str(caught.value)
    app = create(client, "base")["inferenceProfileArn"]
    with pytest.raises(client.exceptions.ValidationException) as caught:
        create(client, "copy-of-app", app)
    assert "'modelSource.copyFrom'" in str(caught.value)
    with pytest.raises(client.exceptions.ValidationException):
        client.tag_resource(resourceARN=app, tags=[{"key": "bad#key", "value": "v"}])


def test_a_system_profile_cannot_be_deleted(emulator):
    client = bedrock(emulator)
    with pytest.raises(client.exceptions.ValidationException):
        client.delete_inference_profile(inferenceProfileIdentifier=NOVA)


def test_the_paginator_walks_every_page(emulator):
    client = bedrock(emulator)
    arns = [create(client, f"profile-{i}")["inferenceProfileArn"] for i in range(5)]
    pages = list(
        client.get_paginator("list_inference_profiles").paginate(
            typeEquals="APPLICATION", PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["inferenceProfileSummaries"]) for p in pages] == [2, 2, 1]
    assert [s["inferenceProfileArn"] for p in pages for s in p["inferenceProfileSummaries"]] == arns
    assert "nextToken" not in pages[-1]


def test_tags_are_added_listed_and_removed(emulator):
    client = bedrock(emulator)
    arn = client.create_inference_profile(
        inferenceProfileName="tagged",
        modelSource={"copyFrom": system_arn(NOVA)},
        tags=[{"key": "team", "value": "search"}],
    )["inferenceProfileArn"]
    client.tag_resource(resourceARN=arn, tags=[{"key": "env", "value": "dev"}])
    assert client.list_tags_for_resource(resourceARN=arn)["tags"] == [
        {"key": "env", "value": "dev"},
        {"key": "team", "value": "search"},
    ]
    client.untag_resource(resourceARN=arn, tagKeys=["team"])
    assert client.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "env", "value": "dev"}]
    missing = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/zzzzzzzzzzzz"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_tags_for_resource(resourceARN=missing)


def test_foundation_models_are_read_and_filtered(emulator):
    client = bedrock(emulator)
    details = client.get_foundation_model(modelIdentifier="anthropic.claude-sonnet-4-5-20250929-v1:0")["modelDetails"]
    assert details["modelArn"] == "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert details["providerName"] == "Anthropic"
    assert details["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]
    # Claude Sonnet 4.5 was retired on 2026-11-30: still listed, as LEGACY.
    assert details["modelLifecycle"]["status"] == "LEGACY"
    current = client.get_foundation_model(modelIdentifier="anthropic.claude-opus-5-5")["modelDetails"]
    assert current["modelLifecycle"]["status"] == "ACTIVE"
    assert current["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]
    nova = client.get_foundation_model(modelIdentifier="amazon.nova-pro-v1:0")["modelDetails"]
    assert "ON_DEMAND" in nova["inferenceTypesSupported"]
    meta = client.list_foundation_models(byProvider="Meta")["modelSummaries"]
    assert [m["modelId"] for m in meta] == ["meta.llama3-3-70b-instruct-v1:0", "meta.llama4-maverick-17b-instruct-v1:0"]
    on_demand = {m["modelId"] for m in client.list_foundation_models(byInferenceType="ON_DEMAND")["modelSummaries"]}
    assert "amazon.nova-pro-v1:0" in on_demand and "anthropic.claude-sonnet-4-5-20250929-v1:0" not in on_demand
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.get_foundation_model(modelIdentifier="acme.nothing-v1:0")
    assert caught.value.response["Error"]["Message"] == "The provided model identifier is invalid."


def test_model_availability_follows_the_admin_route(emulator):
    client = bedrock(emulator)
    answer = client.get_foundation_model_availability(modelId=SONNET)
    assert answer["agreementAvailability"] == {"status": "AVAILABLE"}
    assert answer["authorizationStatus"] == "AUTHORIZED"
    assert answer["entitlementAvailability"] == "AVAILABLE"
    assert answer["regionAvailability"] == "AVAILABLE"
    status, body = admin(
        emulator,
        "PUT",
        "/_emulator/model-access/anthropic.claude-sonnet-4-5-20250929-v1:0",
        {"agreementAvailability": {"status": "PENDING"}, "regionAvailability": "NOT_AVAILABLE"},
    )
    assert status == 200 and body["regions"]["us-east-1"]["agreementAvailability"]["status"] == "PENDING"
    answer = client.get_foundation_model_availability(modelId="anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert answer["agreementAvailability"]["status"] == "PENDING"
    assert answer["regionAvailability"] == "NOT_AVAILABLE"
    admin(emulator, "POST", "/_emulator/reset")
    assert client.get_foundation_model_availability(modelId=SONNET)["regionAvailability"] == "AVAILABLE"
    with pytest.raises(urllib.error.HTTPError) as caught:
        admin(emulator, "PUT", "/_emulator/model-access/acme.nothing-v1:0", {"authorizationStatus": "AUTHORIZED"})
    assert caught.value.code == 404


def test_the_logging_configuration_round_trips(emulator):
    client = bedrock(emulator)
    answer = client.get_model_invocation_logging_configuration()
    assert "loggingConfig" not in answer
    config = {
        "cloudWatchConfig": {
            "logGroupName": "/aws/bedrock/invocations",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/BedrockLogging",
        },
        "textDataDeliveryEnabled": True,
        "imageDataDeliveryEnabled": False,
        "embeddingDataDeliveryEnabled": False,
    }
    client.put_model_invocation_logging_configuration(loggingConfig=config)
    assert client.get_model_invocation_logging_configuration()["loggingConfig"] == config
    with pytest.raises(client.exceptions.ValidationException):
        client.put_model_invocation_logging_configuration(
            loggingConfig={"cloudWatchConfig": {"logGroupName": "g", "roleArn": "nope"}}
        )
    client.delete_model_invocation_logging_configuration()
    assert "loggingConfig" not in client.get_model_invocation_logging_configuration()


def test_every_region_has_its_own_state(emulator):
    east, west = bedrock(emulator, "us-east-1"), bedrock(emulator, "us-west-2")
    arn = create(east, "east")["inferenceProfileArn"]
    assert west.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"] == []
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.get_inference_profile(inferenceProfileIdentifier=arn)
    eu_ids = {p["inferenceProfileId"] for p in bedrock(emulator, "eu-west-1").list_inference_profiles()["inferenceProfileSummaries"]}
    assert "eu.anthropic.claude-sonnet-4-5-20250929-v1:0" in eu_ids and SONNET not in eu_ids


def test_an_unsigned_request_is_refused(emulator):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(emulator.url + "/inference-profiles")
    assert caught.value.code == 403
    assert caught.value.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException")
    assert json.loads(caught.value.read()) == {"message": "Missing Authentication Token"}


def test_todays_system_profiles_are_listed_and_read_as_claude_code_reads_them(emulator):
    client = bedrock(emulator)
    system = client.list_inference_profiles(typeEquals="SYSTEM_DEFINED", maxResults=1000)["inferenceProfileSummaries"]
    ids = {p["inferenceProfileId"] for p in system}
    assert {"us.anthropic.claude-opus-5-5", "global.anthropic.claude-opus-5-5",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0", "us.amazon.nova-2-lite-v1:0"} <= ids
    assert all(p["type"] == "SYSTEM_DEFINED" for p in system)
    opus = client.get_inference_profile(inferenceProfileIdentifier="us.anthropic.claude-opus-5-5")
    assert opus["type"] == "SYSTEM_DEFINED"
    assert all(m["modelArn"].endswith("foundation-model/anthropic.claude-opus-5-5") for m in opus["models"])
    source = opus["inferenceProfileArn"]
    created = client.create_inference_profile(inferenceProfileName="team-a-opus", modelSource={"copyFrom": source})
    arn = created["inferenceProfileArn"]
    # Claude Code in Bedrock mode encodes only the slash of the ARN; boto3 encodes every colon too.
    raw = arn.replace("/", "%2F")
    with urllib.request.urlopen(urllib.request.Request(f"{emulator.url}/inference-profiles/{raw}",
                                headers={"Authorization": "Bearer long-term-key"}), timeout=10) as response:
        profile = json.loads(response.read())
    assert profile["type"] == "APPLICATION"
    assert profile["models"] == opus["models"]
    assert client.get_inference_profile(inferenceProfileIdentifier=arn)["models"] == opus["models"]
    app = client.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
    assert [p["inferenceProfileArn"] for p in app] == [arn]
