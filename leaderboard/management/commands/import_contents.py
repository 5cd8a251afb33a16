"""manage.py import_contents SOURCE: upsert leaderboard entries from a contents file or dataset."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from itertools import chain
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from leaderboard import sources
from leaderboard.services import ImportRowError, entries_import
from leaderboard.snapshot import snapshot_rebuild
from leaderboard_site.hub import HubError

CONTENTS_PATTERNS = ["*.parquet", "*.jsonl", "*.json", "*.csv"]


class Command(BaseCommand):
    help = (
        "Import leaderboard entries from SOURCE: a local parquet, JSONL, JSON or CSV file in the "
        "contents shape, or hub:ORG/NAME for a Hub dataset. All rows or none; idempotent."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("source", help="file path, or hub:ORG/NAME")

    def handle(self, *args: Any, source: str, **options: Any) -> None:
        try:
            paths = sources.resolve(source, patterns=CONTENTS_PATTERNS)
            rows = chain.from_iterable(sources.read_rows(path) for path in paths)
            with tqdm(desc="rows", unit="row", disable=not sys.stderr.isatty(), leave=False) as bar:
                summary = entries_import(rows=rows, progress=bar.update, schedule_rebuild=False)
        except ImportRowError as exc:
            raise CommandError(f"nothing imported: {exc}") from exc
        except (sources.SourceError, HubError) as exc:
            raise CommandError(str(exc)) from exc
        if summary.created or summary.updated:
            snapshot_rebuild()
        self.stdout.write(
            f"{summary.total} rows: {summary.created} created, {summary.updated} updated, "
            f"{summary.unchanged} unchanged"
        )
