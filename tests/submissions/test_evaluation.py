"""The real lm-evaluation-harness on our tiny leaderboard tasks with SmolLM2-135M-Instruct.

The scores asserted are the ones this model really gets on tests/fixtures/lm_eval_tasks
(greedy decoding in bfloat16, the requests' precision; lm-eval's fixed seeds; answers capped at
32 tokens): not perfect ones. The fixtures run three to five items of seven of the leaderboard's
39 subtasks, so the tests allow partial runs (EVAL_ALLOW_PARTIAL) and the entry is marked
partial; tests/submissions/test_evaluation_rules.py proves the refusal without a model.
The fixtures hold items on which the metrics the leaderboard does not use give other numbers
(IFEval's loose accuracy, MATH's `exact_match_original`), so a wrong metric choice changes the
scores pinned here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from leaderboard.models import Entry
from leaderboard_site.hub.models import MirrorChange
from submissions import services
from submissions.models import EvalRequest, Status
from tests.conftest import PROJECT
from tests.submissions.test_status import make_request

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
pytest.importorskip("lm_eval", reason="the evaluation extra is not installed: pip install .[eval]")

EXPECTED = {  # what SmolLM2-135M-Instruct scores on the fixtures, every benchmark pinned
    "ifeval_raw": 1 / 6,  # strict: prompt-level 0/4, instruction-level 2/6 (loose: 1/4, 3/6)
    "ifeval": 100 / 6,
    "bbh_raw": 5 / 9,  # 3/5 boolean expressions + 2/4 sports, weighted by size
    "bbh": 10.0,  # (0.6 of 2 choices -> 20) and (0.5 of 2 -> 0), averaged
    "math_raw": 0.25,  # exact_match 1/4 (exact_match_original: 0/4)
    "math": 25.0,
    "gpqa_raw": 0.0,  # 0/4 (below chance)
    "gpqa": 0.0,
    "musr_raw": 2 / 3,
    "musr": 100 / 3,
    "mmlu_pro_raw": 2 / 3,
    "mmlu_pro": (2 / 3 - 0.1) / 0.9 * 100,
}
AVERAGE = (100 / 6 + 10 + 25 + 0 + 100 / 3 + (2 / 3 - 0.1) / 0.9 * 100) / 6  # 24.6605
FIXTURE_TASKS = {  # the subtasks the fixtures run; the entry lists the leaderboard's 32 others
    "leaderboard_bbh_boolean_expressions",
    "leaderboard_bbh_sports_understanding",
    "leaderboard_musr_murder_mysteries",
    "leaderboard_gpqa_main",
    "leaderboard_mmlu_pro",
    "leaderboard_ifeval",
    "leaderboard_math_algebra_hard",
}


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from tests.support.evaluation import TASKS, render_tasks, smollm2

    model = smollm2()
    tasks = render_tasks(tmp_path_factory.mktemp("lm_eval_tasks"))
    return {
        "EVAL_BACKEND": "hf",
        "EVAL_MODEL_ARGS": f"pretrained={model}",  # the precision is the request's, bfloat16
        "EVAL_TASKS": TASKS,
        "EVAL_ALLOW_PARTIAL": True,
        "EVAL_INCLUDE_PATH": str(tasks),
        "EVAL_BATCH_SIZE": "4",
        "EVAL_MAX_GEN_TOKS": 32,
        "EVAL_LIMIT": None,
    }


@pytest.fixture
def eval_settings(settings, harness: dict[str, Any]) -> Any:
    for name, value in harness.items():
        setattr(settings, name, value)
    # The lease thread has a connection of its own, which cannot see the test's uncommitted
    # request: no renewal may fall due during a run (the killed-worker test sets its own).
    settings.EVAL_LEASE_SECONDS = 3600
    return settings


def test_evaluate_command_runs_the_harness_and_publishes_the_entry(eval_settings) -> None:
    request = make_request("acme/smollm2", model_type="chat", architectures=["LlamaForCausalLM"],
                           params_billions=0.135, license="apache-2.0")  # fmt: skip
    call_command("evaluate", "acme/smollm2")
    request.refresh_from_db()
    assert request.status == Status.FINISHED, request.reason
    assert request.results["results"]["leaderboard_mmlu_pro"]["acc,none"] == pytest.approx(2 / 3)
    entry = Entry.objects.get()
    assert request.entry == entry
    assert (entry.model_name, entry.revision_sha, entry.precision) == (
        "acme/smollm2",
        request.revision,
        "bfloat16",
    )
    assert {field: getattr(entry, field) for field in EXPECTED} == pytest.approx(EXPECTED)
    assert entry.average == pytest.approx(AVERAGE)
    assert entry.average == pytest.approx(24.660494, abs=1e-6)
    assert entry.partial
    assert len(entry.missing_subtasks) == 32
    assert not FIXTURE_TASKS & set(entry.missing_subtasks)
    assert "leaderboard_bbh_navigate" in entry.missing_subtasks
    # The metrics the leaderboard does not read differ on these fixtures.
    results = request.results["results"]
    ifeval, math = results["leaderboard_ifeval"], results["leaderboard_math_algebra_hard"]
    assert ifeval["prompt_level_loose_acc,none"] == pytest.approx(1 / 4)
    assert ifeval["inst_level_loose_acc,none"] == pytest.approx(3 / 6)
    assert math["exact_match_original,none"] == 0.0
    assert entry.architecture == "LlamaForCausalLM"
    assert entry.co2_cost > 0
    # The request file says FINISHED in the mirror's outbox.
    last = MirrorChange.objects.filter(dataset="requests").order_by("id").last()
    assert b'"status": "FINISHED"' in bytes(last.content)


def test_a_model_that_cannot_load_fails_with_the_reason(eval_settings, tmp_path) -> None:
    eval_settings.EVAL_MODEL_ARGS = f"pretrained={tmp_path / 'missing'}"
    request = make_request("acme/broken")
    with pytest.raises(CommandError, match="FAILED"):
        call_command("evaluate", "acme/broken")
    request.refresh_from_db()
    assert request.status == Status.FAILED
    assert "missing" in request.reason
    assert request.log_tail  # the harness's log, for the admin
    assert not Entry.objects.exists()


def test_the_evaluate_command_needs_a_request(eval_settings) -> None:
    with pytest.raises(CommandError, match="submit it first"):
        call_command("evaluate", "acme/nothing")


# --- a worker killed mid-run ------------------------------------------------------------
WORKER = "-m celery -A leaderboard_site worker -Q evaluation --concurrency 1 --loglevel WARNING"


def _worker(name: str, environ: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, *WORKER.split(), "--without-gossip", "--without-mingle"]
    with log.open("ab") as output:
        return subprocess.Popen(
            [*command, "-n", f"{name}@%h"],
            cwd=PROJECT,
            env=environ,
            start_new_session=True,  # its own process group: kill -9 takes the pool child too
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.needs_shared_database
@pytest.mark.needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_leaves_the_job_to_another(
    eval_settings, harness, tmp_path
) -> None:
    from submissions import tasks

    eval_settings.EVAL_LEASE_SECONDS = 6
    database = connection.settings_dict
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "leaderboard_site.settings.test",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        "EVAL_LEASE_SECONDS": "6",
        "EVAL_TASKS": ",".join(harness["EVAL_TASKS"]),
        **{k: str(v) for k, v in harness.items() if k not in ("EVAL_TASKS", "EVAL_LIMIT")},
    }
    request = make_request("acme/smollm2")

    log = tmp_path / "workers.log"
    first = _worker("first", environ, log)
    try:
        tasks.evaluate_next.delay()
        _wait_for(lambda: _status(request) == Status.EVALUATING, 60, "the first worker's claim")
        time.sleep(3)  # mid-run: the model is loading or answering
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        assert _status(request) == Status.EVALUATING  # held by a dead job
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)

    second = _worker("second", environ, log)
    try:
        # The lease runs out; beat's reconciliation puts the job back and wakes a worker.
        _wait_for(lambda: services.requests_reclaim_expired() == (1, 0), 30, "the lease")
        tasks.evaluate_next.delay()
        done = (Status.FINISHED, Status.FAILED)
        _wait_for(lambda: _status(request) in done, 600, f"the second run ({log})")
    finally:
        os.killpg(second.pid, signal.SIGKILL)
        second.wait()
    request.refresh_from_db()
    assert request.status == Status.FINISHED, (request.reason, log.read_text()[-3000:])
    assert request.attempts == 2
    assert request.job_id.startswith("second@")
    assert Entry.objects.count() == 1  # results written once
    assert Entry.objects.get().bbh == pytest.approx(EXPECTED["bbh"])


def _status(request: EvalRequest) -> str:
    return EvalRequest.objects.values_list("status", flat=True).get(pk=request.pk)


def test_the_web_process_never_imports_the_harness() -> None:
    code = (
        "import sys\n"
        "from leaderboard_site.wsgi import application\n"
        "from django.urls import resolve\n"
        "resolve('/api/models/status')\n"
        "import submissions.admin, submissions.tasks, benchmarks.api.views\n"
        "print(sorted(m for m in ('lm_eval', 'torch', 'transformers') if m in sys.modules))\n"
    )
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "leaderboard_site.settings.test"}
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=environ,
                            capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "[]"
