"""What the evaluation worker refuses to publish, without running a model: partial runs (unless
EVAL_ALLOW_PARTIAL) and a precision other than the request's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from leaderboard.models import Entry
from submissions import tasks
from submissions.evaluation import runner
from submissions.evaluation.results import (
    LEADERBOARD_SUBTASKS,
    IncompleteRun,
    missing_subtasks,
    parse,
)
from submissions.models import Status
from tests.submissions.test_results import results_file
from tests.submissions.test_status import make_request

pytestmark = pytest.mark.django_db

DROPPED = [
    "leaderboard_bbh_navigate",
    "leaderboard_gpqa_diamond",
    "leaderboard_musr_team_allocation",
]


def partial_file() -> dict[str, Any]:
    """A run that lacked three subtasks, and the groups' aggregates (computed over what ran)."""
    file = results_file()
    for name in DROPPED:
        del file["results"][name]
        del file["configs"][name]
    return file


def _finish(monkeypatch: pytest.MonkeyPatch, file: dict[str, Any], name: str = "acme/model") -> Any:
    """The worker's path from a harness run that produced `file` to the request's end."""
    request = make_request(name, Status.EVALUATING, job_id="job-1")
    outcome = runner.Outcome(results=file, seconds=60.0, log="the harness's log")
    monkeypatch.setattr(runner, "run", lambda request, progress=None: outcome)
    tasks.evaluate(request, job_id="job-1")
    request.refresh_from_db()
    return request


def test_the_leaderboard_has_39_subtasks() -> None:
    counts = {bench: len(names) for bench, names in LEADERBOARD_SUBTASKS.items()}
    assert counts == {"ifeval": 1, "bbh": 24, "math": 7, "gpqa": 3, "musr": 3, "mmlu_pro": 1}
    assert missing_subtasks(results_file()["results"]) == ()
    assert missing_subtasks(partial_file()["results"]) == tuple(DROPPED)


def test_a_run_missing_subtasks_fails_naming_them(settings, monkeypatch) -> None:
    assert settings.EVAL_ALLOW_PARTIAL is False  # the default
    request = _finish(monkeypatch, partial_file())
    assert request.status == Status.FAILED
    assert request.reason.startswith("partial run refused: 3 leaderboard subtasks did not run: ")
    for name in DROPPED:
        assert name in request.reason
    assert "EVAL_ALLOW_PARTIAL" in request.reason
    assert request.log_tail == "the harness's log"
    assert not Entry.objects.exists()


def test_an_allowed_partial_run_is_published_and_says_so(settings, monkeypatch, anon) -> None:
    settings.EVAL_ALLOW_PARTIAL = True
    request = _finish(monkeypatch, partial_file())
    assert request.status == Status.FINISHED, request.reason
    entry = Entry.objects.get()
    assert entry.partial
    assert entry.missing_subtasks == DROPPED
    # Scored over what ran: 23 BBH subtasks at 1.0 -> 100 each; MUSR 50 and 0 -> 25.
    assert entry.bbh == pytest.approx(100.0)
    assert entry.musr == pytest.approx(25.0)
    for item in (
        anon.get("/api/models/acme/model/status").json()[0],
        anon.get("/api/models/status").json()["finished"][0],
    ):
        assert item["partial"] is True
        assert item["missing_subtasks"] == DROPPED


def test_a_complete_run_is_not_partial(settings, monkeypatch, anon) -> None:
    settings.EVAL_ALLOW_PARTIAL = True
    request = _finish(monkeypatch, results_file())
    assert request.status == Status.FINISHED, request.reason
    assert Entry.objects.get().missing_subtasks == []
    item = anon.get("/api/models/acme/model/status").json()[0]
    assert (item["partial"], item["missing_subtasks"]) == (False, [])


