"""Hostile values in the newer fields are answered 4xx naming the field, never 500."""

import pytest

from tests.api.test_material_lots_api import lots, receive, tokens  # noqa: F401

HOSTILE = [
    "NaN", "1e400", "-0", "", " ", "٩٨", "98,5", "98_5", "\x00", "x" * 5000, True, None, [], {},
    [98.0], {"value": 98}, 10**400, -(10**400), 1e308, float("1e-320"),
]  # fmt: skip


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_monograph_limits_are_a_client_error(client, tokens, value):  # noqa: F811
    body = {
        "code": "NTX-X",
        "name": "Naltrexone",
        "kind": "api",
        "assay_min_percent": value,
        "assay_max_percent": 102,
    }
    response = client.post("/api/v1/materials", json=body, headers=tokens["ada"])
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    response = client.patch(
        "/api/v1/materials/NTX-HCL",
        json={"assay_min_percent": 98, "assay_max_percent": value},
        headers=tokens["ada"],
    )
    assert response.status_code < 500, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_assay_basis_and_water_are_a_client_error(client, tokens, value):  # noqa: F811
    assert receive(client, tokens["tina"], assay_basis=value).status_code < 500
    assert receive(client, tokens["tina"], water_percent=value, assay_basis="anhydrous").status_code < 500
    assert receive(client, tokens["tina"], assay_percent=value).status_code < 500


@pytest.mark.parametrize(
    "value", [v for v in HOSTILE if isinstance(v, str)] + ["%00", "a" * 100000, "ÄÖ", "𝟘" * 16]
)
def test_hostile_verification_codes_are_a_client_error(client, value):
    response = client.get("/api/v1/certificates/COA-2026-00001", query_string={"code": value})
    assert response.status_code < 500
    response = client.get("/verify/COA-2026-00001", query_string={"code": value})
    assert response.status_code < 500
