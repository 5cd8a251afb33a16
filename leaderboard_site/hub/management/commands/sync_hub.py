"""manage.py sync_hub: push the outbox to the Hub datasets and pull what others changed there."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from leaderboard_site.hub import HubError, mirror, sync


class Command(BaseCommand):
    help = (
        "Synchronize the Hub datasets (or, without HF_TOKEN, the local mirror folder): pull "
        "request statuses, official providers and vote events changed elsewhere, then push our "
        "pending changes, one commit per dataset. --dry-run shows what would happen."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        direction = parser.add_mutually_exclusive_group()
        direction.add_argument("--push", action="store_true", help="only push")
        direction.add_argument("--pull", action="store_true", help="only pull")
        parser.add_argument("--dry-run", action="store_true", help="show, change nothing")
        parser.add_argument("--dataset", choices=mirror.DATASETS, help="only this dataset")

    def handle(self, *args: Any, **options: Any) -> None:
        datasets = [options["dataset"]] if options["dataset"] else list(mirror.DATASETS)
        steps: list[tuple[str, str]] = []
        if not options["push"]:
            steps += [("pull", d) for d in datasets if d in sync.PULLABLE]
        if not options["pull"]:
            steps += [("push", d) for d in datasets]
        reports, failures = [], []
        for direction, dataset in tqdm(steps, desc="sync", unit="step", disable=None):
            action = sync.pull if direction == "pull" else sync.push
            try:
                reports.append(action(dataset, dry_run=options["dry_run"]))
            except (HubError, mirror.ParentMoved, mirror.PushInProgress, ValueError) as exc:
                failures.append(f"{direction} {dataset}: {exc}")
        prefix = "would " if options["dry_run"] else ""
        for report in reports:
            self.stdout.write(f"{prefix}{report}")
        if failures:
            raise CommandError("; ".join(failures))
