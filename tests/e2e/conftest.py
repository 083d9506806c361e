"""Browser fixtures: one Chromium per session, a fresh context (cookies, storage) per test.

Debian's Chromium is launched directly: `playwright install` is never run, and nothing
leaves 127.0.0.1. A failed test leaves a full-page screenshot in `test-artifacts/`.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import CHROMIUM
from tests.factories import TEST_PASSWORD

# Playwright's sync API runs an event loop in the test thread; Django would otherwise refuse
# the ORM calls that tests make to set up and check data.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


def _artifact_path(config: pytest.Config, name: str) -> Path:
    directory = config.rootpath / "test-artifacts"
    directory.mkdir(exist_ok=True)
    return directory / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name).strip('_')}.png"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so `page` can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    page = context.new_page()
    yield page
    reports = [getattr(request.node, f"rep_{when}", None) for when in ("setup", "call")]
    if any(report is not None and report.failed for report in reports) and not page.is_closed():
        page.screenshot(path=_artifact_path(request.config, request.node.name), full_page=True)
    context.close()


@pytest.fixture
def shot(page, request):
    """`shot("checkout-done")` saves test-artifacts/checkout-done.png, for a human to look at."""

    def save(name: str) -> Path:
        path = _artifact_path(request.config, name)
        page.screenshot(path=path, full_page=True)
        return path

    return save


@pytest.fixture
def login(page):
    """`login(user)` logs in through the login page, as a person would, and waits for the nav."""

    def log_in(user, password: str = TEST_PASSWORD) -> None:
        page.goto("/accounts/login/")
        page.locator("main form input[name=username]").fill(user.username)
        page.locator("main form input[name=password]").fill(password)
        page.locator("main form [type=submit]").click()
        expect(page.get_by_test_id("nav-user")).to_have_text(user.display_name)

    return log_in
