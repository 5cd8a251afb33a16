"""Webhooks: registration, signed deliveries, retries, refused addresses, disabling, redelivery,
and the events the apps announce."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from benchmarks.models import Benchmark, Dataset
from benchmarks.signals import benchmark_progressed
from submissions.models import Status
from submissions.services import request_transition
from tests.conftest import client_for
from tests.submissions.test_status import make_request
from tests.support.webhook_receiver import WebhookReceiver, verify
from webhooks import net, services, tasks
from webhooks.models import Delivery, DeliveryStatus, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings: Any) -> Iterator[WebhookReceiver]:
    """The test receiver, on 127.0.0.1, which these tests allow (the default refuses it)."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_TIMEOUT = 5.0
    with WebhookReceiver() as server:
        yield server


def register(client: Any, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = client.post(
        "/v1/webhooks", {"url": url, "events": events or ["evaluation.completed"]}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()  # type: ignore[no-any-return]


def evaluate(client: Any, capture: Any) -> None:
    """POST an evaluation, its event announced after commit (the delivery's task not run)."""
    with capture(execute=True):
        response = client.post(
            "/v1/evaluations", {"output": "{}", "metrics": ["json_valid"]}, format="json"
        )
    assert response.status_code == 201


def test_register_shows_the_secret_once(alice_client: Any, bob_client: Any, receiver) -> None:
    created = register(alice_client, f"{receiver.url}/hook")
    assert created["secret"].startswith("whsec_")
    assert created["enabled"] is True and created["events"] == ["evaluation.completed"]
    listed = alice_client.get("/v1/webhooks").json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert "secret" not in listed["items"][0]
    detail = alice_client.get(f"/v1/webhooks/{created['id']}").json()
    assert "secret" not in detail and detail["url"] == f"{receiver.url}/hook"
    assert bob_client.get(f"/v1/webhooks/{created['id']}").status_code == 404
    assert bob_client.get("/v1/webhooks").json()["items"] == []
    changed = alice_client.patch(f"/v1/webhooks/{created['id']}",
                                 {"events": ["benchmark.failed", "benchmark.completed"],
                                  "description": "runs"}, format="json")  # fmt: skip
    assert changed.status_code == 200
    assert changed.json()["events"] == ["benchmark.completed", "benchmark.failed"]
    assert bob_client.delete(f"/v1/webhooks/{created['id']}").status_code == 404
    assert alice_client.delete(f"/v1/webhooks/{created['id']}").status_code == 204
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "http://user:pw@example.com/", "not a url", "http:///nohost"],
)
def test_only_plain_http_urls(alice_client: Any, url: str) -> None:
    response = alice_client.post("/v1/webhooks", {"url": url, "events": ["benchmark.completed"]},
                                 format="json")  # fmt: skip
    assert response.status_code == 400
    assert "url" in response.json()["error"]["details"]["fields"]


def test_unknown_event_refused(alice_client: Any, receiver) -> None:
    response = alice_client.post("/v1/webhooks", {"url": receiver.url, "events": ["nope"]},
                                 format="json")  # fmt: skip
    assert response.status_code == 400
    assert "events" in response.json()["error"]["details"]["fields"]


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "192.168.0.9", "169.254.169.254", "::1", "224.0.0.1",
                "0.0.0.0", "[::ffff:127.0.0.1]", "100.64.0.1", "240.0.0.1"],
)  # fmt: skip
def test_private_addresses_refused_at_registration(
    alice_client: Any, settings: Any, address: str
) -> None:
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    host = f"[{address}]" if ":" in address and not address.startswith("[") else address
    response = alice_client.post("/v1/webhooks", {"url": f"http://{host}:8080/hook",
                                 "events": ["benchmark.completed"]}, format="json")  # fmt: skip
    assert response.status_code == 400, response.json()
    assert "public addresses only" in response.json()["error"]["message"]


