"""Ending sessions: sign-out, a password change, deactivation and lockout end every session and
token issued before, so a copied cookie or an old token cannot be replayed."""

import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import AuditEvent
from tests.conftest import PASSWORD
from tests.web.pages import field_error, messages, sent_to_sign_in, sign_in, text

NEW_PASSWORD = "a-new-and-longer-passphrase"


def copied_session(app, client):
    """A second browser holding a copy of ``client``'s session cookie, as an attacker would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def token_for(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/tokens", json={"username": username, "password": password})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def change_password(client, current: str = PASSWORD, new: str = NEW_PASSWORD, repeat: str | None = None):
    return client.post(
        "/account/password",
        data={"current_password": current, "new_password": new, "repeat": new if repeat is None else repeat},
    )


def test_the_cookie_replayed_after_sign_out_is_sent_to_sign_in(app, client, users):
    sign_in(client, "tina")
    thief = copied_session(app, client)
    assert thief.get("/").status_code == 200
    client.post("/logout")
    assert sent_to_sign_in(thief.get("/"))
    assert sent_to_sign_in(thief.get("/"))  # and it cannot be refreshed back to life


def test_sign_out_ends_the_other_workstations_session_and_the_api_tokens(app, client, users):
    other = app.test_client()
    sign_in(other, "tina")
    token = token_for(client, "tina")
    sign_in(client, "tina")
    client.post("/logout")
    assert sent_to_sign_in(other.get("/"))
    assert client.get("/api/v1/batches", headers=token).status_code == 401


def test_a_session_from_before_a_deactivation_stays_dead_after_reactivation(app, client, users):
    sign_in(client, "tina")
    token = token_for(app.test_client(), "tina")
    admin = app.test_client()
    sign_in(admin, "ada")
    admin.post("/admin/users/tina/deactivate", data={"account-reason": "left the pharmacy"})
    admin.post("/admin/users/tina/reactivate", data={"account-reason": "came back"})
    assert sent_to_sign_in(client.get("/"))
    response = client.get("/api/v1/batches", headers=token)
    assert response.status_code == 401
    assert "request a new one" in response.get_json()["error"]["message"]
    assert sign_in(client, "tina").status_code == 302  # a fresh sign-in works


def test_a_password_change_ends_every_other_session_and_token_but_keeps_this_one(app, client, users):
    other = app.test_client()
    sign_in(other, "tina")
    token = token_for(app.test_client(), "tina")
    sign_in(client, "tina")
    response = change_password(client)
    assert response.status_code == 302
    assert "Your password is changed." in " ".join(messages(text(client.get("/"))))
    assert client.get("/").status_code == 200
    assert sent_to_sign_in(other.get("/"))
    assert client.get("/api/v1/batches", headers=token).status_code == 401
    assert sign_in(app.test_client(), "tina", PASSWORD).status_code == 401
    assert sign_in(app.test_client(), "tina", NEW_PASSWORD).status_code == 302
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_key == "tina"))
        assert "user.password_changed" in list(actions)


def test_a_wrong_current_password_changes_nothing(app, client, users):
    sign_in(client, "tina")
    token = token_for(app.test_client(), "tina")
    response = change_password(client, current="not-my-password")
    assert response.status_code == 401
    page = text(response)
    assert field_error(page, "current_password") == "Wrong password; type your current password again."
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/batches", headers=token).status_code == 200
    assert sign_in(app.test_client(), "tina", PASSWORD).status_code == 302


def test_a_short_or_mistyped_new_password_is_refused_beside_its_field(client, users):
    sign_in(client, "tina")
    short = change_password(client, new="short")
    assert short.status_code == 400
    assert field_error(text(short), "new_password") == "Use at least 12 characters."
    mistyped = change_password(client, repeat="a-new-and-longer-passphrasf")
    assert mistyped.status_code == 400
    assert field_error(text(mistyped), "repeat") == "The two passwords differ; type them again."


def test_a_lockout_ends_the_sessions_and_tokens_issued_before_it(app, client, users):
    sign_in(client, "tina")
    token = token_for(app.test_client(), "tina")
    attacker = app.test_client()
    for _ in range(5):
        assert sign_in(attacker, "tina", "guess-guess-guess").status_code == 401
    admin = app.test_client()
    sign_in(admin, "ada")
    admin.post("/admin/users/tina/unlock")
    assert sent_to_sign_in(client.get("/"))
    assert client.get("/api/v1/batches", headers=token).status_code == 401
