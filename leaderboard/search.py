"""The upstream frontend's search syntax, matched in Python over the snapshot's rows.

`;` separates alternatives; inside one, every `@field:value` part (precision, architecture,
license, type: a case-insensitive substring of that field) must hold, and the remaining text
matches the model name: as a case-insensitive regular expression when it contains regex
characters and RE2 accepts it, otherwise as a substring. An unknown field matches nothing.
This is the frontend's own parsing (its `parseSearchQuery` and `useFilteredData`), so that
`GET /api/v1/models/?search=` gives the rows the frontend shows for the same text, the same on
every database: no database regex engine ever sees a caller's pattern.

Cost: RE2 matches in time linear in the name; a pattern longer than MAX_PATTERN characters, or
whose compiled program exceeds RE2_MAX_MEM, is a substring instead; and one search spends at
most MATCH_BUDGET seconds compiling and matching (beyond: SearchError, a 400), whatever the
patterns.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import re2

MAX_PATTERN = 256  # characters; a longer text part is matched as a substring
RE2_MAX_MEM = 64 * 1024  # bytes for the compiled program and its DFA cache
MATCH_BUDGET = 1.0  # seconds of compiling and matching per search
_BUDGET_STRIDE = 128  # names matched between two looks at the clock

# JavaScript's \s, which its String.prototype.trim strips too (Python's differ at the edges).
_JS_SPACE = "".join(
    chr(c) for c in [9, 10, 11, 12, 13, 32, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028,
                     0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF]
)  # fmt: skip
_VALUE = "([^" + re.escape(_JS_SPACE) + "@]+)"  # a field's value: up to a space or an @
_PREFIX = re.compile(r"@[A-Za-z0-9_]+:")  # JavaScript's \w is ASCII
_LOOKS_LIKE_REGEX = re.compile(r"[\\^$.*+?()\[\]{}|]")

# @field -> the index column it reads (the frontend's getFieldPath, on the formatted shape)
FIELDS = {
    "precision": "precision",  # model.precision
    "architecture": "architecture",  # model.architecture
    "license": "hub_license",  # metadata.hub_license
    "type": "model_type",  # model.type
}


SearchedRow = tuple[str, str, str, str | None, str]


class SearchError(ValueError):
    """A search that cannot be answered (too costly to match)."""


def _js_trim(text: str) -> str:
    return text.strip(_JS_SPACE)


@dataclass(frozen=True)
class Alternative:
    """One `;`-separated part: its `@field:value` conditions and its text."""

    fields: tuple[tuple[str, str], ...]
    text: str


def parse_alternative(query: str) -> Alternative:
    """The frontend's parseSearchQuery: each `@field:` prefix found takes the non-space,
    non-`@` characters after it as its value; what is left, trimmed, is the text."""
    fields: list[tuple[str, str]] = []
    remaining = query
    for prefix in _PREFIX.findall(query):
        part = re.compile(re.escape(prefix) + _VALUE)

        def take(match: re.Match[str], field: str = prefix[1:-1]) -> str:
            fields.append((field, match.group(1)))
            return ""

        remaining = part.sub(take, remaining)
    return Alternative(tuple(fields), _js_trim(remaining))


def parse(search: str) -> list[Alternative]:
    parts = (_js_trim(part) for part in search.split(";"))
    return [parse_alternative(part) for part in parts if part]


@functools.lru_cache(maxsize=64)  # at most 64 x RE2_MAX_MEM held
def _compiled(pattern: str) -> Any:  # an re2 regexp, or None
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = RE2_MAX_MEM
    try:
        return re2.compile(pattern, options)
    except re2.error:  # RE2's syntax refuses it, or its program is too large
        return None


def name_matcher(text: str) -> Callable[[str], bool]:
    """How the text part matches a lowercased model name."""
    needle = text.lower()
    if len(text) <= MAX_PATTERN and _LOOKS_LIKE_REGEX.search(text):
        regex = _compiled(text)
        if regex is not None:
            search = regex.search
            return lambda name: search(name) is not None
    return lambda name: needle in name


@dataclass(frozen=True)
class Column:
    """One searchable field: its distinct values, and each row's value as an index into them."""

    values: tuple[str | None, ...]
    codes: array

    @classmethod
    def of(cls, items: Iterable[str | None]) -> Column:
        index: dict[str | None, int] = {}
        codes = array("I", (index.setdefault(item, len(index)) for item in items))
        return cls(tuple(index), codes)

    def rows_where(self, value: str) -> Callable[[int], bool]:
        """The frontend's test: the field's text, lowercased, contains the value, lowercased."""
        wanted = value.lower()
        hits = {code for code, v in enumerate(self.values) if v is not None and wanted in v.lower()}
        codes = self.codes
        return lambda row: codes[row] in hits


@dataclass(frozen=True)
class SearchIndex:
    """What a search reads, built with each snapshot: the entries' ids, lowercased names and
    searchable fields, in the snapshot's order."""

    kind: str
    digest: str
    ids: array
    names: tuple[str, ...]
    columns: dict[str, Column]

    @property
    def count(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, ids: Sequence[int], rows: Sequence[SearchedRow]) -> SearchIndex:
        """`rows`: (name, precision, architecture, hub_license, model_type) per id."""
        names = tuple(row[0].lower() for row in rows)
        columns = {
            column: Column.of(row[position] for row in rows)
            for position, column in enumerate(FIELDS.values(), start=1)
        }
        digest = hashlib.blake2b(repr((list(ids), names)).encode(), digest_size=16)
        for column in columns.values():
            digest.update(repr((column.values, column.codes.tobytes())).encode())
        return cls("search", digest.hexdigest(), array("q", ids), names, columns)

    def matching_ids(self, search: str) -> list[int] | None:
        """The ids of the entries the search shows, in index order; None when the search has
        no part (no filter)."""
        alternatives = parse(search)
        if not alternatives:
            return None
        shown = bytearray(len(self.ids))
        clock = _Budget()
        for alternative in alternatives:
            clock.check()  # however many alternatives (each may compile a pattern)
            self._mark(alternative, shown, clock)
        return [self.ids[row] for row in range(len(shown)) if shown[row]]

    def _mark(self, alternative: Alternative, shown: bytearray, clock: _Budget) -> None:
        rows: Iterable[int] = (row for row in range(len(shown)) if not shown[row])
        for field, value in alternative.fields:
            column = FIELDS.get(field)  # names are case-sensitive, as the frontend's paths
            if column is None:
                return  # an unknown field matches nothing
            rows = filter(self.columns[column].rows_where(value), rows)
        if not alternative.text:
            for row in rows:
                shown[row] = 1
            return
        matches = name_matcher(alternative.text)
        names = self.names
        for count, row in enumerate(rows):
            if count % _BUDGET_STRIDE == 0:
                clock.check()
            if matches(names[row]):
                shown[row] = 1


class _Budget:
    def __init__(self) -> None:
        self.deadline = time.monotonic() + MATCH_BUDGET

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise SearchError(
                f"This search takes more than {MATCH_BUDGET:g} s to match: simplify the "
                "regular expression."
            )
