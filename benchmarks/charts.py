"""Bar charts of a run's results as geometry for the pages' inline SVG (templates/benchmarks/
_bar_chart.html draws them): no chart library, and the page shows them without a script."""

from __future__ import annotations

from typing import Any

WIDTH = 640
LABEL_WIDTH = 220
VALUE_WIDTH = 80
BAR_HEIGHT = 14
GAP = 10
COLOURS = ("var(--accent)", "var(--bar)", "var(--warn)")


def bar_chart(
    title: str, groups: list[tuple[str, list[float | None]]], series: list[str], unit: str = ""
) -> dict[str, Any]:
    """Horizontal bars: one group per label (a target), one bar per series in it, scaled to the
    largest value. A missing value draws no bar and reads as a dash."""
    values = [v for _, row in groups for v in row if v is not None]
    top = max(values, default=0.0) or 1.0
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars, labels, y = [], [], 0
    for label, row in groups:
        labels.append({"text": label, "y": y + len(row) * BAR_HEIGHT / 2 + 4})
        for index, value in enumerate(row):
            width = 0.0 if value is None else max(1.0, span * value / top)
            bars.append({
                "x": LABEL_WIDTH, "y": y, "width": round(width, 1), "height": BAR_HEIGHT - 2,
                "colour": COLOURS[index % len(COLOURS)], "series": series[index],
                "text": "–" if value is None else f"{_number(value)}{unit}",
                "text_x": LABEL_WIDTH + width + 4, "text_y": y + BAR_HEIGHT - 3,
            })  # fmt: skip
            y += BAR_HEIGHT
        y += GAP
    legend = [{"name": name, "colour": COLOURS[i % len(COLOURS)], "x": LABEL_WIDTH + i * 90}
              for i, name in enumerate(series)] if len(series) > 1 else []  # fmt: skip
    return {"title": title, "width": WIDTH, "height": y + (20 if legend else 0), "bars": bars,
            "labels": labels, "legend": legend, "legend_y": y + 6}  # fmt: skip


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 1 else f"{value:.1f}"


def results_charts(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run page's charts: accuracy, latency percentiles, tokens, cost, per target."""
    labels = [f"{r['provider']} · {r['model']}" for r in results]

    def of(pick: Any) -> list[tuple[str, list[float | None]]]:
        return [(label, pick(r)) for label, r in zip(labels, results, strict=True)]

    def percent(value: float | None) -> float | None:
        return None if value is None else value * 100

    latency = ("p50", "p95", "p99")
    return [
        bar_chart("Accuracy", of(lambda r: [percent(r["accuracy"])]), ["accuracy"], " %"),
        bar_chart(
            "Latency (ms)",
            of(lambda r: [r["latency_ms"][p] for p in latency]),
            list(latency),
            " ms",
        ),
        bar_chart(
            "Tokens",
            of(lambda r: [r["tokens"]["input"], r["tokens"]["output"]]),
            ["input", "output"],
        ),
        bar_chart("Cost (USD)", of(lambda r: [r["cost"]]), ["cost"], " USD"),
    ]


def compare_charts(pair: dict[str, Any]) -> list[dict[str, Any]]:
    """Two runs' paired target, A beside B: accuracy and the latency percentiles."""
    figures = pair["metrics"]

    def both(name: str, scale: float = 1.0) -> list[float | None]:
        found = figures.get(name) or {}
        return [None if found.get(k) is None else found[k] * scale for k in ("a", "b")]

    latency = [(p, both(f"latency_{p}_ms")) for p in ("p50", "p95", "p99")]
    return [
        bar_chart("Accuracy", [("accuracy", both("accuracy", 100))], ["A", "B"], " %"),
        bar_chart("Latency (ms)", latency, ["A", "B"], " ms"),
    ]
