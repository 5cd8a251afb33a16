"""Input no route may read (leaderboard_site/api/input.py): a NUL anywhere, and JSON nested past
MAX_JSON_DEPTH, are a 400 in the envelope on every route, before anything is stored."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.base import BaseHandler
from django.test import Client, RequestFactory

from benchmarks.models import Dataset, Evaluation
from leaderboard_site.api.input import InvalidInput, check_json, loads
from tests.api.test_errors import assert_envelope
from votes.models import Vote

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000
JSON_ROUTES = [  # every route that reads a JSON body
    "/v1/auth/login",
    "/v1/auth/api-keys",
    "/v1/completions",
    "/v1/evaluations",
    "/v1/datasets",
    "/v1/benchmarks",
    "/v1/plugins/exact_match/execute",
    "/api/models/submit",
    "/api/votes/org/model",
    "/graphql",
]


def refused(response: Any, reason: str, where: str | None = None) -> dict[str, Any]:
    body = assert_envelope(response, 400, "BAD_REQUEST")
    assert body["error"]["details"]["reason"] == reason
    if where is not None:
        assert body["error"]["details"]["where"] == where
    return body


@pytest.mark.parametrize(
    "path",
    [
        "/api/models/a%00b/name/status",
        "/api/votes/model/org%00/name",
        "/api/votes/org/na%00me",
        "/api/models/organization/org%00/submissions",
        "/api/votes/user/bo%00b",
        "/v1/datasets/x%00y",
        "/api/no%00where",
    ],
)
def test_a_nul_in_the_path_is_a_400(anon: Any, path: str) -> None:
    refused(anon.get(path), "nul", "path")


def test_a_nul_in_a_vote_path_stores_nothing(alice_client: Any) -> None:
    response = alice_client.post("/api/votes/org/na%00me", {"vote_type": "up"}, format="json")
    refused(response, "nul", "path")
    assert alice_client.delete("/api/votes/org/na%00me").status_code == 400
    assert not Vote.objects.exists()


@pytest.mark.parametrize(
    "query", ["search=a%00b", "page=1&days=%00", "x%00=1", "hide_moe=true&ordering=%00name"]
)
def test_a_nul_in_the_query_string_is_a_400(anon: Any, query: str) -> None:
    refused(anon.get(f"/api/v1/models/?{query}"), "nul", "query string")
    refused(anon.get(f"/api/models/organization/org/submissions?{query}"), "nul", "query string")


@pytest.mark.parametrize(
    "body",
    [
        {"output": "The answer\u0000", "metrics": ["exact_match"]},
        {"output": "4", "metrics": ["exact_match"], "parameters": {"ke\u0000y": 1}},
        {"output": "4", "metrics": ["exact_match", ["deeper", {"x": "\u0000"}]]},
    ],
    ids=["value", "key", "nested"],
)
def test_a_nul_in_any_json_string_is_a_400_and_nothing_is_stored(
    alice_client: Any, body: dict[str, Any]
) -> None:
    refused(alice_client.post("/v1/evaluations", body, format="json"), "nul", "body")
    assert not Evaluation.objects.exists()


def test_an_escaped_backslash_before_u0000_is_not_a_nul(alice_client: Any) -> None:
    body = {"output": "a\\u0000 is six characters", "expected": "4", "metrics": ["exact_match"]}
    response = alice_client.post("/v1/evaluations", body, format="json")
    assert response.status_code == 201, response.content
    assert Evaluation.objects.get().output == body["output"]


def test_a_nul_in_form_fields_is_a_400_and_nothing_is_stored(alice_client: Any) -> None:
    upload = SimpleUploadedFile("sums.jsonl", b'{"prompt": "2+2?", "expected": "4"}\n')
    refused(alice_client.post("/v1/datasets", {"name": "su\x00ms", "file": upload}), "nul")
    assert not Dataset.objects.filter(name__startswith="su").exists()
    admin_login = Client().post("/admin/login/", {"username": "a\x00", "password": "x"})
    refused(admin_login, "nul", "form fields")


def test_a_nul_in_a_quoted_cookie_is_a_400(anon: Any) -> None:
    response = anon.get("/admin/", HTTP_COOKIE='sessionid="abcdefgh\\000ijk"')
    refused(response, "nul", "cookies")


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_deeply_nested_json_is_a_400_on_every_json_route(alice_client: Any, path: str) -> None:
    started = time.monotonic()
    response = alice_client.post(path, DEEP, content_type="application/json")
    body = refused(response, "too_deep")
    assert body["error"]["details"]["limit"] == 64
    deep_object = '{"a":' * 2000 + "1" + "}" * 2000
    refused(alice_client.post(path, deep_object, content_type="application/json"), "too_deep")
    assert time.monotonic() - started < 2


def test_the_anonymous_login_refuses_deep_json_too(anon: Any) -> None:
    refused(anon.post("/v1/auth/login", DEEP, content_type="application/json"), "too_deep")


def test_json_at_the_limit_reaches_the_view(alice_client: Any) -> None:
    inside = "[" * 62 + "]" * 62  # 64 levels with the object and its list
    body = (
        '{"output": "4", "expected": "4", "metrics": ["exact_match"], "parameters": {"x": '
        + inside
        + "}}"
    )
    response = alice_client.post("/v1/evaluations", body, content_type="application/json")
    assert response.status_code == 201, response.content
    deeper = body.replace(inside, "[" + inside + "]")
    response = alice_client.post("/v1/evaluations", deeper, content_type="application/json")
    refused(response, "too_deep")
    assert Evaluation.objects.count() == 1


def test_graphql_refuses_nul_and_depth_in_its_variables_and_query(anon: Any) -> None:
    query = "query($x: String) { version }"
    variables = json.dumps({"x": "a\u0000"})
    refused(anon.get("/graphql", {"query": query, "variables": variables}), "nul", "request")
    refused(anon.get("/graphql", {"query": "{ version }\x00"}), "nul", "query string")
    body = json.dumps({"query": query, "variables": {"x": "a\u0000"}})
    refused(anon.post("/graphql", body, content_type="application/json"), "nul", "body")
    deep = json.dumps({"query": query}).replace("}", ', "v": ' + DEEP + "}")
    refused(anon.post("/graphql", deep, content_type="application/json"), "too_deep")


def test_the_graphql_view_checks_on_its_own(settings: Any) -> None:
    """Without the middleware (a route mounted elsewhere), the view's parser holds the rules."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("input_rules")]
    client = Client()
    response = client.post("/graphql", DEEP, content_type="application/json")
    refused(response, "too_deep", "request")
    body = '{"query": "{ version }", "variables": {"\\u0000": 1}}'
    refused(client.post("/graphql", body, content_type="application/json"), "nul", "request")


