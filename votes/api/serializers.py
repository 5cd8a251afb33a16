"""Request and response shapes of the vote endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from leaderboard.api.fields import precision_field
from votes.models import VoteType

SHA = r"^[0-9a-f]{7,64}$"


class VoteTargetSerializer(serializers.Serializer):
    revision = serializers.RegexField(SHA, required=False, help_text="default: the model's sha")
    precision = precision_field(required=False)
    user_id = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="your own username, if sent (as the Open LLM Leaderboard API has it)",
    )


class VoteSerializer(VoteTargetSerializer):
    vote_type = serializers.ChoiceField(VoteType.values)


INPUTS = ("vote_type", "user_id", "revision", "precision")


def vote_inputs(query: Any, body: Any) -> dict[str, Any]:
    """A vote's inputs from the query string and the JSON body together (the upstream frontend
    sends them in the query string, with a JSON content type and no body). A field given in
    both must say the same thing in both: else a 400 naming it."""
    if hasattr(body, "dict"):  # no body: DRF's empty QueryDict
        data = body.dict()
    elif isinstance(body, dict):
        data = dict(body)
    else:
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    conflicts: dict[str, list[str]] = {}
    for name in INPUTS:
        sent = [value for value in query.getlist(name) if value != ""]
        if len(set(sent)) > 1:
            conflicts[name] = [f"{name} is given {len(set(sent))} different values."]
            continue
        if not sent:
            continue
        if data.get(name) not in (None, "", sent[0]):
            conflicts[name] = [f"{name} differs between the query string and the body."]
            continue
        data[name] = sent[0]
    if conflicts:
        raise serializers.ValidationError(conflicts)
    return data


class CountsSerializer(serializers.Serializer):
    total_votes = serializers.IntegerField()
    up_votes = serializers.IntegerField()
    down_votes = serializers.IntegerField()
    score = serializers.IntegerField(help_text="up votes minus down votes")
    votes_by_revision = serializers.DictField(
        child=serializers.DictField(),
        help_text="{sha: {up, down}}; with LEADERBOARD_API=upstream, {sha: number of votes}",
    )
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
    model_id = serializers.CharField(help_text="`model` with LEADERBOARD_API=upstream")
    vote_type = serializers.CharField()
    revision = serializers.CharField()
    precision = serializers.CharField()
    timestamp = serializers.DateTimeField()


def upstream_counts(counts: dict[str, Any]) -> dict[str, Any]:
    """A model's counts as the upstream backend gave them to its frontend (which sums them):
    `votes_by_revision` is {sha: number of votes}."""
    by_revision = {sha: c["up"] + c["down"] for sha, c in counts["votes_by_revision"].items()}
    return {**counts, "votes_by_revision": by_revision}


def upstream_user_votes(votes: list[dict[str, Any]], username: str) -> list[dict[str, Any]]:
    """A person's votes as the upstream backend listed them: `model`, not `model_id` (its
    frontend marks the models voted on by it)."""
    return [
        {"model": vote["model_id"], **{k: v for k, v in vote.items() if k != "model_id"},
         "username": username}
        for vote in votes
    ]  # fmt: skip
