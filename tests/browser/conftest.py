"""Browser tests: Debian's Chromium driven by Playwright (pytest-playwright) against the whole
system as `make run` serves it (gunicorn's ASGI workers and the Celery workers), on the
embedded default with the bundled 4,576-model snapshot, the local Hub and the local model server.

Never downloads a browser: without /usr/bin/chromium every test here is skipped with the
reason (`.ci/run` installs Debian's `chromium` package, so CI always runs them). Every request
to an address other than 127.0.0.1 is aborted. Screenshots go to var/screenshots/ (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.hub_server import HubServer
from tests.support.live import PROJECT, LiveServer, migrated_database
from tests.support.llm_server import LLMServer

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = PROJECT / "var" / "screenshots"
PASSWORD = "browser-pass-123"
HUB_TOKEN = "hf_browser_alice"
LOCAL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/")


@pytest.hookimpl(trylast=True)  # after pytest-django's own ordering
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks the browser tests, and runs them last: Playwright's sync API keeps an event loop
    running in the main thread until the session ends, and Django refuses database work from
    a thread with a running loop (SynchronousOnlyOperation)."""
    here = Path(__file__).parent
    browser = [item for item in items if here in Path(str(item.fspath)).parents]
    for item in browser:
        item.add_marker(pytest.mark.browser)
        if not CHROMIUM.exists():
            item.add_marker(pytest.mark.skip(reason="no Chromium at /usr/bin/chromium"))
    chosen = set(browser)
    items[:] = [item for item in items if item not in chosen] + browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
        ],
    }  # fmt: skip


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    with HubServer(tmp_path_factory.mktemp("browser-hub")) as server:
        server.add_token(HUB_TOKEN, "alice-hub")
        yield server


@pytest.fixture(scope="session")
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture(scope="session")
def site(
    tmp_path_factory: pytest.TempPathFactory, hub: HubServer, llm: LLMServer
) -> Iterator[LiveServer]:
    """The whole system, with the demo snapshot, users alice (user) and root (admin)."""
    var_dir = tmp_path_factory.mktemp("browser-site")
    server = LiveServer(
        var_dir,
        whole=True,
        workers=2,
        HF_ENDPOINT=hub.url,
        OPENAI_API_KEY="sk-browser",
        OPENAI_BASE_URL=f"{llm.url}/v1",
    )
    migrated_database(var_dir)
    server.manage("load_demo_data")
    server.manage("collectstatic", "--no-input", "-v0")
    for username, role in (("alice", "user"), ("bob", "user"), ("root", "admin")):
        server.manage("create_user", username, "--role", role, "--password", PASSWORD)
    with server:
        yield server


@pytest.fixture
def context(context: Any) -> Any:
    """Playwright's context, with every request to another address aborted."""

    def route(request_route: Any) -> None:
        if LOCAL.match(request_route.request.url) or request_route.request.url.startswith("data:"):
            request_route.continue_()
        else:
            request_route.abort()

    context.route("**/*", route)
    return context


def sign_in(page: Any, site: LiveServer, username: str = "alice") -> None:
    page.goto(f"{site.url}/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/signin).*$"))


def screenshot(page: Any, name: str) -> None:
    """The page in light and in dark mode, into var/screenshots/ (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{scheme}.png"), full_page=False)
    page.emulate_media(color_scheme="light")


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now (none expected)."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
