"""The reviewer in Chromium: a certificate ZIP whose progress the page shows while htmx advances it
(under the app's CSP, with no inline script). Release with a signature, the certificate and its
verification are journey (c) in test_journeys.py."""

import pytest
from playwright.sync_api import Page, expect

from qa_app.services import clock, release
from tests.builders import setup_master_data, signature, user
from tests.e2e.test_batch_journey import sign_in
from tests.services.test_release import add_releasers, ready_batch

pytestmark = pytest.mark.e2e


@pytest.fixture
def ready(app, users) -> str:
    add_releasers(app)
    with app.app_context():
        app.config["TEST_LOTS"] = setup_master_data(clock.today())
        return ready_batch()


def console_errors(page: Page) -> list[str]:
    """Errors the page reports (a CSP refusal among them); the browser's own favicon probe aside."""
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "favicon" not in (message.location or {}).get("url", "")
            else None
        ),
    )
    return errors


def test_the_export_page_shows_progress_until_the_zip_is_ready(app, live_server, page, ready):
    with app.app_context():
        release.release(user("rita"), ready, signature("rita", "released"))
        second = ready_batch()
        release.release(user("raj"), second, signature("raj", "released"))
        today = clock.today().isoformat()
    errors = console_errors(page)
    sign_in(page, live_server, "rita")
    page.goto(f"{live_server}/review/exports")
    page.get_by_label("Issued from (local date)").fill(today)
    page.get_by_label("Issued to (local date, included)").fill(today)
    page.get_by_role("button", name="Make the ZIP").click()

    expect(page.locator("#export-progress")).to_contain_text("Done: 2 certificate(s)", timeout=10000)
    expect(page.locator("#export-progress progress")).to_have_attribute("value", "2")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the ZIP").click()
    assert download.value.suggested_filename == f"certificates-{today}-to-{today}.zip"
    expect(page.get_by_role("button", name="Continue")).to_have_count(0)
    assert errors == []
