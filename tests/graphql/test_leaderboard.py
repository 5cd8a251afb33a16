"""/graphql's leaderboard, model and compare: REST's rows, filters and search; bounded queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from submissions.models import EvalRequest
from tests.conftest import make_user
from tests.graphql.test_graphql import codes, gql
from tests.leaderboard.factories import EntryFactory
from votes.models import Vote

pytestmark = pytest.mark.django_db

PAGE = """query($search: String, $filters: LeaderboardFilters, $orderBy: String, $page: Int!,
                 $pageSize: Int!) {
  leaderboard(search: $search, filters: $filters, orderBy: $orderBy, page: $page,
              pageSize: $pageSize) {
    items { id model { name precision averageScore } }
    pageInfo { total page pageSize totalPages }
  }
}"""


def _page(client: APIClient, **variables: Any) -> dict[str, Any]:
    body = gql(client, PAGE, {"page": 1, "pageSize": 20, **variables}).json()
    assert "errors" not in body, body
    return body["data"]["leaderboard"]


@pytest.mark.parametrize(
    ("params", "variables"),
    [({}, {}),
     ({"search": "alpha;beta"}, {"search": "alpha;beta"}),
     ({"search": "^al.*a$"}, {"search": "^al.*a$"}),
     ({"precision": "float16", "params_max": "8"},
      {"filters": {"precision": ["float16"], "paramsMax": 8}}),
     ({"hide_merged": "true", "ordering": "name"},
      {"filters": {"hideMerged": True}, "orderBy": "name"}),
     ({"type": ["chat", "merge"], "ordering": "-hearts", "page": "2", "page_size": "2"},
      {"filters": {"type": ["chat", "merge"]}, "orderBy": "-hearts", "page": 2, "pageSize": 2})],
)  # fmt: skip
def test_the_same_rows_as_rest(anon: APIClient, params: dict, variables: dict) -> None:
    EntryFactory(model_name="a/alpha", precision="float16", params_billions=7, hub_hearts=1)
    EntryFactory(model_name="a/beta", model_type="chat", merged=True, hub_hearts=9, average=30)
    EntryFactory(model_name="b/gamma", model_type="merge", precision="float16", params_billions=70)
    EntryFactory(model_name="b/alphabeta", model_type="chat", average=None)
    rest = anon.get("/api/v1/models/", params).json()
    page = _page(anon, **variables)
    assert [item["id"] for item in page["items"]] == [item["id"] for item in rest["items"]]
    assert page["pageInfo"] == {"total": rest["total"], "page": rest["page"],
                                "pageSize": rest["page_size"],
                                "totalPages": rest["total_pages"]}  # fmt: skip
    if page["items"]:
        first, row = page["items"][0]["model"], rest["items"][0]["model"]
        assert first == {"name": row["name"], "precision": row["precision"],
                         "averageScore": row["average_score"]}  # fmt: skip


def test_bad_arguments_are_rests_400s(anon: APIClient) -> None:
    bad = [{"orderBy": "nope"}, {"filters": {"precision": ["int3"]}}, {"pageSize": 101},
           {"page": 0}]  # fmt: skip
    for variables in bad:
        body = gql(anon, PAGE, {"page": 1, "pageSize": 20, **variables}).json()
        assert body["data"] is None or body["data"]["leaderboard"] is None
        assert codes(body) == ["BAD_REQUEST"], (variables, body)


NESTED = """{ leaderboard(pageSize: 100) { items {
  id model { name } evaluations { ifeval { value normalizedScore } }
  requests { id status score } votes { upVotes downVotes score } } } }"""


def test_a_page_of_100_with_requests_and_votes_in_bounded_queries(
    anon: APIClient, django_assert_max_num_queries: Any
) -> None:
    voter = make_user("vic", "user")
    for n in range(100):
        entry = EntryFactory(model_name=f"org/m{n}", average=100 - n)
        EvalRequest.objects.create(model_name=entry.model_name, revision=entry.revision_sha,
                                   precision="bfloat16", weight_type="Original",
                                   model_type="chat", mirror_path=f"m{n}.json")  # fmt: skip
        Vote.objects.create(user=voter, model_name=entry.model_name, revision=entry.revision_sha,
                            precision="bfloat16", vote_type="up")  # fmt: skip
    gql(anon, "{ version }")  # the caller's rate bucket and the like, out of the count
    with CaptureQueriesContext(connection) as few:
        small = gql(anon, NESTED.replace("100", "2")).json()
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = gql(anon, NESTED).json()
    assert "errors" not in small and "errors" not in body, body
    items = body["data"]["leaderboard"]["items"]
    assert len(items) == 100 and len(few.captured_queries) <= 6
    assert items[0]["model"]["name"] == "org/m0"
    assert items[0]["requests"][0]["score"] == 1
    assert items[0]["votes"] == {"upVotes": 1, "downVotes": 0, "score": 1}


def test_model_and_compare(anon: APIClient) -> None:
    EntryFactory(model_name="a/one", precision="float16")
    EntryFactory(model_name="a/one", precision="bfloat16")
    EvalRequest.objects.create(model_name="a/two", revision="b" * 40, precision="bfloat16",
                               weight_type="Original", model_type="chat",
                               mirror_path="two.json")  # fmt: skip
    query = """query($name: String!) { model(name: $name) { name entries { model { precision } }
               requests { name status } votes { totalVotes } } }"""
    one = gql(anon, query, {"name": "a/one"}).json()["data"]["model"]
    assert one["name"] == "a/one" and len(one["entries"]) == 2 and one["requests"] == []
    assert one["votes"] == {"totalVotes": 0}
    two = gql(anon, query, {"name": "a/two"}).json()["data"]["model"]
    assert two["entries"] == [] and two["requests"] == [{"name": "a/two", "status": "PENDING"}]
    assert gql(anon, query, {"name": "a/none"}).json() == {"data": {"model": None}}
    assert codes(gql(anon, query, {"name": "not a repo"}).json()) == ["BAD_REQUEST"]
    compare = "query($names: [String!]!) { compare(names: $names) { name } }"
    both = gql(anon, compare, {"names": ["a/two", "a/none", "a/one"]}).json()["data"]["compare"]
    assert both == [{"name": "a/two"}, None, {"name": "a/one"}]
    many = gql(anon, compare, {"names": [f"a/m{n}" for n in range(6)]}).json()
    assert codes(many) == ["BAD_REQUEST"]


def test_plain_types_answer_as_the_slow_path_does(
    anon: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench.graphql import ROW
    from leaderboard_site.graphql.execution import PlainExecutionContext

    one = EntryFactory(model_name="a/one", hub_license=None, params_billions=None, co2_cost=None)
    EntryFactory(model_name="a/two", merged=True)
    EvalRequest.objects.create(model_name="a/one", revision=one.revision_sha, precision="bfloat16",
                               weight_type="Original", model_type="chat",
                               mirror_path="one.json")  # fmt: skip
    Vote.objects.create(user=make_user("vic", "user"), model_name="a/one", vote_type="up",
                        revision=one.revision_sha, precision="bfloat16")  # fmt: skip
    query = f"""query($skip: Boolean!) {{ leaderboard(pageSize: 5) {{ items {{ {ROW}
      renamed: model {{ __typename n: name ...More }}
      features @skip(if: $skip) {{ isMerged }}
      requests {{ id name status score submissionTime partial missingSubtasks }}
      votes {{ totalVotes upVotes votesByRevision votesByConfig }} }} pageInfo {{ total }} }} }}
      fragment More on EntryModel {{ sha ... on EntryModel {{ precision }} }}"""
    fast = [gql(anon, query, {"skip": skip}).json() for skip in (True, False)]
    monkeypatch.setattr(PlainExecutionContext, "_plan", lambda *args: None)
    slow = [gql(anon, query, {"skip": skip}).json() for skip in (True, False)]
    assert fast == slow and "errors" not in fast[0]
    item = fast[0]["data"]["leaderboard"]["items"][0]
    assert item["requests"][0]["score"] == 1 and item["votes"]["upVotes"] == 1
    assert item["renamed"] == {"__typename": "EntryModel", "n": item["model"]["name"],
                               "sha": item["model"]["sha"],
                               "precision": item["model"]["precision"]}  # fmt: skip
