"""Topic and group names of the event stream (`/ws`), in one place.

A topic is public (anyone connected may subscribe), for the signed-in (any role), owned (its
events go to the owner's group and to the admins' group only, so bob never sees alice's
benchmark runs) or for admins only.
"""

from __future__ import annotations

BENCHMARK_PROGRESS = "benchmark.progress"  # owned: a run's status and progress
EVALUATION_RESULTS = "evaluation.results"  # owned: POST /v1/evaluations results
SUBMISSION_STATUS = "submission.status"  # public: the evaluation queue's status changes
LEADERBOARD_UPDATED = "leaderboard.updated"  # public: a new version of the served lists
VOTES_UPDATED = "votes.updated"  # public: a model's vote counts (at most once a second a model)
PLUGIN_EVENTS = "plugin.events"  # signed in: evaluator plugins loaded, executed, failed
REQUEST_LOGS = "request.logs"  # admins: the access log's lines as they are written
SYSTEM_METRICS = "system.metrics"  # admins: requests/s, p95, queues, workers (system_metrics.py)

PUBLIC = frozenset({SUBMISSION_STATUS, LEADERBOARD_UPDATED, VOTES_UPDATED})
SIGNED_IN = frozenset({PLUGIN_EVENTS})
OWNED = frozenset({BENCHMARK_PROGRESS, EVALUATION_RESULTS})
ADMINS = frozenset({REQUEST_LOGS, SYSTEM_METRICS})
TOPICS = PUBLIC | SIGNED_IN | OWNED | ADMINS
# Published only while someone is subscribed (watched.py): their events come from hot paths.
WATCHED = frozenset({PLUGIN_EVENTS, REQUEST_LOGS, VOTES_UPDATED})


def public_group(topic: str) -> str:
    return f"public.{topic}"


def signed_in_group(topic: str) -> str:
    return f"signed-in.{topic}"


def owner_group(topic: str, user_id: int) -> str:
    return f"user-{user_id}.{topic}"


def admin_group(topic: str) -> str:
    return f"admins.{topic}"


def groups_for(topic: str, *, user_id: int | None, is_admin: bool) -> list[str]:
    """The groups a subscriber of `topic` joins (none when the caller may not see it)."""
    if topic in PUBLIC:
        return [public_group(topic)]
    if topic in SIGNED_IN:
        return [signed_in_group(topic)] if user_id is not None else []
    if is_admin:
        return [admin_group(topic)]
    return [owner_group(topic, user_id)] if user_id is not None and topic in OWNED else []


def groups_to_publish(topic: str, *, owner_id: int | None) -> list[str]:
    """The groups an event on `topic` goes to: everyone's, or the admins' and its owner's."""
    if topic in PUBLIC:
        return [public_group(topic)]
    if topic in SIGNED_IN:
        return [signed_in_group(topic)]
    return [admin_group(topic)] + ([owner_group(topic, owner_id)] if owner_id is not None else [])
