"""Request and response shapes of the submission endpoints."""

from __future__ import annotations

from rest_framework import serializers

from leaderboard.api.fields import model_type_field, precision_field
from leaderboard.models import WeightType
from leaderboard_site.hub.client import InvalidRepoId, check_repo_id


def hub_repo_id(value: str) -> None:
    """A serializer validator: the value is a model id the Hub could hold."""
    try:
        check_repo_id(value)
    except InvalidRepoId as exc:
        raise serializers.ValidationError(exc.message) from exc


def _blank_or_repo_id(value: str) -> None:
    if value:
        hub_repo_id(value)


class SubmitSerializer(serializers.Serializer):
    model_id = serializers.CharField(
        max_length=200, validators=[hub_repo_id], help_text="org/name on the Hugging Face Hub"
    )
    revision = serializers.RegexField(r"^[\w.\-/]{1,100}$", default="main")
    precision = precision_field()
    weight_type = serializers.ChoiceField(WeightType.values, default=WeightType.ORIGINAL)
    base_model = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", validators=[_blank_or_repo_id]
    )
    model_type = model_type_field()
    use_chat_template = serializers.BooleanField(default=False)
    user_id = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="your own username, if sent (as the Open LLM Leaderboard API has it)",
    )


class RequestItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    submitter = serializers.CharField()
    revision = serializers.CharField()
    precision = serializers.CharField()
    weight_type = serializers.CharField()
    model_type = serializers.CharField()
    use_chat_template = serializers.BooleanField()
    status = serializers.ChoiceField(["PENDING", "EVALUATING", "FINISHED", "FAILED", "CANCELLED"])
    score = serializers.IntegerField(help_text="up votes minus down votes")
    submission_time = serializers.DateTimeField()
    wait_time = serializers.CharField(help_text="time in the queue, e.g. '42.0s'")
    reason = serializers.CharField(help_text="why it failed or was cancelled")
    # (DRF's metaclass takes declared fields off the class: no clash with Serializer.partial.)
    partial = serializers.BooleanField(  # type: ignore[assignment]
        help_text="published without some leaderboard subtasks (EVAL_ALLOW_PARTIAL)"
    )
    missing_subtasks = serializers.ListField(
        child=serializers.CharField(), help_text="the lm-eval subtasks a partial run lacked"
    )


class SubmitResponseSerializer(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()
    request = RequestItemSerializer()


class StatusListsSerializer(serializers.Serializer):
    pending = RequestItemSerializer(many=True)
    evaluating = RequestItemSerializer(many=True)
    finished = RequestItemSerializer(many=True)
    failed = RequestItemSerializer(many=True)


class OrganizationQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=30, default=7)
