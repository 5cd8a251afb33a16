"""Idempotency-Key: a retried POST gets the first answer, once per caller and key."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from benchmarks.models import Evaluation
from leaderboard_site.accounts import services as accounts
from leaderboard_site.api import idempotency, tasks
from leaderboard_site.api.models import IdempotencyKey
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

BODY = {"output": "{}", "metrics": ["json_valid"]}


def post(client: APIClient, path: str, body: Any, key: str | None = "k-1") -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(path, body, format="json", headers=headers)


def test_same_key_same_body_replays_the_first_answer(alice_client: APIClient) -> None:
    first = post(alice_client, "/v1/evaluations", BODY)
    second = post(alice_client, "/v1/evaluations", BODY)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Evaluation.objects.count() == 1  # the work was done once


def test_same_key_other_body_is_422(alice_client: APIClient) -> None:
    post(alice_client, "/v1/evaluations", BODY)
    other = post(alice_client, "/v1/evaluations", {**BODY, "output": "[]"})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    elsewhere = post(alice_client, "/v1/benchmarks", {"name": "x"})  # another path, same key
    assert elsewhere.status_code == 422
    assert Evaluation.objects.count() == 1


def test_keys_are_per_caller(alice: Any, bob_client: APIClient) -> None:
    post(client_for(alice), "/v1/evaluations", BODY)
    assert post(bob_client, "/v1/evaluations", BODY).status_code == 201
    key = accounts.api_key_create(owner=alice, name="ci").key
    by_key = APIClient(headers={"X-API-Key": key})
    assert "Idempotent-Replayed" not in post(by_key, "/v1/evaluations", BODY)
    assert post(by_key, "/v1/evaluations", BODY)["Idempotent-Replayed"] == "true"
    assert Evaluation.objects.count() == 3


def test_while_the_first_runs_the_second_gets_409(alice: Any, alice_client: APIClient) -> None:
    digest = "0" * 64
    IdempotencyKey.objects.create(caller=f"user:{alice.pk}", key="k-1", request_hash=digest)
    running = post(alice_client, "/v1/evaluations", BODY)
    assert running.status_code == 422  # another request's hash
    IdempotencyKey.objects.all().delete()
    client = client_for(alice)
    request = client.post("/v1/evaluations", BODY, format="json").wsgi_request
    same = idempotency.request_hash(request)
    IdempotencyKey.objects.create(caller=f"user:{alice.pk}", key="k-2", request_hash=same)
    running = post(alice_client, "/v1/evaluations", BODY, key="k-2")
    assert running.status_code == 409
    assert running.json()["error"]["code"] == "IN_PROGRESS"
    assert running["Retry-After"] == "1"


def test_a_dead_claim_is_taken_over(alice: Any, alice_client: APIClient, settings: Any) -> None:
    request = client_for(alice).post("/v1/evaluations", BODY, format="json").wsgi_request
    same = idempotency.request_hash(request)
    long_ago = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_RUNNING_SECONDS + 1)
    IdempotencyKey.objects.create(caller=f"user:{alice.pk}", key="k-1", request_hash=same,
                                  created_at=long_ago)  # fmt: skip
    response = post(alice_client, "/v1/evaluations", BODY)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert IdempotencyKey.objects.get().status_code == 201


def test_errors_below_500_are_kept_and_replayed(alice_client: APIClient) -> None:
    bad = post(alice_client, "/v1/evaluations", {"metrics": ["nope"]})
    assert bad.status_code == 400
    again = post(alice_client, "/v1/evaluations", {"metrics": ["nope"]})
    assert again.status_code == 400 and again["Idempotent-Replayed"] == "true"


def test_server_errors_release_the_key(alice_client: APIClient, monkeypatch: Any) -> None:
    from benchmarks import services

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "evaluation_create", broken)
    alice_client.raise_request_exception = False
    assert post(alice_client, "/v1/evaluations", BODY).status_code == 500
    assert not IdempotencyKey.objects.exists()
    monkeypatch.undo()
    assert post(alice_client, "/v1/evaluations", BODY).status_code == 201


def test_streamed_completions_are_not_kept(alice_client: APIClient, llm: Any) -> None:
    body = {"provider": "openai", "model": "tiny", "prompt": "Hello", "stream": True}
    response = post(alice_client, "/v1/completions", body)
    assert response.status_code == 200 and response.streaming
    b"".join(response.streaming_content)
    assert not IdempotencyKey.objects.exists()  # released: a retry asks again


def test_auth_routes_ignore_keys(alice: Any, alice_client: APIClient) -> None:
    for _ in range(2):
        response = post(alice_client, "/v1/auth/api-keys", {"name": "k", "role": "viewer"})
        assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert not IdempotencyKey.objects.exists()


def test_anonymous_callers_keys_are_ignored(anon: APIClient) -> None:
    assert post(anon, "/v1/evaluations", BODY).status_code == 401
    assert not IdempotencyKey.objects.exists()


def test_a_malformed_key_is_400(alice_client: APIClient) -> None:
    response = post(alice_client, "/v1/evaluations", BODY, key="x" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["details"]["fields"]


def test_votes_and_submissions_take_keys(alice: Any, alice_client: APIClient) -> None:
    from tests.submissions.test_status import make_request

    make_request("acme/tiny", revision="a" * 40, precision="float16")
    first = post(alice_client, "/api/votes/acme/tiny", {"vote_type": "up"})
    assert first.status_code == 201
    again = post(alice_client, "/api/votes/acme/tiny", {"vote_type": "up"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"  # not a 409
    assert idempotency.applies("POST", "/api/models/submit")
    assert not idempotency.applies("GET", "/v1/evaluations")
    assert not idempotency.applies("POST", "/v1/auth/login")


def test_keys_expire_after_a_day(alice_client: APIClient) -> None:
    post(alice_client, "/v1/evaluations", BODY)
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    fresh = post(alice_client, "/v1/evaluations", BODY)
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh
    assert Evaluation.objects.count() == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert tasks.idempotency_keys_purge() == "1 idempotency keys forgotten"
    assert not IdempotencyKey.objects.exists()


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_do_the_work_once() -> None:
    """Eight threads, each with its own connection, send one key at once: one evaluation."""
    user = make_user("racer", "user")
    barrier = threading.Barrier(8)
    answers: list[Any] = []

    def send() -> None:
        client = client_for(user)
        try:
            barrier.wait()
            answers.append(post(client, "/v1/evaluations", BODY, key="race"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Evaluation.objects.count() == 1
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    assert len({a.content for a in answers if a.status_code == 201}) == 1
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["error"]["code"] == "IN_PROGRESS"
