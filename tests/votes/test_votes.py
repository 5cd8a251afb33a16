"""Votes: one per person, exact counts, routed by method, mirrored as JSONL events."""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, Q

from leaderboard_site.api.errors import ApiError
from leaderboard_site.hub import mirror
from leaderboard_site.hub.models import MirrorChange
from submissions.models import EvalRequest
from submissions.selectors import status_invalidate
from tests.conftest import make_user
from tests.submissions.test_status import make_request
from votes import services
from votes.models import Vote

pytestmark = pytest.mark.django_db
SHA = "a" * 40


@pytest.fixture
def queued(db: Any) -> EvalRequest:
    return make_request("acme/tiny", revision=SHA)


def vote(client: Any, model: str = "acme/tiny", vote_type: str = "up", **extra: Any) -> Any:
    return client.post(f"/api/votes/{model}", {"vote_type": vote_type, **extra}, format="json")


def test_cast_change_and_withdraw(alice_client, anon, queued) -> None:
    response = vote(alice_client)
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    assert body["vote"] == {
        "model_id": "acme/tiny",
        "vote_type": "up",
        "revision": SHA,
        "precision": "bfloat16",
    }  # fmt: skip  (revision and precision default to the model's request)
    assert body["counts"]["up_votes"] == 1
    assert vote(alice_client).status_code == 409  # the same vote again
    changed = vote(alice_client, vote_type="down").json()["counts"]
    assert (changed["up_votes"], changed["down_votes"], changed["score"]) == (0, 1, -1)
    assert EvalRequest.objects.with_scores().get(pk=queued.pk).score == -1
    assert alice_client.delete("/api/votes/acme/tiny").status_code == 204
    assert alice_client.delete("/api/votes/acme/tiny").status_code == 404
    counts = anon.get("/api/votes/model/acme/tiny").json()
    assert counts == {"total_votes": 0, "up_votes": 0, "down_votes": 0, "score": 0,
                      "votes_by_revision": {}, "votes_by_config": {}}  # fmt: skip
    assert EvalRequest.objects.with_scores().get(pk=queued.pk).score == 0


def test_counts_by_revision_and_config(alice_client, bob_client, anon, queued) -> None:
    vote(alice_client)
    vote(bob_client, vote_type="down", precision="float16")
    counts = anon.get("/api/votes/model/acme/tiny").json()
    assert counts["total_votes"] == 2
    assert counts["votes_by_revision"] == {SHA: {"up": 1, "down": 1}}
    assert counts["votes_by_config"] == {
        f"{SHA}:bfloat16": {"up": 1, "down": 0},
        f"{SHA}:float16": {"up": 0, "down": 1},
    }


def test_bad_input(alice_client, anon, queued, hub) -> None:
    assert vote(alice_client, vote_type="sideways").status_code == 400
    assert vote(alice_client, revision="main").status_code == 400
    assert vote(alice_client, "acme/ghost").status_code == 404  # not ours, not on the Hub
    assert vote(anon).status_code == 401
    assert vote(alice_client, user_id="bob").status_code == 403
    assert not Vote.objects.exists()
    assert not MirrorChange.objects.filter(dataset="votes").exists()


def test_a_model_only_on_the_hub_can_be_voted_at_its_sha(alice_client, hub) -> None:
    from tests.submissions.conftest import publish

    sha = publish(hub, "acme/fresh")
    assert vote(alice_client, "acme/fresh").json()["vote"]["revision"] == sha
    hub.fail_next(count=10, status=503)
    response = vote(alice_client, "acme/other")
    assert response.status_code == 503


@pytest.mark.parametrize("org", ["user", "model"])
def test_organizations_named_like_routes_can_be_voted_on(alice_client, anon, org) -> None:
    make_request(f"{org}/thing", revision=SHA)
    assert vote(alice_client, f"{org}/thing").status_code == 201
    assert anon.get(f"/api/votes/model/{org}/thing").json()["up_votes"] == 1
    assert alice_client.delete(f"/api/votes/{org}/thing").status_code == 204


def test_a_persons_votes_are_public(alice_client, anon, queued) -> None:
    vote(alice_client)
    votes = anon.get("/api/votes/user/alice").json()
    assert [(v["model_id"], v["vote_type"], v["revision"]) for v in votes] == [
        ("acme/tiny", "up", SHA)
    ]
    assert set(votes[0]) == {"model_id", "vote_type", "revision", "precision", "timestamp"}
    assert anon.get("/api/votes/user/nobody").json() == []


def test_votes_order_the_queue(alice_client, bob_client, anon) -> None:
    make_request("acme/first", revision=SHA)
    make_request("acme/second", revision=SHA)
    vote(alice_client, "acme/second")
    vote(bob_client, "acme/second")
    vote(alice_client, "acme/first", vote_type="down")
    status_invalidate()
    pending = anon.get("/api/models/pending").json()
    assert [(p["name"], p["score"]) for p in pending] == [("acme/second", 2), ("acme/first", -1)]


def test_the_vote_limit(alice_client, queued, settings) -> None:
    settings.VOTE_LIMIT = 2
    assert vote(alice_client).status_code == 201
    assert vote(alice_client, vote_type="down").status_code == 201
    response = vote(alice_client, vote_type="up")
    assert response.status_code == 429
    assert response.json()["error"]["details"]["kind"] == "vote"


def test_voiding_a_persons_votes(alice, alice_client, bob_client, queued, settings) -> None:
    vote(alice_client)
    vote(bob_client)
    assert services.votes_void(user=alice) == 1
    assert EvalRequest.objects.with_scores().get(pk=queued.pk).score == 1
    assert Vote.objects.filter(voided=True).count() == 1  # the row stays
    assert vote(alice_client).status_code == 201  # and alice may vote again
    mirror.push("votes")
    lines = _mirrored_votes(settings)
    assert [line["vote_type"] for line in lines] == ["up", "up", "voided", "up"]


