"""DRF's JSON parser, bounded: the body goes through the input rules (no NUL, at most
MAX_JSON_DEPTH levels; once, when the input middleware has checked it already) and orjson, so
that no body can make the parser recurse out of stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

from leaderboard_site.api.input import loads


class JSONParser(BaseParser):
    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        request = getattr((parser_context or {}).get("request"), "_request", None)
        return loads(stream.read(), checked=getattr(request, "json_body_checked", False))
