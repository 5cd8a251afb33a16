"""The Test Bench's web pages: parse, call the services and selectors the API uses, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def benchmarks_page(request: HttpRequest) -> HttpResponse:
    return render(request, "benchmarks/index.html", {"nav": "benchmarks"})
