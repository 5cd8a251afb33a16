from __future__ import annotations

import gzip
import time
from typing import Any

import orjson
import pytest
from django.core.cache import cache

from leaderboard import snapshot
from leaderboard.models import Entry
from leaderboard.services import entries_set_flag
from leaderboard.tasks import rebuild_snapshot
from tests.conftest import read_body
from tests.leaderboard.factories import EntryFactory

pytestmark = pytest.mark.django_db

URLS = ["/api/leaderboard", "/api/leaderboard/formatted"]


def body(response: Any) -> dict[str, Any]:
    data = read_body(response)
    if response.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return orjson.loads(data)


@pytest.mark.parametrize("url", URLS)
def test_gzip_and_identity_carry_the_same_json(anon: Any, url: str) -> None:
    EntryFactory.create_batch(3)
    zipped = anon.get(url, HTTP_ACCEPT_ENCODING="gzip, br")
    plain = anon.get(url)
    assert zipped.status_code == plain.status_code == 200
    assert zipped["Content-Encoding"] == "gzip"
    assert not plain.has_header("Content-Encoding")
    unzipped = body(plain)
    assert body(zipped) == unzipped
    assert len(unzipped["models"]) == 3
    assert zipped["ETag"] == plain["ETag"].removesuffix('"') + '-gzip"'
    assert "Accept-Encoding" in zipped["Vary"]


def test_identity_content_length_is_exact(anon: Any) -> None:
    EntryFactory.create_batch(2)
    response = anon.get("/api/leaderboard")
    assert int(response["Content-Length"]) == len(read_body(response))


@pytest.mark.parametrize("url", URLS)
def test_if_none_match_gives_304_while_unchanged(anon: Any, url: str) -> None:
    EntryFactory()
    first = anon.get(url, HTTP_ACCEPT_ENCODING="gzip")
    read_body(first)
    etag = first["ETag"]
    again = anon.get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    other = anon.get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH='"something-else"')
    assert other.status_code == 200
    read_body(other)


def test_a_change_is_served_after_its_rebuild(
    anon: Any, django_capture_on_commit_callbacks: Any
) -> None:
    entry = EntryFactory(flagged=False)
    first = anon.get("/api/leaderboard/formatted")
    assert body(first)["models"][0]["features"]["is_flagged"] is False

    with django_capture_on_commit_callbacks() as callbacks:
        entries_set_flag(entry_ids=[entry.pk], flag="flagged", value=True)
    assert callbacks == [rebuild_snapshot.delay]  # queued after commit, not run in the request

    stale = anon.get("/api/leaderboard/formatted", HTTP_IF_NONE_MATCH=first["ETag"])
    assert stale.status_code == 304  # until the rebuild: never rebuilt per request

    rebuild_snapshot()
    fresh = anon.get("/api/leaderboard/formatted", HTTP_IF_NONE_MATCH=first["ETag"])
    assert fresh.status_code == 200
    assert fresh["ETag"] != first["ETag"]
    assert body(fresh)["models"][0]["features"]["is_flagged"] is True


