"""The submission form of the web pages: upstream's fields, parsed as the API's serializer does."""

from __future__ import annotations

from typing import Any

from django import forms

from leaderboard.models import ModelType, Precision, WeightType
from leaderboard_site.hub.client import InvalidRepoId, check_repo_id
from submissions.checks import Submission


def _repo_id(value: str) -> None:
    try:
        check_repo_id(value)
    except InvalidRepoId as exc:
        raise forms.ValidationError(exc.message) from exc


class SubmitForm(forms.Form):
    model_id = forms.CharField(
        label="Model", max_length=200, validators=[_repo_id],
        help_text="As on the Hugging Face Hub: organization/name.",
    )  # fmt: skip
    revision = forms.RegexField(
        r"^[\w.\-/]{1,100}$", max_length=100, initial="main", required=False,
        help_text="A branch, tag or commit; the commit it points to now is evaluated.",
        error_messages={"invalid": "A revision is a branch, tag or commit: letters, digits, "
                        "and . - _ / only."},
    )  # fmt: skip
    # The API's names (8bit, not "Int8"): what the leaderboard and its files say.
    precision = forms.ChoiceField(
        choices=[(value, value) for value in Precision.values], initial=Precision.BFLOAT16
    )
    weight_type = forms.ChoiceField(
        label="Weight type", choices=WeightType.choices, initial=WeightType.ORIGINAL,
        help_text="Delta and adapter weights are applied to the base model below.",
    )  # fmt: skip
    base_model = forms.CharField(
        label="Base model", max_length=200, required=False,
        help_text="For delta and adapter weights: the model they apply to (organization/name).",
    )  # fmt: skip
    model_type = forms.ChoiceField(label="Model type", choices=ModelType.choices)
    use_chat_template = forms.BooleanField(
        label="Use chat template", required=False,
        help_text="Evaluate with the tokenizer's chat template (for chat models).",
    )  # fmt: skip

    def clean_base_model(self) -> str:
        value: str = self.cleaned_data.get("base_model", "").strip()
        if value:
            _repo_id(value)
        return value

    def submission(self) -> Submission:
        data = self.cleaned_data
        return Submission(
            model_id=data["model_id"].strip(),
            revision=data.get("revision") or "main",
            precision=data["precision"],
            weight_type=data["weight_type"],
            model_type=data["model_type"],
            base_model=data["base_model"],
            use_chat_template=data["use_chat_template"],
        )

    def add_refusal(self, reason: str, message: str, details: dict[str, Any]) -> None:
        """A check's refusal, in words, next to the field it concerns."""
        field, text = refusal_text(reason, message, details, self.cleaned_data)
        self.add_error(field, text)


# Where each check's refusal belongs on the form (None: the form as a whole).
REFUSAL_FIELDS: dict[str, str | None] = {
    "model_not_found": "model_id", "private": "model_id", "gated": "model_id",
    "config": "model_id", "remote_code": "model_id", "model_card": "model_id",
    "license": "model_id", "params_unknown": "model_id", "too_large": "precision",
    "base_model": "base_model", "chat_template": "use_chat_template",
    "duplicate": "model_id", "official_provider": "model_id",
}  # fmt: skip


def refusal_text(
    reason: str, message: str, details: dict[str, Any], data: dict[str, Any]
) -> tuple[str | None, str]:
    """The field a refusal concerns and what to tell the person; the API's own message where it
    already says what to do."""
    model, revision = data.get("model_id", ""), data.get("revision") or "main"
    texts = {
        "model_not_found": f"{model} was not found on the Hugging Face Hub at revision "
        f"“{revision}”. Check the name and the revision, and that the model is public.",
        "private": f"{model} is private. Only public models can be evaluated: make it public "
        "on the Hub, then submit it again.",
        "gated": f"{model} is gated, and the leaderboard may not download it. Grant access to "
        "gated models automatically, or remove the gate.",
        "remote_code": f"{model} needs its own code to load (trust_remote_code). Only models "
        "that a released version of transformers can load are evaluated.",
        "license": "The model card does not say under which licence the model is released. "
        "Add a line “license: …” to the YAML header of its README.md.",
        "params_unknown": "The number of parameters of this model is unknown: publish its "
        "weights as safetensors, so that the Hub can count them.",
        "too_large": f"The model has {details.get('params_billions')} billion parameters; "
        f"in this precision the limit is {details.get('limit_billions')} billion. "
        "Choose a lower precision, or a smaller model.",
        "base_model": f"The base model {data.get('base_model')} was not found on the Hub."
        if data.get("base_model")
        else "Delta and adapter weights need the base model they apply to: name it here.",
        "chat_template": "The model's tokenizer has no chat template: untick this box, or add "
        "a chat_template to its tokenizer_config.json.",
        "duplicate": f"This model, at this revision and precision, is already "
        f"{str(details.get('current_status', 'queued')).lower()}: it is not queued twice.",
        "quota": f"You have used your {details.get('limit')} submissions for now: a new one is "
        "possible when the oldest leaves the window (see below).",
        "hub_unavailable": "The Hugging Face Hub did not answer in time. Nothing was queued: "
        "try again in a minute.",
    }
    return REFUSAL_FIELDS.get(reason), texts.get(reason, message)
