"""The Test Bench's forms on the web pages: start a run (its targets as a formset), upload a
dataset version. They parse what BenchmarkCreateSerializer and DatasetUploadSerializer parse."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from benchmarks.selectors import RUN_METRICS

MAX_TARGETS = 10


class TargetForm(forms.Form):
    """A provider and its model; a row without a model is left out (a provider is always
    chosen, so a blank row added by the page still counts as changed)."""

    provider = forms.ChoiceField(choices=[])
    model = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, providers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["provider"]).choices = [(n, n) for n in providers]

    def target(self) -> dict[str, str] | None:
        model = (self.cleaned_data.get("model") or "").strip()
        return {"provider": self.cleaned_data["provider"], "model": model} if model else None


class BaseTargetFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        if not any(self.errors) and not self.targets():
            raise forms.ValidationError("Name at least one target: a provider and its model.")

    def targets(self) -> list[dict[str, str]]:
        found = (form.target() for form in self.forms if form.cleaned_data)
        return [target for target in found if target is not None]


TargetFormSet = forms.formset_factory(
    TargetForm, formset=BaseTargetFormSet, extra=0, min_num=1, max_num=MAX_TARGETS,
    validate_max=True,
)  # fmt: skip


class BenchmarkForm(forms.Form):
    name = forms.CharField(max_length=200)
    dataset = forms.ChoiceField(choices=[])
    dataset_version = forms.IntegerField(
        label="Dataset version", min_value=1, required=False, help_text="Empty: the latest."
    )
    metrics = forms.MultipleChoiceField(
        choices=[], required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Accuracy, latency, tokens, cost, throughput and errors are always reported; "
        "an evaluator plugin scores every answer.",
    )  # fmt: skip
    iterations = forms.IntegerField(
        min_value=1, max_value=100_000, required=False,
        help_text="Items each target answers, cycling through the dataset; empty: each once.",
    )  # fmt: skip
    concurrency = forms.IntegerField(
        min_value=1, max_value=64, initial=4, help_text="Calls in flight at a time."
    )
    max_tokens = forms.IntegerField(label="Max tokens", min_value=1, max_value=100_000,
                                    initial=256)  # fmt: skip
    temperature = forms.FloatField(min_value=0.0, max_value=2.0, initial=0.0)

    def __init__(self, *args: Any, datasets: list[str], plugins: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["dataset"]).choices = [(n, n) for n in datasets]
        metrics = cast(forms.MultipleChoiceField, self.fields["metrics"])
        metrics.choices = [(name, name) for name in (*RUN_METRICS, *plugins)]
        self.fields["metrics"].initial = ["accuracy", "latency", "cost"]


class DatasetForm(forms.Form):
    name = forms.SlugField(
        max_length=100, help_text="A new name, or one of yours for a new version."
    )
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(
        attrs={"rows": 2}))  # fmt: skip
    file = forms.FileField(help_text="JSONL, JSON or CSV: a prompt and an expected answer a row.")
    schema = forms.ChoiceField(
        choices=[("items", "items (prompt, expected…)"),
                 ("mmlu", "mmlu (question, choices, answer)")],
        initial="items",
    )  # fmt: skip
