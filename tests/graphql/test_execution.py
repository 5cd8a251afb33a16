"""The plain types' fast path and the kept documents: the same answers as graphql-core's own
execution, errors and their paths included."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from strawberry.scalars import JSON

from leaderboard_site.graphql import documents
from leaderboard_site.graphql.documents import DocumentCache
from leaderboard_site.graphql.execution import PlainExecutionContext
from leaderboard_site.graphql.schema import LIMITS

DOUBLED: list[int] = []  # the rows whose `doubled` ran


@strawberry.type
class Leaf:
    name: str
    size: float | None
    extra: JSON


@strawberry.type
class Row:
    id: int
    label: str | None
    tags: list[str]
    leaves: list[Leaf]
    broken: strawberry.Private[bool]

    @strawberry.field
    def doubled(self) -> int:
        DOUBLED.append(self.id)
        if self.broken:
            raise ValueError("no double for this row")
        return self.id * 2

    @strawberry.field
    def first(self) -> Leaf | None:
        return self.leaves[0] if self.leaves else None


def _rows() -> list[Row]:
    return [
        Row(id=1, label="one", tags=["a", "b"], broken=False,
            leaves=[Leaf(name="x", size=1.5, extra={"k": [1, None]}),
                    Leaf(name="y", size=None, extra=[])]),
        Row(id=2, label=None, tags=[], broken=True, leaves=[]),
        Row(id=3, label=None, tags=["c"], broken=False,
            leaves=[Leaf(name=None, size=2.0, extra=1)]),  # type: ignore[arg-type]
        Row(id=4, label="four", tags=["d"], broken=False,
            leaves=[Leaf(name="z", size=None, extra=None)]),
        Row(id=5, label="five", tags=None, broken=False, leaves=[]),  # type: ignore[arg-type]
    ]  # fmt: skip


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row | None]:
        return _rows()


def _schema() -> strawberry.Schema:
    return strawberry.Schema(query=Query, execution_context_class=PlainExecutionContext)


QUERY = """{ rows { id label tags doubled alias: doubled first { name size }
                    leaves { __typename name size extra } } }"""


def _answer(schema: strawberry.Schema, query: str = QUERY) -> dict[str, Any]:
    result = schema.execute_sync(query)
    errors = sorted((error.message, tuple(error.path or ())) for error in result.errors or [])
    return {"data": result.data, "errors": errors}


def test_resolvers_lists_and_errors_answer_as_the_slow_path_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = _answer(_schema())
    monkeypatch.setattr(PlainExecutionContext, "_plan", lambda *args: None)
    slow = _answer(_schema())
    assert fast == slow
    rows = fast["data"]["rows"]
    assert rows[0] == {"id": 1, "label": "one", "tags": ["a", "b"], "doubled": 2, "alias": 2,
                       "first": {"name": "x", "size": 1.5},
                       "leaves": [{"__typename": "Leaf", "name": "x", "size": 1.5,
                                   "extra": {"k": [1, None]}},
                                  {"__typename": "Leaf", "name": "y", "size": None,
                                   "extra": []}]}  # fmt: skip
    # A failing resolver, a null non-null leaf (a JSON one too) or list: each nulls its own row,
    # with the error at the field it belongs to (and `first`, nullable, only itself).
    assert rows[1:] == [None, None, None, None]
    assert sorted(path for _, path in fast["errors"]) == [
        ("rows", 1, "doubled"), ("rows", 2, "first", "name"), ("rows", 2, "leaves", 0, "name"),
        ("rows", 3, "leaves", 0, "extra"), ("rows", 4, "tags"),
    ]  # fmt: skip


def test_a_plan_runs_only_what_graphql_core_would_resolve() -> None:
    DOUBLED.clear()
    assert _answer(_schema(), "{ rows { id } }")["errors"] == []
    assert DOUBLED == []  # a field not asked is never read
    _answer(_schema(), "{ rows { doubled } }")
    assert sorted(set(DOUBLED)) == [1, 2, 3, 4, 5]


@pytest.fixture
def fresh_documents(monkeypatch: pytest.MonkeyPatch) -> documents._Kept:
    kept = documents._Kept(2)
    monkeypatch.setattr(documents, "kept", kept)
    return kept


def test_a_valid_document_is_kept_and_its_next_request_is_not_validated_again(
    fresh_documents: documents._Kept, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = strawberry.Schema(query=Query, extensions=[*LIMITS],
                               execution_context_class=PlainExecutionContext)  # fmt: skip
    query = "{ rows { id } }"
    assert schema.execute_sync(query).errors is None
    assert list(fresh_documents.documents) == [query]
    validated: list[object] = []
    monkeypatch.setattr("strawberry.schema.schema.validate", lambda *a: validated.append(a) or [])
    again = schema.execute_sync(query)
    assert again.errors is None and again.data == {"rows": [{"id": n} for n in range(1, 6)]}
    assert validated == []
    schema.execute_sync("{ rows { label } }")
    assert len(validated) == 1  # a new text is validated


def test_refused_documents_are_not_kept_and_the_oldest_go_first(
    fresh_documents: documents._Kept,
) -> None:
    schema = strawberry.Schema(query=Query, extensions=[DocumentCache],
                               execution_context_class=PlainExecutionContext)  # fmt: skip
    for _ in range(2):
        refused = schema.execute_sync("{ rows { nope } }")
        assert refused.errors and "nope" in refused.errors[0].message
    assert schema.execute_sync("{ rows {").errors  # a syntax error
    assert list(fresh_documents.documents) == []
    for query in ("{ rows { id } }", "{ rows { label } }", "{ rows { doubled: id } }"):
        assert schema.execute_sync(query).errors is None
    assert list(fresh_documents.documents) == ["{ rows { label } }", "{ rows { doubled: id } }"]
