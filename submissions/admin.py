"""Maintainers' admin for the queue: filter, requeue, cancel, mark failed; see results and logs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from leaderboard_site.api.errors import ApiError
from submissions import services
from submissions.models import EvalRequest


class OrganizationFilter(admin.SimpleListFilter):
    title = "organization"
    parameter_name = "org"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = EvalRequest.objects.values_list("model_name", flat=True).distinct()[:2000]
        orgs = sorted({name.split("/", 1)[0] for name in names})
        return [(org, org) for org in orgs]

    def queryset(self, request: HttpRequest, queryset: QuerySet[EvalRequest]) -> QuerySet:
        return queryset.of_organization(self.value()) if self.value() else queryset  # type: ignore[attr-defined]


def _bulk(
    change: Callable[[EvalRequest], bool], description: str
) -> Callable[[Any, HttpRequest, QuerySet[EvalRequest]], None]:
    @admin.action(description=description)
    def action(modeladmin: Any, request: HttpRequest, queryset: QuerySet[EvalRequest]) -> None:
        changed, refused = 0, []
        for eval_request in queryset:
            try:
                changed += change(eval_request)
            except ApiError as exc:
                refused.append(f"{eval_request}: {exc.message}")
        modeladmin.message_user(request, f"{changed} requests changed.", messages.SUCCESS)
        for message in refused:
            modeladmin.message_user(request, message, messages.WARNING)

    action.__name__ = change.__name__
    return action


def mark_failed(eval_request: EvalRequest) -> bool:
    return services.request_fail(eval_request, job_id=None, reason="marked failed by a maintainer")


@admin.register(EvalRequest)
class EvalRequestAdmin(admin.ModelAdmin):
    list_display = (
        "model_name",
        "precision",
        "short_revision",
        "status",
        "score",
        "sender",
        "submitted_at",
        "attempts",
    )
    list_filter = ("status", "precision", "weight_type", OrganizationFilter, "submitter")
    search_fields = ("model_name", "sender", "revision")
    ordering = ("-submitted_at",)
    list_select_related = ("submitter",)
    show_full_result_count = False
    actions = [
        _bulk(services.request_requeue, "Requeue (back to PENDING)"),
        _bulk(services.request_cancel, "Cancel"),
        _bulk(mark_failed, "Mark failed"),
    ]
    readonly_fields = (
        "model_name",
        "revision",
        "precision",
        "use_chat_template",
        "status",
        "submitter",
        "sender",
        "mirror_path",
        "submitted_at",
        "started_at",
        "finished_at",
        "job_id",
        "lease_expires_at",
        "attempts",
        "entry",
        "reason",
        "log",
        "results_file",
    )
    exclude = ("results", "log_tail")

    def get_queryset(self, request: HttpRequest) -> QuerySet[EvalRequest]:
        return super().get_queryset(request).with_scores()  # type: ignore[attr-defined]

    @admin.display(description="score", ordering="score")
    def score(self, obj: EvalRequest) -> int:
        """Up votes minus down votes (counting ones)."""
        return obj.score  # type: ignore[attr-defined]

    @admin.display(description="revision")
    def short_revision(self, obj: EvalRequest) -> str:
        return obj.revision[:7]

    @admin.display(description="log tail")
    def log(self, obj: EvalRequest) -> str:
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", obj.log_tail or "-")

    @admin.display(description="results file")
    def results_file(self, obj: EvalRequest) -> str:
        text = json.dumps(obj.results, indent=2) if obj.results else "-"
        return format_html("<pre style='max-height:40em;overflow:auto'>{}</pre>", text)
