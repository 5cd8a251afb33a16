"""Request and response shapes of /v1/completions (seed 002, plus latency_ms and cost)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from benchmarks.models import Completion


class CompletionRequestSerializer(serializers.Serializer):
    provider = serializers.SlugField(max_length=50)
    model = serializers.CharField(max_length=200)
    prompt = serializers.CharField(max_length=200_000)
    system = serializers.CharField(max_length=50_000, required=False, allow_blank=True, default="")
    max_tokens = serializers.IntegerField(min_value=1, max_value=100_000, default=256)
    temperature = serializers.FloatField(min_value=0.0, max_value=2.0, default=0.0)


class UsageSerializer(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class CompletionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(read_only=True)
    usage = serializers.SerializerMethodField()
    cost = serializers.DecimalField(
        max_digits=14, decimal_places=8, coerce_to_string=False, allow_null=True,
        help_text="USD from the pricing table; null when the model has no price",
    )  # fmt: skip

    class Meta:
        model = Completion
        fields = ["id", "text", "model", "provider", "usage", "request_id", "created_at",
                  "latency_ms", "cost"]  # fmt: skip

    def get_usage(self, obj: Completion) -> dict[str, Any]:
        return {
            "prompt_tokens": obj.prompt_tokens,
            "completion_tokens": obj.completion_tokens,
            "total_tokens": obj.prompt_tokens + obj.completion_tokens,
        }
