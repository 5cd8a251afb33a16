"""JWTs: HS256 only, with sub, role, iat, exp and jti; anything else is refused."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import jwt
from django.conf import settings

ALGORITHM = "HS256"


class InvalidToken(Exception):
    """Expired, tampered with, signed with another key or algorithm, or malformed."""


@dataclass(frozen=True)
class Claims:
    sub: str  # the username
    role: str
    jti: str
    expires_at: dt.datetime
    issued_at: dt.datetime


def issue(*, username: str, role: str) -> tuple[str, dt.datetime]:
    now = dt.datetime.now(tz=dt.UTC)
    expires_at = now + dt.timedelta(seconds=settings.JWT_EXPIRATION)
    payload = {
        "sub": username,
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, settings.JWT_SECRET, algorithm=ALGORITHM), expires_at


def verify(token: str) -> Claims:
    try:
        payload = jwt.decode(
            token,
            settings.JWT_SECRET,
            algorithms=[ALGORITHM],  # never "none", never the header's choice
            options={"require": ["sub", "role", "iat", "exp", "jti"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    return Claims(
        sub=str(payload["sub"]),
        role=str(payload["role"]),
        jti=str(payload["jti"]),
        expires_at=dt.datetime.fromtimestamp(payload["exp"], tz=dt.UTC),
        issued_at=dt.datetime.fromtimestamp(payload["iat"], tz=dt.UTC),
    )
