"""A trituration in Chromium, as the pharmacy works: a technician makes 10 g of the 10 % w/w
trituration (the API lot scanned and weighed on the XS205, the MCC weighed, a colleague's
verification, completion into SHELF-1, the appearance result); another reviewer approves the
lot it made with their signature; then a 0.5 mg capsule batch is opened from it, with 500.00 mg
of the trituration to weigh and the chain back to the supplier's API lot (domain.md §2.1).

Only the starting point is made in-process (users, master data, the approved formulas); the
journey itself goes through the browser, with CSRF protection on as in production.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from qa_app.services import clock
from tests.builders import setup_master_data
from tests.conftest import PASSWORD, make_user
from tests.e2e.test_batch_journey import scan, sign_in
from tests.e2e.test_review_journey import console_errors
from tests.triturations import TRITURATED_CAPSULE, TRITURATION_FORMULA, setup_trituration_formulas

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def quick_failures(page, colleague_page):
    for each in (page, colleague_page):
        each.set_default_timeout(10_000)


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    app.config["WTF_CSRF_ENABLED"] = True
    make_user(app, "rhea", ("reviewer",), "Rhea Reviewer, PharmD")
    with app.app_context():
        found = setup_master_data(clock.today())
        setup_trituration_formulas()
        return found


def flash(page: Page, text: str):
    return page.locator("p.flash").filter(has_text=text)


def record_cell(page: Page, heading: str):
    row = page.locator("table.record tr").filter(has=page.locator("th").get_by_text(heading, exact=True))
    return row.locator("td")


def weigh(page: Page, live_server: str, lot: str, barcode: str, material: str, mg: str) -> None:
    """Scan the lot, choose the balance, type what it shows and press Enter."""
    expect(page.get_by_label("Lot barcode")).to_be_focused()
    scan(page, barcode)
    expect(page.locator("#scan-result")).to_contain_text(f"{material} — ")
    expect(page.locator("#scan-result")).to_contain_text("Usable: approved and in date.")
    page.get_by_label("Balance", exact=True).select_option("XS205")
    page.get_by_label("Weighed (mg)").fill(mg)
    page.get_by_label("Weighed (mg)").press("Enter")
    page.wait_for_url(f"{live_server}/batches/{lot}#barcode")
    expect(flash(page, "Component recorded.")).to_be_visible()


def test_a_trituration_is_made_approved_and_used_for_half_milligram_capsules(
    app, live_server, page, colleague_page, lots
):
    errors = console_errors(page)
    sign_in(page, live_server, "tina")
    page.get_by_role("button", name="New batch").click()
    page.get_by_label("Formula (approved version)").select_option(TRITURATION_FORMULA)
    page.get_by_label("Quantity (capsules, mL or g) — a trituration: its total mass (mg)").fill("10000")
    page.get_by_role("button", name="Open the batch record").click()
    page.wait_for_url(re.compile(rf"{live_server}/batches/LDN-[^/]+$"))
    trituration = page.url.rsplit("/", 1)[1]
    # 10000 mg × 10 % / 99.0 % = 1010.10 mg of API; the MCC makes up the rest, 8989.90 mg
    expect(flash(page, "opened")).to_have_text(f"Batch {trituration} opened. Weigh 1010.1 mg of API.")
    expect(record_cell(page, "Concentration")).to_have_text("10 % w/w (as naltrexone HCl)")
    expect(record_cell(page, "Total mass")).to_have_text("10000 mg")
    expect(record_cell(page, "API to weigh")).to_have_text("1010.10 mg")
    expect(record_cell(page, "Filler to weigh")).to_have_text("8989.90 mg")
    expect(page.locator("#small-quantity")).to_have_count(0)

    weigh(page, live_server, trituration, lots["api"], "NTX-HCL", "1010.2")
    weigh(page, live_server, trituration, lots["mcc"], "MCC", "8989.8")
    rows = page.locator("#components ~ div table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("1010.2 mg")
    expect(rows.nth(0)).to_contain_text("XS205")

    # a colleague at another workstation verifies the API weighing with their own signature
    sign_in(colleague_page, live_server, "rob")
    colleague_page.goto(f"{live_server}/batches/{trituration}")
    form = colleague_page.locator("form#verify")
    expect(form).to_contain_text(f"1010.2 mg of lot {lots['api']} against 1010.10 mg calculated")
    form.get_by_label("Verifier's username").fill("rob")
    form.get_by_label("Verifier's password").fill(PASSWORD)
    form.get_by_role("button", name="Sign: verified").click()
    expect(flash(colleague_page, "API weighing verified and signed.")).to_be_visible()

    page.reload()
    expect(page.locator("section[aria-labelledby=complete-h]")).to_contain_text("Ready: every component")
    page.get_by_label("Actual yield (capsules, mL or g)").fill("9950")
    page.get_by_label("Storage unit").select_option("SHELF-1")
    page.get_by_role("button", name="Complete: to quarantine").click()
    expect(flash(page, "Batch completed")).to_be_visible()
    made = record_cell(page, "Makes")
    expect(made).to_contain_text("of NTX-TRIT10, in quarantine — approve it on the lot page")
    intermediate = made.get_by_role("link").inner_text()
    assert re.fullmatch(r"LOT\d{6}", intermediate)

    appearance = page.locator("form#result-appearance")
    appearance.get_by_label("Result").fill("Uniform white to off-white powder")
    appearance.get_by_role("button", name="Record appearance result").click()
    expect(page.locator("#test-appearance .result")).to_contain_text("PASS")

    # another reviewer (not rob, who verified) approves the lot it made, on the lot page
    colleague_page.context.clear_cookies()
    sign_in(colleague_page, live_server, "rhea")
    colleague_page.goto(f"{live_server}/lots/{intermediate}")
    expect(colleague_page.locator("#made-in")).to_contain_text(f"Made in batch {trituration}")
    expect(colleague_page.locator("#approval-problem")).to_have_count(0)
    approve = colleague_page.locator("section#approve")
    approve.get_by_label("Your username").fill("rhea")
    approve.get_by_label("Your password").fill(PASSWORD)
    approve.get_by_role("button", name="Approve and sign").click()
    expect(flash(colleague_page, f"Lot {intermediate} approved and signed.")).to_be_visible()
    expect(colleague_page.locator("#made-in")).to_contain_text(f"Made in batch {trituration} (released)")

    # 100 capsules of 0.5 mg from the 10 % trituration: 50 mg of naltrexone HCl in 500.00 mg of it
    page.goto(f"{live_server}/batches/new")
    page.get_by_label("Formula (approved version)").select_option(TRITURATED_CAPSULE)
    page.get_by_label("Strength per dose (mg)").fill("0.5")
    page.get_by_label("Quantity (capsules, mL or g) — a trituration: its total mass (mg)").fill("100")
    page.get_by_role("button", name="Open the batch record").click()
    page.wait_for_url(re.compile(rf"{live_server}/batches/LDN-[^/]+$"))
    capsules = page.url.rsplit("/", 1)[1]
    expect(flash(page, "opened")).to_have_text(f"Batch {capsules} opened. Weigh 500.0 mg of API.")
    expect(record_cell(page, "API to weigh")).to_have_text("500.00 mg")
    chain = page.locator("section#chain")
    expect(chain.locator("p")).to_have_text(
        f"{capsules} ← NTX-TRIT10 lot {intermediate} (10 % w/w, made in batch {trituration}) "
        f"← NTX-HCL lot {lots['api']} (Medisca, supplier lot N1)"
    )
    chain.get_by_role("link", name=trituration).click()
    page.wait_for_url(f"{live_server}/batches/{trituration}")
    expect(page.locator("h1 .status")).to_have_text("Released")
    assert errors == []
