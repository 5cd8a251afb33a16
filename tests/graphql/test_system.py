"""/graphql beyond the leaderboard: submissions, votes, runs, datasets, providers, usage, keys;
each through REST's serializers and services (the same refusals, the same codes); the cost
limit; what anonymous callers see."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from benchmarks.models import Benchmark, Dataset
from leaderboard_site.accounts.models import ApiKey
from submissions.models import EvalRequest, Status
from tests.conftest import client_for, make_user
from tests.graphql.test_graphql import codes, gql
from tests.leaderboard.factories import EntryFactory
from tests.submissions.conftest import publish
from votes.models import Vote

pytestmark = pytest.mark.django_db


def ok(client: APIClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    body = gql(client, query, variables).json()
    assert "errors" not in body, body
    return body["data"]


def refused(client: APIClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    body = gql(client, query, variables).json()
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]


SUBMIT = """mutation($input: SubmitModelInput!) { submitModel(input: $input) {
  message request { name revision status submitter score } } }"""


def test_submit_model_as_rest_and_its_refusals(alice: Any, hub: Any) -> None:
    sha = publish(hub, "acme/tiny")
    client = client_for(alice)
    variables = {"input": {"modelId": "acme/tiny", "modelType": "fine-tuned",
                           "precision": "bfloat16"}}  # fmt: skip
    done = ok(client, SUBMIT, variables)["submitModel"]
    assert done["request"] == {"name": "acme/tiny", "revision": sha, "status": "PENDING",
                               "submitter": "alice", "score": 1}  # fmt: skip
    again = refused(client, SUBMIT, variables)
    assert (again["code"], again["status"], again["details"]["reason"]) == (
        "CONFLICT",
        409,
        "duplicate",
    )
    bad = refused(client, SUBMIT, {"input": {**variables["input"], "precision": "int3"}})
    assert bad["code"] == "BAD_REQUEST" and "precision" in bad["details"]["fields"]
    assert EvalRequest.objects.count() == 1


def test_submissions_by_status_paged(anon: APIClient) -> None:
    for n, status in enumerate([Status.PENDING, Status.PENDING, Status.FAILED]):
        EvalRequest.objects.create(model_name=f"acme/m{n}", revision="a" * 40,
                                   precision="bfloat16", weight_type="Original",
                                   model_type="chat", status=status,
                                   mirror_path=f"m{n}.json")  # fmt: skip
    query = """query($status: String) { submissions(status: $status, pageSize: 1) {
               items { name status } pageInfo { total totalPages } } }"""
    pending = ok(anon, query, {"status": "PENDING"})["submissions"]
    assert pending["items"] == [{"name": "acme/m1", "status": "PENDING"}]
    assert pending["pageInfo"] == {"total": 2, "totalPages": 2}
    assert ok(anon, query)["submissions"]["pageInfo"]["total"] == 3
    assert refused(anon, query, {"status": "DONE"})["code"] == "BAD_REQUEST"


CAST = """mutation($model: String!, $type: String!) { castVote(model: $model, voteType: $type) {
  message vote { modelId voteType revision precision } counts { upVotes downVotes score } } }"""


def test_cast_change_and_withdraw_a_vote(alice: Any) -> None:
    entry = EntryFactory(model_name="acme/voted")
    client = client_for(alice)
    cast = ok(client, CAST, {"model": "acme/voted", "type": "up"})["castVote"]
    assert cast["vote"] == {"modelId": "acme/voted", "voteType": "up",
                            "revision": entry.revision_sha, "precision": "bfloat16"}  # fmt: skip
    assert cast["counts"] == {"upVotes": 1, "downVotes": 0, "score": 1}
    twice = refused(client, CAST, {"model": "acme/voted", "type": "up"})
    assert (twice["code"], twice["status"]) == ("CONFLICT", 409)
    down = ok(client, CAST, {"model": "acme/voted", "type": "down"})["castVote"]
    assert down["counts"] == {"upVotes": 0, "downVotes": 1, "score": -1}
    assert refused(client, CAST, {"model": "acme/voted", "type": "sideways"})["code"] == (
        "BAD_REQUEST"
    )
    mine = ok(client, "{ myVotes { modelId voteType } }")["myVotes"]
    assert mine == [{"modelId": "acme/voted", "voteType": "down"}]
    counts = ok(APIClient(), '{ votes(model: "acme/voted") { totalVotes score } }')["votes"]
    assert counts == {"totalVotes": 1, "score": -1}
    withdraw = 'mutation { withdrawVote(model: "acme/voted") }'
    assert ok(client, withdraw) == {"withdrawVote": True}
    assert refused(client, withdraw)["code"] == "NOT_FOUND"
    assert not Vote.objects.filter(voided=False).exists()


def test_me_and_api_keys(alice: Any) -> None:
    client = client_for(alice)
    me = ok(client, "{ me { username role via apiKeys { name } } }")["me"]
    assert me == {"username": "alice", "role": "user", "via": "jwt", "apiKeys": []}
    create = """mutation($role: String) { createApiKey(name: "ci", role: $role) {
                key apiKey { id name role prefix } } }"""
    created = ok(client, create, {"role": "viewer"})["createApiKey"]
    assert created["key"].startswith(created["apiKey"]["prefix"])
    assert created["apiKey"]["role"] == "viewer"
    above = refused(client, create, {"role": "admin"})
    assert above["code"] == "FORBIDDEN" and above["details"]["requested_role"] == "admin"
    assert refused(client, create, {"role": "king"})["code"] == "BAD_REQUEST"
    keyed = APIClient()
    keyed.credentials(HTTP_X_API_KEY=created["key"])
    assert ok(keyed, "{ me { role via } }")["me"] == {"role": "viewer", "via": "api_key"}
    revoke = "mutation($id: String!) { revokeApiKey(id: $id) }"
    other = client_for(make_user("bob", "user"))
    assert refused(other, revoke, {"id": created["apiKey"]["id"]})["code"] == "NOT_FOUND"
    assert ok(client, revoke, {"id": created["apiKey"]["id"]}) == {"revokeApiKey": True}
    assert ApiKey.objects.get().revoked_at is not None
    assert refused(client, revoke, {"id": "not-a-uuid"})["code"] == "NOT_FOUND"


RUN = """mutation($input: BenchmarkInput!) { createBenchmark(input: $input) {
  benchmarkId name status itemsTotal dataset providers } }"""


def test_benchmarks_datasets_and_their_mutations(alice: Any, llm: Any, settings: Any) -> None:
    client = client_for(alice)
    upload = """mutation($input: DatasetInput!) { createDataset(input: $input) {
                name version itemCount source } }"""
    content = '{"prompt": "2+2?", "expected": "4"}\n{"prompt": "3+3?", "expected": "6"}'
    made = ok(client, upload, {"input": {"name": "sums", "format": "jsonl", "content": content}})
    assert made["createDataset"] == {"name": "sums", "version": 1, "itemCount": 2,
                                     "source": "upload"}  # fmt: skip
    broken = refused(client, upload, {"input": {"name": "sums", "format": "jsonl",
                                                "content": '{"nope": 1}'}})  # fmt: skip
    assert broken["code"] == "BAD_REQUEST" and Dataset.objects.filter(name="sums").count() == 1
    listed = ok(client, "{ datasets(pageSize: 100) { items { name } pageInfo { total } } }")
    assert "sums" in {item["name"] for item in listed["datasets"]["items"]}
    one = '{ dataset(name: "sums", version: 1) { name version } }'
    assert ok(client, one)["dataset"] == {"name": "sums", "version": 1}
    assert ok(client, '{ dataset(name: "sums", version: 9) { name } }')["dataset"] is None

    run_input = {"name": "smoke", "dataset": "sums", "iterations": 2,
                 "providers": [{"provider": "openai", "model": "tiny-1"}]}  # fmt: skip
    run = ok(client, RUN, {"input": run_input})["createBenchmark"]
    assert run["name"] == "smoke" and run["dataset"] == {"name": "sums", "version": 1}
    assert run["providers"] == [{"provider": "openai", "model": "tiny-1"}]
    no_targets = refused(client, RUN, {"input": {**run_input, "providers": []}})
    assert no_targets["code"] == "BAD_REQUEST" and "providers" in no_targets["details"]["fields"]
    query = """query($id: String!) { benchmark(id: $id) { name status results
               items(pageSize: 1) { items pageInfo { total } } } }"""
    shown = ok(client, query, {"id": run["benchmarkId"]})["benchmark"]
    assert shown["name"] == "smoke"
    total = Benchmark.objects.get().total
    assert shown["items"]["pageInfo"]["total"] == Benchmark.objects.get().items.count()
    assert total == 2
    bob = client_for(make_user("bob", "user"))
    assert ok(bob, query, {"id": run["benchmarkId"]})["benchmark"] is None  # not bob's
    assert ok(bob, "{ benchmarks { pageInfo { total } } }")["benchmarks"]["pageInfo"]["total"] == 0
    cancel = "mutation($id: String!) { cancelBenchmark(id: $id) { status } }"
    assert refused(bob, cancel, {"id": run["benchmarkId"]})["code"] == "NOT_FOUND"
    if Benchmark.objects.get().status in {"pending", "running"}:
        assert ok(client, cancel, {"id": run["benchmarkId"]})["cancelBenchmark"]["status"] == (
            "cancelled"
        )
    ended = refused(client, cancel, {"id": run["benchmarkId"]})
    assert (ended["code"], ended["status"]) == ("CONFLICT", 409)
    mine = ok(client, "{ benchmarks { items { name } pageInfo { total } } }")["benchmarks"]
    assert mine == {"items": [{"name": "smoke"}], "pageInfo": {"total": 1}}


def test_providers_and_usage_as_rest(alice: Any, llm: Any) -> None:
    client = client_for(alice)
    rest = client.get("/v1/providers", {"page_size": 100}).json()["items"]
    assert ok(client, "{ providers }")["providers"] == rest
    usage = ok(client, '{ usage(groupBy: "provider") }')["usage"]
    rest_usage = client.get("/v1/usage", {"group_by": "provider"}).json()
    assert usage.pop("to") <= rest_usage.pop("to") and usage == rest_usage
    assert refused(client, '{ usage(groupBy: "week") }')["code"] == "BAD_REQUEST"
    assert refused(client, '{ usage(from: "yesterday") }')["code"] == "BAD_REQUEST"
    assert refused(client, '{ usage(user: "all") }')["code"] == "FORBIDDEN"


def test_an_anonymous_caller_keeps_what_rest_shows_anonymously(anon: APIClient) -> None:
    EntryFactory(model_name="acme/open")
    body = gql(
        anon,
        """{ leaderboard { pageInfo { total } } me { username } myVotes { modelId }
                          benchmarks { pageInfo { total } } votes(model: "acme/open")
                          { totalVotes } }""",
    ).json()
    assert body["data"] == {"leaderboard": {"pageInfo": {"total": 1}}, "me": None,
                            "myVotes": None, "benchmarks": None,
                            "votes": {"totalVotes": 0}}  # fmt: skip
    assert sorted(error["path"][0] for error in body["errors"]) == ["benchmarks", "me", "myVotes"]
    assert set(codes(body)) == {"UNAUTHORIZED"}


def test_the_cost_limit(anon: APIClient, alice: Any, settings: Any) -> None:
    nested = "{ leaderboard(pageSize: 100) { items { id requests { id } } } }"
    assert "errors" not in gql(anon, nested).json()  # 100 + 100 x 10
    deep = "{ " + " ".join(f"a{n}: {nested[2:-2]}" for n in range(5)) + " }"
    body = gql(client_for(alice), deep).json()
    assert body["data"] is None and codes(body) == ["BAD_REQUEST"]
    error = body["errors"][0]
    assert error["extensions"]["details"] == {"cost": 5500, "max_cost": 5000}
    assert "smaller pages" in error["message"]
    settings.GRAPHQL_MAX_COST = 150
    variables = "query($size: Int!) { leaderboard(pageSize: $size) { items { id } } }"
    assert "errors" not in gql(anon, variables, {"size": 100}).json()
    over = gql(anon, variables.replace("id }", "id requests { id } }"), {"size": 100}).json()
    assert over["errors"][0]["extensions"]["details"] == {"cost": 1100, "max_cost": 150}
    fragment = """{ compare(names: ["a/b", "a/c"]) { ...M } }
                  fragment M on ModelNode { entries { requests { id } } }"""
    assert gql(anon, fragment).json()["errors"][0]["extensions"]["details"]["cost"] == 222


def test_every_list_takes_as_many_queries_for_30_rows_as_for_2(admin_user: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(admin_user)
    dataset = Dataset.objects.get(name="arithmetic")
    lists = {
        "benchmarks": "{ benchmarks(pageSize: 100) { items { name dataset results } } }",
        "submissions": "{ submissions(pageSize: 100) { items { name score partial } } }",
        "compare": '{ compare(names: ["o/m0", "o/m1", "o/m2", "o/m3", "o/m4"]) { name '
        "entries { id requests { id } votes { score } } requests { id } votes { score } } }",
        "datasets": "{ datasets(pageSize: 100) { items { name version } } }",
        "me": "{ me { apiKeys { name } } }",
    }

    def add(count: int) -> None:
        start = EvalRequest.objects.count()
        for n in range(start, start + count):
            EntryFactory(model_name=f"o/m{n % 5}", precision=("float16", "bfloat16")[n % 2],
                         revision_sha=f"{n:040x}")  # fmt: skip
            EvalRequest.objects.create(model_name=f"o/m{n % 5}", revision=f"{n:040x}",
                                       precision="bfloat16", weight_type="Original",
                                       model_type="chat", mirror_path=f"b{n}.json")  # fmt: skip
            Benchmark.objects.create(owner=admin_user, name=f"r{n}", dataset=dataset,
                                     iterations=1, targets=[{"provider": "openai",
                                                             "model": "tiny"}])  # fmt: skip
            Dataset.objects.create(name=f"d{n}", version=1)
            ApiKey.objects.create(user=admin_user, name=f"k{n}", role="user",
                                  key_hash=f"{n:064x}", prefix="ltb_x")  # fmt: skip

    def counted() -> dict[str, int]:
        counts = {}
        for name, query in lists.items():
            with CaptureQueriesContext(connection) as captured:
                assert "errors" not in gql(client, query).json(), name
            counts[name] = len(captured.captured_queries)
        return counts

    add(2)
    counted()  # the caller's principal, cached from then on
    few = counted()
    add(28)
    assert counted() == few
