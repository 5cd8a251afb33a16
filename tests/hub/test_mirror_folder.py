"""The mirror's outbox and its embedded target (a local folder with the Hub's layout)."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.db import transaction

from leaderboard_site.hub import mirror
from leaderboard_site.hub.models import MirrorChange

pytestmark = pytest.mark.django_db


def folder(settings, dataset: str):
    return settings.VAR_DIR / "hub" / settings.HF_ORGANIZATION / dataset


@pytest.mark.django_db(transaction=True)
def test_changes_must_be_recorded_inside_the_changes_transaction() -> None:
    with pytest.raises(RuntimeError, match="transaction"):
        mirror.record_put("requests", "a.json", b"{}")  # autocommit, as in a view


def test_a_rolled_back_change_leaves_no_outbox_row() -> None:
    def change_then_fail() -> None:
        with transaction.atomic():
            mirror.record_put("requests", "acme/a.json", b"{}")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        change_then_fail()
    assert not MirrorChange.objects.exists()


def test_one_push_publishes_every_pending_change_as_one_commit(settings) -> None:
    with transaction.atomic():
        mirror.record_put("requests", "acme/a.json", b'{"status": "PENDING"}')
        mirror.record_put("requests", "acme/b.json", b'{"status": "PENDING"}')
        mirror.record_put("requests", "acme/a.json", b'{"status": "RUNNING"}')  # latest wins
    result = mirror.push("requests")
    assert (result.changes, result.files, result.attempts) == (3, 2, 1)
    root = folder(settings, "requests")
    assert json.loads((root / "acme/a.json").read_text()) == {"status": "RUNNING"}
    assert (root / "acme/b.json").exists()
    log = [json.loads(line) for line in root.with_name("requests.log").read_text().splitlines()]
    assert len(log) == 1
    assert log[0]["files"] == ["acme/a.json", "acme/b.json"]
    assert not MirrorChange.objects.exists()
    assert mirror.push("requests").changes == 0  # nothing left: no empty commit


def test_appends_accumulate_in_order_across_pushes(settings) -> None:
    with transaction.atomic():
        mirror.record_append("votes", "votes_data.jsonl", b'{"n": 1}')
        mirror.record_append("votes", "votes_data.jsonl", b'{"n": 2}')
    mirror.push("votes")
    with transaction.atomic():
        mirror.record_append("votes", "votes_data.jsonl", b'{"n": 3}\n')
    mirror.push("votes")
    lines = (folder(settings, "votes") / "votes_data.jsonl").read_text().splitlines()
    assert [json.loads(line)["n"] for line in lines] == [1, 2, 3]


def test_a_delete_after_a_put_wins(settings) -> None:
    with transaction.atomic():
        mirror.record_put("requests", "acme/a.json", b"{}")
    mirror.push("requests")
    with transaction.atomic():
        mirror.record_put("requests", "acme/a.json", b'{"v": 2}')
        mirror.record_delete("requests", "acme/a.json")
    mirror.push("requests")
    assert not (folder(settings, "requests") / "acme/a.json").exists()


def test_a_moved_head_is_read_again_and_nothing_is_lost(settings, monkeypatch) -> None:
    with transaction.atomic():
        mirror.record_append("votes", "votes_data.jsonl", b'{"n": "ours"}')
    target = mirror.FolderTarget()
    real_commit = target.commit
    calls = []

    def competing_commit(dataset, *, files, message, parent):
        if not calls:  # somebody else commits between our read and our commit
            calls.append("theirs")
            real_commit(
                dataset, files={"votes_data.jsonl": b'{"n": "theirs"}\n'}, message="x",
                parent=target.head(dataset),
            )  # fmt: skip
        return real_commit(dataset, files=files, message=message, parent=parent)

    monkeypatch.setattr(target, "commit", competing_commit)
    monkeypatch.setattr(mirror, "target", lambda: target)
    result = mirror.push("votes")
    assert result.attempts == 2
    lines = (folder(settings, "votes") / "votes_data.jsonl").read_text().splitlines()
    assert [json.loads(line)["n"] for line in lines] == ["theirs", "ours"]


def test_paths_cannot_leave_the_dataset_folder(settings) -> None:
    with transaction.atomic():
        mirror.record_put("requests", "../escape.json", b"{}")
    with pytest.raises(ValueError, match="leaves"):
        mirror.push("requests")
    assert MirrorChange.objects.count() == 1  # kept for a maintainer to look at


def test_unknown_datasets_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown dataset"), transaction.atomic():
        mirror.record_put("secrets", "a", b"")


def test_the_contents_parquet_is_built_at_push_time_and_reads_back(settings) -> None:
    from leaderboard.selectors import CONTENTS_PATH
    from leaderboard.services import entries_import
    from leaderboard.sources import read_rows
    from tests.leaderboard.factories import EntryFactory

    EntryFactory.create_batch(3)
    with transaction.atomic():
        mirror.record_regenerate("contents", CONTENTS_PATH)
        mirror.record_regenerate("contents", CONTENTS_PATH)  # twice: built once
    result = mirror.push("contents")
    assert (result.changes, result.files) == (2, 1)
    path = folder(settings, "contents") / CONTENTS_PATH
    rows = list(read_rows(path))
    assert len(rows) == 3
    summary = entries_import(rows=rows, schedule_rebuild=False)
    assert (summary.created, summary.updated) == (0, 0)  # read back: identical to the entries


def test_one_push_at_a_time_and_a_push_that_outlived_its_lock_keeps_off_the_next_ones() -> None:
    key = "hub:mirror:push:votes"
    with mirror._push_lock("votes"):
        with pytest.raises(mirror.PushInProgress):
            mirror.push("votes")
        cache.delete(key)  # the lock lapsed (PUSH_LOCK_SECONDS) while this push went on
        cache.add(key, "the next push", timeout=60)
    assert cache.get(key) == "the next push"
