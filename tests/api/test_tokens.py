"""Bearer tokens: issue, use, expiry, storage as a hash, and the lockout after five failures."""

import hashlib
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import ApiToken, AuditEvent, User
from qa_app.models.types import utcnow
from qa_app.services import accounts, tokens
from tests.api.conftest import actions
from tests.conftest import PASSWORD

WRONG = "not-the-password"


def request_token(client, username: str, password: str):
    return client.post("/api/v1/tokens", json={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fail_times(client, username: str, times: int) -> None:
    for _ in range(times):
        assert request_token(client, username, WRONG).status_code == 401


def set_user(app, username: str, **values) -> None:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        for name, value in values.items():
            setattr(user, name, value)
        db.session.commit()


def test_a_token_is_issued_for_the_right_password_and_lives_eight_hours(client, users):
    response = request_token(client, "ada", PASSWORD)
    assert response.status_code == 201
    body = response.get_json()
    assert len(body["token"]) >= 32
    assert body["expires_at"].endswith("Z")
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at - (utcnow() + timedelta(hours=8))) < timedelta(minutes=1)


def test_the_token_opens_the_user_list_for_an_admin(client, users):
    token = request_token(client, "ada", PASSWORD).get_json()["token"]
    response = client.get("/api/v1/users", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["total"] == 4


def test_issuing_a_token_is_in_the_audit_trail(app, client, users):
    request_token(client, "ada", PASSWORD)
    assert actions(app, key="ada")[-1] == "token.issued"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer this-is-not-a-token"},
        {"Authorization": "Basic xyz"},
        {"Authorization": "Bearer "},
        {"Authorization": "this-is-not-a-token"},
    ],
    ids=["no header", "garbage token", "basic", "empty bearer", "no scheme"],
)
def test_without_a_valid_token_the_api_answers_401(client, users, headers):
    response = client.get("/api/v1/users", headers=headers)
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "not_authenticated"
    assert error["message"]


def test_an_expired_token_is_refused(app, client, users):
    token = request_token(client, "ada", PASSWORD).get_json()["token"]
    with app.app_context():
        stored = db.session.scalar(sa.select(ApiToken))
        stored.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = client.get("/api/v1/users", headers=bearer(token))
    assert response.status_code == 401
    assert "expired" in response.get_json()["error"]["message"]


def test_only_the_hash_of_a_token_is_stored(app, client, users):
    token = request_token(client, "ada", PASSWORD).get_json()["token"]
    with app.app_context():
        stored = db.session.scalar(sa.select(ApiToken))
        columns = [str(getattr(stored, c.key)) for c in ApiToken.__table__.columns]
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in value for value in columns)


def test_the_token_is_nowhere_in_the_audit_trail(app, client, users):
    token = request_token(client, "ada", PASSWORD).get_json()["token"]
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent)).all()
        text = " ".join(f"{e.old_values} {e.new_values} {e.reason} {e.entity_key}" for e in events)
    assert token not in text


def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(client, users):
    unknown = request_token(client, "nobody", PASSWORD)
    wrong = request_token(client, "ada", WRONG)
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.get_json() == wrong.get_json()


def test_a_deactivated_user_gets_the_same_answer_as_a_wrong_password(app, client, users):
    set_user(app, "tina", active=False)
    assert (
        request_token(client, "tina", PASSWORD).get_json() == request_token(client, "ada", WRONG).get_json()
    )


def test_five_wrong_passwords_lock_the_account(client, users):
    fail_times(client, "tina", 5)
    response = request_token(client, "tina", PASSWORD)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_authenticated"


def test_four_wrong_passwords_do_not_lock_the_account(client, users):
    fail_times(client, "tina", 4)
    assert request_token(client, "tina", PASSWORD).status_code == 201


def test_a_lockout_stops_an_existing_token_at_once(client, users, auth):
    headers = auth.token("ada")
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    fail_times(client, "ada", 5)
    response = client.get("/api/v1/users", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_authenticated"


def test_the_account_opens_again_after_fifteen_minutes(app, client, users, auth):
    headers = auth.token("ada")
    fail_times(client, "ada", 5)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "ada"))
        locked_for = user.locked_until - utcnow()
    assert timedelta(minutes=14) < locked_for <= timedelta(minutes=15)
    set_user(app, "ada", locked_until=utcnow() - timedelta(seconds=1))
    fresh = request_token(client, "ada", PASSWORD)
    assert fresh.status_code == 201
    assert client.get("/api/v1/users", headers=bearer(fresh.get_json()["token"])).status_code == 200
    assert client.get("/api/v1/users", headers=headers).status_code == 401  # the lockout ended it


