"""Readings, summaries, excursions, device tokens and dispositions through the API (api.md)."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import MaterialLot, Reading
from qa_app.services import batches, storage
from tests.api.conftest import actions, count
from tests.api.test_results_api import completed_batch
from tests.builders import signature, user
from tests.conftest import PASSWORD


def five_minute_times(start: datetime, n: int) -> list[str]:
    return [(start + timedelta(minutes=5 * i)).isoformat().replace("+00:00", "Z") for i in range(n)]


def whole_minutes_ago(hours: int) -> datetime:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now.replace(minute=now.minute - now.minute % 5) - timedelta(hours=hours)


@pytest.fixture
def lot(app, users):
    return completed_batch(app)


@pytest.fixture
def tina(auth, lot):
    return auth.token("tina")


@pytest.fixture
def rob(auth, lot):
    return auth.token("rob")


def fridge_csv(start: datetime, n: int, warm: range = range(0)) -> str:
    lines = ["at,temperature_c"]
    for i, at in enumerate(five_minute_times(start, n)):
        lines.append(f"{at},{18.0 if i in warm else 5.0}")
    return "\n".join(lines) + "\n"


def test_json_readings_are_accepted_and_resent_ones_are_duplicates(client, tina):
    start = whole_minutes_ago(2)
    body = {
        "readings": [
            {"at": at, "temperature_c": 5.0 + i / 10} for i, at in enumerate(five_minute_times(start, 12))
        ]
    }
    first = client.post("/api/v1/storage-units/FRIDGE-1/readings", json=body, headers=tina)
    assert (first.status_code, first.get_json()) == (200, {"accepted": 12, "duplicates": 0})
    again = client.post("/api/v1/storage-units/FRIDGE-1/readings", json=body, headers=tina)
    assert again.get_json() == {"accepted": 0, "duplicates": 12}


def test_same_time_with_another_value_is_409_and_nothing_stored(app, client, tina):
    start = whole_minutes_ago(3)
    client.post(
        "/api/v1/storage-units/FRIDGE-1/readings",
        json={"readings": [{"at": start.isoformat(), "temperature_c": 5.0}]},
        headers=tina,
    )
    later = start + timedelta(minutes=5)
    response = client.post(
        "/api/v1/storage-units/FRIDGE-1/readings",
        json={
            "readings": [
                {"at": later.isoformat(), "temperature_c": 5.5},
                {"at": start.isoformat(), "temperature_c": 6.0},
            ]
        },
        headers=tina,
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["rows"][0]["row"] == 2
    assert count(app, Reading) == 1


def test_bad_csv_names_each_row(client, tina):
    text = "at,temperature_c\n2026-11-20T08:00:00Z,5.0\n2026-11-20T08:05:00,5.1\n2026-11-20T08:10:00Z,hot\n"
    response = client.post(
        "/api/v1/storage-units/FRIDGE-1/readings", data=text, content_type="text/csv", headers=tina
    )
    assert response.status_code == 400
    rows = response.get_json()["error"]["rows"]
    assert [r["row"] for r in rows] == [3, 4]
    assert "no offset" in rows[0]["message"] and "'hot' is not a number" in rows[1]["message"]


def test_unknown_unit_is_404(client, tina):
    response = client.post(
        "/api/v1/storage-units/NOPE/readings",
        json={"readings": [{"at": "2026-11-20T08:00:00Z", "temperature_c": 5}]},
        headers=tina,
    )
    assert response.status_code == 404


def refrigerated_batch(app, unit: str = "FRIDGE-1", at: datetime | None = None) -> str:
    """The 1 mg/mL oral liquid (stored refrigerated) compounded and completed into ``unit``."""
    with app.app_context():
        lots = {lot.material.code: lot.barcode for lot in db.session.scalars(sa.select(MaterialLot))}
        tina = user("tina")
        batch = batches.create_batch(
            tina, formula="LDN-LIQ", quantity=100, concentration=1.0, dose_amount=4.5,
            **({"compounded_at": at} if at else {}),
        )  # fmt: skip
        lot = batch.lot_number
        batches.record_component(
            tina, lot, barcode=lots["NTX-HCL"], quantity_mg=batch.calculation["api_mg"], balance="XS205"
        )
        batches.record_component(tina, lot, barcode=lots["SYRUP"], quantity_mg=100000.0, balance="XS205")
        batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
        batches.complete(tina, lot, actual_yield=100, storage_unit=unit, at=at)
        return lot


def test_csv_excursion_holds_batch_and_disposition_releases_the_hold(app, client, tina, rob, lot):
    # an oral liquid goes into the fridge now; the excursion is still going on at the end
    start = whole_minutes_ago(10)
    lot = refrigerated_batch(app)
    with app.app_context():
        storage.create_unit(
            user("ada"), code="FRIDGE-2", name="Second refrigerator", condition="refrigerated"
        )
    # readings from now-10h; the batch is in the fridge from now on, so put the excursion at the end
    n = 10 * 12 + 1
    response = client.post(
        "/api/v1/storage-units/FRIDGE-1/readings",
        data=fridge_csv(start, n, warm=range(n - 12, n)),
        content_type="text/csv",
        headers=tina,
    )
    assert response.get_json() == {"accepted": 121, "duplicates": 0}
    listed = client.get("/api/v1/excursions?storage_unit=FRIDGE-1&open=true", headers=rob).get_json()
    assert listed["total"] == 1
    [excursion] = listed["items"]
    assert excursion["classification"] == "needs_disposition"
    assert excursion["end"] is None and excursion["ongoing"] is True
    assert excursion["affected_batches"] == [lot]
    batch = client.get(f"/api/v1/batches/{lot}", headers=rob).get_json()
    assert batch["status"] == "on_hold"
    assert [h["kind"] for h in batch["holds"]] == ["excursion"]

    # accepting while it goes on with the batch inside is refused; moving the batch out first works
    signature = {"username": "rob", "password": PASSWORD, "meaning": "reviewed"}
    body = {
        "excursion_id": excursion["id"],
        "decision": "acceptable",
        "comment": "MKT 5.4 °C",
        "signature": signature,
    }
    assert client.post(f"/api/v1/batches/{lot}/dispositions", json=body, headers=rob).status_code == 409
    client.post(f"/api/v1/batches/{lot}/move", json={"storage_unit": "FRIDGE-2"}, headers=tina)
    wrong = dict(body, signature=dict(signature, password="wrong-password-123"))
    assert client.post(f"/api/v1/batches/{lot}/dispositions", json=wrong, headers=rob).status_code == 401
    recorded = client.post(f"/api/v1/batches/{lot}/dispositions", json=body, headers=rob)
    assert recorded.status_code == 201, recorded.get_json()
    assert recorded.get_json()["decision"] == "acceptable"
    assert client.get(f"/api/v1/batches/{lot}", headers=rob).get_json()["status"] == "quarantine"
    assert "batch.disposition_recorded" in actions(app, key=lot)

    ack = client.post(
        f"/api/v1/excursions/{excursion['id']}/acknowledge",
        json={"comment": "Compressor fuse replaced"},
        headers=rob,
    )
    assert ack.get_json()["acknowledged_by"] == "rob"
    assert client.get("/api/v1/excursions?open=true", headers=rob).get_json()["total"] == 0


def test_summary_of_a_window(client, tina):
    start = whole_minutes_ago(4)
    body = {
        "readings": [
            {"at": at, "temperature_c": t}
            for at, t in zip(five_minute_times(start, 3), [20, 25, 30], strict=True)
        ]
    }
    client.post("/api/v1/storage-units/SHELF-1/readings", json=body, headers=tina)
    end = (start + timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    summary = client.get(
        f"/api/v1/storage-units/SHELF-1/summary?start={start.isoformat().replace('+00:00', 'Z')}&end={end}",
        headers=tina,
    ).get_json()
    assert (summary["count"], summary["min_c"], summary["max_c"], summary["mean_c"], summary["mkt_c"]) == (
        3,
        20.0,
        30.0,
        25.0,
        25.86,
    )
    empty = client.get(
        "/api/v1/storage-units/SHELF-1/summary?start=2020-01-01T00:00:00Z&end=2020-01-02T00:00:00Z",
        headers=tina,
    ).get_json()
    assert (empty["count"], empty["mkt_c"]) == (0, None)


def test_device_token_posts_only_to_its_unit_until_revoked(client, users, auth, lot):
    admin = auth.token(users["admin"])
    made = client.post(
        "/api/v1/storage-units/FRIDGE-1/device-tokens", json={"label": "Sensor SN-4411"}, headers=admin
    )
    assert made.status_code == 201
    device = {"Authorization": f"Bearer {made.get_json()['token']}"}
    reading = {"readings": [{"at": whole_minutes_ago(1).isoformat(), "temperature_c": 4.8}]}
    assert client.post(
        "/api/v1/storage-units/FRIDGE-1/readings", json=reading, headers=device
    ).get_json() == {
        "accepted": 1,
        "duplicates": 0,
    }
    assert (
        client.post("/api/v1/storage-units/SHELF-1/readings", json=reading, headers=device).status_code == 403
    )
    assert client.get("/api/v1/batches", headers=device).status_code == 403
    token_id = made.get_json()["id"]
    assert (
        client.delete(f"/api/v1/storage-units/FRIDGE-1/device-tokens/{token_id}", headers=admin).status_code
        == 200
    )
    assert (
        client.post("/api/v1/storage-units/FRIDGE-1/readings", json=reading, headers=device).status_code
        == 401
    )
    listed = client.get("/api/v1/storage-units/FRIDGE-1/device-tokens", headers=admin).get_json()["items"]
    assert [(t["label"], t["active"]) for t in listed] == [("Sensor SN-4411", False)]