def test_the_drf_parser_checks_on_its_own(settings: Any, alice_client: Any) -> None:
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("input_rules")]
    response = alice_client.post("/v1/evaluations", DEEP, content_type="application/json")
    refused(response, "too_deep", "body")
    body = '{"output": "\\u0000", "metrics": ["exact_match"]}'
    response = alice_client.post("/v1/evaluations", body, content_type="application/json")
    refused(response, "nul", "body")
    response = alice_client.post("/v1/evaluations", "{nope", content_type="application/json")
    refused(response, "json", None)
    assert not Evaluation.objects.exists()


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ("[" * 64 + "]" * 64, False),
        ("[" * 65 + "]" * 65, True),
        ('{"a": "' + "[" * 500 + '"}', False),  # brackets in a string are text
        ('["\\"[[[", ' + "[" * 63 + "]" * 63 + "]", False),  # an escaped quote in a string
        ("[" * 100_000, True),
        ("[{" * 40 + "}]" * 40, True),
        ("[{" * 32 + "}]" * 32, False),
        ('[[], {"a": [{}]}, ' + "[{" * 32 + "}]" * 32 + "]", True),  # 65 levels, alternating
        ("[[]," * 10_000 + "[]" + "]" * 10_000, True),
        ("[" + "[]," * 100_000 + "[]]", False),  # wide, shallow
    ],
)
def test_the_depth_is_measured_without_parsing(settings: Any, text: str, deep: bool) -> None:
    if deep:
        with pytest.raises(InvalidInput, match="deeper than 64"):
            check_json(text)
    else:
        check_json(text)


def test_a_large_flat_body_is_checked_quickly() -> None:
    body = json.dumps([{"prompt": "x" * 100, "v": {"a": [1, 2]}} for _ in range(50_000)])
    started = time.perf_counter()
    check_json(body)  # ~0.1 s for these 6.5 MB, at C speed: no walk over the parsed items
    assert time.perf_counter() - started < 1.0


def test_invalid_json_is_a_400_not_a_crash() -> None:
    for text in ("[1, 2", "]]]][[[[", '"\\ud800"', "\x00", "[" * 50, "NaN"):
        with pytest.raises(InvalidInput):
            loads(text)


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("rows.jsonl", b'{"prompt": "ok"}\n{"prompt": "a\\u0000b"}\n', 2),
        ("rows.csv", b"prompt,expected\nok,1\nbad\x00,2\n", 3),
        (
            "rows.jsonl",
            b'{"prompt": "ok"}\n{"prompt": "x", "variables": ' + b"[" * 5000 + b"}\n",
            2,
        ),
        ("rows.csv", b'prompt,choices\nok,"' + b"[" * 5000 + b'"\n', 2),
    ],
    ids=["nul escape in a json line", "nul in a csv cell", "deep json line", "deep csv cell"],
)
def test_a_dataset_file_with_a_nul_or_deep_json_is_refused_with_its_line(
    alice_client: Any, name: str, content: bytes, line: int
) -> None:
    response = alice_client.post(
        "/v1/datasets", {"name": "rows", "file": SimpleUploadedFile(name, content)}
    )
    body = assert_envelope(response, 400, "BAD_REQUEST")
    assert body["error"]["details"]["errors"][0]["line"] == line
    inline = {"name": "rows", "format": name.rsplit(".", 1)[1], "content": content.decode()}
    assert alice_client.post("/v1/datasets", inline, format="json").status_code == 400
    assert not Dataset.objects.filter(name="rows").exists()


def test_a_chunked_body_no_server_read_is_a_411_never_an_empty_body() -> None:
    """The ASGI handler and serve.ThreadWorker's WSGI wrapper read chunked bodies and give them
    a Content-Length (tests/api/test_live_server.py); a server that did neither is refused."""
    body = b'{"username": "alice", "password": "pw"}'
    request = RequestFactory().post(
        "/v1/auth/login", body, content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )
    del request.META["CONTENT_LENGTH"]
    handler = BaseHandler()
    handler.load_middleware()
    response = handler.get_response(request)
    assert response.status_code == 411
    assert json.loads(response.content)["error"]["code"] == "LENGTH_REQUIRED"


def test_checking_a_form_leaves_its_body_to_the_view(alice_client: Any) -> None:
    """The form is read from a copy: a JSON-only view still sees (and refuses) the body, and a
    view taking forms still parses it."""
    response = alice_client.post("/v1/evaluations", {"output": "4", "metrics": "exact_match"})
    assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    upload = SimpleUploadedFile("sums.jsonl", b'{"prompt": "2+2?", "expected": "4"}\n')
    response = alice_client.post("/v1/datasets", {"name": "sums", "file": upload})
    assert response.status_code == 201, response.content