def test_a_success_resets_the_failure_count(client, users):
    fail_times(client, "tina", 4)
    assert request_token(client, "tina", PASSWORD).status_code == 201
    fail_times(client, "tina", 4)
    assert request_token(client, "tina", PASSWORD).status_code == 201


def test_a_deactivated_users_token_stops_at_once(app, client, users, auth):
    headers = auth.token("ada")
    set_user(app, "ada", active=False)
    assert client.get("/api/v1/users", headers=headers).status_code == 401


def test_a_token_from_before_a_deactivation_stays_dead_after_reactivation(app, client, users, admin):
    old = bearer(request_token(client, "tina", PASSWORD).get_json()["token"])
    deactivated = client.post("/api/v1/users/tina/deactivate", json={"reason": "left"}, headers=admin)
    assert deactivated.status_code == 200
    with app.app_context():
        accounts.set_active(None, "tina", True, actor_name="cli")
    assert client.get("/api/v1/batches", headers=old).status_code == 401
    fresh = bearer(request_token(client, "tina", PASSWORD).get_json()["token"])
    assert client.get("/api/v1/batches", headers=fresh).status_code == 200


def test_a_token_from_before_a_lockout_stays_dead_after_the_unlock(app, client, users, admin):
    old = bearer(request_token(client, "tina", PASSWORD).get_json()["token"])
    fail_times(client, "tina", 5)
    assert client.post("/api/v1/users/tina/unlock", headers=admin).status_code == 200
    response = client.get("/api/v1/batches", headers=old)
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == (
        "The token was ended by a sign-out, password change, deactivation or lockout; request a new one."
    )


def test_a_device_token_outlives_its_issuers_sign_out(app, client, users, admin):
    unit = client.post(
        "/api/v1/storage-units",
        json={"code": "FRIDGE-9", "name": "Fridge", "condition": "refrigerated"},
        headers=admin,
    )
    assert unit.status_code == 201
    with app.app_context():
        ada = db.session.scalar(sa.select(User).where(User.username == "ada"))
        secret, _token = tokens.issue_device_token(ada, "FRIDGE-9", "sensor 1")
        accounts.sign_out(db.session.get(User, ada.id))
    reading = {"readings": [{"at": "2026-01-15T10:00:00Z", "temperature_c": 5.0}]}
    response = client.post("/api/v1/storage-units/FRIDGE-9/readings", json=reading, headers=bearer(secret))
    assert response.status_code in (200, 201)


def test_failures_and_the_lockout_are_in_the_audit_trail(app, client, users):
    fail_times(client, "tina", 5)
    request_token(client, "tina", PASSWORD)
    assert actions(app, key="tina")[-7:] == ["auth.failed"] * 5 + ["user.locked", "auth.failed"]
    with app.app_context():
        failures = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "auth.failed").order_by(AuditEvent.seq)
        ).all()
        locked = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.locked"))
        assert [e.new_values["why"] for e in failures] == ["wrong password"] * 5 + ["locked"]
        assert [e.new_values["channel"] for e in failures] == ["token"] * 6
        assert locked.new_values["after_failures"] == 5


def test_an_unknown_username_is_recorded_as_a_failure(app, client, users):
    request_token(client, "nobody", PASSWORD)
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.failed"))
        assert (event.entity_key, event.new_values["why"]) == ("nobody", "unknown username")


@pytest.mark.parametrize(
    "body",
    [{}, {"username": "ada"}, {"username": "ada", "password": ""}, {"username": 5, "password": PASSWORD}],
)
def test_a_malformed_token_request_is_400_not_a_lockout_step(app, client, users, body):
    response = client.post("/api/v1/tokens", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_input"
    assert "auth.failed" not in actions(app)


def test_a_password_that_is_not_valid_unicode_is_400_naming_password(client, users):
    response = client.post(
        "/api/v1/tokens",
        data='{"username": "ada", "password": "\\ud800"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.get_json()["error"]["fields"]) == {"password"}


def test_a_401_names_the_bearer_scheme(client, users):
    response = client.get("/api/v1/users")
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")
