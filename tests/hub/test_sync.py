"""Pulling what others changed in the mirrored datasets, and the sync_hub command."""

from __future__ import annotations

import hashlib
import json
from io import StringIO

import orjson
import pytest
from django.core.management import call_command

from leaderboard.models import OfficialProvider
from leaderboard_site.hub import mirror, sync
from leaderboard_site.hub.client import HubUnavailable
from leaderboard_site.hub.models import MirrorChange
from submissions.models import EvalRequest, Status
from tests.conftest import make_user
from tests.submissions.test_status import make_request
from votes import services as votes
from votes.models import KnownEvent, Vote

pytestmark = pytest.mark.django_db
SHA = "b" * 40


def dataset_folder(settings, name: str):
    folder = settings.VAR_DIR / "hub" / settings.HF_ORGANIZATION / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_an_external_evaluators_statuses_are_pulled_once(settings) -> None:
    request = make_request("acme/tiny", mirror_path="acme/tiny_eval_request.json")
    folder = dataset_folder(settings, "requests")
    (folder / "acme").mkdir()
    record = {"model": "acme/tiny", "status": "RUNNING"}
    (folder / "acme/tiny_eval_request.json").write_text(json.dumps(record))
    (folder / "acme/someone_elses.json").write_text(json.dumps(record))

    report = sync.pull("requests")
    assert report.counts == {"changed": 1, "unchanged": 0, "unknown": 1, "skipped": 0}
    request.refresh_from_db()
    assert request.status == Status.EVALUATING
    assert sync.pull("requests").counts["changed"] == 0  # twice changes nothing

    record["status"] = "FINISHED"
    (folder / "acme/tiny_eval_request.json").write_text(json.dumps(record))
    assert sync.pull("requests", dry_run=True).counts["changed"] == 1
    request.refresh_from_db()
    assert request.status == Status.EVALUATING  # a dry run changes nothing
    sync.pull("requests")
    request.refresh_from_db()
    assert request.status == Status.FINISHED


def test_vote_history_is_imported_once_and_our_own_lines_are_not_replayed(settings) -> None:
    make_request("acme/tiny", revision=SHA)
    alice = make_user("alice", "user")
    votes.vote_cast(user=alice, target=votes.Target("acme/tiny", SHA, "bfloat16"), vote_type="up")
    mirror.push("votes")
    path = dataset_folder(settings, "votes") / "votes_data.jsonl"

    def event(username: str, vote_type: str, second: int) -> bytes:
        return orjson.dumps({"model": "acme/tiny", "revision": SHA, "precision": "bfloat16",
                             "username": username, "vote_type": vote_type,
                             "timestamp": f"2025-01-01T00:00:{second:02d}Z"})  # fmt: skip

    history = [event("carol", "up", 1), event("dave", "up", 2), event("dave", "down", 3),
               event("erin", "up", 4), event("erin", "withdrawn", 5), b"not json"]  # fmt: skip
    with path.open("ab") as handle:
        handle.write(b"\n".join(history) + b"\n")

    report = sync.pull("votes")
    assert report.counts == {"applied": 5, "known": 1, "skipped": 1}
    counts = {(v.user.username, v.vote_type) for v in Vote.objects.select_related("user")}
    assert counts == {("alice", "up"), ("carol", "up"), ("dave", "down")}
    assert EvalRequest.objects.with_scores().get().score == 1  # alice +1, carol +1, dave -1
    assert sync.pull("votes").counts == {"applied": 0, "known": 6, "skipped": 1}


def test_our_lines_are_known_from_their_first_push_on_even_when_it_fails(
    settings, monkeypatch
) -> None:
    make_request("acme/tiny", revision=SHA)
    alice = make_user("alice", "user")
    votes.vote_cast(user=alice, target=votes.Target("acme/tiny", SHA, "bfloat16"), vote_type="up")
    assert not KnownEvent.objects.exists()  # nothing written per vote: the line is not out yet

    def unavailable(*args, **kwargs):
        raise HubUnavailable("503")

    monkeypatch.setattr(mirror.FolderTarget, "commit", unavailable)
    with pytest.raises(HubUnavailable):
        mirror.push("votes")
    assert MirrorChange.objects.filter(dataset="votes").count() == 1  # still to publish
    monkeypatch.undo()
    mirror.push("votes")
    line = (dataset_folder(settings, "votes") / "votes_data.jsonl").read_bytes().strip()
    assert list(KnownEvent.objects.values_list("digest", flat=True)) == [
        hashlib.sha256(line).hexdigest()
    ]
    assert sync.pull("votes").counts == {"applied": 0, "known": 1, "skipped": 0}


def test_official_providers_are_pulled(settings) -> None:
    folder = dataset_folder(settings, "official-providers")
    (folder / "official_providers.jsonl").write_text('{"CURATED_SET": ["acme", "bigco"]}\n')
    assert sync.pull("official-providers").counts == {
        "organizations": 2, "added": 2, "removed": 0
    }  # fmt: skip
    assert set(OfficialProvider.objects.values_list("organization", flat=True)) == {
        "acme", "bigco"
    }  # fmt: skip
    assert sync.pull("official-providers").counts["added"] == 0


def test_sync_hub_shows_then_does(settings) -> None:
    make_request("acme/tiny", revision=SHA)
    votes.vote_cast(user=make_user("alice", "user"),
                    target=votes.Target("acme/tiny", SHA, "bfloat16"), vote_type="up")  # fmt: skip
    out = StringIO()
    call_command("sync_hub", "--push", "--dry-run", "--dataset", "votes", stdout=out)
    assert "would push votes: 1 changes, 1 files" in out.getvalue()
    assert not (dataset_folder(settings, "votes") / "votes_data.jsonl").exists()
    out = StringIO()
    call_command("sync_hub", stdout=out)
    assert "push votes: 1 changes, 1 files" in out.getvalue()
    assert "pull requests" in out.getvalue()
    assert (dataset_folder(settings, "votes") / "votes_data.jsonl").exists()
