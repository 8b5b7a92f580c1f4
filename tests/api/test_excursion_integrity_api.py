"""Late sensor data, back-dated moves, units that do not fit, and what the Excursion JSON says."""

from datetime import datetime, timedelta

import pytest
from flask import current_app

from qa_app.services import batches, clock
from tests.api.test_storage_api_errors import five_minutes_ago, make_device_token, z
from tests.builders import setup_master_data, signature, user
from tests.conftest import PASSWORD
from tests.services.test_excursions import stored_batch

STEP = timedelta(minutes=5)
HOUR = timedelta(hours=1)


@pytest.fixture
def start(app, users) -> datetime:
    """Master data (SHELF-1 room, FRIDGE-1 refrigerated); readings start eight hours ago."""
    with app.app_context():
        current_app.config["TEST_LOTS"] = setup_master_data(clock.today())
    return five_minutes_ago(8)


@pytest.fixture
def tina(auth, users):
    return auth.token("tina")


@pytest.fixture
def rob(auth, users):
    return auth.token("rob")


@pytest.fixture
def admin(auth, users):
    return auth.token("ada")


def post(client, headers, unit: str, pairs: list[tuple[datetime, float]]):
    body = {"readings": [{"at": z(at), "temperature_c": t} for at, t in pairs]}
    response = client.post(f"/api/v1/storage-units/{unit}/readings", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response


def every_five(begin: datetime, temps: list[float]) -> list[tuple[datetime, float]]:
    return [(begin + i * STEP, t) for i, t in enumerate(temps)]


def liquid_in_fridge(app, at: datetime) -> str:
    with app.app_context():
        return stored_batch("FRIDGE-1", at)


def excursions_of(client, headers, unit: str = "FRIDGE-1") -> list[dict]:
    return client.get(f"/api/v1/excursions?storage_unit={unit}", headers=headers).get_json()["items"]


def batch(client, headers, lot: str) -> dict:
    return client.get(f"/api/v1/batches/{lot}", headers=headers).get_json()


def test_a_sensor_sending_late_readings_cannot_withdraw_an_excursion_or_lift_the_hold(
    app, client, start, tina, rob, admin
):
    lot = liquid_in_fridge(app, start - HOUR)
    post(client, tina, "FRIDGE-1", every_five(start, [5.0] * 12))
    post(client, tina, "FRIDGE-1", [(start + HOUR, 12.0), (start + 1.5 * HOUR, 12.0)])  # read off the display
    [found] = excursions_of(client, rob)
    assert (found["classification"], found["gap_minutes"], found["affected_batches"]) == (
        "needs_disposition",
        30.0,
        [lot],
    )
    assert "a data gap is not evidence" in found["reason"]
    assert batch(client, rob, lot)["status"] == "on_hold"

    _, device = make_device_token(client, admin)
    post(client, device, "FRIDGE-1", every_five(start + HOUR + STEP, [5.0] * 5))  # 01:05–01:25
    post(client, device, "FRIDGE-1", every_five(start + 1.5 * HOUR + STEP, [5.0] * 7))  # 01:35–02:05
    [kept] = excursions_of(client, rob)
    assert (kept["id"], kept["classification"], kept["start"]) == (
        found["id"],
        "needs_disposition",
        z(start + HOUR),
    )
    assert kept["end"] == z(start + 1.5 * HOUR + STEP)
    assert kept["reason"].endswith("late data never lift a hold.")
    held = batch(client, rob, lot)
    assert held["status"] == "on_hold"
    assert [h["kind"] for h in held["holds"]] == ["excursion"]

    body = {
        "excursion_id": found["id"],
        "decision": "acceptable",
        "comment": "12 °C on the display twice; the logger shows 5 °C between",
        "signature": {"username": "rob", "password": PASSWORD, "meaning": "reviewed"},
    }
    assert client.post(f"/api/v1/batches/{lot}/dispositions", json=body, headers=rob).status_code == 201
    assert batch(client, rob, lot)["status"] == "quarantine"
    [decided] = excursions_of(client, rob)
    assert (decided["classification"], decided["state"]) == ("needs_disposition", "dispositioned")


def test_a_move_dated_before_the_excursion_is_409_and_the_hold_stays(app, client, start, tina, rob, admin):
    lot = liquid_in_fridge(app, start - HOUR)
    client.post(
        "/api/v1/storage-units",
        json={"code": "FRIDGE-2", "name": "Second refrigerator", "condition": "refrigerated"},
        headers=admin,
    )
    post(client, tina, "FRIDGE-1", every_five(start, [5.0] * 12 + [18.0] * 12 + [5.0] * 12))
    [found] = excursions_of(client, rob)
    assert batch(client, rob, lot)["status"] == "on_hold"

    early = client.post(
        f"/api/v1/batches/{lot}/move",
        json={"storage_unit": "FRIDGE-2", "at": z(start + 0.5 * HOUR)},
        headers=tina,
    )
    assert early.status_code == 409
    error = early.get_json()["error"]
    assert error["fields"] == {"at": f"Not before {(start + HOUR).isoformat()}."}
    assert f"excursion {found['id']}" in error["message"]
    after = batch(client, rob, lot)
    assert (after["status"], after["storage_unit"]) == ("on_hold", "FRIDGE-1")

    later = client.post(
        f"/api/v1/batches/{lot}/move",
        json={"storage_unit": "FRIDGE-2", "at": z(start + 1.5 * HOUR)},
        headers=tina,
    )
    assert later.status_code == 200, later.get_json()
    moved = batch(client, rob, lot)
    assert (moved["status"], moved["storage_unit"]) == ("on_hold", "FRIDGE-2")


def test_complete_and_move_refuse_a_unit_that_does_not_fit_the_formula(app, client, start, tina):
    with app.app_context():
        lots = current_app.config["TEST_LOTS"]
        draft = batches.create_batch(
            user("tina"), formula="LDN-LIQ", quantity=100, concentration=1.0, dose_amount=4.5
        )
        lot = draft.lot_number
        batches.record_component(
            user("tina"), lot, barcode=lots["api"], quantity_mg=draft.calculation["api_mg"], balance="XS205"
        )
        batches.record_component(
            user("tina"), lot, barcode=lots["syrup"], quantity_mg=100000.0, balance="XS205"
        )
        batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
        capsules = stored_batch("SHELF-1", start)
    shelf = client.post(
        f"/api/v1/batches/{lot}/complete", json={"actual_yield": 100, "storage_unit": "SHELF-1"}, headers=tina
    )
    assert shelf.status_code == 400
    assert shelf.get_json()["error"]["fields"] == {
        "storage_unit": "Choose a refrigerated unit: the formula's storage is refrigerated."
    }
    assert batch(client, tina, lot)["status"] == "draft"

    fridge = client.post(f"/api/v1/batches/{capsules}/move", json={"storage_unit": "FRIDGE-1"}, headers=tina)
    assert fridge.status_code == 400
    assert fridge.get_json()["error"]["fields"] == {
        "storage_unit": "Choose a room unit: the formula's storage is room."
    }
    assert batch(client, tina, capsules)["storage_unit"] == "SHELF-1"

    done = client.post(
        f"/api/v1/batches/{lot}/complete",
        json={"actual_yield": 100, "storage_unit": "FRIDGE-1"},
        headers=tina,
    )
    assert done.status_code == 200, done.get_json()


def test_ten_minutes_at_41_degrees_on_a_room_shelf_is_an_excursion_needing_a_disposition(
    app, client, start, tina, rob
):
    with app.app_context():
        lot = stored_batch("SHELF-1", start - HOUR)
    post(client, tina, "SHELF-1", every_five(start, [22.0] * 12 + [41.0] * 2 + [22.0] * 12))
    [found] = excursions_of(client, rob, "SHELF-1")
    assert (found["start"], found["end"], found["duration_minutes"]) == (
        z(start + HOUR),
        z(start + HOUR + 2 * STEP),
        10.0,
    )
    assert (found["classification"], found["max_c"], found["gap_minutes"]) == ("needs_disposition", 41.0, 0.0)
    assert "it reached 41 °C, beyond the allowance (above 40 °C)" in found["reason"]
    assert batch(client, rob, lot)["status"] == "on_hold"


def test_a_data_gap_is_reported_on_the_excursion_and_in_the_window_summary(app, client, start, tina, rob):
    post(client, tina, "FRIDGE-1", every_five(start - 4 * HOUR, [5.0] * 72 + [12.0, 13.0, 14.0]))  # to 02:10
    post(client, tina, "FRIDGE-1", every_five(start + 6 * HOUR + 2 * STEP, [5.0] * 12))  # nothing until 06:10
    [found] = excursions_of(client, rob)
    assert (found["classification"], found["gap_minutes"], found["duration_minutes"]) == (
        "needs_disposition",
        240.0,
        250.0,
    )
    assert "no readings for 4 h 0 min during it or next to it" in found["reason"]
    summary = client.get(
        f"/api/v1/storage-units/FRIDGE-1/summary?start={z(start - 4 * HOUR)}&end={z(start + 8 * HOUR)}",
        headers=rob,
    ).get_json()
    assert summary["gaps"] == [
        {"start": z(start + 2 * HOUR + 2 * STEP), "end": z(start + 6 * HOUR + 2 * STEP), "minutes": 240.0}
    ]
    assert [e["gap_minutes"] for e in summary["excursions"]] == [240.0]
