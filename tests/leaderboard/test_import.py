from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from leaderboard.contents import RAW_COLUMNS
from leaderboard.models import Entry, OfficialProvider
from leaderboard.services import ImportRowError, entries_import, official_providers_set

pytestmark = pytest.mark.django_db


def contents_row(name: str = "acme/llama-7b", **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "eval_name": f"{name.replace('/', '_')}_bfloat16",
        "Precision": "bfloat16",
        "Type": "💬 chat models (RLHF, DPO, IFT, ...)",
        "T": "💬",
        "Weight type": "Original",
        "Architecture": "LlamaForCausalLM",
        "Model": "",
        "fullname": name,
        "Model sha": "a" * 40,
        "Average ⬆️": 21.5,
        "Hub License": "apache-2.0",
        "Hub ❤️": 4,
        "#Params (B)": 7.24,
        "Available on the hub": True,
        "MoE": False,
        "Flagged": False,
        "Chat Template": True,
        "CO₂ cost (kg)": 1.25,
        "IFEval Raw": 0.5,
        "IFEval": 50.0,
        "BBH Raw": 0.4,
        "BBH": 20.0,
        "MATH Lvl 5 Raw": 0.1,
        "MATH Lvl 5": 10.0,
        "GPQA Raw": 0.3,
        "GPQA": 6.666666666666667,
        "MUSR Raw": 0.4,
        "MUSR": 15.0,
        "MMLU-PRO Raw": 0.28,
        "MMLU-PRO": 20.0,
        "Merged": False,
        "Official Providers": False,
        "Upload To Hub Date": "2024-04-13",
        "Submission Date": "2024-08-05",
        "Generation": 1,
        "Base Model": "acme/llama-base",
    }
    row.update(overrides)
    return row


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif path.suffix == ".json":
        path.write_text(json.dumps({"models": rows}))
    else:
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return path


def run_import(source: Path | str) -> str:
    out = io.StringIO()
    call_command("import_contents", str(source), stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".json", ".csv"])
def test_each_format_imports_every_field(tmp_path: Path, suffix: str) -> None:
    rows = [contents_row("acme/a"), contents_row("acme/b", **{"Hub License": None})]
    assert "2 rows: 2 created, 0 updated, 0 unchanged" in run_import(
        write(tmp_path / f"contents{suffix}", rows)
    )
    entry = Entry.objects.get(model_name="acme/a")
    assert entry.model_type == "chat"
    assert entry.chat_template is True
    assert entry.params_billions == 7.24
    assert entry.hub_hearts == 4
    assert str(entry.submission_date) == "2024-08-05"
    assert entry.generation == 1
    assert Entry.objects.get(model_name="acme/b").hub_license is None


def test_importing_the_same_file_twice_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "c.parquet", [contents_row("acme/a"), contents_row("acme/b")])
    run_import(path)
    before = list(Entry.objects.order_by("pk").values())
    assert "2 rows: 0 created, 0 updated, 2 unchanged" in run_import(path)
    assert list(Entry.objects.order_by("pk").values()) == before


def test_a_changed_row_updates_its_entry_in_place(tmp_path: Path) -> None:
    run_import(write(tmp_path / "a.jsonl", [contents_row("acme/a"), contents_row("acme/b")]))
    pk = Entry.objects.get(model_name="acme/a").pk
    changed = [contents_row("acme/a", **{"Hub ❤️": 99}), contents_row("acme/b")]
    assert "0 created, 1 updated, 1 unchanged" in run_import(write(tmp_path / "b.jsonl", changed))
    assert Entry.objects.get(pk=pk).hub_hearts == 99


