"""`POST /v1/embeddings` through a team's profiles, under `cargo lambda watch`, driven by the
official `openai` SDK's `embeddings.create`: one string, a batch larger than one InvokeModel call
takes (split, answered in the input's order), base64, `dimensions`, for Titan, Cohere and Nova
Multimodal Embeddings; the vectors have the model's size, and the invocation logs (moto) name
only the team's profile ARNs.
"""

import base64
import hashlib
import struct

import openai
import pytest

from conftest import start_emulator
from router_harness import (REGION, bedrock_client, enable_invocation_logs,
                            invocation_records, run_router)

TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-v4:0"
NOVA = "amazon.nova-2-multimodal-embeddings-v1:0"
KEY = "sk-embeddings-team"


def profile_for(emulator, name, model):
    return bedrock_client(emulator).create_inference_profile(
        inferenceProfileName=name,
        modelSource={"copyFrom": f"arn:aws:bedrock:{REGION}::foundation-model/{model}"},
    )["inferenceProfileArn"]


@pytest.fixture(scope="module")
def stack(moto):
    emulator = start_emulator("--logs-endpoint", moto.url)
    try:
        logs, group = enable_invocation_logs(emulator, moto)
        arns = {TITAN: profile_for(emulator, "team-titan", TITAN),
                COHERE: profile_for(emulator, "team-cohere", COHERE),
                NOVA: profile_for(emulator, "team-nova", NOVA)}
        config = {
            "models": [TITAN, COHERE, NOVA],
            "defaultRegion": REGION,
            "tenants": {"team-a": {"apiKeys": [hashlib.sha256(KEY.encode()).hexdigest()],
                                   "inferenceProfiles": arns}},
        }
        with run_router(emulator, config, {"ROUTER_AUTH_MODE": "NONE"}) as url:
            yield {"url": url, "emulator": emulator, "logs": logs, "group": group, "arns": arns}
    finally:
        emulator.stop()


def client(stack):
    return openai.OpenAI(base_url=f"{stack['url']}/v1", api_key=KEY, max_retries=0, timeout=120)


def test_one_string_through_the_teams_titan_profile(stack):
    out = client(stack).embeddings.create(model=TITAN, input="The quick brown fox")
    assert len(out.data) == 1 and len(out.data[0].embedding) == 1024
    assert out.usage.prompt_tokens > 0 and out.usage.total_tokens == out.usage.prompt_tokens
    small = client(stack).embeddings.create(model=TITAN, input="The quick brown fox", dimensions=256)
    assert len(small.data[0].embedding) == 256


def test_a_batch_larger_than_one_call_is_split_and_kept_in_order(stack):
    texts = [f"document number {i}" for i in range(200)]  # Cohere takes 96 per call
    out = client(stack).embeddings.create(model=COHERE, input=texts)
    assert [d.index for d in out.data] == list(range(200))
    assert all(len(d.embedding) == 1536 for d in out.data)
    # The same text embeds to the same vector whichever call carried it: order was kept.
    single = client(stack).embeddings.create(model=COHERE, input=texts[150])
    assert single.data[0].embedding == out.data[150].embedding
    assert out.data[0].embedding != out.data[150].embedding


def test_nova_multimodal_embeds_each_text_at_the_asked_size(stack):
    texts = ["a contract clause", "an invoice line", "a contract clause"]
    out = client(stack).embeddings.create(model=NOVA, input=texts, dimensions=384)
    assert [d.index for d in out.data] == [0, 1, 2]
    assert all(len(d.embedding) == 384 for d in out.data)
    assert out.data[0].embedding == out.data[2].embedding != out.data[1].embedding
    default = client(stack).embeddings.create(model=NOVA, input="a contract clause")
    assert len(default.data[0].embedding) == 3072
    with pytest.raises(openai.BadRequestError) as e:
        client(stack).embeddings.create(model=NOVA, input="x", dimensions=512)
    assert "3072, 1024, 384, 256" in str(e.value)
    models = {m.id: m for m in client(stack).models.list().data}
    assert models[NOVA].model_extra["capabilities"]["embeddings"]["dimensions"] == [3072, 1024, 384, 256]


def test_base64_vectors_decode_to_the_float_ones(stack):
    http = client(stack).embeddings.with_raw_response.create(
        model=TITAN, input=["alpha", "beta"], encoding_format="base64")
    raw = http.http_response.json()
    floats = client(stack).embeddings.create(model=TITAN, input=["alpha", "beta"]).data
    for item, expected in zip(raw["data"], floats):
        blob = base64.b64decode(item["embedding"])
        decoded = list(struct.unpack(f"<{len(blob) // 4}f", blob))
        assert decoded == pytest.approx(expected.embedding, abs=1e-6)


def test_bad_requests_are_specific_and_the_logs_name_only_the_profiles(stack):
    with pytest.raises(openai.BadRequestError) as e:
        client(stack).embeddings.create(model=TITAN, input="x", dimensions=300)
    assert "dimensions" in str(e.value)
    with pytest.raises(openai.BadRequestError):
        client(stack).embeddings.create(model=TITAN, input=[])
    records = invocation_records(stack["emulator"], stack["logs"], stack["group"])
    assert records, "the embedding calls were logged"
    assert {r["modelId"] for r in records} <= set(stack["arns"].values()), {r["modelId"] for r in records}
