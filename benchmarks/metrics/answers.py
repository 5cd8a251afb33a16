"""Whether a model's answer to a dataset item is right: the `accuracy` of a benchmark run.

Multiple choice: the choice the answer picks (the answer is a choice, or names its letter:
"C", "C.", "(C)", "Answer: C", "The answer is C") must be the expected one. Free-form: the
answer equals the expected text or one of the references after SQuAD's normalization (case,
punctuation, articles and spacing do not count). An item without an expected answer is not
scored (None).
"""

from __future__ import annotations

import re

from benchmarks.metrics.text import normalize

LETTER = re.compile(
    r"^\s*\(?([A-Z])\)?(?:[.):\s]|$)|\banswer(?: is)?\s*:?\s*\(?([A-Z])\b", re.IGNORECASE
)


def chosen(output: str, choices: list[str]) -> str | None:
    """The choice an answer picks, or None when it picks none (or several)."""
    text = output.strip()
    by_text = {normalize(choice): choice for choice in choices}
    if normalize(text) in by_text:
        return by_text[normalize(text)]
    if all(len(choice) == 1 for choice in choices):  # lettered choices (MMLU's schema)
        match = LETTER.search(text)
        letter = (match.group(1) or match.group(2)).upper() if match else None
        return letter if letter in choices else None
    named = [choice for choice in choices if normalize(choice) in normalize(text)]
    return named[0] if len(named) == 1 else None


def is_correct(
    output: str, *, expected: str | None, choices: list[str] | None, references: list[str]
) -> bool | None:
    if expected is None:
        return None
    if choices:
        return chosen(output, choices) == expected
    answer = normalize(output)
    return any(answer == normalize(text) for text in (expected, *references))
