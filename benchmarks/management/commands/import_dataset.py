"""manage.py import_dataset NAME SOURCE: a file, or hub:ORG/NAME, as the next version of NAME."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmarks import datasets, services
from leaderboard.sources import HUB_PREFIX
from leaderboard_site.api.errors import ApiError
from leaderboard_site.hub import HubError, client


class Command(BaseCommand):
    help = (
        "Import a dataset from a JSONL, JSON or CSV file, or from a Hub dataset (hub:ORG/NAME, "
        "e.g. --schema mmlu for MMLU's rows), as the next version of NAME."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("source", help="a file path, or hub:ORG/NAME")
        parser.add_argument("--schema", choices=datasets.SCHEMAS, default="items")
        parser.add_argument("--format", choices=datasets.FORMATS, help="default: from the name")
        parser.add_argument("--pattern", default="*.jsonl", help="files of a Hub dataset to read")
        parser.add_argument("--description", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        source: str = options["source"]
        try:
            if source.startswith(HUB_PREFIX):
                folder = client.download_dataset(source[len(HUB_PREFIX):],
                                                 patterns=[options["pattern"]])  # fmt: skip
                files = sorted(p for p in folder.rglob(options["pattern"]) if p.is_file())
            else:
                files = [Path(source)]
            items = []
            for path in files:
                fmt = options["format"] or datasets.format_of(path.name)
                items += datasets.parse(path.read_bytes(), fmt=fmt, schema=options["schema"])
        except (OSError, HubError) as exc:
            raise CommandError(str(exc)) from exc
        except ApiError as exc:
            raise CommandError(f"{exc.message} {exc.details.get('errors', '')}") from exc
        if not files:
            raise CommandError(f"{source}: no files match {options['pattern']}")
        dataset = services.dataset_create(
            name=options["name"], items=items, description=options["description"], source=source
        )
        self.stdout.write(f"{dataset}: {dataset.item_count} items")
