"""The local Hub server's write side, through the real huggingface_hub client."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

REPO = "leaderboard/votes"


@pytest.fixture
def api(hub) -> HfApi:
    hub.add_token("hf_writer", "someone", orgs=["leaderboard"])
    client = HfApi(endpoint=hub.url, token="hf_writer")
    client.create_repo(REPO, repo_type="dataset")
    return client


def add(path: str, data: bytes) -> CommitOperationAdd:
    return CommitOperationAdd(path_in_repo=path, path_or_fileobj=data)


def test_a_commit_adds_and_deletes_files_in_one_go(api, hub, tmp_path) -> None:
    lines = b"".join(b'{"n": %d}\n' % n for n in range(10_000))
    operations = [add("votes.jsonl", lines), add("old.txt", b"x")]
    first = api.create_commit(
        REPO, repo_type="dataset", commit_message="one", operations=operations
    )
    head = api.dataset_info(REPO).sha
    assert head == first.oid
    second = api.create_commit(
        REPO, repo_type="dataset", commit_message="two", parent_commit=head,
        operations=[add("votes.jsonl", lines + b'{"n": -1}\n'), CommitOperationDelete("old.txt")],
    )  # fmt: skip
    commits = hub.commits(REPO)
    assert [c["message"] for c in commits] == ["one", "two"]
    assert commits[1] == {"sha": second.oid, "parent": head, "message": "two",
                          "added": ["votes.jsonl"], "deleted": ["old.txt"]}  # fmt: skip
    local = hf_hub_download(REPO, "votes.jsonl", repo_type="dataset", endpoint=hub.url,
                            token="hf_writer", cache_dir=tmp_path)  # fmt: skip
    assert Path(local).read_bytes().count(b"\n") == 10_001


def test_a_stale_parent_is_refused_with_412_and_nothing_applied(api, hub) -> None:
    api.create_commit(REPO, repo_type="dataset", commit_message="a", operations=[add("a", b"1")])
    stale = api.dataset_info(REPO).sha
    api.create_commit(REPO, repo_type="dataset", commit_message="b", operations=[add("b", b"2")])
    with pytest.raises(HfHubHTTPError) as error:
        api.create_commit(REPO, repo_type="dataset", commit_message="c", parent_commit=stale,
                          operations=[add("c", b"3")])  # fmt: skip
    assert error.value.response.status_code == 412
    assert [c["message"] for c in hub.commits(REPO)] == ["a", "b"]


def test_writes_need_a_token_that_owns_the_namespace(api, hub) -> None:
    hub.add_token("hf_stranger", "stranger")
    stranger = HfApi(endpoint=hub.url, token="hf_stranger")
    with pytest.raises(HfHubHTTPError) as error:
        stranger.create_commit(REPO, repo_type="dataset", commit_message="x",
                               operations=[add("x", b"x")])  # fmt: skip
    assert error.value.response.status_code == 403


def test_faults_apply_to_commits(api, hub) -> None:
    hub.fail_next(count=1, status=503, path_prefix=f"/api/datasets/{REPO}/commit")
    with pytest.raises(HfHubHTTPError) as error:
        api.create_commit(REPO, repo_type="dataset", commit_message="x",
                          operations=[add("x", b"x")])  # fmt: skip
    assert error.value.response.status_code == 503
    assert hub.commits(REPO) == []


def test_create_repo_twice_is_fine_with_exist_ok(api) -> None:
    api.create_repo(REPO, repo_type="dataset", exist_ok=True)
    with pytest.raises(HfHubHTTPError):
        api.create_repo(REPO, repo_type="dataset")
