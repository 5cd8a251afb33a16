"""manage.py create_user USERNAME --role ROLE [--password P | --password-stdin] [--update]"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from leaderboard_site.accounts import services
from leaderboard_site.accounts.roles import Role
from leaderboard_site.api.errors import ApiError


class Command(BaseCommand):
    help = "Create a user with a role (an existing username is an error unless --update)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument(
            "--password", help="visible in the process list: prefer --password-stdin"
        )
        secret.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
        parser.add_argument(
            "--update", action="store_true", help="change an existing user's role and password"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"]
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
            if not password:
                raise CommandError("no password on standard input")
        try:
            user, created = services.user_create(
                username=options["username"],
                role=options["role"],
                password=password,
                update=options["update"],
            )
        except ApiError as exc:
            raise CommandError(f"{exc.message} Use --update to change it.") from exc
        verb = "created" if created else "updated"
        self.stdout.write(f"user {user.username} {verb} with role {user.role}")
