"""The Hub datasets as mirrors of the database: an outbox written with each change, pushed later.

Writers call `record_put` / `record_append` / `record_delete` inside the transaction that makes
the change, so a change and its outbox row commit or roll back together. `push(dataset)` turns
every pending row of a dataset into one commit on the target and deletes the rows only after the
commit landed. Two targets share the layout `<HF_ORGANIZATION>/<dataset>/<path>`:

- `HubTarget`: the datasets on the Hub (HF_ENDPOINT), one `create_commit` with `parent_commit`;
  when the branch moved since we read it, re-read and try again.
- `FolderTarget`: a local folder (`VAR_DIR/hub`), the embedded default without HF_TOKEN, so an
  operator sees exactly what would be published; each commit is also logged in `<dataset>.log`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from leaderboard_site import sql
from leaderboard_site.hub import client
from leaderboard_site.hub.models import MirrorChange, Operation

logger = logging.getLogger(__name__)

DATASETS = ("requests", "votes", "contents", "official-providers")
PARENT_RETRIES = 5
PUSH_LOCK_SECONDS = 600


# --- writing the outbox ------------------------------------------------------------------------
def _record(dataset: str, path: str, operation: str, content: bytes = b"") -> None:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record the mirror change inside the change's own transaction")
    sql.run(
        f"INSERT INTO {sql.table(MirrorChange)} (dataset, path, operation, content, created_at) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s)",
        [dataset, path, operation, content, sql.stamp(timezone.now())],
    )


def record_put(dataset: str, path: str, content: bytes) -> None:
    _record(dataset, path, Operation.PUT, content)


def record_append(dataset: str, path: str, line: bytes) -> None:
    _record(dataset, path, Operation.APPEND, line.rstrip(b"\n") + b"\n")


def record_delete(dataset: str, path: str) -> None:
    _record(dataset, path, Operation.DELETE)


def record_regenerate(dataset: str, path: str) -> None:
    """The file is derived from the database (e.g. the contents parquet): build it at push time,
    once however many changes asked for it."""
    if (dataset, path) not in _generators:
        raise ValueError(f"no generator registered for {dataset}/{path}")
    _record(dataset, path, Operation.REGENERATE)


_generators: dict[tuple[str, str], Callable[[], bytes]] = {}


def register_generator(dataset: str, path: str, build: Callable[[], bytes]) -> None:
    """Apps register the files they derive from the database (in AppConfig.ready)."""
    _generators[(dataset, path)] = build


_publishing: dict[str, list[Callable[[Plan], None]]] = {}


def register_publishing(dataset: str, callback: Callable[[Plan], None]) -> None:
    """Apps learn what a push is about to publish (in AppConfig.ready): `callback(plan)` runs,
    committed, before the commit is made. The plan's rows stay in the outbox until it lands, so
    whatever the callback records about them will come true."""
    _publishing.setdefault(dataset, []).append(callback)


# --- targets -------------------------------------------------------------------------------------
class PushInProgress(Exception):
    """Another process is pushing this dataset."""


class ParentMoved(Exception):
    """The dataset changed between our read and our commit."""


class Target(Protocol):
    def head(self, dataset: str) -> str | None: ...

    def read(self, dataset: str, path: str, revision: str | None) -> bytes | None: ...

    def local_copy(self, dataset: str, patterns: list[str]) -> Path | None:
        """A local folder with the dataset's files matching `patterns` (None: no dataset)."""
        ...

    def commit(
        self,
        dataset: str,
        *,
        files: dict[str, bytes | None],
        message: str,
        parent: str | None,
    ) -> str:
        """Write (bytes) or delete (None) each path in one commit; returns the new head."""
        ...


def repo_id(dataset: str) -> str:
    return f"{settings.HF_ORGANIZATION}/{dataset}"


class HubTarget:
    def head(self, dataset: str) -> str | None:
        return client.dataset_head(repo_id(dataset))

    def read(self, dataset: str, path: str, revision: str | None) -> bytes | None:
        try:
            return client.read_file(repo_id(dataset), path, revision=revision, repo_type="dataset")
        except client.HubNotFound:
            # No such repo yet, or the head moved on: the commit's parent check settles it.
            return None

    def local_copy(self, dataset: str, patterns: list[str]) -> Path | None:
        try:
            return client.download_dataset(repo_id(dataset), patterns=patterns)
        except client.HubNotFound:
            return None

    def commit(
        self, dataset: str, *, files: dict[str, bytes | None], message: str, parent: str | None
    ) -> str:
        try:
            return client.commit(repo_id(dataset), files=files, message=message, parent=parent)
        except client.HubConflict as exc:
            raise ParentMoved(str(exc)) from exc