def test_a_name_resolving_to_loopback_is_refused_without_connecting(
    alice_client: Any, settings: Any
) -> None:
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with WebhookReceiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        response = alice_client.post("/v1/webhooks", {"url": f"http://localhost:{port}/",
                                     "events": ["benchmark.completed"]}, format="json")  # fmt: skip
        assert response.status_code == 400
        assert receiver.requests == []


def test_allow_private_setting(alice_client: Any, settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    register(alice_client, "http://10.0.0.7/hook")


def test_delivery_is_signed_and_verifiable(
    alice_client: Any, receiver: WebhookReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    created = register(alice_client, f"{receiver.url}/hook?x=1")
    evaluate(alice_client, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert tasks.deliver(str(delivery.pk)) == "delivered (200)"
    [received] = receiver.requests
    assert received.path == "/hook?x=1"
    assert verify(created["secret"], received.headers["X-Webhook-Signature"], received.body)
    assert not verify("whsec_other", received.headers["X-Webhook-Signature"], received.body)
    body = json.loads(received.body)
    assert body["type"] == "evaluation.completed" and body["data"]["score"] == 1.0
    assert received.headers["X-Webhook-Event"] == "evaluation.completed"
    assert received.headers["X-Webhook-Id"] == body["id"]
    assert received.headers["Host"] == receiver.url.removeprefix("http://")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert tasks.deliver(str(delivery.pk)) == "not due, taken or done"  # a rerun sends nothing
    assert len(receiver.requests) == 1


def test_failed_delivery_retried_with_backoff(
    alice_client: Any, receiver: WebhookReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    created = register(alice_client, f"{receiver.url}/hook")
    receiver.answers = [500, 503]
    evaluate(alice_client, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert tasks.deliver(str(delivery.pk)).startswith("failed (answered 500)")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    wait = delivery.next_attempt_at - timezone.now()  # type: ignore[operator]
    assert timedelta(seconds=55) < wait <= timedelta(seconds=60)
    assert tasks.deliveries_due() == 0  # not due yet
    for expected in (120, 240):  # time passes: the next attempt is due
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert services.deliveries_due() == [delivery.pk]
        tasks.deliver(str(delivery.pk))
        delivery.refresh_from_db()
        if expected == 120:
            assert delivery.status == DeliveryStatus.PENDING
            wait = delivery.next_attempt_at - timezone.now()  # type: ignore[operator]
            assert timedelta(seconds=115) < wait <= timedelta(seconds=120)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 3
    assert len(receiver.requests) == 3
    listed = alice_client.get(f"/v1/webhooks/{created['id']}/deliveries").json()["items"]
    [item] = listed
    assert [a["status_code"] for a in item["attempts"]] == [500, 503, 200]
    assert len(item["attempts"][0]["response_excerpt"]) == net.EXCERPT_BYTES
    assert item["attempts"][0]["error"] == "answered 500"
    assert item["attempts"][2]["latency_ms"] > 0
    assert Endpoint.objects.get().failing_since is None  # a success clears the failures


def test_backoff_is_capped(settings: Any) -> None:
    settings.WEBHOOK_BACKOFF_MAX = 3600
    waits = [services.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_address_checked_again_before_each_delivery(
    alice_client: Any, receiver: WebhookReceiver, settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    register(alice_client, f"{receiver.url}/hook")
    evaluate(alice_client, django_capture_on_commit_callbacks)
    settings.WEBHOOK_ALLOWED_NETWORKS = []  # 127.0.0.1 is no longer allowed
    delivery = Delivery.objects.get()
    assert "refused" in tasks.deliver(str(delivery.pk))
    assert receiver.requests == []  # refused by address: no connection was made
    attempt = delivery.attempt_set.get()
    assert attempt.status_code is None and attempt.error.startswith("refused: ")


def test_an_endpoint_failing_for_a_day_is_disabled(
    alice_client: Any, admin_user: Any, receiver: WebhookReceiver,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    created = register(alice_client, f"{receiver.url}/hook")
    receiver.answers = [500] * 10
    evaluate(alice_client, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    tasks.deliver(str(delivery.pk))
    assert Endpoint.objects.get().enabled
    # A day passes, every attempt failing: the delivery's last try fails too.
    day_ago = timezone.now() - timedelta(hours=24, minutes=1)
    Endpoint.objects.update(failing_since=day_ago)
    Delivery.objects.update(created_at=day_ago, next_attempt_at=timezone.now())
    assert tasks.deliver(str(delivery.pk)).endswith("endpoint disabled")
    endpoint = Endpoint.objects.get()
    assert not endpoint.enabled and "Every delivery failed since" in endpoint.disabled_reason
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    listed = alice_client.get("/v1/webhooks").json()["items"][0]
    assert listed["enabled"] is False and "answered 500" in listed["disabled_reason"]
    # No more deliveries to it; its owner sees why, and so does the admin.
    evaluate(alice_client, django_capture_on_commit_callbacks)
    assert Delivery.objects.count() == 1
    from django.test import Client

    admin = Client()
    admin.force_login(admin_user)
    page = admin.get("/admin/webhooks/endpoint/").content.decode()
    assert "Every delivery failed since" in page
    # Enabling it again clears the record.
    enabled = alice_client.patch(f"/v1/webhooks/{created['id']}", {"enabled": True},
                                 format="json").json()  # fmt: skip
    assert enabled["enabled"] is True and enabled["disabled_reason"] == ""


def test_a_delivery_past_its_day_is_given_up(
    alice_client: Any, receiver: WebhookReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    register(alice_client, f"{receiver.url}/hook")
    receiver.answers = [500]
    evaluate(alice_client, django_capture_on_commit_callbacks)
    Delivery.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert tasks.deliver(str(Delivery.objects.get().pk)).endswith("given up")
    assert Delivery.objects.get().status == DeliveryStatus.FAILED
    assert Endpoint.objects.get().enabled  # its failures began just now


def test_redeliver(
    alice_client: Any, bob_client: Any, receiver: WebhookReceiver,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    created = register(alice_client, f"{receiver.url}/hook")
    evaluate(alice_client, django_capture_on_commit_callbacks)
    first = Delivery.objects.get()
    tasks.deliver(str(first.pk))
    path = f"/v1/webhooks/{created['id']}/deliveries/{first.pk}/redeliver"
    assert bob_client.post(path).status_code == 404
    with django_capture_on_commit_callbacks() as queued:
        response = alice_client.post(path)
    assert response.status_code == 202
    assert len(queued) == 1
    again = Delivery.objects.get(pk=response.json()["id"])
    assert again.event_id == first.event_id and again.payload == first.payload
    tasks.deliver(str(again.pk))
    assert [r.headers["X-Webhook-Id"] for r in receiver.requests] == [str(first.event_id)] * 2
    assert (
        alice_client.post(
            f"/v1/webhooks/{created['id']}/deliveries/{'0' * 32}/redeliver"
        ).status_code
        == 404
    )
    Endpoint.objects.update(enabled=False, disabled_reason="failing")
    assert alice_client.post(path).status_code == 409


def _run(owner: Any) -> Benchmark:
    dataset = Dataset.objects.get(name="arithmetic")
    return Benchmark.objects.create(owner=owner, name="nightly", dataset=dataset, iterations=1,
                                    targets=[{"provider": "openai", "model": "tiny"}])  # fmt: skip


def test_benchmark_events_once_each(alice: Any, receiver: WebhookReceiver) -> None:
    register(client_for(alice), receiver.url, ["benchmark.completed", "benchmark.failed"])
    run = _run(alice)
    for status in ("running", "completed", "completed"):  # announced twice: delivered once
        benchmark_progressed.send(sender=Benchmark, benchmark=run, status=status, progress=1.0,
                                  done=1, total=1)  # fmt: skip
    [delivery] = Delivery.objects.all()
    assert delivery.event == "benchmark.completed"
    assert delivery.payload["data"]["benchmark_id"] == str(run.pk)
    failed = _run(alice)
    benchmark_progressed.send(sender=Benchmark, benchmark=failed, status="failed", progress=0.5,
                              done=1, total=2)  # fmt: skip
    assert Delivery.objects.filter(event="benchmark.failed").count() == 1


def test_events_reach_their_owner_only(alice: Any, bob: Any, receiver: WebhookReceiver) -> None:
    register(client_for(bob), receiver.url, ["benchmark.completed"])
    benchmark_progressed.send(sender=Benchmark, benchmark=_run(alice), status="completed",
                              progress=1.0, done=1, total=1)  # fmt: skip
    assert not Delivery.objects.exists()


def test_submission_status_events(
    alice: Any, receiver: WebhookReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    register(client_for(alice), receiver.url, ["submission.status"])
    request = make_request("acme/tiny", submitter=alice)
    with django_capture_on_commit_callbacks(execute=True):
        request_transition(request, to=Status.EVALUATING, allowed_from=[Status.PENDING],
                           started_at=timezone.now())  # fmt: skip
    [delivery] = Delivery.objects.all()
    data = delivery.payload["data"]
    assert (data["model"], data["previous"], data["status"]) == ("acme/tiny", "PENDING",
                                                                 "EVALUATING")  # fmt: skip


def test_budget_exceeded_events(alice: Any, receiver: WebhookReceiver) -> None:
    from types import SimpleNamespace

    from benchmarks.signals import budget_exceeded
    from leaderboard_site.accounts import services as accounts

    register(client_for(alice), receiver.url, ["budget.exceeded"])
    key = accounts.api_key_create(owner=alice, name="ci").api_key
    figures = {"scope": "api_key", "period": "day", "cap": "1.00", "spent": "0.99",
               "reserved": "0.00", "needed": "0.02",
               "resets_at": "2026-12-05T00:00:00Z"}  # fmt: skip
    for _ in range(2):  # announced twice for one budget and period: delivered once
        budget_exceeded.send(sender=None, budget=SimpleNamespace(pk=7), user_id=None,
                             api_key_id=key.pk, benchmark_id=None, **figures)  # fmt: skip
    [delivery] = Delivery.objects.all()
    assert delivery.event == "budget.exceeded"
    assert delivery.payload["data"] == {"api_key_id": str(key.pk), "benchmark_id": None, **figures}


def test_the_readmes_verification_snippet_accepts_a_delivery(
    alice_client: Any, receiver: WebhookReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    snippet = readme.split("### Webhooks", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)
    created = register(alice_client, receiver.url)
    evaluate(alice_client, django_capture_on_commit_callbacks)
    tasks.deliver(str(Delivery.objects.get().pk))
    [received] = receiver.requests
    header = received.headers["X-Webhook-Signature"]
    assert namespace["verify"](created["secret"], header, received.body)
    assert not namespace["verify"](created["secret"], header, received.body + b" ")


def test_a_slow_receiver_times_out(
    alice_client: Any, receiver: WebhookReceiver, settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    register(alice_client, receiver.url)
    evaluate(alice_client, django_capture_on_commit_callbacks)
    settings.WEBHOOK_TIMEOUT = 0.3
    receiver.delay = 2.0
    assert "ReadTimeoutError" in tasks.deliver(str(Delivery.objects.get().pk))
    attempt = Delivery.objects.get().attempt_set.get()
    assert attempt.status_code is None and "timed out" in attempt.error


def test_the_checked_address_is_connected_to_with_the_urls_host(
    alice_client: Any, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    """The name is resolved once per attempt, by the check; the connection goes to that
    address (a second, rebound answer would never be used) and says the URL's host."""
    import socket

    port = int(receiver.url.rsplit(":", 1)[1])
    lookups: list[str] = []

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(net.socket, "getaddrinfo", resolve)
    register(alice_client, f"http://hooks.example:{port}/in")
    evaluate(alice_client, django_capture_on_commit_callbacks)
    lookups.clear()
    assert tasks.deliver(str(Delivery.objects.get().pk)) == "delivered (200)"
    # The check's lookup of the name, once; urllib3 was given the address (a numeric lookup).
    assert lookups == ["hooks.example", "127.0.0.1"]
    [received] = receiver.requests
    assert received.headers["Host"] == f"hooks.example:{port}"


def test_https_goes_to_the_checked_address_with_the_urls_tls_name(
    receiver: WebhookReceiver,
) -> None:
    """A plain-HTTP server behind an https URL: the TLS handshake fails, as an attempt's error."""
    port = int(receiver.url.rsplit(":", 1)[1])
    target = net.check(f"https://127.0.0.1:{port}/hook")
    assert target.host_header == f"127.0.0.1:{port}"
    with pytest.raises(net.SendError, match="SSL"):
        net.send(target, b"{}", {})
    assert net.Target("https", "hooks.example", 443, "/", "93.184.215.14").host_header == (
        "hooks.example"
    )


@pytest.mark.django_db(transaction=True)  # the ASGI handler's threads have connections of their own
def test_idempotency_keys_under_asgi() -> None:
    """The middleware's async side (Django's ASGI handler) keeps and replays answers too."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    from leaderboard_site.accounts import tokens
    from tests.conftest import make_user

    make_user("alice", "user")
    token = tokens.issue(username="alice", role="user")[0]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "asgi-1"}

    async def twice() -> list[Any]:
        client = AsyncClient()
        return [
            await client.post("/v1/evaluations", {"output": "{}", "metrics": ["json_valid"]},
                              content_type="application/json", headers=headers)
            for _ in range(2)
        ]  # fmt: skip

    first, second = async_to_sync(twice)()
    assert first.status_code == second.status_code == 201
    assert second.content == first.content and second["Idempotent-Replayed"] == "true"
    from benchmarks.models import Evaluation

    assert Evaluation.objects.count() == 1


def test_a_refused_call_past_a_cap_is_delivered_as_budget_exceeded(
    alice: Any, alice_client: APIClient, llm: Any, receiver: WebhookReceiver,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    from decimal import Decimal

    from benchmarks import spend
    from benchmarks.models import Budget, Price

    spend.forget_budgets()
    Price.objects.create(provider="openai", model="tiny-1", input_per_million=Decimal(2),
                         output_per_million=Decimal(10))  # fmt: skip
    Budget.objects.create(user=alice, daily_usd=Decimal("0.0001"))
    created = register(alice_client, receiver.url, ["budget.exceeded"])
    body = {"provider": "openai", "model": "tiny-1", "prompt": "Hello", "max_tokens": 10}
    try:
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(2):
                refused = alice_client.post("/v1/completions", body, format="json")
                assert refused.status_code == 402
    finally:
        spend.forget_budgets()
    [delivery] = Delivery.objects.all()
    assert tasks.deliver(str(delivery.pk)) == "delivered (200)"
    [received] = receiver.requests
    assert verify(created["secret"], received.headers["X-Webhook-Signature"], received.body)
    data = json.loads(received.body)["data"]
    assert (data["scope"], data["period"], data["cap"]) == ("user", "day", "0.0001")


def test_a_webhook_that_cannot_be_queued_never_fails_the_announcer(
    alice: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: Any) -> int:
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "event_emit", broken)
    benchmark_progressed.send(sender=Benchmark, benchmark=_run(alice), status="completed",
                              progress=1.0, done=1, total=1)  # fmt: skip
    assert "webhook event not queued" in caplog.text


def test_the_admin_enables_a_disabled_endpoint_again(alice: Any, admin_user: Any) -> None:
    from django.test import Client

    endpoint = Endpoint.objects.create(owner=alice, url="https://93.184.215.14/", enabled=False,
                                       events=["benchmark.completed"], disabled_reason="failing",
                                       failing_since=timezone.now())  # fmt: skip
    admin = Client()
    admin.force_login(admin_user)
    response = admin.post("/admin/webhooks/endpoint/",
                          {"action": "enable", "_selected_action": [str(endpoint.pk)]})  # fmt: skip
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == "" and endpoint.failing_since is None
    assert (
        admin.get(f"/admin/webhooks/delivery/?endpoint__id__exact={endpoint.pk}").status_code == 200
    )
