"""The AWS CLI commands of LibreChat's "Bedrock Inference Profiles" guide, run unchanged against
the local Bedrock with only `AWS_ENDPOINT_URL_BEDROCK` set (plus dummy credentials).

Each command runs through bash exactly as a user would paste it, so the CLI's own argument
parsing (shorthand `copyFrom=arn:...`, `--query` JMESPath, `--output table`) is exercised too.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import VENV_BIN

ACCOUNT = "123456789012"


@pytest.fixture
def shell(emulator):
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["AWS_ENDPOINT_URL_BEDROCK"] = emulator.url
    env["AWS_PAGER"] = ""
    env["AWS_RETRY_MODE"] = "standard"
    env["AWS_MAX_ATTEMPTS"] = "1"

    def run(script: str) -> str:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{script}\nstdout: {done.stdout}\nstderr: {done.stderr}"
        return done.stdout

    return run


def test_the_cli_has_the_availability_command():
    assert (Path(VENV_BIN) / "aws").exists()
    done = subprocess.run(
        [str(Path(VENV_BIN) / "aws"), "bedrock", "get-foundation-model-availability", "help"],
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_PAGER": "", "PAGER": "cat"},
        timeout=60,
    )
    assert done.returncode == 0


def test_listing_claude_system_profiles_with_a_query_filter(shell):
    out = shell(
        """aws bedrock list-inference-profiles --region us-east-1 \\
  --query "inferenceProfileSummaries[?contains(inferenceProfileId, 'claude')].[inferenceProfileId,inferenceProfileArn]" \\
  --output table"""
    )
    assert "us.anthropic.claude-3-7-sonnet-20250219-v1:0" in out
    assert f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0" in out
    assert "global.anthropic.claude-opus-4-5-20251101-v1:0" in out
    assert "nova" not in out
    ids = json.loads(
        shell(
            """aws bedrock list-inference-profiles --region us-east-1 \\
  --query "inferenceProfileSummaries[?contains(inferenceProfileId, 'claude')].inferenceProfileId" --output json"""
        )
    )
    assert all("claude" in i for i in ids) and len(ids) >= 5


def test_creating_one_profile_with_tags(shell):
    out = shell(
        f"""aws bedrock create-inference-profile \\
  --inference-profile-name "Claude37" \\
  --description "Application profile for Claude 3.7 Sonnet" \\
  --model-source copyFrom=arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0 \\
  --tags key=projectId,value=ai-gateway \\
  --region us-east-1"""
    )
    created = json.loads(out)
    assert created["status"] == "ACTIVE"
    arn = created["inferenceProfileArn"]
    assert arn.startswith(f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/")
    tags = json.loads(shell(f"aws bedrock list-tags-for-resource --resource-arn {arn} --region us-east-1"))
    assert tags["tags"] == [{"key": "projectId", "value": "ai-gateway"}]


def test_the_quick_setup_loop_then_the_application_table(shell):
    out = shell(
        f"""REGION="us-east-1"
ACCOUNT_ID="{ACCOUNT}"
MODELS=(
  "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
  "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
  "global.anthropic.claude-opus-4-5-20251101-v1:0"
  "us.amazon.nova-pro-v1:0"
)
for MODEL in "${{MODELS[@]}}"; do
  NAME="librechat-$(echo "$MODEL" | sed 's/[^a-zA-Z0-9]/-/g')"
  ARN=$(aws bedrock create-inference-profile \\
    --inference-profile-name "$NAME" \\
    --model-source copyFrom=arn:aws:bedrock:$REGION:$ACCOUNT_ID:inference-profile/$MODEL \\
    --region $REGION \\
    --query inferenceProfileArn --output text)
  echo "$MODEL=$ARN"
done"""
    )
    mapping = dict(line.split("=", 1) for line in out.strip().splitlines())
    assert len(mapping) == 4
    assert all("application-inference-profile/" in arn for arn in mapping.values())

    table = shell("aws bedrock list-inference-profiles --type-equals APPLICATION --region us-east-1 --output table")
    for arn in mapping.values():
        assert arn in table
    assert "librechat-us-anthropic-claude-sonnet-4-5-20250929-v1-0" in table
    assert "SYSTEM_DEFINED" not in table

    arn = mapping["us.anthropic.claude-sonnet-4-5-20250929-v1:0"]
    got = json.loads(shell(f"aws bedrock get-inference-profile --inference-profile-identifier {arn} --region us-east-1"))
    assert got["type"] == "APPLICATION"
    assert got["inferenceProfileArn"] == arn
    assert [m["modelArn"] for m in got["models"]][0] == (
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"
    )


def test_model_availability_by_system_profile_id(shell):
    answer = json.loads(
        shell(
            "aws bedrock get-foundation-model-availability "
            "--model-id us.anthropic.claude-sonnet-4-5-20250929-v1:0 --region us-east-1"
        )
    )
    assert answer["modelId"] == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert answer["agreementAvailability"]["status"] == "AVAILABLE"
    assert answer["authorizationStatus"] == "AUTHORIZED"
    assert answer["entitlementAvailability"] == "AVAILABLE"
    assert answer["regionAvailability"] == "AVAILABLE"


def test_invocation_logging_put_and_get(shell):
    shell(
        f"""aws bedrock put-model-invocation-logging-configuration --region us-east-1 \\
  --logging-config '{{"cloudWatchConfig":{{"logGroupName":"/aws/bedrock/librechat","roleArn":"arn:aws:iam::{ACCOUNT}:role/BedrockLoggingRole"}},"textDataDeliveryEnabled":true}}'"""
    )
    answer = json.loads(shell("aws bedrock get-model-invocation-logging-configuration --region us-east-1"))
    config = answer["loggingConfig"]
    assert config["cloudWatchConfig"]["logGroupName"] == "/aws/bedrock/librechat"
    assert config["textDataDeliveryEnabled"] is True
