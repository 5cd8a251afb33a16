"""POST /api/models/submit: each check's pass and failure; nothing is recorded on a failure."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from leaderboard.models import OfficialProvider
from leaderboard_site.api.errors import ApiError
from leaderboard_site.hub import mirror
from leaderboard_site.hub.models import MirrorChange
from submissions import checks, services
from submissions.models import EvalRequest, Status
from tests.conftest import make_user
from tests.submissions.conftest import publish, submit

pytestmark = pytest.mark.django_db
ADAPTER_CONFIG = '{"peft_type": "LORA", "base_model_name_or_path": "acme/base"}'


def refused(response: Any, status: int, reason: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["details"]["reason"] == reason, body
    assert not EvalRequest.objects.exists()
    assert not MirrorChange.objects.exists()
    return body


def test_a_good_model_is_queued_with_its_revision_pinned(alice_client, tiny) -> None:
    response = submit(alice_client, revision="main")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "success"
    assert "acme/tiny" in body["message"]
    request = body["request"]
    assert request["name"] == "acme/tiny"
    assert request["revision"] == tiny  # "main" pinned to the commit sha
    assert request["status"] == "PENDING"
    assert request["submitter"] == "alice"
    stored = EvalRequest.objects.get()
    assert stored.params_billions == 0.135
    assert stored.architectures == ["LlamaForCausalLM"]
    assert stored.license == "apache-2.0"
    assert request["score"] == 1  # the submitter's own up vote, as upstream
    assert MirrorChange.objects.filter(dataset="votes").count() == 1
    change = MirrorChange.objects.get(dataset="requests")
    assert change.path == f"acme/tiny_eval_request_False_bfloat16_Original_{tiny[:7]}.json"


def test_the_request_file_lands_in_the_local_mirror_with_upstream_fields(
    alice_client, tiny, settings
) -> None:
    submit(alice_client, use_chat_template=True)
    request = EvalRequest.objects.get()
    services.request_claim(job_id="job-1")
    mirror.push("requests")
    folder = settings.VAR_DIR / "hub" / settings.HF_ORGANIZATION / "requests"
    path = folder / f"acme/tiny_eval_request_False_bfloat16_Original_{tiny[:7]}_chat.json"
    record = json.loads(path.read_text())
    assert set(record) >= {
        "model", "base_model", "revision", "precision", "params", "architectures",
        "weight_type", "status", "submitted_time", "model_type", "job_id", "job_start_time",
        "use_chat_template", "sender",
    }  # fmt: skip
    assert record["model"] == "acme/tiny"
    assert record["status"] == "RUNNING"  # EVALUATING, in upstream's word
    assert record["job_id"] == "job-1"
    assert record["use_chat_template"] is True
    assert record["sender"] == "alice"
    assert request.mirror_path.endswith("_chat.json")
    assert not MirrorChange.objects.filter(dataset="requests").exists()  # published, deleted


def test_anonymous_callers_may_not_submit(anon, tiny) -> None:
    assert submit(anon).status_code == 401


def test_user_id_must_be_the_caller(alice_client, tiny) -> None:
    response = submit(alice_client, user_id="bob")
    assert response.status_code == 403
    assert not EvalRequest.objects.exists()
    assert submit(alice_client, user_id="alice").status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("precision", "float32"),
        ("weight_type", "Merged"),
        ("model_type", "wizard"),
        ("model_id", "acme/has space"),
        ("base_model", "acme/a--b"),
        ("model_id", "no-organization"),
        ("model_id", "acme/../etc"),
    ],
)
def test_bad_fields_are_400(alice_client, tiny, field: str, value: str) -> None:
    response = submit(alice_client, **{field: value})
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]["fields"]


# --- 1. exists, public, readable --------
def test_unknown_model(alice_client, hub) -> None:
    refused(submit(alice_client, "acme/ghost"), 404, "model_not_found")


def test_unknown_revision(alice_client, tiny) -> None:
    refused(submit(alice_client, revision="0" * 40), 404, "model_not_found")


def test_a_private_model_we_can_read_is_refused(alice_client, hub, settings) -> None:
    settings.HF_TOKEN = "hf_leaderboard"
    publish(hub, "acme/secret", private=True)
    hub.set_repo_meta("acme/secret", allowed_tokens=["hf_leaderboard"])
    refused(submit(alice_client, "acme/secret"), 403, "private")


def test_a_gated_model_needs_our_token_to_read_it(alice_client, hub, settings) -> None:
    publish(hub, "acme/gated", gated="manual")
    refused(submit(alice_client, "acme/gated"), 403, "gated")
    settings.HF_TOKEN = "hf_leaderboard"
    hub.set_repo_meta("acme/gated", allowed_tokens=["hf_leaderboard"])
    assert submit(alice_client, "acme/gated").status_code == 201


# --- 2. no remote code --------
def test_auto_map_means_remote_code(alice_client, hub) -> None:
    publish(hub, "acme/custom", config={**_config(), "auto_map": {"AutoModel": "m.Model"}})
    refused(submit(alice_client, "acme/custom"), 400, "remote_code")


def test_custom_modeling_code_means_remote_code(alice_client, hub) -> None:
    publish(hub, "acme/custom")
    hub.add_file("acme/custom", "modeling_custom.py", "class Model: ...\n", repo_type="model")
    refused(submit(alice_client, "acme/custom"), 400, "remote_code")


def test_no_config_at_all(alice_client, hub) -> None:
    publish(hub, "acme/noconfig", config=None)
    refused(submit(alice_client, "acme/noconfig"), 400, "config")


def _config() -> dict[str, Any]:
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}


# --- 3. model card --------
def test_no_model_card(alice_client, hub) -> None:
    publish(hub, "acme/nocard", card=None, license=None)
    refused(submit(alice_client, "acme/nocard"), 400, "model_card")


def test_no_licence(alice_client, hub) -> None:
    publish(hub, "acme/nolicence", license=None)
    refused(submit(alice_client, "acme/nolicence"), 400, "license")


def test_a_card_too_short(alice_client, hub) -> None:
    publish(hub, "acme/terse", card="A model.\n")
    refused(submit(alice_client, "acme/terse"), 400, "model_card")


# --- 4. size --------
def test_params_must_be_known(alice_client, hub) -> None:
    publish(hub, "acme/pickle", params=None)
    refused(submit(alice_client, "acme/pickle"), 400, "params_unknown")


@pytest.mark.parametrize(
    ("params", "precision", "accepted"),
    [
        (99_000_000_000, "float16", True),
        (101_000_000_000, "bfloat16", False),
        (101_000_000_000, "8bit", True),
        (281_000_000_000, "8bit", False),
        (500_000_000_000, "4bit", True),
        (80_000_000_000, "gptq", False),  # counted x8: 640B
    ],
)
def test_size_caps(alice_client, hub, params: int, precision: str, accepted: bool) -> None:
    publish(hub, "acme/big", params=params)
    response = submit(alice_client, "acme/big", precision=precision)
    if accepted:
        assert response.status_code == 201, response.content
    else:
        body = refused(response, 400, "too_large")
        assert body["error"]["details"]["limit_billions"] > 0


def test_adapters_add_their_base_models_params(alice_client, hub) -> None:
    publish(hub, "acme/base", params=90_000_000_000)
    publish(hub, "acme/lora", params=20_000_000_000)
    hub.add_file("acme/lora", "adapter_config.json", ADAPTER_CONFIG, repo_type="model")
    response = submit(alice_client, "acme/lora", weight_type="Adapter", base_model="acme/base")
    refused(response, 400, "too_large")


# --- 5. base model --------
@pytest.mark.parametrize("weight_type", ["Delta", "Adapter"])
def test_delta_and_adapter_need_an_existing_base_model(alice_client, hub, weight_type) -> None:
    publish(hub, "acme/delta")
    hub.add_file("acme/delta", "adapter_config.json", ADAPTER_CONFIG, repo_type="model")
    refused(submit(alice_client, "acme/delta", weight_type=weight_type), 400, "base_model")
    response = submit(
        alice_client, "acme/delta", weight_type=weight_type, base_model="acme/missing"
    )
    refused(response, 400, "base_model")
    publish(hub, "acme/base")
    response = submit(alice_client, "acme/delta", weight_type=weight_type, base_model="acme/base")
    assert response.status_code == 201, response.content


# --- 6. chat template --------
def test_chat_template_required_when_asked_for(alice_client, hub) -> None:
    publish(hub, "acme/plain", tokenizer_config={"model_max_length": 2048})
    refused(submit(alice_client, "acme/plain", use_chat_template=True), 400, "chat_template")
    assert submit(alice_client, "acme/plain", use_chat_template=False).status_code == 201


# --- 7. duplicates --------
def test_the_same_identity_twice_is_409_until_it_failed(alice_client, bob_client, tiny) -> None:
    assert submit(alice_client).status_code == 201
    response = submit(bob_client)
    assert response.status_code == 409
    assert response.json()["error"]["details"]["reason"] == "duplicate"
    # Another precision or chat template is another identity.
    assert submit(bob_client, precision="float16").status_code == 201
    assert submit(bob_client, use_chat_template=True).status_code == 201

    first = EvalRequest.objects.get(precision="bfloat16", use_chat_template=False)
    services.request_fail(first, job_id=None, reason="broken weights")
    again = submit(bob_client)
    assert again.status_code == 201
    same = EvalRequest.objects.filter(precision="bfloat16", use_chat_template=False)
    paths = sorted(same.values_list("mirror_path", flat=True))
    base = f"acme/tiny_eval_request_False_bfloat16_Original_{tiny[:7]}"
    assert paths == [f"{base}.json", f"{base}_2.json"]  # the failed one's file stays


# --- 8. official providers --------
def test_an_official_providers_finished_model_is_refused(alice_client, hub) -> None:
    OfficialProvider.objects.create(organization="bigco")
    publish(hub, "bigco/flagship")
    assert submit(alice_client, "bigco/flagship").status_code == 201
    request = EvalRequest.objects.get()
    services.request_claim(job_id="j")
    services.request_transition(request, to=Status.FINISHED, allowed_from=[Status.EVALUATING])
    response = submit(alice_client, "bigco/flagship", precision="float16")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["details"]["reason"] == "official_provider"
    assert "official provider" in error["message"]


# --- 9. quota --------
def test_quota(alice_client, hub, settings) -> None:
    settings.SUBMISSION_QUOTA = 2
    for name in ("a", "b", "c"):
        publish(hub, f"acme/{name}")
    assert submit(alice_client, "acme/a").status_code == 201
    assert submit(alice_client, "acme/b").status_code == 201
    response = submit(alice_client, "acme/c")
    assert response.status_code == 429
    assert response.json()["error"]["details"]["kind"] == "submission"
    assert int(response["Retry-After"]) > 0
    assert EvalRequest.objects.count() == 2


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_submissions_with_a_quota_of_five_accept_five(hub, settings) -> None:
    settings.SUBMISSION_QUOTA = 5
    user = make_user("eager", "user")
    for index in range(50):
        publish(hub, f"acme/m{index}")

    def one(index: int) -> str:
        try:
            sub = checks.Submission(
                model_id=f"acme/m{index}", revision="main", precision="bfloat16",
                weight_type="Original", model_type="chat", base_model="",
                use_chat_template=False,
            )  # fmt: skip
            services.request_submit(user=user, submission=sub)
            return "accepted"
        except ApiError as exc:
            return str(exc.status)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(one, range(50)))
    assert outcomes.count("accepted") == 5, outcomes
    assert outcomes.count("429") == 45
    assert EvalRequest.objects.count() == 5


# --- the Hub unreachable --------
def test_hub_down_is_503(alice_client, tiny, hub) -> None:
    hub.fail_next(count=20, status=503)
    refused(submit(alice_client), 503, "hub_unavailable")


def test_hub_slower_than_the_timeout_is_503(alice_client, tiny, hub, settings) -> None:
    settings.HF_TIMEOUT = 0.2
    hub.delay = 0.6
    refused(submit(alice_client), 503, "hub_unavailable")
