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


CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"


def test_model_info_is_derived_from_the_files(server: HubServer) -> None:
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
              "auto_map": {"AutoModel": "modeling_x.Model"}}  # fmt: skip
    sha = server.add_model(
        "acme/llama", card="# Llama\n", license="apache-2.0", config=config,
        card_data={"base_model": "acme/base", "tags": ["chat"], "pipeline_tag": "text-generation"},
        tokenizer_config={"chat_template": CHAT_TEMPLATE, "eos_token": "</s>", "padding": 9},
        params=7_000_000_000, gated="manual", allowed_tokens=["hf_ok"], likes=3,
    )  # fmt: skip
    info = HfApi(endpoint=server.url).model_info("acme/llama", token="hf_ok")
    assert info.sha == sha and info.private is False and info.gated == "manual"
    assert info.safetensors is not None
    assert (info.safetensors.total, info.safetensors.parameters) == (7e9, {"BF16": 7e9})
    assert info.card_data is not None and info.card_data.license == "apache-2.0"
    assert info.card_data.base_model == "acme/base" and info.card_data.tags == ["chat"]
    assert info.config == {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "auto_map": {"AutoModel": "modeling_x.Model"},
        "tokenizer_config": {"eos_token": "</s>", "chat_template": CHAT_TEMPLATE},
    }  # fmt: skip
    assert info.pipeline_tag == "text-generation" and info.likes == 3
    assert {"chat", "safetensors", "llama", "license:apache-2.0"} <= set(info.tags or [])
    assert sorted(s.rfilename for s in info.siblings or []) == [
        "README.md", "config.json", "model.safetensors", "tokenizer_config.json"
    ]  # fmt: skip


def test_model_info_without_card_config_or_safetensors(server: HubServer) -> None:
    server.add_model("acme/bare", params=None)
    info = HfApi(endpoint=server.url).model_info("acme/bare")
    assert (info.card_data, info.config, info.safetensors, info.gated) == (None, None, None, False)


def test_safetensors_totals_add_up_every_file_and_dtype(server: HubServer) -> None:
    numpy = pytest.importorskip("numpy")
    from safetensors.numpy import load

    server.add_safetensors("acme/sharded", "model-00001-of-00002.safetensors",
                           {"a": ("BF16", [1000, 4096]), "b": ("F32", [10])})  # fmt: skip
    server.add_safetensors("acme/sharded", "model-00002-of-00002.safetensors",
                           {"c": ("F16", [2, 3, 4]), "d": ("I64", [])})  # fmt: skip
    info = HfApi(endpoint=server.url).model_info("acme/sharded")
    assert info.safetensors is not None
    assert info.safetensors.parameters == {"BF16": 4_096_000, "F32": 10, "F16": 24, "I64": 1}
    assert info.safetensors.total == 4_096_035
    small = server.state.repo_dir("model", "acme/sharded") / "model-00002-of-00002.safetensors"
    tensors = load(small.read_bytes())  # small enough to hold its (zero) data: a valid file
    assert tensors["c"].shape == (2, 3, 4) and not numpy.any(tensors["c"])
    big = small.with_name("model-00001-of-00002.safetensors")
    assert big.stat().st_size < 1000  # 8 MB of tensors declared, the header only
    server.set_repo_meta("acme/sharded", safetensors={"parameters": {"F16": 5}, "total": 5})
    assert HfApi(endpoint=server.url).model_info("acme/sharded").safetensors.total == 5  # type: ignore[union-attr]


def test_get_safetensors_metadata_reads_the_header_by_range(server: HubServer) -> None:
    server.add_safetensors("acme/llama", "model.safetensors",
                           {"embed": ("BF16", [32000, 4096]), "norm": ("F32", [4096])})  # fmt: skip
    metadata = HfApi(endpoint=server.url).get_safetensors_metadata("acme/llama")
    assert metadata.parameter_count == {"BF16": 131_072_000, "F32": 4096}
    assert metadata.files_metadata["model.safetensors"].tensors["norm"].shape == [4096]
    ranged = [path for method, path in server.requests if method == "GET"]
    assert ranged == ["/acme/llama/resolve/main/model.safetensors"]


@pytest.mark.parametrize(
    ("header", "status", "body", "content_range"),
    [
        ("bytes=2-4", 206, b"234", "bytes 2-4/10"),
        ("bytes=7-100000", 206, b"789", "bytes 7-9/10"),
        ("bytes=-2", 206, b"89", "bytes 8-9/10"),
        ("bytes=10-", 416, None, "bytes */10"),
        (None, 200, b"0123456789", None),
    ],
)
def test_resolve_answers_byte_ranges(
    server: HubServer, header: str | None, status: int, body: bytes | None, content_range: str
) -> None:
    server.add_file("acme/contents", "digits.txt", "0123456789")
    request = urllib.request.Request(f"{server.url}/datasets/acme/contents/resolve/main/digits.txt")
    if header:
        request.add_header("Range", header)
    try:
        response = urllib.request.urlopen(request, timeout=5)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        assert response.status == status
        assert response.headers["Content-Range"] == content_range
        if body is not None:
            assert response.read() == body


def test_revisions_old_shas_and_other_branches_are_not_found(server: HubServer) -> None:
    api = HfApi(endpoint=server.url)
    first = server.add_model("acme/llama", card="# v1\n", license="mit", params=10)
    assert api.model_info("acme/llama", revision=first).sha == first
    second = server.add_file("acme/llama", "README.md", "---\nlicense: gpl-3.0\n---\n# v2\n",
                             repo_type="model")  # fmt: skip
    assert second != first
    pinned = api.model_info("acme/llama", revision=second)
    assert pinned.sha == second and pinned.card_data.license == "gpl-3.0"  # type: ignore[union-attr]
    for revision in (first, "dev", "refs/pr/1"):
        with pytest.raises(hf_errors.RevisionNotFoundError):
            api.model_info("acme/llama", revision=revision)


def test_expand_and_files_metadata(server: HubServer) -> None:
    server.add_model("acme/llama", card="# card\n", license="mit", params=100, likes=7)
    api = HfApi(endpoint=server.url)
    info = api.model_info("acme/llama", expand=["safetensors", "likes"])
    assert (info.id, info.likes, info.sha, info.siblings) == ("acme/llama", 7, None, None)
    assert info.safetensors is not None and info.safetensors.total == 100
    files = {
        s.rfilename: s for s in api.model_info("acme/llama", files_metadata=True).siblings or []
    }
    assert files["README.md"].size == len(b"---\nlicense: mit\n---\n# card\n")
    assert files["README.md"].blob_id is not None


def test_private_repos_are_readable_by_their_owners(server: HubServer) -> None:
    server.add_model("acme/secret", card="# secret\n", params=1, private=True)
    server.add_token("hf_alice", "alice", orgs=["acme"])
    server.add_token("hf_bob", "bob")
    api = HfApi(endpoint=server.url)
    assert api.model_info("acme/secret", token="hf_alice").private is True
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        api.model_info("acme/secret", token="hf_bob")


def test_dataset_card_data_comes_from_the_readme(server: HubServer) -> None:
    server.add_file("acme/contents", "README.md", "---\nlicense: cc-by-4.0\ntags: [x]\n---\n# c")
    info = HfApi(endpoint=server.url).dataset_info("acme/contents")
    assert info.card_data is not None and info.card_data.license == "cc-by-4.0"
    assert info.tags == ["x", "license:cc-by-4.0", "region:us"]


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
