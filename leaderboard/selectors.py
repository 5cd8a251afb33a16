"""Reads of the leaderboard: filtered entry lists for the paginated API."""

from __future__ import annotations

import io
import json
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Q, QuerySet
from django.db.models.expressions import RawSQL

from leaderboard.models import Entry
from leaderboard.search import SearchError
from leaderboard.snapshot import search_index_get

__all__ = [
    "SearchError",
    "entries_ordered",
    "entries_searched",
    "score_distributions",
    "score_rank",
]

ORDERINGS = {
    "average": "average",
    "ifeval": "ifeval",
    "bbh": "bbh",
    "math": "math",
    "gpqa": "gpqa",
    "musr": "musr",
    "mmlu_pro": "mmlu_pro",
    "co2_cost": "co2_cost",
    "params": "params_billions",
    "hearts": "hub_hearts",
    "submission_date": "submission_date",
    "upload_date": "upload_date",
    "name": "model_name",
}
DEFAULT_ORDERING = "-average"


def _ids_in(ids: list[int]) -> RawSQL:
    """The ids as one bound parameter, however many they are (SQLite caps a statement's
    parameters; PostgreSQL parses a long IN list slowly)."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (ids,))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(ids),))


def entries_searched(queryset: QuerySet[Entry], search: str) -> QuerySet[Entry]:
    """The entries the upstream frontend's search shows for `search` (`leaderboard.search`),
    matched in Python over the served snapshot's rows; SearchError when too costly."""
    ids = search_index_get().matching_ids(search)
    return queryset if ids is None else queryset.filter(pk__in=_ids_in(ids))


def entries_ordered(queryset: QuerySet[Entry], ordering: str) -> QuerySet[Entry]:
    descending = ordering.startswith("-")
    field = ORDERINGS[ordering.lstrip("-")]
    expression = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return queryset.order_by(expression, "model_name", "precision", "pk")


SCORES = ("average", "ifeval", "bbh", "math", "gpqa", "musr", "mmlu_pro")


def score_distributions(bins: int) -> dict[str, dict[str, Any]]:
    """Per score (the average and the six normalized benchmarks): how many entries have one, and
    how many fall in each of `bins` equal ranges of 0-100. Counted in the database once per
    snapshot version (the model page draws every score against them)."""
    key = f"leaderboard:distributions:{search_index_get().digest}:{bins}"
    found = cache.get(key)
    if found is None:
        found = {score: _distribution(score, bins) for score in SCORES}
        cache.set(key, found, timeout=24 * 3600)
    return found


def _distribution(score: str, bins: int) -> dict[str, Any]:
    width = 100 / bins
    ranges = {
        f"b{i}": Q(**{f"{score}__gte": width * i})
        & (Q(**{f"{score}__lt": width * (i + 1)}) if i < bins - 1 else Q())
        for i in range(bins)
    }
    counts = Entry.objects.aggregate(
        count=Count("pk", filter=Q(**{f"{score}__isnull": False})),
        **{name: Count("pk", filter=where) for name, where in ranges.items()},
    )
    return {"count": counts["count"], "bins": [counts[name] for name in ranges]}


def score_rank(score: str, value: float) -> int:
    """1 + the number of entries with a higher score."""
    return Entry.objects.filter(**{f"{score}__gt": value}).count() + 1


CONTENTS_PATH = "data/train-00000-of-00001.parquet"


def contents_parquet() -> bytes:
    """Every entry as a row of the contents dataset, as the parquet file the Hub mirror holds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from leaderboard.contents import FIELDS, Row, raw_row

    queryset = Entry.objects.order_by(
        "model_name", "precision", "revision_sha", "chat_template"
    ).values_list(*FIELDS)
    rows = [raw_row(Row._make(values)) for values in queryset.iterator(chunk_size=5000)]
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer, compression="zstd")
    return buffer.getvalue()
