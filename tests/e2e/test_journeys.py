"""Four journeys through the pages in Chromium, as the pharmacy works: compounding with a scanner
and a colleague's verification; results with a pasted column; release, the certificate and its
public verification; a logger's excursion and its signed disposition.

Only the starting point is made in-process (users, master data, and for the later journeys a
batch brought to where the journey picks it up, through the same services the pages call);
everything the journey itself does goes through the browser, with CSRF protection on as in
production.
"""

import re
import subprocess
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from qa_app.services import clock
from tests.builders import setup_master_data
from tests.conftest import PASSWORD, make_user
from tests.e2e.test_batch_journey import scan, sign_in
from tests.e2e.test_review_journey import console_errors
from tests.services.test_excursions import now_5min, stored_batch
from tests.services.test_release import add_releasers, completed_batch, ready_batch

pytestmark = pytest.mark.e2e

VECTOR_A = ["98.0", "99.5", "101.2", "100.4", "97.8", "102.1", "99.9", "100.6", "98.7", "101.0"]
# 10 capsule content weights around the calibrated 225 mg: mean 225.00 mg, 222.70–227.00 mg,
# sample SD √(14.90 / 9) = 1.287 mg, RSD 0.57 %; all within 202.50–247.50 mg (90–110 %).
CAPSULE_WEIGHTS = ["223.9", "226.1", "224.8", "225.5", "222.7", "227.0", "225.2", "224.4", "226.3", "224.1"]


@pytest.fixture
def csrf(app):
    """The journeys post real forms: with CSRF protection on, as the pharmacy runs it."""
    app.config["WTF_CSRF_ENABLED"] = True


@pytest.fixture(autouse=True)
def quick_failures(page, colleague_page):
    """A step that does not happen fails in 10 s, not Playwright's 30 s: a journey stays short."""
    for each in (page, colleague_page):
        each.set_default_timeout(10_000)


@pytest.fixture
def lots(app, users, csrf) -> dict[str, str]:
    with app.app_context():
        app.config["TEST_LOTS"] = setup_master_data(clock.today())
        return app.config["TEST_LOTS"]


def in_app(app, action, *args, **kwargs):
    with app.app_context():
        return action(*args, **kwargs)


def local(app, moment) -> str:
    """A moment as the pages show it: the pharmacy's local time, to the minute."""
    return moment.astimezone(ZoneInfo(app.config["QA_TIMEZONE"])).strftime("%Y-%m-%d %H:%M")


def status_of(page: Page):
    return page.locator("h1 .status")


def record_cell(page: Page, heading: str):
    """The value beside ``heading`` in the page's record tables (<th>heading</th><td>value</td>)."""
    row = page.locator("table.record tr").filter(has=page.locator("th").get_by_text(heading, exact=True))
    return row.locator("td")


def flash(page: Page, text: str):
    return page.locator("p.flash").filter(has_text=text)


# --- (a) compounding ---------------------------------------------------------------------------


