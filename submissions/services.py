"""Writes for submissions: submitting, and every status change of a request.

Every change of a request's status goes through `request_transition`: a conditional update (it
only applies from the statuses it names, so two workers never both claim a job and a result is
written once), the mirrored request file in the same transaction, and, once committed, the
status cache invalidated and `request_status_changed` sent (the realtime events listen to it).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from leaderboard.models import OfficialProvider
from leaderboard.services import entry_record_evaluation
from leaderboard_site.accounts.models import User
from leaderboard_site.accounts.roles import Role
from leaderboard_site.accounts.services import quota_reserve
from leaderboard_site.api.errors import Conflict, Forbidden, NotFound
from leaderboard_site.hub import mirror
from submissions import checks
from submissions.evaluation.results import Evaluation, co2_kg, parse, require_complete
from submissions.models import ACTIVE, EvalRequest, Status, mirror_base_path
from submissions.selectors import status_invalidate
from submissions.signals import request_status_changed
from votes import services as votes_services

logger = logging.getLogger(__name__)

OFFICIAL_PROVIDER_MESSAGE = (
    "Model {model} is an official provider model with a completed evaluation. "
    "To re-evaluate it, please open a discussion."
)
LOG_TAIL_CHARS = 4000


def _identity_filter(model_name: str, sha: str, precision: str, chat: bool) -> dict[str, Any]:
    return {
        "model_name": model_name,
        "revision": sha,
        "precision": precision,
        "use_chat_template": chat,
    }


def _mirror(request: EvalRequest) -> None:
    content = orjson.dumps(request.mirror_record(), option=orjson.OPT_INDENT_2)
    mirror.record_put("requests", request.mirror_path, content)


def _after_commit(request: EvalRequest, previous: str | None) -> None:
    def notify() -> None:
        status_invalidate()
        request_status_changed.send(
            sender=EvalRequest, request=request, previous=previous, status=request.status
        )

    transaction.on_commit(notify)


def _free_mirror_path(base: str) -> str:
    """The request's file: upstream's name, with `_2`, `_3`... for later resubmissions."""
    taken = set(
        EvalRequest.objects.filter(mirror_path__startswith=base).values_list(
            "mirror_path", flat=True
        )
    )
    candidate, number = f"{base}.json", 1
    while candidate in taken:
        number += 1
        candidate = f"{base}_{number}.json"
    return candidate


def _start_evaluation() -> None:
    from submissions.tasks import evaluate_next

    # Without an evaluation worker the message expires instead of piling up.
    evaluate_next.apply_async(expires=settings.EVAL_LEASE_SECONDS * 10)


def request_submit(*, user: User, submission: checks.Submission) -> EvalRequest:
    """Check a submission (the order is the contract: see checks.py, then 7-9 here) and queue it."""
    facts = checks.check_on_hub(submission)  # 1-6, before any transaction: they call the Hub
    identity = _identity_filter(
        submission.model_id, facts.sha, submission.precision, submission.use_chat_template
    )
    with transaction.atomic():
        active = EvalRequest.objects.filter(**identity, status__in=ACTIVE)
        existing = active.values_list("status", flat=True).first()
        if existing is not None:
            raise checks.CheckFailed(
                "duplicate",
                f"{submission.model_id} at {facts.sha[:7]} in {submission.precision} is already "
                f"{existing.lower()}.",
                status=409,
                current_status=existing,
            )
        org = submission.model_id.split("/", 1)[0]
        if (
            OfficialProvider.objects.filter(organization=org).exists()
            and EvalRequest.objects.filter(
                model_name=submission.model_id, status=Status.FINISHED
            ).exists()
        ):
            raise checks.CheckFailed(
                "official_provider",
                OFFICIAL_PROVIDER_MESSAGE.format(model=submission.model_id),
                status=409,
            )
        if user.role != Role.ADMIN:
            quota_reserve(
                user=user,
                kind="submission",
                limit=settings.SUBMISSION_QUOTA,
                window=dt.timedelta(days=settings.SUBMISSION_QUOTA_DAYS),
            )
        base = mirror_base_path(
            model_name=submission.model_id,
            precision=submission.precision,
            weight_type=submission.weight_type,
            revision=facts.sha,
            use_chat_template=submission.use_chat_template,
        )
        request = EvalRequest(
            **identity,
            weight_type=submission.weight_type,
            model_type=submission.model_type,
            base_model=submission.base_model,
            params_billions=facts.params_billions,
            architectures=facts.architectures,
            license=facts.license,
            likes=facts.likes,
            submitter=user,
            sender=user.hub_username or user.username,
            mirror_path=_free_mirror_path(base),
        )
        try:
            with transaction.atomic():
                request.save()
        except IntegrityError as exc:  # an identical submission committed meanwhile
            raise Conflict(
                f"{submission.model_id} at {facts.sha[:7]} is already queued.",
                details={"reason": "duplicate"},
            ) from exc
        _mirror(request)
        votes_services.submitter_vote(
            user=user,
            target=votes_services.Target(request.model_name, request.revision, request.precision),
        )
        _after_commit(request, None)
        transaction.on_commit(_start_evaluation)
    logger.info("submission %s by %s queued", request, user.username)
    return request


def request_transition(
    request: EvalRequest,
    *,
    to: Status,
    allowed_from: Iterable[Status],
    held_by: str | None = None,
    **fields: Any,
) -> bool:
    """Move `request` to `to` if it is still in one of `allowed_from` (and, given `held_by`, still
    held by that job), setting `fields`. Returns whether it moved; `request` is refreshed."""
    allowed = list(allowed_from)
    with transaction.atomic():
        query = EvalRequest.objects.filter(pk=request.pk, status__in=allowed)
        if held_by is not None:
            query = query.filter(job_id=held_by)
        previous = request.status
        moved = query.update(status=to, updated_at=timezone.now(), **fields) == 1
        request.refresh_from_db()
        if moved:
            _mirror(request)
            _after_commit(request, previous)
    return moved


# --- the evaluation queue --------
def _lease_deadline() -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=settings.EVAL_LEASE_SECONDS)


def request_claim(*, job_id: str, request_id: int | None = None) -> EvalRequest | None:
    """Take the next pending request (or that one) for `job_id`; None when there is none.

    Locked rows are skipped, so concurrent workers each take a different request.
    """
    with transaction.atomic():
        queue = EvalRequest.objects.queue()
        if request_id is not None:
            queue = queue.filter(pk=request_id)
        request = queue.select_for_update(skip_locked=True).first()
        if request is None:
            return None
        moved = request_transition(
            request,
            to=Status.EVALUATING,
            allowed_from=[Status.PENDING],
            job_id=job_id,
            lease_expires_at=_lease_deadline(),
            started_at=timezone.now(),
            attempts=F("attempts") + 1,
            reason="",
        )
    return request if moved else None


def request_renew_lease(request: EvalRequest, *, job_id: str) -> bool:
    """Extend the job's lease; False when the job no longer holds the request."""
    return (
        EvalRequest.objects.filter(pk=request.pk, status=Status.EVALUATING, job_id=job_id).update(
            lease_expires_at=_lease_deadline()
        )
        == 1
    )


