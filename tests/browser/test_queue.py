"""The queue page: a vote changes the count (and the order) without a reload; a status change
reaches the page over /ws; no serious accessibility violation."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, screenshot, serious_violations, sign_in
from tests.submissions.conftest import publish, submission
from tests.support.hub_server import HubServer
from tests.support.live import LiveServer


def call(site: LiveServer, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{site.url}{path}", data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def submitted(site: LiveServer, hub: HubServer, token: str, name: str) -> int:
    publish(hub, name)
    return int(call(site, "/api/models/submit", submission(name), token)["request"]["id"])


def test_a_vote_and_a_status_change_show_without_a_reload(
    page: Any, site: LiveServer, hub: HubServer
) -> None:
    token = call(site, "/v1/auth/login", {"username": "alice", "password": PASSWORD})
    token = token["token"]
    # The evaluation worker takes the oldest first: the vote and the cancel are on the others.
    for name in ("queue-org/first", "queue-org/voted", "queue-org/withdrawn"):
        request_id = submitted(site, hub, token, name)

    sign_in(page, site, "bob")
    page.goto(f"{site.url}/queue")
    expect(page.locator("#live-state")).to_have_text("live")
    row = page.locator('#pending-table tr[data-model="queue-org/voted"]')
    expect(row.locator(".score")).to_have_text("1")  # alice's own vote as submitter
    page.evaluate("window.notReloaded = true")
    row.get_by_role("button", name="Vote up queue-org/voted").click()
    expect(row.locator(".score")).to_have_text("2")
    expect(row.get_by_role("button", name="Vote up queue-org/voted")).to_have_attribute(
        "aria-pressed", "true"
    )
    screenshot(page, "queue")

    call(site, f"/api/models/requests/{request_id}/cancel", {}, token)  # alice withdraws one
    expect(page.locator('#pending-table tr[data-model="queue-org/withdrawn"]')).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
    assert serious_violations(page) == []
