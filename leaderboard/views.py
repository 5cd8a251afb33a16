"""The leaderboard's web pages: parse, call the selectors the API uses, render.

The leaderboard page (`/`) takes the query parameters of `GET /api/v1/models/` (search, filters,
ordering) plus the page's own (`size`, `cols`, `scores`, `pin`), renders the first rows of that
view with the API's filter set, and hands the rest to leaderboard.js, which filters the
snapshot's formatted list in the browser (or pages through the API above CLIENT_LIMIT entries).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from leaderboard import selectors
from leaderboard.api.filters import EntryFilter
from leaderboard.contents import BENCHMARK_COLUMNS, DETAILS_ORG, FIELDS, HUB_URL, Row
from leaderboard.formatting import formatted_row, upstream_api
from leaderboard.models import Entry, ModelType, Precision
from leaderboard.snapshot import search_index_get
from submissions.selectors import model_requests
from votes.selectors import model_counts, user_votes

FIRST_ROWS = 50  # rendered in the HTML, so the table shows before any script runs
CLIENT_LIMIT = 20_000  # up to this many entries the page filters the full list in the browser
COMPARE_MAX = 5

# The upstream frontend's quick filters: billions of parameters, from `min` (included) to `max`
# (excluded), so that a 7B model is a mid-range model and not a consumer one.
SIZES: dict[str, dict[str, Any]] = {
    "edge": {"label": "Edge devices", "min": 0, "max": 3},
    "consumer": {"label": "Consumers", "min": 3, "max": 7},
    "mid": {"label": "Mid-range", "min": 7, "max": 65},
    "gpu": {"label": "GPU-rich", "min": 65, "max": 141},
}

BENCHMARKS = [(key, display) for key, display, _ in BENCHMARK_COLUMNS]
# (key, header, the API's ordering, visible by default)
COLUMNS = [
    ("type", "Type", None, True),
    ("average", "Average", "average", True),
    *[(key, display, key, True) for key, display in BENCHMARKS],
    ("co2", "CO₂ (kg)", "co2_cost", True),
    ("params", "Params (B)", "params", False),
    ("precision", "Precision", None, False),
    ("hearts", "Hub ❤️", "hearts", False),
    ("license", "Licence", None, False),
    ("architecture", "Architecture", None, False),
    ("submitted", "Submitted", "submission_date", False),
]
DEFAULT_COLUMNS = [key for key, _, _, shown in COLUMNS if shown]
TYPES = {choice.value: {"icon": choice.symbol, "label": str(choice.label)} for choice in ModelType}
HIDES = [
    ("hide_merged", "merged models"),
    ("hide_moe", "mixtures of experts"),
    ("hide_flagged", "flagged models"),
    ("hide_unavailable", "models no longer on the Hub"),
]
PAGE_PARAMS = ("size", "cols", "scores", "pin")  # the page's own: not the API's


def api_query(query: QueryDict) -> QueryDict:
    """The page's query as `GET /api/v1/models/` parameters: `size` becomes a parameter range
    (leaderboard.js does the same for its API calls)."""
    params = query.copy()
    for name in PAGE_PARAMS:
        params.pop(name, None)
    size = SIZES.get(query.get("size", ""))
    if size is not None:
        given = _number(query.get("params_min"))
        params["params_min"] = str(max(size["min"], given) if given is not None else size["min"])
        params["params_below"] = str(size["max"])
    return params


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _columns(query: QueryDict) -> list[str]:
    if "cols" not in query:
        return DEFAULT_COLUMNS
    known = {key for key, *_ in COLUMNS}
    return [key for key in query.get("cols", "").split(",") if key in known]


def _view_row(item: dict[str, Any], rank: int | None, raw: bool) -> dict[str, Any]:
    """One formatted entry as the table's cells show it (leaderboard.js renders the same)."""
    scores = []
    for key, _ in BENCHMARKS:
        evaluation = item["evaluations"][key]
        value = evaluation["value"] * 100 if raw and evaluation["value"] is not None else None
        scores.append((key, value if raw else evaluation["normalized_score"]))
    values = [value for _, value in scores]
    average = item["model"]["average_score"]
    if raw:
        average = None if None in values else sum(values) / len(values)  # type: ignore[arg-type]
    name = item["model"]["name"]
    return {
        "item": item,
        "rank": rank,
        "medal": {1: "🥇", 2: "🥈", 3: "🥉"}.get(rank or 0, ""),
        "type": TYPES.get(item["model"]["type"], TYPES["other"]),
        "href": reverse("model-page", args=name.split("/", 1)) if "/" in name else "",
        "average": average,
        "scores": scores,
    }


