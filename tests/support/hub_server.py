"""A local server that speaks the Hugging Face Hub's HTTP protocol, for the calls we make.

The real `huggingface_hub` client talks to it when HF_ENDPOINT (or `endpoint=`) points here, so
tests exercise our Hub code over real HTTP, offline. Repositories live on disk:

    ROOT/datasets/ORG/NAME/<files>      ROOT/datasets/ORG/NAME.meta.json   (sha, private, gated...)
    ROOT/models/ORG/NAME/<files>        ROOT/models/ORG/NAME.meta.json

Run it by hand to try the Hub paths offline:

    python -m tests.support.hub_server --port 8900 --root /tmp/hub
    HF_ENDPOINT=http://127.0.0.1:8900 python manage.py import_contents hub:ORG/NAME

Routes: whoami-v2; repo info (optionally at a revision); the file tree; resolve (HEAD and GET);
and the write side of `HfApi.create_repo` / `create_commit`: repos/create, validate-yaml,
preupload (every file "regular", so contents arrive inline) and the NDJSON commit, which
refuses a stale `parentCommit` with 412 as the Hub does. Only the current revision of a repo
exists (`main`, or its sha). Tests can inject faults (`fail_next`, POST included), latency
(`delay`), a competing commit just before the next one (`on_next_commit`), and read the request
log (`requests`) and each repo's commits (`commits`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

REPO_TYPES = ("model", "dataset", "space")


class HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class HubState:
    """Repositories on disk, tokens, injected faults and the request log."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.tokens: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.delay = 0.0
        self._faults: list[tuple[int, int, str | None]] = []  # (remaining, status, path prefix)
        self.lock = threading.Lock()
        self.commit_lock = threading.Lock()
        self.commits: dict[str, list[dict[str, Any]]] = {}
        self.before_commit: list[Any] = []  # callables run once, before the next commit

    # --- repositories ------------------------------------------------------------------------
    def repo_dir(self, repo_type: str, repo_id: str) -> Path:
        return self.root / f"{repo_type}s" / repo_id

    def meta_path(self, repo_type: str, repo_id: str) -> Path:
        return self.root / f"{repo_type}s" / f"{repo_id}.meta.json"

    def meta(self, repo_type: str, repo_id: str) -> dict[str, Any]:
        folder = self.repo_dir(repo_type, repo_id)
        path = self.meta_path(repo_type, repo_id)
        meta = json.loads(path.read_text()) if path.exists() else {}
        if not folder.is_dir() and not meta:
            raise HubError(404, "RepoNotFound", f"Repository {repo_id} not found")
        meta.setdefault("sha", self._content_sha(folder))
        return meta

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
        """Write a file into a repo (a new commit); returns the repo's new sha."""
        target = self.state.repo_dir(repo_type, repo_id) / path_in_repo
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        meta = self._meta_or_new(repo_type, repo_id)
        meta["sha"] = hashlib.sha1(
            f"{meta.get('sha', '')}:{path_in_repo}:{time.time_ns()}".encode()
        ).hexdigest()
        meta["lastModified"] = _now()
        self.state.write_meta(repo_type, repo_id, meta)
        return meta["sha"]

    def add_model(
        self,
        repo_id: str,
        *,
        card: str | None = None,
        license: str | None = None,
        config: dict[str, Any] | None = None,
        tokenizer_config: dict[str, Any] | None = None,
        params: int | None = None,
        dtype: str = "BF16",
        **meta: Any,
    ) -> str:
        """A model repo: README.md (with `license` in its YAML header), config.json,
        tokenizer_config.json and safetensors weights declaring `params` parameters (None: a
        pickle checkpoint, whose size the Hub cannot tell). `meta` sets repo info fields
        (private, gated, likes...). Returns the new sha."""
        files: dict[str, bytes] = {}
        if card is not None:
            header = f"---\nlicense: {license}\n---\n" if license else ""
            files["README.md"] = (header + card).encode()
        if config is not None:
            files["config.json"] = json.dumps(config).encode()
        if tokenizer_config is not None:
            files["tokenizer_config.json"] = json.dumps(tokenizer_config).encode()
        if params is None:
            files["pytorch_model.bin"] = b"\0" * 16
        else:
            files["model.safetensors"] = _safetensors_header({"weight": (dtype, [params])})
            meta["safetensors"] = {"parameters": {dtype: params}, "total": params}
        if license:
            meta.setdefault("cardData", {"license": license})
        sha = ""
        for path, data in files.items():
            sha = self.add_file(repo_id, path, data, repo_type="model")
        self.set_repo_meta(repo_id, **meta)
        return sha

    def set_repo_meta(self, repo_id: str, repo_type: str = "model", **fields: Any) -> None:
        """Set repo info fields: sha, private, gated, cardData, allowed_tokens (who may read)."""
        self.state.repo_dir(repo_type, repo_id).mkdir(parents=True, exist_ok=True)
        meta = self._meta_or_new(repo_type, repo_id)
        meta.update(fields)
        self.state.write_meta(repo_type, repo_id, meta)

    def _meta_or_new(self, repo_type: str, repo_id: str) -> dict[str, Any]:
        path = self.state.meta_path(repo_type, repo_id)
        return json.loads(path.read_text()) if path.exists() else {}

    def add_token(self, token: str, name: str, orgs: list[str] | None = None) -> None:
        self.state.tokens[token] = {"name": name, "orgs": orgs or []}

    def commits(self, repo_id: str, repo_type: str = "dataset") -> list[dict[str, Any]]:
        """The commits made through the API, oldest first: sha, parent, message, added, deleted."""
        return list(self.state.commits.get(f"{repo_type}:{repo_id}", []))

    def on_next_commit(self, action: Any) -> None:
        """Run `action()` just before the next commit is applied (e.g. a competing commit)."""
        self.state.before_commit.append(action)

    def fail_next(self, count: int = 1, status: int = 503, path_prefix: str | None = None) -> None:
        """Answer the next `count` matching requests with `status`."""
        self.state.add_fault(count, status, path_prefix)


