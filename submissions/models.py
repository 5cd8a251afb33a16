"""Evaluation requests: one per submission, moving through the queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Case, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from leaderboard.models import ModelType, Precision, WeightType


class Status(models.TextChoices):
    PENDING = "PENDING"
    EVALUATING = "EVALUATING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


# A request in one of these holds its identity: the same model, sha, precision and chat template
# cannot be submitted again until it fails or is cancelled.
ACTIVE = (Status.PENDING, Status.EVALUATING, Status.FINISHED)
# What the mirrored request files say (upstream's evaluator tooling reads RUNNING).
MIRROR_STATUS = {Status.EVALUATING: "RUNNING"}


class EvalRequestQuerySet(models.QuerySet["EvalRequest"]):
    def with_scores(self) -> EvalRequestQuerySet:
        """Each request's `score`: its counting up votes minus down votes, aggregated from the
        votes themselves (no counter to keep: a vote touches no shared row)."""
        from votes.models import Vote, VoteType

        votes = (
            Vote.objects.filter(
                model_name=OuterRef("model_name"),
                revision=OuterRef("revision"),
                precision=OuterRef("precision"),
                voided=False,
            )
            .order_by()
            .values("model_name")
            .annotate(
                total=Sum(Case(When(vote_type=VoteType.UP, then=Value(1)), default=Value(-1)))
            )
            .values("total")
        )
        return self.annotate(score=Coalesce(Subquery(votes), Value(0)))

    def queue(self) -> EvalRequestQuerySet:
        """Pending requests in the order they are evaluated: highest score, then oldest."""
        return (
            self.filter(status=Status.PENDING)
            .with_scores()
            .order_by("-score", "submitted_at", "pk")  # type: ignore[misc]  # annotated above
        )

    def of_organization(self, org: str) -> EvalRequestQuerySet:
        return self.filter(model_name__startswith=f"{org}/")


class EvalRequest(models.Model):
    model_name = models.CharField(max_length=200)  # org/name on the Hub
    revision = models.CharField(max_length=64)  # the commit sha, pinned at submission
    precision = models.CharField(max_length=16, choices=Precision.choices)
    weight_type = models.CharField(max_length=16, choices=WeightType.choices)
    model_type = models.CharField(max_length=32, choices=ModelType.choices)
    base_model = models.CharField(max_length=200, blank=True)
    use_chat_template = models.BooleanField(default=False)

    # What the checks found on the Hub.
    params_billions = models.FloatField(null=True, blank=True)
    architectures = models.JSONField(default=list, blank=True)
    license = models.CharField(max_length=100, blank=True)
    likes = models.IntegerField(default=0)

    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="eval_requests",
    )
    sender = models.CharField(max_length=150, blank=True)  # the submitter's name, as mirrored
    mirror_path = models.CharField(max_length=400, unique=True)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    reason = models.TextField(blank=True)  # why it failed or was cancelled
    log_tail = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)

    submitted_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The evaluation job that holds the request: its id, and when its lease runs out.
    job_id = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    results = models.JSONField(null=True, blank=True)  # lm-eval's results file
    entry = models.ForeignKey(
        "leaderboard.Entry",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="eval_requests",
    )

    objects = EvalRequestQuerySet.as_manager()

    class Meta:
        verbose_name = "evaluation request"
        constraints = [
            models.UniqueConstraint(
                fields=["model_name", "revision", "precision", "use_chat_template"],
                condition=Q(status__in=ACTIVE),
                name="request_active_identity",
            )
        ]
        indexes = [
            models.Index(fields=["status", "submitted_at"], name="request_queue"),
            models.Index(fields=["model_name", "status"], name="request_model"),
            models.Index(fields=["submitter", "-submitted_at"], name="request_submitter"),
            models.Index(fields=["status", "lease_expires_at"], name="request_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.model_name}@{self.revision[:7]} ({self.precision}, {self.status})"

    @property
    def organization(self) -> str:
        return self.model_name.split("/", 1)[0]

    def mirror_record(self) -> dict[str, object]:
        """The request file's fields, as upstream's evaluator tooling reads them."""
        return {
            "model": self.model_name,
            "base_model": self.base_model,
            "revision": self.revision,
            "precision": self.precision,
            "params": self.params_billions,
            "architectures": ";".join(self.architectures),
            "weight_type": self.weight_type,
            "status": MIRROR_STATUS.get(Status(self.status), self.status),
            "submitted_time": _iso(self.submitted_at),
            "model_type": ModelType(self.model_type).label,
            "job_id": self.job_id or -1,
            "job_start_time": _iso(self.started_at) if self.started_at else None,
            "use_chat_template": self.use_chat_template,
            "sender": self.sender,
            "likes": self.likes,
            "license": self.license,
            "private": False,
        }


def _iso(moment: object) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[attr-defined]


def mirror_base_path(
    *, model_name: str, precision: str, weight_type: str, revision: str, use_chat_template: bool
) -> str:
    """Upstream's request-file name, plus the sha and the chat template so it is unique."""
    path = f"{model_name}_eval_request_False_{precision}_{weight_type}_{revision[:7]}"
    return f"{path}_chat" if use_chat_template else path