def test_other_processes_read_the_snapshot_from_the_cache(
    anon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    EntryFactory.create_batch(2)
    etag = anon.get("/api/leaderboard")["ETag"]
    snapshot._local.clear()  # a fresh web process: nothing in memory

    def must_not_build() -> None:
        raise AssertionError("served from the cache, not rebuilt")

    monkeypatch.setattr(snapshot, "snapshot_build", must_not_build)
    assert anon.get("/api/leaderboard")["ETag"] == etag


def test_a_lost_cache_is_rebuilt_once_then_shared(
    anon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    EntryFactory()
    builds = []
    real_build = snapshot.snapshot_build
    monkeypatch.setattr(snapshot, "snapshot_build", lambda: builds.append(1) or real_build())
    for _ in range(3):
        assert anon.get("/api/leaderboard/formatted").status_code == 200
    assert len(builds) == 1
    cache.clear()
    snapshot._local.clear()
    anon.get("/api/leaderboard")
    assert len(builds) == 2


def test_concurrent_rebuild_requests_coalesce() -> None:
    EntryFactory()
    assert cache.add(snapshot.LOCK_KEY, True)  # somebody is rebuilding
    assert rebuild_snapshot() == "coalesced into a running rebuild"
    assert cache.get(snapshot.DIRTY_KEY)  # ...and the holder will rebuild once more
    cache.delete(snapshot.LOCK_KEY)
    assert rebuild_snapshot() == "rebuilt 1 entries"
    assert not cache.get(snapshot.DIRTY_KEY)


def test_empty_leaderboard_is_an_empty_list(anon: Any) -> None:
    assert body(anon.get("/api/leaderboard")) == {"models": []}
    assert Entry.objects.count() == 0


def _published_elsewhere() -> dict[str, str]:
    """What another process's rebuild leaves: the blobs and the version in the cache, and the
    announcement (not this process's own `offer`)."""
    built = snapshot.snapshot_build()
    cache.set_many({snapshot._blob_key(s.kind, s.digest): s for s in built.values()}, timeout=None)
    version = {"api": "documented", **{s.kind: s.digest for s in built.values()}}
    cache.set(snapshot.version_key(), version, timeout=None)
    return version


def _wait_for(condition: Any) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.needs_redis
def test_a_version_published_elsewhere_is_pushed_here_and_read_from_memory(
    anon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    EntryFactory.create_batch(2)
    assert len(body(anon.get("/api/leaderboard"))["models"]) == 2
    _wait_for(lambda: snapshot.watch.version() is not None)  # subscribed
    EntryFactory.create()
    version = _published_elsewhere()
    snapshot.watch.announce(version)
    _wait_for(lambda: (snapshot.watch.version() or {}).get("raw") == version["raw"])

    def no_reads(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a request read the version from the cache")

    monkeypatch.setattr(snapshot._process_cache(), "get", no_reads)
    for _ in range(3):
        assert len(body(anon.get("/api/leaderboard"))["models"]) == 3


def test_while_the_watch_is_not_subscribed_requests_read_the_cache(
    anon: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    silent = snapshot.VersionWatch()
    silent._started = True  # never subscribes
    monkeypatch.setattr(snapshot, "watch", silent)
    EntryFactory.create_batch(2)
    assert len(body(anon.get("/api/leaderboard"))["models"]) == 2
    EntryFactory.create()
    _published_elsewhere()  # never announced
    assert len(body(anon.get("/api/leaderboard"))["models"]) == 3


@pytest.mark.needs_redis
def test_the_watch_rereads_the_cache_after_losing_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    watch = snapshot.VersionWatch()
    monkeypatch.setattr(snapshot, "WATCH_REREAD_SECONDS", 0.1)
    cache.set(snapshot.version_key(), {"api": "documented", "raw": "one", "formatted": "one"})
    _wait_for(lambda: (watch.version() or {}).get("raw") == "one")
    cache.set(snapshot.version_key(), {"api": "documented", "raw": "two"})  # never announced
    _wait_for(lambda: (watch.version() or {}).get("raw") == "two")


def test_the_upstream_shape_is_built_once_and_served_as_bytes(
    anon: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    EntryFactory(available_on_hub=True)
    documented = anon.get("/api/leaderboard/formatted", HTTP_ACCEPT_ENCODING="gzip")
    assert body(documented)["models"][0]["features"]["is_not_available_on_hub"] is False

    settings.LEADERBOARD_API = "upstream"  # a process started with the other shape
    zipped = anon.get("/api/leaderboard/formatted", HTTP_ACCEPT_ENCODING="gzip")
    plain = anon.get("/api/leaderboard/formatted")
    sent = read_body(zipped)
    models = orjson.loads(gzip.decompress(sent))
    assert isinstance(models, list) and body(plain) == models  # the bare array, both ways
    assert models[0]["features"]["is_not_available_on_hub"] is True  # upstream's value
    assert zipped["ETag"] != documented["ETag"]
    raw = body(anon.get("/api/leaderboard"))
    assert isinstance(raw, list) and raw[0]["Available on the hub"] is True

    def must_not_build() -> None:
        raise AssertionError("served from the held bytes, never re-encoded per request")

    monkeypatch.setattr(snapshot, "snapshot_build", must_not_build)
    again = anon.get("/api/leaderboard/formatted", HTTP_ACCEPT_ENCODING="gzip")
    assert read_body(again) == sent
    not_modified = anon.get(
        "/api/leaderboard/formatted", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=zipped["ETag"]
    )
    assert not_modified.status_code == 304

    settings.LEADERBOARD_API = "documented"  # each shape has its own version
    back = anon.get("/api/leaderboard/formatted", HTTP_ACCEPT_ENCODING="gzip")
    assert back["ETag"] == documented["ETag"]
    assert list(body(back)) == ["models"]


def test_the_upstream_empty_leaderboard_is_an_empty_array(anon: Any, settings: Any) -> None:
    settings.LEADERBOARD_API = "upstream"
    assert body(anon.get("/api/leaderboard")) == []
    assert body(anon.get("/api/leaderboard/formatted")) == []
