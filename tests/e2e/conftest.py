"""A live server in a thread and headless Chromium driven by Playwright."""

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path(os.environ.get("QA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live_server(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("QA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required here but {CHROMIUM} is missing (apt-get install chromium).")
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


SCREENSHOTS = Path(os.environ.get("QA_SCREENSHOTS", "test-screenshots"))


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so the page fixture knows about a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _screenshot_if_failed(page, request, suffix: str = "") -> None:
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed and page.url != "about:blank":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{request.node.name}{suffix}.png"
        page.screenshot(path=str(target), full_page=True)
        print(f"screenshot of the failing page: {target}")


@pytest.fixture
def page(browser, request):
    """A fresh browser context per test; a failing journey leaves a full-page screenshot."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    _screenshot_if_failed(page, request)
    context.close()


@pytest.fixture
def colleague_page(browser, request):
    """A second person at another workstation: a context of its own, and its own screenshot."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    _screenshot_if_failed(page, request, "-colleague")
    context.close()
