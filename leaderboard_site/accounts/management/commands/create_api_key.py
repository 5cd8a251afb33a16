"""manage.py create_api_key USERNAME --name NAME [--role ROLE] [--expires-days N]: prints the
key once."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from leaderboard_site.accounts import services
from leaderboard_site.accounts.models import User
from leaderboard_site.accounts.roles import Role
from leaderboard_site.api.errors import ApiError


class Command(BaseCommand):
    help = "Create an API key for a user and print it (it is shown only this once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True)
        parser.add_argument("--role", choices=Role.values, help="default: the user's role")
        parser.add_argument("--expires-days", type=float, help="default: never expires")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        days = options["expires_days"]
        expires_at = None if days is None else timezone.now() + dt.timedelta(days=days)
        try:
            new = services.api_key_create(owner=user, name=options["name"], role=options["role"],
                                          expires_at=expires_at)  # fmt: skip
        except ApiError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(new.key)
