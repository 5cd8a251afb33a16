"""Evaluation jobs, on their own `evaluation` queue (run its worker with --concurrency 1).

`evaluate_next` claims the next pending request, holds a lease it renews while lm-eval runs,
and publishes the result. A worker killed mid-run stops renewing: `reclaim_expired` (beat) puts
the request back in the queue when the lease runs out, and another worker runs it again.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections

from submissions import services
from submissions.evaluation.results import IncompleteRun, ResultsError
from submissions.models import EvalRequest

logger = logging.getLogger(__name__)


class JobInterrupted(Exception):
    """The worker could not finish the job for a reason not the model's (retry later)."""


@contextmanager
def lease(request: EvalRequest, job_id: str) -> Iterator[threading.Event]:
    """Renew the job's lease every third of its length until the block ends.

    The event yielded is set if the lease was lost (another worker took the request).
    """
    stop, lost = threading.Event(), threading.Event()

    def renew() -> None:
        interval = settings.EVAL_LEASE_SECONDS / 3
        try:
            while not stop.wait(interval):
                try:
                    if not services.request_renew_lease(request, job_id=job_id):
                        lost.set()
                        return
                except DatabaseError:
                    logger.warning("could not renew the lease of %s; retrying", request)
                    close_old_connections()
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=renew, name=f"lease-{request.pk}", daemon=True)
    thread.start()
    try:
        yield lost
    finally:
        stop.set()
        thread.join()


def evaluate(request: EvalRequest, *, job_id: str, progress=None) -> bool:  # type: ignore[no-untyped-def]
    """Run a claimed request to its end: FINISHED, FAILED, or back to PENDING (JobInterrupted)."""
    from submissions.evaluation import runner

    with lease(request, job_id) as lost:
        try:
            outcome = runner.run(request, progress=progress)
        except runner.EvaluationUnavailable as exc:
            services.request_release(request, job_id=job_id, reason=f"evaluator unavailable: {exc}")
            raise JobInterrupted(str(exc)) from exc
        except runner.EvaluationError as exc:
            services.request_fail(request, job_id=job_id, reason=str(exc), log=exc.log)
            return False
    if lost.is_set():
        logger.warning("job %s lost its lease on %s; results discarded", job_id, request)
        return False
    try:
        return services.request_complete(
            request, job_id=job_id, results=outcome.results, seconds=outcome.seconds
        )
    except ResultsError as exc:
        reason = str(exc) if isinstance(exc, IncompleteRun) else f"unscorable results: {exc}"
        services.request_fail(request, job_id=job_id, reason=reason, log=outcome.log)
        return False


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(JobInterrupted, DatabaseError),
    retry_backoff=30,
    retry_backoff_max=900,
    max_retries=10,
    soft_time_limit=None,
    time_limit=None,
)
def evaluate_next(self) -> str:  # type: ignore[no-untyped-def]
    job_id = f"{self.request.hostname or 'worker'}:{self.request.id or uuid.uuid4()}"
    request = services.request_claim(job_id=job_id)
    if request is None:
        return "the queue is empty"
    finished = evaluate(request, job_id=job_id)
    evaluate_next.delay()  # the next one, if any
    return f"{request}: {'finished' if finished else 'not finished'}"


@shared_task(ignore_result=True)
def reclaim_expired() -> str:
    requeued, failed = services.requests_reclaim_expired()
    if requeued:
        evaluate_next.delay()
    return f"{requeued} requeued, {failed} failed"
