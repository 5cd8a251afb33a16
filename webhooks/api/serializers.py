from __future__ import annotations

from typing import Any

from rest_framework import serializers

from webhooks.models import EVENTS, Attempt, Delivery, Endpoint


class EndpointSerializer(serializers.ModelSerializer[Endpoint]):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENTS))

    class Meta:
        model = Endpoint
        fields = ["id", "url", "events", "description", "enabled", "disabled_reason",
                  "disabled_at", "failing_since", "created_at"]  # fmt: skip
        read_only_fields = fields


class EndpointCreatedSerializer(EndpointSerializer):
    """The endpoint as created, with its signing secret: shown this once."""

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointCreateSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENTS), min_length=1, max_length=len(EVENTS)
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value), key=EVENTS.index)


class EndpointUpdateSerializer(EndpointCreateSerializer):
    enabled = serializers.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)


class AttemptSerializer(serializers.ModelSerializer[Attempt]):
    class Meta:
        model = Attempt
        fields = ["at", "status_code", "latency_ms", "response_excerpt", "error"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    attempts = AttemptSerializer(source="attempt_set", many=True, read_only=True)
    attempt_count = serializers.IntegerField(source="attempts", read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "event", "event_id", "payload", "status", "created_at",
                  "next_attempt_at", "last_status_code", "attempt_count", "attempts"]  # fmt: skip
        read_only_fields = fields
