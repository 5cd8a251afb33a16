"""The signature of a delivery: HMAC-SHA256 of `timestamp.body` with the endpoint's secret,
sent as `X-Webhook-Signature: t=<unix seconds>,v1=<hex>` (Stripe's scheme)."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Webhook-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
