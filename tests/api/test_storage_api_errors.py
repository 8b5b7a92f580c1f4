"""The storage API refuses what it must, says why, and stores nothing (api.md).

Bad readings (each row named with its fix), who may post and who may make device tokens,
what a device token may not do, dispositions and acknowledgements in the wrong state, and
the summary endpoint's window.
"""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from qa_app.extensions import db
from qa_app.models import AuditEvent, Disposition, Reading, ReadingHour, ReadingUpload, User
from qa_app.services import clock, readings, storage
from qa_app.services.readings import RowInput
from tests.api.conftest import count
from tests.builders import setup_master_data, user
from tests.conftest import PASSWORD
from tests.services.test_excursions import stored_batch

READINGS = "/api/v1/storage-units/FRIDGE-1/readings"
FIVE_MINUTES = timedelta(minutes=5)


def five_minutes_ago(hours: float = 0) -> datetime:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now.replace(minute=now.minute - now.minute % 5) - FIVE_MINUTES - timedelta(hours=hours)


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def units(app, users):
    """FRIDGE-1 (2–8 °C) and SHELF-1 (20–25 °C), made by ada."""
    with app.app_context():
        storage.create_unit(user("ada"), code="FRIDGE-1", name="Refrigerator", condition="refrigerated")
        storage.create_unit(user("ada"), code="SHELF-1", name="Room shelf", condition="room")
    return ("FRIDGE-1", "SHELF-1")


@pytest.fixture
def tina(auth, users):
    return auth.token("tina")


@pytest.fixture
def rob(auth, users):
    return auth.token("rob")


@pytest.fixture
def admin(auth, users):
    return auth.token("ada")


@pytest.fixture
def stored(app):
    """Rows of readings, uploads, hourly sums and audit events now: a refusal changes none."""
    return lambda: tuple(count(app, model) for model in (Reading, ReadingUpload, ReadingHour, AuditEvent))


def last_event(app, action: str) -> AuditEvent:
    with app.app_context():
        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())
        ).first()
        db.session.expunge(event)
        return event


# --- bad readings --------------------------------------------------------------------------------


BAD_ROWS = [
    ("2026-03-02T12:00:00Z", "warm", "temperature_c 'warm' is not a number: give °C, e.g. 5.2."),
    ("2026-03-02T12:05:00Z", "inf", "temperature_c 'inf' is not a number: give °C, e.g. 5.2."),
    ("2026-03-02T12:10:00Z", "NaN", "temperature_c 'NaN' is not a number: give °C, e.g. 5.2."),
    ("2026-03-02T12:15:00Z", False, "temperature_c 'False' is not a number: give °C, e.g. 5.2."),
    ("2026-03-02T12:20:00Z", None, "temperature_c 'None' is not a number: give °C, e.g. 5.2."),
    ("2026-03-02T12:25:00Z", 80.5, "temperature_c 80.5 is outside −80…80 °C: check the unit and the sensor."),
    ("2026-03-02T12:30:00Z", -81, "temperature_c -81 is outside −80…80 °C: check the unit and the sensor."),
    ("2026-03-02T12:35:00", 5.0, "at '2026-03-02T12:35:00' has no offset: add one, e.g. Z or +01:00."),
    ("12:40", 5.0, "at '12:40' is not a time: use ISO 8601, e.g. 2026-11-25T09:30:00Z."),
    (None, 5.0, "at is missing: give the time, e.g. 2026-11-25T09:30:00Z."),
    (
        "1899-12-31T23:00:00+01:00",
        5.0,
        "at '1899-12-31T23:00:00+01:00' is before 1900: check the logger's clock.",
    ),
    ("2999-01-01T00:00:00Z", 5.0, "at '2999-01-01T00:00:00Z' is in the future: check the logger's clock."),
]


