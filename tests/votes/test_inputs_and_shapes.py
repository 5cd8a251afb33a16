"""Vote inputs from the query string or the body; the upstream shapes of the vote reads; model
ids that are not Hub repo ids."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from tests.submissions.test_status import make_request
from votes.models import Vote

pytestmark = pytest.mark.django_db
SHA = "a" * 40
URL = "/api/votes/acme/tiny"


@pytest.fixture
def queued(db: Any) -> Any:
    return make_request("acme/tiny", revision=SHA)


def post_query(client: Any, query: str, body: Any = None) -> Any:
    """A POST the way the upstream frontend sends it: inputs in the query string, a JSON content
    type, and (unless given) no body at all."""
    data = b"" if body is None else body
    return client.post(f"{URL}?{query}", data, format=None if body is None else "json",
                       content_type="application/json" if body is None else None)  # fmt: skip


def fields(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.content
    return response.json()["error"]["details"]["fields"]


# --- the query string and the body ------------------------------------------------------------
def test_a_vote_in_the_query_string_with_an_empty_json_body(alice_client, queued) -> None:
    response = post_query(alice_client, "vote_type=up&user_id=alice")
    assert response.status_code == 201, response.content
    assert response.json()["vote"]["vote_type"] == "up"
    changed = post_query(alice_client, f"vote_type=down&revision={SHA}&precision=bfloat16")
    assert changed.status_code == 201
    assert Vote.objects.get().vote_type == "down"


def test_the_same_value_in_both_places_is_fine(alice_client, queued) -> None:
    response = post_query(alice_client, "vote_type=up", {"vote_type": "up", "user_id": "alice"})
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("query", "body", "field"),
    [
        ("vote_type=up", {"vote_type": "down"}, "vote_type"),
        ("user_id=bob", {"vote_type": "up", "user_id": "alice"}, "user_id"),
        (f"revision={SHA}", {"vote_type": "up", "revision": "b" * 40}, "revision"),
        ("precision=float16", {"vote_type": "up", "precision": "bfloat16"}, "precision"),
        ("vote_type=up&vote_type=down", None, "vote_type"),
    ],
)
def test_different_values_are_a_400_naming_the_field(
    alice_client, queued, query: str, body: Any, field: str
) -> None:
    response = post_query(alice_client, query, body)
    assert list(fields(response)) == [field]
    assert field in response.json()["detail"]
    assert not Vote.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(alice_client, queued) -> None:
    response = post_query(alice_client, "vote_type=up", ["up"])
    assert "non_field_errors" in fields(response)


def test_withdraw_with_inputs_in_the_query_string_or_the_body(alice_client, queued) -> None:
    post_query(alice_client, "vote_type=up&precision=float16")
    assert alice_client.delete(f"{URL}?precision=bfloat16").status_code == 404  # not that one
    assert alice_client.delete(f"{URL}?precision=fp16").status_code == 204
    post_query(alice_client, "vote_type=up&precision=float16")
    response = alice_client.delete(URL, {"precision": "float16"}, format="json")
    assert response.status_code == 204
    response = alice_client.delete(f"{URL}?precision=float16", {"precision": "bfloat16"},
                                   format="json")  # fmt: skip
    assert list(fields(response)) == ["precision"]


@pytest.mark.parametrize(("sent", "stored"), [("fp16", "float16"), ("BF16", "bfloat16"),
                                              ("int8", "8bit"), ("int4", "4bit")])  # fmt: skip
def test_precision_aliases(alice_client, queued, sent: str, stored: str) -> None:
    assert post_query(alice_client, f"vote_type=up&precision={sent}").status_code == 201
    assert Vote.objects.get().precision == stored


def test_an_unknown_precision_lists_what_is_accepted(alice_client, queued) -> None:
    response = post_query(alice_client, "vote_type=up&precision=fp32")
    message = fields(response)["precision"][0]
    assert "float16" in message and "fp16" in message and "gptq" in message


# --- the two reads, in both shapes ------------------------------------------------------------
def test_the_documented_reads(alice_client, bob_client, anon, queued) -> None:
    post_query(alice_client, "vote_type=up")
    post_query(bob_client, "vote_type=down")
    counts = anon.get("/api/votes/model/acme/tiny").json()
    assert counts["votes_by_revision"] == {SHA: {"up": 1, "down": 1}}
    assert anon.get(URL).json() == counts
    votes = anon.get("/api/votes/user/alice").json()
    assert set(votes[0]) == {"model_id", "vote_type", "revision", "precision", "timestamp"}


def test_the_upstream_reads(alice_client, bob_client, anon, queued, settings) -> None:
    settings.LEADERBOARD_API = "upstream"
    post_query(alice_client, "vote_type=up")
    post_query(bob_client, "vote_type=down")
    post_query(alice_client, "vote_type=up&revision=" + "b" * 40)
    counts = anon.get("/api/votes/model/acme/tiny").json()
    # {sha: number of votes}, which the upstream frontend sums into the model's votes
    assert counts["votes_by_revision"] == {SHA: 2, "b" * 40: 1}
    assert counts["total_votes"] == 3
    assert anon.get(URL).json() == counts
    votes = anon.get("/api/votes/user/alice").json()
    assert {v["model"] for v in votes} == {"acme/tiny"}
    assert set(votes[0]) == {"model", "vote_type", "revision", "precision", "timestamp",
                             "username"}  # fmt: skip
    # nothing else changes shape: the vote's own answer keeps the documented counts
    answer = post_query(bob_client, "vote_type=up").json()
    assert answer["vote"]["model_id"] == "acme/tiny"
    assert answer["counts"]["votes_by_revision"][SHA] == {"up": 2, "down": 0}


# --- model ids that are not Hub repo ids ------------------------------------------------------
BAD_NAMES = [
    ("acme", "has space"),
    ("acme", "modèle"),
    ("acme", "🤗"),
    ("acme", ".."),
    ("-acme", "model"),
    ("acme", "-model"),
    ("acme", '"quoted"'),
    ("acme", "it's"),
    ("acme", "a\r\nSet-Cookie: x=1"),
    ("acme", "x" * 200),
    ("acme", "a--b"),
    ("acme", "model.git"),
]


def _url(template: str, org: str, name: str) -> str:
    return template.format(org=quote(org, safe=""), name=quote(name, safe=""))


@pytest.mark.parametrize(("org", "name"), BAD_NAMES)
@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("post", "/api/votes/{org}/{name}?vote_type=up"),
        ("delete", "/api/votes/{org}/{name}"),
        ("get", "/api/votes/{org}/{name}"),
        ("get", "/api/votes/model/{org}/{name}"),
        ("get", "/api/models/{org}/{name}/status"),
    ],
)
def test_a_name_that_is_not_a_hub_repo_id_is_a_400_with_the_reason(
    alice_client, method: str, template: str, org: str, name: str
) -> None:
    response = getattr(alice_client, method)(_url(template, org, name))
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["details"]["reason"] == "invalid_model_id"
    assert body["error"]["details"]["problem"] in body["detail"]
    assert not Vote.objects.exists()  # refused before the Hub (unreachable here: a 503) is asked


# --- the upstream frontend, with the one change it needs --------------------------------------
def test_the_upstream_frontends_vote_with_a_hub_token(hub, anon, queued, settings) -> None:
    """Its request as it makes it (inputs in the query string, a JSON content type, no body),
    plus the browser's hf_ token as a Bearer credential: a user_id alone is never trusted."""
    settings.LEADERBOARD_API = "upstream"
    hub.add_token("hf_grace_browser_token", "grace")
    assert post_query(anon, "vote_type=up&user_id=grace").status_code == 401
    browser = APIClient()
    browser.credentials(HTTP_AUTHORIZATION="Bearer hf_grace_browser_token")
    assert post_query(browser, "vote_type=up&user_id=grace").status_code == 201
    assert post_query(browser, "vote_type=up&user_id=alice").status_code == 403  # not grace
    votes = anon.get("/api/votes/user/grace").json()
    assert [v["model"] for v in votes] == ["acme/tiny"]  # shown as cast
    assert sum(anon.get("/api/votes/model/acme/tiny").json()["votes_by_revision"].values()) == 1


