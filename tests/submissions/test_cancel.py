"""POST /api/models/requests/{id}/cancel: a submitter withdraws their pending request."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from leaderboard_site.hub.models import MirrorChange
from submissions import services
from submissions.models import EvalRequest, Status
from submissions.signals import request_status_changed
from tests.conftest import client_for, make_user
from tests.submissions.conftest import submit

pytestmark = pytest.mark.django_db


def cancel(client: Any, request_id: int) -> Any:
    return client.post(f"/api/models/requests/{request_id}/cancel")


def test_the_submitter_cancels_a_pending_request(
    alice_client, tiny, django_capture_on_commit_callbacks
) -> None:
    request_id = submit(alice_client).json()["request"]["id"]
    seen: list[tuple[str | None, str]] = []

    def on_change(sender: Any, request: EvalRequest, previous: str | None, status: str,
                  **kwargs: Any) -> None:  # fmt: skip
        seen.append((previous, status))

    request_status_changed.connect(on_change)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = cancel(alice_client, request_id)
    finally:
        request_status_changed.disconnect(on_change)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"]) == (request_id, "CANCELLED")
    assert body["reason"] == "cancelled by the submitter"
    assert seen == [("PENDING", "CANCELLED")]  # announced (the /ws event, the status lists)
    change = MirrorChange.objects.filter(dataset="requests").order_by("id").last()
    assert change is not None
    assert b'"status": "CANCELLED"' in bytes(change.content)  # mirrored
    assert EvalRequest.objects.get().finished_at is not None
    assert not EvalRequest.objects.queue().exists()  # out of the queue


def test_a_cancelled_request_may_be_submitted_again(alice_client, tiny) -> None:
    first = submit(alice_client).json()["request"]["id"]
    assert cancel(alice_client, first).status_code == 200
    again = submit(alice_client)
    assert again.status_code == 201 and again.json()["request"]["id"] != first


def test_once_it_runs_it_is_409(alice_client, tiny) -> None:
    request_id = submit(alice_client).json()["request"]["id"]
    assert services.request_claim(job_id="job-1") is not None
    refused = cancel(alice_client, request_id)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "CONFLICT"
    assert refused.json()["error"]["details"] == {"id": request_id, "status": "EVALUATING"}
    EvalRequest.objects.filter(pk=request_id).update(status=Status.FINISHED,
                                                     finished_at=timezone.now())  # fmt: skip
    assert cancel(alice_client, request_id).status_code == 409
    assert cancel(alice_client, request_id).json()["error"]["details"]["status"] == "FINISHED"


def test_twice_is_409(alice_client, tiny) -> None:
    request_id = submit(alice_client).json()["request"]["id"]
    assert cancel(alice_client, request_id).status_code == 200
    assert cancel(alice_client, request_id).status_code == 409


def test_somebody_elses_request_is_403_and_an_admin_may(
    alice_client, bob_client, admin_user, tiny
) -> None:
    request_id = submit(alice_client).json()["request"]["id"]
    refused = cancel(bob_client, request_id)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    assert EvalRequest.objects.get().status == Status.PENDING
    by_admin = cancel(client_for(admin_user), request_id)
    assert by_admin.status_code == 200
    assert by_admin.json()["reason"] == "cancelled by a maintainer"


def test_unknown_request_is_404_and_roles_are_checked(alice_client, anon) -> None:
    assert cancel(alice_client, 999_999).status_code == 404
    assert cancel(anon, 1).status_code == 401
    assert cancel(client_for(make_user("vic", "viewer")), 1).status_code == 403
    assert alice_client.post("/api/models/requests/abc/cancel").status_code == 404
    assert alice_client.get("/api/models/requests/1/cancel").status_code == 405
