"""Pages bench: the leaderboard page in Chromium (Debian's, never a downloaded one).

At 4,576 entries (the bundled snapshot) and 100,000 (the same rows under new names, as the
leaderboard bench builds them), served by the production web server (gunicorn's ASGI workers):
  - the time from navigation start to the first table row visible, in a fresh browser context
    (no cache), median of 5; and the first contentful paint;
  - at 4,576, the time a search keystroke takes to redraw (the input event, the filter over the
    whole list, the rows drawn, style, layout and the next frame), median over 10 keystrokes;
  - the size of the HTML of `/`, as sent (gzip) and uncompressed;
  - the admin's entry list pages (the leaderboard bench's pages), target under 0.5 s.
Beside the upstream frontend, which took 1.9-2.8 s to its first row with the same 4,576 models on
this machine.
"""

from __future__ import annotations

import gzip
import os
import statistics
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import PROJECT, free_port, gunicorn, isolated_environment, save, server

CHROMIUM = Path("/usr/bin/chromium")
SIZES = tuple(int(n) for n in os.environ.get("BENCH_PAGE_SIZES", "4576,100000").split(","))
LOADS = 5
UPSTREAM = "1.9-2.8 s"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

# Types one character at a time into the search box, each timed from its input event to the
# frame after the redraw (so style, layout and paint are in).
KEYSTROKES = """async (text) => {
  const box = document.getElementById("search");
  const times = [];
  for (const character of text) {
    const started = performance.now();
    box.value += character;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    await new Promise((done) => requestAnimationFrame(() => setTimeout(done)));
    times.push(performance.now() - started);
  }
  box.value = "";
  box.dispatchEvent(new Event("input", { bubbles: true }));
  return times;
}"""


# Looks for the first row at each frame, in the page itself (asking from here would add the
# round trips to the browser, ~0.1-0.5 s on a busy machine, to the figure).
WATCH_FIRST_ROW = """(() => {
  const look = () => {
    const row = document.querySelector("#rows tr");
    if (row && row.getBoundingClientRect().height > 0) window.firstRowAt = performance.now();
    else requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();"""


def _first_row(browser: Any, url: str) -> dict[str, float]:
    """Milliseconds from navigation start to the frame that shows the first row, and to the first
    contentful paint."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(WATCH_FIRST_ROW)
    page = context.new_page()
    page.goto(url, wait_until="commit")
    page.wait_for_function("window.firstRowAt !== undefined")
    visible = page.evaluate("window.firstRowAt")
    response = page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd")
    paint = page.evaluate(
        "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"
    )
    context.close()
    return {"first_row_ms": visible, "first_paint_ms": paint, "html_done_ms": response}


def _keystrokes(browser: Any, url: str) -> list[float]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.locator("#board:not([aria-busy])").wait_for()
    page.wait_for_timeout(500)  # the list's preparation done, the page idle
    times = page.evaluate(KEYSTROKES, "qwen2.5") + page.evaluate(KEYSTROKES, "llam")
    context.close()
    return [float(t) for t in times[1:]]  # the first warms the JIT up


def _html_size(url: str) -> dict[str, int]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request) as response:
        sent = response.read()
        encoded = response.headers.get("Content-Encoding") == "gzip"
    plain = gzip.decompress(sent) if encoded else sent
    return {"html_bytes": len(plain), "html_gzip_bytes": len(sent) if encoded else 0}


def _measure(env: dict[str, str], size: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server(gunicorn(port), env, f"{base}/health"), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            _first_row(browser, f"{base}/")  # warm: the snapshot fetched, the imports done
            loads = [_first_row(browser, f"{base}/") for _ in range(LOADS)]
            result: dict[str, Any] = {
                "first_row_ms": round(statistics.median(x["first_row_ms"] for x in loads), 1),
                "first_row_max_ms": round(max(x["first_row_ms"] for x in loads), 1),
                "first_paint_ms": round(
                    statistics.median(x["first_paint_ms"] or 0 for x in loads), 1
                ),
                "html_done_ms": round(statistics.median(x["html_done_ms"] for x in loads), 1),
                **_html_size(f"{base}/"),
            }
            if size <= 20_000:  # above, the page asks the API per pause in typing instead
                times = _keystrokes(browser, f"{base}/")
                result["keystroke_ms"] = round(statistics.median(times), 1)
                result["keystroke_max_ms"] = round(max(times), 1)
        finally:
            browser.close()
    return result


def _report(size: int, result: dict[str, Any]) -> None:
    print(
        f"  {size:>7} entries: first row {result['first_row_ms'] / 1000:.2f} s "
        f"(max {result['first_row_max_ms'] / 1000:.2f} s, first paint "
        f"{result['first_paint_ms'] / 1000:.2f} s, HTML received "
        f"{result['html_done_ms'] / 1000:.2f} s) | upstream frontend {UPSTREAM} at 4,576 | "
        f"HTML {result['html_bytes'] / 1000:.0f} kB "
        f"({result['html_gzip_bytes'] / 1000:.0f} kB gzip)"
    )
    print(f"           admin entry list pages (ms): {result['admin_ms']}")
    if "keystroke_ms" in result:
        print(f"           search keystroke: median {result['keystroke_ms']:.1f} ms, "
              f"max {result['keystroke_max_ms']:.1f} ms")  # fmt: skip


def main(duration: int = 10) -> dict[str, Any]:
    if not CHROMIUM.exists():
        print("  skipped: no Chromium at /usr/bin/chromium (apt-get install chromium)")
        return {}
    results: dict[str, Any] = {}
    with isolated_environment() as env:
        from django.core.management import call_command

        from bench.leaderboard import _admin_ms, _populate
        from leaderboard.snapshot import snapshot_rebuild

        call_command("collectstatic", "--no-input", verbosity=0)
        for size in SIZES:
            _populate(size)
            snapshot_rebuild()
            results[str(size)] = {**_measure(env, size), "admin_ms": _admin_ms()}
            _report(size, results[str(size)])
    path = save("pages", results)
    print(f"  targets: first row <= 0.5 s at 4,576 and <= 2 s at 100k; keystroke <= 50 ms. "
          f"Saved {path.relative_to(PROJECT)}")  # fmt: skip
    return results


if __name__ == "__main__":
    main()