def test_identity_includes_precision_sha_and_chat_template(tmp_path: Path) -> None:
    rows = [
        contents_row("acme/a"),
        contents_row("acme/a", Precision="float16"),
        contents_row("acme/a", **{"Model sha": "b" * 40}),
        contents_row("acme/a", **{"Chat Template": False}),
    ]
    run_import(write(tmp_path / "c.jsonl", rows))
    assert Entry.objects.filter(model_name="acme/a").count() == 4


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Precision", "fp64", "not one of"),
        ("#Params (B)", "many", "expected a number"),
        ("Type", "🦄 unicorns", "unknown model type"),
        ("fullname", None, "is required"),
        ("Submission Date", "yesterday", "expected a date"),
    ],
)
def test_a_bad_row_imports_nothing_and_names_row_and_column(
    tmp_path: Path, column: str, value: Any, message: str
) -> None:
    rows = [
        contents_row("acme/a"),
        contents_row("acme/b"),
        contents_row("acme/c", **{column: value}),
    ]
    with pytest.raises(CommandError) as excinfo:
        run_import(write(tmp_path / "bad.jsonl", rows))
    assert f"row 3, column {column!r}" in str(excinfo.value)
    assert message in str(excinfo.value)
    assert not Entry.objects.exists()


def test_a_failing_import_leaves_earlier_data_untouched(tmp_path: Path) -> None:
    run_import(write(tmp_path / "good.jsonl", [contents_row("acme/a")]))
    bad = [contents_row("acme/a", **{"Hub ❤️": 50}), contents_row("acme/b", Precision="?")]
    with pytest.raises(ImportRowError):
        entries_import(rows=bad)
    assert list(Entry.objects.values_list("model_name", "hub_hearts")) == [("acme/a", 4)]


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "invalid JSON"), ("[1, 2]", "expected an object")],
)
def test_unreadable_files_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        run_import(path)


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        run_import(tmp_path / "missing.parquet")
    (tmp_path / "c.xlsx").write_text("x")
    with pytest.raises(CommandError, match="unsupported format"):
        run_import(tmp_path / "c.xlsx")


def test_the_legacy_maintainers_highlight_column_is_read(tmp_path: Path) -> None:
    row = contents_row("acme/a")
    del row["Official Providers"]
    row["Maintainer's Highlight"] = True
    run_import(write(tmp_path / "c.jsonl", [row]))
    assert Entry.objects.get().official_provider is True


def test_raw_columns_are_the_contents_dataset_columns() -> None:
    assert list(RAW_COLUMNS) == list(contents_row())


def test_official_providers_flag_their_entries_only(tmp_path: Path) -> None:
    rows = [
        contents_row("meta/a"),
        contents_row("acme/b"),
        contents_row("other/c", **{"Official Providers": True}),  # published flag stays
    ]
    entries_import(rows=rows)
    added, removed = official_providers_set(organizations=["meta"])
    assert (added, removed) == (1, 0)
    flagged = set(Entry.objects.filter(official_provider=True).values_list("model_name", flat=True))
    assert flagged == {"meta/a", "other/c"}
    official_providers_set(organizations=["acme"])
    flagged = set(Entry.objects.filter(official_provider=True).values_list("model_name", flat=True))
    assert flagged == {"acme/b", "other/c"}
    # imported later, an entry of a curated organization is flagged too
    entries_import(rows=[contents_row("acme/new")])
    assert Entry.objects.get(model_name="acme/new").official_provider is True


def test_import_official_providers_command(tmp_path: Path) -> None:
    entries_import(rows=[contents_row("meta/a")])
    path = tmp_path / "official_providers.jsonl"
    path.write_text(json.dumps({"CURATED_SET": ["meta", "google"]}) + "\n")
    out = io.StringIO()
    call_command("import_official_providers", str(path), stdout=out)
    assert "2 official providers: 2 added, 0 removed" in out.getvalue()
    assert set(OfficialProvider.objects.values_list("organization", flat=True)) == {
        "meta",
        "google",
    }
    assert Entry.objects.get().official_provider is True
    path.write_text(json.dumps({"CURATED_SET": "meta"}))
    with pytest.raises(CommandError, match="CURATED_SET"):
        call_command("import_official_providers", str(path), stdout=out)
