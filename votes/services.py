"""Writes for votes: cast, change, withdraw, void. Exact under concurrency.

The unique constraint holds one vote per (person, model, revision, precision); a change or a
withdrawal locks the vote's row, so concurrent requests on one vote go one after the other. No
counter is kept: scores and counts are aggregated from the votes, so a vote writes no row that
other votes share. Every change is also a line of the mirrored votes_data.jsonl, written to the
outbox in the vote's transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

import orjson
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leaderboard.models import Entry
from leaderboard_site import sql
from leaderboard_site.accounts.models import User
from leaderboard_site.api import ratelimit
from leaderboard_site.api.errors import Conflict, NotFound, ServiceUnavailable, TooManyRequests
from leaderboard_site.hub import client, mirror
from submissions.models import EvalRequest
from submissions.selectors import scores_changed
from votes.models import KnownEvent, Vote, VoteType
from votes.signals import votes_changed

logger = logging.getLogger(__name__)

VOTES_FILE = "votes_data.jsonl"
DEFAULT_PRECISION = "bfloat16"


@dataclass(frozen=True)
class Target:
    """What a vote is about."""

    model_name: str
    revision: str
    precision: str


def resolve_target(model_name: str, revision: str | None, precision: str | None) -> Target:
    """Fill in the revision and precision: from the model's request, else its leaderboard entry,
    else the Hub (its current sha). Unknown everywhere: 404."""
    requested = sql.run(
        f"SELECT revision, precision FROM {sql.table(EvalRequest)} WHERE model_name = %s "  # noqa: S608
        "ORDER BY submitted_at DESC LIMIT 1",
        [model_name],
    )
    known = (requested[0] if requested else None) or (
        Entry.objects.filter(model_name=model_name)
        .order_by("-submission_date", "-pk")
        .values_list("revision_sha", "precision")
        .first()
    )
    if known is None:
        try:
            sha = client.model_info(model_name).sha
        except client.HubNotFound as exc:
            raise NotFound(f"Unknown model {model_name}.", details={"model": model_name}) from exc
        except client.HubError as exc:
            raise ServiceUnavailable(
                "The Hugging Face Hub is unavailable; try again later.",
                details={"reason": "hub_unavailable"},
            ) from exc
        known = (sha or "", DEFAULT_PRECISION)
    return Target(model_name, revision or known[0], precision or known[1])


def _digest(line: bytes) -> str:
    return hashlib.sha256(line.strip()).hexdigest()


def _log_event(target: Target, user: User, vote_type: str) -> None:
    line = orjson.dumps(
        {
            "model": target.model_name,
            "revision": target.revision,
            "precision": target.precision,
            "username": user.hub_username or user.username,
            "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
            "vote_type": vote_type,
        }
    )
    mirror.record_append("votes", VOTES_FILE, line)


def known_on_publishing(plan: mirror.Plan) -> None:
    """Our lines about to be pushed are known, so that no pull applies them once they are on the
    mirror. (They stay in the outbox, retried, until they land; until then a pull cannot meet
    them.)"""
    lines = plan.appends.get(VOTES_FILE, [])
    KnownEvent.objects.bulk_create(
        [KnownEvent(digest=_digest(line)) for line in lines if line.strip()],
        ignore_conflicts=True,
        batch_size=2000,
    )


def _moved(*models: str) -> None:
    """The queue's order may have changed: its lists follow, and the models' counts are
    announced (`votes_changed`), after the commit."""
    # robust: the vote is committed; Redis away must not turn its answer into an error.
    transaction.on_commit(scores_changed, robust=True)
    for name in models:
        transaction.on_commit(partial(votes_changed.send, Vote, model_name=name), robust=True)


def _limit(user: User) -> None:
    """VOTE_LIMIT votes per VOTE_LIMIT_WINDOW seconds per person: a token bucket (in Redis when
    REDIS_URL is set, so shared by every process), on top of the general rate limit."""
    if not settings.RATE_LIMIT_ENABLED:
        return
    decision = ratelimit.take(
        f"votes:{user.pk}",
        rate=settings.VOTE_LIMIT / settings.VOTE_LIMIT_WINDOW,
        burst=settings.VOTE_LIMIT,
    )
    if not decision.allowed:
        raise TooManyRequests(
            f"Vote limit of {settings.VOTE_LIMIT} per {settings.VOTE_LIMIT_WINDOW} s reached.",
            details={"kind": "vote", "limit": settings.VOTE_LIMIT},
            extra={"retry_after": decision.retry_after},
        )


def _current(user: User, target: Target) -> Vote | None:
    return (
        Vote.objects.select_for_update()
        .filter(
            user=user,
            model_name=target.model_name,
            revision=target.revision,
            precision=target.precision,
            voided=False,
        )
        .first()
    )


_INSERT_VOTE = (
    "INSERT INTO {table} (user_id, model_name, revision, precision, vote_type, voided, "
    "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT DO NOTHING RETURNING id"
)


def _insert_new(vote: Vote) -> bool:
    """Insert the vote unless its person already holds a counting one on that model: one
    statement (`ON CONFLICT DO NOTHING RETURNING`, PostgreSQL and SQLite alike) instead of an
    insert that fails inside a savepoint. True when inserted (vote.pk is then set)."""
    now = timezone.now()
    rows = sql.run(
        _INSERT_VOTE.format(table=sql.table(Vote)),
        [vote.user_id, vote.model_name, vote.revision, vote.precision, vote.vote_type, False,
         sql.stamp(now), sql.stamp(now)],
    )  # fmt: skip
    if not rows:
        return False
    vote.pk, vote.created_at, vote.updated_at = rows[0][0], now, now
    vote._state.adding = False
    return True


def vote_cast(*, user: User, target: Target, vote_type: str, limited: bool = True) -> Vote:
    """Cast a vote or change its direction; the same vote twice is a 409."""
    if limited:
        _limit(user)
    with transaction.atomic():
        # Most votes are first votes: insert, and only on a conflict read (and lock) the vote
        # that holds the place, to change it.
        vote = Vote(
            user=user,
            model_name=target.model_name,
            revision=target.revision,
            precision=target.precision,
            vote_type=vote_type,
        )
        if not _insert_new(vote):
            held = _current(user, target)
            if held is None:  # withdrawn by a concurrent request between the two statements
                raise Conflict(
                    f"Your vote on {target.model_name} changed meanwhile; try again."
                ) from None
            if held.vote_type == vote_type:
                raise Conflict(
                    f"You already voted {vote_type} on {target.model_name}.",
                    details={"vote_type": vote_type, "revision": target.revision},
                ) from None
            vote = held
            vote.vote_type = vote_type
            vote.save(update_fields=["vote_type", "updated_at"])
        _log_event(target, user, vote_type)
        _moved(target.model_name)
    return vote


def vote_withdraw(*, user: User, target: Target) -> None:
    with transaction.atomic():
        vote = _current(user, target)
        if vote is None:
            raise NotFound(
                f"You have no vote on {target.model_name} at {target.revision[:7]}.",
                details={"revision": target.revision, "precision": target.precision},
            )
        vote.delete()
        _log_event(target, user, "withdrawn")
        _moved(target.model_name)


def votes_void(*, user: User) -> int:
    """A maintainer voids all of a user's counting votes: they stop counting, the rows stay."""
    voided = 0
    models: set[str] = set()
    with transaction.atomic():
        for vote in Vote.objects.select_for_update().filter(user=user, voided=False):
            vote.voided = True
            vote.save(update_fields=["voided", "updated_at"])
            target = Target(vote.model_name, vote.revision, vote.precision)
            _log_event(target, user, "voided")
            models.add(vote.model_name)
            voided += 1
        if voided:
            _moved(*sorted(models))
    return voided