def test_the_admin_voids_voters(client, alice_client, queued) -> None:
    vote(alice_client)
    client.force_login(make_user("root", "admin"))
    response = client.post(
        "/admin/votes/vote/",
        {"action": "void_voters", "_selected_action": [Vote.objects.get().pk]},
    )
    assert response.status_code == 302
    assert Vote.objects.get().voided


def test_changes_and_withdrawals_appear_in_order_in_the_jsonl(
    alice_client, queued, settings
) -> None:
    vote(alice_client)
    vote(alice_client, vote_type="down")
    alice_client.delete("/api/votes/acme/tiny")
    mirror.push("votes")
    lines = _mirrored_votes(settings)
    assert [line["vote_type"] for line in lines] == ["up", "down", "withdrawn"]
    assert lines[0]["username"] == "alice"
    assert set(lines[0]) == {"model", "revision", "precision", "username", "timestamp",
                             "vote_type"}  # fmt: skip


def _mirrored_votes(settings) -> list[dict[str, Any]]:
    path = settings.VAR_DIR / "hub" / settings.HF_ORGANIZATION / "votes" / "votes_data.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- concurrency (real row locks) ---------------------------------------------------------
def _run_concurrently(work, count: int, workers: int = 20) -> list[Any]:
    def guarded(index: int) -> Any:
        try:
            return work(index)
        except ApiError as exc:
            return exc.status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(guarded, range(count)))


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_hundred_identical_votes_store_one() -> None:
    user = make_user("eager", "user")
    make_request("acme/tiny", revision=SHA)
    target = services.Target("acme/tiny", SHA, "bfloat16")
    outcomes = _run_concurrently(
        lambda i: services.vote_cast(user=user, target=target, vote_type="up") and "ok", 100
    )
    assert outcomes.count("ok") == 1
    assert outcomes.count(409) == 99
    assert Vote.objects.count() == 1
    assert MirrorChange.objects.filter(dataset="votes").count() == 1
    assert EvalRequest.objects.with_scores().get().score == 1


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_counts_equal_a_fresh_aggregation_after_a_thousand_random_operations(settings) -> None:
    settings.VOTE_LIMIT = 10_000
    users = [make_user(f"voter{i}", "user") for i in range(20)]
    models = [f"acme/m{i}" for i in range(5)]
    for name in models:
        make_request(name, revision=SHA)
    rng = random.Random(7)
    plan = [(rng.choice(users), rng.choice(models), rng.choice(["up", "down", "withdraw"]))
            for _ in range(1000)]  # fmt: skip

    def operate(index: int) -> str:
        user, model, action = plan[index]
        target = services.Target(model, SHA, "bfloat16")
        if action == "withdraw":
            services.vote_withdraw(user=user, target=target)
        else:
            services.vote_cast(user=user, target=target, vote_type=action)
        return "ok"

    outcomes = _run_concurrently(operate, len(plan))
    assert set(outcomes) <= {"ok", 404, 409}
    assert outcomes.count("ok") > 300
    fresh = (
        Vote.objects.filter(voided=False)
        .values("model_name")
        .annotate(
            up=Count("pk", filter=Q(vote_type="up")), down=Count("pk", filter=Q(vote_type="down"))
        )
    )
    expected = {row["model_name"]: (row["up"], row["down"]) for row in fresh}
    from votes.selectors import model_counts

    for name in models:
        counts = model_counts(name)
        assert (counts["up_votes"], counts["down_votes"]) == expected.get(name, (0, 0))
        up, down = expected.get(name, (0, 0))
        assert EvalRequest.objects.with_scores().get(model_name=name).score == up - down
    # Every accepted operation is one line in the mirror's outbox, in commit order.
    assert MirrorChange.objects.filter(dataset="votes").count() == outcomes.count("ok")


def test_scores_reach_the_status_lists_within_a_second_not_per_vote(
    alice_client, anon, monkeypatch
) -> None:
    from submissions import selectors

    make_request("acme/first", revision=SHA)
    make_request("acme/second", revision=SHA)
    names = lambda: [p["name"] for p in anon.get("/api/models/pending").json()]  # noqa: E731
    assert names() == ["acme/first", "acme/second"]
    vote(alice_client, "acme/second")
    selectors.scores_changed()  # what the vote's commit does
    assert names() == ["acme/first", "acme/second"]  # the lists were built < 1 s ago
    monkeypatch.setattr(selectors, "SCORES_LAG", 0.0)
    assert names() == ["acme/second", "acme/first"]


def test_score_announcements_are_throttled_and_the_last_one_is_never_lost() -> None:
    from submissions.selectors import _Throttled

    calls: list[float] = []
    announce = _Throttled(lambda: calls.append(time.monotonic()), every=0.2)
    started = time.monotonic()
    for _ in range(50):  # a burst of votes
        announce()
    assert len(calls) == 1  # the first at once
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(calls) == 2  # the rest as one, when the window ended
    assert calls[1] - started >= 0.2
    time.sleep(0.3)
    assert len(calls) == 2  # and nothing more


@pytest.mark.needs_postgres
def test_counts_are_read_from_the_counting_votes_index_alone(queued) -> None:
    from votes.selectors import COUNTS

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # few rows here: make the index win
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")  # as once prepared
        cursor.execute("EXPLAIN " + COUNTS.format(table="votes_vote"), ["acme/tiny"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using vote_counting" in plan
