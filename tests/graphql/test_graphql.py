"""/graphql: the Test Bench API's schema, the same credentials, roles and error codes as REST."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from rest_framework.test import APIClient

from benchmarks.metrics import registry
from benchmarks.models import Completion, Evaluation
from leaderboard_site.accounts import services
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

COMPLETE = """
mutation($input: CompletionInput!) {
  createCompletion(input: $input) { id text model requestId createdAt latencyMs cost
                                    usage { promptTokens completionTokens totalTokens } }
}"""


def gql(client: APIClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    return client.post("/graphql", {"query": query, "variables": variables or {}}, format="json")


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def test_version_and_health_need_no_credentials(anon: APIClient) -> None:
    response = gql(anon, "{ version health }")
    assert response.status_code == 200
    assert response.json() == {"data": {"version": "0.1.0", "health": True}}
    assert response["X-RateLimit-Limit"]  # the same middleware as REST
    got = anon.get("/graphql", {"query": "{ version }"}, HTTP_ACCEPT="application/json")
    assert got.json() == {"data": {"version": "0.1.0"}}


def test_plugins_for_a_viewer_not_for_anonymous(anon: APIClient) -> None:
    query = "{ plugins { id name version pluginType status } }"
    body = gql(anon, query).json()
    assert body["data"] == {"plugins": None} and codes(body) == ["UNAUTHORIZED"]
    assert body["errors"][0]["extensions"]["status"] == 401
    viewer = client_for(make_user("vera", "viewer"))
    plugins = gql(viewer, query).json()["data"]["plugins"]
    by_name = {plugin["name"]: plugin for plugin in plugins}
    json_valid = by_name["json_valid"]
    assert json_valid == {"id": str(registry.plugin_id("json_valid")), "name": "json_valid",
                          "version": json_valid["version"], "pluginType": "evaluator",
                          "status": "ready"}  # fmt: skip
    one = "query($id: String!) { plugin(id: $id) { name } }"
    found = gql(viewer, one, {"id": by_name["f1"]["id"]}).json()
    assert found == {"data": {"plugin": {"name": "f1"}}}
    assert gql(viewer, one, {"id": "not-a-uuid"}).json() == {"data": {"plugin": None}}
    unknown = {"id": "00000000-0000-0000-0000-000000000000"}
    assert gql(viewer, one, unknown).json() == {"data": {"plugin": None}}


def test_an_anonymous_query_keeps_the_fields_it_may_see(anon: APIClient) -> None:
    body = gql(anon, "{ version health plugins { name } }").json()
    assert body["data"] == {"version": "0.1.0", "health": True, "plugins": None}
    assert codes(body) == ["UNAUTHORIZED"] and body["errors"][0]["path"] == ["plugins"]


def test_the_role_guarded_root_fields_are_nullable(anon: APIClient) -> None:
    """The one deviation from the Test Bench API's schema the README lists."""
    query = """{ __schema { queryType { fields { name type { kind } } }
                            mutationType { fields { name type { kind } } } } }"""
    schema = gql(anon, query).json()["data"]["__schema"]
    fields = schema["queryType"]["fields"] + schema["mutationType"]["fields"]
    kinds = {field["name"]: field["type"]["kind"] for field in fields}
    open_to_anyone = {"version", "health", "leaderboard", "compare", "submissions", "votes"}
    assert {name for name, kind in kinds.items() if kind == "NON_NULL"} == open_to_anyone
    assert {"plugins": "LIST", "plugin": "OBJECT", "createCompletion": "OBJECT",
            "createEvaluation": "OBJECT"}.items() <= kinds.items()  # fmt: skip


def _credentials(kind: str, alice: Any, hub: Any) -> APIClient:
    client = APIClient()
    if kind == "jwt":
        return client_for(alice)
    if kind == "api_key":
        key = services.api_key_create(owner=alice, name="gql").key
        client.credentials(HTTP_X_API_KEY=key)
    else:  # a Hugging Face token of the Hub account linked to alice
        alice.hub_username = "alice"
        alice.save(update_fields=["hub_username"])
        hub.add_token("hf_alice_token", "alice")
        client.credentials(HTTP_AUTHORIZATION="Bearer hf_alice_token")
    return client


