"""The benchmarks pages: a run started from the form against the local model server, its
progress bar reaching 100 % without a reload, then its results; no serious accessibility
violation on /benchmarks."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, serious_violations, sign_in
from tests.support.live import LiveServer
from tests.support.llm_server import LLMServer


def test_a_run_started_from_the_page_reaches_100_percent_live(
    page: Any, site: LiveServer, llm: LLMServer
) -> None:
    llm.state.delay = 0.3  # 12 answers, 2 at a time: the run lasts ~2 s, the page sees it go
    try:
        sign_in(page, site, "alice")
        page.goto(f"{site.url}/benchmarks")
        assert serious_violations(page) == []
        page.get_by_label("Name", exact=True).fill("browser run")
        page.get_by_label("Provider of target 1").select_option("openai")
        page.get_by_label("Model of target 1").fill("tiny-browser")
        page.get_by_label("Dataset", exact=True).select_option("arithmetic")
        page.get_by_label("Iterations").fill("12")
        page.get_by_label("Concurrency").fill("2")
        page.get_by_role("button", name="Start the run").click()

        expect(page.get_by_role("heading", name="browser run")).to_be_visible()
        page.evaluate("window.notReloaded = true")
        assert int(page.locator("#run-progress").get_attribute("value")) < 100
        expect(page.locator("#run-progress")).to_have_attribute("value", "100", timeout=60_000)
        expect(page.locator("#run-status")).to_have_text("completed")
        table = page.locator("#results-table")
        expect(table).to_contain_text("openai · tiny-browser")
        expect(page.locator("figure.chart svg")).to_have_count(4)
        assert page.evaluate("window.notReloaded") is True
        screenshot(page, "benchmark-run")
    finally:
        llm.state.delay = 0.0
