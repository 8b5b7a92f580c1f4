"""At the bench in Chromium: the scan field after a refused scan, the target beside the weight,
and the colleague who verifies the weighing signing on the compounder's screen."""

import pytest
from playwright.sync_api import Page, expect

from qa_app.services import batches, clock
from tests.api.test_results_api import VECTOR_A as UNITS
from tests.builders import setup_master_data, user
from tests.conftest import PASSWORD
from tests.e2e.test_batch_journey import scan, sign_in
from tests.e2e.test_journeys import paste
from tests.services.test_release import completed_batch

pytestmark = pytest.mark.e2e

VECTOR_A = [str(v) for v in UNITS]


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    with app.app_context():
        app.config["TEST_LOTS"] = setup_master_data(clock.today())
        return app.config["TEST_LOTS"]


@pytest.fixture
def draft(app, lots) -> str:
    """A draft of 100 capsules of 1.5 mg opened by tina; its lot number."""
    with app.app_context():
        return batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number


def selection(page: Page) -> dict:
    return page.evaluate(
        """() => { const f = document.activeElement;
                   return {id: f.id, value: f.value, start: f.selectionStart, end: f.selectionEnd}; }"""
    )


@pytest.mark.parametrize("scanned", ["syrup", "unknown"])
def test_a_refused_scan_keeps_the_cursor_in_the_barcode_with_the_text_selected(
    live_server, page, lots, draft, scanned
):
    barcode = lots.get(scanned, "LOT999999")
    sign_in(page, live_server, "tina")
    page.goto(f"{live_server}/batches/{draft}")
    expect(page.get_by_label("Lot barcode")).to_be_focused()
    scan(page, barcode)
    expect(page.locator("#scan-result .lot-check.mark-fail")).to_be_visible()
    expect(page.get_by_label("Lot barcode")).to_be_focused()
    assert selection(page) == {"id": "barcode", "value": barcode, "start": 0, "end": len(barcode)}
    expect(page.locator("#weight-target")).to_have_text("")
    # The next scan replaces the refused one and, being good, moves on to the weight.
    scan(page, lots["api"])
    expect(page.get_by_label("Lot barcode")).to_have_value(lots["api"])
    expect(page.locator("#scan-result")).to_contain_text("Usable: approved and in date.")
    expect(page.get_by_label("Weighed (mg)")).to_be_focused()


def test_a_good_scan_shows_the_target_and_the_range_beside_the_weight(live_server, page, lots, draft):
    sign_in(page, live_server, "tina")
    page.goto(f"{live_server}/batches/{draft}")
    scan(page, lots["api"])
    target = page.locator("#weight-target")
    expect(target).to_have_text("target 151.52 mg, 148.48–154.55 mg (±2.0 %)")
    expect(page.get_by_label("Weighed (mg)")).to_be_focused()
    expect(target).to_be_visible()
    # A refused scan afterwards takes the target away again.
    page.get_by_label("Lot barcode").focus()
    page.keyboard.press("Control+A")
    scan(page, lots["syrup"])
    expect(page.locator("#scan-result .lot-check.mark-fail")).to_be_visible()
    expect(target).to_have_text("")


def test_the_colleague_signs_the_verification_on_the_compounders_screen(app, live_server, page, lots, draft):
    with app.app_context():
        batches.record_component(user("tina"), draft, barcode=lots["api"], quantity_mg=151.6, balance="XS205")
    sign_in(page, live_server, "tina")
    page.goto(f"{live_server}/batches/{draft}")
    # The filler and the shells are still to record: the verification waits, closed, in its step.
    page.locator("#step-verify > summary").click()
    form = page.locator("form#verify")
    form.get_by_label("Verifier's username").fill("rob")
    form.get_by_label("Verifier's password").fill("not-rob's-password")
    form.get_by_role("button", name="Sign: verified").click()
    expect(page.locator("#sig_password-error")).to_have_text("Wrong password; enter your own password again.")
    expect(page.get_by_label("Verifier's username")).to_have_value("rob")

    form = page.locator("form#verify")
    form.get_by_label("Verifier's password").fill(PASSWORD)
    form.get_by_role("button", name="Sign: verified").click()
    expect(page.get_by_role("status")).to_have_text("API weighing verified and signed.")
    expect(page.locator("#step-verify > summary")).to_contain_text("API weighing verified by rob")
    expect(page.locator("footer")).to_contain_text("signed in as Tina Technician")
    expect(page.locator("form#verify")).to_have_count(0)


def test_a_column_longer_than_the_grid_fills_nothing_and_a_decimal_comma_is_named(
    app, live_server, page, lots
):
    with app.app_context():
        lot = completed_batch()
    sign_in(page, live_server, "tina")
    page.goto(f"{live_server}/batches/{lot}")
    grid = page.locator("form#result-content_uniformity fieldset.cu-grid")
    cells = grid.locator("input")
    paste(page, live_server, cells.first, "\r\n".join([*VECTOR_A, "99.1", "100.2"]) + "\r\n")
    expect(grid.locator(".paste-error")).to_have_text(
        "12 lines pasted for 10 cells from unit 1: nothing was filled. Paste one value per unit."
    )
    for i in range(10):
        expect(cells.nth(i)).to_have_value("")

    typed = [*VECTOR_A[:2], VECTOR_A[2].replace(".", ","), *VECTOR_A[3:]]
    paste(page, live_server, cells.first, "\n".join(typed))
    expect(grid.locator(".paste-error")).to_have_count(0)
    expect(cells.nth(2)).to_have_value(typed[2])  # as pasted, never split at the comma
    page.get_by_role("button", name="Record content uniformity result").click()
    grid = page.locator("form#result-content_uniformity fieldset.cu-grid")
    expect(grid.locator(".field-error")).to_have_text(
        f'Unit 3: "{typed[2]}" is not one number; use a point for decimals.'
    )
    expect(grid.locator("input").nth(2)).to_have_value(typed[2])
