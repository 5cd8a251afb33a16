"""What every input must be before anything reads it: no NUL character anywhere (PostgreSQL
refuses it in text, so it would surface as a 500 deep in a query), and JSON nested at most
MAX_JSON_DEPTH levels (a recursive parser would otherwise run out of stack on `[` x 100,000).

Used by the input middleware (the path, the query string, cookies, form fields and JSON bodies of
every route), the DRF parser, the GraphQL view and the `/ws` consumer. The depth is measured on
the raw bytes, at C speed, before any parser sees them; the parser is orjson, itself bounded.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from leaderboard_site.api.errors import ApiError

# A JSON string, escapes included (the unrolled form: linear, no backtracking blow-up).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")  # for the depth, an object is a list
# The escape \u0000 where it is one: after an even number of backslashes (`\\u0000` is a
# backslash followed by the text "u0000"). Outside strings a backslash is not JSON at all.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class InvalidInput(ApiError):
    """400 for input no route may read; `details.reason` says which rule it broke."""

    def __init__(self, message: str, *, reason: str, **details: Any) -> None:
        super().__init__(message, details={"reason": reason, **details})


def nul_refused(where: str) -> InvalidInput:
    return InvalidInput(
        f"NUL characters are not accepted (found in the {where}).", reason="nul", where=where
    )


def too_deep(where: str) -> InvalidInput:
    limit = settings.MAX_JSON_DEPTH
    return InvalidInput(
        f"JSON nested deeper than {limit} levels is not accepted (in the {where}).",
        reason="too_deep",
        where=where,
        limit=limit,
    )


def check_text(value: str, where: str) -> None:
    if "\x00" in value:
        raise nul_refused(where)


def check_query_string(query: str) -> None:
    if "%00" in query or "\x00" in query:
        raise nul_refused("query string")


def _depth_over(data: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit` (or, unbalanced, open more
    than `limit` before closing any). No recursion: strip the strings, keep the brackets (all
    square), and remove the innermost pairs, one level per pass (one replace: no cascade)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _JSON_STRING.sub(b"", data).translate(_AS_SQUARE, _NOT_BRACKETS)
    for level in range(limit):
        if not brackets:
            return False
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):  # no pair left: not JSON; refuse as deep if it is
            return level + len(brackets) - len(brackets.lstrip(b"[")) > limit
        brackets = inner
    return bool(brackets)


def check_json(data: bytes | str, where: str = "body") -> None:
    """Refuse JSON text nested deeper than MAX_JSON_DEPTH or holding a NUL, before parsing."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if b"\x00" in raw or (b"\\u0000" in raw and _NUL_ESCAPE.search(raw)):
        raise nul_refused(where)
    if _depth_over(raw, settings.MAX_JSON_DEPTH):
        raise too_deep(where)


def loads(data: bytes | str, where: str = "body", *, checked: bool = False) -> Any:
    """Parse JSON text that passes check_json (`checked`: it did already); InvalidInput (400)
    for anything else."""
    if not checked:
        check_json(data, where)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:  # orjson's own limit (1024) is never reached here
        raise InvalidInput(f"The {where} is not valid JSON: {exc}", reason="json") from exc


def _is_json(content_type: str) -> bool:
    return "json" in content_type


def _is_form(content_type: str) -> bool:
    return content_type in ("application/x-www-form-urlencoded", "multipart/form-data")


def check_request(request: HttpRequest) -> None:
    """Every part of a request a route may read: InvalidInput for the first that breaks a rule.
    Bodies other than JSON and forms (files, raw bytes) are the route's to judge."""
    check_text(request.path, "path")
    check_query_string(request.META.get("QUERY_STRING", ""))
    if "\\0" in request.META.get("HTTP_COOKIE", ""):  # a quoted cookie's octal escape
        for name, value in request.COOKIES.items():
            check_text(name + value, "cookies")
    if request.method in ("GET", "HEAD", "OPTIONS") and not request.META.get("CONTENT_LENGTH"):
        return
    content_type = request.content_type or ""
    if _is_json(content_type):
        check_json(request.body)
        request.json_body_checked = True  # type: ignore[attr-defined] # the parser's not again
    elif _is_form(content_type):
        _check_form(request)


def _check_form(request: HttpRequest) -> None:
    # The body first, so that the form is parsed from a copy: the stream stays readable for the
    # view's own parser (DRF would otherwise see no body, and a JSON-only view an empty one).
    request.body  # noqa: B018
    try:
        fields = request.POST
    except MultiPartParserError as exc:  # DRF would say the same later; say it in the envelope
        raise InvalidInput(f"The form could not be read: {exc}", reason="form") from exc
    for name, values in fields.lists():
        for value in [name, *values]:
            check_text(value, "form fields")
    for name, files in request.FILES.lists():
        for value in [name, *(upload.name or "" for upload in files)]:
            check_text(value, "form fields")
