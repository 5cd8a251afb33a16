"""manage.py export_contents PATH: every entry as the contents dataset's parquet file."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from leaderboard.selectors import contents_parquet


class Command(BaseCommand):
    help = (
        "Write every leaderboard entry to PATH (.parquet) as the Hub mirror's contents file, "
        "the bundled snapshot's columns; `import_contents PATH` restores it."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", help="the parquet file to write (replaced if it exists)")

    def handle(self, *args: Any, path: str, **options: Any) -> None:
        target = Path(path)
        # import_contents picks its reader by the extension: anything else could not be restored.
        if target.suffix.lower() != ".parquet":
            raise CommandError(f"{path}: the file name must end with .parquet")
        if not target.parent.is_dir():
            raise CommandError(f"{target.parent}: no such folder")
        content = contents_parquet()
        # Written beside the target, then renamed over it: an interrupted export never leaves a
        # truncated backup where the previous one was.
        partial = target.with_name(f".{target.name}.partial")
        try:
            partial.write_bytes(content)
            os.replace(partial, target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"{path}: {exc.strerror or exc}") from exc
        self.stdout.write(f"{_row_count(target)} rows written to {target} ({len(content):,} bytes)")


def _row_count(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)