def test_a_technician_compounds_a_batch_a_colleague_verifies_and_it_goes_to_quarantine(
    app, live_server, page, colleague_page, lots
):
    make_user(app, "tom", ("technician",), "Tom Second Technician")
    errors = console_errors(page)
    sign_in(page, live_server, "tina")
    page.get_by_role("button", name="New batch").click()
    page.get_by_label("Formula (approved version)").select_option("LDN-CAP")
    page.get_by_label("Strength per dose (mg)").fill("1.5")
    page.get_by_label("Quantity (capsules, mL or g)").fill("100")
    page.get_by_role("button", name="Open the batch record").click()
    page.wait_for_url(re.compile(rf"{live_server}/batches/LDN-[^/]+$"))
    lot = page.url.rsplit("/", 1)[1]
    # 1.5 mg × 100 capsules of an API assayed at 99.0 %: 150 / 0.990 = 151.52 mg
    expect(flash(page, "opened")).to_have_text(f"Batch {lot} opened. Weigh 151.52 mg of API.")
    expect(status_of(page)).to_have_text("Draft")
    expect(record_cell(page, "Filler to weigh")).to_have_text("22348.48 mg")

    for barcode, weighed, material in ((lots["api"], "151.6", "NTX-HCL"), (lots["mcc"], "22348.5", "MCC")):
        expect(page.get_by_label("Lot barcode")).to_be_focused()
        scan(page, barcode)
        expect(page.locator("#scan-result")).to_contain_text(f"{material} — ")
        expect(page.locator("#scan-result")).to_contain_text("Usable: approved and in date.")
        expect(page.get_by_label("Weighed (mg)")).to_be_focused()
        page.get_by_label("Balance", exact=True).select_option("XS205")
        page.get_by_label("Weighed (mg)").focus()
        page.keyboard.type(weighed)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server}/batches/{lot}#barcode")
        expect(flash(page, "Component recorded.")).to_be_visible()
    expect(page.get_by_label("Lot barcode")).to_be_focused()
    scan(page, lots["caps"])
    expect(page.locator("#scan-result")).to_contain_text("CAP-3 — Capsule shell #3")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Count (containers such as capsule shells)")).to_be_focused()
    page.keyboard.type("100")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/batches/{lot}#barcode")

    rows = page.locator("#components ~ div table tbody tr")
    expect(rows).to_have_count(3)
    by_tina = re.compile(r"^tina, \d{4}-\d\d-\d\d \d\d:\d\d$")
    # (151.6 − 151.515) / 151.515 = +0.06 %, within ± 2.0 %
    expect(rows.nth(0).locator("td")).to_have_text(
        [
            "NTX-HCL",
            "api",
            lots["api"],
            "Medisca (N1)",
            "2028-06-30",
            "151.6 mg",
            "151.52 mg",
            "+0.06 % within",
            "XS205",
            by_tina,
        ]
    )
    expect(rows.nth(1).locator("td")).to_have_text(
        [
            "MCC",
            "filler",
            lots["mcc"],
            "Medisca (M1)",
            "2028-12-31",
            "22348.5 mg",
            "22348.48 mg",
            "",
            "XS205",
            by_tina,
        ]
    )
    expect(rows.nth(2).locator("td")).to_have_text(
        ["CAP-3", "container", lots["caps"], "Capsugel (C1)", "2030-01-01", "100 units", "", "", "", by_tina]
    )
    expect(page.get_by_text("API weighing verified: not yet")).to_be_visible()
    expect(page.locator("#complete-h ~ ul li")).to_have_text(
        ["a second person must verify the API weighing", "record the capsule weight check"]
    )

    # a colleague at another workstation signs the verification with their own password
    sign_in(colleague_page, live_server, "tom")
    colleague_page.locator("section[aria-labelledby=verify-h]").get_by_role("link", name=lot).click()
    form = colleague_page.locator("form#verify")
    expect(form).to_contain_text(f"151.6 mg of lot {lots['api']} against 151.52 mg calculated (+0.06 %)")
    form.get_by_label("Verifier's username").fill("tom")
    form.get_by_label("Verifier's password").fill(PASSWORD)
    form.get_by_role("button", name="Sign: verified").click()
    expect(flash(colleague_page, "API weighing verified and signed.")).to_be_visible()
    expect(colleague_page.locator("#step-verify > summary")).to_contain_text("API weighing verified by tom")

    page.reload()
    expect(page.locator("form#verify")).to_have_count(0)
    page.get_by_label("Capsule content weights (mg)").fill("\n".join(CAPSULE_WEIGHTS))
    page.get_by_role("button", name="Record weight check").click()
    expect(flash(page, "Capsule weight check passed")).to_be_visible()
    expect(page.locator("#weights-h ~ table tbody tr").first.locator("td")).to_have_text(
        [
            re.compile("tina"),
            "10",
            "225.00",
            "1.287",
            "0.57",
            "222.70–227.00",
            "none",
            "PASS",
        ]
    )
    expect(page.locator("section[aria-labelledby=complete-h]")).to_contain_text("Ready: every component")

    page.get_by_label("Actual yield (capsules, mL or g)").fill("100")
    page.get_by_label("Storage unit").select_option("SHELF-1")
    page.get_by_role("button", name="Complete: to quarantine").click()
    expect(flash(page, "Batch completed")).to_have_text(
        "Batch completed: it is in quarantine until its results are in."
    )
    expect(status_of(page)).to_have_text("In quarantine")
    expect(record_cell(page, "Storage")).to_have_text("room; now in SHELF-1 (Room shelf)")
    expect(record_cell(page, "Actual yield")).to_have_text(
        re.compile(r"^\s*100 capsules = 100\.0 % of theoretical\s+within 95–105 %\s*$")
    )
    expect(page.locator("#results ~ p").first).to_contain_text(
        "Still needed for release: a valid passing result of assay, content_uniformity, appearance."
    )
    assert errors == []


