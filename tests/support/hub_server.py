"""A local server that speaks the Hugging Face Hub's HTTP protocol, for the calls we make.

The real `huggingface_hub` client talks to it when HF_ENDPOINT (or `endpoint=`) points here, so
tests exercise our Hub code over real HTTP, offline. Repositories live on disk:

    ROOT/datasets/ORG/NAME/<files>      ROOT/datasets/ORG/NAME.meta.json   (sha, private, gated...)
    ROOT/models/ORG/NAME/<files>        ROOT/models/ORG/NAME.meta.json

Run it by hand to try the Hub paths offline:

    python -m tests.support.hub_server --port 8900 --root /tmp/hub
    HF_ENDPOINT=http://127.0.0.1:8900 python manage.py import_contents hub:ORG/NAME

Read routes: whoami-v2; repo info (optionally at a revision), with what the Hub derives from the
files (cardData from README.md's YAML header; for models, config from config.json,
tokenizer_config.json and adapter_config.json, and safetensors totals from every *.safetensors
header); the file tree; the commit list; resolve (HEAD and GET, with byte ranges). Write routes,
for `HfApi.create_repo` / `create_commit`: repos/create, validate-yaml, preupload (every file
"regular", so contents arrive inline) and the NDJSON commit, applied all or nothing, which
refuses a stale `parentCommit` with 412 as the Hub does. Writes need a token that owns the
namespace. Only the current revision of a repo exists (`main`, or its sha): an older sha is
RevisionNotFound. Tests can inject faults (`fail_next`, POST included), latency (`delay`), a
competing commit just before the next one (`on_next_commit`), and read the request log
(`requests`) and each repo's commits (`commits`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import math
import re
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import yaml

REPO_TYPES = ("model", "dataset", "space")
STALE_PARENT = "The branch was updated since you opened this page. Please refresh and try again."
COMMITS_PER_PAGE = 50  # the commit list is paginated with a Link header, as the Hub does
INLINE_DATA_LIMIT = 1 << 20  # safetensors files with more tensor data than this are header-only
DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
}  # fmt: skip
SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                  "mask_token")  # fmt: skip
INTERNAL_META = {"allowed_tokens"}  # meta fields that are not repo info
EPOCH = "2025-01-01T00:00:00.000Z"  # lastModified of a repo never committed to
FRONT_MATTER = re.compile(r"^\s*---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)")

Operation = tuple[str, str, bytes | None]  # (file | deletedFile | deletedFolder, path, content)


class HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class HubState:
    """Repositories on disk, their commit history, tokens, injected faults and the request log."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.tokens: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.delay = 0.0
        self._faults: list[tuple[int, int, str | None]] = []  # (remaining, status, path prefix)
        self.lock = threading.Lock()
        self.commit_lock = threading.Lock()
        self.history: dict[str, list[dict[str, Any]]] = {}  # "type:repo" -> commits, oldest first
        self.before_commit: list[Callable[[], object]] = []  # run once, before the next commit

    # --- repositories ------------------------------------------------------------------------
    def repo_dir(self, repo_type: str, repo_id: str) -> Path:
        return self.root / f"{repo_type}s" / repo_id

    def meta_path(self, repo_type: str, repo_id: str) -> Path:
        return self.root / f"{repo_type}s" / f"{repo_id}.meta.json"

    def exists(self, repo_type: str, repo_id: str) -> bool:
        return (
            self.repo_dir(repo_type, repo_id).is_dir()
            or self.meta_path(repo_type, repo_id).exists()
        )

    def meta(self, repo_type: str, repo_id: str) -> dict[str, Any]:
        if not self.exists(repo_type, repo_id):
            raise HubError(404, "RepoNotFound", f"Repository {repo_id} not found")
        meta = self.stored_meta(repo_type, repo_id)
        meta.setdefault("sha", self._content_sha(self.repo_dir(repo_type, repo_id)))
        return meta

    def stored_meta(self, repo_type: str, repo_id: str) -> dict[str, Any]:
        path = self.meta_path(repo_type, repo_id)
        return json.loads(path.read_text()) if path.exists() else {}

    def write_meta(self, repo_type: str, repo_id: str, meta: dict[str, Any]) -> None:
        path = self.meta_path(repo_type, repo_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(meta, indent=2))

    @staticmethod
    def _content_sha(folder: Path) -> str:
        digest = hashlib.sha1()
        for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []:
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    def files(self, repo_type: str, repo_id: str) -> list[Path]:
        folder = self.repo_dir(repo_type, repo_id)
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.rglob("*") if p.is_file())

    # --- commits -------------------------------------------------------------------------------
    def commit(
        self,
        repo_type: str,
        repo_id: str,
        operations: list[Operation],
        *,
        message: str,
        author: str,
        description: str = "",
        parent: str | None = None,
        api: bool = False,
    ) -> str:
        """Apply `operations` all or nothing as one commit on main; returns its sha.

        With `parent`, the commit is refused (412) unless main is still at that commit (or a
        sha starting with it). `api` marks the commits made through the HTTP API."""
        with self.commit_lock:
            meta = self.meta(repo_type, repo_id)
            head = meta["sha"]
            if parent is not None and not head.startswith(parent.lower()):
                raise HubError(412, None, STALE_PARENT)
            folder = self.repo_dir(repo_type, repo_id)
            added, deleted = _check_operations(
                {str(p.relative_to(folder)) for p in self.files(repo_type, repo_id)}, operations
            )
            for kind, path, content in operations:
                target = folder / path
                if kind == "file":
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content or b"")
                elif kind == "deletedFile":
                    target.unlink()
                else:
                    shutil.rmtree(target)
                if kind != "file":
                    _remove_empty_parents(target.parent, folder)
            sha = hashlib.sha1(f"{head}:{repo_id}:{message}:{time.time_ns()}".encode()).hexdigest()
            meta.update(sha=sha, lastModified=_now())
            self.write_meta(repo_type, repo_id, meta)
            self.history.setdefault(f"{repo_type}:{repo_id}", []).append(
                {"sha": sha, "parent": head, "message": message, "description": description,
                 "author": author, "date": meta["lastModified"], "added": added,
                 "deleted": deleted, "api": api}
            )  # fmt: skip
        return sha

    def log(self, repo_type: str, repo_id: str) -> list[dict[str, Any]]:
        """Every commit of main, newest first; a repo written straight to disk has one."""
        meta = self.meta(repo_type, repo_id)
        entries = list(reversed(self.history.get(f"{repo_type}:{repo_id}", [])))
        if not entries or entries[0]["sha"] != meta["sha"]:
            date = meta.get("lastModified", EPOCH)
            entries.insert(0, {"sha": meta["sha"], "message": "initial commit", "description": "",
                               "author": "system", "date": date})  # fmt: skip
        return entries

    # --- faults --------------------------------------------------------------------------------
    def take_fault(self, path: str) -> int | None:
        with self.lock:
            for index, (remaining, status, prefix) in enumerate(self._faults):
                if prefix is None or path.startswith(prefix):
                    if remaining <= 1:
                        self._faults.pop(index)
                    else:
                        self._faults[index] = (remaining - 1, status, prefix)
                    return status
        return None

    def add_fault(self, count: int, status: int, prefix: str | None) -> None:
        with self.lock:
            self._faults.append((count, status, prefix))


