"""The results parser and the scorer against a results file scored by hand."""

from __future__ import annotations

from typing import Any

import pytest

from leaderboard.scoring import BBH_CHOICES
from submissions.evaluation.results import ResultsError, co2_kg, parse

MATH = ["algebra", "counting_and_prob", "geometry", "intermediate_algebra", "num_theory",
        "prealgebra", "precalculus"]  # fmt: skip


GROUPS = {"leaderboard_bbh", "leaderboard_math_hard", "leaderboard_gpqa", "leaderboard_musr"}


def results_file() -> dict[str, Any]:
    results: dict[str, Any] = {
        "leaderboard_ifeval": {
            "prompt_level_strict_acc,none": 0.6,
            "inst_level_strict_acc,none": 0.7,
        },
        "leaderboard_bbh": {"acc_norm,none": 0.9},
        "leaderboard_math_hard": {"exact_match,none": 0.2},
        "leaderboard_gpqa": {"acc_norm,none": 0.4},
        "leaderboard_musr": {"acc_norm,none": 0.5},
        "leaderboard_mmlu_pro": {"acc,none": 0.28},
        "leaderboard_musr_murder_mysteries": {"acc_norm,none": 0.75},
        "leaderboard_musr_object_placements": {"acc_norm,none": 0.2},
        "leaderboard_musr_team_allocation": {"acc_norm,none": 0.5},
    }
    for name in BBH_CHOICES:
        results[f"leaderboard_bbh_{name}"] = {"acc_norm,none": 0.5 if name == "navigate" else 1.0}
    for name in ("diamond", "extended", "main"):
        results[f"leaderboard_gpqa_{name}"] = {"acc_norm,none": 0.4}
    for name in MATH:
        results[f"leaderboard_math_{name}_hard"] = {"exact_match,none": 0.2}
    return {
        "results": results,
        "configs": {name: {} for name in results if name not in GROUPS},  # leaf tasks only
        "total_evaluation_time_seconds": "1800.0",
    }


def test_scores_computed_by_hand() -> None:
    evaluation = parse(results_file())
    scores = evaluation.scores
    assert evaluation.complete
    # IFEval: (0.6 + 0.7) / 2 = 0.65 -> 65
    assert scores.ifeval.raw == pytest.approx(0.65)
    assert scores.ifeval.normalized == pytest.approx(65.0)
    # BBH: 23 subtasks at 1.0 -> 100 each; navigate 0.5 of 2 choices -> 0; mean 2300 / 24
    assert scores.bbh.raw == pytest.approx(0.9)  # the group's value
    assert scores.bbh.normalized == pytest.approx(2300 / 24)
    # MATH: 0.2 -> 20 (no chance level)
    assert scores.math.normalized == pytest.approx(20.0)
    # GPQA: (0.4 - 0.25) / 0.75 -> 20
    assert scores.gpqa.normalized == pytest.approx(20.0)
    # MUSR: 0.75 of 2 -> 50; 0.2 of 5 -> 0 (chance); 0.5 of 3 -> 25; mean 25
    assert scores.musr.raw == pytest.approx(0.5)
    assert scores.musr.normalized == pytest.approx(25.0)
    # MMLU-PRO: (0.28 - 0.1) / 0.9 -> 20
    assert scores.mmlu_pro.normalized == pytest.approx(20.0)
    assert scores.average == pytest.approx((65 + 2300 / 24 + 20 + 20 + 25 + 20) / 6)
    assert scores.average == pytest.approx(40.972222, abs=1e-5)
    assert evaluation.seconds == 1800.0


def test_without_groups_the_raw_score_is_the_sample_weighted_mean() -> None:
    file = results_file()
    for group in GROUPS:
        del file["results"][group]
    file["results"]["leaderboard_math_algebra_hard"] = {"exact_match,none": 0.1}
    file["results"]["leaderboard_math_geometry_hard"] = {"exact_match,none": 0.3}
    file["n-samples"] = {
        f"leaderboard_math_{name}_hard": {"original": 10, "effective": 10} for name in MATH
    }
    file["n-samples"]["leaderboard_math_geometry_hard"] = {"original": 30, "effective": 30}
    scores = parse(file).scores
    # (0.1*10 + 0.3*30 + 0.2*10*5) / (10 + 30 + 50) = 20 / 90
    assert scores.math.raw == pytest.approx(20 / 90)
    assert scores.musr.raw == pytest.approx((0.75 + 0.2 + 0.5) / 3)


def test_a_run_of_some_subtasks_is_scored_over_those() -> None:
    file = results_file()
    for name in BBH_CHOICES:
        if name not in ("navigate", "snarks"):
            del file["results"][f"leaderboard_bbh_{name}"]
            del file["configs"][f"leaderboard_bbh_{name}"]
    evaluation = parse(file)
    assert not evaluation.complete
    assert evaluation.scores.bbh.normalized == pytest.approx(50.0)  # (0 + 100) / 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f["results"].pop("leaderboard_ifeval"), "leaderboard_ifeval"),
        (lambda f: f["results"].pop("leaderboard_bbh_snarks"), "leaderboard_bbh_snarks"),
        (lambda f: f["results"]["leaderboard_mmlu_pro"].clear(), "acc"),
        (lambda f: f["results"]["leaderboard_mmlu_pro"].update({"acc,none": 1.5}), "outside"),
        (lambda f: f.pop("results"), "no results"),
    ],
)
def test_unscorable_files_are_errors(mutate, message: str) -> None:
    file = results_file()
    mutate(file)
    with pytest.raises(ResultsError, match=message):
        parse(file)


def test_co2_from_evaluation_time() -> None:
    # 2 hours x 5.6 kW x 269.8 g/kWh = 3021.76 g
    assert co2_kg(7200) == pytest.approx(3.02176)
