"""Maintainers configure providers, prices and spend caps here; completions and the usage of
provider calls are read-only (the usage list ends with the totals of what it shows)."""

from __future__ import annotations

import contextlib
from typing import Any

from django import forms
from django.contrib import admin

from benchmarks import selectors, services, spend
from benchmarks.models import (
    Benchmark,
    Budget,
    BudgetLedger,
    Completion,
    Price,
    Provider,
    ProviderCall,
)
from leaderboard_site.api.errors import Conflict


class ProviderForm(forms.ModelForm):
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave empty to keep the current key.",
    )
    base_url = forms.URLField(required=False, assume_scheme="https", max_length=300)

    class Meta:
        model = Provider
        fields = ["name", "kind", "base_url", "api_key", "timeout_seconds", "max_retries",
                  "max_concurrency", "enabled"]  # fmt: skip

    def clean_api_key(self) -> str:
        return self.cleaned_data["api_key"] or (self.instance.api_key if self.instance else "")


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ("name", "kind", "base_url", "has_key", "max_concurrency", "enabled")

    @admin.display(boolean=True, description="key set")
    def has_key(self, obj: Provider) -> bool:
        return bool(obj.api_key)


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ("provider", "model", "input_per_million", "output_per_million")
    search_fields = ("provider", "model")


@admin.register(Completion)
class CompletionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "owner", "provider", "model", "latency_ms", "cost")
    list_filter = ("provider",)
    search_fields = ("model", "owner__username")
    list_select_related = ("owner",)
    show_full_result_count = False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(Benchmark)
class BenchmarkAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "status", "progress", "dataset", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "owner__username")
    list_select_related = ("owner", "dataset")
    show_full_result_count = False
    readonly_fields = [f.name for f in Benchmark._meta.fields]
    actions = ["cancel"]

    @admin.action(description="Cancel the selected runs (pending or running)")
    def cancel(self, request: Any, queryset: Any) -> None:
        cancelled = 0
        for benchmark in queryset.filter(status__in=["pending", "running"]):
            with contextlib.suppress(Conflict):
                services.benchmark_cancel(benchmark)
                cancelled += 1
        self.message_user(request, f"{cancelled} run(s) cancelled.")

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(ProviderCall)
class ProviderCallAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "api_key", "source", "provider", "model", "calls",
                    "input_tokens", "output_tokens", "cost")  # fmt: skip
    list_filter = ("source", "provider", "created_at")
    search_fields = ("model", "user__username", "api_key__name")
    list_select_related = ("user", "api_key")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def changelist_view(self, request: Any, extra_context: dict[str, Any] | None = None) -> Any:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        if "cl" in context:  # (not on a redirect or an error page)
            context["totals"] = selectors.usage_figures(context["cl"].queryset)
        return response

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: Any) -> bool:
        return False


class BudgetLedgerInline(admin.TabularInline):
    model = BudgetLedger
    fields = ("period", "starts", "spent", "reserved", "exceeded_at")
    readonly_fields = fields
    ordering = ("-starts", "period")
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    """Spend caps in USD per UTC day and month, of a user or of one API key (models without a
    price are not counted against them)."""

    list_display = ("__str__", "user", "api_key", "daily_usd", "monthly_usd", "updated_at")
    search_fields = ("user__username", "api_key__name", "api_key__user__username")
    autocomplete_fields = ("user", "api_key")
    inlines = [BudgetLedgerInline]

    def save_model(self, request: Any, obj: Budget, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        spend.forget_budgets()  # this process at once; the others within BUDGET_CACHE_SECONDS
