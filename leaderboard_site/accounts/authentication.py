"""Who is calling: a JWT, an API key, a Hugging Face token or the web pages' session, resolved
once per request.

The rate limiter (middleware) and DRF both ask `resolve()`, which memoizes its answer on the
request, so credentials are checked once. The same function serves GraphQL and the WebSocket.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from leaderboard_site import hub, sql
from leaderboard_site.accounts import denylist, roles, services, tokens
from leaderboard_site.accounts.models import ApiKey, User
from leaderboard_site.api.errors import ApiError, Forbidden, ServiceUnavailable, Unauthorized

HUB_TOKEN_PREFIX = "hf_"  # noqa: S105 - a prefix, not a secret
HUB_WHOAMI_TTL = 300


class _Recent:
    """Users and keys looked up in the last few seconds, so that a busy client costs one query
    per PRINCIPAL_CACHE_SECONDS instead of one per request. Changes made through the services
    (revoke, disable, role change) are seen at once in the process that made them and within
    that many seconds everywhere else."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, key: str) -> Any:
        item = self._items.get((kind, key))
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, kind: str, key: str, value: Any) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[(kind, key)] = (time.monotonic() + settings.PRINCIPAL_CACHE_SECONDS, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


recent = _Recent()


@dataclass(frozen=True)
class Principal:
    user: User
    role: str
    via: str  # "jwt", "api_key", "hub" or "session"
    api_key: ApiKey | None = None
    claims: tokens.Claims | None = None  # a JWT's

    @property
    def rate_key(self) -> str:
        return f"key:{self.api_key.pk}" if self.api_key else f"user:{self.user.pk}"


def _from_jwt(token: str) -> Principal:
    try:
        claims = tokens.verify(token)
    except tokens.InvalidToken as exc:
        raise Unauthorized("Invalid or expired token.", details={"reason": str(exc)}) from exc
    if denylist.is_revoked(claims.jti):  # checked every time: `recent` holds users, not tokens
        raise Unauthorized("This token was signed out; sign in again.")
    user = recent.get("user", claims.sub)
    if user is None:
        found = sql.select(User, "username = %s AND is_active = %s", [claims.sub, True])
        user = found[0] if found else None
        if user is not None:
            recent.put("user", claims.sub, user)
    if user is None:
        raise Unauthorized("The token's user no longer exists or is disabled.")
    if user.tokens_valid_after and claims.issued_at < user.tokens_valid_after:
        raise Unauthorized("The password changed since this token was issued; sign in again.")
    return Principal(user=user, role=user.role, via="jwt", claims=claims)


def _from_api_key(key: str) -> Principal:
    key_hash = services.hash_key(key)
    api_key = recent.get("api_key", key_hash)
    if api_key is None or (api_key.expires_at and api_key.expires_at <= timezone.now()):
        api_key = (
            ApiKey.objects.usable()
            .select_related("user")
            .filter(key_hash=key_hash, user__is_active=True)
            .first()
        )
        if api_key is not None:
            recent.put("api_key", key_hash, api_key)
    if api_key is None:
        raise Unauthorized("Invalid, revoked or expired API key.")
    services.api_key_touch(api_key=api_key)
    # A key never acts above its owner as the owner is now: a demoted owner demotes the key.
    role = roles.lower(api_key.role, api_key.user.role)
    return Principal(user=api_key.user, role=role, via="api_key", api_key=api_key)


def _hub_username(token: str) -> str:
    cache_key = f"hubauth:{hashlib.sha256(token.encode()).hexdigest()}"
    name = cache.get(cache_key)
    if name is None:
        try:
            name = hub.client.whoami(token)
        except hub.HubUnauthorized as exc:
            raise Unauthorized("The Hugging Face token was refused by the Hub.") from exc
        except hub.HubError as exc:
            raise ServiceUnavailable(
                "The Hugging Face Hub could not verify the token; try again later.",
                details={"reason": str(exc)},
            ) from exc
        cache.set(cache_key, name, timeout=HUB_WHOAMI_TTL)
    return name


def _from_hub_token(token: str) -> Principal:
    user = services.hub_user_resolve(hub_username=_hub_username(token))
    if not user.is_active:
        raise Unauthorized("This account is disabled.")
    return Principal(user=user, role=user.role, via="hub")


def session_principal(session_key: str | None) -> Principal | None:
    """The user signed in to the web pages under this session cookie, if still valid (the
    session's password hash is checked as Django's own `get_user` does)."""
    if not session_key or len(session_key) > 64 or not session_key.isalnum():
        return None  # not a key Django made (its are 32 letters and digits): never looked up
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user_id = session.get(SESSION_KEY)
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not constant_time_compare(
        session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
    ):
        return None
    return Principal(user=user, role=user.role, via="session")


def _no_view(request: HttpRequest) -> HttpResponse:
    raise AssertionError("the CSRF check never calls the view")


def enforce_csrf(request: HttpRequest, principal: Principal | None) -> None:
    """A write on a session's behalf must carry the CSRF token (the `X-CSRFToken` header or the
    form field), as Django's pages do: the other credentials are never sent by a browser on its
    own, the session cookie is."""
    if principal is None or principal.via != "session" or request.method in SAFE_METHODS:
        return
    check = CsrfViewMiddleware(_no_view)
    check.process_request(request)
    refused = check.process_view(request, None, (), {})  # type: ignore[arg-type]
    if refused is not None:
        raise Forbidden(
            "CSRF check failed: send the csrftoken cookie's value as the X-CSRFToken header.",
            code="CSRF_FAILED",
        )


def credentials_principal(*, authorization: str | None, api_key: str | None) -> Principal | None:
    """The caller named by an `Authorization` header value or an `X-API-Key` value (None when
    both are empty): the one check behind REST, GraphQL and the WebSocket."""
    if api_key:
        return _from_api_key(api_key.strip())
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthorized("Expected 'Authorization: Bearer <token>'.")
    return token_principal(credentials.strip())


def _same_origin(headers: dict[str, str]) -> bool:
    """Whether a handshake comes from one of our own pages: a page on another site could
    otherwise open a socket riding on its visitor's session cookie."""
    origin = headers.get("origin", "")
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    return bool(origin) and urlsplit(origin).netloc == headers.get("host")


def _session_cookie(headers: dict[str, str]) -> str | None:
    try:
        morsel = SimpleCookie(headers.get("cookie", "")).get(settings.SESSION_COOKIE_NAME)
    except CookieError:
        return None
    return morsel.value if morsel else None


def scope_principal(scope: dict[str, Any]) -> Principal | None:
    """The caller of a socket's handshake (an ASGI scope): its `Authorization` or `X-API-Key`
    header, else a `?token=` query parameter (what browsers can send), else the pages' session
    cookie when the handshake comes from our own origin."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1")
               for name, value in scope.get("headers", [])}  # fmt: skip
    authorization, api_key = headers.get("authorization"), headers.get("x-api-key")
    token = parse_qs(scope.get("query_string", b"").decode()).get("token", [""])[0].strip()
    if token and not authorization and not api_key:
        return token_principal(token)
    if not authorization and not api_key and _same_origin(headers):
        return session_principal(_session_cookie(headers))
    return credentials_principal(authorization=authorization, api_key=api_key)


def token_principal(token: str) -> Principal:
    """A bare token: an API key (`ltb_...`), a Hugging Face token (`hf_...`) or a JWT."""
    if token.startswith(services.API_KEY_PREFIX):
        return _from_api_key(token)
    if token.startswith(HUB_TOKEN_PREFIX):
        return _from_hub_token(token)
    return _from_jwt(token)


def carries_credentials(request: HttpRequest) -> bool:
    """Whether the request names a caller (who may then need looking up)."""
    return (
        "authorization" in request.headers
        or "x-api-key" in request.headers
        or settings.SESSION_COOKIE_NAME in request.COOKIES
    )


def _resolve(request: HttpRequest) -> Principal | None:
    authorization, api_key = request.headers.get("Authorization"), request.headers.get("X-API-Key")
    if not authorization and not api_key:
        return session_principal(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    return credentials_principal(authorization=authorization, api_key=api_key)


def resolve(request: HttpRequest) -> Principal | None:
    """The caller, or None when anonymous; raises ApiError for bad credentials (memoized)."""
    memo: tuple[Principal | None, ApiError | None] | None = getattr(request, "_principal", None)
    if memo is None:
        try:
            memo = (_resolve(request), None)
        except ApiError as exc:
            memo = (None, exc)
        request._principal = memo  # type: ignore[attr-defined]
    principal, error = memo
    if error is not None:
        raise error
    return principal


class PrincipalAuthentication(BaseAuthentication):
    """DRF authentication for every kind of credentials."""

    def authenticate(self, request: Request) -> tuple[User, Principal] | None:
        principal = resolve(request._request)
        enforce_csrf(request._request, principal)
        return (principal.user, principal) if principal else None

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{settings.JWT_REALM}"'


def principal_of(request: Any) -> Principal | None:
    """The principal behind a DRF request (request.auth), if any."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, Principal) else None
