"""The sign-in page: one answer for every failure, lockout and unlock, safe redirects, sign-out."""

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import AuditEvent
from tests.conftest import PASSWORD
from tests.web.pages import field_error, input_value, messages, sent_to_sign_in, sign_in, text

SIGN_IN_FAILED = (
    "Sign-in failed: the username or password is wrong, or the account is locked or "
    "deactivated. After 5 failed attempts an account is locked for 15 minutes; an "
    "administrator can unlock it sooner."
)


def fail_to_sign_in(client, username: str, times: int) -> None:
    for _attempt in range(times):
        assert sign_in(client, username, "wrong-password").status_code == 401


def security_rows(page: str) -> list[tuple[str, str]]:
    """(username typed, what happened) for each row of the admin's security table."""
    row = r'<tr class="[^"]*">\s*<td>[^<]*</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>'
    return re.findall(row, page)


def test_a_wrong_password_keeps_the_username_and_blanks_the_password(client, users):
    response = sign_in(client, "tina", "wrong-password")
    assert response.status_code == 401
    page = text(response)
    assert input_value(page, "username") == "tina"
    assert input_value(page, "password") == ""


def test_a_failed_sign_in_marks_neither_field_as_the_wrong_one(client, users):
    page = text(sign_in(client, "tina", "wrong-password"))
    assert field_error(page, "username") is None
    assert field_error(page, "password") is None
    assert 'aria-invalid="true"' not in page


def test_a_wrong_password_and_an_unknown_user_get_the_same_message(client, users):
    wrong_password = messages(text(sign_in(client, "tina", "wrong-password")))
    unknown_user = messages(text(sign_in(client, "nobody", "wrong-password")))
    assert wrong_password == unknown_user == [SIGN_IN_FAILED]


def test_four_failures_do_not_lock_the_account(client, users):
    fail_to_sign_in(client, "tina", 4)
    assert sign_in(client, "tina").status_code == 302


def test_five_failures_lock_out_even_the_right_password(client, users):
    fail_to_sign_in(client, "tina", 5)
    response = sign_in(client, "tina")
    assert response.status_code == 401
    assert messages(text(response)) == [SIGN_IN_FAILED]
    assert sent_to_sign_in(client.get("/"))


def test_an_admin_unlock_lets_the_locked_user_sign_in(app, client, users):
    fail_to_sign_in(client, "tina", 5)
    admin = app.test_client()
    sign_in(admin, "ada")
    response = admin.post("/admin/users/tina/unlock", follow_redirects=True)
    assert "tina is unlocked." in messages(text(response))
    assert sign_in(client, "tina").status_code == 302


@pytest.mark.parametrize(
    ("target", "landing"),
    [
        ("//evil.example/", "/"),
        ("https://evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/admin/users", "/admin/users"),
    ],
)
def test_after_sign_in_only_a_page_of_this_site_is_followed(client, users, target, landing):
    response = client.post(
        "/login", query_string={"next": target}, data={"username": "ada", "password": PASSWORD}
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.netloc, location.path) == ("", landing)


def test_signing_out_needs_a_post(client, users):
    sign_in(client, "tina")
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_signing_out_ends_the_session(client, users, auth):
    sign_in(client, "tina")
    response = auth.logout()
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert "You are signed out." in messages(text(client.get("/login")))
    assert sent_to_sign_in(client.get("/"))


def test_the_admin_home_lists_failed_sign_ins_and_lockouts(client, users):
    sign_in(client, "mallory", "guess")
    fail_to_sign_in(client, "tina", 5)
    sign_in(client, "ada")
    rows = security_rows(text(client.get("/")))
    assert ("mallory", "failed sign-in") in rows
    assert ("tina", "account locked") in rows
    assert rows.count(("tina", "failed sign-in")) == 5


def test_the_admin_home_shows_the_lockout_end_as_a_local_time(client, users):
    fail_to_sign_in(client, "tina", 5)
    sign_in(client, "ada")
    page = text(client.get("/"))
    assert re.search(r"locked until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<", page)


def test_a_technician_home_shows_no_security_events(client, users):
    sign_in(client, "mallory", "guess")
    sign_in(client, "tina")
    page = text(client.get("/"))
    assert security_rows(page) == []
    assert "mallory" not in page


def test_the_first_sign_in_shows_no_previous_one(client, users):
    sign_in(client, "tina")
    assert "Your previous sign-in" not in text(client.get("/"))


def first_sign_in_time(app) -> str:
    with app.app_context():
        stmt = sa.select(AuditEvent).where(AuditEvent.action == "auth.signed_in").order_by(AuditEvent.seq)
        return db.session.scalars(stmt).first().occurred_at.strftime("%Y-%m-%d %H:%M:%S UTC")


def test_the_second_sign_in_shows_the_previous_one(app, client, users):
    other_workstation = app.test_client()
    other_workstation.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    sign_in(other_workstation, "tina")
    sign_in(client, "tina")
    page = " ".join(text(client.get("/")).split())
    assert f"Your previous sign-in: {first_sign_in_time(app)} from 10.0.0.7." in page
