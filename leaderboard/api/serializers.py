"""Response shapes of the leaderboard endpoints, for the OpenAPI schema.

The lists themselves are built by `leaderboard.formatting` and `leaderboard.contents` straight
from `values_list()` (a ModelSerializer is ~7x slower on the full list); these serializers
document the same shapes.
"""

from __future__ import annotations

from rest_framework import serializers


class EvaluationSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.FloatField(allow_null=True, help_text="raw score, 0..1")
    normalized_score = serializers.FloatField(allow_null=True, help_text="0..100")


class FormattedModelInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    sha = serializers.CharField()
    precision = serializers.CharField()
    type = serializers.CharField()
    weight_type = serializers.CharField()
    architecture = serializers.CharField()
    average_score = serializers.FloatField(allow_null=True)
    has_chat_template = serializers.BooleanField()


class EvaluationsSerializer(serializers.Serializer):
    ifeval = EvaluationSerializer()
    bbh = EvaluationSerializer()
    math = EvaluationSerializer()
    gpqa = EvaluationSerializer()
    musr = EvaluationSerializer()
    mmlu_pro = EvaluationSerializer()


class FeaturesSerializer(serializers.Serializer):
    is_not_available_on_hub = serializers.BooleanField()
    is_merged = serializers.BooleanField()
    is_moe = serializers.BooleanField()
    is_flagged = serializers.BooleanField()
    is_official_provider = serializers.BooleanField()


class MetadataSerializer(serializers.Serializer):
    upload_date = serializers.DateField(allow_null=True)
    submission_date = serializers.DateField(allow_null=True)
    generation = serializers.IntegerField()
    base_model = serializers.CharField()
    hub_license = serializers.CharField(allow_null=True)
    hub_hearts = serializers.IntegerField()
    params_billions = serializers.FloatField(allow_null=True)
    co2_cost = serializers.FloatField(allow_null=True)


class FormattedModelSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="<name>_<precision>_<sha>_<chat template>")
    model = FormattedModelInfoSerializer()
    evaluations = EvaluationsSerializer()
    features = FeaturesSerializer()
    metadata = MetadataSerializer()


class FormattedLeaderboardSerializer(serializers.Serializer):
    models = FormattedModelSerializer(many=True)


class RawLeaderboardSerializer(serializers.Serializer):
    models = serializers.ListField(
        child=serializers.DictField(),
        help_text="rows of the contents dataset, with its column names",
    )
