"""The user administration pages: list, create, roles, deactivate and reactivate, self-protection."""

import re
from collections import Counter

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import AuditEvent
from qa_app.services import accounts
from tests.conftest import make_user
from tests.web.pages import element_ids, field_error, input_value, messages, sign_in, text, ticked

NEW_USER = {
    "username": "nina",
    "full_name": "Nina Newcomer",
    "roles": ["technician", "reviewer"],
    "password": "a-long-enough-secret",
    "confirm": "a-long-enough-secret",
}


@pytest.fixture
def admin(client, users):
    """The test client, signed in as ada (admin)."""
    assert sign_in(client, "ada").status_code == 302
    return client


def roles_of(app, username: str) -> set[str]:
    with app.app_context():
        return set(accounts.get_user(username).roles)


def audit_events(app, action: str, key: str) -> list[AuditEvent]:
    with app.app_context():
        stmt = sa.select(AuditEvent).where(AuditEvent.action == action, AuditEvent.entity_key == key)
        events = list(db.session.scalars(stmt.order_by(AuditEvent.seq)))
        db.session.expunge_all()
        return events


# The account form on the user page carries the prefix "account" (its reason is not the roles form's).
ACCOUNT_REASON = "account-reason"


def user_rows(page: str) -> dict[str, tuple[str, str, str]]:
    """username → (full name, roles, status) as the user list shows them."""
    cell = r"\s*<td>([^<]*)</td>"
    rows = re.findall(r'<tr>\s*<td><a href="[^"]*">([^<]+)</a></td>' + cell * 3, page)
    return {username: (name, roles, status) for username, name, roles, status in rows}


def test_the_user_list_shows_every_user_with_their_roles(app, admin):
    make_user(app, "sam", ("technician", "reviewer"), "Sam Both")
    assert user_rows(text(admin.get("/admin/users"))) == {
        "ada": ("Ada Admin, RPh", "admin", "active"),
        "ivan": ("Ivan Inspector", "inspector", "active"),
        "rob": ("Rob Reviewer, PharmD", "reviewer", "active"),
        "sam": ("Sam Both", "reviewer, technician", "active"),
        "tina": ("Tina Technician", "technician", "active"),
    }


def test_a_user_created_through_the_form_holds_both_roles(app, admin):
    response = admin.post("/admin/users/new", data=NEW_USER)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users/nina"
    assert roles_of(app, "nina") == {"technician", "reviewer"}


def test_creating_a_user_is_in_the_audit_trail(app, admin):
    admin.post("/admin/users/new", data=NEW_USER)
    [event] = audit_events(app, "user.created", "nina")
    assert event.username == "ada"
    assert event.new_values == {
        "username": "nina",
        "full_name": "Nina Newcomer",
        "roles": ["reviewer", "technician"],
        "active": True,
    }


def test_the_new_user_signs_in_with_the_initial_password(app, admin):
    admin.post("/admin/users/new", data=NEW_USER)
    assert sign_in(app.test_client(), "nina", "a-long-enough-secret").status_code == 302


