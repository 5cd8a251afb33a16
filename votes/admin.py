"""Maintainers' admin for votes: browse them and void a person's votes."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from votes import services
from votes.models import Vote


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ("model_name", "short_revision", "precision", "vote_type", "user", "voided",
                    "updated_at")  # fmt: skip
    list_filter = ("vote_type", "voided", "precision")
    search_fields = ("model_name", "user__username")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("user", "model_name", "revision", "precision", "vote_type", "voided",
                       "created_at", "updated_at")  # fmt: skip
    show_full_result_count = False
    actions = ["void_voters"]

    @admin.display(description="revision")
    def short_revision(self, obj: Vote) -> str:
        return obj.revision[:7]

    @admin.action(description="Void every vote of the selected votes' voters")
    def void_voters(self, request: HttpRequest, queryset: QuerySet[Vote]) -> None:
        voided = sum(services.votes_void(user=vote.user) for vote in queryset.distinct())
        self.message_user(request, f"{voided} votes voided.", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # votes are cast through the API, by the voter