@pytest.mark.parametrize("kind", ["jwt", "api_key", "hub"])
def test_create_completion_with_each_kind_of_credentials(
    kind: str, alice: Any, llm: Any, request: pytest.FixtureRequest
) -> None:
    hub = request.getfixturevalue("hub") if kind == "hub" else None
    client = _credentials(kind, alice, hub)
    llm.state.answers["capital of France"] = "Paris."
    variables = {"input": {"provider": "openai", "model": "tiny-1", "maxTokens": 20,
                           "prompt": "What is the capital of France?"}}  # fmt: skip
    response = gql(client, COMPLETE, variables)
    assert response.status_code == 200, response.content
    result = response.json()["data"]["createCompletion"]
    assert result["text"] == "Paris." and result["model"] == "tiny-1"
    assert result["requestId"] == response["X-Request-ID"]
    assert result["usage"] == {"promptTokens": 6, "completionTokens": 1, "totalTokens": 7}
    assert result["cost"] is None and result["latencyMs"] > 0
    stored = Completion.objects.get(pk=result["id"])
    assert stored.owner == alice and stored.request_id == result["requestId"]
    assert llm.requests[-1]["body"]["max_tokens"] == 20


def test_a_viewer_may_not_create_and_nothing_is_asked(llm: Any) -> None:
    viewer = client_for(make_user("vera", "viewer"))
    variables = {"input": {"provider": "openai", "model": "tiny-1", "prompt": "Hi"}}
    body = gql(viewer, COMPLETE, variables).json()
    assert body["data"] == {"createCompletion": None} and codes(body) == ["FORBIDDEN"]
    assert body["errors"][0]["extensions"]["details"] == {"required_role": "user"}
    assert llm.requests == [] and not Completion.objects.exists()


def test_bad_credentials_are_refused_whole_with_the_envelope(anon: APIClient) -> None:
    anon.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    response = gql(anon, "{ version }")
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == "UNAUTHORIZED" and body["request_id"]
    assert response["WWW-Authenticate"] == 'Bearer realm="leaderboard"'


def test_the_hub_down_while_checking_a_token_is_503(anon: APIClient, hub: Any) -> None:
    hub.fail_next(5, status=503)
    anon.credentials(HTTP_AUTHORIZATION="Bearer hf_someone")
    response = gql(anon, "{ version }")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_an_api_key_acts_with_its_own_role(alice: Any, llm: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=services.api_key_create(owner=alice, name="ro",
                                                               role="viewer").key)  # fmt: skip
    variables = {"input": {"provider": "openai", "model": "tiny-1", "prompt": "Hi"}}
    assert codes(gql(client, COMPLETE, variables).json()) == ["FORBIDDEN"]
    assert gql(client, "{ plugins { name } }").json()["data"]["plugins"]


@pytest.mark.parametrize(
    "variables",
    [{"input": {"provider": 1, "model": "m", "prompt": "Hi"}},
     {"input": {"provider": "openai", "model": "m", "prompt": "Hi", "maxTokens": 2**40}},
     {"input": {"provider": "openai", "model": "m", "prompt": "Hi", "maxTokens": "x"}},
     {"input": {"provider": "openai", "model": "m"}},
     {}],
)  # fmt: skip
def test_bad_variables_are_the_callers_mistake(
    variables: dict[str, Any], alice: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="leaderboard_site.graphql"):
        body = gql(client_for(alice), COMPLETE, variables).json()
    assert codes(body) == ["BAD_REQUEST"]
    assert body["errors"][0]["extensions"]["status"] == 400
    assert not caplog.records and not Completion.objects.exists()


def test_bad_input_is_a_validation_error_with_the_serializers_details(alice: Any, llm: Any) -> None:
    variables = {"input": {"provider": "openai", "model": "tiny-1", "prompt": "Hi",
                           "maxTokens": 0}}  # fmt: skip
    body = gql(client_for(alice), COMPLETE, variables).json()
    assert codes(body) == ["BAD_REQUEST"]
    error = body["errors"][0]
    assert error["path"] == ["createCompletion"] and error["extensions"]["status"] == 400
    assert "max_tokens" in error["extensions"]["details"]["fields"]
    assert llm.requests == []


def test_a_provider_failure_is_a_provider_error(alice: Any, llm: Any) -> None:
    llm.fail_next(count=10, status=503)
    variables = {"input": {"provider": "openai", "model": "tiny-1", "prompt": "Hi"}}
    body = gql(client_for(alice), COMPLETE, variables).json()
    assert codes(body) == ["PROVIDER_ERROR"]
    assert body["errors"][0]["extensions"]["status"] == 502


