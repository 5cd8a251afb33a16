from __future__ import annotations

import io
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
