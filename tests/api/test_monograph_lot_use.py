"""A lot approved before its material had monograph limits (or before they were tightened) is
never used once its assay lies outside them: the decision stands, the use is refused."""

from tests.api.test_material_lots_api import error, lots, receive, signed, tokens  # noqa: F401


def test_an_approved_lot_outside_limits_set_later_makes_no_batch(client, tokens):  # noqa: F811
    barcode = receive(client, tokens["tina"], assay_percent=104.0, assay_basis="as_is").get_json()["barcode"]
    approved = client.post(
        f"/api/v1/material-lots/{barcode}/approve", json=signed("rob"), headers=tokens["rob"]
    )
    assert approved.status_code == 200

    limits = {"assay_min_percent": 98.0, "assay_max_percent": 102.0}
    assert client.patch("/api/v1/materials/NTX-HCL", json=limits, headers=tokens["ada"]).status_code == 200

    shown = client.get(f"/api/v1/material-lots/{barcode}", headers=tokens["tina"]).get_json()
    assert (shown["status"], shown["usable"]) == ("approved", False)
    created = client.post(
        "/api/v1/batches",
        json={"formula": "LDN-CAP", "strength_mg": 1.5, "quantity": 100, "api_lot": barcode},
        headers=tokens["tina"],
    )
    assert created.status_code == 409
    assert error(created)["fields"] == {
        "api_lot": f"lot {barcode}'s assay, 104.0 % as is, is outside the monograph limits 98.0–102.0 %"
    }


def test_the_lot_chosen_for_a_new_batch_is_one_within_the_limits(client, tokens):  # noqa: F811
    """Without a scanned lot the batch takes the approved lot expiring first, never one outside."""
    high = receive(client, tokens["tina"], lot_number="HIGH", expiry_date="2027-12-31", assay_percent=104.0)
    barcode = high.get_json()["barcode"]
    assert (
        client.post(
            f"/api/v1/material-lots/{barcode}/approve", json=signed("rob"), headers=tokens["rob"]
        ).status_code
        == 200
    )
    limits = {"assay_min_percent": 98.0, "assay_max_percent": 102.0}
    assert client.patch("/api/v1/materials/NTX-HCL", json=limits, headers=tokens["ada"]).status_code == 200
    created = client.post(
        "/api/v1/batches",
        json={"formula": "LDN-CAP", "strength_mg": 1.5, "quantity": 100},
        headers=tokens["tina"],
    )
    assert created.status_code == 201
    assert created.get_json()["calculation"]["api_assay_percent"] == 99.0  # LOT000001, not HIGH
    assert created.get_json()["calculation"]["api_lot"] != barcode
