"""The `contents` dataset shape: its columns, and conversion between its rows and entries.

The raw leaderboard (`GET /api/leaderboard`), the contents parquet we mirror to the Hub and the
files `import_contents` reads all use these column names, in this order.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from leaderboard.models import ModelType, Precision, WeightType

MODEL_LINK_STYLE = (
    "color: var(--link-text-color); text-decoration: underline;text-decoration-style: dotted;"
)
HUB_URL = "https://huggingface.co"
DETAILS_ORG = "open-llm-leaderboard"


BENCHMARK_COLUMNS = (
    ("ifeval", "IFEval", "IFEval"),
    ("bbh", "BBH", "BBH"),
    ("math", "MATH Lvl 5", "MATH Level 5"),
    ("gpqa", "GPQA", "GPQA"),
    ("musr", "MUSR", "MUSR"),
    ("mmlu_pro", "MMLU-PRO", "MMLU-PRO"),
)  # (field, contents column, display name in the formatted shape)

LEGACY_COLUMNS = {"Maintainer's Highlight": "Official Providers"}

_TYPE_BY_LABEL = {str(choice.label): choice for choice in ModelType}
_TYPE_BY_SYMBOL = {choice.symbol: choice for choice in ModelType}


def model_html(name: str) -> str:
    details = f"{HUB_URL}/datasets/{DETAILS_ORG}/{name.replace('/', '__')}-details"
    return (
        f'<a target="_blank" href="{HUB_URL}/{name}" style="{MODEL_LINK_STYLE}">{name}</a>'
        f'  <a target="_blank" href="{details}" style="{MODEL_LINK_STYLE}">📑</a>'
    )


class Row(NamedTuple):
    """Entry values as the snapshot and the list endpoints read them (`values_list(*FIELDS)`)."""

    model_name: str
    precision: str
    revision_sha: str
    chat_template: bool
    model_type: str
    weight_type: str
    architecture: str
    average: float | None
    hub_license: str | None
    hub_hearts: int
    params_billions: float | None
    available_on_hub: bool
    moe: bool
    flagged: bool
    co2_cost: float | None
    ifeval_raw: float | None
    ifeval: float | None
    bbh_raw: float | None
    bbh: float | None
    math_raw: float | None
    math: float | None
    gpqa_raw: float | None
    gpqa: float | None
    musr_raw: float | None
    musr: float | None
    mmlu_pro_raw: float | None
    mmlu_pro: float | None
    merged: bool
    official_provider: bool
    upload_date: dt.date | None
    submission_date: dt.date | None
    generation: int
    base_model: str


FIELDS: tuple[str, ...] = Row._fields
IDENTITY = ("model_name", "precision", "revision_sha", "chat_template")
DATA_FIELDS = tuple(name for name in FIELDS if name not in IDENTITY)


def raw_row(r: Row) -> dict[str, Any]:
    """One row of the contents dataset."""
    model_type = ModelType(r.model_type)
    return {
        "eval_name": f"{r.model_name.replace('/', '_')}_{r.precision}",
        "Precision": r.precision,
        "Type": model_type.label,
        "T": model_type.symbol,
        "Weight type": r.weight_type,
        "Architecture": r.architecture,
        "Model": model_html(r.model_name),
        "fullname": r.model_name,
        "Model sha": r.revision_sha,
        "Average ⬆️": r.average,
        "Hub License": r.hub_license,
        "Hub ❤️": r.hub_hearts,
        "#Params (B)": r.params_billions,
        "Available on the hub": r.available_on_hub,
        "MoE": r.moe,
        "Flagged": r.flagged,
        "Chat Template": r.chat_template,
        "CO₂ cost (kg)": r.co2_cost,
        "IFEval Raw": r.ifeval_raw,
        "IFEval": r.ifeval,
        "BBH Raw": r.bbh_raw,
        "BBH": r.bbh,
        "MATH Lvl 5 Raw": r.math_raw,
        "MATH Lvl 5": r.math,
        "GPQA Raw": r.gpqa_raw,
        "GPQA": r.gpqa,
        "MUSR Raw": r.musr_raw,
        "MUSR": r.musr,
        "MMLU-PRO Raw": r.mmlu_pro_raw,
        "MMLU-PRO": r.mmlu_pro,
        "Merged": r.merged,
        "Official Providers": r.official_provider,
        "Upload To Hub Date": r.upload_date,
        "Submission Date": r.submission_date,
        "Generation": r.generation,
        "Base Model": r.base_model,
    }


RAW_COLUMNS: tuple[str, ...] = tuple(
    raw_row(Row._make(["a/b", "float16", "", True, "chat", *[None] * 28]))
)


# --- parsing rows of an imported file ---------------------------------------------------------
class RowError(ValueError):
    def __init__(self, column: str, message: str):
        super().__init__(f"column {column!r}: {message}")
        self.column = column
        self.message = message


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    raise ValueError(f"expected text, got {value!r}")


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _int(value: Any) -> int:
    number = _float(value)
    if not number.is_integer():
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(_text(value)[:10])
    except ValueError:
        raise ValueError(f"expected a date (YYYY-MM-DD), got {value!r}") from None


def _model_type(value: Any) -> str:
    text = _text(value)
    choice = _TYPE_BY_LABEL.get(text) or _TYPE_BY_SYMBOL.get(text)
    if choice is None and text in ModelType.values:
        choice = ModelType(text)
    if choice is None:
        raise ValueError(f"unknown model type {text!r}; expected one of {ModelType.values}")
    return choice.value


def _choice(options: Sequence[str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value)
        if text not in options:
            raise ValueError(f"{text!r} is not one of {list(options)}")
        return text

    return parse


@dataclass(frozen=True)
class Column:
    name: str
    field: str
    parse: Callable[[Any], Any]
    required: bool = False
    default: Any = None


COLUMNS: tuple[Column, ...] = (
    Column("fullname", "model_name", _text, required=True),
    Column("Precision", "precision", _choice(Precision.values), required=True),
    Column("Model sha", "revision_sha", _text, default=""),
    Column("Chat Template", "chat_template", _bool, required=True),
    Column("Type", "model_type", _model_type, required=True),
    Column("Weight type", "weight_type", _choice(WeightType.values), default="Original"),
    Column("Architecture", "architecture", _text, default=""),
    Column("Average ⬆️", "average", _float),
    Column("Hub License", "hub_license", _text),
    Column("Hub ❤️", "hub_hearts", _int, default=0),
    Column("#Params (B)", "params_billions", _float),
    Column("Available on the hub", "available_on_hub", _bool, default=True),
    Column("MoE", "moe", _bool, default=False),
    Column("Flagged", "flagged", _bool, default=False),
    Column("CO₂ cost (kg)", "co2_cost", _float),
    *(
        Column(f"{column} Raw" if raw else column, f"{field}_raw" if raw else field, _float)
        for field, column, _ in BENCHMARK_COLUMNS
        for raw in (True, False)
    ),
    Column("Merged", "merged", _bool, default=False),
    Column("Official Providers", "official_provider", _bool, default=False),
    Column("Upload To Hub Date", "upload_date", _date),
    Column("Submission Date", "submission_date", _date),
    Column("Generation", "generation", _int, default=0),
    Column("Base Model", "base_model", _text, default=""),
)


def parse_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Entry field values from one contents row; raises RowError naming the bad column."""
    row = {LEGACY_COLUMNS.get(key, key): value for key, value in row.items()}
    fields: dict[str, Any] = {}
    for column in COLUMNS:
        value = row.get(column.name)
        if _is_missing(value):
            if column.required:
                raise RowError(column.name, "is required")
            fields[column.field] = column.default
            continue
        try:
            fields[column.field] = column.parse(value)
        except (ValueError, TypeError) as exc:
            raise RowError(column.name, str(exc)) from exc
    return fields