BAD_INPUT = [
    pytest.param(
        {"password": "short-pw", "confirm": "short-pw"},
        "password",
        "Use at least 12 characters.",
        id="short password",
    ),
    pytest.param(
        {"roles": ["chef"]}, "roles", "'chef' is not a valid choice for this field.", id="unknown role"
    ),
    pytest.param(
        {"confirm": "another-long-secret"},
        "confirm",
        "The two passwords differ; type them again.",
        id="mismatched confirm",
    ),
    pytest.param(
        {"username": "tina"},
        "username",
        "This username is taken; users are never deleted, so choose another.",
        id="duplicate username",
    ),
    pytest.param({"full_name": ""}, "full_name", "Enter the full name.", id="blank full name"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_INPUT)
def test_bad_input_is_explained_beside_its_field(admin, change, field, message):
    response = admin.post("/admin/users/new", data={**NEW_USER, **change})
    assert response.status_code == 400
    assert field_error(text(response), field) == message


@pytest.mark.parametrize(("change", "field", "message"), BAD_INPUT)
def test_bad_input_keeps_the_typed_username_and_full_name(admin, change, field, message):
    typed = {**NEW_USER, **change}
    page = text(admin.post("/admin/users/new", data=typed))
    assert input_value(page, "username") == typed["username"]
    assert input_value(page, "full_name") == typed["full_name"]


@pytest.mark.parametrize(("change", "field", "message"), BAD_INPUT)
def test_bad_input_creates_nobody(app, admin, change, field, message):
    admin.post("/admin/users/new", data={**NEW_USER, **change})
    assert "nina" not in user_rows(text(admin.get("/admin/users")))
    assert roles_of(app, "tina") == {"technician"}


def test_bad_input_keeps_the_ticked_roles(admin):
    page = text(
        admin.post("/admin/users/new", data={**NEW_USER, "password": "short-pw", "confirm": "short-pw"})
    )
    assert ticked(page, "roles") == ["technician", "reviewer"]


def test_changing_roles_takes_effect(app, admin):
    response = admin.post(
        "/admin/users/tina", data={"roles": ["technician", "reviewer"], "reason": "Qualified"}
    )
    assert response.headers["Location"] == "/admin/users/tina"
    assert roles_of(app, "tina") == {"technician", "reviewer"}
    assert "Roles of tina saved." in messages(text(admin.get("/admin/users/tina")))


def test_changing_roles_is_audited_with_the_old_and_new_roles(app, admin):
    admin.post("/admin/users/tina", data={"roles": ["technician", "reviewer"], "reason": "Qualified as QA"})
    [event] = audit_events(app, "user.roles_changed", "tina")
    assert event.old_values == {"roles": ["technician"]}
    assert event.new_values == {"roles": ["reviewer", "technician"]}
    assert event.reason == "Qualified as QA"
    assert event.username == "ada"


def test_a_removed_role_stops_at_once_in_an_open_session(app, admin):
    rob = app.test_client()
    sign_in(rob, "rob")
    assert rob.get("/audit/").status_code == 200
    admin.post("/admin/users/rob", data={"roles": ["technician"], "reason": "Moved to compounding"})
    assert rob.get("/audit/").status_code == 403


def test_the_user_page_ticks_the_roles_held(app, admin):
    make_user(app, "sam", ("technician", "reviewer"), "Sam Both")
    assert ticked(text(admin.get("/admin/users/sam")), "roles") == ["technician", "reviewer"]


def test_a_deactivated_user_cannot_sign_in(app, admin):
    response = admin.post(
        "/admin/users/tina/deactivate", data={ACCOUNT_REASON: "Left the pharmacy"}, follow_redirects=True
    )
    assert "tina is deactivated." in messages(text(response))
    assert sign_in(app.test_client(), "tina").status_code == 401
    assert user_rows(text(admin.get("/admin/users")))["tina"][2] == "deactivated"


def test_deactivation_is_audited_with_its_reason(app, admin):
    admin.post("/admin/users/tina/deactivate", data={ACCOUNT_REASON: "Left the pharmacy"})
    [event] = audit_events(app, "user.deactivated", "tina")
    assert (event.old_values, event.new_values) == ({"active": True}, {"active": False})
    assert event.reason == "Left the pharmacy"
    assert event.username == "ada"


def test_a_reactivated_user_can_sign_in_again(app, admin):
    admin.post("/admin/users/tina/deactivate", data={ACCOUNT_REASON: "Parental leave"})
    response = admin.post(
        "/admin/users/tina/reactivate", data={ACCOUNT_REASON: "Back at work"}, follow_redirects=True
    )
    assert "tina is active again." in messages(text(response))
    assert sign_in(app.test_client(), "tina").status_code == 302
    [event] = audit_events(app, "user.reactivated", "tina")
    assert event.reason == "Back at work"


def test_an_admin_cannot_remove_their_own_admin_role(app, admin):
    response = admin.post("/admin/users/ada", data={"roles": ["reviewer"]})
    assert response.status_code == 400
    assert field_error(text(response), "roles") == "Keep the admin role on your own account."
    assert roles_of(app, "ada") == {"admin"}
    assert audit_events(app, "user.roles_changed", "ada") == []


def test_an_admin_cannot_deactivate_themselves(app, admin):
    response = admin.post("/admin/users/ada/deactivate", data={ACCOUNT_REASON: "Oops"}, follow_redirects=True)
    assert "You cannot deactivate your own account; ask another administrator." in messages(text(response))
    assert admin.get("/admin/users").status_code == 200
    assert audit_events(app, "user.deactivated", "ada") == []


def test_a_too_long_deactivation_reason_is_explained(app, admin):
    response = admin.post(
        "/admin/users/tina/deactivate", data={ACCOUNT_REASON: "x" * 2001}, follow_redirects=True
    )
    assert user_rows(text(admin.get("/admin/users")))["tina"][2] == "active"
    [message] = messages(text(response))
    assert message.startswith("Nothing was changed")
    assert "2000 characters" in message


def test_every_field_on_the_user_page_has_its_own_id(admin):
    ids = Counter(element_ids(text(admin.get("/admin/users/tina"))))
    assert [name for name, count in ids.items() if count > 1] == []


ADMIN_REQUESTS = [
    ("GET", "/admin/users"),
    ("GET", "/admin/users/new"),
    ("POST", "/admin/users/new"),
    ("GET", "/admin/users/ada"),
    ("POST", "/admin/users/ada"),
    ("POST", "/admin/users/ada/deactivate"),
    ("POST", "/admin/users/ada/reactivate"),
    ("POST", "/admin/users/ada/unlock"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_REQUESTS)
def test_a_technician_is_refused_every_admin_page(client, users, method, path):
    sign_in(client, "tina")
    data = {**NEW_USER, "username": "sneaky"} if path.endswith("/new") else {"roles": ["technician"]}
    response = client.open(path, method=method, data=data if method == "POST" else None)
    assert response.status_code == 403
    assert "This page needs the role admin." in messages(text(response))
