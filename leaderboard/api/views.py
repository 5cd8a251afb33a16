"""Leaderboard endpoints: the two full lists (served from the snapshot) and the paginated API."""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.cache import patch_vary_headers
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leaderboard.api.filters import EntryFilter
from leaderboard.api.serializers import (
    FormattedLeaderboardSerializer,
    FormattedModelSerializer,
    RawLeaderboardSerializer,
)
from leaderboard.contents import FIELDS, Row
from leaderboard.formatting import formatted_row
from leaderboard.models import Entry
from leaderboard.snapshot import ServedSnapshot, snapshot_get, snapshot_held
from leaderboard_site import sql

CACHE_CONTROL = "public, no-cache"


def _accepts_gzip(request: HttpRequest) -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "")


def _not_modified(request: HttpRequest, snapshot: ServedSnapshot) -> bool:
    sent = request.headers.get("If-None-Match")
    if not sent:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in sent.split(",")}
    return "*" in tags or bool(tags & {snapshot.etag, snapshot.gzip_etag})


def snapshot_response(request: HttpRequest, snapshot: ServedSnapshot) -> HttpResponseBase:
    """The list as the client can take it: 304, the gzip bytes, or the JSON as a stream."""
    gzip = _accepts_gzip(request)
    asgi = isinstance(request, ASGIRequest)
    response: HttpResponseBase
    if _not_modified(request, snapshot):
        response = HttpResponse(status=304)
    elif gzip:  # the bytes as they are, in their two pieces (see ServedSnapshot)
        pieces = snapshot.aiter_gzip() if asgi else snapshot.iter_gzip()
        response = StreamingHttpResponse(pieces, content_type="application/json")
        response["Content-Encoding"] = "gzip"
        response["Content-Length"] = str(snapshot.gzip_size)
    else:
        chunks = snapshot.aiter_identity() if asgi else snapshot.iter_identity()
        response = StreamingHttpResponse(chunks, content_type="application/json")
        response["Content-Length"] = str(snapshot.size)
    response["ETag"] = snapshot.gzip_etag if gzip else snapshot.etag
    response["Cache-Control"] = CACHE_CONTROL
    patch_vary_headers(response, ("Accept-Encoding",))
    return response


async def serve_snapshot_async(request: HttpRequest, kind: str) -> HttpResponseBase:
    """The same for an ASGI server, in its event loop. Only a new version is fetched (or built)
    in a thread (it may build the snapshot): a plain executor one, not sync_to_async, which
    would give each request a context, so a cache client and a connection, of its own."""
    snapshot = snapshot_held(kind)
    if snapshot is None:
        fetch = sql.tidied(snapshot_get)
        snapshot = await asyncio.get_running_loop().run_in_executor(None, fetch, kind)
    return snapshot_response(request, snapshot)


class LeaderboardView(APIView):
    """GET /api/leaderboard: every entry as a row of the contents dataset."""

    kind = "raw"
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: RawLeaderboardSerializer, 304: OpenApiResponse(description="unchanged")},
        description="Every entry with the contents dataset's column names, wrapped as "
        "{models: [...]} (a bare array with LEADERBOARD_API=upstream). Send If-None-Match "
        "with the last ETag to get 304 when unchanged.",
    )
    def get(self, request: Request) -> HttpResponseBase:
        return snapshot_response(request._request, snapshot_get(self.kind))


class FormattedLeaderboardView(LeaderboardView):
    """GET /api/leaderboard/formatted: every entry in the formatted shape."""

    kind = "formatted"

    @extend_schema(
        responses={
            200: FormattedLeaderboardSerializer,
            304: OpenApiResponse(description="unchanged"),
        },
        description="Every entry in the formatted shape, wrapped as {models: [...]} (with "
        "LEADERBOARD_API=upstream: a bare array, and features.is_not_available_on_hub carries "
        "the upstream backend's value, true for models on the Hub). Send If-None-Match with "
        "the last ETag to get 304 when unchanged.",
    )
    def get(self, request: Request) -> HttpResponseBase:
        return snapshot_response(request._request, snapshot_get(self.kind))


class EntryViewSet(viewsets.GenericViewSet):
    """GET /api/v1/models/: the leaderboard, paginated and filtered, in the formatted shape."""

    queryset = Entry.objects.all()
    permission_classes = [AllowAny]
    filter_backends = [DjangoFilterBackend]
    filterset_class = EntryFilter

    @extend_schema(responses=FormattedModelSerializer(many=True))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset()).values_list(*FIELDS)
        page = self.paginate_queryset(queryset) or []
        return self.get_paginated_response([formatted_row(Row._make(v)) for v in page])