def test_unknown_provider_is_400(alice: Any) -> None:
    variables = {"input": {"provider": "nowhere", "model": "m", "prompt": "Hi"}}
    body = gql(client_for(alice), COMPLETE, variables).json()
    assert codes(body) == ["BAD_REQUEST"] and "nowhere" in body["errors"][0]["message"]


def test_create_evaluation_scores_and_stores(alice: Any) -> None:
    query = """mutation { createEvaluation(input: {provider: "openai", model: "m",
      input: "2+2?", output: "4", expected: "4", metrics: ["exact_match", "json_valid"]})
      { score evaluationId createdAt metrics } }"""
    result = gql(client_for(alice), query).json()["data"]["createEvaluation"]
    assert result["metrics"] == {"exact_match": 1.0, "json_valid": 1.0}  # "4" is valid JSON
    assert result["score"] == 1.0
    assert Evaluation.objects.get(pk=result["evaluationId"]).owner == alice
    unknown = gql(client_for(alice), query.replace('"json_valid"', '"nope"')).json()
    assert codes(unknown) == ["BAD_REQUEST"] and Evaluation.objects.count() == 1


def test_a_document_that_does_not_parse_or_validate(anon: APIClient) -> None:
    assert codes(gql(anon, "{ version").json()) == ["BAD_REQUEST"]
    assert codes(gql(anon, "{ nothing }").json()) == ["BAD_REQUEST"]
    for body in ("{not json", "123", "null", '"x"', "[]"):
        broken = anon.post("/graphql", body, content_type="application/json")
        assert broken.status_code == 400, body
        assert broken.json()["error"]["code"] == "BAD_REQUEST"


def test_documents_are_bounded(anon: APIClient, alice: Any, llm: Any) -> None:
    aliased = "{ " + " ".join(f"a{i}: version" for i in range(16)) + " }"
    assert codes(gql(anon, aliased).json()) == ["BAD_REQUEST"]
    huge = "{ " + " ".join(["version"] * 2100) + " }"
    assert codes(gql(anon, huge).json()) == ["BAD_REQUEST"]
    one = 'createCompletion(input: {provider: "openai", model: "m", prompt: "1"}) { text }'
    two = f"mutation {{ a: {one} b: {one} }}"
    body = gql(client_for(alice), two).json()
    assert codes(body) == ["BAD_REQUEST"] and "One mutation" in body["errors"][0]["message"]
    assert llm.requests == []


def test_anyone_may_introspect_the_published_schema(anon: APIClient) -> None:
    body = gql(anon, "{ __schema { mutationType { fields { name } } } }").json()
    names = {field["name"] for field in body["data"]["__schema"]["mutationType"]["fields"]}
    assert names == {"createCompletion", "createEvaluation", "submitModel", "castVote",
                     "withdrawVote", "createBenchmark", "cancelBenchmark", "createDataset",
                     "createApiKey", "revokeApiKey"}  # fmt: skip


def test_mutations_are_not_taken_over_get(alice: Any) -> None:
    response = client_for(alice).get(
        "/graphql", {"query": 'mutation { createEvaluation(input: {provider: "", model: "", '
                     'input: "", output: "1", metrics: ["json_valid"]}) { score } }'},
        HTTP_ACCEPT="application/json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "GET" in response.json()["error"]["message"]
    assert not Evaluation.objects.exists()


def test_a_bug_is_hidden_from_the_caller_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(registry, "plugins", broken)
    viewer = client_for(make_user("vera", "viewer"))
    with caplog.at_level(logging.ERROR, logger="leaderboard_site.graphql"):
        body = gql(viewer, "{ version plugins { name } }").json()
    assert body["data"] == {"version": "0.1.0", "plugins": None}  # the other field keeps its data
    assert codes(body) == ["INTERNAL_ERROR"]
    assert "secret" not in body["errors"][0]["message"]
    assert "secret internals" in caplog.text


def test_graphiql_for_a_browser_only(anon: APIClient, settings: Any) -> None:
    response = anon.get("/graphql", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 200
    assert b"graphiql" in response.content.lower()
    assert anon.get("/graphql", HTTP_ACCEPT="*/*").status_code == 400  # no query: an envelope
    settings.ENABLE_GRAPHIQL = False
    assert anon.get("/graphql", HTTP_ACCEPT="text/html").status_code == 400
