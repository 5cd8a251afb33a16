"""Reads of the leaderboard: filtered entry lists for the paginated API."""

from __future__ import annotations

import io
from functools import reduce
from operator import or_

from django.db.models import F, Q, QuerySet

from leaderboard.models import Entry, ModelType

SEARCH_FIELDS = {
    "precision": lambda v: Q(precision__iexact=v),
    "architecture": lambda v: Q(architecture__icontains=v),
    "license": lambda v: Q(hub_license__icontains=v),
    "type": lambda v: _type_query(v),
}

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


class SearchError(ValueError):
    pass


def _type_query(value: str) -> Q:
    wanted = value.lower()
    matches = [c.value for c in ModelType if wanted == c.value or wanted in str(c.label).lower()]
    return Q(model_type__in=matches)


def _term_query(term: str) -> Q:
    if not term.startswith("@"):
        return Q(model_name__icontains=term)
    field, sep, value = term[1:].partition(":")
    build = SEARCH_FIELDS.get(field.lower())
    if build is None or not sep or not value.strip():
        raise SearchError(
            f"{term!r}: expected @field:value with field one of {sorted(SEARCH_FIELDS)}"
        )
    return build(value.strip())


def search_query(search: str) -> Q:
    """`;` separates OR terms; `@field:value` matches a field; other terms match the name."""
    terms = [term.strip() for term in search.split(";") if term.strip()]
    return reduce(or_, (_term_query(term) for term in terms)) if terms else Q()


def entries_ordered(queryset: QuerySet[Entry], ordering: str) -> QuerySet[Entry]:
    descending = ordering.startswith("-")
    field = ORDERINGS[ordering.lstrip("-")]
    expression = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return queryset.order_by(expression, "model_name", "precision", "pk")


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