# --- HTTP ------------------------------------------------------------------------------------
_API_REPO = re.compile(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+|[^/]+)(?:/revision/([^/]+))?$")
_API_TREE = re.compile(
    r"^/api/(models|datasets|spaces)/([^/]+/[^/]+|[^/]+)/tree/([^/]+)(?:/(.*))?$"
)
_PREUPLOAD = re.compile(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)/preupload/([^/]+)$")
_COMMIT = re.compile(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)/commit/([^/]+)$")
_RESOLVE = re.compile(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+|[^/]+)/resolve/([^/]+)/(.+)$")


class _Handler(BaseHTTPRequestHandler):
    state: HubState
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
        path = unquote(split.path)
        with self.state.lock:
            self.state.requests.append((method, path))
        if self.state.delay:
            time.sleep(self.state.delay)
        fault = self.state.take_fault(path)
        try:
            if fault is not None:
                raise HubError(fault, None, f"injected fault {fault}")
            self._route(method, path, parse_qs(split.query))
        except HubError as exc:
            self._error(exc)

    def _route(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        if method == "POST":
            return self._route_write(path)
        if path == "/api/whoami-v2":
            return self._whoami()
        if match := _API_TREE.match(path):
            kind, repo_id, revision, sub = match.groups()
            return self._tree(kind[:-1], repo_id, revision, sub or "", query)
        if match := _API_REPO.match(path):
            kind, repo_id, revision = match.groups()
            return self._repo_info(kind[:-1], repo_id, revision or "main")
        if match := _RESOLVE.match(path):
            kind, repo_id, revision, file_path = match.groups()
            return self._resolve(method, (kind or "models")[:-1], repo_id, revision, file_path)
        raise HubError(404, None, f"no route for {path}")

    # helpers ---------------------------------------------------------------------------------
    def _token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else None

    def _visible_meta(self, repo_type: str, repo_id: str, revision: str) -> dict[str, Any]:
        meta = self.state.meta(repo_type, repo_id)
        token = self._token()
        allowed = token is not None and token in meta.get("allowed_tokens", [])
        if meta.get("private") and not allowed:
            raise HubError(404, "RepoNotFound", f"Repository {repo_id} not found")
        if meta.get("gated") and not allowed:
            raise HubError(403, "GatedRepo", f"Access to {repo_id} is restricted")
        if revision not in ("main", meta["sha"]):
            raise HubError(404, "RevisionNotFound", f"Revision {revision} not found")
        return meta

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
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

    # routes ----------------------------------------------------------------------------------
    def _whoami(self) -> None:
        user = self.state.tokens.get(self._token() or "")
        if user is None:
            raise HubError(401, None, "Invalid credentials in Authorization header")
        orgs = [{"type": "org", "name": org} for org in user["orgs"]]
        self._json({"type": "user", "name": user["name"], "fullname": user["name"], "orgs": orgs,
                    "auth": {"type": "access_token", "accessToken": {"role": "read"}}})  # fmt: skip

    def _repo_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        meta = self._visible_meta(repo_type, repo_id, revision)
        folder = self.state.repo_dir(repo_type, repo_id)
        siblings = [
            {"rfilename": str(p.relative_to(folder))} for p in self.state.files(repo_type, repo_id)
        ]
        extra = {k: v for k, v in meta.items() if k not in {"allowed_tokens"}}
        body = {
            "id": repo_id,
            "author": repo_id.split("/")[0] if "/" in repo_id else None,
            "private": False,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "lastModified": "2025-01-01T00:00:00.000Z",
            "siblings": siblings,
            **extra,
        }
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

    def _resolve(
        self, method: str, repo_type: str, repo_id: str, revision: str, file_path: str
    ) -> None:
        meta = self._visible_meta(repo_type, repo_id, revision)
        target = self.state.repo_dir(repo_type, repo_id) / file_path
        if not target.is_file():
            raise HubError(404, "EntryNotFound", f"{file_path} not found in {repo_id}")
        data = target.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", f'"{_blob_id(data)}"')
        self.send_header("X-Repo-Commit", meta["sha"])
        self.end_headers()
        if method == "GET":
            self.wfile.write(data)

    # writes -------------------------------------------------------------------------------------
    def _route_write(self, path: str) -> None:
        if path == "/api/repos/create":
            return self._create_repo()
        if path == "/api/validate-yaml":  # the client checks a README's metadata before a commit
            return self._json({"errors": [], "warnings": []})
        if match := _PREUPLOAD.match(path):
            kind, repo_id, _revision = match.groups()
            return self._preupload(kind[:-1], repo_id)
        if match := _COMMIT.match(path):
            kind, repo_id, revision = match.groups()
            return self._commit(kind[:-1], repo_id, revision)
        raise HubError(404, None, f"no route for POST {path}")

    def _writer(self, repo_id: str) -> None:
        """The token's owner (or one of their organizations) must own the namespace."""
        user = self.state.tokens.get(self._token() or "")
        if user is None:
            raise HubError(401, None, "Invalid credentials in Authorization header")
        namespace = repo_id.split("/", 1)[0]
        if namespace != user["name"] and namespace not in user["orgs"]:
            raise HubError(403, None, f"You don't have the rights to write to {repo_id}")

    def _create_repo(self) -> None:
        payload = json.loads(self.body or b"{}")
        repo_type = payload.get("type") or "model"
        repo_id = "/".join(filter(None, [payload.get("organization"), payload["name"]]))
        self._writer(repo_id)
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"http://{self.headers.get('Host')}/{prefix}{repo_id}"
        with self.state.commit_lock:
            if self.state.meta_path(repo_type, repo_id).exists():
                return self._json({"error": "You already created this repo", "url": url}, 409)
            self.state.repo_dir(repo_type, repo_id).mkdir(parents=True, exist_ok=True)
            sha = hashlib.sha1(f"init:{repo_id}:{time.time_ns()}".encode()).hexdigest()
            self.state.write_meta(repo_type, repo_id, {"sha": sha, "private": False})
        self._json({"url": url, "name": repo_id})

    def _preupload(self, repo_type: str, repo_id: str) -> None:
        self._writer(repo_id)
        self.state.meta(repo_type, repo_id)  # 404 when the repo does not exist
        folder = self.state.repo_dir(repo_type, repo_id)
        files = []
        for item in json.loads(self.body)["files"]:
            current = folder / item["path"]
            oid = _blob_id(current.read_bytes()) if current.is_file() else None
            files.append({"path": item["path"], "uploadMode": "regular", "shouldIgnore": False,
                          "oid": oid})  # fmt: skip
        self._json({"files": files})

    def _commit(self, repo_type: str, repo_id: str, revision: str) -> None:
        self._writer(repo_id)
        lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        while self.state.before_commit:
            self.state.before_commit.pop(0)()
        with self.state.commit_lock:
            meta = self.state.meta(repo_type, repo_id)
            if revision not in ("main", meta["sha"]):
                raise HubError(404, "RevisionNotFound", f"Revision {revision} not found")
            parent = header.get("parentCommit")
            if parent is not None and parent != meta["sha"]:
                raise HubError(
                    412, None, "A commit has happened since. Please refresh and try again."
                )
            folder = self.state.repo_dir(repo_type, repo_id)
            added, deleted = [], []
            for line in lines:
                value = line["value"]
                if line["key"] == "file":
                    target = folder / value["path"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(base64.b64decode(value["content"]))
                    added.append(value["path"])
                elif line["key"] == "deletedFile":
                    target = folder / value["path"]
                    if not target.is_file():
                        raise HubError(404, "EntryNotFound", "A file with this name doesn't exist")
                    target.unlink()
                    deleted.append(value["path"])
                elif line["key"] != "header":
                    raise HubError(400, None, f"unsupported commit operation {line['key']}")
            sha = hashlib.sha1(f"{meta['sha']}:{time.time_ns()}".encode()).hexdigest()
            meta.update(sha=sha, lastModified=_now())
            self.state.write_meta(repo_type, repo_id, meta)
            self.state.commits.setdefault(f"{repo_type}:{repo_id}", []).append(
                {"sha": sha, "parent": parent, "message": header.get("summary", ""),
                 "added": added, "deleted": deleted}
            )  # fmt: skip
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"http://{self.headers.get('Host')}/{prefix}{repo_id}/commit/{sha}"
        self._json({"success": True, "commitOid": sha, "commitUrl": url})


def _safetensors_header(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    """A safetensors file with only its header: the shapes are declared, no data follows."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        size = 2
        for dim in shape:
            size *= dim
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header).encode()
    return len(encoded).to_bytes(8, "little") + encoded


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
