"""/v1/webhooks: your endpoints (admins: everybody's), their deliveries, and redelivery."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from leaderboard_site.accounts.authentication import principal_of
from leaderboard_site.api.errors import NotFound
from leaderboard_site.api.owned import OwnerScoped
from leaderboard_site.api.schema import errors, example
from webhooks import services
from webhooks.api.serializers import (
    DeliverySerializer,
    EndpointCreatedSerializer,
    EndpointCreateSerializer,
    EndpointSerializer,
    EndpointUpdateSerializer,
)
from webhooks.models import Delivery, Endpoint

UUID_PATTERN = r"[0-9a-fA-F-]{32,36}"
DELIVERY_ID = OpenApiParameter(
    "delivery_id", str, OpenApiParameter.PATH, pattern=f"^{UUID_PATTERN}$"
)


class WebhookViewSet(
    OwnerScoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook endpoints, seen and changed by their owner (admins: all); others' are 404."""

    model = Endpoint
    serializer_class = EndpointSerializer
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_object(self) -> Endpoint:
        try:
            return super().get_object()  # type: ignore[no-any-return]
        except DjangoValidationError as exc:
            raise NotFound("No such webhook.") from exc

    @extend_schema(
        request=EndpointCreateSerializer,
        responses={201: EndpointCreatedSerializer},
        examples=example({"url": "https://example.com/hooks", "events": ["benchmark.completed"]}),
        description="Register an endpoint for your events. The answer carries its `secret`, "
        "shown this once: deliveries are signed with it (`X-Webhook-Signature: t=...,v1=...`, "
        "HMAC-SHA256 of `t.body`). Only http(s) URLs whose host resolves to public addresses.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = EndpointCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        principal = principal_of(request)
        assert principal is not None
        endpoint = services.endpoint_create(owner=principal.user, **body.validated_data)
        return Response(EndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=EndpointUpdateSerializer,
        responses={200: EndpointSerializer},
        description="Change the URL, events, description, or enable a disabled endpoint "
        "(`enabled: true` clears its failure record).",
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        body = EndpointUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint=endpoint, **body.validated_data)
        return Response(EndpointSerializer(endpoint).data)

    def perform_destroy(self, instance: Endpoint) -> None:
        services.endpoint_delete(endpoint=instance)

    @extend_schema(
        responses={200: DeliverySerializer(many=True)},
        description="The endpoint's deliveries, newest first, each with every attempt "
        "(status code, latency, the answer's first 1,024 bytes, error).",
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        queryset = (
            Delivery.objects.filter(endpoint=endpoint)
            .order_by("-created_at")
            .prefetch_related("attempt_set")
        )
        page = self.paginate_queryset(queryset)
        data = DeliverySerializer(page, many=True).data
        return self.get_paginated_response(data)

    @extend_schema(
        request=None,
        responses={202: DeliverySerializer, **errors(409)},
        parameters=[DELIVERY_ID],
        description="Send a delivery's event again (same event id and payload) as a new "
        "delivery; 409 when the endpoint is disabled.",
    )
    @action(detail=True, methods=["post"],
            url_path=rf"deliveries/(?P<delivery_id>{UUID_PATTERN})/redeliver")  # fmt: skip
    def redeliver(self, request: Request, pk: str, delivery_id: str) -> Response:
        endpoint = self.get_object()
        try:
            delivery = Delivery.objects.get(endpoint=endpoint, pk=delivery_id)
        except (Delivery.DoesNotExist, DjangoValidationError) as exc:
            raise NotFound("No such delivery of this webhook.") from exc
        again = services.delivery_redeliver(delivery=delivery)
        return Response(DeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)
