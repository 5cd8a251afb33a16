"""Walk the README's role table: every endpoint, every role, anonymous included."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from leaderboard_site.accounts import services
from leaderboard_site.accounts.models import User
from leaderboard_site.accounts.roles import RANK, Role
from tests.conftest import client_for, make_user

README = Path(__file__).parents[2] / "README.md"
CALLERS = ["anonymous", "viewer", "user", "service", "admin"]


def role_table(marker: str = "roles") -> list[tuple[str, str, str]]:
    text = README.read_text()
    table = text.split(f"<!-- {marker} -->", 1)[1].split(f"<!-- /{marker} -->", 1)[0]
    rows = re.findall(r"^\| `(\w+) ([^`]+)` \| (\w+) \|$", table, flags=re.M)
    assert rows, f"the README has no {marker} table"
    return rows


def allowed(caller: str, lowest: str) -> bool:
    if lowest == "anonymous":
        return True
    return caller != "anonymous" and RANK[Role(caller)] >= RANK[Role(lowest)]


BODIES: dict[str, dict[str, Any]] = {
    "/v1/auth/login": {"username": "someone", "password": "pw-xxxxxxxx"},
    "/v1/auth/api-keys": {"name": "walk", "role": "viewer"},
    "/api/models/submit": {"model_id": "acme/tiny", "precision": "bfloat16",
                           "model_type": "chat"},
    "/api/votes/acme/tiny": {"vote_type": "down"},
    "/v1/completions": {"provider": "openai", "model": "tiny", "prompt": "Hello there"},
    "/v1/evaluations": {"output": "{}", "metrics": ["json_valid"]},
    "/v1/datasets": {"name": "walk", "format": "jsonl", "content": '{"prompt": "x"}'},
    "/v1/benchmarks": {"name": "walk", "providers": [{"provider": "openai", "model": "tiny"}],
                       "dataset": "arithmetic"},
    "/v1/auth/password": {"old_password": "pw-xxxxxxxx",
                          "new_password": "a-much-better-passphrase"},
    # A public address (never connected to: registering only resolves and checks it).
    "/v1/webhooks": {"url": "https://93.184.215.14/hook", "events": ["benchmark.completed"]},
}  # fmt: skip
PLACES = {"{org}": "acme", "{name}": "tiny", "{user_id}": "alice", "{dataset}": "arithmetic",
          "{provider}": "openai"}  # fmt: skip


def build_world(request: pytest.FixtureRequest, path: str) -> None:
    """What the paths name: a model on the local Hub and in the queue; a model provider."""
    if path.startswith(("/v1/completions", "/v1/benchmarks", "/v1/providers")):
        request.getfixturevalue("llm")
    if not path.startswith(("/api/models/", "/api/votes/")):
        return
    from tests.submissions.conftest import publish
    from tests.submissions.test_status import make_request

    if path == "/api/models/submit":
        publish(request.getfixturevalue("hub"), "acme/tiny")
    make_request("acme/tiny", revision="a" * 40, precision="float16")


@pytest.mark.django_db
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path", "lowest"), role_table())
def test_role_table(
    method: str, path: str, lowest: str, caller: str, request: pytest.FixtureRequest
) -> None:
    build_world(request, path)
    if caller == "anonymous":
        client = APIClient()
    else:
        user = make_user(f"{caller}-walker", caller)
        client = client_for(user)
        if method == "DELETE" and path.startswith("/api/votes/"):
            from votes import services as votes

            target = votes.Target("acme/tiny", "a" * 40, "float16")
            votes.vote_cast(user=user, target=target, vote_type="up")
    for placeholder, value in PLACES.items():
        path = path.replace(placeholder, value)
    if "{plugin_id}" in path:
        from benchmarks.metrics.registry import plugin_id

        path = path.replace("{plugin_id}", str(plugin_id("json_valid")))
    if "{benchmark_id}" in path:
        owner = make_user("run-owner", "user") if caller == "anonymous" else user
        path = path.replace("{benchmark_id}", str(_benchmark(owner).pk))
    for placeholder, make in OWNED.items():
        if placeholder in path:  # the caller's own (somebody's, for anonymous callers)
            if caller == "anonymous":  # one owner for all the path's things
                owner = User.objects.filter(username="thing-owner").first() or make_user(
                    "thing-owner", "user"
                )
            else:
                owner = user
            path = path.replace(placeholder, str(make(owner)))
    if "{id}" in path:
        owner = make_user("key-owner", "user") if caller == "anonymous" else user
        path = path.replace("{id}", str(services.api_key_create(owner=owner, name="k").api_key.pk))
    if path == "/v1/auth/login":
        make_user("someone", "viewer")
    body = BODIES.get(path) or ({"input": {"output": "{}"}} if path.endswith("/execute") else None)
    if method == "GET":
        body = None  # a GET sends no body (as query parameters it would mean something else)
    response = getattr(client, method.lower())(path, body, format="json")
    if allowed(caller, lowest):
        assert response.status_code < 400, (caller, method, path, response.status_code)
    else:
        expected = 401 if caller == "anonymous" else 403
        assert response.status_code == expected, (caller, method, path, response.status_code)
        assert response.json()["error"]["code"] == (
            "UNAUTHORIZED" if expected == 401 else "FORBIDDEN"
        )


def _completion(owner: Any) -> Any:
    from benchmarks.models import Completion

    return Completion.objects.create(
        owner=owner, provider="openai", model="tiny", prompt="p", text="t", prompt_tokens=1,
        completion_tokens=1, latency_ms=1.0, request_id="walk",
    ).pk  # fmt: skip


def _evaluation(owner: Any) -> Any:
    from benchmarks.models import Evaluation

    return Evaluation.objects.create(owner=owner, output="{}", score=1.0).pk


def _own_dataset(owner: Any) -> str:
    from benchmarks import services as benchmarks
    from benchmarks.datasets import Item

    return benchmarks.dataset_create(name="walk-own", items=[Item("x", {}, None)],
                                     created_by=owner).name  # fmt: skip


def _request(owner: Any) -> Any:
    from tests.submissions.test_status import make_request

    return make_request("acme/mine", submitter=owner, sender=owner.username).pk


def _webhook(owner: Any) -> Any:
    from webhooks.models import Endpoint

    return Endpoint.objects.create(owner=owner, url="https://93.184.215.14/hook",
                                   events=["benchmark.completed"]).pk  # fmt: skip


def _delivery(owner: Any) -> Any:
    """A delivery of the owner's webhook (made for `{webhook_id}` just before)."""
    from webhooks.models import Delivery, Endpoint

    endpoint = Endpoint.objects.filter(owner=owner).latest("created_at")
    return Delivery.objects.create(endpoint=endpoint, event="benchmark.completed",
                                   dedupe_key="walk", payload={}).pk  # fmt: skip


