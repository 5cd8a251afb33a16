"""The served leaderboard: both full lists built once per data change, never per request.

A rebuild serializes every entry with orjson, in the shape LEADERBOARD_API names (`documented`
or `upstream`: every process of a deployment reads the same setting), gzips the bytes and
stores them in the cache under their content hash, with the search index of the same rows
(`leaderboard.search`), then publishes the new hashes under that shape's version key. Each
web process checks the (small) version key per request, so all processes serve the same data,
and a change is visible as soon as its rebuild finishes. A web process keeps the current
version's gzip bytes in memory (one copy per list, fetched once per version) and sends them as
they are; clients that do not accept gzip get them decompressed as a stream, so the JSON is
never held whole.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.core.cache import BaseCache, cache, caches
from django.db import transaction

from leaderboard.contents import FIELDS, Row, raw_row
from leaderboard.formatting import formatted_row, upstream_api
from leaderboard.models import Entry
from leaderboard.search import SearchIndex
from leaderboard.signals import snapshot_published
from leaderboard_site.metrics.definitions import SNAPSHOT_REBUILD
from leaderboard_site.redis_cache import UNAVAILABLE

logger = logging.getLogger(__name__)

KINDS: dict[str, Callable[[Row, bool], dict[str, Any]]] = {
    "raw": lambda row, upstream: raw_row(row),
    "formatted": lambda row, upstream: formatted_row(row, upstream=upstream),
}
SEARCH = "search"
LOCK_KEY = "leaderboard:snapshot:lock"
DIRTY_KEY = "leaderboard:snapshot:dirty"
WATCH_REREAD_SECONDS = 30.0  # a subscriber also re-reads the cache this often
LOCK_SECONDS = 300
STREAM_CHUNK = 256 * 1024


class _Tagged:
    """Strong ETags of the two representations (identity and gzip) of one list version."""

    digest: str  # of the uncompressed JSON

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'

    @property
    def gzip_etag(self) -> str:
        return f'"{self.digest}-gzip"'


@dataclass(frozen=True)
class Snapshot(_Tagged):
    kind: str
    digest: str
    gzip: bytes
    size: int  # uncompressed length
    count: int
    built_at: float


HEAD_BYTES = 32 * 1024


@dataclass(frozen=True)
class ServedSnapshot(_Tagged):
    """A snapshot as a web process serves it: the gzip bytes, and the JSON on demand.

    The gzip bytes are kept as a small head and the rest, sent as two pieces: an HTTP server
    joins the response headers to the first piece it writes, and on Python 3.11 asyncio joins
    by copying, so one large piece would be copied once more per response.
    """

    kind: str
    digest: str
    size: int
    count: int
    gzip_parts: tuple[bytes, bytes]

    @classmethod
    def of(cls, snapshot: Snapshot) -> ServedSnapshot:
        head, rest = snapshot.gzip[:HEAD_BYTES], snapshot.gzip[HEAD_BYTES:]
        return cls(snapshot.kind, snapshot.digest, snapshot.size, snapshot.count, (head, rest))

    @property
    def gzip_size(self) -> int:
        return len(self.gzip_parts[0]) + len(self.gzip_parts[1])

    def iter_gzip(self) -> Iterator[bytes]:
        return (part for part in self.gzip_parts if part)

    async def aiter_gzip(self) -> AsyncIterator[bytes]:
        for part in self.iter_gzip():
            yield part

    def iter_identity(self) -> Iterator[bytes]:
        """The uncompressed JSON, decompressed chunk by chunk (bounded memory)."""
        decompressor = zlib.decompressobj(wbits=31)
        for part in self.gzip_parts:
            view = memoryview(part)
            for start in range(0, len(view), STREAM_CHUNK):
                if chunk := decompressor.decompress(view[start : start + STREAM_CHUNK]):
                    yield chunk
        if tail := decompressor.flush():
            yield tail

    async def aiter_identity(self) -> AsyncIterator[bytes]:
        """The same, for an ASGI server (which would buffer a sync iterator whole)."""
        for chunk in self.iter_identity():
            yield chunk


def _blob_key(kind: str, digest: str) -> str:
    return f"leaderboard:snapshot:{kind}:{digest}"


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(settings.LEADERBOARD_SNAPSHOT_GZIP_LEVEL, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


def version_key() -> str:
    """The current version's key, one per shape: a process started with the other shape never
    serves the bytes built for this one."""
    return f"leaderboard:snapshot:version:{settings.LEADERBOARD_API}"


def _rows() -> tuple[list[int], list[Row]]:
    queryset = Entry.objects.order_by(
        "model_name", "precision", "revision_sha", "chat_template"
    ).values_list("pk", *FIELDS)
    ids, rows = [], []
    for pk, *values in queryset.iterator(chunk_size=5000):
        ids.append(pk)
        rows.append(Row._make(values))
    return ids, rows


def _search_index(ids: list[int], rows: list[Row]) -> SearchIndex:
    searched = [
        (r.model_name, r.precision, r.architecture, r.hub_license, r.model_type) for r in rows
    ]
    return SearchIndex.build(ids, searched)


def _body(shape: Callable[[Row, bool], dict[str, Any]], rows: list[Row]) -> bytes:
    """The list as it is served: `{"models": [...]}` (the documented contract) or, for the
    upstream frontend, the bare array the upstream backend answered."""
    upstream = upstream_api()
    items = [shape(row, upstream) for row in rows]
    return orjson.dumps(items if upstream else {"models": items})


Built = Snapshot | SearchIndex


def snapshot_build() -> dict[str, Built]:
    """Serialize and compress both lists from the database (no cache involved), and index the
    same rows for searches.

    Compression releases the GIL, so each list is gzipped on a thread while the next one is
    being serialized: on two cores the rebuild takes about the serialization time alone.
    """
    ids, rows = _rows()
    built_at = time.time()

    def finish(kind: str, body: bytes) -> Snapshot:
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        return Snapshot(kind, digest, _gzip(body), len(body), len(rows), built_at)

    with ThreadPoolExecutor(max_workers=len(KINDS)) as pool:
        futures = [pool.submit(finish, kind, _body(shape, rows)) for kind, shape in KINDS.items()]
        built: dict[str, Built] = {SEARCH: _search_index(ids, rows)}
        built.update((future.result().kind, future.result()) for future in futures)
        return built


def _publish(built: dict[str, Built]) -> None:
    """Store the lists, then make them current: in the cache, here, and (announced) in every
    other web process."""
    cache.set_many({_blob_key(b.kind, b.digest): b for b in built.values()}, timeout=None)
    version = {"api": settings.LEADERBOARD_API, **{b.kind: b.digest for b in built.values()}}
    previous = cache.get(version_key())
    cache.set(version_key(), version, timeout=None)
    watch.offer(version)
    watch.announce(version)
    if previous != version:  # the `leaderboard.updated` event, once what it names is committed
        listed = built[SEARCH]
        transaction.on_commit(lambda: snapshot_published.send(
            Entry, version=version, entries=listed.count,
            built_at=max(getattr(b, "built_at", 0.0) for b in built.values()),
        ))  # fmt: skip


def snapshot_rebuild() -> dict[str, Built]:
    """Build both lists and make them the served ones.

    Concurrent calls coalesce: one builder holds the lock and rebuilds again while changes keep
    arriving (the dirty flag), so the last change is always covered by a finished rebuild.
    """
    cache.set(DIRTY_KEY, True, timeout=LOCK_SECONDS)
    if not cache.add(LOCK_KEY, True, timeout=LOCK_SECONDS):
        return {}
    snapshots: dict[str, Built] = {}
    try:
        while cache.get(DIRTY_KEY):
            cache.delete(DIRTY_KEY)
            started = time.perf_counter()
            snapshots = snapshot_build()
            _publish(snapshots)
            seconds = time.perf_counter() - started
            SNAPSHOT_REBUILD.observe(seconds)
            logger.info(
                "leaderboard snapshot rebuilt",
                extra={"entries": snapshots[SEARCH].count, "seconds": round(seconds, 3)},
            )
    finally:
        cache.delete(LOCK_KEY)
    return snapshots


_local: dict[str, ServedSnapshot | SearchIndex] = {}
_local_lock = threading.Lock()


@functools.cache
def _process_cache() -> BaseCache:
    """One cache backend for the whole process. Django's `cache` is per context: in an event
    loop, a new backend object for every request's task (sharing one Redis client)."""
    return caches.create_connection("default")


