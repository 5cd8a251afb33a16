"""The leaderboard on /graphql: leaderboard (GET /api/v1/models/'s filters, search and order),
model and compare.

Entries are read as GET /api/v1/models/ reads them (EntryFilter over the same selectors, the
same formatted row); their requests and vote counts are loaded once per list (one query each
for a page of 100 entries, not one per entry).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import strawberry
from django.db.models import QuerySet
from django.http import QueryDict
from django_filters import utils as filter_utils

from leaderboard.api.filters import EntryFilter
from leaderboard.contents import BENCHMARK_COLUMNS, FIELDS, Row
from leaderboard.formatting import formatted_row
from leaderboard.models import Entry
from leaderboard_site.api.errors import ApiError
from leaderboard_site.api.pagination import DEFAULT_PAGE_SIZE
from leaderboard_site.graphql.common import Batch, PageInfo, paged
from leaderboard_site.hub.client import check_repo_id
from submissions import selectors as submission_selectors
from submissions.api.graphql import RequestNode
from votes import selectors as vote_selectors
from votes.api.graphql import VoteCounts

MAX_COMPARED = 5


@strawberry.type
class EntryModel:
    name: str
    sha: str
    precision: str
    type: str
    weight_type: str
    architecture: str
    average_score: float | None
    has_chat_template: bool


@strawberry.type
class Score:
    name: str
    value: float | None
    normalized_score: float | None


@strawberry.type
class Evaluations:
    ifeval: Score
    bbh: Score
    math: Score
    gpqa: Score
    musr: Score
    mmlu_pro: Score


@strawberry.type
class Features:
    is_not_available_on_hub: bool
    is_merged: bool
    is_moe: bool
    is_flagged: bool
    is_official_provider: bool


@strawberry.type
class Metadata:
    upload_date: dt.date | None
    submission_date: dt.date | None
    generation: int
    base_model: str
    hub_license: str | None
    hub_hearts: int
    params_billions: float | None
    co2_cost: float | None


@dataclass
class Loaders:
    """The requests and vote counts of every model of one list, each loaded in one query."""

    requests: Batch[str, list[dict[str, Any]]]
    votes: Batch[str, dict[str, Any]]

    @classmethod
    def of(cls, names: list[str]) -> Loaders:
        return cls(
            requests=Batch(names, submission_selectors.models_requests, []),
            votes=Batch(names, vote_selectors.models_counts, {}),
        )


@strawberry.type(description="One leaderboard entry in the formatted shape of GET /api/v1/models/.")
class EntryNode:
    id: str
    model: EntryModel
    evaluations: Evaluations
    features: Features
    metadata: Metadata
    loaders: strawberry.Private[Loaders]

    @strawberry.field(description="The model's evaluation requests, newest first.")
    def requests(self) -> list[RequestNode]:
        return [RequestNode.of(item) for item in self.loaders.requests.get(self.model.name)]

    @strawberry.field(description="The model's vote counts.")
    def votes(self) -> VoteCounts:
        return VoteCounts.of(self.loaders.votes.get(self.model.name))

    @classmethod
    def of(cls, row: Row, loaders: Loaders) -> EntryNode:
        f = formatted_row(row)
        scores = {key: Score(**f["evaluations"][key]) for key, _column, _name in BENCHMARK_COLUMNS}
        return cls(
            id=f["id"], model=EntryModel(**f["model"]), evaluations=Evaluations(**scores),
            features=Features(**f["features"]), metadata=Metadata(**f["metadata"]),
            loaders=loaders,
        )  # fmt: skip


def entry_nodes(rows: list[Row]) -> list[EntryNode]:
    loaders = Loaders.of([row.model_name for row in rows])
    return [EntryNode.of(row, loaders) for row in rows]


@strawberry.type
class LeaderboardPage:
    items: list[EntryNode]
    page_info: PageInfo


@strawberry.input(description="GET /api/v1/models/'s filters.")
class LeaderboardFilters:
    precision: list[str] | None = None
    type: list[str] | None = None
    params_min: float | None = None
    params_max: float | None = None
    hide_merged: bool | None = None
    hide_moe: bool | None = None
    hide_flagged: bool | None = None
    hide_unavailable: bool | None = None
    official_only: bool | None = None


def _query(
    search: str | None, filters: LeaderboardFilters | None, order_by: str | None
) -> QueryDict:
    """The arguments as GET /api/v1/models/'s query string."""
    query = QueryDict(mutable=True)
    given: dict[str, Any] = dict(vars(filters)) if filters is not None else {}
    given.update(search=search, ordering=order_by)
    for name, value in given.items():
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        query.setlist(name, [str(v).lower() if isinstance(v, bool) else str(v) for v in values])
    return query


def entries_filtered(query: QueryDict) -> QuerySet[Entry]:
    """The entries GET /api/v1/models/ lists for the same query string (its 400s too)."""
    filterset = EntryFilter(query, queryset=Entry.objects.all())
    if not filterset.is_valid():
        raise filter_utils.translate_validation(filterset.errors)
    return filterset.qs


@strawberry.type
class ModelNode:
    name: str
    entries: list[EntryNode]
    requests: list[RequestNode]
    votes: VoteCounts


def model_nodes(names: list[str]) -> list[ModelNode | None]:
    """Each model's entries, requests and counts: three queries for all of them."""
    rows = Entry.objects.filter(model_name__in=names).order_by("model_name", "precision", "pk")
    entries = entry_nodes([Row._make(values) for values in rows.values_list(*FIELDS)])
    requests = submission_selectors.models_requests(names)
    counts = vote_selectors.models_counts(names)
    found: list[ModelNode | None] = []
    for name in names:
        own = [entry for entry in entries if entry.model.name == name]
        if not own and not requests[name]:
            found.append(None)
            continue
        found.append(ModelNode(name=name, entries=own,
                               requests=[RequestNode.of(item) for item in requests[name]],
                               votes=VoteCounts.of(counts[name])))  # fmt: skip
    return found


@strawberry.type
class LeaderboardQuery:
    @strawberry.field(description="The leaderboard as GET /api/v1/models/ lists it: `search` "
                      "(the upstream frontend's search), `filters`, `orderBy` (its `ordering` "
                      "values: average, -average, hearts, name...) and pages "
                      "(anyone).")  # fmt: skip
    def leaderboard(
        self, search: str | None = None, filters: LeaderboardFilters | None = None,
        order_by: str | None = None, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE,
    ) -> LeaderboardPage:  # fmt: skip
        queryset = entries_filtered(_query(search, filters, order_by)).values_list(*FIELDS)
        rows, info = paged(queryset, page, page_size)
        return LeaderboardPage(items=entry_nodes([Row._make(v) for v in rows]), page_info=info)

    @strawberry.field(description="A model (org/name): its entries, requests and vote counts; "
                      "null when it has neither entries nor requests (anyone).")  # fmt: skip
    def model(self, name: str) -> ModelNode | None:
        return model_nodes([check_repo_id(name)])[0]

    @strawberry.field(description=f"Up to {MAX_COMPARED} models side by side, in the order "
                      "asked (null for an unknown one; anyone).")  # fmt: skip
    def compare(self, names: list[str]) -> list[ModelNode | None]:
        if not 1 <= len(names) <= MAX_COMPARED:
            raise ApiError(f"compare takes 1 to {MAX_COMPARED} names.",
                           details={"names": len(names)})  # fmt: skip
        return model_nodes([check_repo_id(name) for name in names])
