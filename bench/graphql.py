"""GraphQL bench: a page of 100 leaderboard entries over GraphQL beside REST's, in the same run.

On the bundled snapshot (4,576 entries), the web server as `make run` starts it, wrk with 16
connections:
  - GET /api/v1/models/?page_size=100 (REST: rows serialized directly);
  - POST /graphql `leaderboard(pageSize: 100)` with a few field selections: names only, the
    scores, the whole formatted row, and the whole row with each entry's requests and votes;
and prints each GraphQL selection's requests/s as a ratio of REST's (target: >= 0.35).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from bench.common import PROJECT, free_port, gunicorn, isolated_environment, save, server, wrk

BUNDLED = PROJECT / "leaderboard" / "data" / "contents-2025-03-21.parquet"
TARGET = 0.35
SCORE = "{ value normalizedScore }"
ROW = f"""id model {{ name sha precision type weightType architecture averageScore
  hasChatTemplate }}
  evaluations {{ ifeval {SCORE} bbh {SCORE} math {SCORE} gpqa {SCORE} musr {SCORE}
                 mmluPro {SCORE} }}
  features {{ isNotAvailableOnHub isMerged isMoe isFlagged isOfficialProvider }}
  metadata {{ uploadDate submissionDate generation baseModel hubLicense hubHearts
              paramsBillions co2Cost }}"""
SELECTIONS = {
    "names": "id model { name }",
    "scores": f"id model {{ name averageScore }} evaluations {{ ifeval {SCORE} bbh {SCORE} "
    f"math {SCORE} gpqa {SCORE} musr {SCORE} mmluPro {SCORE} }}",
    "full row": ROW,
    "full row + requests, votes": f"{ROW} requests {{ id status score }} "
    "votes { upVotes downVotes score }",
}


def _script(selection: str, folder: Path) -> Path:
    query = f"{{ leaderboard(pageSize: 100) {{ items {{ {selection} }} pageInfo {{ total }} }} }}"
    body = json.dumps({"query": query})
    path = folder / f"{abs(hash(selection))}.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return path


def _check(base: str, script_body: str) -> None:
    """One request first: a GraphQL error would otherwise be a fast 200 in the figures."""
    import urllib.request

    request = urllib.request.Request(f"{base}/graphql", data=script_body.encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    assert "errors" not in answer and len(answer["data"]["leaderboard"]["items"]) == 100, answer


def main(duration: int = 10) -> dict[str, Any]:
    from django.core.management import call_command

    results: dict[str, Any] = {}
    with isolated_environment() as env:
        call_command("import_contents", str(BUNDLED), verbosity=0)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        folder = Path(tempfile.mkdtemp(prefix="bench-graphql-"))
        with server(gunicorn(port), env, f"{base}/health"):
            rest_url = f"{base}/api/v1/models/?page_size=100"
            wrk(rest_url, headers={}, duration=2)  # warm up
            rest = wrk(rest_url, headers={}, duration=duration)
            results["rest"] = rest
            print(f"  REST /api/v1/models/?page_size=100: {rest.requests_per_s:.0f} req/s, "
                  f"p50 {rest.p50_ms:.1f} ms, p99 {rest.p99_ms:.1f} ms")  # fmt: skip
            for name, selection in SELECTIONS.items():
                script = _script(selection, folder)
                query = f"{{ leaderboard(pageSize: 100) {{ items {{ {selection} }} }} }}"
                _check(base, json.dumps({"query": query}))
                wrk(f"{base}/graphql", headers={}, duration=2, script=script)
                load = wrk(f"{base}/graphql", headers={}, duration=duration, script=script)
                ratio = load.requests_per_s / rest.requests_per_s if rest.requests_per_s else 0
                results[f"graphql {name}"] = {"load": load, "ratio": round(ratio, 3)}
                verdict = "ok" if ratio >= TARGET else f"below {TARGET}"
                print(f"  GraphQL leaderboard(pageSize: 100) {{ {name} }}: "
                      f"{load.requests_per_s:.0f} req/s, p50 {load.p50_ms:.1f} ms, "
                      f"p99 {load.p99_ms:.1f} ms, errors {load.errors}: "
                      f"{ratio:.2f}x REST ({verdict})")  # fmt: skip
    print(f"  saved {save('graphql', results)}")
    return results
