"""The evaluation queue's web pages: parse, call the services and selectors the API uses, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from leaderboard_site.accounts.models import User
from leaderboard_site.accounts.services import QuotaExceeded
from leaderboard_site.api.errors import ApiError
from submissions import selectors, services
from submissions.forms import SubmitForm
from votes import selectors as votes_selectors

ENDED_SHOWN = 50  # the newest finished and failed requests the page lists


def _queue_context(request: HttpRequest) -> dict[str, Any]:
    lists = selectors.status_lists()
    mine: dict[str, str] = {}
    if request.user.is_authenticated:
        for vote in votes_selectors.user_votes(request.user.get_username()):
            mine[f"{vote['model_id']}|{vote['revision']}|{vote['precision']}"] = vote["vote_type"]
    pending = [{**item, "my_vote": mine.get(_target_key(item))} for item in lists["pending"]]
    return {
        "nav": "queue",
        "pending": pending,
        "evaluating": lists["evaluating"],
        "finished": lists["finished"][:ENDED_SHOWN],
        "failed": lists["failed"][:ENDED_SHOWN],
        "finished_total": len(lists["finished"]),
        "failed_total": len(lists["failed"]),
        "ended_shown": ENDED_SHOWN,
    }


def _target_key(item: dict[str, Any]) -> str:
    return f"{item['name']}|{item['revision']}|{item['precision']}"


def queue_page(request: HttpRequest) -> HttpResponse:
    """/queue; `?part=lists` is the lists alone, which the page fetches again on a status
    change (one rendering of a row, the template's)."""
    context = _queue_context(request)
    if request.GET.get("part") == "lists":
        return render(request, "submissions/_queue_lists.html", context)
    return render(request, "submissions/queue.html", context)


def _submit(form: SubmitForm, user: User) -> Any:
    """Queue the form's submission, or put the check's refusal on the form (None then)."""
    try:
        return services.request_submit(user=user, submission=form.submission())
    except QuotaExceeded as exc:
        form.add_refusal("quota", exc.message, exc.details)
    except ApiError as exc:
        form.add_refusal(str(exc.details.get("reason", "")), exc.message, exc.details)
    return None


@login_required
def submit_page(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = SubmitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        queued = _submit(form, user)
        if queued is not None:
            what = f"{queued.model_name} ({queued.precision}, revision {queued.revision[:7]})"
            messages.success(request, f"{what} was added to the evaluation queue.")
            return redirect("queue")
    context = {
        "nav": "submit",
        "form": form,
        "quota": selectors.submission_quota(user),
    }
    return render(request, "submissions/submit.html", context, status=400 if form.errors else 200)
