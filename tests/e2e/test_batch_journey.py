"""Compounding at the workstation in Chromium: a scanner types the lot and presses Enter."""

import pytest
from playwright.sync_api import Page, expect

from qa_app.services import batches, clock
from tests.builders import setup_master_data, user
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e

RED = "rgb(198, 40, 40)"  # .mark-fail in app.css


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def draft(app, lots) -> str:
    """A draft of 100 capsules of 1.5 mg opened by tina; its lot number."""
    with app.app_context():
        return batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number


def sign_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(f"{live_server}/")


def posts_of(page: Page) -> list[str]:
    """The URLs of the POST requests the page sends from now on."""
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    return sent


def scan(page: Page, barcode: str) -> None:
    """What a keyboard-wedge scanner does in the focused field: the characters, then Enter."""
    page.keyboard.type(barcode)
    page.keyboard.press("Enter")


def test_a_scanned_api_lot_is_checked_and_the_weight_is_recorded(live_server, page, lots, draft):
    sign_in(page, live_server, "tina")
    page.goto(f"{live_server}/batches/{draft}")
    posted = posts_of(page)
    page.get_by_label("Lot barcode").focus()
    scan(page, lots["api"])
    expect(page.locator("#scan-result")).to_contain_text("Usable: approved and in date.", timeout=1000)
    expect(page.get_by_label("Weighed (mg)")).to_be_focused()
    assert posted == []
    assert page.url == f"{live_server}/batches/{draft}"
    expect(page.get_by_label("Lot barcode")).to_have_value(lots["api"])

    page.get_by_label("Balance", exact=True).select_option("XS205")
    page.get_by_label("Weighed (mg)").focus()
    page.keyboard.type("151.6")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/batches/{draft}#barcode")
    assert posted == [f"{live_server}/batches/{draft}/components"]
    expect(page.get_by_role("status")).to_have_text("Component recorded.")
    expect(page.get_by_label("Lot barcode")).to_be_focused()  # ready for the next scan
    api = page.locator("#components ~ div table tbody tr").first
    expect(api).to_contain_text(lots["api"])
    expect(api).to_contain_text("151.6 mg")
    expect(api).to_contain_text("+0.06 % within")


def test_a_scan_of_a_material_the_formula_does_not_use_shows_in_red(live_server, page, lots, draft):
    sign_in(page, live_server, "tina")
    page.goto(f"{live_server}/batches/{draft}")
    expect(page.get_by_label("Lot barcode")).to_be_focused()
    scan(page, lots["syrup"])
    answer = page.locator("#scan-result .lot-check")
    expect(answer).to_contain_text("wrong material: SYRUP; this formula uses NTX-HCL, MCC, CAP-3")
    expect(answer).to_have_class("lot-check mark-fail")
    expect(answer).to_have_css("color", RED)
    expect(page.get_by_label("Lot barcode")).to_be_focused()  # the next scan replaces the refused one


def test_the_scanners_control_characters_are_cleaned_from_the_field(live_server, page, lots, draft):
    sign_in(page, live_server, "tina")
    page.goto(f"{live_server}/batches/{draft}")
    barcode = page.get_by_label("Lot barcode")
    barcode.fill(f"\x1d{lots['api']}\x04")
    barcode.press("Enter")
    expect(barcode).to_have_value(lots["api"])
    expect(page.locator("#scan-result")).to_contain_text("Usable")


def test_scanning_the_api_lot_on_the_new_batch_form_does_not_open_the_batch(live_server, page, lots):
    sign_in(page, live_server, "tina")
    page.goto(f"{live_server}/batches/new")
    posted = posts_of(page)
    page.get_by_label("Formula (approved version)").select_option("LDN-CAP")
    page.get_by_label("Strength per dose (mg)").fill("1.5")
    page.get_by_label("API lot (optional; default: the approved lot that expires first)").focus()
    scan(page, lots["api2"])
    expect(page.get_by_label("Compounding started (only for a record entered afterwards)")).to_be_focused()
    assert posted == []
    page.get_by_label("Quantity (capsules, mL or g)").fill("100")
    page.get_by_role("button", name="Open the batch record").click()
    page.wait_for_url(f"{live_server}/batches/LDN-*")
    expect(page.get_by_role("status")).to_contain_text("Weigh 153.06 mg of API.")


@pytest.mark.parametrize(
    ("label", "field"),
    [
        pytest.param("Capsule content weights (mg)", "#weight_check textarea", id="capsule weights"),
        pytest.param(
            "Deviation reason (yield outside 95–105 %)",
            "#complete input[name=deviation_reason]",
            id="yield deviation reason",
        ),
    ],
)
def test_clicking_a_label_of_the_record_puts_the_cursor_in_its_field(live_server, page, draft, label, field):
    sign_in(page, live_server, "tina")
    page.goto(f"{live_server}/batches/{draft}?view=full")  # every step open, the later forms too
    page.locator("label", has_text=label).click()
    expect(page.locator(field)).to_be_focused(timeout=1000)
