"""The audit trail over the API: who reads it, filters, CSV, chain verification, deactivation."""

import csv
import io

import pytest

from qa_app.models import AuditEvent
from tests.api.conftest import count
from tests.conftest import PASSWORD

CSV_HEADER = (
    "seq,occurred_at,username,action,entity_type,entity_key,old_values,new_values,reason,"
    "client_address,prev_hash,hash"
)


@pytest.fixture
def reviewer(users, auth) -> dict[str, str]:
    return auth.token(users["reviewer"])


def test_events_come_oldest_first(client, reviewer):
    body = client.get("/api/v1/audit", headers=reviewer).get_json()
    seqs = [e["seq"] for e in body["items"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [(e["action"], e["entity_key"]) for e in body["items"][:5]] == [
        ("user.created", "tina"),
        ("user.created", "rob"),
        ("user.created", "ada"),
        ("user.created", "ivan"),
        ("token.issued", "rob"),
    ]
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 5)


def test_each_event_links_to_the_one_before(client, reviewer):
    items = client.get("/api/v1/audit", headers=reviewer).get_json()["items"]
    assert items[0]["prev_hash"] == "0" * 64
    assert [e["prev_hash"] for e in items[1:]] == [e["hash"] for e in items[:-1]]


def test_the_trail_is_filtered_by_entity_and_key(client, reviewer):
    body = client.get("/api/v1/audit?entity=user&key=tina", headers=reviewer).get_json()
    assert [(e["action"], e["entity_type"], e["entity_key"]) for e in body["items"]] == [
        ("user.created", "user", "tina")
    ]
    assert body["total"] == 1
    assert body["items"][0]["new_values"] == {
        "username": "tina",
        "full_name": "Tina Technician",
        "roles": ["technician"],
        "active": True,
    }


def test_an_unknown_entity_gives_an_empty_page(client, reviewer):
    body = client.get("/api/v1/audit?entity=batch&key=tina", headers=reviewer).get_json()
    assert (body["items"], body["total"]) == ([], 0)


def test_the_trail_pages(client, reviewer):
    body = client.get("/api/v1/audit?page=2&per_page=2", headers=reviewer).get_json()
    assert [e["seq"] for e in body["items"]] == [3, 4]
    assert body["total"] == 5


def test_csv_has_the_documented_header_and_a_row_per_event(client, reviewer):
    response = client.get("/api/v1/audit?format=csv", headers=reviewer)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.splitlines()[0] == CSV_HEADER
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["seq"], r["action"], r["entity_key"]) for r in rows] == [
        ("1", "user.created", "tina"),
        ("2", "user.created", "rob"),
        ("3", "user.created", "ada"),
        ("4", "user.created", "ivan"),
        ("5", "token.issued", "rob"),
    ]


def test_csv_is_filtered_like_json(client, reviewer):
    text = client.get("/api/v1/audit?format=csv&entity=user&key=ada", headers=reviewer).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["action"], r["entity_key"]) for r in rows] == [("user.created", "ada")]


@pytest.mark.parametrize("fmt", ["xml", "CSV", "pdf"])
def test_an_unknown_format_is_400_naming_format(client, reviewer, fmt):
    response = client.get(f"/api/v1/audit?format={fmt}", headers=reviewer)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], set(error["fields"])) == ("invalid_input", {"format"})


def test_verify_checks_every_event(app, client, reviewer):
    body = client.get("/api/v1/audit/verify", headers=reviewer).get_json()
    assert body == {"ok": True, "checked": count(app, AuditEvent), "first_bad": None}
    assert body["checked"] == 5


@pytest.mark.parametrize("path", ["/api/v1/audit", "/api/v1/audit/verify", "/api/v1/audit?format=csv"])
@pytest.mark.parametrize(
    ("role", "status"), [("technician", 403), ("reviewer", 200), ("admin", 200), ("inspector", 200)]
)
def test_reviewers_admins_and_inspectors_read_the_trail(client, users, auth, path, role, status):
    response = client.get(path, headers=auth.token(users[role]))
    assert response.status_code == status
    if status == 403:
        assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("path", ["/api/v1/audit", "/api/v1/audit/verify"])