def test_every_bad_json_reading_is_named_with_its_row_and_fix_and_nothing_is_stored(
    client, tina, units, stored
):
    rows = [{"at": "2026-03-02T11:55:00Z", "temperature_c": 5.0}]
    rows += [{"at": at, "temperature_c": value} for at, value, _ in BAD_ROWS]
    rows += [{"at": "1970-01-01T00:00:00Z", "temperature_c": 5.0}]  # an old time is not a bad one
    before = stored()
    response = client.post(READINGS, json={"readings": rows}, headers=tina)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["message"] == "Nothing was stored: 12 row(s) need correcting."
    assert error["rows"] == [{"row": n, "message": m} for n, (_, _, m) in enumerate(BAD_ROWS, start=2)]
    assert stored() == before


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("NaN", "temperature_c 'nan' is not a number: give °C, e.g. 5.2."),
        ("-Infinity", "temperature_c '-inf' is not a number: give °C, e.g. 5.2."),
        ("1e400", "temperature_c 'inf' is not a number: give °C, e.g. 5.2."),
        ("1" + "0" * 400, "temperature_c '1000000000000000000000000000000000000000' is not a number: give °C, e.g. 5.2."),
    ],
    ids=["NaN", "-Infinity", "1e400", "400 digits"],
)  # fmt: skip
def test_json_numbers_that_are_no_temperature_are_400_not_500(client, tina, units, stored, raw, message):
    before = stored()
    text = '{"readings": [{"at": "2026-03-02T12:00:00Z", "temperature_c": ' + raw + "}]}"
    response = client.post(READINGS, data=text, content_type="application/json", headers=tina)
    assert response.status_code == 400
    assert response.get_json()["error"]["rows"] == [{"row": 1, "message": message}]
    assert stored() == before


def test_a_reading_six_minutes_ahead_is_refused_and_four_minutes_ahead_accepted(client, tina, units, stored):
    now = datetime.now(UTC).replace(microsecond=0)
    ahead = {minutes: z(now + timedelta(minutes=minutes)) for minutes in (4, 6)}
    before = stored()
    refused = client.post(READINGS, json={"readings": [{"at": ahead[6], "temperature_c": 5.0}]}, headers=tina)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["rows"] == [
        {"row": 1, "message": f"at '{ahead[6]}' is in the future: check the logger's clock."}
    ]
    assert stored() == before
    accepted = client.post(
        READINGS, json={"readings": [{"at": ahead[4], "temperature_c": 5.0}]}, headers=tina
    )
    assert accepted.get_json() == {"accepted": 1, "duplicates": 0}


@pytest.mark.parametrize(
    ("text", "status", "message", "rows"),
    [
        ("", 400, "The file is empty.", None),
        ("at,temperature_c\n", 400, "There are no readings to store.", None),
        (
            "timestamp,value\n2026-03-02T12:00:00Z,5.0\n",
            400,
            "The first line must be the header at,temperature_c.",
            [{"row": 1, "message": "The header must be at,temperature_c."}],
        ),
        (
            "at,temperature_c\n2026-03-02T12:00:00Z,5.0\n2026-03-02T12:05:00Z,5.0 C\n",
            400,
            "Nothing was stored: 1 row(s) need correcting.",
            [{"row": 3, "message": "temperature_c '5.0 C' is not a number: give °C, e.g. 5.2."}],
        ),
        (
            "at,temperature_c\n2026-03-02T12:00:00Z,5.0\n2026-03-02T12:00:00Z,5.5\n",
            400,
            "The file gives two values for the same time.",
            [{"row": 3, "message": "Same time as row 2 with another value."}],
        ),
    ],
    ids=["empty", "header only", "wrong header", "unit in the value", "two values at one time"],
)
def test_a_bad_csv_is_refused_naming_the_row_and_nothing_is_stored(
    client, tina, units, stored, text, status, message, rows
):
    before = stored()
    response = client.post(READINGS, data=text, content_type="text/csv", headers=tina)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["message"] == message
    assert error.get("rows") == rows
    assert stored() == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"readings": []}, {"readings": "Give at least 1 item(s)."}),
        ({"readings": {"at": "2026-03-02T12:00:00Z", "temperature_c": 5}}, {"readings": "Must be a list."}),
        ({}, {"readings": "Required."}),
        ({"readings": [{"at": "2026-03-02T12:00:00Z", "temperature_c": 5}], "unit": "C"}, {"unit": "Is not a field of this request."}),
    ],
    ids=["empty list", "not a list", "no readings", "an extra field"],
)  # fmt: skip
def test_a_json_body_without_a_list_of_readings_is_400(client, tina, units, stored, body, fields):
    before = stored()
    response = client.post(READINGS, json=body, headers=tina)
    assert (response.status_code, response.get_json()["error"]["fields"]) == (400, fields)
    assert stored() == before


