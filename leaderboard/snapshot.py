"""The served leaderboard: both full lists built once per data change, never per request.

A rebuild serializes every entry with orjson, gzips the bytes and stores them in the cache under
their content hash, then publishes the new hashes under one version key. Each web process keeps
the gzip bytes of the current version in memory and checks the (small) version key per request,
so all processes serve the same data, and a change is visible as soon as its rebuild finishes.
Only the gzip form is kept: clients that do not accept gzip get it decompressed as a stream.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.core.cache import cache

from leaderboard.contents import FIELDS, Row, raw_row
from leaderboard.formatting import formatted_row
from leaderboard.models import Entry

logger = logging.getLogger(__name__)

KINDS: dict[str, Callable[[Row], dict[str, Any]]] = {"raw": raw_row, "formatted": formatted_row}
VERSION_KEY = "leaderboard:snapshot:version"
LOCK_KEY = "leaderboard:snapshot:lock"
DIRTY_KEY = "leaderboard:snapshot:dirty"
LOCK_SECONDS = 300
STREAM_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Snapshot:
    kind: str
    digest: str  # of the uncompressed JSON
    gzip: bytes
    size: int  # uncompressed length
    count: int
    built_at: float

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'

    @property
    def gzip_etag(self) -> str:
        return f'"{self.digest}-gzip"'

    def iter_identity(self) -> Iterator[bytes]:
        """The uncompressed JSON, decompressed chunk by chunk (bounded memory)."""
        decompressor = zlib.decompressobj(wbits=31)
        for start in range(0, len(self.gzip), STREAM_CHUNK):
            if chunk := decompressor.decompress(self.gzip[start : start + STREAM_CHUNK]):
                yield chunk
        if tail := decompressor.flush():
            yield tail


def _blob_key(kind: str, digest: str) -> str:
    return f"leaderboard:snapshot:{kind}:{digest}"


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(settings.LEADERBOARD_SNAPSHOT_GZIP_LEVEL, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


def _rows() -> list[Row]:
    queryset = Entry.objects.order_by(
        "model_name", "precision", "revision_sha", "chat_template"
    ).values_list(*FIELDS)
    return [Row._make(values) for values in queryset.iterator(chunk_size=5000)]


def snapshot_build() -> dict[str, Snapshot]:
    """Serialize and compress both lists from the database (no cache involved)."""
    rows = _rows()
    built: dict[str, Snapshot] = {}
    for kind, shape in KINDS.items():
        body = orjson.dumps({"models": [shape(row) for row in rows]})
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        built[kind] = Snapshot(kind, digest, _gzip(body), len(body), len(rows), time.time())
    return built


def _publish(snapshots: dict[str, Snapshot]) -> None:
    cache.set_many(
        {_blob_key(s.kind, s.digest): s for s in snapshots.values()}, timeout=None
    )
    cache.set(VERSION_KEY, {s.kind: s.digest for s in snapshots.values()}, timeout=None)
    _local.update(snapshots)


def snapshot_rebuild() -> dict[str, Snapshot]:
    """Build both lists and make them the served ones.

    Concurrent calls coalesce: one builder holds the lock and rebuilds again while changes keep
    arriving (the dirty flag), so the last change is always covered by a finished rebuild.
    """
    cache.set(DIRTY_KEY, True, timeout=LOCK_SECONDS)
    if not cache.add(LOCK_KEY, True, timeout=LOCK_SECONDS):
        return {}
    snapshots: dict[str, Snapshot] = {}
    try:
        while cache.get(DIRTY_KEY):
            cache.delete(DIRTY_KEY)
            started = time.perf_counter()
            snapshots = snapshot_build()
            _publish(snapshots)
            logger.info(
                "leaderboard snapshot rebuilt",
                extra={
                    "entries": snapshots["raw"].count,
                    "seconds": round(time.perf_counter() - started, 3),
                },
            )
    finally:
        cache.delete(LOCK_KEY)
    return snapshots


_local: dict[str, Snapshot] = {}
_local_lock = threading.Lock()


def snapshot_get(kind: str) -> Snapshot:
    """The current snapshot of one list; built here only if the cache has none at all."""
    version = cache.get(VERSION_KEY)
    digest = version.get(kind) if isinstance(version, dict) else None
    current = _local.get(kind)
    if current is not None and current.digest == digest:
        return current
    if digest is not None:
        stored = cache.get(_blob_key(kind, digest))
        if isinstance(stored, Snapshot):
            _local[kind] = stored
            return stored
    with _local_lock:  # the cache lost the snapshot (flushed, evicted): build it once here
        built = snapshot_build()
        _publish(built)
        return built[kind]
