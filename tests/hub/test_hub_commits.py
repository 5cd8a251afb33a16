"""The local Hub server's write side, through the real huggingface_hub client."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError

from tests.support.hub_server import COMMITS_PER_PAGE, STALE_PARENT

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


def test_the_stale_parent_error_is_the_hubs(api, hub) -> None:
    first = api.create_commit(REPO, repo_type="dataset", commit_message="a",
                              operations=[add("keep.txt", b"1")])  # fmt: skip
    hub.on_next_commit(lambda: hub.add_file(REPO, "theirs.txt", "x"))  # the head moves meanwhile
    with pytest.raises(HfHubHTTPError) as error:
        api.create_commit(
            REPO, repo_type="dataset", commit_message="b", parent_commit=first.oid,
            operations=[add("mine.txt", b"2"), CommitOperationDelete("keep.txt")],
        )  # fmt: skip
    response = error.value.response
    assert response.status_code == 412
    assert response.json() == {"error": STALE_PARENT}
    assert response.headers["X-Error-Message"] == STALE_PARENT
    assert STALE_PARENT in str(error.value)
    assert sorted(api.list_repo_files(REPO, repo_type="dataset")) == ["keep.txt", "theirs.txt"]
    assert [c["message"] for c in hub.commits(REPO)] == ["a"]


def test_a_short_parent_sha_is_accepted(api, hub) -> None:
    head = api.dataset_info(REPO).sha
    assert head is not None
    api.create_commit(REPO, repo_type="dataset", commit_message="x", parent_commit=head[:7],
                      operations=[add("x", b"x")])  # fmt: skip
    assert hub.commits(REPO)[0]["parent"] == head


def test_a_megabyte_file_goes_inline_and_folders_can_be_deleted(api, hub, tmp_path) -> None:
    blob = b"PAR1" + bytes(range(256)) * 4096 + b"PAR1"  # ~1 MB, what a parquet file weighs
    api.create_commit(REPO, repo_type="dataset", commit_message="data", operations=[
        add("data/train.parquet", blob), add("data/test/x.parquet", b"t"), add("README.md", b"#"),
    ])  # fmt: skip
    assert not any("lfs" in path or "xet" in path for _, path in hub.requests)
    local = hf_hub_download(REPO, "data/train.parquet", repo_type="dataset", endpoint=hub.url,
                            token="hf_writer", cache_dir=tmp_path)  # fmt: skip
    assert Path(local).read_bytes() == blob
    api.create_commit(REPO, repo_type="dataset", commit_message="drop data",
                      operations=[CommitOperationDelete("data/", is_folder=True)])  # fmt: skip
    assert api.list_repo_files(REPO, repo_type="dataset") == ["README.md"]
    assert sorted(hub.commits(REPO)[-1]["deleted"]) == ["data/test/x.parquet", "data/train.parquet"]
    assert not (hub.state.repo_dir("dataset", REPO) / "data").exists()


def test_deleting_a_missing_file_fails_the_whole_commit(api, hub) -> None:
    with pytest.raises(EntryNotFoundError):
        api.create_commit(
            REPO, repo_type="dataset", commit_message="x",
            operations=[add("new.txt", b"n"), CommitOperationDelete("ghost.txt")],
        )  # fmt: skip
    assert api.list_repo_files(REPO, repo_type="dataset") == []
    assert hub.commits(REPO) == []


def test_unchanged_files_are_skipped_by_the_client(api, hub) -> None:
    api.create_commit(REPO, repo_type="dataset", commit_message="a", operations=[add("a", b"1")])
    api.create_commit(REPO, repo_type="dataset", commit_message="same", operations=[add("a", b"1")])
    assert [c["message"] for c in hub.commits(REPO)] == ["a"]  # preupload's oid matched


def test_list_repo_commits_newest_first_over_pages(api, hub) -> None:
    for n in range(COMMITS_PER_PAGE + 5):
        api.create_commit(
            REPO, repo_type="dataset", commit_message=f"c{n}", commit_description=f"body {n}",
            operations=[add("n", b"%d" % n)],
        )  # fmt: skip
    commits = api.list_repo_commits(REPO, repo_type="dataset")
    expected = [f"c{n}" for n in reversed(range(COMMITS_PER_PAGE + 5))] + ["initial commit"]
    assert [c.title for c in commits] == expected
    assert commits[0].commit_id == api.dataset_info(REPO).sha
    assert (commits[0].message, commits[0].authors) == (f"body {COMMITS_PER_PAGE + 4}", ["someone"])
    assert commits[-1].authors == ["system"]
    assert [c.commit_id for c in commits[:-1]] == [c["sha"] for c in reversed(hub.commits(REPO))]
    pages = [p for m, p in hub.requests if m == "GET" and p.endswith("/commits/main")]
    assert len(pages) == 2
    formatted = api.list_repo_commits(REPO, repo_type="dataset", formatted=True)[0]
    assert formatted.formatted_title == f"c{COMMITS_PER_PAGE + 4}"


def test_commits_made_outside_the_api_are_in_the_log_not_in_commits(hub) -> None:
    hub.add_file("acme/contents", "a.json", "{}")
    sha = hub.add_file("acme/contents", "b.json", "{}")
    commits = HfApi(endpoint=hub.url).list_repo_commits("acme/contents", repo_type="dataset")
    assert len(commits) == 2 and commits[0].commit_id == sha
    assert hub.commits("acme/contents") == []


def test_create_repo_private_and_in_the_users_namespace(hub) -> None:
    hub.add_token("hf_alice", "alice")
    alice = HfApi(endpoint=hub.url, token="hf_alice")
    url = alice.create_repo("notes", repo_type="dataset", private=True)
    assert url.repo_id == "alice/notes" and url.repo_type == "dataset"
    assert alice.dataset_info("alice/notes").private is True
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token=False).dataset_info("alice/notes")
    with pytest.raises(HfHubHTTPError) as error:
        alice.create_repo("leaderboard/taken", repo_type="dataset")
    assert error.value.response.status_code == 403


def test_writes_without_a_token_are_401(api, hub) -> None:
    with pytest.raises(HfHubHTTPError) as error:
        HfApi(endpoint=hub.url, token=False).create_commit(
            REPO, repo_type="dataset", commit_message="x", operations=[add("x", b"x")]
        )
    assert error.value.response.status_code == 401


def test_a_commit_to_a_missing_repo_is_repo_not_found(api) -> None:
    with pytest.raises(RepositoryNotFoundError):
        api.create_commit("leaderboard/nothing", repo_type="dataset", commit_message="x",
                          operations=[add("x", b"x")])  # fmt: skip


def test_delay_applies_to_writes(api, hub) -> None:
    hub.delay = 0.2
    started = time.perf_counter()
    api.create_commit(REPO, repo_type="dataset", commit_message="x", operations=[add("x", b"x")])
    assert time.perf_counter() - started >= 0.4  # preupload and commit


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        ([{"key": "header", "value": {"summary": "x"}}], 400),  # nothing to commit
        ([{"key": "header", "value": {"summary": "x"}},
          {"key": "file", "value": {"path": "../../escape", "content": "", "encoding": "base64"}}],
         422),
    ],
)  # fmt: skip
def test_the_server_refuses_bad_commits_the_client_would_not_send(hub, api, lines, status) -> None:
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    request = urllib.request.Request(
        f"{hub.url}/api/datasets/{REPO}/commit/main", data=body, method="POST",
        headers={"Authorization": "Bearer hf_writer", "Content-Type": "application/x-ndjson"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    assert error.value.code == status
    error.value.close()
    assert not (hub.state.root / "datasets" / "escape").exists()
    assert hub.commits(REPO) == []
