"""manage.py evaluate MODEL_ID: run one evaluation in the foreground, for operators."""

from __future__ import annotations

import os
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from submissions import services
from submissions.models import EvalRequest, Status
from submissions.tasks import JobInterrupted, evaluate


class Command(BaseCommand):
    help = (
        "Evaluate a submitted model now, in this process, with progress. Takes its newest "
        "pending request (with --requeue, a failed or cancelled one too)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model_id", help="org/name, as submitted")
        parser.add_argument("--revision", help="the commit sha (or its first characters)")
        parser.add_argument("--precision", help="float16, bfloat16, 8bit, 4bit or gptq")
        parser.add_argument(
            "--requeue", action="store_true", help="take a failed or cancelled request too"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        requests = EvalRequest.objects.filter(model_name=options["model_id"])
        if options["revision"]:
            requests = requests.filter(revision__startswith=options["revision"])
        if options["precision"]:
            requests = requests.filter(precision=options["precision"])
        statuses = [Status.PENDING]
        if options["requeue"]:
            statuses += [Status.FAILED, Status.CANCELLED]
        request = requests.filter(status__in=statuses).order_by("-submitted_at").first()
        if request is None:
            raise CommandError(
                f"No {'/'.join(s.lower() for s in statuses)} request for {options['model_id']}: "
                "submit it first (POST /api/models/submit)."
            )
        if request.status != Status.PENDING and not services.request_requeue(request):
            raise CommandError(f"{request} could not be requeued.")
        job_id = f"cli:{socket.gethostname()}:{os.getpid()}"
        claimed = services.request_claim(job_id=job_id, request_id=request.pk)
        if claimed is None:
            raise CommandError(f"{request} was taken by a worker meanwhile.")
        self.stdout.write(f"Evaluating {claimed} as {job_id}")
        try:
            finished = evaluate(claimed, job_id=job_id, progress=self.stdout.write)
        except JobInterrupted as exc:
            raise CommandError(f"Interrupted, back in the queue: {exc}") from exc
        claimed.refresh_from_db()
        if not finished:
            raise CommandError(f"{claimed.status}: {claimed.reason}")
        entry = claimed.entry
        message = f"FINISHED: average {entry.average:.2f}" if entry else "FINISHED"
        if entry and entry.partial:
            message += f" (partial: {len(entry.missing_subtasks)} leaderboard subtasks did not run)"
        self.stdout.write(self.style.SUCCESS(message))
