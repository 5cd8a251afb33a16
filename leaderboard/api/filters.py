"""Query parameters of GET /api/v1/models/: the upstream frontend's controls."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

from leaderboard import selectors
from leaderboard.models import Entry, ModelType, Precision


class StrictBooleanField(forms.Field):
    """`true/false/1/0/yes/no`; anything else is an error, not silently ignored."""

    VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

    def to_python(self, value: str | None) -> bool | None:
        if value in (None, ""):
            return None
        try:
            return self.VALUES[str(value).lower()]
        except KeyError:
            raise forms.ValidationError(f"{value!r} is not a boolean (true or false).") from None


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


ORDERING_CHOICES = [(value, value) for name in selectors.ORDERINGS for value in (name, f"-{name}")]


class EntryFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="The upstream frontend's search: `;` separates alternatives; in one, every "
        "`@precision:`, `@architecture:`, `@license:`, `@type:` value must be a substring of "
        "that field (an unknown field matches nothing), and the rest matches the model name, "
        "as a regular expression (RE2 syntax) when it has regex characters and compiles, else "
        "as a substring; case-insensitive. A search taking over 1 s to match is a 400.",
    )
    precision = django_filters.MultipleChoiceFilter(choices=Precision.choices)
    type = django_filters.MultipleChoiceFilter(field_name="model_type", choices=ModelType.choices)
    params_min = django_filters.NumberFilter(field_name="params_billions", lookup_expr="gte")
    params_max = django_filters.NumberFilter(field_name="params_billions", lookup_expr="lte")
    params_below = django_filters.NumberFilter(
        field_name="params_billions",
        lookup_expr="lt",
        help_text="fewer parameters (billions) than this: the upstream frontend's size ranges "
        "include their lower bound and exclude their upper one",
    )
    hide_merged = StrictBooleanFilter(method="filter_hide", field_name="merged")
    hide_moe = StrictBooleanFilter(method="filter_hide", field_name="moe")
    hide_flagged = StrictBooleanFilter(method="filter_hide", field_name="flagged")
    hide_unavailable = StrictBooleanFilter(method="filter_hide_unavailable")
    official_only = StrictBooleanFilter(method="filter_official_only")
    ordering = django_filters.ChoiceFilter(
        choices=ORDERING_CHOICES, method="filter_ordering", empty_label=None
    )

    class Meta:
        model = Entry
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[Entry]) -> QuerySet[Entry]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("ordering"):
            queryset = selectors.entries_ordered(queryset, selectors.DEFAULT_ORDERING)
        return queryset

    def filter_search(self, queryset: QuerySet[Entry], name: str, value: str) -> QuerySet[Entry]:
        try:
            return selectors.entries_searched(queryset, value)
        except selectors.SearchError as exc:
            raise ValidationError({"search": [str(exc)]}) from exc

    def filter_hide(self, queryset: QuerySet[Entry], name: str, value: bool) -> QuerySet[Entry]:
        return queryset.filter(**{name: False}) if value else queryset

    def filter_hide_unavailable(
        self, queryset: QuerySet[Entry], name: str, value: bool
    ) -> QuerySet[Entry]:
        return queryset.filter(available_on_hub=True) if value else queryset

    def filter_official_only(
        self, queryset: QuerySet[Entry], name: str, value: bool
    ) -> QuerySet[Entry]:
        return queryset.filter(official_provider=True) if value else queryset

    def filter_ordering(self, queryset: QuerySet[Entry], name: str, value: str) -> QuerySet[Entry]:
        return selectors.entries_ordered(queryset, value)