def test_the_trail_needs_a_token(client, path):
    assert client.get(path).status_code == 401


def test_an_inspector_reads_but_cannot_change_users(client, users, auth, app):
    headers = auth.token(users["inspector"])
    before = count(app, AuditEvent)
    response = client.post("/api/v1/users/tina/deactivate", headers=headers, json={"reason": "test"})
    assert response.status_code == 403
    assert count(app, AuditEvent) == before


def deactivate(client, headers, username: str, reason: str = "left the pharmacy"):
    return client.post(f"/api/v1/users/{username}/deactivate", headers=headers, json={"reason": reason})


def test_deactivating_a_user_answers_the_inactive_user(client, admin):
    response = deactivate(client, admin, "tina")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["username"], body["active"]) == ("tina", False)


def test_deactivation_is_in_the_trail_with_reason_and_values(client, admin, reviewer):
    deactivate(client, admin, "tina")
    items = client.get("/api/v1/audit?entity=user&key=tina", headers=reviewer).get_json()["items"]
    event = items[-1]
    assert event["action"] == "user.deactivated"
    assert event["username"] == "ada"
    assert event["reason"] == "left the pharmacy"
    assert (event["old_values"], event["new_values"]) == ({"active": True}, {"active": False})


def test_a_deactivated_users_token_stops_working(client, users, auth, admin):
    tina = auth.token(users["technician"])
    deactivate(client, admin, "tina")
    assert client.get("/api/v1/audit", headers=tina).status_code == 401


def test_deactivating_twice_is_409(client, admin):
    deactivate(client, admin, "tina")
    response = deactivate(client, admin, "tina")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "wrong_state"


def test_deactivating_nobody_is_404(client, admin):
    response = deactivate(client, admin, "nobody")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_an_admin_cannot_deactivate_themself(client, admin):
    response = deactivate(client, admin, "ada")
    assert response.status_code == 403
    assert client.get("/api/v1/users", headers=admin).status_code == 200


def test_a_reason_over_2000_characters_is_400(client, admin):
    response = deactivate(client, admin, "tina", reason="x" * 2001)
    assert response.status_code == 400
    assert set(response.get_json()["error"]["fields"]) == {"reason"}


def test_unlocking_a_user_who_is_not_locked_is_409(client, admin):
    response = client.post("/api/v1/users/tina/unlock", headers=admin)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "wrong_state"


def test_unlocking_nobody_is_404(client, admin):
    assert client.post("/api/v1/users/nobody/unlock", headers=admin).status_code == 404


def test_unlocking_a_locked_user_lets_them_in_at_once(client, admin):
    for _ in range(5):
        client.post("/api/v1/tokens", json={"username": "tina", "password": "not-the-password"})
    listed = client.get("/api/v1/users", headers=admin).get_json()["items"]
    assert next(u for u in listed if u["username"] == "tina")["locked"] is True
    response = client.post("/api/v1/users/tina/unlock", headers=admin)
    assert response.status_code == 200
    assert (response.get_json()["locked"], response.get_json()["locked_until"]) == (False, None)
    assert client.post("/api/v1/tokens", json={"username": "tina", "password": PASSWORD}).status_code == 201


def test_csv_cells_that_look_like_formulas_are_defused(client, reviewer):
    client.post("/api/v1/tokens", json={"username": "=1+1", "password": "guess"})
    text = client.get("/api/v1/audit?format=csv&key==1%2B1", headers=reviewer).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["action"], r["username"], r["entity_key"]) for r in rows] == [
        ("auth.failed", "'=1+1", "'=1+1")
    ]


def test_verify_names_an_event_rewritten_with_every_later_hash_recomputed(app, client, reviewer):
    from tests.services.test_audit import _rewrite_and_recompute, _unprotect

    _unprotect(app)
    _rewrite_and_recompute(app, 2, "nothing happened")
    body = client.get("/api/v1/audit/verify", headers=reviewer).get_json()
    assert body == {"ok": False, "checked": 1, "first_bad": 2}
