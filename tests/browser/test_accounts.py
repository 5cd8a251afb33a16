"""Signing in and out, the account page and its API keys, the error pages, the theme."""

from __future__ import annotations

import re
import urllib.request
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, serious_violations, sign_in
from tests.support.live import LiveServer


def test_sign_in_shows_the_user_and_sign_out_ends_it(page: Any, site: LiveServer) -> None:
    page.goto(f"{site.url}/signin")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password", exact=True).fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")

    sign_in(page, site)
    header = page.get_by_role("navigation", name="Main")
    expect(header.get_by_role("link", name="alice")).to_be_visible()
    header.get_by_role("button", name="Sign out").click()
    expect(header.get_by_role("link", name="Sign in")).to_be_visible()


def test_an_api_key_is_shown_once_works_and_can_be_revoked(page: Any, site: LiveServer) -> None:
    sign_in(page, site)
    page.goto(f"{site.url}/account")
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("ltb_")
    me = urllib.request.Request(f"{site.url}/v1/auth/me", headers={"X-API-Key": key})
    with urllib.request.urlopen(me) as answer:
        assert b'"via":"api_key"' in answer.read()
    screenshot(page, "account")

    page.reload()  # the secret is not shown again
    expect(page.locator("#new-key")).to_have_count(0)
    page.get_by_role("button", name="Revoke laptop").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    expect(page.get_by_role("button", name="Revoke laptop")).to_have_count(0)


def test_the_account_lists_load_through_the_api_with_the_session(
    page: Any, site: LiveServer
) -> None:
    sign_in(page, site)
    page.goto(f"{site.url}/account")
    for box in ("#my-votes", "#my-submissions", "#my-completions", "#my-evaluations"):
        expect(page.locator(box)).not_to_contain_text("Loading", timeout=10_000)
        expect(page.locator(box)).not_to_contain_text("Could not load")


def test_an_unknown_page_is_a_page_and_an_unknown_api_route_json(
    page: Any, site: LiveServer
) -> None:
    answer = page.goto(f"{site.url}/no/such/page")
    assert answer.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    api = page.request.get(f"{site.url}/api/no-such-route")
    assert api.status == 404
    assert api.json()["error"]["code"] == "NOT_FOUND"


def test_the_theme_switch_is_remembered(page: Any, site: LiveServer) -> None:
    page.emulate_media(color_scheme="light")
    page.goto(f"{site.url}/signin")
    switch = page.get_by_role("button", name="Dark mode")
    expect(switch).to_have_attribute("aria-pressed", "false")
    switch.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.get_by_role("button", name="Dark mode")).to_have_attribute("aria-pressed", "true")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert re.match(r"rgb\((\d+), \1, ", background) or background != "rgb(255, 255, 255)"


def test_the_sign_in_and_account_pages_pass_axe(page: Any, site: LiveServer) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.goto(f"{site.url}/signin")
        assert serious_violations(page) == [], scheme
        sign_in(page, site)
        page.goto(f"{site.url}/account")
        expect(page.locator("#my-votes")).not_to_contain_text("Loading")
        assert serious_violations(page) == [], scheme
        page.get_by_role("navigation", name="Main").get_by_role("button", name="Sign out").click()
