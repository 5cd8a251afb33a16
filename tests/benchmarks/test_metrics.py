"""The built-in metrics on fixed examples, with values computed by hand."""

from __future__ import annotations

import math

import pytest

from benchmarks.metrics import text
from benchmarks.metrics.base import Case, NeedsExpected


def case(output: str, expected: str | None = None, **extra) -> Case:
    return Case(output=output, expected=expected, **extra)


def test_exact_match_normalizes_case_punctuation_and_articles() -> None:
    assert text.exact_match(case("The answer: Paris!", "answer paris")) == 1.0
    assert text.exact_match(case("Paris, France", "Paris")) == 0.0


def test_contains() -> None:
    assert text.contains(case("I think it is Paris, in France.", "paris")) == 1.0
    assert text.contains(case("Lyon", "Paris")) == 0.0


def test_regex_uses_the_pattern_parameter_or_expected() -> None:
    assert text.regex(case("total: 42 items", r"\b\d+\b")).score == 1.0
    assert text.regex(case("none", parameters={"pattern": "^n"})).score == 1.0
    with pytest.raises(ValueError, match="invalid regular expression"):
        text.regex(case("x", "("))


def test_f1_token_overlap() -> None:
    # output tokens: cat sat on mat (4); expected: cat sat (2); common 2
    # precision 2/4, recall 2/2 -> F1 = 2 * 0.5 * 1 / 1.5 = 2/3
    assert text.f1(case("The cat sat on the mat", "a cat sat")) == pytest.approx(2 / 3)
    assert text.f1(case("dog", "cat")) == 0.0


def test_rouge_l() -> None:
    # output: police killed the gunman -> police killed gunman (3 tokens, "the" dropped)
    # expected: the gunman was killed by police -> gunman was killed by police (5)
    # output (police, killed, gunman), expected (gunman, was, killed, by, police): the longest
    # common subsequence has one token
    score = text.rouge_l(case("police killed the gunman", "the gunman was killed by police"))
    assert score == pytest.approx(2 * (1 / 3) * (1 / 5) / (1 / 3 + 1 / 5))
    assert text.rouge_l(case("w x y z", "w y z")) == pytest.approx(2 * 0.75 * 1 / 1.75)


def test_bleu_by_hand() -> None:
    # output: "cat is on mat" (4 tokens) vs expected "cat is on red mat" (5 tokens)
    # 1-grams 4/4; 2-grams: (cat is)(is on)(on mat) vs ref (cat is)(is on)(on red)(red mat):
    # 2 of 3 -> smoothed 3/4; 3-grams (cat is on)(is on mat): 1 of 2 -> 2/3;
    # 4-grams (cat is on mat): 0 of 1 -> 1/2. Brevity penalty exp(1 - 5/4).
    result = text.bleu(case("cat is on mat", "cat is on red mat"))
    expected = math.exp(1 - 5 / 4) * (1.0 * 0.75 * (2 / 3) * 0.5) ** 0.25
    assert result.score == pytest.approx(expected)
    assert text.bleu(case("", "anything")).score == 0.0


def test_json_valid() -> None:
    assert text.json_valid(case('{"a": [1, 2]}')).score == 1.0
    assert text.json_valid(case("{'a': 1}")).score == 0.0
    deep = text.json_valid(case("[" * 100_000 + "]" * 100_000))
    assert deep.score == 0.0 and "too deeply" in deep.details["error"]


def test_latency() -> None:
    assert text.latency(case("x", latency_ms=500)).score == 1.0
    assert text.latency(case("x", latency_ms=2000)).score == 0.5
    assert text.latency(case("x", latency_ms=300, parameters={"threshold_ms": 100})).score == (
        pytest.approx(1 / 3)
    )


def test_reference_metrics_need_expected() -> None:
    with pytest.raises(NeedsExpected):
        text.f1(case("x"))