def _current_digest(kind: str) -> str | None:
    version = watch.version()
    if version is None or version.get("api") != settings.LEADERBOARD_API:
        try:
            version = _process_cache().get(version_key())
        except UNAVAILABLE:  # Redis away: the version last heard (no other can be published)
            version = watch.last_heard()
    return version.get(kind) if isinstance(version, dict) else None


def _redis_location() -> str | None:
    config = settings.CACHES["default"]
    return str(config["LOCATION"]) if str(config["BACKEND"]).endswith("RedisCache") else None


class VersionWatch:
    """The published version, pushed to each web process over Redis pub/sub, so that serving a
    list costs no round trip (it was a third of the full list's cost). While not subscribed
    (starting, Redis away) `version()` is None and callers read the cache, as they do on the
    embedded default, whose file cache costs no round trip."""

    def __init__(self) -> None:
        self._version: dict[str, Any] | None = None
        self._live = False
        self._started = False
        self._lock = threading.Lock()

    def version(self) -> dict[str, Any] | None:
        if not self._started:
            self._start()
        return self._version if self._live else None

    def last_heard(self) -> dict[str, Any] | None:
        """The version the watch last heard, live or not."""
        return self._version

    def offer(self, version: Any) -> None:
        if isinstance(version, dict):
            self._version = version

    def announce(self, version: dict[str, str]) -> None:
        """Tell the other processes that the cache holds a new version (they read it there, so
        messages out of order or lost cost nothing but a little time)."""
        location = _redis_location()
        if location is None:
            return
        import redis

        client = _process_cache().client()  # type: ignore[attr-defined]  # a RedisCache here
        try:
            client.publish(_channel(location), orjson.dumps(version))
        except redis.RedisError as exc:  # the cache has it: subscribers re-read it
            logger.warning("snapshot version not announced: %s", exc)

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        location = _redis_location()
        if location is not None:
            threading.Thread(target=self._listen, args=(location,), name="snapshot-watch",
                             daemon=True).start()  # fmt: skip

    def _listen(self, location: str) -> None:
        import redis

        while True:
            client = redis.Redis.from_url(location, socket_connect_timeout=2,
                                          health_check_interval=10)  # fmt: skip
            try:
                self._follow(client, location)
            except Exception as exc:  # the watch outlives anything; meanwhile, the cache
                logger.warning("snapshot watch lost Redis, reading the cache meanwhile: %s", exc)
            finally:
                self._live = False
                client.close()
            time.sleep(1.0)

    def _follow(self, client: Any, location: str) -> None:
        with client.pubsub() as pubsub:
            pubsub.subscribe(_channel(location))
            confirmed = None
            while confirmed is None or confirmed["type"] != "subscribe":
                confirmed = pubsub.get_message(timeout=5.0)
            reread = 0.0
            while True:
                if time.monotonic() >= reread:  # what was published before we listened, and
                    # anything a lost message hid, at most WATCH_REREAD_SECONDS late
                    self.offer(_process_cache().get(version_key()))
                    self._live = True
                    reread = time.monotonic() + WATCH_REREAD_SECONDS
                message = pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "message":
                    self.offer(_process_cache().get(version_key()))


