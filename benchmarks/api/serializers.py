"""Request and response shapes of the Test Bench API's /v1/completions, /v1/evaluations and
/v1/plugins."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from benchmarks.models import (
    Benchmark,
    BenchmarkItem,
    Completion,
    Dataset,
    DatasetItem,
    Evaluation,
)


class CompletionRequestSerializer(serializers.Serializer):
    provider = serializers.SlugField(max_length=50)
    model = serializers.CharField(max_length=200)
    prompt = serializers.CharField(max_length=200_000)
    system = serializers.CharField(max_length=50_000, required=False, allow_blank=True, default="")
    max_tokens = serializers.IntegerField(min_value=1, max_value=100_000, default=256)
    temperature = serializers.FloatField(min_value=0.0, max_value=2.0, default=0.0)
    stream = serializers.BooleanField(
        default=False,
        help_text="answer as server-sent events: `delta` pieces, then the stored `completion`",
    )


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
            "total_tokens": obj.total_tokens,
        }


class EvaluationRequestSerializer(serializers.Serializer):
    provider = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    model = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    input = serializers.CharField(max_length=200_000, required=False, allow_blank=True, default="")
    output = serializers.CharField(max_length=200_000, allow_blank=True)
    expected = serializers.CharField(max_length=200_000, required=False, allow_null=True,
                                     allow_blank=True, default=None)  # fmt: skip
    # DRF takes declared fields off the class, so this does not shadow Serializer.context.
    context = serializers.CharField(  # type: ignore[assignment]
        max_length=200_000, required=False, allow_blank=True, default=""
    )
    latency_ms = serializers.FloatField(min_value=0, required=False, allow_null=True, default=None)
    parameters = serializers.DictField(required=False, default=dict)
    metrics = serializers.ListField(
        child=serializers.CharField(max_length=100), min_length=1, max_length=50
    )


class EvaluationResultSerializer(serializers.ModelSerializer):
    evaluation_id = serializers.UUIDField(source="id", read_only=True)

    class Meta:
        model = Evaluation
        fields = ["evaluation_id", "score", "metrics", "details", "provider", "model",
                  "created_at"]  # fmt: skip


class PluginSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    version = serializers.CharField()
    plugin_type = serializers.CharField(default="evaluator")
    status = serializers.ChoiceField(["ready", "error"])
    description = serializers.CharField()


class PluginExecuteSerializer(serializers.Serializer):
    input = serializers.DictField(
        help_text="{output (or text), expected?, input?, context?, latency_ms?, parameters?}"
    )


class PluginResultSerializer(serializers.Serializer):
    output = serializers.DictField()
    execution_time_ms = serializers.FloatField()
    request_id = serializers.CharField()


class DatasetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = ["name", "version", "description", "source", "item_count", "created_at"]


class DatasetItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = DatasetItem
        fields = ["index", "prompt", "variables", "expected", "choices", "references"]


class DatasetUploadSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=100)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                        default="")  # fmt: skip
    format = serializers.ChoiceField(["jsonl", "json", "csv"], required=False)
    schema = serializers.ChoiceField(["items", "mmlu"], default="items")
    file = serializers.FileField(required=False, help_text="multipart upload")
    content = serializers.CharField(required=False, help_text="the file's text, in JSON bodies")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("file" in attrs) == ("content" in attrs):
            raise serializers.ValidationError({"file": "send a file or content (one of them)"})
        if "format" not in attrs and "file" not in attrs:
            raise serializers.ValidationError({"format": "needed with content"})
        return attrs


class TargetSerializer(serializers.Serializer):
    provider = serializers.SlugField(max_length=50)
    model = serializers.CharField(max_length=200)


class BenchmarkCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    providers = serializers.ListField(child=TargetSerializer(), min_length=1, max_length=10)
    dataset = serializers.SlugField(max_length=100)
    dataset_version = serializers.IntegerField(min_value=1, required=False, default=None,
                                               help_text="default: the latest")  # fmt: skip
    metrics = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=30,
        default=["accuracy", "latency", "cost"],
        help_text="accuracy, latency, cost, tokens, throughput and errors are always reported; "
        "any evaluator plugin (f1, rouge_l, faithfulness...) is scored on every answer",
    )  # fmt: skip
    iterations = serializers.IntegerField(
        min_value=1, max_value=100_000, required=False, default=None,
        help_text="items each target answers (the dataset's items in order, cycling through "
        "them when there are fewer); default: each item once",
    )  # fmt: skip
    concurrency = serializers.IntegerField(min_value=1, max_value=64, default=4)
    max_tokens = serializers.IntegerField(min_value=1, max_value=100_000, default=256)
    temperature = serializers.FloatField(min_value=0.0, max_value=2.0, default=0.0)
    system = serializers.CharField(max_length=50_000, required=False, allow_blank=True, default="")


class BenchmarkSerializer(serializers.ModelSerializer):
    benchmark_id = serializers.UUIDField(source="id", read_only=True)
    providers = serializers.JSONField(source="targets")
    dataset = serializers.SerializerMethodField()
    items_done = serializers.IntegerField(source="done")
    items_total = serializers.IntegerField(source="total")
    results = serializers.JSONField(
        help_text="per target, once the run has ended: accuracy, latency_ms {mean, p50, p95, "
        "p99}, tokens {input, output}, tokens_per_second, cost (null without a price), errors, "
        "metrics {plugin: mean}"
    )

    class Meta:
        model = Benchmark
        fields = ["benchmark_id", "name", "status", "progress", "results", "providers", "dataset",
                  "metrics", "iterations", "concurrency", "items_done", "items_total", "error",
                  "created_at", "started_at", "finished_at"]  # fmt: skip

    def get_dataset(self, obj: Benchmark) -> dict[str, Any]:
        return {"name": obj.dataset.name, "version": obj.dataset.version}


class BenchmarkItemSerializer(serializers.ModelSerializer):
    provider = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()
    item_index = serializers.IntegerField(source="item.index")
    prompt = serializers.CharField(source="item.rendered_prompt")
    expected = serializers.CharField(source="item.expected", allow_null=True)
    cost = serializers.DecimalField(max_digits=14, decimal_places=8, coerce_to_string=False,
                                    allow_null=True)  # fmt: skip

    class Meta:
        model = BenchmarkItem
        fields = ["position", "target", "provider", "model", "item_index", "prompt", "expected",
                  "output", "correct", "scores", "latency_ms", "prompt_tokens",
                  "completion_tokens", "cost", "error"]  # fmt: skip

    def get_provider(self, obj: BenchmarkItem) -> str:
        return str(obj.benchmark.targets[obj.target]["provider"])

    def get_model(self, obj: BenchmarkItem) -> str:
        return str(obj.benchmark.targets[obj.target]["model"])


class BenchmarkCompareSerializer(serializers.Serializer):
    a = serializers.UUIDField()
    b = serializers.UUIDField()
    targets = serializers.ListField(child=serializers.DictField())
    same_dataset = serializers.BooleanField()
    changed_items = serializers.ListField(child=serializers.DictField())
    changed_count = serializers.IntegerField()


class ModelPriceSerializer(serializers.Serializer):
    model = serializers.CharField()
    input_per_million = serializers.FloatField(help_text="USD per million input tokens")
    output_per_million = serializers.FloatField(help_text="USD per million output tokens")


class ReachabilitySerializer(serializers.Serializer):
    status = serializers.ChoiceField(["ok", "error", "unknown"])
    at = serializers.DateTimeField(allow_null=True, help_text="when it was last seen")
    latency_ms = serializers.FloatField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    via = serializers.ChoiceField(
        ["call", "probe"], allow_null=True, help_text="a call's outcome, or the probe's"
    )


class ProviderSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(["openai", "anthropic", "huggingface"])
    configured_in = serializers.ChoiceField(["admin", "environment"])
    base_url_host = serializers.CharField(
        allow_null=True, help_text="the host (and port) only; null: local"
    )
    has_api_key = serializers.BooleanField(help_text="whether a key is set (never the key)")
    max_concurrency = serializers.IntegerField()
    timeout_seconds = serializers.FloatField()
    max_retries = serializers.IntegerField()
    models = ModelPriceSerializer(many=True, help_text="the models with a price")
    reachability = ReachabilitySerializer()


class ProviderModelSerializer(serializers.Serializer):
    model = serializers.CharField()
    input_per_million = serializers.FloatField(allow_null=True)
    output_per_million = serializers.FloatField(allow_null=True)
    priced = serializers.BooleanField(help_text="in the price table")
    listed = serializers.BooleanField(help_text="in the provider's own model list")


class ProviderModelsSerializer(serializers.Serializer):
    provider = serializers.CharField()
    listed = serializers.BooleanField(help_text="whether the provider's own list is included")
    listed_at = serializers.DateTimeField(allow_null=True)
    reachable = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    models = ProviderModelSerializer(many=True)


class UsageKeySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField()


class UsageFiguresSerializer(serializers.Serializer):
    calls = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(
        max_digits=20, decimal_places=8, coerce_to_string=False,
        help_text="USD of the priced calls",
    )  # fmt: skip
    unpriced_calls = serializers.IntegerField(
        help_text="calls of models without a price: counted in tokens only, not in `cost`"
    )
    cost_complete = serializers.BooleanField(help_text="false when there are unpriced calls")


class UsageGroupSerializer(UsageFiguresSerializer):
    group = serializers.CharField(
        allow_null=True,
        help_text="the day (YYYY-MM-DD), the provider, provider/model, or the API key's id "
        "(null: calls made with a session's token)",
    )
    provider = serializers.CharField(allow_null=True, help_text="group_by=provider or model")
    model = serializers.CharField(allow_null=True, help_text="group_by=model")
    key = UsageKeySerializer(allow_null=True, help_text="group_by=key (null: no key)")


class UsageReportSerializer(serializers.Serializer):
    from_ = serializers.DateTimeField()
    to = serializers.DateTimeField(help_text="exclusive")
    group_by = serializers.ChoiceField(["day", "provider", "model", "key"])
    user = serializers.IntegerField(allow_null=True, help_text="null: everybody's (admins)")
    groups = UsageGroupSerializer(many=True)
    total = UsageFiguresSerializer()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        return {"from": fields.pop("from_"), **fields}  # `from`: a keyword in Python