class HubServer:
    """The server; a context manager that runs it on a daemon thread."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0):
        self.state = HubState(root)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[tuple[str, str]]:
        return self.state.requests

    @property
    def delay(self) -> float:
        return self.state.delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        self.state.delay = seconds

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- populating ----------------------------------------------------------------------------
    def add_file(
        self, repo_id: str, path_in_repo: str, data: bytes | str, repo_type: str = "dataset"
    ) -> str:
        """Write a file into a repo (a new commit, creating the repo); returns the new sha."""
        return self._write(
            repo_type, repo_id, {path_in_repo: data.encode() if isinstance(data, str) else data}
        )

    def add_safetensors(
        self,
        repo_id: str,
        path_in_repo: str,
        tensors: dict[str, tuple[str, list[int]]],
        repo_type: str = "model",
    ) -> str:
        """Write a safetensors file declaring `tensors` (name -> (dtype, shape)); returns the new
        sha. Up to INLINE_DATA_LIMIT bytes of tensor data it is a valid file of zeros; beyond, it
        holds the header only (what the Hub and `get_safetensors_metadata` read)."""
        return self.add_file(repo_id, path_in_repo, _safetensors_file(tensors), repo_type)

    def add_model(
        self,
        repo_id: str,
        *,
        card: str | None = None,
        license: str | None = None,
        card_data: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        tokenizer_config: dict[str, Any] | None = None,
        params: int | None = None,
        dtype: str = "BF16",
        gated: Literal[False, "auto", "manual"] = False,
        private: bool = False,
        **meta: Any,
    ) -> str:
        """A model repo in one commit: README.md (`card`, under a YAML header holding `license`
        and `card_data`), config.json, tokenizer_config.json and a model.safetensors declaring
        `params` parameters of `dtype` (None: a pickle checkpoint, whose size the Hub cannot
        tell). `meta` sets other repo info fields (likes, library_name...). Returns the sha."""
        files: dict[str, bytes] = {}
        if card is not None:
            front = {**({"license": license} if license else {}), **(card_data or {})}
            header = f"---\n{yaml.safe_dump(front, sort_keys=False)}---\n" if front else ""
            files["README.md"] = (header + card).encode()
        if config is not None:
            files["config.json"] = json.dumps(config).encode()
        if tokenizer_config is not None:
            files["tokenizer_config.json"] = json.dumps(tokenizer_config).encode()
        if params is None:
            files["pytorch_model.bin"] = b"\0" * 16
        else:
            files["model.safetensors"] = _safetensors_file({"weight": (dtype, [params])})
        sha = self._write("model", repo_id, files)
        self.set_repo_meta(repo_id, gated=gated, private=private, **meta)
        return sha

    def _write(self, repo_type: str, repo_id: str, files: dict[str, bytes]) -> str:
        self.state.repo_dir(repo_type, repo_id).mkdir(parents=True, exist_ok=True)
        return self.state.commit(
            repo_type, repo_id, [("file", path, data) for path, data in files.items()],
            message=f"Upload {', '.join(files)}", author=repo_id.split("/")[0],
        )  # fmt: skip

    def set_repo_meta(self, repo_id: str, repo_type: str = "model", **fields: Any) -> None:
        """Set repo info fields: sha, private, gated, likes, cardData, config, safetensors (these
        three override what the files say), allowed_tokens (who may read)."""
        self.state.repo_dir(repo_type, repo_id).mkdir(parents=True, exist_ok=True)
        with self.state.commit_lock:
            meta = self.state.stored_meta(repo_type, repo_id)
            meta.update(fields)
            self.state.write_meta(repo_type, repo_id, meta)

    def add_token(self, token: str, name: str, orgs: list[str] | None = None) -> None:
        """A token of user `name`, member of `orgs`: it may write to (and read) their repos."""
        self.state.tokens[token] = {"name": name, "orgs": orgs or []}

    def commits(self, repo_id: str, repo_type: str = "dataset") -> list[dict[str, Any]]:
        """The commits made through the API, oldest first: sha, parent (the head it replaced),
        message, added and deleted paths."""
        keys = ("sha", "parent", "message", "added", "deleted")
        history = self.state.history.get(f"{repo_type}:{repo_id}", [])
        return [{key: entry[key] for key in keys} for entry in history if entry["api"]]

    def on_next_commit(self, action: Callable[[], object]) -> None:
        """Run `action()` just before the next API commit is applied (e.g. a competing commit)."""
        self.state.before_commit.append(action)

    def fail_next(self, count: int = 1, status: int = 503, path_prefix: str | None = None) -> None:
        """Answer the next `count` matching requests (any method) with `status`."""
        self.state.add_fault(count, status, path_prefix)

    def heal(self) -> None:
        """Forget every fault not yet used up (the Hub is back)."""
        with self.state.lock:
            self.state._faults.clear()


# --- what the Hub derives from a repo's files ---------------------------------------------------
def _derived_info(repo_type: str, folder: Path) -> dict[str, Any]:
    """cardData (and library_name, pipeline_tag) from README.md; config and safetensors totals."""
    info: dict[str, Any] = {}
    card = _front_matter(folder / "README.md")
    if card is not None:
        info["cardData"] = card
        info.update({key: card[key] for key in ("library_name", "pipeline_tag") if key in card})
    if repo_type == "model":
        if config := _model_config(folder):
            info["config"] = config
        if safetensors := _safetensors_totals(folder):
            info["safetensors"] = safetensors
    return info


def _front_matter(readme: Path) -> dict[str, Any] | None:
    if not readme.is_file():
        return None
    match = FRONT_MATTER.match(readme.read_text(errors="replace"))
    try:
        data = yaml.safe_load(match.group(1)) if match else None
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _json_object(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _model_config(folder: Path) -> dict[str, Any]:
    """The parts of config.json, tokenizer_config.json and adapter_config.json the Hub shows."""
    config = _json_object(folder / "config.json") or {}
    shown = {
        key: config[key] for key in ("architectures", "model_type", "auto_map") if key in config
    }
    if isinstance(quantization := config.get("quantization_config"), dict):
        keys = ("quant_method", "bits", "load_in_4bit", "load_in_8bit")
        shown["quantization_config"] = {
            key: quantization[key] for key in keys if key in quantization
        }
    tokenizer = _json_object(folder / "tokenizer_config.json") or {}
    keys = (*SPECIAL_TOKENS, "chat_template", "use_default_system_prompt")
    if tokenizer_config := {key: tokenizer[key] for key in keys if key in tokenizer}:
        shown["tokenizer_config"] = tokenizer_config
    if (adapter := _json_object(folder / "adapter_config.json")) is not None:
        keys = ("base_model_name_or_path", "task_type")
        shown["peft"] = {key: adapter[key] for key in keys if key in adapter}
    return shown


def _safetensors_totals(folder: Path) -> dict[str, Any] | None:
    """Parameters per dtype over every *.safetensors header, as the Hub's `safetensors` field."""
    parameters: dict[str, int] = {}
    for path in sorted(folder.rglob("*.safetensors")):
        header = _safetensors_header(path) or {}
        try:
            counts = [(t["dtype"], math.prod(t["shape"])) for k, t in header.items()
                      if k != "__metadata__"]  # fmt: skip
        except (KeyError, TypeError):  # not a tensor table: no parameters to count
            continue
        for dtype, count in counts:
            parameters[dtype] = parameters.get(dtype, 0) + count
    return {"parameters": parameters, "total": sum(parameters.values())} if parameters else None


