from __future__ import annotations

import io
import re
from typing import Any

import orjson
import pytest
from django.core.management import call_command


def test_schema_validates_without_warnings() -> None:
    out = io.StringIO()
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out
    )
    paths = orjson.loads(out.getvalue())["paths"]
    assert {"/health", "/api/leaderboard", "/api/leaderboard/formatted", "/api/v1/models/"} <= set(
        paths
    )


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/docs", "/swagger-ui", "/api-docs/openapi.json"])
def test_docs_are_served(anon: Any, url: str) -> None:
    assert anon.get(url).status_code == 200


# --- what the schema says, against what the server does ---------------------------------------
@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    out = io.StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out)
    return dict(orjson.loads(out.getvalue()))


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    paths = schema["paths"].items()
    return [(method.upper(), path, op) for path, item in paths for method, op in item.items()]


def test_the_credentials_are_alternatives(schema: dict[str, Any]) -> None:
    assert set(schema["components"]["securitySchemes"]) == {"bearerAuth", "apiKeyAuth"}
    either: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"apiKeyAuth": []}]  # any one
    for method, path, operation in operations(schema):
        named = [requirement for requirement in operation["security"] if requirement]
        # GET /metrics takes the scraper's METRICS_TOKEN (when set), no user's credentials.
        alone = path in ("/v1/auth/login", "/metrics")
        assert named == ([] if alone else either), (method, path)


def _schema_path(readme_path: str) -> str:
    path = re.sub(r"\{\w+\}", "{}", readme_path.split("?")[0])
    return "/api/votes/{}/{}" if path == "/api/votes/user/{}" else path


def test_anonymous_operations_are_those_the_readme_lists(schema: dict[str, Any]) -> None:
    from tests.accounts.test_roles import role_table

    documented = {(m, re.sub(r"\{\w+\}", "{}", p)): o for m, p, o in operations(schema)}
    checked = 0
    for method, readme_path, lowest in role_table():
        operation = documented.get((method, _schema_path(readme_path)))
        if operation is None:
            continue  # not a REST operation (the docs, the schema itself)
        assert ({} in operation["security"]) == (lowest == "anonymous"), (method, readme_path)
        checked += 1
    assert checked >= 30
    assert {} in schema["paths"]["/api/votes/{org}/{name}"]["get"]["security"]


def _responses(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return dict(schema["paths"][path][method.lower()]["responses"])


def test_every_operation_documents_its_errors(schema: dict[str, Any]) -> None:
    names = {"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound",
             "413": "PayloadTooLarge", "415": "UnsupportedMediaType",
             "429": "RateLimitExceeded", "503": "ServiceUnavailable"}  # fmt: skip
    for method, path, operation in operations(schema):
        expected = {"400", "401", "429", "503"}
        if {} not in operation["security"]:
            expected.add("403")
        if "{" in path:
            expected.add("404")
        if "requestBody" in operation:
            expected |= {"413", "415"}
        responses = operation["responses"]
        assert expected <= set(responses), (method, path, expected - set(responses))
        for status in expected:
            assert responses[status] == {"$ref": f"#/components/responses/{names[status]}"}
    for response in schema["components"]["responses"].values():
        assert response["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
    assert "409" in _responses(schema, "POST", "/v1/benchmarks/{id}/cancel")
    assert "409" in _responses(schema, "POST", "/api/votes/{org}/{name}")
    assert {"422", "502", "504"} <= set(_responses(schema, "POST", "/v1/evaluations"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("caller", "method", "path", "status"),
    [
        ("anonymous", "get", "/v1/auth/me", 401),
        ("viewer", "get", "/v1/completions/nope", 404),
        ("viewer", "post", "/v1/completions", 403),
        ("anonymous", "post", "/v1/auth/login", 400),
        ("anonymous", "get", "/api/models/organization/acme/submissions?days=31", 400),
    ],
)
def test_the_error_schema_is_what_errors_answer(
    schema: dict[str, Any], anon: Any, caller: str, method: str, path: str, status: int
) -> None:
    import jsonschema

    from tests.conftest import client_for, make_user

    client = anon if caller == "anonymous" else client_for(make_user("erin", caller))
    response = getattr(client, method)(path)
    assert response.status_code == status
    jsonschema.validate(response.json(), schema["components"]["schemas"]["Error"])
    assert response["X-Request-ID"]


def _parameter(schema: dict[str, Any], path: str, name: str, method: str = "get") -> Any:
    found = [p for p in schema["paths"][path][method]["parameters"] if p["name"] == name]
    assert len(found) == 1, (path, name)
    return found[0]["schema"]


def test_bounds_are_documented(schema: dict[str, Any]) -> None:
    days = _parameter(schema, "/api/models/organization/{org}/submissions", "days")
    assert (days["minimum"], days["maximum"], days["default"]) == (1, 30, 7)
    for method, path, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "page_size":
                assert parameter["schema"]["maximum"] == 100, (method, path)
    pattern = re.compile(
        _parameter(schema, "/api/votes/model/{provider}/{model}", "model")["pattern"]
    )
    for name in ["Llama-3.1-8B", "gpt2", "a", "x_y.z", "A" * 96]:
        assert pattern.match(name), name
    for name in ["", "-a", "a-", ".a", "a..b", "a--b", "a b", "é", "a/b", "A" * 97, "x.git"]:
        assert not pattern.match(name), name
    for path, names in [("/api/models/{org}/{name}/status", ["org", "name"]),
                        ("/api/votes/{org}/{name}", ["org", "name"])]:  # fmt: skip
        for name in names:
            assert _parameter(schema, path, name, "post" if "votes" in path else "get")["pattern"]


@pytest.mark.django_db
def test_the_plugin_list_is_documented_as_the_page_it_answers(schema: dict[str, Any]) -> None:
    import jsonschema
    from rest_framework.test import APIClient

    from tests.conftest import client_for, make_user

    reference = _responses(schema, "GET", "/v1/plugins")["200"]["content"]["application/json"]
    page = schema["components"]["schemas"][reference["schema"]["$ref"].rsplit("/", 1)[1]]
    assert page["required"] == ["items", "total", "page", "page_size", "total_pages"]
    assert page["properties"]["items"]["type"] == "array"
    client: APIClient = client_for(make_user("pat", "viewer"))
    body = client.get("/v1/plugins?page_size=2").json()
    assert body["page_size"] == 2 and len(body["items"]) == 2
    jsonschema.validate(body, {**page, "components": schema["components"]})
