"""/v1/completions: ask a provider's model; your completions, and only yours."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from benchmarks import services
from benchmarks.api.serializers import CompletionRequestSerializer, CompletionSerializer
from benchmarks.models import Completion
from leaderboard_site.accounts.authentication import principal_of
from leaderboard_site.accounts.roles import Role
from leaderboard_site.api.context import current_request_id


class CompletionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):  # fmt: skip
    serializer_class = CompletionSerializer

    def get_queryset(self) -> QuerySet[Completion]:
        principal = principal_of(self.request)
        queryset = Completion.objects.order_by("-created_at")
        if principal is None or principal.role != Role.ADMIN:
            queryset = queryset.filter(owner=principal.user if principal else None)
        return queryset

    @extend_schema(
        request=CompletionRequestSerializer,
        responses={201: CompletionSerializer},
        description="Ask `model` of a configured provider. 400 for an unknown provider or "
        "model, 502 PROVIDER_ERROR when the provider fails after its retries.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = CompletionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        principal = principal_of(request)
        assert principal is not None
        completion = services.completion_create(
            owner=principal.user, request_id=current_request_id(), **body.validated_data
        )
        return Response(CompletionSerializer(completion).data, status=status.HTTP_201_CREATED)
