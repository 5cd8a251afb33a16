"""POST /api/models/submit: a model's type and precision in every spelling clients send, and a
submission the way the upstream frontend makes it (with the change it needs: a Hub token)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from submissions.models import EvalRequest
from tests.submissions.conftest import submission, submit

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        # our slugs
        ("pretrained", "pretrained"),
        ("continuously-pretrained", "continuously-pretrained"),
        ("other", "other"),
        # upstream's full labels, with and without their emoji
        ("🟢 pretrained", "pretrained"),
        ("🟩 continuously pretrained", "continuously-pretrained"),
        ("🔶 fine-tuned on domain-specific datasets", "fine-tuned"),
        ("💬 chat models (RLHF, DPO, IFT, ...)", "chat"),
        ("🤝 base merges and moerges", "merge"),
        ("🌸 multimodal", "multimodal"),
        ("❓ other", "other"),
        ("fine-tuned on domain-specific datasets", "fine-tuned"),
        ("chat models (RLHF, DPO, IFT, ...)", "chat"),
        ("base merges and moerges", "merge"),
        # the bare words the upstream frontend's form sends, with spaces
        ("continuously pretrained", "continuously-pretrained"),
        ("fine-tuned", "fine-tuned"),
        ("chat", "chat"),
        ("merge", "merge"),
        ("multimodal", "multimodal"),
        ("unknown", "other"),
        # case and spaces do not matter
        ("  Continuously   Pretrained ", "continuously-pretrained"),
        ("CHAT", "chat"),
    ],
)
def test_model_type_spellings(alice_client, tiny, sent: str, stored: str) -> None:
    response = submit(alice_client, model_type=sent)
    assert response.status_code == 201, response.content
    assert EvalRequest.objects.get().model_type == stored


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("fp16", "float16"), ("bf16", "bfloat16"), ("int8", "8bit"), ("int4", "4bit"),
     ("float16", "float16"), ("GPTQ", "gptq")],
)  # fmt: skip
def test_precision_spellings(alice_client, tiny, sent: str, stored: str) -> None:
    response = submit(alice_client, precision=sent)
    assert response.status_code == 201, response.content
    assert EvalRequest.objects.get().precision == stored


@pytest.mark.parametrize(
    ("field", "value", "listed"),
    [
        ("model_type", "wizard", ["pretrained", "continuously-pretrained", "🟢 pretrained"]),
        ("model_type", "🟢", ["multimodal", "❓ other"]),
        ("model_type", 3, ["chat"]),
        ("precision", "fp32", ["float16", "bfloat16", "8bit", "4bit", "gptq", "fp16", "int4"]),
    ],
)
def test_anything_else_is_a_400_listing_what_is_accepted(
    alice_client, tiny, field: str, value: object, listed: list[str]
) -> None:
    response = submit(alice_client, **{field: value})
    assert response.status_code == 400
    body = response.json()
    message = body["error"]["details"]["fields"][field][0]
    assert all(item in message for item in listed), message
    assert message in body["detail"]  # the reason the upstream frontend shows the person
    assert not EvalRequest.objects.exists()


def test_the_upstream_frontends_submission_with_a_hub_token(hub, tiny) -> None:
    """Its form's JSON, sent with the one change it needs: the browser's hf_ token as a
    Bearer credential (it sends none, and a user_id alone is never trusted)."""
    hub.add_token("hf_grace_browser_token", "grace")
    body = submission(model_type="continuously pretrained", precision="float16",
                      base_model="", user_id="grace", revision="main")  # fmt: skip
    unauthenticated = APIClient().post("/api/models/submit", body, format="json")
    assert unauthenticated.status_code == 401
    browser = APIClient()
    browser.credentials(HTTP_AUTHORIZATION="Bearer hf_grace_browser_token")
    response = browser.post("/api/models/submit", body, format="json")
    assert response.status_code == 201, response.content
    request = EvalRequest.objects.get()
    assert (request.sender, request.model_type, request.precision) == (
        "grace", "continuously-pretrained", "float16"
    )  # fmt: skip
    assert response.json()["request"]["score"] == 1  # the submitter's own up vote
