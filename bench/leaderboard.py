"""Leaderboard bench: snapshot rebuild time, and serving the full list beside nginx.

Builds 4,576 entries (the bundled real snapshot) and 100,000 (the same rows under new names),
then measures at each size:
  - the snapshot rebuild (both lists: query, orjson, gzip, publish), median of 3;
  - GET /api/leaderboard/formatted with Accept-Encoding: gzip, and its 304 path, under wrk,
    for each candidate serving path, beside nginx serving the same bytes from a file;
  - the largest web process RSS while serving.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from typing import Any

from bench.common import (
    PROJECT,
    etag_of,
    free_port,
    gunicorn,
    gunicorn_threaded,
    isolated_environment,
    nginx_serving,
    python,
    rss_mb,
    save,
    server,
    wrk,
)

BUNDLED = PROJECT / "leaderboard" / "data" / "contents-2025-03-21.parquet"
SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "4576,100000").split(","))
GZIP = {"Accept-Encoding": "gzip"}

SERVING_PATHS = {
    "gunicorn-asgi": gunicorn,  # make run's (SERVER=asgi)
    "gunicorn-gthread": gunicorn_threaded,  # SERVER=wsgi
    "daphne": lambda port: [
        python(), "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port),
        "leaderboard_site.asgi:application",
    ],
}  # fmt: skip


SCORES = [f"{name}{raw}" for name in ("IFEval", "BBH", "MATH Lvl 5", "GPQA", "MUSR", "MMLU-PRO")
          for raw in ("", " Raw")]  # fmt: skip


def _variant(row: dict[str, Any], copy: int, rng: random.Random) -> dict[str, Any]:
    """A copy of a real row under a new name, with its own scores (so it compresses like data)."""
    variant = {**row, "fullname": f"{row['fullname']}-bench{copy}", "Hub ❤️": rng.randint(0, 900)}
    variant["Model sha"] = f"{rng.getrandbits(160):040x}"
    for column in (*SCORES, "Average ⬆️", "#Params (B)", "CO₂ cost (kg)"):
        if variant[column] is not None:
            variant[column] = min(variant[column] * rng.uniform(0.9, 1.0), 100.0)
    return variant


def _rows(size: int) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    base = pq.read_table(BUNDLED).to_pylist()
    rng = random.Random(42)
    rows = base[:size]
    copy = 1
    while len(rows) < size:
        rows += [_variant(row, copy, rng) for row in base[: size - len(rows)]]
        copy += 1
    return rows


def _populate(size: int) -> float:
    from leaderboard.models import Entry
    from leaderboard.services import entries_import

    Entry.objects.all().delete()
    started = time.perf_counter()
    entries_import(rows=_rows(size), schedule_rebuild=False)
    return time.perf_counter() - started


def _rebuild_seconds() -> tuple[float, dict[str, Any]]:
    from leaderboard.snapshot import _publish, snapshot_build

    times, built = [], {}
    for _ in range(3):
        started = time.perf_counter()
        built = snapshot_build()
        _publish(built)
        times.append(time.perf_counter() - started)
    return statistics.median(times), built


def _admin_ms() -> dict[str, float]:
    """Median time of the admin's entry list pages (as a logged-in maintainer), in ms."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user_model = get_user_model()
    admin = user_model.objects.filter(username="bench-admin").first()
    if admin is None:
        admin = user_model.objects.create_superuser("bench-admin", "a@example.org", "x")
    client = Client()
    client.force_login(admin)
    pages = {
        "list": "/admin/leaderboard/entry/",
        "search": "/admin/leaderboard/entry/?q=llama",
        "filter": "/admin/leaderboard/entry/?model_type__exact=chat&flagged__exact=0",
        "page 50": "/admin/leaderboard/entry/?p=50",
    }
    timings = {}
    for name, url in pages.items():
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            samples.append((time.perf_counter() - started) * 1000)
        timings[name] = round(statistics.median(samples), 1)
    return timings


def _serve(name: str, env: dict[str, str], built: dict[str, Any], duration: int) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/api/leaderboard/formatted"
    with server(SERVING_PATHS[name](port), env, f"{base}/health") as process:
        etag = etag_of(url, GZIP)
        wrk(url, headers=GZIP, duration=2)  # warm up: connections, snapshot files, imports
        full = wrk(url, headers=GZIP, duration=duration)
        rss = rss_mb(process.pid)
        not_modified = wrk(url, headers={**GZIP, "If-None-Match": etag}, duration=duration)
    return {"full": full, "not_modified": not_modified, "rss_mb": round(rss, 1)}


def _nginx(built: dict[str, Any], duration: int) -> dict[str, Any]:
    with nginx_serving({"formatted.json": built["formatted"].gzip}) as base:
        url = f"{base}/formatted.json"
        etag = etag_of(url, GZIP)
        return {
            "full": wrk(url, headers=GZIP, duration=duration),
            "not_modified": wrk(url, headers={**GZIP, "If-None-Match": etag}, duration=duration),
        }


def _report(size: int, result: dict[str, Any]) -> None:
    nginx = result["nginx"]
    print(f"  {size:>7} entries: rebuild {result['rebuild_s']:.3f} s "
          f"(gzip body {result['gzip_mb']:.1f} MB of {result['json_mb']:.1f} MB JSON); "
          f"admin list pages (ms): {result['admin_ms']}")  # fmt: skip
    for name in SERVING_PATHS:
        ours = result[name]
        for path in ("full", "not_modified"):
            mine, ref = ours[path], nginx[path]
            print(
                f"    {name:<17} {path:<13} {mine.requests_per_s:>9.1f} req/s "
                f"p50 {mine.p50_ms:7.2f} ms p99 {mine.p99_ms:7.2f} ms | nginx "
                f"{ref.requests_per_s:>9.1f} req/s p99 {ref.p99_ms:7.2f} ms | "
                f"ratio {mine.requests_per_s / ref.requests_per_s:.2f}x"
            )
        print(f"    {name:<17} max web process RSS {ours['rss_mb']:.0f} MB")


def main(duration: int = 10) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with isolated_environment() as env:
        for size in SIZES:
            populate_s = _populate(size)
            rebuild_s, built = _rebuild_seconds()
            result: dict[str, Any] = {
                "populate_s": round(populate_s, 2),
                "rebuild_s": round(rebuild_s, 3),
                "gzip_mb": len(built["formatted"].gzip) / 1e6,
                "json_mb": built["formatted"].size / 1e6,
                "nginx": _nginx(built, duration),
                "admin_ms": _admin_ms(),
            }
            for name in SERVING_PATHS:
                result[name] = _serve(name, env, built, duration)
            results[str(size)] = result
            _report(size, result)
    path = save("leaderboard", results)
    print(f"  targets: rebuild <= 0.5 s at 4,576 and <= 10 s at 100k; full list >= 0.5x nginx; "
          f"RSS <= 400 MB. Saved {path.relative_to(PROJECT)}")  # fmt: skip
    return results


if __name__ == "__main__":
    main()
