"""Reads for votes: counts aggregated from the votes themselves, and a person's votes."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from leaderboard_site import sql
from votes.models import Vote, VoteType

COUNTS = (
    "SELECT revision, precision, vote_type, COUNT(*) FROM {table} "
    "WHERE model_name = %s AND NOT voided GROUP BY revision, precision, vote_type"
)


def model_counts(model_name: str) -> dict[str, Any]:
    """The counts of one model, aggregated from the votes themselves (zeros when none; plain
    SQL: every vote answers with them). `NOT voided` is written out, not bound, so that even a
    prepared statement's generic plan reads the counting votes' index alone."""
    return _tally(sql.run(COUNTS.format(table=sql.table(Vote)), [model_name]))


def models_counts(model_names: list[str]) -> dict[str, dict[str, Any]]:
    """model_counts of many models in one query (GraphQL's lists), zeros for those without."""
    rows = (
        Vote.objects.filter(model_name__in=model_names, voided=False)
        .values_list("model_name", "revision", "precision", "vote_type")
        .annotate(count=Count("pk"))
        .order_by()
    )
    grouped: dict[str, list[tuple[str, str, str, int]]] = {name: [] for name in model_names}
    for model_name, *row in rows:
        grouped[model_name].append(tuple(row))  # type: ignore[arg-type]
    return {name: _tally(found) for name, found in grouped.items()}


def _tally(rows: Any) -> dict[str, Any]:
    """The counts from (revision, precision, vote_type, count) rows."""
    up = down = 0
    by_revision: dict[str, dict[str, int]] = {}
    by_config: dict[str, dict[str, int]] = {}
    for revision, precision, vote_type, count in rows:
        key = "up" if vote_type == VoteType.UP else "down"
        up, down = (up + count, down) if key == "up" else (up, down + count)
        for bucket, name in ((by_revision, revision), (by_config, f"{revision}:{precision}")):
            counts = bucket.setdefault(name, {"up": 0, "down": 0})
            counts[key] += count
    return {
        "total_votes": up + down,
        "up_votes": up,
        "down_votes": down,
        "score": up - down,
        "votes_by_revision": by_revision,
        "votes_by_config": by_config,
    }


def user_votes(username: str) -> list[dict[str, Any]]:
    """A person's votes, named by their username or by the Hub account linked to them (the
    upstream frontend knows people by their Hub name)."""
    person = Q(user__username=username) | Q(user__hub_username=username)
    votes = Vote.objects.filter(person, voided=False).order_by("-updated_at", "-pk")
    return [
        {
            "model_id": vote.model_name,
            "vote_type": vote.vote_type,
            "revision": vote.revision,
            "precision": vote.precision,
            "timestamp": vote.updated_at.isoformat().replace("+00:00", "Z"),
        }
        for vote in votes
    ]
