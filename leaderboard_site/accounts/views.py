"""The web pages of accounts: sign in (a password or a Hugging Face token), sign out, and the
account page (role, API keys). The pages sign in with Django's session; the API accepts that
session too (CSRF-checked on writes)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from leaderboard_site.accounts import login_limits, services
from leaderboard_site.accounts.authentication import token_principal
from leaderboard_site.accounts.forms import ApiKeyForm, SignInForm
from leaderboard_site.accounts.models import ApiKey, User
from leaderboard_site.api.errors import ApiError

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _next(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or "/"
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe else "/"


def _signed_in(request: HttpRequest, form: SignInForm) -> User | None:
    """The user the form names, or None with the reason added to the form."""
    data = form.cleaned_data
    try:
        if data.get("hub_token"):
            principal = token_principal(data["hub_token"].strip())
            if principal.via != "hub":
                raise ApiError("That is not a Hugging Face token (they start with hf_).")
            return principal.user
        login_limits.check(request, data["username"])
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            login_limits.failed(request, data["username"])
            form.add_error(None, "Wrong username or password.")
            return None
        login_limits.succeeded(request, data["username"])
        return user  # type: ignore[return-value]
    except ApiError as exc:  # too many tries, the Hub refused or could not check the token
        form.add_error(None, exc.message)
        return None


def signin_page(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = _signed_in(request, form)
        if user is not None:
            login(request, user, backend=MODEL_BACKEND)
            return redirect(_next(request))
    status = 400 if form.errors else 200
    context = {"form": form, "next": _next(request), "nav": "signin"}
    return render(request, "accounts/signin.html", context, status=status)


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/")


NEW_KEY = "account.new_api_key"  # the session's one-time note of a key just made


@login_required
def account_page(request: HttpRequest) -> HttpResponse:
    """Role and API keys. A new key's secret goes through the session to the page the POST
    redirects to, which shows it once: a reload neither repeats the POST nor shows it again."""
    user: User = request.user  # type: ignore[assignment]
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data.get("expires_in_days")
        try:
            created = services.api_key_create(
                owner=user,
                name=form.cleaned_data["name"],
                role=form.cleaned_data.get("role") or None,
                expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
            )
        except ApiError as exc:  # a role above the user's
            form.add_error("role", exc.message)
        else:
            request.session[NEW_KEY] = {"name": created.api_key.name, "key": created.key}
            return redirect("account")
    context = {
        "nav": "account",
        "form": form,
        "created": request.session.pop(NEW_KEY, None),
        "keys": ApiKey.objects.filter(user=user).usable(),
    }
    return render(request, "accounts/account.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def api_key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=key_id, user=request.user)
    services.api_key_revoke(api_key=api_key)
    messages.success(request, f"The key {api_key.name} is revoked.")
    return redirect("account")
