"""A supplier recalls an API lot, in Chromium: the reviewer opens the lot's page, sees where it
went (the trituration made from it and the capsules made from that) and, on the trituration
lot's page, what went into it; reads what the recall will do, signs it, and sees the batches
recalled or put on hold, the certificate revoked and the report to print; the held batch says
why it is held.

Only the starting point is made in-process (tests/recalls.py); the journey goes through the
browser, with CSRF protection on as in production.
"""

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.test_batch_journey import sign_in
from tests.e2e.test_review_journey import console_errors
from tests.recalls import REASON, build

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def quick_failures(page):
    page.set_default_timeout(10_000)


@pytest.fixture
def scenario(app, users):
    app.config["WTF_CSRF_ENABLED"] = True
    return build(app)


def rows(page: Page, section: str):
    return page.locator(f"#{section} tbody tr")


def row_of(page: Page, section: str, lot_number: str):
    return rows(page, section).filter(has=page.get_by_role("link", name=lot_number, exact=True))


def test_a_reviewer_recalls_an_api_lot_and_everything_made_from_it(page: Page, live_server, scenario):
    s = scenario
    errors = console_errors(page)
    sign_in(page, live_server, "rob")

    # the trituration lot's page: what went into it, back to the supplier's lot
    page.goto(f"{live_server}/lots/{s.trituration_lot}")
    made_from = page.locator("#made-from")
    expect(made_from).to_contain_text(s.trituration_batch)
    expect(made_from.get_by_role("link", name=s.api, exact=True)).to_be_visible()
    expect(made_from).to_contain_text("Medisca (N1)")

    # the API lot's page: where it went, directly and through the trituration lot
    page.goto(f"{live_server}/lots/{s.api}")
    expect(rows(page, "where-used")).to_have_count(5)
    expect(row_of(page, "where-used", s.trituration_batch)).to_contain_text("directly")
    expect(row_of(page, "where-used", s.direct)).to_contain_text("directly")
    for lot_number in (s.released, s.quarantined, s.draft):
        expect(row_of(page, "where-used", lot_number)).to_contain_text(f"lot {s.trituration_lot}")
    expect(row_of(page, "where-used", s.released)).to_contain_text("Released")

    # what the recall will do, before signing
    recall = page.locator("#recall")
    expect(recall.get_by_role("heading", name="Recall this lot")).to_be_visible()
    expect(recall.locator("#recall-preview")).to_have_text(
        "5 batches will be recalled or put on hold: 2 released batches recalled (certificates revoked), "
        "3 unreleased batches put on hold. 1 lot made from it will be recalled too."
    )
    recall.get_by_label("Reason for the recall").fill(REASON)
    recall.get_by_label("Your username").fill("rob")
    recall.get_by_label("Your password").fill("not-my-password")
    recall.get_by_role("button", name="Recall and sign").click()
    # a wrong password: refused beside the field, the reason kept, nothing recalled
    recall = page.locator("#recall")
    expect(recall.get_by_label("Reason for the recall")).to_have_value(REASON)
    expect(recall.locator("#recall-sig_password-error")).not_to_be_empty()
    expect(recall.get_by_role("heading", name="Recall this lot")).to_be_visible()
    recall.get_by_label("Your username").fill("rob")
    recall.get_by_label("Your password").fill(PASSWORD)
    recall.get_by_role("button", name="Recall and sign").click()

    # what changed
    page.wait_for_url(f"{live_server}/lots/{s.api}/recall")
    expect(page.locator("p.flash").filter(has_text=f"Lot {s.api} recalled and signed")).to_have_text(
        f"Lot {s.api} recalled and signed: 2 batches recalled, 3 batches put on hold, 2 lots recalled."
    )
    expect(page.locator("#recall-status")).to_contain_text("Recalled by Rob Reviewer, PharmD")
    expect(page.locator("#recall-lots")).to_contain_text(s.trituration_lot)
    for lot_number, status in (
        (s.trituration_batch, "recalled"),
        (s.released, "recalled"),
        (s.quarantined, "on hold"),
        (s.draft, "on hold"),
        (s.direct, "on hold"),
    ):
        expect(row_of(page, "recall-batches", lot_number).locator("td").nth(2)).to_have_text(status)
    expect(page.locator("#recall-certificates tbody tr")).to_contain_text(f"{s.certificate} (version 1)")
    expect(page.locator("#recall-certificates tbody tr")).to_contain_text("revoked")
    report = page.get_by_role("button", name="Recall report (PDF)")
    answer = page.request.get(live_server + report.get_attribute("href"))
    assert (answer.status, answer.headers["content-type"]) == (200, "application/pdf")

    # the held batch says why
    row_of(page, "recall-batches", s.quarantined).get_by_role("link", name=s.quarantined).click()
    page.wait_for_url(f"{live_server}/batches/{s.quarantined}")
    expect(page.locator(".holds")).to_contain_text(
        f"NTX-HCL lot {s.api} in this batch was recalled ({REASON}): the batch can only be rejected."
    )
    # the refused signature's answer (401) is the only error the browser saw
    assert errors == ["Failed to load resource: the server responded with a status of 401 (UNAUTHORIZED)"]
