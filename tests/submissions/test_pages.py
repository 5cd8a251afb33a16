"""/queue and /submit rendered by the server: contents, permissions, a refusal next to its field,
the quota."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from submissions import services
from submissions.models import EvalRequest, Status
from tests.submissions.conftest import publish

pytestmark = pytest.mark.django_db
FORM = {
    "model_id": "acme/tiny",
    "revision": "main",
    "precision": "bfloat16",
    "weight_type": "Original",
    "base_model": "",
    "model_type": "fine-tuned",
}


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_submit_needs_a_session(client: Client) -> None:
    response = client.get("/submit")
    assert response.status_code == 302
    assert "/signin" in response["Location"]


def test_the_form_shows_upstream_fields_and_the_quota(alice: Any, settings: Any) -> None:
    settings.SUBMISSION_QUOTA = 3
    html = signed_in(alice).get("/submit").content.decode()
    for label in ("Model", "Revision", "Precision", "Weight type", "Base model", "Model type",
                  "Use chat template"):  # fmt: skip
        assert f">{label}</label>" in html or f"> {label}</label>" in html, label
    assert "<strong>3</strong> of 3 submissions left" in html


def test_a_good_model_is_queued_and_shown_on_the_queue(alice: Any, hub: Any) -> None:
    publish(hub, "acme/tiny")
    client = signed_in(alice)
    response = client.post("/submit", FORM, follow=True)
    assert response.redirect_chain[-1][0] == "/queue"
    html = response.content.decode()
    assert "acme/tiny (bfloat16, revision" in html  # the message
    assert 'data-model="acme/tiny"' in html
    assert 'aria-label="Vote up acme/tiny"' in html
    assert 'aria-pressed="true" aria-label="Vote up acme/tiny"' in html  # the submitter's vote
    assert EvalRequest.objects.get().submitter == alice
    assert "<strong>4</strong> of 5" in client.get("/submit").content.decode()


def test_a_failed_check_is_shown_next_to_its_field(alice: Any, hub: Any) -> None:
    publish(hub, "acme/tiny", tokenizer_config={})
    response = signed_in(alice).post("/submit", {**FORM, "use_chat_template": "on"})
    assert response.status_code == 400
    html = response.content.decode()
    field = html[html.index('id="field-use_chat_template"') :]
    field = field[: field.index("</div>")]
    assert "has no chat template" in field
    assert 'aria-invalid="true"' in field
    assert not EvalRequest.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"model_id": "acme/nowhere"}, "model_id", "was not found on the Hugging Face Hub"),
        ({"weight_type": "Delta"}, "base_model", "need the base model they apply to"),
        ({"model_id": "not a name"}, "model_id", "namespace/name"),
    ],
)
def test_refusals_name_their_field(
    alice: Any, hub: Any, overrides: dict[str, str], field: str, words: str
) -> None:
    publish(hub, "acme/tiny")
    html = signed_in(alice).post("/submit", {**FORM, **overrides}).content.decode()
    block = html[html.index(f'id="field-{field}"') :]
    assert words in block[: block.index("</div>")]


def test_a_used_quota_is_said_and_refused(alice: Any, hub: Any, settings: Any) -> None:
    settings.SUBMISSION_QUOTA = 1
    publish(hub, "acme/tiny")
    publish(hub, "acme/other")
    client = signed_in(alice)
    client.post("/submit", FORM)
    response = client.post("/submit", {**FORM, "model_id": "acme/other"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "You have used your 1 submissions" in html
    assert "<strong>0</strong> of 1 submission left" in html
    assert "the next one is possible from" in html


def test_the_queue_lists_each_status_with_reasons(client: Client, alice: Any, hub: Any) -> None:
    for name in ("acme/a", "acme/b", "acme/c"):
        publish(hub, name)
        signed_in(alice).post("/submit", {**FORM, "model_id": name})
    first, second, _ = EvalRequest.objects.order_by("pk")
    services.request_claim(job_id="job", request_id=first.pk)
    services.request_fail(first, job_id="job", reason="lm-eval ran out of memory")
    services.request_claim(job_id="job-2", request_id=second.pk)
    html = client.get("/queue").content.decode()
    assert "lm-eval ran out of memory" in html
    running = html[html.index('id="running-table"') :]
    assert "acme/b" in running[: running.index("</table>")]
    pending = html[html.index('id="pending-table"') :]
    assert "acme/c" in pending[: pending.index("</table>")]
    assert "Sign in</a> to vote" in html and "Vote up" not in html
    part = client.get("/queue?part=lists").content.decode()
    assert "<html" not in part and 'id="pending-table"' in part
    assert EvalRequest.objects.filter(status=Status.FAILED).count() == 1


@pytest.mark.parametrize(
    ("api", "shown"),
    [("4.2s", "4 s"), ("125.0s", "2 min"), ("5400.0s", "1 h 30 min"), ("90000.0s", "1 d 1 h")],
)
def test_wait_times_read_as_durations(api: str, shown: str) -> None:
    from submissions.templatetags.queue import waited

    assert waited(api) == shown