def submitter_vote(*, user: User, target: Target) -> None:
    """The submitter's own up vote for their submission (as upstream), unless already cast."""
    with contextlib.suppress(Conflict):
        vote_cast(user=user, target=target, vote_type=VoteType.UP, limited=False)


# --- pulling the Hub's votes file ------------------------------------------------------------
@dataclass
class PullSummary:
    applied: int = 0
    known: int = 0
    skipped: int = 0  # unreadable lines, or users we cannot map


def _apply(user: User, target: Target, vote_type: str) -> None:
    """Bring one person's vote to what an imported event says, without logging it again."""
    vote = _current(user, target)
    if vote_type in (VoteType.UP, VoteType.DOWN):
        if vote is None:
            vote = Vote(user=user, model_name=target.model_name, revision=target.revision,
                        precision=target.precision, vote_type=vote_type)  # fmt: skip
            vote.save()
        elif vote.vote_type != vote_type:
            vote.vote_type = vote_type
            vote.save(update_fields=["vote_type", "updated_at"])
    elif vote is not None and vote_type in ("withdrawn", "voided"):
        if vote_type == "withdrawn":
            vote.delete()
        else:
            vote.voided = True
            vote.save(update_fields=["voided", "updated_at"])


def votes_pull(lines: Iterable[bytes], *, dry_run: bool = False) -> PullSummary:
    """Apply, in order, the lines of a votes_data.jsonl that we do not hold yet (the Hub's
    history, or votes cast elsewhere). Running it again applies nothing."""
    from leaderboard_site.accounts.services import hub_user_resolve

    summary = PullSummary()
    for raw in lines:
        if not raw.strip():
            continue
        digest = _digest(raw)
        if KnownEvent.objects.filter(digest=digest).exists():
            summary.known += 1
            continue
        try:
            event = orjson.loads(raw)
            target = Target(str(event["model"]), str(event["revision"]),
                            str(event.get("precision") or DEFAULT_PRECISION))  # fmt: skip
            vote_type = str(event["vote_type"])
            username = str(event["username"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            summary.skipped += 1
            continue
        if dry_run:
            summary.applied += 1
            continue
        with transaction.atomic():
            try:
                user = hub_user_resolve(hub_username=username)
            except Conflict:
                logger.warning("votes pull: %s is a local account not linked to the Hub", username)
                summary.skipped += 1
                continue
            _apply(user, target, vote_type)
            KnownEvent.objects.create(digest=digest)
        summary.applied += 1
    if summary.applied and not dry_run:
        scores_changed()
    return summary
