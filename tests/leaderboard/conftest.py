"""The bundled snapshot (4,576 real models), imported once per test module that asks for it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

BUNDLED = Path(__file__).parents[2] / "leaderboard" / "data" / "contents-2025-03-21.parquet"


@pytest.fixture(scope="module")
def imported(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        call_command("import_contents", str(BUNDLED), stdout=io.StringIO())
        yield
        from leaderboard.models import Entry

        Entry.objects.all().delete()