def _headers(query: QueryDict, ordering: str) -> list[dict[str, Any]]:
    """The columns' headers: their sort state, and the link that sorts by them (numbers best
    first, then the other way)."""
    headers = []
    for key, label, order, _ in [("model", "Model", "name", True), *COLUMNS]:
        header: dict[str, Any] = {"key": key, "label": label, "order": order, "sort": None}
        if order:
            first = order if order == "name" else f"-{order}"  # names A to Z, numbers best first
            if ordering.lstrip("-") == order:
                header["sort"] = "descending" if ordering.startswith("-") else "ascending"
            params = query.copy()
            flipped = order if first.startswith("-") else f"-{order}"
            params["ordering"] = flipped if ordering == first else first
            header["href"] = f"?{params.urlencode()}"
        headers.append(header)
    return headers


def _unfiltered(query: QueryDict) -> bool:
    """The whole leaderboard by average, best first."""
    api = api_query(query)
    ordering = api.pop("ordering", [selectors.DEFAULT_ORDERING])
    return ordering[-1] in ("", selectors.DEFAULT_ORDERING) and not any(
        value for values in api.lists() for value in values[1]
    )


def _fixed(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _score_cell(key: str, value: float | None) -> str:
    if value is None:
        return f'<td class="num col-{key}">–</td>'
    width = max(0.0, min(value, 100.0))
    bar = f'<span class="bar" style="width:{width:.1f}%"></span>'
    return f'<td class="num col-{key}">{value:.2f}%{bar}</td>'


def row_html(row: dict[str, Any]) -> SafeString:
    """One row of the table, as leaderboard.js's rowHtml draws it."""
    model, metadata = row["item"]["model"], row["item"]["metadata"]
    name, label = escape(model["name"]), escape(row["type"]["label"])
    medal = f'<span role="img" aria-label="medal">{row["medal"]}</span> ' if row["medal"] else ""
    submitted = metadata["submission_date"]
    cells = [
        f'<tr data-id="{escape(row["item"]["id"])}">',
        f'<td class="num rank">{medal}{row["rank"]}</td>'
        if row["rank"]
        else '<td class="num rank">–</td>',
        f'<th scope="row" class="col-model"><a href="{escape(row["href"])}">{name}</a> '
        f'<a class="hub" href="https://huggingface.co/{name}" title="On the Hugging Face Hub" '
        f'aria-label="{name} on the Hugging Face Hub">🤗</a> '
        f'<button type="button" class="pin" aria-pressed="false" aria-label="Pin {name}" '
        'title="Pin">📌</button></th>',
        f'<td class="col-type"><span role="img" title="{label}" aria-label="{label}">'
        f"{row['type']['icon']}</span></td>",
        _score_cell("average", row["average"]),
        *[_score_cell(key, value) for key, value in row["scores"]],
        f'<td class="num col-co2">{_fixed(metadata["co2_cost"])}</td>',
        f'<td class="num col-params">{_fixed(metadata["params_billions"])}</td>',
        f'<td class="col-precision">{escape(model["precision"])}</td>',
        f'<td class="num col-hearts">{metadata["hub_hearts"]}</td>',
        f'<td class="col-license">{escape(metadata["hub_license"] or "–")}</td>',
        f'<td class="col-architecture">{escape(model["architecture"] or "–")}</td>',
        f'<td class="num col-submitted">{submitted.isoformat() if submitted else "–"}</td></tr>',
    ]
    return mark_safe("".join(cells))  # noqa: S308  # every value above is escaped


def leaderboard_page(request: HttpRequest) -> HttpResponse:
    filters = EntryFilter(data=api_query(request.GET), queryset=Entry.objects.all())
    errors = None if filters.is_valid() else filters.errors
    queryset = filters.qs if errors is None else EntryFilter(queryset=Entry.objects.all()).qs
    first = [formatted_row(Row._make(v)) for v in queryset.values_list(*FIELDS)[:FIRST_ROWS]]
    total = search_index_get().count
    raw = request.GET.get("scores") == "raw"
    ordering = request.GET.get("ordering") or selectors.DEFAULT_ORDERING
    ranked = errors is None and _unfiltered(request.GET)  # then the rank is the position
    rows = [_view_row(item, i + 1 if ranked else None, raw) for i, item in enumerate(first)]
    for row in rows:
        row["html"] = row_html(row)
    config = {
        "total": total,
        "mode": "client" if total <= CLIENT_LIMIT else "paged",
        "upstream": upstream_api(),
        "sizes": SIZES,
        "columns": [{"key": k, "label": label, "order": o} for k, label, o, _ in COLUMNS],
        "defaultColumns": DEFAULT_COLUMNS,
        "types": TYPES,
        "benchmarks": BENCHMARKS,
        "firstRows": FIRST_ROWS,
    }
    context = {
        "nav": "leaderboard",
        "q": request.GET,
        "chosen": {name: request.GET.getlist(name) for name in ("precision", "type", "pin")},
        "rows": rows,
        "shown": queryset.count(),
        "total": total,
        "errors": errors,
        "config": config,
        "sizes": SIZES,
        "columns": COLUMNS,
        "visible": _columns(request.GET),
        "raw": raw,
        "ordering": ordering,
        "headers": _headers(request.GET, ordering),
        "precisions": Precision.values,
        "types": TYPES,
        "benchmarks": BENCHMARKS,
        "hides": [(name, label, request.GET.get(name) == "true") for name, label in HIDES],
    }
    return render(request, "leaderboard/index.html", context)


def _entries(model_name: str) -> list[dict[str, Any]]:
    values = Entry.objects.filter(model_name=model_name).order_by("-average", "precision")
    return [formatted_row(Row._make(v)) for v in values.values_list(*FIELDS)]


def model_page(request: HttpRequest, org: str, name: str) -> HttpResponse:
    model_name = f"{org}/{name}"
    entries = _entries(model_name)
    requests = model_requests(model_name)
    if not entries and not requests:
        raise Http404(f"No model {model_name} on the leaderboard.")
    best = entries[0] if entries else None
    mine = []
    if request.user.is_authenticated:
        mine = [v for v in user_votes(request.user.get_username()) if v["model_id"] == model_name]
    context = {
        "model_name": model_name,
        "entries": [_view_row(item, None, raw=False) for item in entries],
        "best": best,
        "type": TYPES.get(best["model"]["type"], TYPES["other"]) if best else None,
        "charts": _charts(best) if best else [],
        "requests": requests,
        "counts": model_counts(model_name),
        "my_vote": mine[0] if mine else None,
        "hub_url": f"{HUB_URL}/{model_name}",
        "results_url": f"{HUB_URL}/datasets/{settings.HF_ORGANIZATION}/results/tree/main/"
        f"{model_name}",
        "details_url": f"{HUB_URL}/datasets/{DETAILS_ORG}/{model_name.replace('/', '__')}-details",
        "benchmarks": BENCHMARKS,
    }
    return render(request, "leaderboard/model.html", context)


CHART_BINS = 20
CHART = {"width": 300, "height": 80}


def _charts(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Each score against the leaderboard's distribution: a histogram (bins of 5 points), the
    entry's place on it, and its rank."""
    distributions = selectors.score_distributions(CHART_BINS)
    charts = []
    for key, display in [("average", "Average"), *BENCHMARKS]:
        value = (
            entry["model"]["average_score"]
            if key == "average"
            else entry["evaluations"][key]["normalized_score"]
        )
        found = distributions[key]
        tallest = max(found["bins"]) or 1
        width = CHART["width"] / CHART_BINS
        bars = [
            {
                "x": round(i * width, 1),
                "width": round(width - 1, 1),
                "height": round(count / tallest * (CHART["height"] - 14), 1),
                "y": round(CHART["height"] - 14 - count / tallest * (CHART["height"] - 14), 1),
                "count": count,
                "mine": value is not None and _bin(value) == i,
            }
            for i, count in enumerate(found["bins"])
        ]
        charts.append({
            "key": key,
            "label": display,
            "value": value,
            "rank": selectors.score_rank(key, value) if value is not None else None,
            "count": found["count"],
            "bars": bars,
            "marker": None if value is None else round(min(value, 100) / 100 * CHART["width"], 1),
            **CHART,
        })  # fmt: skip
    return charts


def _bin(value: float) -> int:
    return min(int(value / (100 / CHART_BINS)), CHART_BINS - 1) if value > 0 else 0


def compare_page(request: HttpRequest) -> HttpResponse:
    names = [n.strip() for n in request.GET.get("models", "").split(",") if n.strip()]
    added = request.GET.get("add", "").strip()
    if added:  # the form without script: add the model to the URL, then show it
        names = list(dict.fromkeys([*names, added]))[:COMPARE_MAX]
        return redirect(f"{reverse('compare')}?models={','.join(names)}")
    names = list(dict.fromkeys(names))[:COMPARE_MAX]
    models, missing = [], []
    for name in names:
        entries = _entries(name)
        if entries:
            models.append(_view_row(entries[0], None, raw=False))
        else:
            missing.append(name)
    kept = [m["item"]["model"]["name"] for m in models]
    for model in models:
        others = [n for n in kept if n != model["item"]["model"]["name"]]
        model["remove_url"] = f"{reverse('compare')}?models={','.join(others)}"
    context = {
        "nav": "compare",
        "models": models,
        "missing": missing,
        "names": ",".join(kept),
        "full": len(models) >= COMPARE_MAX,
        "max": COMPARE_MAX,
        "benchmarks": BENCHMARKS,
        "chart": _compare_chart(models),
    }
    return render(request, "leaderboard/compare.html", context)


COMPARE_COLORS = 5  # the stylesheet's series colours (compare.css: .series-0 ... .series-4)


def _compare_chart(models: list[dict[str, Any]]) -> dict[str, Any]:
    """Grouped bars: one group per benchmark (and the average), one bar per model."""
    groups = [("average", "Average"), *BENCHMARKS]
    group_width, bar_width, height = 90, 14, 180
    bars = []
    for g, (key, label) in enumerate(groups):
        for m, model in enumerate(models):
            value = model["average"] if key == "average" else dict(model["scores"])[key]
            h = round((value or 0) / 100 * height, 1)
            bars.append({
                "x": 40 + g * group_width + m * bar_width, "y": round(height - h + 10, 1),
                "height": h, "series": m % COMPARE_COLORS, "value": value, "label": label,
                "model": model["item"]["model"]["name"],
            })  # fmt: skip
    labels = [
        {"x": 40 + g * group_width + len(models) * bar_width / 2, "text": label}
        for g, (_, label) in enumerate(groups)
    ]
    ticks = [{"y": round(height - t / 100 * height + 10, 1), "value": t} for t in range(0, 101, 25)]
    return {
        "width": 40 + len(groups) * group_width,
        "height": height + 40,
        "bars": bars,
        "labels": labels,
        "ticks": ticks,
        "base": height + 10,
    }
