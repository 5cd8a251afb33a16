"""import_contents and import_official_providers reading Hub datasets (the local Hub server)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from leaderboard.models import Entry, OfficialProvider
from tests.leaderboard.test_import import contents_row

pytestmark = pytest.mark.django_db


def parquet_bytes(rows: list[dict[str, Any]], tmp_path: Path) -> bytes:
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path.read_bytes()


def test_import_contents_from_a_hub_dataset(hub: Any, tmp_path: Path) -> None:
    rows = [contents_row("acme/a"), contents_row("acme/b")]
    hub.add_file(
        "open-llm-leaderboard/contents",
        "data/train-00000-of-00001.parquet",
        parquet_bytes(rows, tmp_path),
    )
    hub.add_file("open-llm-leaderboard/contents", "README.md", "# contents")
    out = io.StringIO()
    call_command("import_contents", "hub:open-llm-leaderboard/contents", stdout=out)
    assert "2 rows: 2 created" in out.getvalue()
    assert set(Entry.objects.values_list("model_name", flat=True)) == {"acme/a", "acme/b"}
    call_command("import_contents", "hub:open-llm-leaderboard/contents", stdout=out)
    assert "0 created, 0 updated, 2 unchanged" in out.getvalue()


def test_a_missing_dataset_is_a_clear_error(hub: Any) -> None:
    with pytest.raises(CommandError, match="not found"):
        call_command("import_contents", "hub:nobody/nothing", stdout=io.StringIO())


def test_the_hub_down_is_a_clear_error_and_imports_nothing(hub: Any, tmp_path: Path) -> None:
    hub.add_file("acme/contents", "data/x.parquet", parquet_bytes([contents_row()], tmp_path))
    hub.fail_next(50, status=503)
    with pytest.raises(CommandError, match=r"(?i)unreachable|503"):
        call_command("import_contents", "hub:acme/contents", stdout=io.StringIO())
    assert not Entry.objects.exists()


def test_a_malformed_hub_source_is_refused(hub: Any) -> None:
    with pytest.raises(CommandError, match="hub:ORG/NAME"):
        call_command("import_contents", "hub:just-a-name", stdout=io.StringIO())


def test_import_official_providers_from_the_hub(hub: Any) -> None:
    hub.add_file(
        "open-llm-leaderboard/official-providers",
        "official_providers.jsonl",
        json.dumps({"CURATED_SET": ["meta-llama", "google"]}) + "\n",
    )
    call_command(
        "import_official_providers",
        "hub:open-llm-leaderboard/official-providers",
        stdout=io.StringIO(),
    )
    assert set(OfficialProvider.objects.values_list("organization", flat=True)) == {
        "meta-llama",
        "google",
    }
