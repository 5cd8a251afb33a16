"""`make bench`: run every benchmark, print its figures and ratios, save them to bench/results/."""

from __future__ import annotations

import argparse
import sys

from bench import (
    auth,
    graphql,
    graphql_subscriptions,
    hostile,
    idempotency,
    leaderboard,
    pages,
    runs,
    submissions,
    votes,
)

SUITES = {
    "leaderboard": leaderboard.main,
    "auth": auth.main,
    "submissions": submissions.main,
    "votes": votes.main,
    "runs": runs.main,
    "hostile": hostile.main,
    "idempotency": idempotency.main,
    "graphql": graphql.main,
    "subscriptions": graphql_subscriptions.main,
    "pages": pages.main,
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    # (No `choices`: Python 3.11's argparse refuses an empty list against them.)
    parser.add_argument("suites", nargs="*", help=f"any of {', '.join(SUITES)}; default: all")
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    args = parser.parse_args()
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s): {', '.join(unknown)} (choose from {', '.join(SUITES)})")
    for name in args.suites or SUITES:
        print(f"\n=== {name} ===", flush=True)
        SUITES[name](duration=args.duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
