"""Writes to the leaderboard: imports, official providers, flags, and snapshot rebuilds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from leaderboard.contents import DATA_FIELDS, IDENTITY, RowError, parse_row
from leaderboard.models import Entry, OfficialProvider
from leaderboard.selectors import CONTENTS_PATH
from leaderboard_site.hub import mirror


class ImportRowError(ValueError):
    """A bad row in an imported file: nothing was imported."""

    def __init__(self, row_number: int, error: RowError):
        super().__init__(f"row {row_number}, {error}")
        self.row_number = row_number
        self.column = error.column


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


Identity = tuple[str, str, str, bool]


def _identity(fields: Mapping[str, Any]) -> Identity:
    return (
        fields["model_name"],
        fields["precision"],
        fields["revision_sha"],
        fields["chat_template"],
    )


def _parse_all(rows: Iterable[Mapping[str, Any]], progress: Callable[[int], None]) -> list[dict]:
    parsed: dict[Identity, dict[str, Any]] = {}
    for number, row in enumerate(rows, start=1):
        try:
            fields = parse_row(row)
        except RowError as exc:
            raise ImportRowError(number, exc) from exc
        parsed[_identity(fields)] = fields  # a later duplicate row wins, as a re-import would
        progress(1)
    return list(parsed.values())


def _official_organizations() -> set[str]:
    return set(OfficialProvider.objects.values_list("organization", flat=True))


@transaction.atomic
def entries_import(
    *,
    rows: Iterable[Mapping[str, Any]],
    progress: Callable[[int], None] = lambda n: None,
    schedule_rebuild: bool = True,
) -> ImportSummary:
    """Upsert entries by identity, all or nothing; a bad row raises ImportRowError.

    With `schedule_rebuild=False` the caller rebuilds the snapshot itself (the import command
    does, so that the leaderboard is current when it returns).
    """
    incoming = _parse_all(rows, progress)
    official = _official_organizations()
    for fields in incoming:
        org = fields["model_name"].partition("/")[0]
        fields["official_provider"] = fields["official_provider"] or org in official
    existing = {
        values[: len(IDENTITY)]: values
        for values in Entry.objects.select_for_update().values_list(*IDENTITY, *DATA_FIELDS, "pk")
    }
    summary = ImportSummary()
    to_create: list[Entry] = []
    to_update: list[Entry] = []
    for fields in incoming:
        current = existing.get(_identity(fields))
        if current is None:
            to_create.append(Entry(**fields))
        elif tuple(fields[name] for name in DATA_FIELDS) != current[len(IDENTITY) : -1]:
            to_update.append(Entry(pk=current[-1], **fields))
        else:
            summary.unchanged += 1
    Entry.objects.bulk_create(to_create, batch_size=1000)
    Entry.objects.bulk_update(to_update, DATA_FIELDS, batch_size=500)
    summary.created, summary.updated = len(to_create), len(to_update)
    if (to_create or to_update) and schedule_rebuild:
        snapshot_schedule_rebuild()
    return summary


def snapshot_schedule_rebuild() -> None:
    """Rebuild the served lists on a worker once the current transaction commits."""
    from leaderboard.tasks import rebuild_snapshot

    transaction.on_commit(rebuild_snapshot.delay)


@transaction.atomic
def official_providers_set(*, organizations: Iterable[str]) -> tuple[int, int]:
    """Make `organizations` the curated set and flag their entries; returns (added, removed).

    Only the entries of organizations that join or leave the set change, so the flags published
    with imported rows stay as they are.
    """
    wanted = {org.strip() for org in organizations if org.strip()}
    current = _official_organizations()
    added, removed = wanted - current, current - wanted
    OfficialProvider.objects.bulk_create([OfficialProvider(organization=o) for o in added])
    OfficialProvider.objects.filter(organization__in=removed).delete()
    official_provider_flag_entries(organizations=added, value=True)
    official_provider_flag_entries(organizations=removed, value=False)
    return len(added), len(removed)


def official_provider_flag_entries(*, organizations: Iterable[str], value: bool) -> int:
    """Set the official-provider flag on every entry of these organizations."""
    changed = 0
    for org in organizations:
        changed += (
            Entry.objects.of_organization(org)
            .exclude(official_provider=value)
            .update(official_provider=value)
        )
    if changed:
        snapshot_schedule_rebuild()
    return changed


def entries_set_flag(*, entry_ids: Iterable[int], flag: str, value: bool) -> int:
    """Set one boolean flag (`flagged` or `official_provider`) on the given entries."""
    if flag not in {"flagged", "official_provider"}:
        raise ValueError(f"not a settable flag: {flag}")
    changed = (
        Entry.objects.filter(pk__in=list(entry_ids))
        .exclude(**{flag: value})
        .update(**{flag: value})
    )
    if changed:
        snapshot_schedule_rebuild()
    return changed


def entry_record_evaluation(
    *,
    model_name: str,
    precision: str,
    revision_sha: str,
    chat_template: bool,
    fields: Mapping[str, Any],
) -> Entry:
    """Create or update the entry of one evaluated identity, and rebuild the served lists."""
    org = model_name.split("/", 1)[0]
    values = {
        **fields,
        "official_provider": OfficialProvider.objects.filter(organization=org).exists(),
    }
    entry, _ = Entry.objects.update_or_create(
        model_name=model_name,
        precision=precision,
        revision_sha=revision_sha,
        chat_template=chat_template,
        defaults=values,
    )
    snapshot_schedule_rebuild()
    mirror.record_regenerate("contents", CONTENTS_PATH)
    return entry