def request_fail(request: EvalRequest, *, job_id: str | None, reason: str, log: str = "") -> bool:
    return request_transition(
        request,
        to=Status.FAILED,
        allowed_from=[Status.EVALUATING] if job_id else [Status.PENDING, Status.EVALUATING],
        held_by=job_id,
        reason=reason,
        log_tail=log[-LOG_TAIL_CHARS:],
        finished_at=timezone.now(),
        lease_expires_at=None,
    )


def request_release(request: EvalRequest, *, job_id: str | None, reason: str) -> bool:
    """Back to the queue (an infrastructure failure, or a lease that ran out)."""
    return request_transition(
        request,
        to=Status.PENDING,
        allowed_from=[Status.EVALUATING],
        held_by=job_id,
        reason=reason,
        job_id="",
        lease_expires_at=None,
        started_at=None,
    )


def request_requeue(request: EvalRequest) -> bool:
    """A maintainer's requeue of a failed, cancelled or stuck request."""
    try:
        return request_transition(
            request,
            to=Status.PENDING,
            allowed_from=[Status.FAILED, Status.CANCELLED, Status.EVALUATING],
            reason="",
            job_id="",
            lease_expires_at=None,
            started_at=None,
            finished_at=None,
        )
    except IntegrityError as exc:
        raise Conflict(
            f"{request.model_name} has another active request with the same identity.",
            details={"reason": "duplicate"},
        ) from exc


def request_cancel(request: EvalRequest, *, reason: str = "cancelled by a maintainer") -> bool:
    return request_transition(
        request,
        to=Status.CANCELLED,
        allowed_from=[Status.PENDING, Status.EVALUATING],
        reason=reason,
        lease_expires_at=None,
        finished_at=timezone.now(),
    )


def request_withdraw(*, request_id: int, user: User) -> EvalRequest:
    """The submitter (or an admin) cancels a request still waiting in the queue: 404 when there
    is none, 403 for somebody else's, 409 once it has left the queue (evaluating or ended)."""
    request = EvalRequest.objects.filter(pk=request_id).first()
    if request is None:
        raise NotFound("No such request.", details={"id": request_id})
    if request.submitter_id != user.pk and user.role != Role.ADMIN:
        raise Forbidden("Only the submitter or an admin may cancel this request.",
                        details={"id": request_id})  # fmt: skip
    who = "the submitter" if request.submitter_id == user.pk else "a maintainer"
    moved = request_transition(
        request, to=Status.CANCELLED, allowed_from=[Status.PENDING],
        reason=f"cancelled by {who}", finished_at=timezone.now(),
    )  # fmt: skip
    if not moved:
        raise Conflict(
            f"The request is {request.status}: only a pending request can be cancelled.",
            details={"id": request_id, "status": request.status},
        )
    return request


