"""Accounts' periodic work: forget signed-out tokens once they have expired anyway."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def revoked_tokens_purge() -> str:
    from leaderboard_site.accounts import services

    return f"{services.revoked_tokens_purge()} expired signed-out tokens forgotten"
