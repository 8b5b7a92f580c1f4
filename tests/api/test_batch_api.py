"""The batch record through the JSON API, as a pharmacy system would drive it."""

import pytest

from qa_app.services import clock
from tests.builders import setup_master_data


@pytest.fixture
def lots(app, users):
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def tina(auth, lots):
    return auth.token("tina")


def _new_batch(client, headers, **body):
    payload = {"formula": "LDN-CAP", "strength_mg": 1.5, "quantity": 100, **body}
    return client.post("/api/v1/batches", json=payload, headers=headers)


def test_a_capsule_batch_goes_from_draft_to_quarantine(client, auth, lots, tina):
    created = _new_batch(client, tina)
    assert created.status_code == 201
    batch = created.get_json()
    lot = batch["lot_number"]
    assert (batch["status"], batch["formula"], batch["strength_mg"]) == (
        "draft",
        {"code": "LDN-CAP", "version": 1},
        1.5,
    )
    assert batch["calculation"]["api_mg"] == 151.52
    assert batch["expired"] is False
    steps = [
        ("components", {"barcode": lots["api"], "quantity_mg": 151.6, "balance": "XS205"}, tina, 201),
        ("components", {"barcode": lots["mcc"], "quantity_mg": 22348.5, "balance": "XS205"}, tina, 201),
        ("components", {"barcode": lots["caps"], "count": 100}, tina, 201),
        ("weight-check", {"weights_mg": [224.0, 226.0] * 5}, tina, 201),
    ]
    for path, body, headers, status in steps:
        response = client.post(f"/api/v1/batches/{lot}/{path}", json=body, headers=headers)
        assert response.status_code == status, response.get_json()
    early = client.post(
        f"/api/v1/batches/{lot}/complete", json={"actual_yield": 99, "storage_unit": "SHELF-1"}, headers=tina
    )
    assert early.status_code == 409
    assert "second person must verify the API weighing" in early.get_json()["error"]["message"]
    rob = auth.token("rob")
    signed = client.post(
        f"/api/v1/batches/{lot}/verify-weighing",
        json={"signature": {"username": "rob", "password": "correct-horse-battery", "meaning": "verified"}},
        headers=rob,
    )
    assert signed.status_code == 200, signed.get_json()
    assert signed.get_json()["signatures"][0]["meaning"] == "verified"
    done = client.post(
        f"/api/v1/batches/{lot}/complete", json={"actual_yield": 99, "storage_unit": "SHELF-1"}, headers=tina
    )
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert (body["status"], body["storage_unit"], body["yield_percent"]) == ("quarantine", "SHELF-1", 99.0)
    assert [c["role"] for c in body["components"]] == ["api", "filler", "container"]
    listed = client.get("/api/v1/batches?status=quarantine", headers=tina).get_json()
    assert (listed["total"], listed["items"][0]["lot_number"]) == (1, lot)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"strength_mg": 0.4}, "strength_mg"),
        ({"strength_mg": 4.6}, "strength_mg"),
        ({"strength_mg": "abc"}, "strength_mg"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": 100001}, "quantity"),
        ({"formula": "NOPE"}, "formula"),
        ({"compounded_at": "2026-11-25T09:30:00"}, "compounded_at"),
        ({"compounded_at": "2999-01-01T00:00:00Z"}, "compounded_at"),
    ],
)
def test_bad_batch_input_is_a_400_naming_the_field(client, tina, body, field):
    response = _new_batch(client, tina, **body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
    assert client.get("/api/v1/batches", headers=tina).get_json()["total"] == 0


def test_the_strength_message_names_the_allowed_range(client, tina):
    response = _new_batch(client, tina, strength_mg=4.6)
    assert "between 0.5 and 4.5 mg" in response.get_json()["error"]["fields"]["strength_mg"]


def test_nan_cannot_be_sent_as_a_strength(client, tina):
    response = client.post(
        "/api/v1/batches",
        data='{"formula": "LDN-CAP", "strength_mg": NaN, "quantity": 10}',
        content_type="application/json",
        headers=tina,
    )
    assert response.status_code == 400


def test_a_lot_lookup_says_why_a_lot_cannot_be_used(client, auth, lots, tina):
    received = client.post(
        "/api/v1/material-lots",
        json={
            "material": "NTX-HCL",
            "lot_number": "Q-1",
            "supplier": "Fagron",
            "expiry_date": "2030-01-01",
            "assay_percent": 99.5,
            "water_percent": 0.8,
        },
        headers=tina,
    )
    assert received.status_code == 201, received.get_json()
    lot = received.get_json()
    assert (lot["status"], lot["assay_percent"], lot["assay_anhydrous_percent"]) == (
        "quarantine",
        98.704,
        99.5,
    )
    looked_up = client.get(f"/api/v1/material-lots/{lot['barcode']}", headers=tina).get_json()
    assert looked_up["usable"] is False
    assert looked_up["reason"] == f"lot {lot['barcode']} is in quarantine (not approved)"
    assert client.get("/api/v1/material-lots/NOPE", headers=tina).status_code == 404


def test_a_quarantined_lot_is_refused_at_the_scan_with_409(client, tina):
    received = client.post(
        "/api/v1/material-lots",
        json={"material": "MCC", "lot_number": "Q-2", "supplier": "Medisca", "expiry_date": "2030-01-01"},
        headers=tina,
    ).get_json()
    lot = _new_batch(client, tina).get_json()["lot_number"]
    response = client.post(
        f"/api/v1/batches/{lot}/components",
        json={"barcode": received["barcode"], "quantity_mg": 1000.0, "balance": "XS205"},
        headers=tina,
    )
    assert response.status_code == 409
    assert "quarantine" in response.get_json()["error"]["message"]


def test_formula_approval_needs_another_person(client, auth, lots):
    ada = auth.token("ada")
    body = {
        "code": "LDN-CAP",
        "name": "LDN capsules v2",
        "dosage_form": "capsule",
        "strength_min_mg": 0.5,
        "strength_max_mg": 3.0,
        "components": [
            {"material": "NTX-HCL", "role": "api"},
            {"material": "MCC", "role": "filler"},
            {"material": "CAP-3", "role": "container"},
        ],
        "fill_weight_mg": 200.0,
        "storage": "room",
        "bud": {"category": "nonaqueous_other"},
    }
    drafted = client.post("/api/v1/formulas/LDN-CAP/versions", json=body, headers=ada)
    assert drafted.status_code == 201, drafted.get_json()
    assert (drafted.get_json()["version"], drafted.get_json()["status"]) == (2, "draft")
    own = client.post(
        "/api/v1/formulas/LDN-CAP/approve",
        headers=ada,
        json={"signature": {"username": "ada", "password": "correct-horse-battery", "meaning": "approved"}},
    )
    assert own.status_code == 403
    rob = auth.token("rob")
    wrong_meaning = client.post(
        "/api/v1/formulas/LDN-CAP/approve",
        headers=rob,
        json={"signature": {"username": "rob", "password": "correct-horse-battery", "meaning": "released"}},
    )
    assert wrong_meaning.status_code == 400
    approved = client.post(
        "/api/v1/formulas/LDN-CAP/approve",
        headers=rob,
        json={"signature": {"username": "rob", "password": "correct-horse-battery", "meaning": "approved"}},
    )
    assert approved.status_code == 200, approved.get_json()
    versions = client.get("/api/v1/formulas/LDN-CAP", headers=rob).get_json()["versions"]
    assert [(v["version"], v["status"]) for v in versions] == [(1, "superseded"), (2, "approved")]


def test_storage_unit_limits_default_from_the_condition(client, auth, lots):
    ada = auth.token("ada")
    made = client.post(
        "/api/v1/storage-units",
        json={"code": "freezer-1", "name": "Freezer", "condition": "freezer"},
        headers=ada,
    )
    assert made.status_code == 201
    assert (made.get_json()["code"], made.get_json()["min_c"], made.get_json()["max_c"]) == (
        "FREEZER-1",
        -25.0,
        -10.0,
    )
