"""The leaderboard, a model page and the comparison in Chromium, on the 4,576 bundled models:
searches give the API's totals, quick filters, sorting, pins, raw scores, columns, and a reload
gives the same view."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, serious_violations, sign_in
from tests.support.live import LiveServer

SEARCHES = [
    "@precision:bfloat16 qwen",  # 649 on the bundled data
    "@architecture:qwen2 @license:apache",  # 554
    "^meta-llama/",  # 20
    r"qwen2\.5-(7|14)b; @type:merge llama",  # a regex, and an alternative with a field
]


def api_total(page: Any, site: LiveServer, **params: Any) -> int:
    answer = page.request.get(f"{site.url}/api/v1/models/?{urlencode({**params, 'page_size': 1})}")
    return int(answer.json()["total"])


def api_first(page: Any, site: LiveServer, **params: Any) -> dict[str, Any]:
    answer = page.request.get(f"{site.url}/api/v1/models/?{urlencode({**params, 'page_size': 1})}")
    return answer.json()["items"][0]  # type: ignore[no-any-return]


def loaded(page: Any) -> None:
    """The first rows came with the HTML; then the script has the whole list."""
    expect(page.locator("#rows tr").first).to_be_visible()
    expect(page.locator("#board")).not_to_have_attribute("aria-busy", "true")


def shown(page: Any) -> Any:
    return expect(page.locator("#shown"))


def test_search_filters_sort_pins_columns_and_a_reload(page: Any, site: LiveServer) -> None:
    page.goto(f"{site.url}/")
    loaded(page)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert serious_violations(page) == [], scheme
    screenshot(page, "leaderboard")
    shown(page).to_have_attribute("data-value", "4576")

    search = page.get_by_label("Search models")
    for text in SEARCHES:
        search.fill(text)
        shown(page).to_have_attribute("data-value", str(api_total(page, site, search=text)))
    search.fill("")

    sizes = {
        "Edge devices": (0, 3), "Consumers": (3, 7), "Mid-range": (7, 65), "GPU-rich": (65, 141),
    }  # fmt: skip
    quick = page.get_by_role("group", name="Quick filters")
    for label, (low, high) in sizes.items():
        chip = quick.get_by_role("button", name=re.compile(f"^{label}"))
        total = api_total(page, site, params_min=low, params_below=high)
        expect(chip.locator(".count")).to_have_text(f"{total:,}")
        chip.click()
        expect(chip).to_have_attribute("aria-pressed", "true")
        shown(page).to_have_attribute("data-value", str(total))
        chip.click()
    official = quick.get_by_role("button", name=re.compile("^Official providers"))
    official.click()
    shown(page).to_have_attribute("data-value", str(api_total(page, site, official_only="true")))
    official.click()

    ifeval = page.locator("#board thead th.col-ifeval")
    ifeval.get_by_role("link").click()
    expect(ifeval).to_have_attribute("aria-sort", "descending")
    best = api_first(page, site, ordering="-ifeval")
    first = page.locator("#rows tr").first
    expect(first.locator("th.col-model a").first).to_have_text(best["model"]["name"])

    page.get_by_label("Raw scores (not normalized)").check()
    raw = best["evaluations"]["ifeval"]["value"] * 100
    expect(first.locator("td.col-ifeval")).to_have_text(f"{raw:.2f}%")

    page.locator("details.columns summary").click()
    page.get_by_label("CO₂ (kg)").uncheck()
    page.get_by_label("Params (B)").check()
    expect(page.locator("#board thead th.col-co2")).to_be_hidden()
    expect(page.locator("#board thead th.col-params")).to_be_visible()

    name = best["model"]["name"]
    first.get_by_role("button", name=f"Pin {name}").click()
    search.fill("^meta-llama/")
    shown(page).to_have_attribute("data-value", "20")
    pinned = page.locator("#rows tr.pinned")
    expect(pinned).to_have_count(1)
    expect(pinned.locator("th.col-model a").first).to_have_text(name)

    expect(page).to_have_url(re.compile(r"pin=.*scores=raw|scores=raw.*pin="))
    page.reload()
    loaded(page)
    expect(search).to_have_value("^meta-llama/")
    shown(page).to_have_attribute("data-value", "20")
    expect(page.locator("#rows tr.pinned th.col-model a").first).to_have_text(name)
    expect(page.get_by_label("Raw scores (not normalized)")).to_be_checked()
    expect(page.locator("#board thead th.col-co2")).to_be_hidden()
    expect(page.locator("#board thead th.col-ifeval")).to_have_attribute("aria-sort", "descending")
    screenshot(page, "leaderboard-searched")


def test_the_model_page_and_a_vote(page: Any, site: LiveServer) -> None:
    name = api_first(page, site)["model"]["name"]
    sign_in(page, site, "bob")
    page.goto(f"{site.url}/models/{name}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.locator("figure.chart")).to_have_count(7)
    expect(page.locator("figure.chart").first).to_contain_text("Rank 1 of 4576")
    assert serious_violations(page) == []
    screenshot(page, "model")
    up = page.locator("#up-votes")
    before = int(up.text_content() or "0")
    page.get_by_role("button", name="Vote up").click()
    expect(up).to_have_text(str(before + 1))
    expect(page.get_by_role("button", name="Vote up")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Withdraw my vote").click()
    expect(up).to_have_text(str(before))


def test_the_comparison_adds_and_removes_models(page: Any, site: LiveServer) -> None:
    first = api_first(page, site)["model"]["name"]
    page.goto(f"{site.url}/compare?models={first}")
    page.get_by_label("Add a model").fill("^meta-llama/")
    suggestion = page.get_by_role("list", name="Matching models").get_by_role("button").first
    added = suggestion.text_content()
    suggestion.click()
    expect(page).to_have_url(re.compile(r"models=.+,.+"))
    expect(page.locator("svg.compare-chart rect")).to_have_count(14)
    expect(page.locator("table")).to_contain_text(str(added))
    screenshot(page, "compare")
    page.get_by_role("link", name=f"Remove {first}").click()
    expect(page.locator("svg.compare-chart rect")).to_have_count(7)


# What RE2 refuses is a substring on the server and must be one in the page (lookarounds,
# backreferences, counts over 1,000), what only RE2 spells is translated ((?P<name>, (?i), \A,
# \Q...\E, [[:alpha:]]), and the fields' odd cases (unknown, capitalized, repeated, glued).
TRICKY = [
    "(?=qwen)",
    r"(a)\1",
    "(?P<x>qwen)2",
    "@foo:bar",
    "@Precision:bfloat16",
    "(",
    "qwen;llama",
    "  ;  ",
    "(?i)QWEN",
    r"\Aqwen",
    r"\d+b-instruct$",
    "[]a]",
    "a{1001}",
    r"\_",
    r"\Qqwen2.5\E",
    "[[:digit:]]b-",
    "qwen[[:punct:]]",
    "qwen @precision:bfloat16 @precision:float16",
    "@precision:4bit;@precision:8bit",
    "@architecture:llama@license:llama3",
]


def test_the_pages_search_finds_the_apis_rows(page: Any, site: LiveServer) -> None:
    page.goto(f"{site.url}/")
    loaded(page)
    counts = page.evaluate(
        """async (queries) => {
          const { matcher } = await import("/static/leaderboard/search.js");
          const body = await (await fetch("/api/leaderboard/formatted")).json();
          const low = (text) => (text === null || text === undefined ? null : text.toLowerCase());
          const rows = body.models.map((m) => ({
            lname: m.model.name.toLowerCase(), lprecision: low(m.model.precision),
            larch: low(m.model.architecture), llicense: low(m.metadata.hub_license),
            ltype: low(m.model.type),
          }));
          return queries.map((q) => matcher(q)).map((f) => (f ? rows.filter(f) : rows).length);
        }""",
        TRICKY,
    )
    expected = [api_total(page, site, search=text) for text in TRICKY]
    assert dict(zip(TRICKY, counts, strict=True)) == dict(zip(TRICKY, expected, strict=True))
