from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection, transaction

from leaderboard_site.accounts.models import Usage
from leaderboard_site.accounts.services import QuotaExceeded, quota_reserve
from tests.conftest import make_user

WEEK = dt.timedelta(days=7)


@pytest.mark.django_db
def test_the_quota_counts_uses_in_the_window(alice: Any) -> None:
    for _ in range(2):
        with transaction.atomic():
            quota_reserve(user=alice, kind="submission", limit=2, window=WEEK)
    with pytest.raises(QuotaExceeded) as excinfo, transaction.atomic():
        quota_reserve(user=alice, kind="submission", limit=2, window=WEEK)
    assert excinfo.value.status == 429
    assert 0 < excinfo.value.extra["retry_after"] <= WEEK.total_seconds()
    Usage.objects.update(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))  # out of the window
    with transaction.atomic():
        quota_reserve(user=alice, kind="submission", limit=2, window=WEEK)


@pytest.mark.django_db
def test_a_rolled_back_action_releases_its_use(alice: Any) -> None:
    def action_that_fails() -> None:
        with transaction.atomic():
            quota_reserve(user=alice, kind="submission", limit=1, window=WEEK)
            raise RuntimeError("the action failed after the check")

    with pytest.raises(RuntimeError):
        action_that_fails()
    assert not Usage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_run_outside_a_transaction() -> None:
    user = make_user("loner", "user")
    with pytest.raises(RuntimeError, match="inside"):
        quota_reserve(user=user, kind="submission", limit=1, window=WEEK)


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_50_concurrent_uses_with_a_quota_of_5_accept_exactly_5() -> None:
    user = make_user("hammer", "user")
    barrier = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                quota_reserve(user=user, kind="submission", limit=5, window=WEEK)
            outcome = "accepted"
        except QuotaExceeded:
            outcome = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("accepted") == 5
    assert outcomes.count("refused") == 45
    assert Usage.objects.filter(user=user).count() == 5
