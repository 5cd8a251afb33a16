"""Reading dataset files: JSON Lines, JSON or CSV, in our item shape or MMLU's.

An item is `{prompt, variables?, expected?, choices?, references?}`; `{{var}}` template variables in
the prompt must all have a value in `variables`. MMLU rows (`question`, `choices`, `answer` as
an index or a letter) become multiple-choice items answered by a letter. Every bad row is
reported with its line number, and a file with any bad row is refused whole.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from benchmarks.models import PLACEHOLDER
from leaderboard_site.api.errors import ApiError
from leaderboard_site.api.input import InvalidInput, check_json

FORMATS = ("jsonl", "json", "csv")
SCHEMAS = ("items", "mmlu")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class DatasetError(ApiError):
    def __init__(self, errors: list[dict[str, Any]]):
        first = errors[0]
        super().__init__(
            f"{len(errors)} bad row(s); the first, line {first['line']}: {first['message']}",
            details={"errors": errors[:100]},
        )


@dataclass(frozen=True)
class Item:
    prompt: str
    variables: dict[str, Any] = field(default_factory=dict)
    expected: str | None = None
    choices: list[str] | None = None
    references: list[str] = field(default_factory=list)


class RowError(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


def _rows(data: bytes, fmt: str) -> list[tuple[int, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        at = data[: exc.start].count(b"\n") + 1
        problem = {"line": at, "field": None, "message": f"not UTF-8 text: {exc.reason}"}
        raise DatasetError([problem]) from exc
    if "\x00" in text:  # PostgreSQL stores no NUL
        at = text[: text.index("\x00")].count("\n") + 1
        raise DatasetError(
            [{"line": at, "field": None, "message": "NUL characters are not accepted"}]
        )
    if fmt == "jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((number, json.loads(_checked(line, number))))
                except ValueError as exc:
                    raise DatasetError([{"line": number, "field": None,
                                         "message": f"invalid JSON: {exc}"}]) from exc  # fmt: skip
        return rows
    if fmt == "json":
        try:
            loaded = json.loads(_checked(text, 1))
        except ValueError as exc:
            at = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
            raise DatasetError(
                [{"line": at, "field": None, "message": f"invalid JSON: {exc}"}]
            ) from exc
        if isinstance(loaded, dict) and isinstance(loaded.get("items"), list):
            loaded = loaded["items"]
        if not isinstance(loaded, list):
            raise DatasetError([{"line": 1, "field": None, "message": "expected a list of items"}])
        return [(index, row) for index, row in enumerate(loaded, start=1)]
    reader = csv.DictReader(io.StringIO(text))
    return [(number, row) for number, row in enumerate(reader, start=2)]  # line 1 is the header


def _checked(text: str, line: int) -> str:
    """JSON text that keeps the input rules (no NUL escape, bounded nesting: json.loads would
    recurse), or the row's error."""
    try:
        check_json(text, "file")
    except InvalidInput as exc:
        raise DatasetError([{"line": line, "field": None, "message": exc.message}]) from exc
    return text


def _json_cell(value: Any, name: str) -> Any:
    """CSV cells hold JSON for lists and objects; other formats hold them natively."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            check_json(value, name)
            return json.loads(value)
        except (ValueError, InvalidInput) as exc:
            raise RowError(name, f"{name} is not valid JSON") from exc
    return value


def _strings(value: Any, name: str) -> list[str]:
    value = _json_cell(value, name)
    if isinstance(value, str):
        value = [part for part in value.split("|") if part] if value else []
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise RowError(name, f"{name} must be a list of strings")
    return [str(v) for v in value]


def _item(row: Any) -> Item:
    if not isinstance(row, dict):
        raise RowError("", "an item must be an object")
    prompt = row.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise RowError("prompt", "prompt is required")
    variables = _json_cell(row.get("variables") or {}, "variables")
    if not isinstance(variables, dict):
        raise RowError("variables", "variables must be an object")
    missing = sorted(set(PLACEHOLDER.findall(prompt)) - set(variables))
    if missing:
        raise RowError("variables", f"no value for {{{{{missing[0]}}}}} in the prompt")
    expected = row.get("expected")
    expected = None if expected in (None, "") else str(expected)
    choices = _strings(row["choices"], "choices") if row.get("choices") else None
    if choices is not None:
        if len(choices) < 2:
            raise RowError("choices", "a multiple-choice item needs at least two choices")
        if expected is not None and expected not in choices:
            raise RowError("expected", "expected must be one of the choices")
    references = _strings(row.get("references") or [], "references")
    return Item(prompt, variables, expected, choices, references)


def _mmlu(row: Any) -> Item:
    if not isinstance(row, dict) or not isinstance(row.get("question"), str):
        raise RowError("question", "question is required")
    options = _strings(row.get("choices") or [], "choices")
    if len(options) < 2:
        raise RowError("choices", "at least two choices are needed")
    answer = row.get("answer")
    letters = list(LETTERS[: len(options)])
    if isinstance(answer, str) and answer.strip().isdigit():
        answer = int(answer)
    if isinstance(answer, int) and 0 <= answer < len(options):
        expected = letters[answer]
    elif isinstance(answer, str) and answer.strip().upper() in letters:
        expected = answer.strip().upper()
    else:
        raise RowError("answer", "answer must be a choice's index or letter")
    pairs = zip(letters, options, strict=True)
    lines = [row["question"].strip(), *(f"{letter}. {option}" for letter, option in pairs)]
    return Item("\n".join([*lines, "Answer:"]), {}, expected, letters, [])


def parse(data: bytes, *, fmt: str, schema: str = "items") -> list[Item]:
    """Every item of a file, or DatasetError listing the bad rows by line number."""
    if fmt not in FORMATS:
        raise ApiError(f"format must be one of {', '.join(FORMATS)}", details={"format": fmt})
    if schema not in SCHEMAS:
        raise ApiError(f"schema must be one of {', '.join(SCHEMAS)}", details={"schema": schema})
    convert = _mmlu if schema == "mmlu" else _item
    items, errors = [], []
    for line, row in _rows(data, fmt):
        try:
            items.append(convert(row))
        except RowError as exc:
            errors.append({"line": line, "field": exc.field or None, "message": str(exc)})
    if errors:
        raise DatasetError(errors)
    if not items:
        raise DatasetError([{"line": 1, "field": None, "message": "the file has no items"}])
    return items


def format_of(filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {"ndjson": "jsonl"}.get(suffix, suffix)
