"""The evaluation queue's web pages: parse, call the services and selectors the API uses, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def queue_page(request: HttpRequest) -> HttpResponse:
    return render(request, "submissions/queue.html", {"nav": "queue"})


@login_required
def submit_page(request: HttpRequest) -> HttpResponse:
    return render(request, "submissions/submit.html", {"nav": "submit"})