def test_a_rerun_that_completes_clears_the_mark(settings, monkeypatch) -> None:
    from submissions.models import EvalRequest

    settings.EVAL_ALLOW_PARTIAL = True
    first = _finish(monkeypatch, partial_file())
    assert Entry.objects.get().partial
    EvalRequest.objects.filter(pk=first.pk).update(status=Status.CANCELLED)  # frees the identity
    _finish(monkeypatch, results_file())
    assert Entry.objects.get().missing_subtasks == []


def test_the_admin_shows_and_filters_partial_entries(settings, monkeypatch, client) -> None:
    from tests.conftest import make_user

    settings.EVAL_ALLOW_PARTIAL = True
    _finish(monkeypatch, partial_file(), "acme/partial")
    _finish(monkeypatch, results_file(), "acme/whole")
    client.force_login(make_user("root", "admin"))
    page = client.get("/admin/leaderboard/entry/?partial=yes")
    assert page.status_code == 200
    assert b"acme/partial" in page.content and b"acme/whole" not in page.content
    page = client.get("/admin/leaderboard/entry/?partial=no")
    assert b"acme/whole" in page.content and b"acme/partial" not in page.content
    entry = Entry.objects.get(model_name="acme/partial")
    page = client.get(f"/admin/leaderboard/entry/{entry.pk}/change/")
    assert b"leaderboard_gpqa_diamond" in page.content


def test_the_parser_alone_scores_a_partial_run_and_names_what_is_missing() -> None:
    evaluation = parse(partial_file())
    assert evaluation.missing == tuple(DROPPED)
    assert not evaluation.complete
    assert str(IncompleteRun(evaluation.missing)).count("leaderboard_") == 3


# --- the precision ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("precision", "operator", "conflicts"),
    [
        ("bfloat16", "dtype=float32", ["dtype=float32"]),
        ("bfloat16", "dtype=float16", ["dtype=float16"]),
        ("bfloat16", "dtype=bfloat16", []),
        ("float16", "dtype=half", []),
        ("float16", "load_in_8bit=True", ["load_in_8bit=True"]),
        ("float16", "load_in_4bit=false", []),
        ("8bit", "dtype=float16", []),  # the compute dtype of a quantized model
        ("8bit", "load_in_8bit=False", ["load_in_8bit=False"]),
        ("4bit", "load_in_8bit=true", ["load_in_8bit=true"]),
        ("gptq", "autogptq=True", []),
        ("bfloat16", "pretrained=/models/copy,max_length=4096", []),
    ],
)
def test_precision_conflicts(precision: str, operator: str, conflicts: list[str]) -> None:
    assert runner.precision_conflicts(precision, runner.parse_model_args(operator)) == conflicts


def test_the_model_runs_in_the_requested_precision(settings) -> None:
    settings.EVAL_BACKEND = "hf"
    settings.EVAL_MODEL_ARGS = "pretrained=/models/copy,dtype=bfloat16"
    args = runner.model_args(make_request("acme/model", precision="bfloat16"))
    assert (args["pretrained"], args["dtype"]) == ("/models/copy", "bfloat16")
    settings.EVAL_MODEL_ARGS = ""
    args = runner.model_args(make_request("acme/quantized", precision="8bit"))
    assert args["load_in_8bit"] is True and "dtype" not in args  # lm-eval's default, auto


def test_a_server_backend_has_no_precision_to_check(settings) -> None:
    settings.EVAL_BACKEND = "local-completions"
    settings.EVAL_MODEL_ARGS = "base_url=http://127.0.0.1:8000/v1/completions,dtype=float32"
    assert runner.model_args(make_request("acme/model"))["dtype"] == "float32"


