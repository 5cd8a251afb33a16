"""manage.py import_official_providers SOURCE: replace the curated set of official providers."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from leaderboard import sources
from leaderboard.services import official_providers_set
from leaderboard_site.hub import HubError


class Command(BaseCommand):
    help = (
        "Set the official providers from SOURCE: a JSON or JSONL file of the official-providers "
        'dataset ({"CURATED_SET": [...]}), or hub:ORG/NAME.'
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("source", help="file path, or hub:ORG/official-providers")

    def handle(self, *args: Any, source: str, **options: Any) -> None:
        try:
            paths = sources.resolve(source, patterns=["*.json", "*.jsonl"])
            organizations = set().union(*(sources.read_official_providers(p) for p in paths))
        except (sources.SourceError, HubError) as exc:
            raise CommandError(str(exc)) from exc
        added, removed = official_providers_set(organizations=organizations)
        self.stdout.write(
            f"{len(organizations)} official providers: {added} added, {removed} removed"
        )
