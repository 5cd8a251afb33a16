from __future__ import annotations

from django.contrib import admin

from webhooks.models import Attempt, Delivery, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "owner", "enabled", "disabled_reason", "failing_since", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "owner__username"]
    readonly_fields = ["disabled_reason", "disabled_at", "failing_since", "created_at"]
    exclude = ["secret"]


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
