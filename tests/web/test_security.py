"""Browser-side defences: CSRF, security headers, the session cookie, no inline script, the idle
time-out, and sessions and tokens that stop as soon as an account is deactivated or locked."""

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from qa_app.extensions import db
from qa_app.services import accounts
from tests.conftest import PASSWORD, build_app, make_user
from tests.web.pages import csrf_token, messages, sent_to_sign_in, sign_in, text

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
IDLE_FLASH = "You were signed out after 15 minutes without activity. Sign in again."


@pytest.fixture
def make_app(databases, tmp_path) -> Iterator[Callable[..., Flask]]:
    """Apps with configuration overrides, each on its own database with tina (technician) and ada."""
    made: list[tuple[Flask, str]] = []

    def make(**overrides) -> Flask:
        url = databases.new_url(template=True)
        application = build_app(url, str(tmp_path / f"instance-{len(made)}"), **overrides)
        made.append((application, url))
        make_user(application, "tina", ("technician",), "Tina Technician")
        make_user(application, "ada", ("admin",), "Ada Admin, RPh")
        return application

    yield make
    for application, url in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        databases.drop(url)


@pytest.fixture
def csrf_client(make_app):
    return make_app(WTF_CSRF_ENABLED=True).test_client()


def signed_in_with_token(client, username: str = "tina") -> None:
    token = csrf_token(text(client.get("/login")))
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


# CSRF


def test_signing_in_without_the_form_token_is_refused(csrf_client):
    response = csrf_client.post("/login", data={"username": "tina", "password": PASSWORD})
    assert response.status_code == 400
    assert messages(text(response)) == [
        "The form expired or was sent from another page. Reload the page and submit again."
    ]
    assert sent_to_sign_in(csrf_client.get("/"))


def test_signing_in_with_the_token_from_the_form_works(csrf_client):
    signed_in_with_token(csrf_client)
    assert csrf_client.get("/").status_code == 200


def test_signing_out_without_the_form_token_is_refused(csrf_client):
    signed_in_with_token(csrf_client)
    assert csrf_client.post("/logout").status_code == 400
    assert csrf_client.get("/").status_code == 200


def test_signing_out_with_the_token_from_the_page_works(csrf_client):
    signed_in_with_token(csrf_client)
    token = csrf_token(text(csrf_client.get("/")))
    assert csrf_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert sent_to_sign_in(csrf_client.get("/"))


def test_the_api_with_a_bearer_token_needs_no_form_token(csrf_client):
    response = csrf_client.post("/api/v1/tokens", json={"username": "ada", "password": PASSWORD})
    assert response.status_code == 201
    headers = {"Authorization": f"Bearer {response.get_json()['token']}"}
    new_user = {
        "username": "nina",
        "full_name": "Nina Newcomer",
        "roles": ["technician"],
        "password": PASSWORD,
    }
    assert csrf_client.post("/api/v1/users", json=new_user, headers=headers).status_code == 201


# Headers

HEADER_PATHS = ["/login", "/api/v1/health", "/api/v1/users"]


@pytest.mark.parametrize("path", HEADER_PATHS)
def test_the_content_security_policy_allows_only_our_own_scripts(client, path):
    policy = client.get(path).headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


@pytest.mark.parametrize("path", HEADER_PATHS)
def test_pages_and_api_answers_carry_the_security_headers(client, path):
    headers = client.get(path).headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


# The session cookie


def session_cookie(response) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_the_session_cookie_is_hidden_from_scripts_and_other_sites(client, users):
    cookie = session_cookie(sign_in(client, "tina"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_the_session_cookie_is_secure_behind_https(make_app):
    client = make_app(SESSION_COOKIE_SECURE=True).test_client()
    response = sign_in(client, "tina")
    assert "Secure" in session_cookie(response)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


# No inline script: the policy above would block it anyway, so a page relying on it would break.

TEMPLATE_FILES = sorted(TEMPLATES.rglob("*.html"))


def test_the_template_scan_sees_the_templates():
    assert len(TEMPLATE_FILES) >= 10


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_inline_script(path):
    source = path.read_text(encoding="utf-8")
    bodies = re.findall(r"<script\b[^>]*>(.*?)</script\s*>", source, re.S | re.I)
    assert [body for body in bodies if body.strip()] == []
    assert re.findall(r"(?<![\w-])on[a-z]+\s*=", source, re.I) == []
    assert re.findall(r"hx-on|javascript:", source, re.I) == []


# Idle time-out


def leave_idle(client, minutes: int) -> None:
    with client.session_transaction() as session:
        session["seen"] -= minutes * 60


def test_sixteen_idle_minutes_sign_the_person_out(client, users):
    sign_in(client, "tina")
    leave_idle(client, 16)
    response = client.get("/")
    assert sent_to_sign_in(response)
    assert IDLE_FLASH in messages(text(client.get(response.headers["Location"])))
    assert sent_to_sign_in(client.get("/"))


def test_fourteen_idle_minutes_keep_the_session(client, users):
    sign_in(client, "tina")
    leave_idle(client, 14)
    response = client.get("/")
    assert response.status_code == 200
    assert IDLE_FLASH not in messages(text(response))


# Deactivated and locked accounts stop at once


def deactivate(app, client, username: str) -> None:
    with app.app_context():
        accounts.set_active(None, username, False, actor_name="test")


def lock(app, client, username: str) -> None:
    for _attempt in range(5):
        response = client.post("/api/v1/tokens", json={"username": username, "password": "wrong-password"})
        assert response.status_code == 401


STOPS = [pytest.param(deactivate, id="deactivated"), pytest.param(lock, id="locked")]


@pytest.mark.parametrize("stop", STOPS)
def test_the_open_session_of_a_stopped_account_ends_at_once(app, client, users, stop):
    sign_in(client, "tina")
    assert client.get("/").status_code == 200
    stop(app, client, "tina")
    assert sent_to_sign_in(client.get("/"))


@pytest.mark.parametrize("stop", STOPS)
def test_the_token_of_a_stopped_account_is_refused(app, client, users, auth, stop):
    headers = auth.token("rob")
    assert client.get("/api/v1/audit/verify", headers=headers).status_code == 200
    stop(app, client, "rob")
    response = client.get("/api/v1/audit/verify", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_authenticated"