OWNED = {"{completion_id}": _completion, "{evaluation_id}": _evaluation,
         "{own_dataset}": _own_dataset, "{request_id}": _request,
         "{webhook_id}": _webhook, "{delivery_id}": _delivery}  # fmt: skip


def _benchmark(owner: Any) -> Any:
    """A pending run of `owner`'s (even a viewer may own one an admin started for them)."""
    from benchmarks.models import Benchmark, Dataset

    dataset = Dataset.objects.get(name="arithmetic")
    return Benchmark.objects.create(owner=owner, name="walk", dataset=dataset, iterations=1,
                                    targets=[{"provider": "openai", "model": "tiny"}])  # fmt: skip


GRAPHQL_DOCUMENTS = {
    "version": "{ version }",
    "health": "{ health }",
    "plugins": "{ plugins { name } }",
    "plugin": '{ plugin(id: "%s") { name } }',
    "createCompletion": 'mutation { createCompletion(input: {provider: "openai", model: "tiny", '
    'prompt: "Hello there"}) { text } }',
    "createEvaluation": 'mutation { createEvaluation(input: {provider: "", model: "", input: "", '
    'output: "{}", metrics: ["json_valid"]}) { score } }',
    "leaderboard": "{ leaderboard { pageInfo { total } } }",
    "model": '{ model(name: "walk/model") { name } }',
    "compare": '{ compare(names: ["walk/model"]) { name } }',
    "submissions": "{ submissions { pageInfo { total } } }",
    "votes": '{ votes(model: "walk/model") { totalVotes } }',
    "myVotes": "{ myVotes { modelId } }",
    "benchmarks": "{ benchmarks { pageInfo { total } } }",
    "benchmark": '{ benchmark(id: "%b") { name } }',
    "datasets": "{ datasets { pageInfo { total } } }",
    "dataset": '{ dataset(name: "arithmetic") { name } }',
    "providers": "{ providers }",
    "usage": "{ usage }",
    "me": "{ me { username } }",
    "submitModel": 'mutation { submitModel(input: {modelId: "walk/nowhere", modelType: "chat", '
    'precision: "bfloat16"}) { message } }',
    "castVote": 'mutation { castVote(model: "walk/model", voteType: "up") { message } }',
    "withdrawVote": 'mutation { withdrawVote(model: "walk/model") }',
    "createBenchmark": 'mutation { createBenchmark(input: {name: "walk", dataset: "arithmetic", '
    'iterations: 1, providers: [{provider: "openai", model: "tiny"}]}) { name } }',
    "cancelBenchmark": 'mutation { cancelBenchmark(id: "%b") { status } }',
    "createDataset": 'mutation { createDataset(input: {name: "walk", format: "jsonl", '
    'content: "{\\"prompt\\": \\"Hi\\"}"}) { version } }',
    "createApiKey": 'mutation { createApiKey(name: "walk") { key } }',
    "revokeApiKey": 'mutation { revokeApiKey(id: "00000000-0000-0000-0000-000000000000") }',
}
# Allowed, these may still be refused for what they ask (no such model on the Hub, no vote to
# withdraw, no such key): never for the caller's role.
GRAPHQL_REFUSED = {"submitModel": "NOT_FOUND", "withdrawVote": "NOT_FOUND",
                   "revokeApiKey": "NOT_FOUND"}  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("kind", "field", "lowest"), role_table("graphql-roles"))
