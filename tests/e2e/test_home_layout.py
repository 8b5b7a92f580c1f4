"""Each role's home in a 1366-pixel-wide window: its sections in order, nothing wider than the
window. Set QA_HOME_SCREENSHOTS to a directory to keep a full-page picture of each home."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from qa_app.extensions import db
from qa_app.services import balances, clock
from tests.builders import setup_master_data, user
from tests.conftest import PASSWORD, ROLE_USERS, make_user
from tests.web.test_homes import REVIEWER_SECTIONS, build_world

WIDTH = 1366
SHOTS = os.environ.get("QA_HOME_SCREENSHOTS")


@pytest.fixture
def world(app):
    for role, (username, name) in ROLE_USERS.items():
        make_user(app, username, (role,), name)
    with app.app_context():
        app.config["TEST_LOTS"] = setup_master_data(clock.today())
    made = build_world(app)
    with app.app_context():
        balances.create_balance(
            user("ada"),
            code="PB3002",
            name="Precision top-loading balance",
            readability_mg=10.0,
            repeatability_sd_mg=5.0,
            capacity_g=3000.0,
        )
        db.session.commit()
    return made


def sign_in(page: Page, server: str, username: str) -> None:
    page.goto(f"{server}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(f"{server}/")


def headings(page: Page) -> list[str]:
    return [" ".join(h.split()) for h in page.locator("main h2").all_inner_texts()]


@pytest.mark.parametrize(
    ("username", "first", "last"),
    [
        ("rob", REVIEWER_SECTIONS[0], "Audit trail"),
        ("tina", "Your open drafts (1)", "Batches waiting for results (1)"),
        ("ada", "Failed sign-ins, failed signings and lockouts (1)", "Audit trail"),
        ("tracy", REVIEWER_SECTIONS[0], "Audit trail"),
        ("ivan", "Audit trail", "Audit trail"),
    ],
)
def test_each_home_reads_in_order_within_the_window(browser, live_server, world, username, first, last):
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    try:
        if username == "ada":
            failed = context.new_page()
            failed.goto(f"{live_server}/login")
            failed.get_by_label("Username").fill("ghost-user")
            failed.get_by_label("Password").fill("wrong-password")
            failed.get_by_label("Password").press("Enter")
            failed.wait_for_load_state()
            failed.close()
        sign_in(page, live_server, username)
        shown = headings(page)
        assert shown[0] == first and shown[-1] == last
        expect(page.locator("main h2").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"home-{username}.png"), full_page=True)
    finally:
        context.close()
