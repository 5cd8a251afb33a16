"""Input fields for a model's type and precision, in every spelling the leaderboard's clients
send: our slugs, the upstream labels (with or without their emoji), the upstream frontend's
words, and the Open LLM Leaderboard API's own precision examples. Case and runs of spaces do
not matter; anything else is refused with the list of what is accepted."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from leaderboard.models import ModelType, Precision


def _key(text: str) -> str:
    return " ".join(text.split()).lower()


def _model_type_spellings() -> dict[str, str]:
    spellings: dict[str, str] = {}
    for choice in ModelType:
        label = str(choice.label)
        words = label.split(" ", 1)[1]  # the label without its emoji
        for spelling in (choice.value, label, words, choice.value.replace("-", " ")):
            spellings[spelling] = choice.value
        # what the upstream backend's formatted list said (the label without emoji or spaces)
        spellings[words.split("(")[0].replace(" ", "")] = choice.value
    spellings.update(
        {
            # the upstream frontend's submission form
            "continuously pretrained": ModelType.CONTINUOUSLY_PRETRAINED,
            "fine-tuned": ModelType.FINE_TUNED,
            "chat": ModelType.CHAT,
            "merge": ModelType.MERGE,
            "unknown": ModelType.OTHER,
            "❓other": ModelType.OTHER,  # the upstream backend's formatted list
            # the words of the labels
            "fine tuned": ModelType.FINE_TUNED,
            "chat models": ModelType.CHAT,
            "base merges": ModelType.MERGE,
            # the Open LLM Leaderboard API's example
            "fined-tuned-on-domain-specific-dataset": ModelType.FINE_TUNED,
        }
    )
    return {spelling: str(value) for spelling, value in spellings.items()}


MODEL_TYPE_SPELLINGS = _model_type_spellings()
PRECISION_SPELLINGS = {
    **{value: value for value in Precision.values},
    "fp16": Precision.FLOAT16.value,
    "bf16": Precision.BFLOAT16.value,
    "int8": Precision.INT8.value,
    "int4": Precision.INT4.value,
}


class SpellingsField(serializers.ChoiceField):
    """A choice given in any of its spellings (the schema lists them all); the canonical value
    comes out."""

    default_error_messages = {"invalid_choice": "{input!r} is not accepted: {accepted}."}

    def __init__(self, spellings: dict[str, str], *, accepted: str, **kwargs: Any):
        self.canonical = {_key(spelling): value for spelling, value in spellings.items()}
        self.accepted = accepted
        super().__init__(list(spellings), **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = self.canonical.get(_key(data)) if isinstance(data, str) else None
        if value is None:
            self.fail("invalid_choice", input=data, accepted=self.accepted)
        return value

    def to_representation(self, value: Any) -> Any:
        return value


def model_type_field(**kwargs: Any) -> SpellingsField:
    slugs = ", ".join(ModelType.values)
    labels = ", ".join(repr(str(label)) for label in ModelType.labels)
    return SpellingsField(
        MODEL_TYPE_SPELLINGS,
        accepted=f"expected one of {slugs}, or a label ({labels}), with or without its emoji, "
        "or its words ('continuously pretrained', 'fine-tuned', 'chat', 'merge', ...)",
        help_text=f"A slug ({slugs}), an upstream label with or without its emoji, or the "
        "upstream frontend's words.",
        **kwargs,
    )


def precision_field(**kwargs: Any) -> SpellingsField:
    values = ", ".join(Precision.values)
    return SpellingsField(
        PRECISION_SPELLINGS,
        accepted=f"expected one of {values} (or fp16, bf16, int8, int4)",
        help_text=f"{values}; fp16, bf16, int8 and int4 mean float16, bfloat16, 8bit and 4bit.",
        **kwargs,
    )