@pytest.mark.parametrize("content_type", ["text/csv", "application/json"])
def test_a_body_over_32_mib_is_413(client, tina, units, stored, content_type):
    before = stored()
    row = "2026-03-02T12:00:00Z,5.0\n"
    text = "at,temperature_c\n" + row * (32 * 1024 * 1024 // len(row) + 1)
    response = client.post(READINGS, data=text, content_type=content_type, headers=tina)
    assert response.status_code == 413
    assert response.get_json()["error"] == {
        "code": "too_large",
        "message": "The request body is larger than 32 MiB; send it in smaller parts.",
    }
    assert stored() == before


@pytest.mark.parametrize("content_type", ["text/csv", "application/json"])
def test_an_unknown_unit_is_404_and_nothing_is_stored(client, tina, units, stored, content_type):
    before = stored()
    body = "at,temperature_c\n2026-03-02T12:00:00Z,5.0\n"
    if content_type == "application/json":
        body = '{"readings": [{"at": "2026-03-02T12:00:00Z", "temperature_c": 5.0}]}'
    response = client.post(
        "/api/v1/storage-units/FRIDGE-9/readings", data=body, content_type=content_type, headers=tina
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == "No storage unit with code 'FRIDGE-9'."
    assert stored() == before


def test_offsets_are_one_instant_stored_in_utc_and_the_answer_counts_duplicates(app, client, tina, units):
    body = {
        "readings": [
            {"at": "2026-03-02T13:00:00+01:00", "temperature_c": 5.0},
            {"at": "2026-03-02T12:00:00Z", "temperature_c": 5.0},
            {"at": "2026-03-02T07:05:00-05:00", "temperature_c": 5.5},
        ]
    }
    assert client.post(READINGS, json=body, headers=tina).get_json() == {"accepted": 2, "duplicates": 1}
    with app.app_context():
        stored_at = db.session.scalars(sa.select(Reading.at).order_by(Reading.at)).all()
    assert stored_at == [datetime(2026, 3, 2, 12, 0, tzinfo=UTC), datetime(2026, 3, 2, 12, 5, tzinfo=UTC)]
    received = last_event(app, "readings.received")
    assert received.username == "tina"
    assert (received.new_values["device_token_id"], received.new_values["source"]) == (None, "api")
    assert (received.new_values["first_at"], received.new_values["last_at"]) == (
        "2026-03-02T12:00:00+00:00",
        "2026-03-02T12:05:00+00:00",
    )


# --- who may post readings and manage device tokens -------------------------------------------


def test_technicians_and_reviewers_post_readings_inspectors_and_admins_do_not(
    client, auth, users, units, stored
):
    for minutes, (role, status) in enumerate(
        [("inspector", 403), ("admin", 403), ("technician", 200), ("reviewer", 200)]
    ):
        before = stored()
        body = {
            "readings": [{"at": z(five_minutes_ago() - timedelta(minutes=minutes)), "temperature_c": 4.5}]
        }
        response = client.post(READINGS, json=body, headers=auth.token(users[role]))
        assert response.status_code == status, role
        if status == 403:
            assert response.get_json()["error"]["message"] == "This needs the role technician or reviewer."
            assert stored()[:3] == before[:3]  # the token issued is audited; no reading is
    assert count(client.application, Reading) == 2


def make_device_token(
    client, admin, unit: str = "FRIDGE-1", label: str = "Sensor SN-4411"
) -> tuple[int, dict]:
    made = client.post(f"/api/v1/storage-units/{unit}/device-tokens", json={"label": label}, headers=admin)
    assert made.status_code == 201, made.get_json()
    return made.get_json()["id"], {"Authorization": f"Bearer {made.get_json()['token']}"}


@pytest.mark.parametrize("role", ["technician", "reviewer", "inspector"])
def test_only_an_admin_makes_lists_and_revokes_device_tokens(client, auth, users, units, admin, role):
    token_id, _ = make_device_token(client, admin)
    headers = auth.token(users[role])
    base = "/api/v1/storage-units/FRIDGE-1/device-tokens"
    assert client.post(base, json={"label": "Sensor 2"}, headers=headers).status_code == 403
    assert client.get(base, headers=headers).status_code == 403
    assert client.delete(f"{base}/{token_id}", headers=headers).status_code == 403
    listed = client.get(base, headers=admin).get_json()["items"]
    assert [(t["id"], t["label"], t["active"]) for t in listed] == [(token_id, "Sensor SN-4411", True)]


def test_revoking_twice_is_409_another_units_token_is_404_and_a_label_is_required(client, units, admin):
    token_id, _ = make_device_token(client, admin)
    path = f"/api/v1/storage-units/FRIDGE-1/device-tokens/{token_id}"
    assert client.delete(path, headers=admin).status_code == 200
    again = client.delete(path, headers=admin)
    assert (again.status_code, again.get_json()["error"]["message"]) == (
        409,
        f"Device token {token_id} was revoked already.",
    )
    elsewhere = client.delete(f"/api/v1/storage-units/SHELF-1/device-tokens/{token_id}", headers=admin)
    assert (elsewhere.status_code, elsewhere.get_json()["error"]["message"]) == (
        404,
        f"No device token {token_id} for SHELF-1.",
    )
    assert client.delete("/api/v1/storage-units/FRIDGE-1/device-tokens/999", headers=admin).status_code == 404
    unnamed = client.post(
        "/api/v1/storage-units/FRIDGE-1/device-tokens", json={"label": "   "}, headers=admin
    )
    assert (unnamed.status_code, unnamed.get_json()["error"]["fields"]) == (
        400,
        {"label": "Give 1–200 characters."},
    )


def test_a_device_token_may_only_post_readings_to_its_unit(client, units, admin, stored):
    token_id, device = make_device_token(client, admin)
    reading = {"readings": [{"at": z(five_minutes_ago()), "temperature_c": 4.8}]}
    before = stored()
    for method, path, body in [
        ("GET", "/api/v1/batches", None),
        ("GET", "/api/v1/excursions", None),
        ("GET", "/api/v1/storage-units", None),
        ("GET", "/api/v1/storage-units/FRIDGE-1", None),
        ("GET", "/api/v1/storage-units/FRIDGE-1/summary", None),
        ("GET", "/api/v1/storage-units/FRIDGE-1/device-tokens", None),
        ("POST", "/api/v1/storage-units/FRIDGE-1/device-tokens", {"label": "Sensor 2"}),
        ("DELETE", f"/api/v1/storage-units/FRIDGE-1/device-tokens/{token_id}", None),
        ("POST", "/api/v1/storage-units/SHELF-1/readings", reading),
    ]:
        response = client.open(path, method=method, json=body, headers=device)
        assert response.status_code == 403, (method, path)
    assert stored() == before
    assert client.post(READINGS, json=reading, headers=device).get_json() == {"accepted": 1, "duplicates": 0}


def test_a_device_tokens_readings_are_audited_with_its_id_and_stop_at_revoke(app, client, units, admin):
    token_id, device = make_device_token(client, admin)
    issued = last_event(app, "device_token.issued")
    assert (issued.username, issued.entity_key, issued.new_values) == (
        "ada",
        "FRIDGE-1",
        {"token_id": token_id, "label": "Sensor SN-4411"},
    )
    csv_body = f"at,temperature_c\n{z(five_minutes_ago(1))},4.9\n{z(five_minutes_ago())},5.1\n"
    posted = client.post(READINGS, data=csv_body, content_type="text/csv", headers=device)
    assert posted.get_json() == {"accepted": 2, "duplicates": 0}
    received = last_event(app, "readings.received")
    assert received.username == f"device:{token_id}"
    assert (received.new_values["device_token_id"], received.new_values["source"]) == (token_id, "device")
    assert (received.new_values["min_c"], received.new_values["max_c"]) == (4.9, 5.1)

    client.delete(f"/api/v1/storage-units/FRIDGE-1/device-tokens/{token_id}", headers=admin)
    revoked = last_event(app, "device_token.revoked")
    assert (revoked.username, revoked.old_values) == (
        "ada",
        {"token_id": token_id, "label": "Sensor SN-4411"},
    )
    refused = client.post(READINGS, data=csv_body, content_type="text/csv", headers=device)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (401, "not_authenticated")
    assert count(app, Reading) == 2  # the readings it sent stay


# --- dispositions and acknowledgements ---------------------------------------------------------


@pytest.fixture
def fridge_history(app, users):
    """Seven hours of FRIDGE-1 from eight hours ago, read every five minutes:

    00:00–01:55 at 5 °C; 02:00–02:55 at 12 °C (allowable); 03:00–03:55 at 5 °C;
    04:00–04:55 at 18 °C (needs disposition); 05:00–06:55 at 5 °C. Batch ``inside`` was in
    FRIDGE-1 the whole time (on hold), batch ``outside`` on SHELF-1 (quarantine).
    """
    with app.app_context():
        current_app.config["TEST_LOTS"] = setup_master_data(clock.today())
        start = five_minutes_ago(8)
        lots = {"inside": stored_batch("FRIDGE-1", start), "outside": stored_batch("SHELF-1", start)}
        temps = [5.0] * 24 + [12.0] * 12 + [5.0] * 12 + [18.0] * 12 + [5.0] * 24
        rows = [RowInput(i + 1, (start + i * FIVE_MINUTES).isoformat(), t) for i, t in enumerate(temps)]
        readings.ingest("FRIDGE-1", rows, source="csv", actor=user("tina"))
    return lots | {"start": start}


@pytest.fixture
def excursion_ids(client, rob, fridge_history) -> dict[str, int]:
    items = client.get("/api/v1/excursions?storage_unit=FRIDGE-1", headers=rob).get_json()["items"]
    return {e["classification"]: e["id"] for e in items}


def disposition(excursion_id: int, decision: str = "acceptable", password: str = PASSWORD, **changes) -> dict:
    body = {
        "excursion_id": excursion_id,
        "decision": decision,
        "comment": "18 °C for 1 h; 24-h MKT 6.4 °C; stability data cover it",
        "signature": {"username": "rob", "password": password, "meaning": "reviewed"},
    }
    return body | changes


def test_a_disposition_needs_a_reviewer_a_needy_excursion_and_a_batch_that_was_there(
    app, client, auth, rob, fridge_history, excursion_ids
):
    inside, outside = fridge_history["inside"], fridge_history["outside"]
    needy, allowable = excursion_ids["needs_disposition"], excursion_ids["allowable"]

    def post(lot, body, headers=rob):
        response = client.post(f"/api/v1/batches/{lot}/dispositions", json=body, headers=headers)
        return response.status_code, response.get_json().get("error", {}).get("message")

    tina = auth.token("tina")
    assert post(inside, disposition(needy), tina) == (403, "This needs the role reviewer.")
    assert post(inside, disposition(allowable)) == (
        409,
        f"Excursion {allowable} is allowable: it needs no disposition.",
    )
    assert post(outside, disposition(needy)) == (
        409,
        f"Batch {outside} was not in FRIDGE-1 during excursion {needy}.",
    )
    assert post(inside, disposition(9999)) == (404, "No excursion 9999.")
    assert (
        post(
            inside,
            disposition(needy, signature={"username": "rob", "password": PASSWORD, "meaning": "approved"}),
        )[0]
        == 400
    )
    assert count(app, Disposition) == 0

    assert post(inside, disposition(needy)) == (201, None)
    assert post(inside, disposition(needy)) == (
        409,
        f"A disposition for batch {inside} on excursion {needy} exists already.",
    )
    assert post(inside, disposition(needy, "reject")) == (
        409,
        f"A disposition for batch {inside} on excursion {needy} exists already.",
    )
    assert count(app, Disposition) == 1
    assert client.get(f"/api/v1/batches/{inside}", headers=rob).get_json()["status"] == "quarantine"


def test_a_wrong_signing_password_records_nothing_and_five_lock_the_reviewer_out(
    app, client, rob, fridge_history, excursion_ids
):
    inside, needy = fridge_history["inside"], excursion_ids["needs_disposition"]
    path = f"/api/v1/batches/{inside}/dispositions"
    wrong = client.post(path, json=disposition(needy, password="not-my-password"), headers=rob)
    assert wrong.status_code == 401
    assert wrong.get_json()["error"]["fields"] == {
        "signature.password": "Wrong password; enter your own password again."
    }
    assert count(app, Disposition) == 0
    assert last_event(app, "signature.failed").entity_key == "rob"
    with app.app_context():
        assert user("rob").failed_attempts == 1

    for _ in range(4):
        client.post(path, json=disposition(needy, password="not-my-password"), headers=rob)
    locked = client.post(path, json=disposition(needy), headers=rob)
    assert locked.status_code == 401
    assert count(app, Disposition) == 0
    assert last_event(app, "user.locked").new_values["after_failures"] == 5
    with app.app_context():
        assert db.session.scalar(sa.select(User.locked_until).where(User.username == "rob")) is not None
    assert client.get(f"/api/v1/batches/{inside}", headers=rob).status_code == 401


def test_reject_rejects_the_batch(client, rob, fridge_history, excursion_ids):
    inside = fridge_history["inside"]
    body = disposition(
        excursion_ids["needs_disposition"], "reject", comment="Oral liquid, no data above 15 °C"
    )
    recorded = client.post(f"/api/v1/batches/{inside}/dispositions", json=body, headers=rob)
    assert recorded.status_code == 201
    assert (recorded.get_json()["decision"], recorded.get_json()["decided_by"]) == ("reject", "rob")
    assert client.get(f"/api/v1/batches/{inside}", headers=rob).get_json()["status"] == "rejected"


def test_an_excursion_is_acknowledged_once_with_a_comment_by_a_reviewer(
    app, client, auth, rob, excursion_ids
):
    path = f"/api/v1/excursions/{excursion_ids['allowable']}/acknowledge"
    empty = client.post(path, json={"comment": ""}, headers=rob)
    assert (empty.status_code, empty.get_json()["error"]["fields"]) == (
        400,
        {"comment": "Must be at least 1 characters."},
    )
    blank = client.post(path, json={"comment": "   "}, headers=rob)
    assert (blank.status_code, blank.get_json()["error"]["fields"]) == (400, {"comment": "Required."})
    assert (
        client.post(path, json={"comment": "Door left open"}, headers=auth.token("tina")).status_code == 403
    )
    assert (
        client.post("/api/v1/excursions/9999/acknowledge", json={"comment": "x"}, headers=rob).status_code
        == 404
    )

    done = client.post(path, json={"comment": "Door left open during stock-take"}, headers=rob)
    assert (done.status_code, done.get_json()["acknowledged_by"]) == (200, "rob")
    assert done.get_json()["acknowledgement"] == "Door left open during stock-take"
    event = last_event(app, "excursion.acknowledged")
    assert (event.username, event.new_values) == ("rob", {"comment": "Door left open during stock-take"})
    again = client.post(path, json={"comment": "Again"}, headers=rob)
    assert (again.status_code, again.get_json()["error"]["message"]) == (
        409,
        f"Excursion {excursion_ids['allowable']} was acknowledged already by rob.",
    )
    still_open = client.get("/api/v1/excursions?storage_unit=FRIDGE-1&open=true", headers=rob).get_json()
    assert [e["id"] for e in still_open["items"]] == [excursion_ids["needs_disposition"]]


# --- the summary -------------------------------------------------------------------------------


def summary(client, headers, unit: str = "FRIDGE-1", **query):
    response = client.get(f"/api/v1/storage-units/{unit}/summary", query_string=query, headers=headers)
    return response.status_code, response.get_json()


def test_without_start_or_end_the_summary_covers_the_conditions_window_to_now(client, rob, admin, units):
    client.post(
        "/api/v1/storage-units",
        json={"code": "FREEZER-1", "name": "Freezer", "condition": "freezer"},
        headers=admin,
    )
    for unit, window in [
        ("FRIDGE-1", timedelta(hours=24)),
        ("SHELF-1", timedelta(days=30)),
        ("FREEZER-1", timedelta(days=7)),
    ]:
        before = datetime.now(UTC)
        status, body = summary(client, rob, unit)
        start, end = (datetime.fromisoformat(body[name]) for name in ("start", "end"))
        assert status == 200
        assert end - start == window, unit
        assert before - timedelta(seconds=1) <= end <= datetime.now(UTC) + timedelta(seconds=1)
        assert (body["count"], body["mkt_c"], body["excursions"]) == (0, None, [])


def test_a_bad_window_is_400_naming_the_field(client, rob, units):
    for query, fields in [
        (
            {"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T11:00:00Z"},
            {"end": "Must not be before start."},
        ),
        ({"start": "yesterday"}, {"start": "Use ISO 8601, e.g. 2026-11-25T09:30:00Z."}),
        ({"end": "2026-03-02T12:00:00"}, {"end": "Add the offset, e.g. 2026-11-25T09:30:00Z."}),
        # "+01:00" sent without escaping arrives as " 01:00"
        ({"start": "2026-03-02T12:00:00 01:00"}, {"start": "Use ISO 8601, e.g. 2026-11-25T09:30:00Z."}),
        ({"end": "0001-01-01T00:00:00Z"}, {"end": "Give a time between the years 1900 and 8999."}),
        (
            {"start": "0001-01-01T00:00:00+01:00", "end": "2026-03-02T12:00:00Z"},
            {"start": "Give a time between the years 1900 and 8999."},
        ),
        (
            {"start": "2026-03-02T12:00:00Z", "end": "9999-12-31T23:59:59-01:00"},
            {"end": "Give a time between the years 1900 and 8999."},
        ),
    ]:
        status, body = summary(client, rob, **query)
        assert (status, body["error"]["fields"]) == (400, fields), query
    assert summary(client, rob, "FRIDGE-9")[0] == 404


def test_the_excursions_hold_only_for_the_one_needing_disposition_and_are_listed_by_window(
    client, rob, fridge_history, excursion_ids
):
    start = fridge_history["start"]
    items = client.get("/api/v1/excursions?storage_unit=FRIDGE-1", headers=rob).get_json()["items"]
    assert [
        (e["start"], e["end"], e["duration_minutes"], e["max_c"], e["classification"]) for e in items
    ] == [
        (z(start + timedelta(hours=4)), z(start + timedelta(hours=5)), 60.0, 18.0, "needs_disposition"),
        (z(start + timedelta(hours=2)), z(start + timedelta(hours=3)), 60.0, 12.0, "allowable"),
    ]
    assert [e["affected_batches"] for e in items] == [[fridge_history["inside"]]] * 2
    batch = client.get(f"/api/v1/batches/{fridge_history['inside']}", headers=rob).get_json()
    assert (batch["status"], [h["id"] for h in batch["holds"]]) == ("on_hold", [items[0]["id"]])

    # 04:30–05:30 overlaps the 18 °C excursion (04:00–05:00) only.
    _, body = summary(client, rob, start=z(start + timedelta(hours=4.5)), end=z(start + timedelta(hours=5.5)))
    assert [e["id"] for e in body["excursions"]] == [excursion_ids["needs_disposition"]]
    assert body["excursions"][0]["affected_batches"] == [fridge_history["inside"]]
    # 04:30–05:30 holds 6 readings at 18 °C and 7 at 5 °C.
    assert (body["count"], body["min_c"], body["max_c"]) == (13, 5.0, 18.0)
    # 00:00–01:00 overlaps neither.
    _, quiet = summary(client, rob, start=z(start), end=z(start + timedelta(hours=1)))
    assert (quiet["count"], quiet["excursions"]) == (13, [])
    # The whole day lists both, oldest first.
    _, whole = summary(client, rob, start=z(start), end=z(start + timedelta(hours=7)))
    assert [e["id"] for e in whole["excursions"]] == [
        excursion_ids["allowable"],
        excursion_ids["needs_disposition"],
    ]
    assert whole["count"] == 84
    # Only a start: the window runs to now; 06:00–06:55 holds twelve readings at 5 °C.
    status, tail = summary(client, rob, start=z(start + timedelta(hours=6)))
    assert (status, tail["count"], tail["min_c"], tail["max_c"], tail["mkt_c"]) == (200, 12, 5.0, 5.0, 5.0)
