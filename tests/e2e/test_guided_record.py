"""The batch record as guided steps in Chromium: the step bar moves as the technician scans,
weighs, has the weighing co-signed on the same screen, checks the capsules and completes; done
steps say who and when; the keyboard alone submits a form; axe finds nothing serious."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.test_batch_journey import draft, lots, scan, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("QA_SCREENSHOTS", "test-screenshots"))
PASSING_WEIGHTS = ["224", "226"] * 5
WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d"


def serious_violations(page: Page) -> list[str]:
    """What axe-core finds serious or critical on the page as it is now."""
    axe = pytest.importorskip(
        "axe_playwright_python.sync_playwright", reason="axe-playwright-python not installed"
    )
    found = axe.Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'])}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def current_step(page: Page):
    return page.locator("ol.steps li[aria-current=step]")


def step_line(page: Page, key: str):
    return page.locator(f"#step-{key} > summary")


def record_weighed(page: Page, barcode: str, weighed: str) -> None:
    """Scan the lot, choose the balance, type the weight and press Enter: keyboard and scanner."""
    expect(page.get_by_label("Lot barcode")).to_be_focused()
    scan(page, barcode)
    expect(page.locator("#scan-result")).to_contain_text("Usable: approved and in date.")
    expect(page.get_by_label("Weighed (mg)")).to_be_focused()
    page.keyboard.type(weighed)
    page.keyboard.press("Tab")  # past the count, to the balance
    page.keyboard.press("Tab")
    expect(page.get_by_label("Balance", exact=True)).to_be_focused()
    page.get_by_label("Balance", exact=True).select_option("XS205")
    page.get_by_label("Weighed (mg)").press("Enter")
    expect(page.get_by_role("status")).to_have_text("Component recorded.")


def shot(page: Page, name: str) -> int:
    """A full-page screenshot at 1366 px wide; the page's height in px."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"guided-{name}.png"), full_page=True)
    return page.evaluate("document.documentElement.scrollHeight")


def test_a_capsule_batch_is_walked_through_its_steps_at_one_workstation(live_server, page, lots, draft):  # noqa: F811
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server, "tina")
    page.goto(f"{live_server}/batches/{draft}")
    expect(current_step(page)).to_have_text("Prepare: current")
    expect(page.locator("ol.steps li")).to_have_text(
        [
            "Prepare: current",
            "Weigh: to do",
            "Verify: to do",
            "Fill: to do",
            "Check: to do",
            "Complete: to do",
        ]
    )
    expect(page.locator("#step-prepare")).to_have_attribute("open", "")
    expect(page.locator("#step-prepare")).to_contain_text("The formula's procedure")
    assert serious_violations(page) == []

    # prepare: the filler weighed, the capsule shells counted
    record_weighed(page, lots["mcc"], "22348.5")
    expect(page.get_by_label("Lot barcode")).to_be_focused()
    scan(page, lots["caps"])
    expect(page.locator("#scan-result")).to_contain_text("CAP-3 — Capsule shell #3")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Count (containers such as capsule shells)")).to_be_focused()
    page.keyboard.type("100")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Component recorded.")

    # weigh: the API on a named balance
    expect(current_step(page)).to_have_text("Weigh: current")
    expect(step_line(page, "prepare")).to_have_text(
        re.compile(
            rf"^Prepare — MCC lot {lots['mcc']} 22,348.50 mg; CAP-3 lot {lots['caps']} 100 units by tina, {WHEN}$"
        )
    )
    expect(page.locator("#step-weigh")).to_contain_text("Weigh 151.52 mg of the API (NTX-HCL), within ± 2 %")
    assert serious_violations(page) == []
    shot(page, "weigh")
    record_weighed(page, lots["api"], "151.6")
    expect(current_step(page)).to_have_text("Verify: current")
    expect(step_line(page, "weigh")).to_have_text(
        re.compile(rf"^Weigh — 151.60 mg on XS205 \(\+0.06 %\), lot {lots['api']} by tina, {WHEN}$")
    )

    # verify: the colleague signs on the compounder's screen with their own username and password
    form = page.locator("form#verify")
    expect(form).to_be_visible()
    assert serious_violations(page) == []
    form.get_by_label("Verifier's username").fill("rob")
    form.get_by_label("Verifier's password").fill(PASSWORD)
    form.get_by_role("button", name="Sign: verified").click()
    expect(page.get_by_role("status")).to_have_text("API weighing verified and signed.")
    expect(page.locator("footer")).to_contain_text("signed in as Tina Technician")
    expect(step_line(page, "verify")).to_have_text(
        re.compile(rf"^Verify — API weighing verified by rob, {WHEN}$")
    )
    expect(page.locator("#step-verify")).not_to_have_attribute("open", "")

    # fill, then the capsule weight check that records it: keyboard only
    expect(current_step(page)).to_have_text("Fill: current")
    expect(page.locator("#step-check")).to_have_attribute("open", "")
    assert serious_violations(page) == []
    page.locator("#weights").focus()
    page.keyboard.type("\n".join(PASSING_WEIGHTS))
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Record weight check")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Capsule weight check passed")
    expect(current_step(page)).to_have_text("Complete: current")
    expect(page.locator("details.step[open]")).to_have_count(1)  # the check done, closed
    expect(page.locator("#step-complete")).to_have_attribute("open", "")
    expect(step_line(page, "fill")).to_contain_text("by tina")
    expect(step_line(page, "check")).to_have_text(
        re.compile(rf"^Check — passed: n = 10, mean 225.00 mg, RSD 0.47 % by tina, {WHEN}$")
    )
    assert serious_violations(page) == []

    # complete: yield typed, the unit chosen by typing its name, Enter in the yield field
    page.get_by_label("Actual yield (capsules, mL or g)").focus()
    page.keyboard.type("100")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Storage unit")).to_be_focused()
    page.keyboard.type("SHELF-1")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text(
        "Batch completed: it is in quarantine until its results are in."
    )
    expect(page.locator("ol.steps li")).to_have_text(
        [f"{name}: done" for name in ("Prepare", "Weigh", "Verify", "Fill", "Check", "Complete")]
    )
    expect(current_step(page)).to_have_count(0)
    expect(step_line(page, "complete")).to_have_text(
        re.compile(rf"^Complete — 100 capsules \(100.0 %\) to quarantine in SHELF-1 by tina, {WHEN}$")
    )
    expect(page.locator("details.step[open]")).to_have_count(0)
    assert serious_violations(page) == []
    shot(page, "done")

    # the whole story one click away
    page.get_by_role("link", name="Full record").click()
    expect(page.locator("details.step[open]")).to_have_count(6)
    expect(page.get_by_role("link", name="Complete record (PDF)")).to_be_visible()
    assert serious_violations(page) == []
