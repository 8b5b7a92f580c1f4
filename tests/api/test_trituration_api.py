"""Triturations through the JSON API: a batch by mass, the lot it makes, its approval, a
preparation made from it, and where-used through it (api.md)."""

import pytest

from qa_app.services import clock
from tests.builders import setup_master_data
from tests.conftest import PASSWORD, make_user
from tests.triturations import INTERMEDIATE, setup_trituration_formulas


@pytest.fixture
def lots(app, users):
    make_user(app, "rhea", ("reviewer",), "Rhea Reviewer, PharmD")
    with app.app_context():
        found = setup_master_data(clock.today())
        setup_trituration_formulas()
        return found


def _signed(username: str, meaning: str) -> dict:
    return {"signature": {"username": username, "password": PASSWORD, "meaning": meaning}}


def test_a_trituration_and_a_half_milligram_batch_made_from_it(client, auth, lots):
    tina, rhea = auth.token("tina"), auth.token("rhea")
    rob = auth.token("rob")
    created = client.post(
        "/api/v1/batches",
        json={"formula": "LDN-TRIT10", "quantity_mg": 10000, "api_lot": lots["api"]},
        headers=tina,
    )
    assert created.status_code == 201, created.get_json()
    trit = created.get_json()
    assert (trit["dosage_form"], trit["strength_mg"], trit["quantity_mg"], trit["concentration_percent"]) == (
        "trituration",
        None,
        10000,
        10.0,
    )
    assert (trit["calculation"]["api_mg"], trit["calculation"]["filler_mg"]) == (1010.10, 8989.90)
    lot = trit["lot_number"]
    below = client.post(
        f"/api/v1/batches/{lot}/components",
        json={"barcode": lots["api"], "quantity_mg": 1010.1, "balance": "NOPE"},
        headers=tina,
    )
    assert below.status_code == 400
    assert "balance" in below.get_json()["error"]["fields"]
    for barcode, mg in ((lots["api"], 1010.1), (lots["mcc"], 8989.9)):
        answer = client.post(
            f"/api/v1/batches/{lot}/components",
            json={"barcode": barcode, "quantity_mg": mg, "balance": "XS205"},
            headers=tina,
        )
        assert answer.status_code == 201, answer.get_json()
    filler = answer.get_json()["components"][1]
    assert (filler["theoretical_mg"], filler["balance"], filler["balance_minimum_mg"]) == (
        8989.9,
        "XS205",
        8.2,
    )
    assert (
        client.post(
            f"/api/v1/batches/{lot}/verify-weighing", json=_signed("rob", "verified"), headers=rob
        ).status_code
        == 200
    )
    done = client.post(
        f"/api/v1/batches/{lot}/complete",
        json={"actual_yield": 9950, "storage_unit": "SHELF-1"},
        headers=tina,
    )
    assert done.status_code == 200, done.get_json()
    produced = done.get_json()["produced_lot"]
    assert produced.startswith("LOT")
    looked_up = client.get(f"/api/v1/material-lots/{produced}", headers=tina).get_json()
    assert (looked_up["material"], looked_up["status"], looked_up["assay_percent"], looked_up["made_in"]) == (
        INTERMEDIATE,
        "quarantine",
        10.0,
        lot,
    )
    early = client.post(
        f"/api/v1/material-lots/{produced}/approve", json=_signed("rhea", "approved"), headers=rhea
    )
    assert early.status_code == 409
    assert "appearance" in early.get_json()["error"]["message"].lower()
    result = client.post(
        f"/api/v1/batches/{lot}/results",
        json={"test": "appearance", "value": "Uniform white to off-white powder"},
        headers=tina,
    )
    assert result.status_code == 201, result.get_json()
    by_verifier = client.post(
        f"/api/v1/material-lots/{produced}/approve", json=_signed("rob", "approved"), headers=rob
    )
    assert by_verifier.status_code == 403
    approved = client.post(
        f"/api/v1/material-lots/{produced}/approve", json=_signed("rhea", "approved"), headers=rhea
    )
    assert approved.status_code == 200, approved.get_json()
    assert client.get(f"/api/v1/batches/{lot}", headers=tina).get_json()["status"] == "released"

    capsules = client.post(
        "/api/v1/batches", json={"formula": "LDN-CAP-T", "strength_mg": 0.5, "quantity": 100}, headers=tina
    ).get_json()
    assert capsules["calculation"]["api_lot"] == produced
    assert capsules["calculation"]["api_mg"] == 500.0
    assert [link["barcode"] for link in capsules["chain"]] == [produced, lots["api"]]
    assert capsules["chain"][1]["supplier_lot"] == "N1"
    weighed = client.post(
        f"/api/v1/batches/{capsules['lot_number']}/components",
        json={"barcode": produced, "quantity_mg": 500.3, "balance": "XS205"},
        headers=tina,
    )
    assert weighed.status_code == 201, weighed.get_json()

    used = client.get(f"/api/v1/material-lots/{lots['api']}/where-used", headers=tina)
    assert used.status_code == 200
    assert used.get_json()["batches"] == [
        {"lot_number": lot, "status": "released", "dosage_form": "trituration", "via": []},
        {
            "lot_number": capsules["lot_number"],
            "status": "draft",
            "dosage_form": "capsule",
            "via": [produced],
        },
    ]
    assert used.get_json()["certificates"] == []
    assert client.get("/api/v1/material-lots/LOT999999/where-used", headers=tina).status_code == 404


def test_a_small_api_amount_is_flagged_on_the_batch_before_any_weighing(client, auth, lots):
    tina, admin = auth.token("tina"), auth.token("ada")
    for code in ("XS205", "UMX2"):
        assert (
            client.patch(
                f"/api/v1/balances/{code}", json={"active": False, "reason": "service"}, headers=admin
            ).status_code
            == 200
        )
    created = client.post(
        "/api/v1/balances",
        json={
            "code": "AB204",
            "name": "Analytical",
            "readability_mg": 0.1,
            "repeatability_sd_mg": 0.05,
            "capacity_g": 220,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.get_json()
    assert (
        client.post(
            "/api/v1/balances/AB204/checks",
            json={"nominal_mg": 100000, "observed_mg": 100000.0},
            headers=tina,
        ).status_code
        == 201
    )
    batch = client.post(
        "/api/v1/batches", json={"formula": "LDN-CAP", "strength_mg": 0.5, "quantity": 100}, headers=tina
    ).get_json()
    assert batch["calculation"]["api_mg"] == 50.51
    assert batch["small_quantity_warning"].startswith(
        "The API amount, 50.51 mg, is below the minimum weight of every balance usable today (the smallest is AB204: 100.0 mg"
    )
    refused = client.post(
        f"/api/v1/batches/{batch['lot_number']}/components",
        json={"barcode": lots["api"], "quantity_mg": 50.51, "balance": "AB204"},
        headers=tina,
    )
    assert refused.status_code == 400
    assert "minimum weight of balance AB204 (100.0 mg" in refused.get_json()["error"]["fields"]["quantity_mg"]