def test_a_linked_accounts_votes_are_listed_under_its_hub_name(alice, alice_client, anon, queued):
    alice.hub_username = "alice-on-the-hub"
    alice.save()
    post_query(alice_client, "vote_type=up")
    assert [v["model_id"] for v in anon.get("/api/votes/user/alice-on-the-hub").json()] == [
        "acme/tiny"
    ]


def test_the_check_and_the_published_path_patterns_agree() -> None:
    """The OpenAPI schema states the same rule as check_repo_id (so schema-driven clients meet
    no 400 for a name the schema allows, and vice versa)."""
    import re

    from leaderboard_site.api.schema import HUB_NAME, HUB_NAMESPACE
    from leaderboard_site.hub.client import InvalidRepoId, check_repo_id

    parts = ["acme", "a", "_x_", "Qwen2.5-7B", "x.git", "a--b", "a..b", ".a", "a-", "a b", "é",
             "x" * 96, "x" * 97, "a.b_c-d", "model.gitx", "-"]  # fmt: skip
    for namespace in parts:
        for name in parts:
            published = bool(re.match(HUB_NAMESPACE, namespace) and re.match(HUB_NAME, name))
            try:
                check_repo_id(f"{namespace}/{name}")
                checked = True
            except InvalidRepoId:
                checked = False
            assert checked == published, (namespace, name)
