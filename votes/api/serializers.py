"""Request and response shapes of the vote endpoints."""

from __future__ import annotations

from rest_framework import serializers

from leaderboard.models import Precision
from votes.models import VoteType

SHA = r"^[0-9a-f]{7,64}$"


class VoteTargetSerializer(serializers.Serializer):
    revision = serializers.RegexField(SHA, required=False, help_text="default: the model's sha")
    precision = serializers.ChoiceField(Precision.values, required=False)
    user_id = serializers.CharField(
        required=False, allow_blank=True, help_text="your own username, if sent (seed 000)"
    )


class VoteSerializer(VoteTargetSerializer):
    vote_type = serializers.ChoiceField(VoteType.values)


class CountsSerializer(serializers.Serializer):
    total_votes = serializers.IntegerField()
    up_votes = serializers.IntegerField()
    down_votes = serializers.IntegerField()
    score = serializers.IntegerField(help_text="up votes minus down votes")
    votes_by_revision = serializers.DictField(child=serializers.DictField())
    votes_by_config = serializers.DictField(
        child=serializers.DictField(), help_text='keyed by "<revision>:<precision>"'
    )


class CastVoteSerializer(serializers.Serializer):
    model_id = serializers.CharField()
    vote_type = serializers.CharField()
    revision = serializers.CharField()
    precision = serializers.CharField()


class VoteResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    vote = CastVoteSerializer()
    counts = CountsSerializer()


class UserVoteSerializer(serializers.Serializer):
    model_id = serializers.CharField()
    vote_type = serializers.CharField()
    revision = serializers.CharField()
    precision = serializers.CharField()
    timestamp = serializers.DateTimeField()
