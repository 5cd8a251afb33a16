"""The local Hub server answers the real huggingface_hub client as the Hub does."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub import errors as hf_errors

from tests.support.hub_server import HubServer

PROJECT = Path(__file__).parents[2]


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    with HubServer(tmp_path / "hub") as hub:
        yield hub


def test_download_a_dataset_file(server: HubServer, tmp_path: Path) -> None:
    sha = server.add_file("acme/contents", "data/train.jsonl", '{"a": 1}\n')
    path = hf_hub_download(
        "acme/contents",
        "data/train.jsonl",
        repo_type="dataset",
        endpoint=server.url,
        cache_dir=tmp_path / "c",
    )
    assert Path(path).read_text() == '{"a": 1}\n'
    assert ("HEAD", "/datasets/acme/contents/resolve/main/data/train.jsonl") in server.requests
    pinned = hf_hub_download(
        "acme/contents", "data/train.jsonl", repo_type="dataset", revision=sha,
        endpoint=server.url, cache_dir=tmp_path / "c2",
    )  # fmt: skip
    assert Path(pinned).read_text() == '{"a": 1}\n'


def test_repo_info_tree_and_snapshot(server: HubServer, tmp_path: Path) -> None:
    server.add_file("acme/contents", "data/a.parquet", b"PAR1")
    sha = server.add_file("acme/contents", "README.md", "# card")
    api = HfApi(endpoint=server.url)
    info = api.dataset_info("acme/contents")
    assert info.sha == sha
    assert sorted(s.rfilename for s in info.siblings or []) == ["README.md", "data/a.parquet"]
    assert sorted(api.list_repo_files("acme/contents", repo_type="dataset")) == [
        "README.md",
        "data/a.parquet",
    ]
    folder = snapshot_download(
        "acme/contents", repo_type="dataset", endpoint=server.url, cache_dir=tmp_path / "c",
        allow_patterns=["*.parquet"],
    )  # fmt: skip
    assert (Path(folder) / "data/a.parquet").read_bytes() == b"PAR1"
    assert not (Path(folder) / "README.md").exists()


def test_model_info_with_card_data(server: HubServer) -> None:
    server.add_file("acme/llama", "config.json", "{}", repo_type="model")
    server.set_repo_meta("acme/llama", cardData={"license": "apache-2.0"})
    info = HfApi(endpoint=server.url).model_info("acme/llama")
    assert info.card_data is not None and info.card_data.get("license") == "apache-2.0"


def test_errors_map_to_the_clients_exceptions(server: HubServer, tmp_path: Path) -> None:
    api = HfApi(endpoint=server.url)
    server.add_file("acme/contents", "x.json", "{}")
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        api.dataset_info("acme/missing")
    with pytest.raises(hf_errors.RevisionNotFoundError):
        api.dataset_info("acme/contents", revision="0" * 40)
    with pytest.raises(hf_errors.EntryNotFoundError):
        hf_hub_download(
            "acme/contents",
            "nope.json",
            repo_type="dataset",
            endpoint=server.url,
            cache_dir=tmp_path,
        )
    server.set_repo_meta("acme/secret", repo_type="model", private=True)
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        api.model_info("acme/secret")
    server.set_repo_meta("acme/gated", repo_type="model", gated="auto", allowed_tokens=["hf_ok"])
    with pytest.raises(hf_errors.GatedRepoError):
        api.model_info("acme/gated")
    assert api.model_info("acme/gated", token="hf_ok").id == "acme/gated"


def test_whoami(server: HubServer) -> None:
    server.add_token("hf_alice", "alice", orgs=["acme"])
    api = HfApi(endpoint=server.url)
    info = api.whoami(token="hf_alice")
    assert info["name"] == "alice" and info["orgs"][0]["name"] == "acme"
    with pytest.raises(hf_errors.HfHubHTTPError) as excinfo:
        api.whoami(token="hf_forged")
    assert excinfo.value.response.status_code == 401


def test_injected_faults_and_recovery(server: HubServer) -> None:
    server.add_token("hf_alice", "alice")
    server.fail_next(1, status=503, path_prefix="/api/whoami")
    with pytest.raises(hf_errors.HfHubHTTPError) as excinfo:
        HfApi(endpoint=server.url).whoami(token="hf_alice")
    assert excinfo.value.response.status_code == 503
    assert HfApi(endpoint=server.url).whoami(token="hf_alice")["name"] == "alice"


def test_runs_on_its_own(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.hub_server", "--port", "0", "--root", str(tmp_path)],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()  # type: ignore[union-attr]
        assert url.startswith("http://127.0.0.1:")
        request = urllib.request.Request(f"{url}/api/datasets/nobody/nothing")
        with pytest.raises(urllib.error.HTTPError) as excinfo:
            urllib.request.urlopen(request, timeout=5)
        assert excinfo.value.code == 404
        assert excinfo.value.headers["X-Error-Code"] == "RepoNotFound"
        excinfo.value.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]
