"""Signing in through the real login form in Chromium."""

import pytest

pytestmark = pytest.mark.e2e


def test_a_technician_signs_in_with_the_keyboard_and_sees_the_home_page(live_server, page, users):
    page.goto(f"{live_server}/")
    assert page.url == f"{live_server}/login?next=%2F"
    page.get_by_label("Username").fill("tina")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Good day, Tina Technician"
    assert page.get_by_role("button", name="Sign out tina").is_visible()
    assert page.get_by_role("link", name="Users").count() == 0


def test_a_wrong_password_keeps_the_username_and_focuses_the_form(live_server, page, users):
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill("rob")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").first.inner_text().startswith("Sign-in failed")
    assert page.get_by_label("Username").input_value() == "rob"
    assert page.get_by_label("Password").input_value() == ""


def test_pages_load_no_script_or_style_from_another_origin(live_server, page, users):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server}/login")
    assert requested
    assert all(url.startswith(live_server) for url in requested), requested
    assert page.evaluate("typeof window.htmx") == "object"
