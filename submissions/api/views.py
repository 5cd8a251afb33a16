"""/api/models: submit a model, and the queue's status lists."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leaderboard_site.accounts.permissions import acting_user
from leaderboard_site.api.schema import errors, hub_repo_parameters
from leaderboard_site.hub.client import check_repo_id
from submissions import selectors, services
from submissions.api.serializers import (
    OrganizationQuerySerializer,
    RequestItemSerializer,
    StatusListsSerializer,
    SubmitResponseSerializer,
    SubmitSerializer,
)
from submissions.checks import Submission


def _json(request: Request, body: selectors.Body) -> HttpResponse:
    """The prepared body, gzipped for clients that take it (the middleware leaves it be)."""
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(body.gzip, content_type="application/json")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(body.identity, content_type="application/json")
    patch_vary_headers(response, ("Accept-Encoding",))
    response["Cache-Control"] = "no-cache"
    return response


class SubmitView(APIView):
    """POST /api/models/submit: check a model on the Hub and queue it for evaluation."""

    @extend_schema(
        request=SubmitSerializer,
        responses={201: SubmitResponseSerializer, **errors(404, 409, 502)},
        description="The checks run in a fixed order; a refusal is a 4xx whose "
        "`error.details.reason` names the check: model_not_found, private, gated, config, "
        "remote_code, model_card, license, params_unknown, too_large, base_model, "
        "chat_template, duplicate (409), official_provider (409), quota (429). "
        "503 (hub_unavailable) when the Hub does not answer in time.",
    )
    def post(self, request: Request) -> Response:
        serializer = SubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = acting_user(request, data.get("user_id"))
        submission = Submission(
            model_id=data["model_id"],
            revision=data["revision"],
            precision=data["precision"],
            weight_type=data["weight_type"],
            model_type=data["model_type"],
            base_model=data["base_model"],
            use_chat_template=data["use_chat_template"],
        )
        queued = services.request_submit(user=user, submission=submission)
        body = {
            "status": "success",
            "message": f"{queued.model_name} was added to the evaluation queue.",
            "request": selectors.request_detail(queued.pk),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class StatusView(APIView):
    """GET /api/models/status: every request, grouped by status."""

    permission_classes = [AllowAny]

    @extend_schema(responses=StatusListsSerializer)
    def get(self, request: Request) -> HttpResponse:
        return _json(request, selectors.status_body())


class PendingView(APIView):
    """GET /api/models/pending: the queue in the order it is evaluated."""

    permission_classes = [AllowAny]

    @extend_schema(responses=RequestItemSerializer(many=True))
    def get(self, request: Request) -> HttpResponse:
        return _json(request, selectors.pending_body())


class ModelStatusView(APIView):
    """GET /api/models/{org}/{name}/status: every request of one model, newest first."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=hub_repo_parameters("org", "name"), responses=RequestItemSerializer(many=True)
    )
    def get(self, request: Request, org: str, name: str) -> Response:
        return Response(selectors.model_requests(check_repo_id(f"{org}/{name}")))


class OrganizationSubmissionsView(APIView):
    """GET /api/models/organization/{org}/submissions?days=7: an organization's recent requests."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OrganizationQuerySerializer, *hub_repo_parameters("org")],
        responses=RequestItemSerializer(many=True),
    )
    def get(self, request: Request, org: str) -> Response:
        query = OrganizationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.organization_requests(org, days=query.validated_data["days"]))


class CancelView(APIView):
    """POST /api/models/requests/{id}/cancel: the submitter withdraws a pending request."""

    @extend_schema(
        request=None,
        responses={200: RequestItemSerializer, **errors(409)},
        description="Cancel your own request (admins: anyone's) while it is pending: it becomes "
        "CANCELLED, announced and mirrored like every status change. 403 for somebody else's, "
        "409 once its evaluation started or it ended. A cancelled request may be resubmitted.",
    )
    def post(self, request: Request, request_id: int) -> Response:
        user = acting_user(request, None)
        cancelled = services.request_withdraw(request_id=request_id, user=user)
        return Response(selectors.request_detail(cancelled.pk))
