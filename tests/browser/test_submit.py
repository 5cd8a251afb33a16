"""The submit page against the local Hub: a failed check's reason next to its field, then the
corrected submission queued."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.submissions.conftest import publish
from tests.support.hub_server import HubServer
from tests.support.live import LiveServer


def test_a_failed_check_is_shown_inline_then_the_fixed_submission_is_queued(
    page: Any, site: LiveServer, hub: HubServer
) -> None:
    publish(hub, "submit-org/no-template", tokenizer_config={})
    sign_in(page, site, "bob")
    page.goto(f"{site.url}/submit")
    expect(page.locator("#quota")).to_contain_text("submissions left")
    page.get_by_label("Model", exact=True).fill("submit-org/no-template")
    page.get_by_label("Model type").select_option("chat")
    page.get_by_label("Use chat template").check()
    page.get_by_role("button", name="Submit for evaluation").click()

    field = page.locator("#field-use_chat_template")
    expect(field.locator(".field-error")).to_contain_text("has no chat template")
    expect(page.get_by_label("Use chat template")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert").first).to_contain_text("not queued")
    expect(page.get_by_label("Model", exact=True)).to_have_value("submit-org/no-template")
    field.scroll_into_view_if_needed()
    screenshot(page, "submit-refused")

    page.get_by_label("Use chat template").uncheck()
    page.get_by_role("button", name="Submit for evaluation").click()
    expect(page).to_have_url(f"{site.url}/queue")
    expect(page.get_by_role("status").first).to_contain_text(
        "submit-org/no-template (bfloat16, revision"
    )
