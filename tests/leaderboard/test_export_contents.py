"""export_contents writes what import_contents restores: the same rows, the contents' columns."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from leaderboard.contents import FIELDS, RAW_COLUMNS
from leaderboard.models import Entry
from leaderboard.selectors import contents_parquet
from tests.leaderboard.conftest import BUNDLED
from tests.leaderboard.factories import EntryFactory

pytestmark = pytest.mark.django_db


def entries() -> list[tuple[Any, ...]]:
    return list(Entry.objects.order_by(*FIELDS[:4]).values_list(*FIELDS))


def export(path: Path) -> str:
    out = io.StringIO()
    call_command("export_contents", str(path), stdout=out)
    return out.getvalue()


def restore(path: Path) -> str:
    out = io.StringIO()
    call_command("import_contents", str(path), stdout=out)
    return out.getvalue()


def test_the_bundled_snapshot_survives_export_wipe_and_import(tmp_path: Path) -> None:
    restore(BUNDLED)
    before = entries()
    backup = tmp_path / "contents.parquet"

    assert export(backup).startswith(f"{len(before)} rows written to {backup}")
    Entry.objects.all().delete()
    assert restore(backup) == f"{len(before)} rows: {len(before)} created, 0 updated, 0 unchanged\n"

    assert len(before) == 4576
    assert entries() == before
    # and a second import of the same file changes nothing
    assert restore(backup).endswith(f"0 updated, {len(before)} unchanged\n")


def test_the_file_has_the_bundled_files_columns_and_is_the_mirrors_bytes(tmp_path: Path) -> None:
    EntryFactory.create_batch(3)
    backup = tmp_path / "contents.parquet"
    export(backup)

    columns = pq.read_schema(backup).names
    assert columns == pq.read_schema(BUNDLED).names == list(RAW_COLUMNS)
    assert backup.read_bytes() == contents_parquet()  # what the mirror pushes to the Hub


def test_columns_that_are_empty_in_every_row_round_trip(tmp_path: Path) -> None:
    # A column with no value at all is typed `null` in the file; import must still read it.
    EntryFactory.create_batch(
        2, hub_license=None, average=None, co2_cost=None, upload_date=None, params_billions=None
    )
    before = entries()
    backup = tmp_path / "contents.parquet"
    export(backup)
    Entry.objects.all().delete()
    restore(backup)

    assert entries() == before


def test_an_empty_leaderboard_exports_a_file_that_imports_as_nothing(tmp_path: Path) -> None:
    backup = tmp_path / "contents.parquet"
    assert export(backup).startswith("0 rows written")
    assert restore(backup) == "0 rows: 0 created, 0 updated, 0 unchanged\n"


def test_an_existing_file_is_replaced_whole(tmp_path: Path) -> None:
    backup = tmp_path / "contents.parquet"
    backup.write_bytes(b"an older backup, much longer than the new one " * 10_000)
    EntryFactory.create_batch(2)
    export(backup)

    assert pq.ParquetFile(backup).metadata.num_rows == 2
    assert [p.name for p in tmp_path.iterdir()] == ["contents.parquet"]


@pytest.mark.parametrize(
    ("name", "message"),
    [("contents.csv", "must end with .parquet"), ("missing/contents.parquet", "no such folder")],
)
def test_paths_import_contents_could_not_read_back_are_refused(
    tmp_path: Path, name: str, message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        export(tmp_path / name)
    assert list(tmp_path.iterdir()) == []