def requests_reclaim_expired(*, max_attempts: int | None = None) -> tuple[int, int]:
    """Requests whose job's lease ran out: back to PENDING, or FAILED after too many attempts.

    Returns (requeued, failed).
    """
    limit = max_attempts or settings.EVAL_MAX_ATTEMPTS
    requeued = failed = 0
    expired = EvalRequest.objects.filter(
        status=Status.EVALUATING, lease_expires_at__lt=timezone.now()
    )
    for request in expired:
        holder = request.job_id
        if request.attempts >= limit:
            reason = f"the evaluation was interrupted {request.attempts} times"
            failed += request_fail(request, job_id=holder, reason=reason)
        else:
            reason = f"job {holder} stopped renewing its lease; requeued"
            requeued += request_release(request, job_id=holder, reason=reason)
    return requeued, failed


def _entry_fields(request: EvalRequest, evaluation: Evaluation, seconds: float) -> dict[str, Any]:
    architectures = request.architectures or []
    return {
        **evaluation.scores.as_fields(),
        "model_type": request.model_type,
        "weight_type": request.weight_type,
        "architecture": architectures[0] if architectures else "",
        "base_model": request.base_model or request.model_name,
        "hub_license": request.license,
        "hub_hearts": request.likes,
        "params_billions": request.params_billions,
        "generation": 1 if request.base_model else 0,
        "co2_cost": round(co2_kg(evaluation.seconds or seconds), 6),
        "merged": request.model_type == "merge",
        "moe": "moe" in request.model_name.lower()
        or any("moe" in name.lower() for name in architectures),
        "available_on_hub": True,
        "submission_date": request.submitted_at.date(),
        "missing_subtasks": list(evaluation.missing),
    }


def request_complete(
    request: EvalRequest, *, job_id: str, results: dict[str, Any], seconds: float
) -> bool:
    """Publish a finished evaluation: the entry created or updated once, the request FINISHED
    with its results file. False (and nothing written) when `job_id` no longer holds the request,
    e.g. its lease ran out and another worker took it. Unscorable results raise ResultsError,
    a partial run IncompleteRun unless EVAL_ALLOW_PARTIAL (then the entry lists what is missing)."""
    evaluation = parse(results)
    require_complete(evaluation.missing)
    with transaction.atomic():
        held = (
            EvalRequest.objects.select_for_update()
            .filter(pk=request.pk, status=Status.EVALUATING, job_id=job_id)
            .first()
        )
        if held is None:
            logger.warning("job %s lost %s; its results are discarded", job_id, request)
            return False
        entry = entry_record_evaluation(
            model_name=held.model_name,
            precision=held.precision,
            revision_sha=held.revision,
            chat_template=held.use_chat_template,
            fields=_entry_fields(held, evaluation, seconds),
        )
        moved = request_transition(
            held,
            to=Status.FINISHED,
            allowed_from=[Status.EVALUATING],
            held_by=job_id,
            results=results,
            entry=entry,
            finished_at=timezone.now(),
            lease_expires_at=None,
        )
    request.refresh_from_db()
    return moved


# --- pulling the requests dataset (an external evaluator's status changes) ---------------------
EXTERNAL_STATUS = {
    "RUNNING": (Status.EVALUATING, [Status.PENDING]),
    "FINISHED": (Status.FINISHED, [Status.PENDING, Status.EVALUATING]),
    "FAILED": (Status.FAILED, [Status.PENDING, Status.EVALUATING]),
}


@dataclass
class RequestsPull:
    changed: int = 0
    unchanged: int = 0
    unknown: int = 0  # files of requests we do not hold (e.g. upstream history)
    skipped: int = 0  # unreadable files, or transitions our queue does not allow


def requests_pull(folder: Path, *, dry_run: bool = False) -> RequestsPull:
    """Apply the statuses an external evaluator wrote into request files (RUNNING, FINISHED,
    FAILED) to our requests. Running it again changes nothing."""
    summary = RequestsPull()
    ours = dict(EvalRequest.objects.values_list("mirror_path", "pk"))
    for path in sorted(folder.rglob("*.json")):
        relative = path.relative_to(folder).as_posix()
        if relative not in ours:
            summary.unknown += 1
            continue
        try:
            external = orjson.loads(path.read_bytes()).get("status")
        except (orjson.JSONDecodeError, AttributeError, OSError):
            summary.skipped += 1
            continue
        request = EvalRequest.objects.get(pk=ours[relative])
        wanted = EXTERNAL_STATUS.get(str(external))
        if wanted is None or wanted[0] == request.status:
            summary.unchanged += 1
            continue
        to, allowed = wanted
        if request.status not in allowed:
            summary.skipped += 1
            continue
        if not dry_run:
            fields: dict[str, Any] = {"lease_expires_at": None, "job_id": "external"}
            if to != Status.EVALUATING:
                fields["finished_at"] = timezone.now()
            request_transition(request, to=to, allowed_from=allowed, **fields)
        summary.changed += 1
    return summary
