"""The status endpoints: grouping, queue order, routing of ids with a slash, caching."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from submissions import services
from submissions.models import EvalRequest, Status
from submissions.selectors import status_invalidate
from tests.conftest import make_user
from votes.models import Vote

pytestmark = pytest.mark.django_db


def make_request(name: str, status: str = Status.PENDING, **fields: Any) -> EvalRequest:
    defaults: dict[str, Any] = {
        "revision": "a" * 40,
        "precision": "bfloat16",
        "weight_type": "Original",
        "model_type": "chat",
        "sender": "alice",
        "status": status,
    }
    defaults.update(fields)
    defaults.setdefault("mirror_path", f"{name}_{EvalRequest.objects.count()}.json")
    return EvalRequest.objects.create(model_name=name, **defaults)


def test_status_groups_every_request(anon) -> None:
    make_request("acme/one")
    make_request("acme/two", Status.EVALUATING, started_at=timezone.now())
    make_request("acme/three", Status.FINISHED, started_at=timezone.now())
    make_request("acme/four", Status.FAILED, reason="out of memory")
    make_request("acme/five", Status.CANCELLED)
    body = anon.get("/api/models/status").json()
    assert set(body) == {"pending", "evaluating", "finished", "failed"}
    assert [item["name"] for item in body["pending"]] == ["acme/one"]
    assert [item["name"] for item in body["evaluating"]] == ["acme/two"]
    assert [item["name"] for item in body["finished"]] == ["acme/three"]
    assert body["failed"][0]["reason"] == "out of memory"
    item = body["pending"][0]
    assert set(item) >= {
        "name", "submitter", "revision", "precision", "status", "submission_time", "wait_time"
    }  # fmt: skip
    assert item["wait_time"].endswith("s")


def test_pending_is_ordered_by_score_then_time(anon) -> None:
    now = timezone.now()
    make_request("acme/old", submitted_at=now)
    popular = make_request("acme/popular")
    make_request("acme/new")
    for index, vote_type in enumerate(["up", "up", "up", "down", "up"]):
        Vote.objects.create(user=make_user(f"voter{index}", "user"), model_name=popular.model_name,
                            revision=popular.revision, precision=popular.precision,
                            vote_type=vote_type, voided=index == 4)  # fmt: skip
    EvalRequest.objects.filter(model_name="acme/old").update(submitted_at=now - dt.timedelta(1))
    status_invalidate()
    names = [item["name"] for item in anon.get("/api/models/pending").json()]
    assert names == ["acme/popular", "acme/old", "acme/new"]
    assert list(EvalRequest.objects.queue().values_list("model_name", flat=True)) == names
    assert [item["score"] for item in anon.get("/api/models/pending").json()] == [2, 0, 0]


def test_a_status_change_is_visible_at_once(anon) -> None:
    request = make_request("acme/one")
    assert anon.get("/api/models/status").json()["pending"]
    services.request_claim(job_id="job")  # invalidates on commit
    status_invalidate()  # on_commit does not fire inside a test's transaction
    body = anon.get("/api/models/status").json()
    assert not body["pending"]
    assert body["evaluating"][0]["name"] == "acme/one"
    request.refresh_from_db()
    assert request.status == Status.EVALUATING


def test_model_status_routes_an_id_with_a_slash(anon) -> None:
    make_request("acme/model.v2-1.5B", Status.FAILED)
    make_request("acme/model.v2-1.5B", precision="float16")
    response = anon.get("/api/models/acme/model.v2-1.5B/status")
    assert response.status_code == 200
    assert [item["precision"] for item in response.json()] == ["float16", "bfloat16"]
    assert anon.get("/api/models/acme/unknown/status").json() == []


def test_an_organization_named_like_a_route_still_routes(anon) -> None:
    make_request("organization/status")
    response = anon.get("/api/models/organization/status/status")
    assert [item["name"] for item in response.json()] == ["organization/status"]


def test_organization_submissions(anon) -> None:
    make_request("acme/recent")
    old = make_request("acme/old")
    EvalRequest.objects.filter(pk=old.pk).update(
        submitted_at=timezone.now() - dt.timedelta(days=10)
    )
    make_request("other/recent")
    names = lambda days: [  # noqa: E731
        i["name"] for i in anon.get(f"/api/models/organization/acme/submissions?days={days}").json()
    ]
    assert names(7) == ["acme/recent"]
    assert names(30) == ["acme/recent", "acme/old"]
    for bad in ("0", "31", "x"):
        response = anon.get(f"/api/models/organization/acme/submissions?days={bad}")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "BAD_REQUEST"


def test_transitions_are_conditional(db) -> None:
    request = make_request("acme/one")
    assert services.request_claim(job_id="first") is not None
    assert services.request_claim(job_id="second") is None  # nothing left to claim
    assert not services.request_transition(
        request, to=Status.FINISHED, allowed_from=[Status.EVALUATING], held_by="second"
    )
    assert services.request_transition(
        request, to=Status.FINISHED, allowed_from=[Status.EVALUATING], held_by="first"
    )
    assert not services.request_transition(
        request, to=Status.FINISHED, allowed_from=[Status.EVALUATING], held_by="first"
    )  # a result is written once


def test_expired_leases_go_back_to_the_queue_then_fail(db, settings) -> None:
    settings.EVAL_MAX_ATTEMPTS = 2
    request = make_request("acme/one")
    past = timezone.now() - dt.timedelta(seconds=1)
    for expected in ((1, 0), (0, 1)):
        claimed = services.request_claim(job_id="dead-worker")
        assert claimed is not None
        EvalRequest.objects.filter(pk=request.pk).update(lease_expires_at=past)
        assert services.requests_reclaim_expired() == expected
    request.refresh_from_db()
    assert request.status == Status.FAILED
    assert "interrupted 2 times" in request.reason


def test_requeue_refuses_a_second_active_request_with_the_same_identity(db) -> None:
    from leaderboard_site.api.errors import Conflict

    failed = make_request("acme/one", Status.FAILED)
    make_request("acme/one")
    with pytest.raises(Conflict):
        services.request_requeue(failed)
    failed.refresh_from_db()
    assert failed.status == Status.FAILED


def test_the_admin_lists_and_acts(client, db) -> None:
    admin = make_user("root", "admin")
    client.force_login(admin)
    request = make_request("acme/one", Status.FAILED)
    page = client.get("/admin/submissions/evalrequest/?status__exact=FAILED&org=acme")
    assert page.status_code == 200
    assert b"acme/one" in page.content
    response = client.post(
        "/admin/submissions/evalrequest/",
        {"action": "request_requeue", "_selected_action": [request.pk]},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == Status.PENDING
    assert client.get(f"/admin/submissions/evalrequest/{request.pk}/change/").status_code == 200


def test_the_lists_are_served_gzipped_to_clients_that_take_it(anon) -> None:
    import gzip

    for index in range(30):
        make_request(f"acme/m{index}")
    plain = anon.get("/api/models/status")
    zipped = anon.get("/api/models/status", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    assert gzip.decompress(zipped.content) == plain.content
    assert len(plain.json()["pending"]) == 30


@pytest.mark.django_db(transaction=True)
def test_a_running_job_renews_its_lease_and_notices_when_it_lost_it(settings) -> None:
    import time

    from submissions.tasks import lease

    settings.EVAL_LEASE_SECONDS = 0.3  # renewed every 0.1 s
    request = make_request("acme/one")
    claimed = services.request_claim(job_id="job-a")
    first_deadline = claimed.lease_expires_at
    with lease(claimed, "job-a") as lost:
        time.sleep(0.35)
        renewed = EvalRequest.objects.get(pk=request.pk).lease_expires_at
        assert renewed > first_deadline
        EvalRequest.objects.filter(pk=request.pk).update(job_id="job-b")  # taken over
        time.sleep(0.25)
        assert lost.is_set()
