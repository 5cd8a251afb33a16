from __future__ import annotations

import statistics
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from leaderboard import scoring
from leaderboard.scoring import BBH_CHOICES, MUSR_CHOICES, ScoringError, SubtaskResults

BUNDLED = Path(__file__).parents[2] / "leaderboard" / "data" / "contents-2025-03-21.parquet"


@pytest.mark.parametrize(
    ("raw", "baseline", "expected"),
    [
        (0.6, 0.25, 46.666666666666664),  # the documentation's GPQA example
        (0.25, 0.25, 0.0),
        (0.2, 0.25, 0.0),  # below chance clamps to 0
        (1.0, 0.1, 100.0),
        (0.55, 0.1, 50.0),
        (0.33, 0.0, 33.0),
    ],
)
def test_normalize(raw: float, baseline: float, expected: float) -> None:
    assert scoring.normalize(raw, baseline) == pytest.approx(expected, abs=1e-12)


def test_normalize_rejects_a_score_outside_0_1() -> None:
    with pytest.raises(ScoringError):
        scoring.normalize(1.2, 0.0)


def test_musr_is_normalized_per_subtask_then_averaged() -> None:
    # 0.7 of 2 choices -> 40; 0.4 of 5 -> 25; 0.6 of 3 -> 40; mean 35
    results = {"murder_mysteries": 0.7, "object_placements": 0.4, "team_allocation": 0.6}
    assert scoring.normalize_subtasks(results, MUSR_CHOICES) == pytest.approx(35.0)


def test_bbh_has_24_subtasks_each_with_its_own_chance_level() -> None:
    assert len(BBH_CHOICES) == 24
    at_chance = {name: 1 / count for name, count in BBH_CHOICES.items()}
    assert scoring.normalize_subtasks(at_chance, BBH_CHOICES) == pytest.approx(0.0, abs=1e-9)
    one_perfect = {**at_chance, "object_counting": 1.0}
    assert scoring.normalize_subtasks(one_perfect, BBH_CHOICES) == pytest.approx(100 / 24)
    # geometric_shapes has 11 choices: 6/11 correct is halfway between chance and perfect
    halfway = {**at_chance, "geometric_shapes": 6 / 11}
    assert scoring.normalize_subtasks(halfway, BBH_CHOICES) == pytest.approx(50 / 24)


def test_a_missing_subtask_is_an_error_not_a_zero() -> None:
    results = {"murder_mysteries": 0.7, "object_placements": 0.4}
    with pytest.raises(ScoringError, match="team_allocation"):
        scoring.normalize_subtasks(results, MUSR_CHOICES)


def test_score_gives_six_normalized_scores_and_their_mean() -> None:
    results = SubtaskResults(
        ifeval=0.5,
        bbh={name: 1.0 if name == "navigate" else 1 / n for name, n in BBH_CHOICES.items()},
        bbh_raw=0.42,
        math=0.1,
        gpqa=0.4,
        musr={"murder_mysteries": 0.7, "object_placements": 0.4, "team_allocation": 0.6},
        musr_raw=0.55,
        mmlu_pro=0.28,
    )
    scores = scoring.score(results)
    # by hand: 50, 100/24, 10, 20, 35, 20  -> mean 139.1666.../6
    expected = {"ifeval": 50.0, "bbh": 100 / 24, "math": 10.0, "gpqa": 20.0, "musr": 35.0}
    expected["mmlu_pro"] = 20.0
    fields = scores.as_fields()
    for name, value in expected.items():
        assert fields[name] == pytest.approx(value)
    assert fields["bbh_raw"] == 0.42
    assert fields["musr_raw"] == 0.55
    assert scores.average == pytest.approx(sum(expected.values()) / 6)


def test_published_scores_follow_the_same_rules() -> None:
    """Every row of the real snapshot agrees with our rules where they can be recomputed."""
    for row in pq.read_table(BUNDLED).to_pylist():
        assert scoring.normalize(row["GPQA Raw"], 0.25) == pytest.approx(row["GPQA"], abs=1e-9)
        assert scoring.normalize(row["MMLU-PRO Raw"], 0.1) == pytest.approx(
            row["MMLU-PRO"], abs=1e-9
        )
        assert scoring.normalize(row["IFEval Raw"], 0) == pytest.approx(row["IFEval"], abs=1e-9)
        six = [row[c] for c in ("IFEval", "BBH", "MATH Lvl 5", "GPQA", "MUSR", "MMLU-PRO")]
        assert statistics.fmean(six) == pytest.approx(row["Average ⬆️"], abs=1e-9)
