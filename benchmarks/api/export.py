"""`GET /v1/benchmarks/{id}/export?format=csv|jsonl`: a run's items streamed as a file.

CSV: a header row, then one row per item (`scores` as a JSON object). JSONL: a first line with
the run itself (`{"type": "benchmark", ...}`, its results included), then one
`{"type": "item", ...}` line per item. Rows are read with a cursor and sent in chunks, so a run
of any size costs constant memory (gzipped as they go for clients that accept it); under ASGI
each chunk is made in the request's stream thread.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from django.utils.cache import patch_vary_headers
from rest_framework.utils.encoders import JSONEncoder

from benchmarks import selectors
from benchmarks.models import Benchmark

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
ROWS_PER_CHUNK = 500


def _json(value: Any) -> str:
    return json.dumps(value, cls=JSONEncoder, ensure_ascii=False)


def _csv_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(selectors.EXPORT_COLUMNS)
    for count, row in enumerate(rows, start=1):
        cells = {**row, "scores": _json(row["scores"])}
        writer.writerow(["" if cells[c] is None else cells[c] for c in selectors.EXPORT_COLUMNS])
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _jsonl_chunks(head: dict[str, Any], rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    lines = [_json({"type": "benchmark", **head})]
    for row in rows:
        lines.append(_json({"type": "item", **row}))
        if len(lines) >= ROWS_PER_CHUNK:
            yield ("\n".join(lines) + "\n").encode()
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode()


def _gzipped(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks as one gzip stream, each compressed as it comes (the middleware leaves
    streaming responses be)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: the gzip format
    for chunk in chunks:
        if compressed := compressor.compress(chunk):
            yield compressed
    yield compressor.flush()


async def _in_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The chunks for an ASGI server: each made by a sync_to_async step (the request's stream
    thread, where its database connection lives), never on the event loop."""

    def step() -> bytes | None:
        return next(chunks, None)

    try:
        while (chunk := await sync_to_async(step)()) is not None:
            yield chunk
    finally:
        await sync_to_async(getattr(chunks, "close", lambda: None))()


def export_response(
    benchmark: Benchmark, *, fmt: str, head: dict[str, Any], asgi: bool, gzip: bool
) -> StreamingHttpResponse:
    rows = selectors.benchmark_export_rows(benchmark)
    chunks = _csv_chunks(rows) if fmt == "csv" else _jsonl_chunks(head, rows)
    if gzip:
        chunks = _gzipped(chunks)
    response = StreamingHttpResponse(
        _in_thread(chunks) if asgi else chunks, content_type=FORMATS[fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="benchmark-{benchmark.pk}.{fmt}"'
    patch_vary_headers(response, ("Accept-Encoding",))
    if gzip:
        response["Content-Encoding"] = "gzip"
    return response
