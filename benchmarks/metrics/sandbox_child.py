"""The plugin process of the sandbox (`python -m benchmarks.metrics.sandbox_child R W MB`).

It loads each plugin by its entry point's value and answers one call at a time; it never sets
up Django, so it starts fast and a plugin here touches no database. Its memory is capped (the
address space, MB megabytes) so that a plugin cannot starve the machine.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
from multiprocessing.connection import Connection
from typing import Any

_loaded: dict[str, Any] = {}


def _load(spec: str) -> Any:
    evaluator = _loaded.get(spec)
    if evaluator is None:
        module, _, attribute = spec.partition(":")
        evaluator = importlib.import_module(module)
        for part in attribute.split("."):
            evaluator = getattr(evaluator, part)
        _loaded[spec] = evaluator
    return evaluator


def _failure(exc: BaseException) -> dict[str, Any]:
    """What went wrong, in words the caller maps to its errors (no Django here to import)."""
    from benchmarks.metrics.base import BadInput

    answer: dict[str, Any] = {"ok": False, "type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, BadInput):
        answer["kind"] = "needs_input"
    elif isinstance(getattr(exc, "status", None), int) and hasattr(exc, "code"):
        details = getattr(exc, "details", {})
        answer.update(kind="api_error", status=exc.status, code=exc.code, details=details)  # type: ignore[attr-defined]
    else:
        answer["kind"] = "error"
    return answer


def _evaluate(spec: str, fields: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.metrics.base import Case, Result

    try:
        result = _load(spec).evaluate(Case(**fields))
        if not isinstance(result, Result):
            result = Result(float(result))
        return {"ok": True, "score": float(result.score), "details": result.details}
    except Exception as exc:  # the plugin's failure is its caller's answer, not ours
        return _failure(exc)


def main(read_fd: int, write_fd: int, memory_mb: int) -> None:
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    requests = Connection(read_fd, writable=False)
    answers = Connection(write_fd, readable=False)
    sys.path[:] = json.loads(requests.recv_bytes())["sys_path"]
    while True:
        try:
            spec, fields = json.loads(requests.recv_bytes())
        except EOFError:  # our parent is gone
            return
        try:
            answer = json.dumps(_evaluate(spec, fields))
        except (TypeError, ValueError) as exc:  # details that are not JSON
            reason = f"the plugin's details are not JSON: {exc}"
            answer = json.dumps(
                {"ok": False, "kind": "error", "type": "TypeError", "message": reason}
            )
        answers.send_bytes(answer.encode())


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
