"""The mirror pushing to the Hub: the real huggingface_hub client against the local Hub server."""

from __future__ import annotations

import pytest
from django.db import transaction
from huggingface_hub import CommitOperationAdd, HfApi

from leaderboard_site.hub import client, mirror
from leaderboard_site.hub.models import MirrorChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub_target(hub, settings):
    settings.HF_TOKEN = "hf_leaderboard"
    settings.MIRROR_TARGET = "leaderboard_site.hub.mirror.HubTarget"
    hub.add_token("hf_leaderboard", "maintainer", orgs=[settings.HF_ORGANIZATION])
    return f"{settings.HF_ORGANIZATION}/votes"


def cast(*numbers: int) -> None:
    with transaction.atomic():
        for n in numbers:
            mirror.record_append("votes", "votes_data.jsonl", b'{"n": %d}' % n)


def published(hub, repo: str) -> list[int]:
    data = mirror.target().read("votes", "votes_data.jsonl", None) or b""
    return [int(line.split(b":")[1].strip(b" }")) for line in data.splitlines()]


def test_a_push_lands_one_commit_with_every_change(hub, hub_target) -> None:
    cast(1, 2, 3)
    with transaction.atomic():
        mirror.record_put("votes", "README.md", b"# votes\n")
    result = mirror.push("votes")
    assert (result.changes, result.files) == (4, 2)
    commits = hub.commits(hub_target)
    assert len(commits) == 1
    assert sorted(commits[0]["added"]) == ["README.md", "votes_data.jsonl"]
    assert published(hub, hub_target) == [1, 2, 3]
    assert not MirrorChange.objects.exists()
    cast(4)
    mirror.push("votes")
    assert published(hub, hub_target) == [1, 2, 3, 4]
    assert commits[0]["sha"] == hub.commits(hub_target)[1]["parent"]  # built on our last head


def test_a_head_moved_between_read_and_commit_is_retried_and_nothing_is_lost(
    hub, hub_target, settings
) -> None:
    cast(1)
    mirror.push("votes")
    cast(2)

    def someone_else_commits() -> None:
        theirs = (mirror.target().read("votes", "votes_data.jsonl", None) or b"") + b'{"n": 99}\n'
        HfApi(endpoint=hub.url, token="hf_leaderboard").create_commit(
            hub_target, repo_type="dataset", commit_message="theirs",
            operations=[CommitOperationAdd("votes_data.jsonl", theirs)],
        )  # fmt: skip

    hub.on_next_commit(someone_else_commits)
    result = mirror.push("votes")
    assert result.attempts == 2  # the first commit hit 412 and was rebuilt on the new head
    assert published(hub, hub_target) == [1, 99, 2]
    assert [c["message"] for c in hub.commits(hub_target)][-2] == "theirs"


def test_a_hub_down_for_a_while_keeps_the_outbox_then_lands_it_in_one_commit(
    hub, hub_target
) -> None:
    cast(1)
    mirror.push("votes")
    cast(2, 3)
    hub.fail_next(count=50, status=503, path_prefix=f"/api/datasets/{hub_target}")
    for _ in range(2):
        with pytest.raises(client.HubUnavailable):
            mirror.push("votes")
        assert MirrorChange.objects.count() == 2
    cast(4)
    hub.state._faults.clear()  # the Hub recovers
    result = mirror.push("votes")
    assert result.changes == 3
    assert published(hub, hub_target) == [1, 2, 3, 4]
    assert len(hub.commits(hub_target)) == 2  # one before the outage, one after


def test_sync_hub_pushes_to_the_hub_with_a_token(hub, hub_target) -> None:
    from io import StringIO

    from django.core.management import call_command

    cast(1, 2)
    out = StringIO()
    call_command("sync_hub", "--push", "--dataset", "votes", stdout=out)
    assert "push votes: 2 changes, 1 files" in out.getvalue()
    assert len(hub.commits(hub_target)) == 1
