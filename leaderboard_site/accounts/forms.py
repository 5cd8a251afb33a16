"""The sign-in and API-key forms of the web pages."""

from __future__ import annotations

from typing import Any

from django import forms

from leaderboard_site.accounts.roles import Role


class SignInForm(forms.Form):
    """A username and password, or a Hugging Face token instead."""

    username = forms.CharField(max_length=150, required=False)
    password = forms.CharField(max_length=256, required=False, widget=forms.PasswordInput)
    hub_token = forms.CharField(
        label="Hugging Face token", max_length=256, required=False, widget=forms.PasswordInput
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("hub_token"):
            return data
        if not data.get("username") or not data.get("password"):
            raise forms.ValidationError(
                "Enter your username and password, or a Hugging Face token."
            )
        return data


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    role = forms.ChoiceField(choices=[("", "Same as mine"), *Role.choices], required=False)
    expires_in_days = forms.IntegerField(
        label="Expires in (days)", min_value=1, max_value=3650, required=False
    )
