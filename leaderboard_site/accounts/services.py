"""Writes for accounts: users, API keys, Hub-linked users, logins and quotas."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from leaderboard_site.accounts import denylist, tokens
from leaderboard_site.accounts.models import ApiKey, RevokedToken, Usage, User
from leaderboard_site.accounts.roles import Role, at_least
from leaderboard_site.api.errors import (
    ApiError,
    Conflict,
    Forbidden,
    TooManyRequests,
    Unauthorized,
)

API_KEY_PREFIX = "ltb_"
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


class QuotaExceeded(TooManyRequests):
    """A quota counted in the database is used up."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def user_create(
    *, username: str, role: str, password: str | None = None, update: bool = False
) -> tuple[User, bool]:
    """Create a user (or, with update=True, change an existing one's role and password)."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        if user is not None and not update:
            raise Conflict(f"User {username!r} already exists.", details={"username": username})
        created = user is None
        if user is None:
            user = User(username=username)
        user.role = Role(role)
        user.is_staff = user.is_superuser = role == Role.ADMIN
        if password is not None:
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.save()
    forget_principals()
    return user, created


def login(*, username: str, password: str) -> tuple[str, dt.datetime]:
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        raise Unauthorized("Invalid username or password.")
    return tokens.issue(username=user.username, role=user.role)


def token_revoke(*, user: User, claims: tokens.Claims) -> None:
    """Sign a JWT out: refused from now on until it expires (a denylist by its `jti`)."""
    RevokedToken.objects.get_or_create(
        jti=claims.jti, defaults={"user": user, "expires_at": claims.expires_at}
    )
    denylist.remember(claims.jti, claims.expires_at)  # at once: refusing early is harmless


def revoked_tokens_purge() -> int:
    """Drop the denylist's rows of tokens that have expired (they are refused anyway)."""
    return RevokedToken.objects.filter(expires_at__lte=timezone.now()).delete()[0]


def token_refresh(*, user: User, claims: tokens.Claims) -> tuple[str, dt.datetime]:
    """A new JWT (with the user's current role) for a valid one, which is signed out."""
    with transaction.atomic():
        token_revoke(user=user, claims=claims)
    return tokens.issue(username=user.username, role=user.role)


def password_change(*, user: User, old_password: str, new_password: str) -> tuple[str, dt.datetime]:
    """Change a password user's password; every JWT issued before is refused from then on
    (within PRINCIPAL_CACHE_SECONDS in other processes). Returns a new JWT."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if not user.has_usable_password():
            raise Forbidden(
                "This account has no password: it signs in with a Hugging Face token.",
                details={"reason": "no_password"},
            )
        if not user.check_password(old_password):
            raise ApiError("The current password is wrong.",
                           details={"fields": {"old_password": ["wrong password"]}})  # fmt: skip
        try:
            validate_password(new_password, user)
        except ValidationError as exc:
            raise ApiError("The new password is not acceptable.",
                           details={"fields": {"new_password": exc.messages}}) from exc  # fmt: skip
        user.set_password(new_password)
        # Tokens carry whole seconds: those of this second stay valid, earlier ones do not.
        user.tokens_valid_after = timezone.now().replace(microsecond=0)
        user.save(update_fields=["password", "tokens_valid_after"])
    forget_principals()
    return tokens.issue(username=user.username, role=user.role)


@dataclass(frozen=True)
class NewApiKey:
    key: str  # the secret, shown once
    api_key: ApiKey


def api_key_create(
    *,
    owner: User,
    name: str,
    role: str | None = None,
    creator_role: str | None = None,
    expires_at: dt.datetime | None = None,
) -> NewApiKey:
    """A new key for `owner`; its role defaults to the creator's and may not exceed it."""
    ceiling = creator_role or owner.role
    role = role or ceiling
    if not at_least(ceiling, role):
        raise Forbidden(
            f"A key may not have a role above its creator's ({ceiling}).",
            details={"requested_role": role, "your_role": ceiling},
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ApiError("expires_at must be in the future.",
                       details={"fields": {"expires_at": ["in the past"]}})  # fmt: skip
    key = f"{API_KEY_PREFIX}{secrets.token_hex(16)}"
    api_key = ApiKey.objects.create(
        user=owner,
        name=name,
        role=role,
        key_hash=hash_key(key),
        prefix=key[: len(API_KEY_PREFIX) + 4],
        expires_at=expires_at,
    )
    return NewApiKey(key=key, api_key=api_key)


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    forget_principals()


def forget_principals() -> None:
    """Drop this process's recently looked-up users and keys (after a change to them)."""
    from leaderboard_site.accounts.authentication import recent

    recent.clear()


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record use, at most once a minute per key (not one write per request)."""
    now = timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def hub_user_resolve(*, hub_username: str) -> User:
    """The local user linked to a Hub account, created on first use with role user.

    A password account that already holds the name is not taken over: 409 until an admin links
    the two (sets its hub_username).
    """
    user = User.objects.filter(hub_username=hub_username).first()
    if user is not None:
        return user
    if User.objects.filter(username=hub_username).exists():
        raise Conflict(
            f"The username {hub_username!r} belongs to a local account not linked to this "
            "Hugging Face account; an admin must link them.",
            details={"hub_username": hub_username},
        )
    try:
        with transaction.atomic():
            user = User(username=hub_username, hub_username=hub_username, role=Role.USER)
            user.set_unusable_password()
            user.save()
    except IntegrityError:  # created concurrently by another request
        return User.objects.get(hub_username=hub_username)
    return user


def quota_reserve(*, user: User, kind: str, limit: int, window: dt.timedelta) -> None:
    """Count one use of `kind` against `limit` per `window`, or raise QuotaExceeded.

    Call it inside the transaction that records the action itself: the user's row is locked
    while counting, so concurrent requests by one user are counted one after the other, and a
    rolled-back action releases its use.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("quota_reserve must run inside the action's transaction")
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
    since = timezone.now() - window
    uses = Usage.objects.filter(user=user, kind=kind, created_at__gt=since)
    used = uses.count()
    if used >= limit:
        oldest = uses.order_by("created_at").values_list("created_at", flat=True).first()
        retry_after = max(
            1, int(((oldest or timezone.now()) + window - timezone.now()).total_seconds())
        )
        raise QuotaExceeded(
            f"Quota of {limit} {kind} per {window} reached.",
            details={"kind": kind, "limit": limit, "used": used},
            extra={"retry_after": retry_after},
        )
    Usage.objects.create(user=user, kind=kind)
