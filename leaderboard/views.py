"""The leaderboard's web pages: parse, call the selectors the API uses, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def leaderboard_page(request: HttpRequest) -> HttpResponse:
    return render(request, "leaderboard/index.html", {"nav": "leaderboard"})


def model_page(request: HttpRequest, org: str, name: str) -> HttpResponse:
    return render(request, "leaderboard/model.html", {"model_name": f"{org}/{name}"})


def compare_page(request: HttpRequest) -> HttpResponse:
    return render(request, "leaderboard/compare.html", {"nav": "compare"})
