"""Readers for files in the `contents` shape: parquet, JSON Lines, JSON and CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson


class SourceError(ValueError):
    """The file cannot be read as contents rows (wrong format, not found, bad JSON)."""


def _parquet(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise SourceError(f"{path}: not a readable parquet file ({exc})") from exc
    for batch in parquet.iter_batches(batch_size=10_000):
        yield from batch.to_pylist()


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield _object(orjson_loads(line, f"{path}:{number}"), f"{path}:{number}")


def _json(path: Path) -> Iterator[dict[str, Any]]:
    data = orjson_loads(path.read_bytes(), str(path))
    if isinstance(data, dict) and isinstance(data.get("models"), list):
        data = data["models"]  # our own GET /api/leaderboard output
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise SourceError(f"{path}: expected a list of rows or {{'models': [...]}}")
    for number, item in enumerate(data, start=1):
        yield _object(item, f"{path}: row {number}")


def _csv(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def orjson_loads(data: bytes, where: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"{where}: invalid JSON ({exc})") from exc


def _object(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise SourceError(f"{where}: expected an object, got {type(item).__name__}")
    return item


READERS = {".parquet": _parquet, ".jsonl": _jsonl, ".json": _json, ".csv": _csv}


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a local file, chosen by its extension."""
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise SourceError(f"{path}: unsupported format; expected one of {sorted(READERS)}")
    return reader(path)


HUB_PREFIX = "hub:"


def resolve(source: str, *, patterns: list[str]) -> list[Path]:
    """Local files for SOURCE: a path, or `hub:ORG/NAME` (a dataset downloaded from the Hub)."""
    if not source.startswith(HUB_PREFIX):
        return [Path(source)]
    from leaderboard_site.hub.client import download_dataset

    repo_id = source.removeprefix(HUB_PREFIX).strip("/")
    if repo_id.count("/") != 1:
        raise SourceError(f"{source}: expected hub:ORG/NAME")
    folder = download_dataset(repo_id, patterns=patterns)
    files = sorted(path for path in folder.rglob("*") if path.suffix.lower() in READERS)
    if not files:
        raise SourceError(f"{source}: the dataset has no file matching {patterns}")
    return files


def read_official_providers(path: Path) -> set[str]:
    """Organizations in a file of the `official-providers` shape: {"CURATED_SET": [...]}."""
    organizations: set[str] = set()
    for row in read_rows(path):
        curated = row.get("CURATED_SET")
        if not isinstance(curated, list) or not all(isinstance(o, str) for o in curated):
            raise SourceError(f"{path}: expected {{'CURATED_SET': [organization, ...]}}")
        organizations.update(curated)
    return organizations
