from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def assert_envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "request_id", "timestamp", "detail"}
    assert body["detail"] == body["error"]["message"]  # what the upstream frontend shows
    assert {"code", "message", "details"} <= set(body["error"])
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["request_id"] == response["X-Request-ID"]
    assert body["timestamp"].endswith("Z")
    return body


def test_unknown_route_is_a_404_envelope(anon: Any) -> None:
    assert_envelope(anon.get("/api/nothing-here"), 404, "NOT_FOUND")


def test_wrong_method_is_a_405_envelope(anon: Any) -> None:
    assert_envelope(anon.delete("/api/leaderboard/formatted"), 405, "METHOD_NOT_ALLOWED")
    assert_envelope(anon.post("/api/v1/models/", {}), 405, "METHOD_NOT_ALLOWED")


def test_validation_errors_name_the_field(anon: Any) -> None:
    body = assert_envelope(anon.get("/api/v1/models/", {"hide_moe": "perhaps"}), 400, "BAD_REQUEST")
    assert "hide_moe" in body["error"]["details"]["fields"]


def test_an_oversized_body_is_a_413_envelope(anon: Any, settings: Any) -> None:
    settings.MAX_REQUEST_BYTES = 2048
    response = anon.generic("POST", "/api/v1/models/", b"x" * 4096, "application/json")
    body = assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert body["error"]["details"] == {"limit_bytes": 2048, "content_length": 4096}


@pytest.mark.urls("tests.api.urls_failing")
@pytest.mark.parametrize("path", ["/boom/plain", "/boom/api"])
def test_a_bug_is_a_500_envelope_without_internals(path: str) -> None:
    client = Client(raise_request_exception=False)
    body = assert_envelope(client.get(path), 500, "INTERNAL_ERROR")
    assert "bug" not in body["error"]["message"]


def test_request_id_is_echoed_or_made(anon: Any) -> None:
    sent = anon.get("/health", HTTP_X_REQUEST_ID="req-123.abc")
    assert sent["X-Request-ID"] == "req-123.abc"
    made = anon.get("/health")
    assert len(made["X-Request-ID"]) == 36
    hostile = anon.get("/health", HTTP_X_REQUEST_ID="a b\nc" * 50)
    assert hostile["X-Request-ID"] != "a b\nc" * 50


def test_one_access_log_line_per_request(anon: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="leaderboard_site.access"):
        response = anon.get("/api/v1/models/", HTTP_X_REQUEST_ID="trace-1")
    [record] = [r for r in caplog.records if r.name == "leaderboard_site.access"]
    assert (record.method, record.path, record.status) == ("GET", "/api/v1/models/", 200)
    assert record.request_id == "trace-1" == response["X-Request-ID"]
    assert record.duration_ms >= 0


def test_large_json_responses_are_gzipped_small_ones_not(anon: Any) -> None:
    from tests.leaderboard.factories import EntryFactory

    EntryFactory.create_batch(5)
    large = anon.get("/api/v1/models/", HTTP_ACCEPT_ENCODING="gzip")
    assert large["Content-Encoding"] == "gzip"
    small = anon.get(
        "/api/v1/models/", {"page_size": 1, "search": "none"}, HTTP_ACCEPT_ENCODING="gzip"
    )
    assert len(small.content) < 500
    assert not small.has_header("Content-Encoding")


def test_cors_allows_configured_origins(anon: Any, settings: Any) -> None:
    response = anon.get("/health", HTTP_ORIGIN="https://frontend.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "X-Request-ID" in response["Access-Control-Expose-Headers"]
