"""Reading an lm-eval results file the way the leaderboard does.

Per subtask: BBH and MUSR `acc_norm`, GPQA `acc_norm`, MMLU-PRO `acc`, MATH `exact_match`;
IFEval is the mean of prompt-level and instruction-level strict accuracy. A benchmark's raw score
is its group's value when the file has the group, else the sample-weighted mean of its subtasks
(what lm-eval's group aggregation computes). Every task the run configured must have a result.

A run that lacks some of the leaderboard's subtasks is scored over those that ran, and
`Evaluation.missing` names the others: publishing it is the operator's choice
(`require_complete`, EVAL_ALLOW_PARTIAL), never a silent one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from leaderboard.scoring import BBH_CHOICES, MUSR_CHOICES, Scores, SubtaskResults, score

PREFIX = "leaderboard_"
GROUPS = {
    "bbh": "leaderboard_bbh",
    "gpqa": "leaderboard_gpqa",
    "math": "leaderboard_math_hard",
    "musr": "leaderboard_musr",
}


# Every leaf task of the six leaderboard benchmarks, as lm-eval's leaderboard task files name them.
MATH_SUBTASKS = ("algebra", "counting_and_prob", "geometry", "intermediate_algebra",
                 "num_theory", "prealgebra", "precalculus")  # fmt: skip
GPQA_SUBTASKS = ("diamond", "extended", "main")
LEADERBOARD_SUBTASKS: dict[str, tuple[str, ...]] = {
    "ifeval": ("leaderboard_ifeval",),
    "bbh": tuple(f"leaderboard_bbh_{name}" for name in BBH_CHOICES),
    "math": tuple(f"leaderboard_math_{name}_hard" for name in MATH_SUBTASKS),
    "gpqa": tuple(f"leaderboard_gpqa_{name}" for name in GPQA_SUBTASKS),
    "musr": tuple(f"leaderboard_musr_{name}" for name in MUSR_CHOICES),
    "mmlu_pro": ("leaderboard_mmlu_pro",),
}


class ResultsError(ValueError):
    """A results file that cannot be scored."""


class IncompleteRun(ResultsError):
    """A run without some of the leaderboard's subtasks, while partial runs are not allowed."""

    def __init__(self, missing: Iterable[str]):
        self.missing = tuple(missing)
        super().__init__(
            f"partial run refused: {len(self.missing)} leaderboard subtasks did not run: "
            f"{', '.join(self.missing)} (EVAL_ALLOW_PARTIAL=true publishes partial runs, marked "
            "as such)"
        )


def missing_subtasks(tasks: Iterable[str]) -> tuple[str, ...]:
    """The leaderboard subtasks that are not among `tasks` (leaf task names), in order."""
    present = set(tasks)
    return tuple(
        name for names in LEADERBOARD_SUBTASKS.values() for name in names if name not in present
    )


def require_complete(missing: Iterable[str]) -> None:
    """Raise IncompleteRun for missing subtasks, unless the operator allows partial runs."""
    missing = tuple(missing)
    if missing and not settings.EVAL_ALLOW_PARTIAL:
        raise IncompleteRun(missing)


@dataclass(frozen=True)
class Evaluation:
    subtasks: SubtaskResults
    scores: Scores
    missing: tuple[str, ...]  # the leaderboard subtasks that did not run
    seconds: float | None  # lm-eval's total evaluation time

    @property
    def complete(self) -> bool:
        return not self.missing


def _metric(results: Mapping[str, Any], task: str, metric: str) -> float:
    values = results.get(task)
    if not isinstance(values, Mapping):
        raise ResultsError(f"no results for {task}")
    for key in (f"{metric},none", metric):
        value = values.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    raise ResultsError(f"{task} has no {metric}")


def _subtasks(results: Mapping[str, Any], prefix: str, group: str | None) -> list[str]:
    return sorted(name for name in results if name.startswith(prefix) and name != group)


def _size(file: Mapping[str, Any], task: str) -> int:
    samples = file.get("n-samples", {}).get(task, {})
    return int(samples.get("effective") or samples.get("original") or 1)


def _raw(file: Mapping[str, Any], bench: str, tasks: list[str], metric: str) -> float:
    results = file["results"]
    group = GROUPS.get(bench)
    if group and group in results:
        try:
            return _metric(results, group, metric)
        except ResultsError:
            pass  # a group without the aggregate: weigh the subtasks ourselves
    sizes = {task: _size(file, task) for task in tasks}
    total = sum(sizes.values())
    return sum(_metric(results, task, metric) * sizes[task] for task in tasks) / total


def parse(file: Mapping[str, Any]) -> Evaluation:
    """Subtask values and the six scores of one results file."""
    results = file.get("results")
    if not isinstance(results, Mapping) or not results:
        raise ResultsError("the file has no results")
    configured = [name for name in file.get("configs", {}) if name.startswith(PREFIX)]
    missing = [name for name in configured if name not in results]
    if missing:
        raise ResultsError(f"configured tasks without results: {', '.join(sorted(missing))}")

    tasks = {
        "bbh": _subtasks(results, "leaderboard_bbh_", None),
        "musr": _subtasks(results, "leaderboard_musr_", None),
        "gpqa": _subtasks(results, "leaderboard_gpqa_", None),
        "math": _subtasks(results, "leaderboard_math_", GROUPS["math"]),
    }
    for bench, names in tasks.items():
        if not names:
            raise ResultsError(f"no {bench} subtasks in the results")
    for single in ("leaderboard_ifeval", "leaderboard_mmlu_pro"):
        if single not in results:
            raise ResultsError(f"no results for {single}")

    bbh = {
        t.removeprefix("leaderboard_bbh_"): _metric(results, t, "acc_norm") for t in tasks["bbh"]
    }
    musr = {
        t.removeprefix("leaderboard_musr_"): _metric(results, t, "acc_norm") for t in tasks["musr"]
    }
    subtasks = SubtaskResults(
        ifeval=(
            _metric(results, "leaderboard_ifeval", "prompt_level_strict_acc")
            + _metric(results, "leaderboard_ifeval", "inst_level_strict_acc")
        )
        / 2,
        bbh=bbh,
        bbh_raw=_raw(file, "bbh", tasks["bbh"], "acc_norm"),
        math=_raw(file, "math", tasks["math"], "exact_match"),
        gpqa=_raw(file, "gpqa", tasks["gpqa"], "acc_norm"),
        musr=musr,
        musr_raw=_raw(file, "musr", tasks["musr"], "acc_norm"),
        mmlu_pro=_metric(results, "leaderboard_mmlu_pro", "acc"),
    )
    absent = missing_subtasks(results)
    seconds = file.get("total_evaluation_time_seconds")
    try:
        scores = score(subtasks, complete=not absent)
    except ValueError as exc:
        raise ResultsError(str(exc)) from exc
    return Evaluation(
        subtasks=subtasks,
        scores=scores,
        missing=absent,
        seconds=float(seconds) if seconds is not None else None,
    )


def co2_kg(seconds: float) -> float:
    """Evaluation hours x EVAL_POWER_KW x EVAL_CARBON_G_PER_KWH / 1000, in kg."""
    hours = seconds / 3600
    return hours * settings.EVAL_POWER_KW * settings.EVAL_CARBON_G_PER_KWH / 1000
