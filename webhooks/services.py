"""Webhook endpoints and deliveries: registered, announced, attempted, retried, disabled.

Delivery policy: an event becomes one delivery per enabled endpoint of its owner that listens
to it, queued once committed. Each attempt is recorded. A delivery answered 2xx is done; any
other answer, a refused address, a timeout or a connection error is tried again after 1 min,
2, 4... (at most WEBHOOK_BACKOFF_MAX apart) until WEBHOOK_RETRY_SECONDS after it was created,
then given up. An endpoint whose attempts have failed since WEBHOOK_RETRY_SECONDS ago, with no
success between, is disabled with the reason.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from leaderboard_site.accounts.models import User
from leaderboard_site.api.errors import ApiError, Conflict
from webhooks import net, signing
from webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint
from webhooks.tasks import deliver as deliver_task

CLAIM_SLACK = timedelta(seconds=30)


def _checked_url(url: str) -> str:
    try:
        net.check(url)
    except net.RefusedUrl as exc:
        raise ApiError(str(exc), details={"fields": {"url": [str(exc)]}}) from exc
    return url


@transaction.atomic
def endpoint_create(*, owner: User, url: str, events: list[str], description: str = "") -> Endpoint:
    return Endpoint.objects.create(
        owner=owner, url=_checked_url(url), events=events, description=description
    )


@transaction.atomic
def endpoint_update(*, endpoint: Endpoint, **changes: Any) -> Endpoint:
    """Change url, events, description or enabled; enabling clears the failure record."""
    if "url" in changes:
        changes["url"] = _checked_url(changes["url"])
    if changes.get("enabled") and not endpoint.enabled:
        changes.update(disabled_reason="", disabled_at=None, failing_since=None)
    for field, value in changes.items():
        setattr(endpoint, field, value)
    endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint: Endpoint) -> None:
    endpoint.delete()


def event_emit(*, event: str, owner_id: Any, subject: str, data: dict[str, Any]) -> int:
    """One delivery of `event` per endpoint of the owner listening to it (once per `subject`),
    each queued after commit; how many were created."""
    endpoints = [
        endpoint
        for endpoint in Endpoint.objects.filter(owner_id=owner_id, enabled=True)
        if event in endpoint.events
    ]
    if not endpoints:
        return 0
    event_id, now = uuid.uuid4(), timezone.now()
    payload = {"id": str(event_id), "type": event, "created_at": now.isoformat(), "data": data}
    created = 0
    for endpoint in endpoints:
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(
                    endpoint=endpoint, event=event, event_id=event_id, payload=payload,
                    dedupe_key=f"{event}:{subject}", created_at=now, next_attempt_at=now,
                )  # fmt: skip
        except IntegrityError:
            continue  # announced before: delivered once
        _queue(delivery)
        created += 1
    return created


def _queue(delivery: Delivery) -> None:
    delivery_id = str(delivery.pk)
    transaction.on_commit(lambda: deliver_task.delay(delivery_id))


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """The same event (same id and payload) sent again, as a delivery of its own."""
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        raise Conflict(
            "This endpoint is disabled; enable it (PATCH enabled=true) before redelivering.",
            details={"disabled_reason": endpoint.disabled_reason},
        )
    now = timezone.now()
    again = Delivery.objects.create(
        endpoint=endpoint, event=delivery.event, event_id=delivery.event_id,
        payload=delivery.payload, dedupe_key=f"redeliver:{uuid.uuid4()}", created_at=now,
        next_attempt_at=now,
    )  # fmt: skip
    _queue(again)
    return again


def backoff(attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: 1 min, 2, 4... capped."""
    seconds = min(60 * 2 ** min(attempts - 1, 20), settings.WEBHOOK_BACKOFF_MAX)
    return timedelta(seconds=seconds)


def _claim(delivery_id: uuid.UUID, now: datetime) -> bool:
    """Take a due delivery for one attempt (a rerun or a second worker finds it taken)."""
    hold = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT * 2) + CLAIM_SLACK
    return bool(
        Delivery.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now,
        ).update(claimed_until=hold)
    )  # fmt: skip


def delivery_attempt(*, delivery_id: uuid.UUID) -> str:
    """Try a due delivery once and record the attempt; what happened, in a few words."""
    now = timezone.now()
    if not _claim(delivery_id, now):
        return "not due, taken or done"
    delivery = Delivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"  # its endpoint was deleted meanwhile
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, claimed_until=None
        )
        return "endpoint disabled"
    attempt = _send(delivery, endpoint)
    if attempt.status_code is not None and 200 <= attempt.status_code < 300:
        _succeeded(delivery, endpoint)
        return f"delivered ({attempt.status_code})"
    return _failed(delivery, endpoint, attempt)


def _send(delivery: Delivery, endpoint: Endpoint) -> Attempt:
    body = orjson.dumps(delivery.payload)
    timestamp = int(time.time())
    headers = {
        signing.HEADER: signing.signature(endpoint.secret, timestamp, body),
        "X-Webhook-Id": str(delivery.event_id),
        "X-Webhook-Event": delivery.event,
        "X-Webhook-Delivery": str(delivery.pk),
    }
    attempt = Attempt(delivery=delivery)
    try:
        answer = net.send(net.check(endpoint.url), body, headers)
    except net.RefusedUrl as exc:
        attempt.error = f"refused: {exc}"
    except net.SendError as exc:
        attempt.error = str(exc)
    else:
        attempt.status_code = answer.status
        attempt.latency_ms = answer.latency_ms
        attempt.response_excerpt = answer.excerpt
        if not 200 <= answer.status < 300:
            attempt.error = f"answered {answer.status}"
    attempt.save()
    return attempt


@transaction.atomic
def _succeeded(delivery: Delivery, endpoint: Endpoint) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SUCCEEDED, attempts=delivery.attempts + 1, claimed_until=None,
        last_status_code=_last_status(delivery), next_attempt_at=None,
    )  # fmt: skip
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)


def _last_status(delivery: Delivery) -> int | None:
    last = delivery.attempt_set.order_by("-at", "-id").first()
    return last.status_code if last else None


@transaction.atomic
def _failed(delivery: Delivery, endpoint: Endpoint, attempt: Attempt) -> str:
    now = timezone.now()
    attempts = delivery.attempts + 1
    window = timedelta(seconds=settings.WEBHOOK_RETRY_SECONDS)
    gave_up = now >= delivery.created_at + window
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
        attempts=attempts, claimed_until=None, last_status_code=attempt.status_code,
        next_attempt_at=None if gave_up else now + backoff(attempts),
    )  # fmt: skip
    Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    failing_since = Endpoint.objects.values_list("failing_since", flat=True).get(pk=endpoint.pk)
    if failing_since is not None and failing_since <= now - window:
        _disable(endpoint, failing_since, attempt.error)
        return f"failed ({attempt.error}); endpoint disabled"
    return f"failed ({attempt.error}); " + ("given up" if gave_up else f"attempt {attempts}")


def _disable(endpoint: Endpoint, failing_since: datetime, error: str) -> None:
    reason = (
        f"Every delivery failed since {failing_since:%Y-%m-%d %H:%M:%S} UTC "
        f"({settings.WEBHOOK_RETRY_SECONDS // 3600} h or more); the last: {error}"
    )
    Endpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason=reason[:2000], disabled_at=timezone.now()
    )
    Delivery.objects.filter(endpoint_id=endpoint.pk, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None
    )


def deliveries_due(*, limit: int = 500) -> list[uuid.UUID]:
    """Pending deliveries whose next attempt is due and that nobody holds."""
    now = timezone.now()
    return list(
        Delivery.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )  # fmt: skip
