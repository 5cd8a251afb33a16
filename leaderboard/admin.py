"""Maintainers' admin: entries (fast on 100k rows) and the curated official providers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from leaderboard import services
from leaderboard.models import Entry, ModelType, OfficialProvider, Precision


def _flag_action(flag: str, value: bool, description: str) -> Any:
    @admin.action(description=description)
    def action(modeladmin: EntryAdmin, request: HttpRequest, queryset: QuerySet[Entry]) -> None:
        ids = queryset.values_list("pk", flat=True)
        changed = services.entries_set_flag(entry_ids=ids, flag=flag, value=value)
        modeladmin.message_user(request, f"{changed} entries changed.", messages.SUCCESS)

    action.__name__ = f"set_{flag}_{value}".lower()
    return action


class PartialFilter(admin.SimpleListFilter):
    title = "partial run"
    parameter_name = "partial"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Entry]) -> QuerySet[Entry]:
        if self.value() in ("yes", "no"):
            complete = Q(missing_subtasks=[])
            return queryset.filter(~complete if self.value() == "yes" else complete)
        return queryset


class PrecisionFilter(admin.ChoicesFieldListFilter):
    """The API's names (8bit, 4bit), not the labels Django derives from the members (Int8)."""

    def choices(self, changelist: Any) -> Any:
        names = {str(label): value for value, label in Precision.choices}
        for choice in super().choices(changelist):
            yield {**choice, "display": names.get(str(choice["display"]), choice["display"])}


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = (
        "model_name",
        "precision",
        "type_icon",
        "average_score",
        "partial",
        "params",
        "flagged",
        "official_provider",
        "submission_date",
    )
    list_filter = (
        PartialFilter,
        "model_type",
        ("precision", PrecisionFilter),
        "weight_type",
        "flagged",
        "official_provider",
        "merged",
        "moe",
        "available_on_hub",
    )
    search_fields = ("model_name", "base_model", "architecture")
    ordering = ("-average",)  # the entry_average index
    list_per_page = 50
    list_select_related = False  # no foreign key: every column is the row's own
    show_full_result_count = False  # no COUNT(*) over the whole table on filtered pages
    readonly_fields = ("missing_subtasks", "created_at", "updated_at")
    actions = [
        _flag_action("flagged", True, "Flag selected entries"),
        _flag_action("flagged", False, "Unflag selected entries"),
        _flag_action("official_provider", True, "Mark as official provider"),
        _flag_action("official_provider", False, "Unmark official provider"),
    ]

    @admin.display(description="type", ordering="model_type")
    def type_icon(self, obj: Entry) -> str:
        """The icon, its label on hover: the labels wrapped a narrow column over five lines."""
        model_type = ModelType(obj.model_type)
        return format_html('<span title="{}">{}</span>', model_type.label, model_type.symbol)

    @admin.display(description="average", ordering="average")
    def average_score(self, obj: Entry) -> str:
        return "–" if obj.average is None else f"{obj.average:.2f}"

    @admin.display(description="params (B)", ordering="params_billions")
    def params(self, obj: Entry) -> str:
        return "–" if obj.params_billions is None else f"{obj.params_billions:.2f}"

    @admin.display(boolean=True, description="partial")
    def partial(self, obj: Entry) -> bool:
        """Scored over some subtasks only: see its missing subtasks."""
        return obj.partial

    def save_model(self, request: HttpRequest, obj: Entry, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.snapshot_schedule_rebuild()

    def delete_model(self, request: HttpRequest, obj: Entry) -> None:
        super().delete_model(request, obj)
        services.snapshot_schedule_rebuild()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Entry]) -> None:
        super().delete_queryset(request, queryset)
        services.snapshot_schedule_rebuild()


@admin.register(OfficialProvider)
class OfficialProviderAdmin(admin.ModelAdmin):
    list_display = ("organization", "created_at")
    search_fields = ("organization",)

    def save_model(
        self, request: HttpRequest, obj: OfficialProvider, form: Any, change: bool
    ) -> None:
        previous = (
            OfficialProvider.objects.filter(pk=obj.pk)
            .values_list("organization", flat=True)
            .first()
        )
        super().save_model(request, obj, form, change)
        if previous and previous != obj.organization:
            services.official_provider_flag_entries(organizations=[previous], value=False)
        services.official_provider_flag_entries(organizations=[obj.organization], value=True)

    def delete_model(self, request: HttpRequest, obj: OfficialProvider) -> None:
        super().delete_model(request, obj)
        services.official_provider_flag_entries(organizations=[obj.organization], value=False)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OfficialProvider]) -> None:
        organizations = list(queryset.values_list("organization", flat=True))
        super().delete_queryset(request, queryset)
        services.official_provider_flag_entries(organizations=organizations, value=False)