def test_a_dtype_that_disagrees_fails_the_run_before_it_starts(settings) -> None:
    pytest.importorskip("lm_eval", reason="the evaluation extra is not installed")
    settings.EVAL_BACKEND = "hf"
    settings.EVAL_MODEL_ARGS = "pretrained=/nowhere,dtype=float32"
    request = make_request("acme/model", Status.EVALUATING, job_id="job-1", precision="bfloat16")
    assert tasks.evaluate(request, job_id="job-1") is False
    request.refresh_from_db()
    assert request.status == Status.FAILED
    assert request.reason.startswith("EVAL_MODEL_ARGS sets dtype=float32, which disagrees with ")
    assert "requested precision bfloat16" in request.reason
    assert not Entry.objects.exists()


# --- the planned tasks, checked before the model loads ----------------------------------------
@pytest.fixture
def fixture_tasks(settings, tmp_path: Path) -> Any:
    pytest.importorskip("lm_eval", reason="the evaluation extra is not installed")
    from tests.support.evaluation import TASKS, render_tasks

    settings.EVAL_BACKEND = "hf"
    settings.EVAL_MODEL_ARGS = "pretrained=/nowhere"
    settings.EVAL_INCLUDE_PATH = str(render_tasks(tmp_path / "tasks"))
    settings.EVAL_TASKS = TASKS
    return settings


def test_the_leaderboard_groups_expand_to_every_subtask() -> None:
    pytest.importorskip("lm_eval", reason="the evaluation extra is not installed")
    import lm_eval.tasks
    from lm_eval.tasks import TaskManager

    upstream = Path(lm_eval.tasks.__file__).parent / "leaderboard"
    manager = TaskManager(include_path=str(upstream), include_defaults=False)
    every = {name for names in LEADERBOARD_SUBTASKS.values() for name in names}
    assert runner.leaf_tasks(manager, ["leaderboard"]) == every
    groups = ["leaderboard_bbh", "leaderboard_math_hard", "leaderboard_gpqa", "leaderboard_musr"]
    assert runner.leaf_tasks(manager, [*groups, "leaderboard_ifeval", "leaderboard_mmlu_pro"]) == (
        every
    )


def test_narrowed_tasks_fail_the_request_before_the_model_loads(fixture_tasks) -> None:
    from tests.support.evaluation import TASKS

    fixture_tasks.EVAL_TASKS = ["leaderboard"]  # our fixture groups: the tests' narrowed sets
    request = make_request("acme/model", Status.EVALUATING, job_id="job-1")
    assert tasks.evaluate(request, job_id="job-1") is False  # /nowhere was never loaded
    request.refresh_from_db()
    assert request.status == Status.FAILED
    assert request.reason.startswith("partial run refused: 32 leaderboard subtasks did not run: ")
    assert "leaderboard_bbh_causal_judgement" in request.reason
    assert "leaderboard_math_geometry_hard" in request.reason
    for name in TASKS:
        assert f"{name}," not in request.reason and not request.reason.endswith(name)


def test_allowed_partial_runs_still_need_every_benchmark(fixture_tasks) -> None:
    from submissions.models import EvalRequest

    fixture_tasks.EVAL_ALLOW_PARTIAL = True
    manager = runner._task_manager()
    runner.check_planned_tasks(manager)  # the narrowed fixtures: allowed
    fixture_tasks.EVAL_TASKS = [t for t in fixture_tasks.EVAL_TASKS if "math" not in t]
    with pytest.raises(runner.EvaluationError, match="EVAL_TASKS runs no subtask of math"):
        runner.check_planned_tasks(manager)
    assert not EvalRequest.objects.exists()


def test_the_evaluate_command_says_a_run_was_partial(settings, monkeypatch) -> None:
    from io import StringIO

    from django.core.management import call_command

    settings.EVAL_ALLOW_PARTIAL = True
    make_request("acme/model")
    outcome = runner.Outcome(results=partial_file(), seconds=60.0, log="")
    monkeypatch.setattr(runner, "run", lambda request, progress=None: outcome)
    output = StringIO()
    call_command("evaluate", "acme/model", stdout=output)
    assert "(partial: 3 leaderboard subtasks did not run)" in output.getvalue()