def _channel(location: str) -> str:
    """Pub/sub ignores Redis's database numbers: the channel names the location as well."""
    return f"{location}|{_process_cache().make_key('leaderboard:snapshot:published')}"


watch = VersionWatch()


def snapshot_held(kind: str) -> ServedSnapshot | None:
    """The current snapshot when this process already holds it: no database, at most one small
    cache read (a file, or Redis while the watch is not subscribed), so an event loop may call
    it."""
    current = _local.get(kind)
    if isinstance(current, ServedSnapshot) and current.digest == _current_digest(kind):
        return current
    return None


def _current(kind: str) -> ServedSnapshot | SearchIndex:
    """The current version of a list or of the search index, held in this process; built here
    only if the cache has none at all."""
    digest = _current_digest(kind)
    current = _local.get(kind)
    if current is not None and current.digest == digest:
        return current
    with _local_lock:  # one fetch (or build) per new version, however many requests wait
        current = _local.get(kind)
        if current is not None and current.digest == digest:
            return current
        stored = cache.get(_blob_key(kind, digest)) if digest else None
        if not isinstance(stored, Snapshot | SearchIndex):  # the cache lost it: build once here
            built = snapshot_build()
            _publish(built)
            stored = built[kind]
        held = _local[kind] = ServedSnapshot.of(stored) if isinstance(stored, Snapshot) else stored
    return held


def snapshot_get(kind: str) -> ServedSnapshot:
    """The current snapshot of one list."""
    served = _current(kind)
    assert isinstance(served, ServedSnapshot)
    return served


def search_index_get() -> SearchIndex:
    """The search index of the current snapshot's rows."""
    index = _current(SEARCH)
    assert isinstance(index, SearchIndex)
    return index