class FolderTarget:
    """The same layout in VAR_DIR/hub/<org>/<dataset>; the head is a hash of the commit log."""

    def _folder(self, dataset: str) -> Path:
        return Path(settings.VAR_DIR) / "hub" / repo_id(dataset)

    def _log(self, dataset: str) -> Path:
        return self._folder(dataset).with_name(f"{dataset}.log")

    def head(self, dataset: str) -> str | None:
        log = self._log(dataset)
        return (
            hashlib.sha1(log.read_bytes(), usedforsecurity=False).hexdigest()
            if log.exists()
            else None
        )

    def read(self, dataset: str, path: str, revision: str | None) -> bytes | None:
        target = self._folder(dataset) / path
        return target.read_bytes() if target.is_file() else None

    def local_copy(self, dataset: str, patterns: list[str]) -> Path | None:
        folder = self._folder(dataset)
        return folder if folder.is_dir() else None

    def commit(
        self, dataset: str, *, files: dict[str, bytes | None], message: str, parent: str | None
    ) -> str:
        folder = self._folder(dataset)
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder.with_name(f".{dataset}.lock")):
            if self.head(dataset) != parent:
                raise ParentMoved(f"{dataset} moved since {parent}")
            for path, content in files.items():
                target = _inside(folder, path)
                if content is None:
                    target.unlink(missing_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                scratch = target.with_name(f".{target.name}.tmp")
                scratch.write_bytes(content)
                os.replace(scratch, target)
            entry = {
                "time": timezone.now().isoformat(),
                "message": message,
                "parent": parent,
                "files": sorted(p for p, c in files.items() if c is not None),
                "deleted": sorted(p for p, c in files.items() if c is None),
            }
            with self._log(dataset).open("a") as log:
                log.write(json.dumps(entry) + "\n")
        head = self.head(dataset)
        assert head is not None
        return head


def _inside(folder: Path, path: str) -> Path:
    target = (folder / path).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise ValueError(f"{path!r} leaves the dataset folder")
    return target


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def target() -> Target:
    target_class: type[Target] = import_string(settings.MIRROR_TARGET)
    return target_class()


# --- pushing -------------------------------------------------------------------------------------
@dataclass
class Plan:
    """What one push of a dataset would publish."""

    dataset: str
    last_id: int = 0
    changes: int = 0
    puts: dict[str, bytes] = field(default_factory=dict)
    appends: dict[str, list[bytes]] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)
    regenerate: set[str] = field(default_factory=set)

    @property
    def paths(self) -> list[str]:
        return sorted({*self.puts, *self.appends, *self.deletes, *self.regenerate})

    def files(self, read: client.Reader) -> dict[str, bytes | None]:
        """The content of every touched file after this push (None: deleted)."""
        files: dict[str, bytes | None] = dict.fromkeys(self.deletes)
        files.update(self.puts)
        for path in self.regenerate:
            files[path] = _generators[(self.dataset, path)]()
        for path, lines in self.appends.items():
            base = files.get(path) if path in files else read(path)
            files[path] = _join_lines(base, lines)
        return files


def _join_lines(base: bytes | None, lines: list[bytes]) -> bytes:
    head = base or b""
    if head and not head.endswith(b"\n"):
        head += b"\n"
    return head + b"".join(lines)


def plan(dataset: str) -> Plan:
    """Fold the dataset's pending outbox rows, in order, into the files they produce."""
    result = Plan(dataset)
    rows = MirrorChange.objects.filter(dataset=dataset).order_by("id")
    for row in rows.values_list("id", "path", "operation", "content").iterator():
        row_id, path, operation, content = row
        result.last_id, result.changes = row_id, result.changes + 1
        content = bytes(content)
        if operation == Operation.REGENERATE:
            result.regenerate.add(path)
            result.puts.pop(path, None)
            result.appends.pop(path, None)
            result.deletes.discard(path)
        elif operation == Operation.PUT:
            result.puts[path] = content
            result.appends.pop(path, None)
            result.deletes.discard(path)
            result.regenerate.discard(path)
        elif operation == Operation.DELETE:
            result.deletes.add(path)
            result.puts.pop(path, None)
            result.appends.pop(path, None)
            result.regenerate.discard(path)
        elif path in result.puts:
            result.puts[path] = _join_lines(result.puts[path], [content])
        else:
            result.appends.setdefault(path, []).append(content)
            result.deletes.discard(path)
    return result


@dataclass(frozen=True)
class PushResult:
    dataset: str
    changes: int
    files: int
    head: str | None
    attempts: int


def push(dataset: str, *, dry_run: bool = False) -> PushResult:
    """Publish every pending change of `dataset` as one commit; rows go only once it landed.

    Raises client.HubUnavailable (the Hub is down or rate limiting: try again later, the outbox
    is intact) and ParentMoved when the branch kept moving through every retry.
    """
    with _push_lock(dataset):
        return _push(dataset, dry_run=dry_run)


@contextmanager
def _push_lock(dataset: str) -> Iterator[None]:
    """One push per dataset at a time, across processes: two would publish the same rows. The
    lock lapses after PUSH_LOCK_SECONDS; a push that outlived it does not release another's."""
    key, owner = f"hub:mirror:push:{dataset}", f"{os.getpid()}:{uuid.uuid4().hex}"
    if not cache.add(key, owner, timeout=PUSH_LOCK_SECONDS):
        raise PushInProgress(f"a push of {dataset} is already running")
    try:
        yield
    finally:
        if cache.get(key) == owner:
            cache.delete(key)


def _push(dataset: str, *, dry_run: bool) -> PushResult:
    pending = plan(dataset)
    if not pending.changes:
        return PushResult(dataset, 0, 0, None, 0)
    if dry_run:
        return PushResult(dataset, pending.changes, len(pending.paths), None, 0)
    with transaction.atomic():
        for callback in _publishing.get(dataset, ()):
            callback(pending)
    destination = target()
    message = f"Update {len(pending.paths)} files ({pending.changes} changes)"
    for attempt in range(1, PARENT_RETRIES + 1):
        parent = destination.head(dataset)
        files = pending.files(partial(destination.read, dataset, revision=parent))
        try:
            head = destination.commit(dataset, files=files, message=message, parent=parent)
        except ParentMoved:
            logger.info("mirror %s: the branch moved, retrying (%d)", dataset, attempt)
            continue
        MirrorChange.objects.filter(dataset=dataset, id__lte=pending.last_id).delete()
        logger.info(
            "mirror %s: pushed %d changes in %d files", dataset, pending.changes, len(files)
        )
        return PushResult(dataset, pending.changes, len(files), head, attempt)
    raise ParentMoved(f"{dataset}: the branch kept moving through {PARENT_RETRIES} attempts")
