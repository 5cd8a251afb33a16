"""GET /api/v1/models/?search=: the upstream frontend's search, on the bundled snapshot.

The expected counts are what the frontend's own code (its parseSearchQuery and useFilteredData,
run by node over the same 4,576 formatted rows, with JavaScript's RegExp) shows for each text.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from leaderboard import search

pytestmark = pytest.mark.django_db
URL = "/api/v1/models/"

FRONTEND_COUNTS = [
    # the four
    ("@precision:bfloat16 qwen", 649),
    ("@architecture:qwen2 @license:apache", 554),
    ("^meta-llama/", 20),
    ("@precision:float16", 4574),  # a substring: bfloat16 too
    # fields alone, and combined
    ("@precision:4bit", 2),
    ("@precision:bfloat16", 3423),
    ("@precision:float16 @architecture:llama @license:llama3", 417),
    ("@license:mit @type:chat", 57),
    ("@license:apache-2.0", 1482),
    ("@license:other", 296),
    ("@type:merge", 1724),
    ("@type:pretrained", 333),  # continuously-pretrained too
    ("@type:fine-tuned", 1785),
    ("@type:pre@architecture:llama", 119),  # a value stops at the next @
    ("@architecture:llama@license:mit", 92),
    # `;` alternatives
    ("qwen; llama", 1598),
    ("@type:chat; @type:merge", 2442),
    ("@license:apache qwen; @license:mit llama", 318),
    ("deepseek;  ;  @type:multimodal", 64),
    ("@color:blue; qwen", 773),
    # the name: a substring, case-insensitive
    ("qwen", 773),
    ("QWEN", 773),
    ("meta-llama/", 20),
    ("qwen @precision:bfloat16 instruct", 0),  # the text left is "qwen  instruct"
    # the name: a regular expression when it has regex characters
    ("^qwen/qwen2\\.5-[0-9]+b-instruct$", 5),
    ("(llama|mistral).*7b", 109),
    ("7b$", 221),
    ("mistral-7b-v0\\.[13]", 8),
    ("[0-9]{2}b", 993),
    ("\\bqwen", 723),
    ("a{2,}", 89),
    ("^(?:google|microsoft)/", 51),
    ("^.{60,}$", 132),
    (".*", 4576),
    ("^$", 0),
    ("meta-llama/llama-3.1-8b-instruct", 1),  # `.` makes it a regex; it matches itself
    # invalid regexes are substrings (no name holds them)
    ("(", 0),
    ("qwen(", 0),
    ("[", 0),
    # pathological for a backtracking engine, linear for RE2
    ("(a+)+$", 85),
    ("(x+x+)+y", 0),
    # unknown or capitalized fields match nothing; an empty value is left in the text
    ("@color:blue", 0),
    ("@Precision:float16", 0),
    ("@precision:", 0),
    ("@precision: qwen", 0),
    # no part at all: no filter
    (" ; ;", 4576),
]


def _total(client: Any, text: str) -> int:
    response = client.get(URL, {"search": text, "page_size": 1})
    assert response.status_code == 200, (text, response.content)
    return response.json()["total"]


def test_the_frontends_counts_on_the_bundled_data(imported: Any, anon: Any, settings) -> None:
    settings.RATE_LIMIT_ENABLED = False
    wrong = [
        (text, expected, got)
        for text, expected in FRONTEND_COUNTS
        if (got := _total(anon, text)) != expected
    ]
    assert not wrong, wrong


def test_where_re2_and_javascript_differ_re2s_refusal_is_a_substring(
    imported: Any, anon: Any
) -> None:
    # JavaScript runs lookaheads and backreferences (the frontend finds 773 for this); RE2
    # refuses them, so the text is a substring, which no name holds.
    assert _total(anon, "(?=qwen)") == 0


def test_pathological_patterns_answer_quickly(imported: Any, anon: Any, settings) -> None:
    settings.RATE_LIMIT_ENABLED = False
    for text in [
        "(a+)+$",
        "((((((((((a*)*)*)*)*)*)*)*)*)*)*b",
        "(.*a){100}",
        "(.{1,30}){1,30}\\$",  # a program too large for RE2_MAX_MEM: a substring
        "(" * 300 + "a",  # longer than MAX_PATTERN: a substring, never compiled
    ]:
        started = time.monotonic()
        _total(anon, text)
        assert time.monotonic() - started < search.MATCH_BUDGET + 1.0, text


def test_a_search_over_its_time_budget_is_a_400(
    imported: Any, anon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "MATCH_BUDGET", -1.0)  # every search is over it
    response = anon.get(URL, {"search": "(a+)+$"})
    assert response.status_code == 400
    body = response.json()
    assert "simplify" in body["detail"]
    assert body["error"]["details"]["fields"]["search"]
    assert anon.get(URL, {"search": " ; "}).status_code == 200  # nothing to match


@pytest.mark.parametrize(
    ("text", "fields", "rest"),
    [
        ("@precision:bfloat16 qwen", (("precision", "bfloat16"),), "qwen"),
        ("qwen @type:chat @license:mit", (("type", "chat"), ("license", "mit")), "qwen"),
        ("@type:pre@architecture:llama", (("type", "pre"), ("architecture", "llama")), ""),
        ("@precision:", (), "@precision:"),
        ("@a:1 @a:2", (("a", "1"), ("a", "2")), ""),
        ("\ufeff x \u00a0", (), "x"),  # JavaScript's trim
        ("@type:chat\u00a0qwen", (("type", "chat"),), "qwen"),  # JavaScript's \s
    ],
)
def test_parsing_follows_the_frontend(text: str, fields: tuple, rest: str) -> None:
    alternative = search.parse_alternative(text)
    assert (alternative.fields, alternative.text) == (fields, rest)