def _safetensors_header(path: Path) -> dict[str, Any] | None:
    """The JSON header of a safetensors file: 8 bytes of little-endian length, then the JSON."""
    with path.open("rb") as file:
        size = int.from_bytes(file.read(8), "little")
        raw = file.read(size) if 0 < size <= 100_000_000 else b""
    try:
        header = json.loads(raw)
    except ValueError:
        return None
    return header if isinstance(header, dict) else None


def _safetensors_file(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    """A safetensors file: zeros as data when small enough, else the header alone."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        if dtype not in DTYPE_BYTES:
            raise ValueError(f"unknown safetensors dtype {dtype!r}")
        size = DTYPE_BYTES[dtype] * math.prod(shape)
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # the format pads the header to 8 bytes with spaces
    data = b"\0" * offset if offset <= INLINE_DATA_LIMIT else b""
    return len(encoded).to_bytes(8, "little") + encoded + data


def _tags(info: dict[str, Any]) -> list[str]:
    """The card's tags plus those the Hub adds: library, format, model type, licence, base."""
    card = info.get("cardData") or {}
    tags = [*_as_list(card.get("tags")), *_as_list(info.get("library_name"))]
    if info.get("safetensors"):
        tags.append("safetensors")
    tags += _as_list((info.get("config") or {}).get("model_type"))
    tags += [f"license:{value}" for value in _as_list(card.get("license"))]
    tags += [f"base_model:{value}" for value in _as_list(card.get("base_model"))]
    return list(dict.fromkeys([*map(str, tags), "region:us"]))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# --- commits -------------------------------------------------------------------------------------
def _check_path(path: str) -> str:
    """A path inside the repo, or 422 as the Hub answers for `..` and the like."""
    clean = path.removeprefix("/").removeprefix("./").rstrip("/")
    parts = clean.split("/")
    if not clean or "\\" in clean or any(part in ("", ".", "..", ".git") for part in parts):
        raise HubError(422, None, f"Invalid path {path!r}")
    return clean


def _check_operations(
    present: set[str], operations: list[Operation]
) -> tuple[list[str], list[str]]:
    """Play `operations` on the repo's file set without touching the disk; returns the paths
    added and deleted, or raises as the Hub would for the whole commit."""
    added: list[str] = []
    deleted: list[str] = []
    files = set(present)
    for kind, path, _content in operations:
        if kind == "file":
            parents = {str(parent) for parent in PurePosixPath(path).parents}
            if files & parents or any(other.startswith(path + "/") for other in files):
                raise HubError(422, None, f"{path} conflicts with a file or folder in the repo")
            files.add(path)
            added.append(path)
        elif kind == "deletedFile":
            if path not in files:
                raise HubError(404, "EntryNotFound", "A file with this name doesn't exist")
            files.discard(path)
            deleted.append(path)
        else:
            inside = sorted(other for other in files if other.startswith(path + "/"))
            if not inside:
                raise HubError(404, "EntryNotFound", "A folder with this name doesn't exist")
            files.difference_update(inside)
            deleted += inside
    return added, deleted


def _remove_empty_parents(folder: Path, root: Path) -> None:
    """Git has no empty folders: drop those a deletion left behind."""
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


# --- HTTP ------------------------------------------------------------------------------------
# Matched against the raw path, then each part is unquoted: a revision such as refs%2Fpr%2F1 is
# one segment.
_REPO = r"(models|datasets|spaces)/([^/]+/[^/]+|[^/]+)"
_API_REPO = re.compile(rf"^/api/{_REPO}(?:/revision/([^/]+))?$")
_API_TREE = re.compile(rf"^/api/{_REPO}/tree/([^/]+)(?:/(.*))?$")
_API_COMMITS = re.compile(rf"^/api/{_REPO}/commits/([^/]+)$")
_PREUPLOAD = re.compile(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)/preupload/([^/]+)$")
_COMMIT = re.compile(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)/commit/([^/]+)$")
_RESOLVE = re.compile(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+|[^/]+)/resolve/([^/]+)/(.+)$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _parts(match: re.Match[str]) -> list[Any]:
    return [unquote(group) if group is not None else None for group in match.groups()]


class _Handler(BaseHTTPRequestHandler):
    state: HubState
    body: bytes = b""
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK hold every keep-alive response for ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    # dispatch --------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        with self.state.lock:
            self.state.requests.append((method, unquote(split.path)))
        if self.state.delay:
            time.sleep(self.state.delay)
        fault = self.state.take_fault(unquote(split.path))
        try:
            if fault is not None:
                raise HubError(fault, None, f"injected fault {fault}")
            self._route(method, split.path, parse_qs(split.query))
        except HubError as exc:
            self._error(exc)
        except Exception as exc:  # a bug here: answer it rather than drop the connection
            self._error(HubError(500, None, f"{type(exc).__name__}: {exc}"))

    def _route(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        if method == "POST":
            return self._route_write(path, query)
        if path == "/api/whoami-v2":
            return self._whoami()
        if match := _API_TREE.match(path):
            kind, repo_id, revision, sub = _parts(match)
            return self._tree(kind[:-1], repo_id, revision, sub or "", query)
        if match := _API_COMMITS.match(path):
            kind, repo_id, revision = _parts(match)
            return self._list_commits(kind[:-1], repo_id, revision, path, query)
        if match := _API_REPO.match(path):
            kind, repo_id, revision = _parts(match)
            return self._repo_info(kind[:-1], repo_id, revision or "main", query)
        if match := _RESOLVE.match(path):
            kind, repo_id, revision, file_path = _parts(match)
            return self._resolve(method, (kind or "models")[:-1], repo_id, revision, file_path)
        raise HubError(404, None, f"no route for {path}")

    # helpers ---------------------------------------------------------------------------------
    def _token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else None

    def _user(self) -> dict[str, Any] | None:
        return self.state.tokens.get(self._token() or "")

    def _owns(self, repo_id: str) -> bool:
        """The token's user, or one of their organizations, owns the repo's namespace."""
        user = self._user()
        namespace = repo_id.split("/", 1)[0]
        return user is not None and namespace in (user["name"], *user["orgs"])

    def _may_read(self, repo_id: str, meta: dict[str, Any]) -> bool:
        return self._token() in meta.get("allowed_tokens", []) or self._owns(repo_id)

    def _visible_meta(self, repo_type: str, repo_id: str, revision: str) -> dict[str, Any]:
        meta = self.state.meta(repo_type, repo_id)
        allowed = self._may_read(repo_id, meta)
        if meta.get("private") and not allowed:
            raise HubError(404, "RepoNotFound", f"Repository {repo_id} not found")
        if meta.get("gated") and not allowed:
            raise HubError(403, "GatedRepo", f"Access to {repo_id} is restricted")
        if revision not in ("main", meta["sha"]):
            raise HubError(404, "RevisionNotFound", f"Revision {revision} not found")
        return meta

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, default=str).encode()  # default: dates in YAML card data
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, exc: HubError) -> None:
        headers = {"X-Error-Message": exc.message}
        if exc.code:
            headers["X-Error-Code"] = exc.code
        self._json({"error": exc.message}, status=exc.status, headers=headers)

    def _url(self, repo_type: str, repo_id: str) -> str:
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        return f"http://{self.headers.get('Host')}/{prefix}{repo_id}"

    # routes ----------------------------------------------------------------------------------
    def _whoami(self) -> None:
        user = self._user()
        if user is None:
            raise HubError(401, None, "Invalid credentials in Authorization header")
        orgs = [{"type": "org", "name": org} for org in user["orgs"]]
        self._json({"type": "user", "name": user["name"], "fullname": user["name"], "orgs": orgs,
                    "auth": {"type": "access_token", "accessToken": {"role": "read"}}})  # fmt: skip

    def _repo_info(
        self, repo_type: str, repo_id: str, revision: str, query: dict[str, list[str]]
    ) -> None:
        meta = self._visible_meta(repo_type, repo_id, revision)
        folder = self.state.repo_dir(repo_type, repo_id)
        blobs = query.get("blobs", ["false"])[0].lower() == "true"  # files_metadata=True
        siblings = []
        for path in self.state.files(repo_type, repo_id):
            sibling: dict[str, Any] = {"rfilename": str(path.relative_to(folder))}
            if blobs:
                data = path.read_bytes()
                sibling.update(blobId=_blob_id(data), size=len(data))
            siblings.append(sibling)
        body: dict[str, Any] = {
            "_id": hashlib.sha1(f"{repo_type}:{repo_id}".encode()).hexdigest()[:24],
            "id": repo_id,
            "author": repo_id.split("/")[0] if "/" in repo_id else None,
            "private": False,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "lastModified": EPOCH,
            "siblings": siblings,
            **_derived_info(repo_type, folder),
            **{key: value for key, value in meta.items() if key not in INTERNAL_META},
        }
        body.setdefault("tags", _tags(body))
        # expand=[...] (expand[]= from other clients) asks for those properties only
        if expand := set(query.get("expand", []) + query.get("expand[]", [])):
            body = {key: value for key, value in body.items() if key in {"_id", "id", *expand}}
        self._json(body)

    def _tree(
        self, repo_type: str, repo_id: str, revision: str, sub: str, query: dict[str, list[str]]
    ) -> None:
        self._visible_meta(repo_type, repo_id, revision)
        folder = self.state.repo_dir(repo_type, repo_id)
        base = folder / sub if sub else folder
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        entries = []
        candidates = base.rglob("*") if recursive else base.glob("*")
        for path in sorted(candidates):
            rel = str(path.relative_to(folder))
            if path.is_dir():
                entries.append(
                    {
                        "type": "directory",
                        "path": rel,
                        "oid": hashlib.sha1(rel.encode()).hexdigest(),
                    }
                )
            else:
                data = path.read_bytes()
                entries.append(
                    {"type": "file", "path": rel, "size": len(data), "oid": _blob_id(data)}
                )
        self._json(entries)

    def _list_commits(
        self, repo_type: str, repo_id: str, revision: str, path: str, query: dict[str, list[str]]
    ) -> None:
        """Newest first, COMMITS_PER_PAGE a page; the next page's URL in a Link header."""
        self._visible_meta(repo_type, repo_id, revision)
        log = self.state.log(repo_type, repo_id)
        page = int(query.get("p", ["0"])[0])
        start = page * COMMITS_PER_PAGE
        formatted = "formatted" in query.get("expand[]", [])
        items = []
        for entry in log[start : start + COMMITS_PER_PAGE]:
            item: dict[str, Any] = {
                "id": entry["sha"],
                "title": entry["message"],
                "message": entry["description"],
                "authors": [{"user": entry["author"]}],
                "date": entry["date"],
            }
            if formatted:
                item["formatted"] = {"title": html.escape(entry["message"]),
                                     "message": html.escape(entry["description"])}  # fmt: skip
            items.append(item)
        headers = {}
        if start + COMMITS_PER_PAGE < len(log):
            params = urlencode({**{k: v[0] for k, v in query.items()}, "p": page + 1})
            headers["Link"] = f'<http://{self.headers.get("Host")}{path}?{params}>; rel="next"'
        self._json(items, headers=headers)

    def _resolve(
        self, method: str, repo_type: str, repo_id: str, revision: str, file_path: str
    ) -> None:
        meta = self._visible_meta(repo_type, repo_id, revision)
        target = self.state.repo_dir(repo_type, repo_id) / file_path
        if not target.is_file():
            raise HubError(404, "EntryNotFound", f"{file_path} not found in {repo_id}")
        data = target.read_bytes()
        status, body, content_range = 200, data, None
        # One byte range (get_safetensors_metadata reads headers so); others get the whole file.
        if match := _RANGE.match(self.headers.get("Range", "").replace(" ", "")):
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last or len(data) - 1), len(data) - 1)
            else:
                start, end = max(len(data) - int(last or 0), 0), len(data) - 1
            if start > end or start >= len(data):
                message = f"Range {match.group(0)} not satisfiable"
                headers = {"Content-Range": f"bytes */{len(data)}", "X-Error-Message": message}
                return self._json({"error": message}, 416, headers)
            status, body = 206, data[start : end + 1]
            content_range = f"bytes {start}-{end}/{len(data)}"
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if content_range:
            self.send_header("Content-Range", content_range)
        self.send_header("ETag", f'"{_blob_id(data)}"')
        self.send_header("X-Repo-Commit", meta["sha"])
        self.end_headers()
        if method == "GET":
            self.wfile.write(body)

    # writes -------------------------------------------------------------------------------------
    def _route_write(self, path: str, query: dict[str, list[str]]) -> None:
        if path == "/api/repos/create":
            return self._create_repo()
        if path == "/api/validate-yaml":  # the client checks a README's metadata before a commit
            return self._json({"errors": [], "warnings": []})
        if match := _PREUPLOAD.match(path):
            kind, repo_id, revision = _parts(match)
            return self._preupload(kind[:-1], repo_id, revision)
        if match := _COMMIT.match(path):
            kind, repo_id, revision = _parts(match)
            return self._commit(kind[:-1], repo_id, revision, query)
        raise HubError(404, None, f"no route for POST {path}")

    def _payload(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError as exc:
            raise HubError(400, None, f"Invalid JSON body: {exc}") from exc

    def _writer(self, repo_type: str, repo_id: str, revision: str) -> dict[str, Any]:
        """The user behind the token, who must own the (existing) repo's namespace."""
        user = self._user()
        if user is None:
            raise HubError(401, None, "Invalid credentials in Authorization header")
        meta = self.state.meta(repo_type, repo_id)
        if not self._owns(repo_id):
            if meta.get("private") and not self._may_read(repo_id, meta):
                raise HubError(404, "RepoNotFound", f"Repository {repo_id} not found")
            raise HubError(403, None, f"You don't have the rights to write to {repo_id}")
        if revision not in ("main", meta["sha"]):
            raise HubError(404, "RevisionNotFound", f"Revision {revision} not found")
        return user

    def _create_repo(self) -> None:
        payload = self._payload()
        repo_type = payload.get("type") or "model"
        user = self._user()
        if user is None:
            raise HubError(401, None, "Invalid credentials in Authorization header")
        if repo_type not in REPO_TYPES or not payload.get("name"):
            raise HubError(400, None, "A repo needs a name and a type among model, dataset, space")
        repo_id = f"{payload.get('organization') or user['name']}/{payload['name']}"
        if not self._owns(repo_id):
            namespace = repo_id.split("/")[0]
            raise HubError(
                403, None, f'You don\'t have the rights to create a {repo_type} under "{namespace}"'
            )
        private = bool(payload.get("private")) or payload.get("visibility") == "private"
        url = self._url(repo_type, repo_id)
        with self.state.commit_lock:
            if self.state.exists(repo_type, repo_id):
                message = f"You already created this {repo_type} repo"
                return self._json({"error": message, "url": url}, 409,
                                  {"X-Error-Message": message})  # fmt: skip
            self.state.repo_dir(repo_type, repo_id).mkdir(parents=True)
            self.state.write_meta(repo_type, repo_id, {"private": private})
        self.state.commit(repo_type, repo_id, [], message="initial commit", author="system")
        self._json({"url": url, "name": repo_id, "id": repo_id})

    def _preupload(self, repo_type: str, repo_id: str, revision: str) -> None:
        self._writer(repo_type, repo_id, revision)
        folder = self.state.repo_dir(repo_type, repo_id)
        files = []
        for item in self._payload().get("files", []):
            current = folder / _check_path(item["path"])
            oid = _blob_id(current.read_bytes()) if current.is_file() else None
            files.append({"path": item["path"], "uploadMode": "regular", "shouldIgnore": False,
                          "oid": oid})  # fmt: skip
        self._json({"files": files})

    def _commit(
        self, repo_type: str, repo_id: str, revision: str, query: dict[str, list[str]]
    ) -> None:
        user = self._writer(repo_type, repo_id, revision)
        if query.get("create_pr", ["0"])[0] not in ("", "0"):
            raise HubError(400, None, "this server does not do pull requests")
        header, operations = self._commit_lines()
        while self.state.before_commit:  # popped first: the action may commit itself
            self.state.before_commit.pop(0)()
        sha = self.state.commit(
            repo_type, repo_id, operations, message=header.get("summary") or "",
            description=header.get("description") or "", author=user["name"],
            parent=header.get("parentCommit"), api=True,
        )  # fmt: skip
        self._json({"success": True, "commitOid": sha,
                    "commitUrl": f"{self._url(repo_type, repo_id)}/commit/{sha}"})  # fmt: skip

    def _commit_lines(self) -> tuple[dict[str, Any], list[Operation]]:
        """The NDJSON commit: a header line, then one line per file added or deleted."""
        header: dict[str, Any] | None = None
        operations: list[Operation] = []
        for raw in self.body.splitlines():
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                key, value = line["key"], line["value"]
            except (ValueError, KeyError, TypeError) as exc:
                raise HubError(400, None, f"Invalid commit line: {exc}") from exc
            if key == "header":
                header = value
            elif key == "file":
                content = value["content"]
                data = (
                    base64.b64decode(content)
                    if value.get("encoding") == "base64"
                    else content.encode()
                )
                operations.append(("file", _check_path(value["path"]), data))
            elif key in ("deletedFile", "deletedFolder"):
                operations.append((key, _check_path(value["path"]), None))
            elif key == "lfsFile":
                raise HubError(400, None, "LFS files are not supported: preupload says regular")
            else:
                raise HubError(400, None, f"Unknown commit line key {key!r}")
        if header is None:
            raise HubError(400, None, "Add a line with the key `header`")
        if not operations:
            raise HubError(400, None, "Add a line with the key `lfsFile`, `file` or `deletedFile`")
        return header, operations


def _now() -> str:
    """The Hub's timestamp format: milliseconds and a Z."""
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument(
        "--root", type=Path, required=True, help="folder holding models/ and datasets/"
    )
    args = parser.parse_args()
    server = HubServer(args.root, args.host, args.port)
    print(server.url, flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
