"""Open LLM Leaderboard v2 normalization: per-subtask results -> six normalized scores + average.

A raw score is an accuracy in [0, 1]. Its normalized score rescales it so that random guessing
gives 0 and a perfect score 100: max(0, (raw - baseline) / (1 - baseline)) * 100. BBH and MUSR
are normalized per subtask (baseline 1 / number of choices) and then averaged, which is why
their normalized value cannot be derived from their aggregate raw value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import fmean

BBH_CHOICES: dict[str, int] = {
    "boolean_expressions": 2,
    "causal_judgement": 2,
    "date_understanding": 6,
    "disambiguation_qa": 3,
    "formal_fallacies": 2,
    "geometric_shapes": 11,
    "hyperbaton": 2,
    "logical_deduction_five_objects": 5,
    "logical_deduction_seven_objects": 7,
    "logical_deduction_three_objects": 3,
    "movie_recommendation": 6,
    "navigate": 2,
    "object_counting": 19,
    "penguins_in_a_table": 5,
    "reasoning_about_colored_objects": 18,
    "ruin_names": 6,
    "salient_translation_error_detection": 6,
    "snarks": 2,
    "sports_understanding": 2,
    "temporal_sequences": 4,
    "tracking_shuffled_objects_five_objects": 5,
    "tracking_shuffled_objects_seven_objects": 7,
    "tracking_shuffled_objects_three_objects": 3,
    "web_of_lies": 2,
}

MUSR_CHOICES: dict[str, int] = {
    "murder_mysteries": 2,
    "object_placements": 5,
    "team_allocation": 3,
}

GPQA_BASELINE = 0.25  # four choices
MMLU_PRO_BASELINE = 0.1  # ten choices

BENCHMARKS = ("ifeval", "bbh", "math", "gpqa", "musr", "mmlu_pro")


class ScoringError(ValueError):
    """Results that cannot be scored: a missing or out-of-range subtask value."""


def normalize(raw: float, baseline: float) -> float:
    """Rescale an accuracy so that `baseline` maps to 0 and 1 maps to 100 (never below 0)."""
    if not 0.0 <= raw <= 1.0:
        raise ScoringError(f"raw score {raw!r} is outside [0, 1]")
    if raw < baseline:
        return 0.0
    return (raw - baseline) / (1.0 - baseline) * 100.0


def normalize_subtasks(results: Mapping[str, float], choices: Mapping[str, int]) -> float:
    """Mean of the per-subtask normalized scores; every subtask must be present."""
    if not choices:
        raise ScoringError("no subtasks to score")
    missing = sorted(set(choices) - set(results))
    if missing:
        raise ScoringError(f"missing subtasks: {', '.join(missing)}")
    return fmean(normalize(results[name], 1.0 / count) for name, count in choices.items())


@dataclass(frozen=True)
class BenchmarkScore:
    raw: float
    normalized: float


@dataclass(frozen=True)
class Scores:
    ifeval: BenchmarkScore
    bbh: BenchmarkScore
    math: BenchmarkScore
    gpqa: BenchmarkScore
    musr: BenchmarkScore
    mmlu_pro: BenchmarkScore

    @property
    def average(self) -> float:
        return fmean(getattr(self, name).normalized for name in BENCHMARKS)

    def as_fields(self) -> dict[str, float]:
        """Entry field values: `<bench>_raw`, `<bench>` and `average`."""
        fields: dict[str, float] = {"average": self.average}
        for name in BENCHMARKS:
            score: BenchmarkScore = getattr(self, name)
            fields[f"{name}_raw"] = score.raw
            fields[name] = score.normalized
        return fields


@dataclass(frozen=True)
class SubtaskResults:
    """What the parser extracts from an lm-eval results file, per the leaderboard's metrics."""

    ifeval: float  # mean of prompt-level and instruction-level strict accuracy
    bbh: Mapping[str, float]  # acc_norm per subtask
    bbh_raw: float  # acc_norm of the group (what the leaderboard shows as "BBH Raw")
    math: float  # exact_match of the group
    gpqa: float  # acc_norm of the group
    musr: Mapping[str, float]  # acc_norm per subtask
    musr_raw: float
    mmlu_pro: float  # acc


def _subset(choices: Mapping[str, int], names: Iterable[str]) -> dict[str, int]:
    unknown = sorted(set(names) - set(choices))
    if unknown:
        raise ScoringError(f"unknown subtasks: {', '.join(unknown)}")
    return {name: choices[name] for name in names}


def score(results: SubtaskResults, *, complete: bool = True) -> Scores:
    """The six scores. `complete=False` scores a run of some subtasks only (a partial run, which
    is published only when the operator allows it, marked as partial): BBH and MUSR are then
    averaged over the subtasks that ran; by default every leaderboard subtask must be there."""
    bbh = BBH_CHOICES if complete else _subset(BBH_CHOICES, results.bbh)
    musr = MUSR_CHOICES if complete else _subset(MUSR_CHOICES, results.musr)
    return Scores(
        ifeval=BenchmarkScore(results.ifeval, normalize(results.ifeval, 0.0)),
        bbh=BenchmarkScore(results.bbh_raw, normalize_subtasks(results.bbh, bbh)),
        math=BenchmarkScore(results.math, normalize(results.math, 0.0)),
        gpqa=BenchmarkScore(results.gpqa, normalize(results.gpqa, GPQA_BASELINE)),
        musr=BenchmarkScore(results.musr_raw, normalize_subtasks(results.musr, musr)),
        mmlu_pro=BenchmarkScore(results.mmlu_pro, normalize(results.mmlu_pro, MMLU_PRO_BASELINE)),
    )
