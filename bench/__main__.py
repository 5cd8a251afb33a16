"""`make bench`: run every benchmark, print its figures and ratios, save them to bench/results/."""

from __future__ import annotations

import argparse
import sys

from bench import auth, leaderboard, runs, submissions, votes

SUITES = {
    "leaderboard": leaderboard.main,
    "auth": auth.main,
    "submissions": submissions.main,
    "votes": votes.main,
    "runs": runs.main,
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suites", nargs="*", choices=[*SUITES], help="default: all")
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    args = parser.parse_args()
    for name in args.suites or SUITES:
        print(f"\n=== {name} ===", flush=True)
        SUITES[name](duration=args.duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
