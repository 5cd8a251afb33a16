from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from webhooks import services
from webhooks.models import Attempt, Delivery, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "owner", "enabled", "disabled_reason", "failing_since", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "owner__username"]
    readonly_fields = ["enabled", "disabled_reason", "disabled_at", "failing_since", "created_at"]
    exclude = ["secret"]
    actions = ["enable"]

    @admin.action(description="Enable again (clears the failure record)")
    def enable(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for endpoint in queryset.filter(enabled=False):
            services.endpoint_update(endpoint=endpoint, enabled=True)


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    readonly_fields = ["at", "status_code", "latency_ms", "response_excerpt", "error"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event"]
    readonly_fields = ["endpoint", "event", "event_id", "dedupe_key", "payload", "created_at"]
    inlines = [AttemptInline]
