"""manage.py load_demo_data: the bundled real snapshot, only when the leaderboard is empty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from leaderboard.models import Entry

BUNDLED = Path(__file__).resolve().parents[2] / "data" / "contents-2025-03-21.parquet"


class Command(BaseCommand):
    help = "Load the bundled Open LLM Leaderboard snapshot (2025-03-21) if there are no entries."

    def handle(self, *args: Any, **options: Any) -> None:
        if Entry.objects.exists():
            self.stdout.write("leaderboard already has entries: demo data not loaded")
            return
        call_command("import_contents", str(BUNDLED), stdout=self.stdout)
