"""Topic and group names of the event stream (`/ws`), in one place.

A topic is public (anyone connected may subscribe) or owned: its events go to the owner's
group and to the admins' group only, so bob never sees alice's benchmark runs.
"""

from __future__ import annotations

BENCHMARK_PROGRESS = "benchmark.progress"  # owned: a run's status and progress
EVALUATION_RESULTS = "evaluation.results"  # owned: POST /v1/evaluations results
SUBMISSION_STATUS = "submission.status"  # public: the evaluation queue's status changes

PUBLIC = frozenset({SUBMISSION_STATUS})
OWNED = frozenset({BENCHMARK_PROGRESS, EVALUATION_RESULTS})
TOPICS = PUBLIC | OWNED


def public_group(topic: str) -> str:
    return f"public.{topic}"


def owner_group(topic: str, user_id: int) -> str:
    return f"user-{user_id}.{topic}"


def admin_group(topic: str) -> str:
    return f"admins.{topic}"


def groups_for(topic: str, *, user_id: int | None, is_admin: bool) -> list[str]:
    """The groups a subscriber of `topic` joins."""
    if topic in PUBLIC:
        return [public_group(topic)]
    if is_admin:
        return [admin_group(topic)]
    return [owner_group(topic, user_id)] if user_id is not None else []


def groups_to_publish(topic: str, *, owner_id: int | None) -> list[str]:
    """The groups an event on `topic` goes to: everyone's, or the admins' and its owner's."""
    if topic in PUBLIC:
        return [public_group(topic)]
    return [admin_group(topic)] + ([owner_group(topic, owner_id)] if owner_id is not None else [])
