"""Reference-based metrics, computed exactly as documented on each (hand-checked in the tests)."""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter

import re2

from benchmarks.metrics.base import BadInput, Case, Metric, NeedsExpected, Result

ARTICLES = re.compile(r"\b(a|an|the)\b")
# A caller's pattern runs on RE2, whose time is linear in the text (no backtracking: no
# backreferences or lookaround either), and is capped in length.
MAX_PATTERN_CHARS = 1000
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def _expected(case: Case) -> str:
    if case.expected is None:
        raise NeedsExpected("this metric needs `expected`")
    return case.expected


def normalize(text: str) -> str:
    """SQuAD's answer normalization: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return " ".join(ARTICLES.sub(" ", text).split())


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def exact_match(case: Case) -> float:
    """1 when output and expected are equal after normalization."""
    return float(normalize(case.output) == normalize(_expected(case)))


def contains(case: Case) -> float:
    """1 when the normalized output contains the normalized expected text."""
    return float(normalize(_expected(case)) in normalize(case.output))


def regex(case: Case) -> Result:
    """1 when the pattern (`parameters.pattern`, else `expected`) matches anywhere in the output
    (RE2 syntax)."""
    pattern = str(case.parameters.get("pattern") or _expected(case))
    if len(pattern) > MAX_PATTERN_CHARS:
        raise BadInput(f"the pattern is longer than {MAX_PATTERN_CHARS} characters")
    try:
        compiled = re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"invalid regular expression (RE2 syntax): {reason}") from exc
    return Result(float(compiled.search(case.output) is not None), {"pattern": pattern})


def f1(case: Case) -> float:
    """Token-overlap F1 between output and expected (SQuAD)."""
    predicted, reference = tokens(case.output), tokens(_expected(case))
    if not predicted or not reference:
        return float(predicted == reference)
    common = sum((Counter(predicted) & Counter(reference)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(reference)
    return 2 * precision * recall / (precision + recall)


def _lcs(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(case: Case) -> float:
    """ROUGE-L F1: longest common subsequence of tokens over output and expected lengths."""
    predicted, reference = tokens(case.output), tokens(_expected(case))
    lcs = _lcs(predicted, reference)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(predicted), lcs / len(reference)
    return 2 * precision * recall / (precision + recall)


def bleu(case: Case) -> Result:
    """Sentence BLEU-4 with the brevity penalty; n-gram precisions above unigrams are smoothed
    by adding one to numerator and denominator (Lin & Och, 2004)."""
    predicted, reference = tokens(case.output), tokens(_expected(case))
    if not predicted:
        return Result(0.0, {"precisions": []})
    precisions = []
    for n in range(1, 5):
        grams = Counter(tuple(predicted[i : i + n]) for i in range(len(predicted) - n + 1))
        refs = Counter(tuple(reference[i : i + n]) for i in range(len(reference) - n + 1))
        matched, total = sum((grams & refs).values()), max(1, sum(grams.values()))
        precisions.append(matched / total if n == 1 else (matched + 1) / (total + 1))
    if precisions[0] == 0:
        return Result(0.0, {"precisions": precisions})
    penalty = (
        1.0 if len(predicted) > len(reference) else math.exp(1 - len(reference) / len(predicted))
    )
    score = penalty * math.exp(sum(math.log(p) for p in precisions) / 4)
    return Result(score, {"precisions": precisions, "brevity_penalty": penalty})


def json_valid(case: Case) -> Result:
    """1 when the output parses as JSON (nested no deeper than the parser goes, ~1,000 levels)."""
    try:
        json.loads(case.output)
    except ValueError as exc:
        return Result(0.0, {"error": str(exc)[:200]})
    except RecursionError:
        return Result(0.0, {"error": "nested too deeply to parse"})
    return Result(1.0)


def latency(case: Case) -> Result:
    """1 at or under `parameters.threshold_ms` (1000), then threshold / latency."""
    if case.latency_ms is None:
        raise NeedsExpected("the latency metric needs `latency_ms`")
    threshold = float(case.parameters.get("threshold_ms", 1000))
    score = 1.0 if case.latency_ms <= threshold else threshold / case.latency_ms
    return Result(score, {"latency_ms": case.latency_ms, "threshold_ms": threshold})


EXACT_MATCH = Metric("exact_match", "output equals expected after normalization", exact_match)
CONTAINS = Metric("contains", "output contains expected after normalization", contains)
REGEX = Metric("regex", "a regular expression matches the output", regex)
F1 = Metric("f1", "token-overlap F1 with expected", f1)
ROUGE_L = Metric("rouge_l", "ROUGE-L F1 with expected", rouge_l)
BLEU = Metric("bleu", "sentence BLEU-4 with expected", bleu)
JSON_VALID = Metric("json_valid", "the output is valid JSON", json_valid)
LATENCY = Metric("latency", "1 under the latency threshold, then threshold / latency", latency)
