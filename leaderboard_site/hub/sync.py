"""Both directions of the mirror, per dataset: push our outbox, pull what others changed.

Pulling reads the target's copy of a dataset and hands it to the app that owns the data:
request statuses an external evaluator wrote (submissions), the curated official providers
(leaderboard), and vote events we do not hold (votes). Every pull is idempotent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from leaderboard_site.hub import mirror

PULLABLE = ("requests", "official-providers", "votes")


@dataclass(frozen=True)
class Report:
    dataset: str
    direction: str
    counts: dict[str, Any]

    def __str__(self) -> str:
        counts = ", ".join(f"{value} {name}" for name, value in self.counts.items())
        return f"{self.direction} {self.dataset}: {counts or 'nothing to do'}"


def push(dataset: str, *, dry_run: bool = False) -> Report:
    result = mirror.push(dataset, dry_run=dry_run)
    return Report(dataset, "push", {"changes": result.changes, "files": result.files})


def pull(dataset: str, *, dry_run: bool = False) -> Report:
    if dataset not in PULLABLE:
        raise ValueError(f"{dataset} is not pulled (only {', '.join(PULLABLE)})")
    target = mirror.target()
    if dataset == "requests":
        from submissions.services import requests_pull

        folder = target.local_copy(dataset, ["*.json", "**/*.json"])
        counts = asdict(requests_pull(folder, dry_run=dry_run)) if folder else {}
    elif dataset == "votes":
        from votes.services import VOTES_FILE, votes_pull

        folder = target.local_copy(dataset, [VOTES_FILE])
        path = folder / VOTES_FILE if folder else None
        if path is None or not path.exists():
            counts = {}
        else:
            with path.open("rb") as lines:
                counts = asdict(votes_pull(lines, dry_run=dry_run))
    else:
        from leaderboard import sources
        from leaderboard.services import official_providers_set

        folder = target.local_copy(dataset, ["*.json", "*.jsonl"])
        files = [p for p in (folder.iterdir() if folder else []) if p.suffix in {".json", ".jsonl"}]
        if not files:
            counts = {}
        else:
            organizations = set().union(*(sources.read_official_providers(p) for p in files))
            if dry_run:
                counts = {"organizations": len(organizations)}
            else:
                added, removed = official_providers_set(organizations=organizations)
                counts = {"organizations": len(organizations), "added": added, "removed": removed}
    return Report(dataset, "pull", counts)
