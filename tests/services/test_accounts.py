"""Accounts: argon2id hashes, password length, roles, lockout after five failures."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_app.errors import Conflict, InvalidInput, NotAuthenticated, NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.models import AuditEvent, User
from qa_app.models.types import utcnow
from qa_app.services import accounts
from tests.conftest import PASSWORD, make_user


def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_passwords_are_stored_as_argon2id_hashes(app):
    make_user(app, "tina", ["technician"])
    with app.app_context():
        stored = _user("tina").password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_production_hashing_is_not_the_cheap_test_setting(app):
    from config import Config, TestConfig

    assert (Config.QA_ARGON2_TIME_COST, Config.QA_ARGON2_MEMORY_COST) == (3, 65536)
    assert (TestConfig.QA_ARGON2_TIME_COST, TestConfig.QA_ARGON2_MEMORY_COST) == (1, 8)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "eleven-char"}, "password"),
        ({"username": "Al"}, "username"),
        ({"username": "has space"}, "username"),
        ({"full_name": "  "}, "full_name"),
        ({"roles": []}, "roles"),
        ({"roles": ["technician", "chef"]}, "roles"),
    ],
)
def test_invalid_accounts_are_refused_naming_the_field(app, changes, field):
    values = {"username": "sam", "full_name": "Sam Smith", "roles": ["technician"], "password": PASSWORD}
    values.update(changes)
    with app.app_context():
        with pytest.raises(InvalidInput) as refused:
            accounts.create_user(None, actor_name="test", **values)
        assert field in refused.value.fields
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
        assert _actions() == []


def test_a_twelve_character_password_is_enough(app):
    with app.app_context():
        user = accounts.create_user(
            None, username="sam", full_name="Sam", roles=["reviewer"], password="twelve-chars", actor_name="t"
        )
        assert sorted(user.roles) == ["reviewer"]


def test_usernames_are_unique_and_case_insensitive(app):
    make_user(app, "sam", ["technician"])
    with app.app_context(), pytest.raises(Conflict):
        accounts.create_user(
            None, username="SAM", full_name="Other", roles=["technician"], password=PASSWORD, actor_name="t"
        )


def test_five_consecutive_failures_lock_the_account_for_fifteen_minutes(app):
    make_user(app, "tina", ["technician"])
    with app.app_context():
        for _ in range(5):
            with pytest.raises(NotAuthenticated):
                accounts.sign_in("tina", "wrong-password-1")
        user = _user("tina")
        locked_for = user.locked_until - utcnow()
        assert timedelta(minutes=14, seconds=55) < locked_for <= timedelta(minutes=15)
        with pytest.raises(NotAuthenticated) as refused:
            accounts.sign_in("tina", PASSWORD)
        assert refused.value.message == accounts.SIGN_IN_FAILED
        assert _actions()[-7:] == ["auth.failed"] * 5 + ["user.locked", "auth.failed"]
        user.locked_until = utcnow() - timedelta(seconds=1)  # the 15 minutes are over
        db.session.commit()
        assert accounts.sign_in("tina", PASSWORD).username == "tina"


def test_a_success_resets_the_count_of_failures(app):
    make_user(app, "tina", ["technician"])
    with app.app_context():
        for _ in range(4):
            with pytest.raises(NotAuthenticated):
                accounts.sign_in("tina", "wrong-password-1")
        accounts.sign_in("tina", PASSWORD)
        for _ in range(4):
            with pytest.raises(NotAuthenticated):
                accounts.sign_in("tina", "wrong-password-1")
        user = _user("tina")
        assert (user.failed_attempts, user.locked_until) == (4, None)


def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(app):
    make_user(app, "tina", ["technician"])
    with app.app_context():
        with pytest.raises(NotAuthenticated) as unknown:
            accounts.sign_in("nobody", PASSWORD)
        with pytest.raises(NotAuthenticated) as wrong:
            accounts.sign_in("tina", "wrong-password-1")
        assert (unknown.value.message, unknown.value.status) == (wrong.value.message, 401)
        failures = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.failed")).all()
        assert [(e.entity_key, e.new_values["why"]) for e in failures] == [
            ("nobody", "unknown username"),
            ("tina", "wrong password"),
        ]


def test_a_deactivated_user_cannot_sign_in_and_is_never_deleted(app):
    make_user(app, "tina", ["technician"])
    with app.app_context():
        accounts.set_active(None, "tina", False, reason="left", actor_name="test")
        with pytest.raises(NotAuthenticated):
            accounts.sign_in("tina", PASSWORD)
        assert _user("tina").active is False
        with pytest.raises(WrongState):
            accounts.set_active(None, "tina", False, actor_name="test")


def test_only_an_admin_manages_accounts(app):
    make_user(app, "tina", ["technician"])
    make_user(app, "ada", ["admin"])
    with app.app_context():
        with pytest.raises(NotPermitted):
            accounts.set_roles(_user("tina"), "ada", ["technician"])
        accounts.set_roles(_user("ada"), "tina", ["technician", "reviewer"], reason="qualified")
        assert sorted(_user("tina").roles) == ["reviewer", "technician"]
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.roles_changed"))
        assert (event.old_values, event.new_values, event.reason, event.username) == (
            {"roles": ["technician"]},
            {"roles": ["reviewer", "technician"]},
            "qualified",
            "ada",
        )


def test_admin_home_lists_failures_and_lockouts_newest_first(app):
    make_user(app, "tina", ["technician"])
    with app.app_context():
        for _ in range(5):
            with pytest.raises(NotAuthenticated):
                accounts.check_password("tina", "wrong-password-1", "token")
        events = accounts.recent_security_events()
        assert [e.action for e in events] == ["user.locked"] + ["auth.failed"] * 5
        assert events[1].new_values == {"channel": "token", "why": "wrong password", "failed_attempts": 5}