def test_graphql_role_table(
    kind: str, field: str, lowest: str, caller: str, request: pytest.FixtureRequest
) -> None:
    from benchmarks.metrics.registry import plugin_id
    from tests.leaderboard.factories import EntryFactory

    if field in {"createCompletion", "createBenchmark"}:
        request.getfixturevalue("llm")
    if field == "submitModel":
        request.getfixturevalue("hub")
    EntryFactory(model_name="walk/model")
    client = APIClient()
    run = "00000000-0000-0000-0000-000000000000"
    if caller != "anonymous":
        user = make_user(f"{caller}-gql", caller)
        client, run = client_for(user), str(_benchmark(user).pk)
    document = GRAPHQL_DOCUMENTS[field].replace("%s", str(plugin_id("json_valid")))
    document = document.replace("%b", run)
    assert document.startswith("mutation") == (kind == "mutation")
    response = client.post("/graphql", {"query": document}, format="json")
    assert response.status_code == 200
    body = response.json()
    if allowed(caller, lowest) and field in GRAPHQL_REFUSED:
        codes = [e["extensions"]["code"] for e in body["errors"]]
        assert codes == [GRAPHQL_REFUSED[field]], (caller, field, body)
    elif allowed(caller, lowest):
        assert "errors" not in body and body["data"][field] is not None, (caller, field, body)
    else:
        expected = "UNAUTHORIZED" if caller == "anonymous" else "FORBIDDEN"
        assert [e["extensions"]["code"] for e in body["errors"]] == [expected], (caller, field)