# --- (b) results ------------------------------------------------------------------------------


def paste(page: Page, live_server: str, cell, text: str) -> None:
    """Ctrl+V of ``text`` from the system clipboard into ``cell``: the browser's own paste event."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    cell.focus()
    page.keyboard.press("ControlOrMeta+V")


def test_results_with_a_pasted_content_uniformity_column_bring_the_batch_to_awaiting_release(
    app, live_server, page, lots
):
    lot = in_app(app, completed_batch)
    errors = console_errors(page)
    sign_in(page, live_server, "tina")
    page.locator("section[aria-labelledby=waiting-h]").get_by_role("link", name=lot).click()
    expect(status_of(page)).to_have_text("In quarantine")

    assay = page.locator("form#result-assay")
    assay.get_by_label("Result").fill("99.84")
    assay.get_by_label("Method").fill("HPLC-UV")
    assay.get_by_label("Analyst").fill("J. Lab")
    assay.get_by_role("button", name="Record assay result").click()
    expect(flash(page, "assay:")).to_be_visible()
    expect(page.locator("#test-assay .result p").first).to_have_text(
        "PASS #1 99.84 → reported 99.8 % LC — Assay 99.8 % LC is within 90.0–110.0 % LC"
    )
    expect(status_of(page)).to_have_text("In quarantine")

    appearance = page.locator("form#result-appearance")
    appearance.get_by_label("Result").fill("Conforms")
    appearance.get_by_role("button", name="Record appearance result").click()
    expect(page.locator("#test-appearance .result")).to_contain_text("PASS")

    grid = page.locator("form#result-content_uniformity fieldset.cu-grid")
    expect(grid.locator("input")).to_have_count(10)
    # a column copied from a spreadsheet: one value a line, CRLF, a trailing newline
    paste(page, live_server, grid.locator("input").first, "\r\n".join(VECTOR_A) + "\r\n")
    for i, value in enumerate(VECTOR_A):
        expect(grid.locator("input").nth(i)).to_have_value(value)
    expect(grid.locator("input").nth(9)).to_be_focused()
    page.get_by_role("button", name="Record content uniformity result").click()

    cu = page.locator("#test-content_uniformity .result")
    expect(cu).to_contain_text("PASS")
    expect(cu).to_contain_text("stage 1, n = 10: X̄ = 99.92, s = 1.42, M = 99.92, k = 2.4, AV = 3.4 (L1 15.0)")
    expect(cu.locator(".cu-values")).to_have_text("Units 1–10: " + ", ".join(VECTOR_A))
    expect(status_of(page)).to_have_text("Awaiting release")
    expect(page.get_by_text("Still needed for release")).to_have_count(0)
    assert errors == []


# --- (c) release, certificate, verification ---------------------------------------------------


@pytest.fixture
def ready(app, lots) -> str:
    add_releasers(app)
    return in_app(app, ready_batch)


def test_a_reviewer_releases_downloads_the_certificate_and_its_url_says_valid(
    app, live_server, page, colleague_page, ready, tmp_path
):
    app.config["QA_PUBLIC_URL"] = live_server
    errors = console_errors(page)
    sign_in(page, live_server, "rita")
    queue = page.locator("section[aria-labelledby=release-h]")
    queue.locator("tr", has_text=ready).get_by_role("link", name="Review").click()
    page.wait_for_url(f"{live_server}/review/{ready}")
    expect(page.locator("h1 .status")).to_have_text("Awaiting release")
    expect(page.locator("#item-tests")).to_contain_text("YES")

    form = page.locator("form#release")
    form.get_by_label("Your username").fill("rita")
    form.get_by_label("Your password").fill(PASSWORD)
    form.get_by_role("button", name="Sign: released").click()

    page.wait_for_url(f"{live_server}/review/{ready}")
    expect(flash(page, "Batch released and signed.")).to_be_visible()
    expect(flash(page, "version 1 issued.")).to_have_text(
        re.compile(r"Certificate COA-\d{4}-\d+ version 1 issued\.")
    )
    expect(page.locator("h1 .status")).to_have_text("Released")
    link = page.get_by_role("link", name=re.compile(r"^Certificate COA-.* \(PDF\)$"))
    number = re.search(r"COA-\d{4}-\d+", link.inner_text()).group(0)

    # a click shows it in Chromium's PDF viewer …
    with page.expect_response(re.compile(r"/certificate\.pdf$")) as shown:
        link.click()
    assert shown.value.headers["content-type"] == "application/pdf"
    page.go_back()
    # … and "Save link as" keeps the file: the link with a download attribute
    link.evaluate("a => a.setAttribute('download', '')")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == f"{number}-v1-{ready}.pdf"
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert ready in text
    assert number in text
    printed = re.search(r"Verify at (https?://\S+/verify/\S+)", text)
    assert printed, text
    assert re.fullmatch(rf"{re.escape(live_server)}/verify/{number}\?code=[A-Z2-7]{{16}}", printed.group(1))
    printed = re.search(r"https?://\S+/verify/\S+\?code=\S+", text)

    # whoever holds the paper: no sign-in, the URL as printed
    colleague_page.goto(printed.group(0))
    expect(colleague_page.get_by_role("heading", level=1)).to_have_text(f"Certificate {number}, version 1")
    expect(colleague_page.get_by_role("status")).to_contain_text("Valid: issued by")
    expect(record_cell(colleague_page, "Status")).to_have_text("Valid")
    expect(record_cell(colleague_page, "Batch (lot)")).to_have_text(ready)
    colleague_page.get_by_label(re.compile("PDF|file", re.I)).set_input_files(pdf)
    colleague_page.get_by_role("button", name="Compare with the issued certificate").click()
    expect(colleague_page.locator(".flash-success")).to_contain_text(
        f"byte for byte certificate {number} version 1 (SHA-256 matches)"
    )
    assert errors == []


# --- (d) an excursion and its disposition -----------------------------------------------------


def fridge_log(end, hours: int = 48) -> bytes:
    """A logger's file: a reading every 5 minutes at 5.0 °C, with 18.0 °C from 10 h to 6 h before
    ``end`` (a power cut), the last reading 5 minutes before ``end``."""
    start = end - timedelta(hours=hours)
    lines = ["at,temperature_c"]
    for i in range(hours * 12):
        moment = start + i * timedelta(minutes=5)
        hot = end - timedelta(hours=10) <= moment < end - timedelta(hours=6)
        lines.append(f"{moment.isoformat()},{'18.0' if hot else '5.0'}")
    return ("\n".join(lines) + "\n").encode()


def test_a_logger_file_with_an_excursion_holds_the_batch_until_an_acceptable_disposition(
    app, live_server, page, colleague_page, lots
):
    end = now_5min()
    lot = in_app(app, stored_batch, "FRIDGE-1", end - timedelta(hours=48))
    errors = console_errors(page)
    sign_in(page, live_server, "tina")
    page.goto(f"{live_server}/storage/FRIDGE-1")
    page.get_by_label("Logger CSV (header at,temperature_c; times with an offset)").set_input_files(
        files=[{"name": "fridge-1.csv", "mimeType": "text/csv", "buffer": fridge_log(end)}]
    )
    page.get_by_role("button", name="Upload readings").click()
    expect(flash(page, "fridge-1.csv")).to_have_text("fridge-1.csv: accepted 576, duplicates 0.")
    excursion = page.locator("table.excursions tbody tr")
    expect(excursion).to_have_count(1)
    cut_from, cut_to = local(app, end - timedelta(hours=10)), local(app, end - timedelta(hours=6))
    # 24 h to its end: 241 readings at 5 °C and 48 at 18 °C, MKT 8.98 °C (above 8 °C)
    expect(excursion.locator("td")).to_have_text(
        [
            re.compile(r"^\d+$"),
            cut_from,
            cut_to,
            "4 h 00 min",
            "18.0 °C",
            "18.0 °C",
            "8.98 °C",
            "needs disposition",
            "open",
        ]
    )
    number = excursion.locator("td").first.inner_text()

    page.goto(f"{live_server}/batches/{lot}")
    expect(status_of(page)).to_have_text("On hold")
    expect(page.locator(".holds li")).to_have_text(
        f"Excursion {number} in FRIDGE-1 (up to 18.0 °C, above 8.0 °C) needs a disposition for this batch."
    )
    expect(page.locator("#batch-excursions li")).to_have_text(
        f"Excursion {number} in FRIDGE-1, {cut_from} to {cut_to} (18.0 °C to 18.0 °C): waiting for a disposition"
    )

    sign_in(colleague_page, live_server, "rob")
    colleague_page.locator("section[aria-labelledby=excursions-h]").get_by_role(
        "link", name=f"Excursion {number}"
    ).click()
    expect(colleague_page.get_by_role("heading", level=1)).to_have_text(
        f"Excursion {number} in FRIDGE-1 needs disposition"
    )
    colleague_page.get_by_label("What was found or done").fill("Power cut 4 h; fridge back in range.")
    colleague_page.get_by_role("button", name="Acknowledge").click()
    expect(colleague_page.locator("#acknowledged")).to_contain_text(
        "Acknowledged by Rob Reviewer, PharmD (rob)"
    )

    batch = colleague_page.locator(f"#batch-{lot}")
    expect(batch.locator(".status")).to_have_text("On hold")
    form = batch.locator(f"form#disposition-{lot}")
    form.get_by_label("Acceptable: lift the hold").check()
    form.get_by_label("Justification").fill("24-h MKT 8.98 °C; stability data cover 18 °C for 4 h.")
    form.get_by_label("Your username").fill("rob")
    form.get_by_label("Your password").fill(PASSWORD)
    form.get_by_role("button", name="Sign: record the disposition").click()
    batch = colleague_page.locator(f"#batch-{lot}")
    expect(batch.locator(".disposition")).to_contain_text(
        "Disposition: acceptable, signed by Rob Reviewer, PharmD (rob)"
    )
    expect(batch.locator(".status")).to_have_text("In quarantine")

    page.reload()
    expect(status_of(page)).to_have_text("In quarantine")
    expect(page.locator(".holds")).to_have_count(0)
    expect(page.locator("#batch-excursions li")).to_contain_text(
        f"{cut_from} to {cut_to} (18.0 °C to 18.0 °C): disposition acceptable by rob, "
    )
    assert errors == []
