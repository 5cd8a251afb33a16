"""The schema's URL answers JSON, and browsers on another origin may use the API's headers."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/yaml", "application/vnd.oai.openapi", "text/html",
     "application/json", "application/vnd.oai.openapi+json"],
)  # fmt: skip
def test_the_schema_is_json_whatever_the_client_accepts(anon: Any, accept: str | None) -> None:
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = anon.get("/api-docs/openapi.json", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert orjson.loads(response.content)["openapi"].startswith("3.")
    assert ".json" in response["Content-Disposition"]


def test_a_preflight_allows_the_api_key_and_request_id_headers(anon: Any) -> None:
    response = anon.options(
        "/v1/completions",
        HTTP_ORIGIN="https://elsewhere.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key, x-request-id, content-type, authorization",
    )
    assert response.status_code == 200
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"x-api-key", "x-request-id", "content-type", "authorization"} <= allowed


def test_a_browser_may_read_the_request_id_and_the_rate_limit_headers(anon: Any) -> None:
    response = anon.get("/health", HTTP_ORIGIN="https://elsewhere.example")
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"x-request-id", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
            "retry-after", "etag"} <= exposed  # fmt: skip
    assert response["Access-Control-Allow-Origin"] == "*"
