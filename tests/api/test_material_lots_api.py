"""Material lots through the API: the assay's basis, the monograph limits, four eyes on approval."""

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import AuditEvent, MaterialLot, Signature
from qa_app.services import clock
from tests.api.conftest import count
from tests.builders import setup_master_data
from tests.conftest import PASSWORD, make_user


@pytest.fixture
def lots(app, users):
    make_user(app, "rita", ("reviewer",), "Rita Reviewer, PharmD")
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def tokens(auth, lots) -> dict[str, dict[str, str]]:
    return {name: auth.token(name) for name in ("tina", "rob", "rita", "ada")}


def signed(username: str, meaning: str = "approved") -> dict:
    return {"signature": {"username": username, "password": PASSWORD, "meaning": meaning}}


def receive(client, headers, **body):
    payload = {
        "material": "NTX-HCL",
        "lot_number": "Q-7",
        "supplier": "Fagron",
        "expiry_date": "2030-01-31",
        "assay_percent": 99.5,
    } | body
    return client.post(
        "/api/v1/material-lots", json={k: v for k, v in payload.items() if v is not None}, headers=headers
    )


def error(response) -> dict:
    return response.get_json()["error"]


# --- the assay's basis -------------------------------------------------------------------------


def test_an_anhydrous_assay_without_the_water_content_is_refused_naming_water_percent(app, client, tokens):
    before = count(app, MaterialLot)
    response = receive(client, tokens["tina"], assay_basis="anhydrous")
    assert response.status_code == 400
    assert error(response)["fields"] == {
        "water_percent": "Required with an anhydrous assay: the certificate's water content, to convert it to as is."
    }
    assert count(app, MaterialLot) == before


def test_an_anhydrous_assay_with_the_water_content_is_converted_to_as_is(client, tokens):
    response = receive(client, tokens["tina"], assay_basis="anhydrous", water_percent=0.8)
    assert response.status_code == 201, response.get_json()
    lot = response.get_json()
    assert (
        lot["assay_basis"],
        lot["assay_percent"],
        lot["assay_anhydrous_percent"],
        lot["water_percent"],
    ) == (
        "anhydrous",
        98.704,
        99.5,
        0.8,
    )


def test_an_as_is_assay_with_the_water_content_stays_as_is_and_gives_the_anhydrous_figure(client, tokens):
    response = receive(client, tokens["tina"], assay_basis="as_is", assay_percent=98.704, water_percent=0.8)
    assert response.status_code == 201, response.get_json()
    lot = response.get_json()
    assert (lot["assay_basis"], lot["assay_percent"], lot["assay_anhydrous_percent"]) == (
        "as_is",
        98.704,
        99.5,
    )


def test_without_a_basis_the_assay_is_as_is_or_with_water_anhydrous_as_before(client, tokens):
    plain = receive(client, tokens["tina"]).get_json()
    assert (plain["assay_basis"], plain["assay_percent"], plain["assay_anhydrous_percent"]) == (
        "as_is",
        99.5,
        None,
    )
    watered = receive(client, tokens["tina"], lot_number="Q-8", water_percent=0.8).get_json()
    assert (watered["assay_basis"], watered["assay_percent"]) == ("anhydrous", 98.704)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"assay_basis": "dry"}, "assay_basis"),
        ({"assay_basis": "as_is", "material": "MCC", "assay_percent": None}, "assay_basis"),
    ],
)
def test_a_wrong_or_misplaced_basis_is_refused_naming_assay_basis(app, client, tokens, body, field):
    before = count(app, MaterialLot)
    response = receive(client, tokens["tina"], **body)
    assert response.status_code == 400
    assert field in str(error(response))
    assert count(app, MaterialLot) == before


# --- four eyes ---------------------------------------------------------------------------------


def test_the_reviewer_who_received_a_lot_may_not_approve_it(app, client, tokens):
    barcode = receive(client, tokens["rob"]).get_json()["barcode"]
    signatures = count(app, Signature)
    own = client.post(f"/api/v1/material-lots/{barcode}/approve", json=signed("rob"), headers=tokens["rob"])
    assert own.status_code == 403
    assert error(own)["message"] == f"You received lot {barcode}; another reviewer must approve it."
    assert count(app, Signature) == signatures
    lot = client.get(f"/api/v1/material-lots/{barcode}", headers=tokens["rob"]).get_json()
    assert lot["status"] == "quarantine"
    other = client.post(
        f"/api/v1/material-lots/{barcode}/approve", json=signed("rita"), headers=tokens["rita"]
    )
    assert other.status_code == 200
    assert other.get_json()["status"] == "approved"


def test_the_reviewer_who_received_a_lot_may_still_reject_it(client, tokens):
    barcode = receive(client, tokens["rob"]).get_json()["barcode"]
    response = client.post(
        f"/api/v1/material-lots/{barcode}/reject",
        json=signed("rob", "rejected") | {"reason": "Wrong material delivered"},
        headers=tokens["rob"],
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"


# --- monograph limits --------------------------------------------------------------------------


@pytest.fixture
def usp(client, tokens) -> str:
    """NTX-USP: naltrexone HCl with the USP limits 98.0–102.0 % (anhydrous)."""
    response = client.post(
        "/api/v1/materials",
        json={
            "code": "NTX-USP",
            "name": "Naltrexone hydrochloride USP",
            "kind": "api",
            "assay_min_percent": 98.0,
            "assay_max_percent": 102.0,
        },
        headers=tokens["ada"],
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {
        "code": "NTX-USP",
        "name": "Naltrexone hydrochloride USP",
        "kind": "api",
        "assay_min_percent": 98.0,
        "assay_max_percent": 102.0,
    }
    return "NTX-USP"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"kind": "excipient", "assay_min_percent": 98.0, "assay_max_percent": 102.0},
            {
                "assay_min_percent": "Only an API carries monograph assay limits; this material is excipient.",
                "assay_max_percent": "Only an API carries monograph assay limits; this material is excipient.",
            },
        ),
        (
            {"kind": "api", "assay_min_percent": 98.0},
            {"assay_max_percent": "Give both monograph limits, e.g. 98.0 and 102.0 % for naltrexone HCl."},
        ),
        (
            {"kind": "api", "assay_min_percent": 102.0, "assay_max_percent": 98.0},
            {"assay_max_percent": "Must be above the minimum."},
        ),
        (
            {"kind": "api", "assay_min_percent": 9.8, "assay_max_percent": 102.0},
            {"assay_min_percent": "Must be between 50 and 110 % (the monograph's limit, anhydrous basis)."},
        ),
    ],
)
def test_wrong_monograph_limits_are_refused_naming_the_field(client, tokens, body, fields):
    response = client.post(
        "/api/v1/materials", json={"code": "NTX-X", "name": "Naltrexone"} | body, headers=tokens["ada"]
    )
    assert response.status_code == 400
    assert error(response)["fields"] == fields


@pytest.mark.parametrize(
    ("body", "compared"),
    [
        ({"assay_percent": 97.5, "assay_basis": "anhydrous", "water_percent": 0.5}, "97.5 % anhydrous"),
        ({"assay_percent": 102.4, "assay_basis": "anhydrous", "water_percent": 0.5}, "102.4 % anhydrous"),
        (
            {"assay_percent": 97.9, "assay_basis": "as_is"},
            "97.9 % as is (no water content given, so the as-is figure is compared)",
        ),
    ],
)
def test_a_lot_outside_the_monograph_limits_cannot_be_approved(app, client, tokens, usp, body, compared):
    barcode = receive(client, tokens["tina"], material=usp, **body).get_json()["barcode"]
    signatures = count(app, Signature)
    response = client.post(
        f"/api/v1/material-lots/{barcode}/approve", json=signed("rob"), headers=tokens["rob"]
    )
    assert response.status_code == 409
    assert error(response)["message"] == (
        f"Lot {barcode} cannot be approved: the assay, {compared}, is outside the monograph limits "
        "98.0–102.0 % (anhydrous basis). Reject it."
    )
    assert error(response)["fields"] == {"assay_percent": "Outside the monograph limits 98.0–102.0 %."}
    assert count(app, Signature) == signatures
    assert client.get(f"/api/v1/material-lots/{barcode}", headers=tokens["rob"]).get_json()["status"] == (
        "quarantine"
    )


def test_an_as_is_assay_below_the_minimum_passes_when_its_anhydrous_figure_is_within(client, tokens, usp):
    """97.8 % as is with 1.0 % water is 98.79 % anhydrous: within 98.0–102.0, so approved."""
    lot = receive(
        client, tokens["tina"], material=usp, assay_percent=97.8, assay_basis="as_is", water_percent=1.0
    )
    barcode = lot.get_json()["barcode"]
    assert lot.get_json()["assay_anhydrous_percent"] == 98.787879
    response = client.post(
        f"/api/v1/material-lots/{barcode}/approve", json=signed("rob"), headers=tokens["rob"]
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "approved"


def test_a_lot_outside_the_limits_can_still_be_rejected(client, tokens, usp):
    barcode = receive(client, tokens["tina"], material=usp, assay_percent=96.0).get_json()["barcode"]
    response = client.post(
        f"/api/v1/material-lots/{barcode}/reject",
        json=signed("rob", "rejected") | {"reason": "Assay 96.0 % below the monograph's 98.0 %"},
        headers=tokens["rob"],
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"


def test_an_admin_sets_changes_and_clears_the_limits_of_an_api(app, client, tokens):
    path = "/api/v1/materials/ntx-hcl"
    limits = {"assay_min_percent": 98.0, "assay_max_percent": 102.0}
    response = client.patch(path, json=limits, headers=tokens["ada"])
    assert response.status_code == 200
    assert (
        response.get_json()
        == {"code": "NTX-HCL", "name": "Naltrexone hydrochloride USP", "kind": "api"} | limits
    )
    lowered = client.patch(path, json={"assay_min_percent": 97.0}, headers=tokens["ada"]).get_json()
    assert (lowered["assay_min_percent"], lowered["assay_max_percent"]) == (97.0, 102.0)
    cleared = client.patch(
        path, json={"assay_min_percent": None, "assay_max_percent": None}, headers=tokens["ada"]
    ).get_json()
    assert (cleared["assay_min_percent"], cleared["assay_max_percent"], cleared["name"]) == (
        None,
        None,
        "Naltrexone hydrochloride USP",
    )
    with app.app_context():
        changes = [
            e.new_values
            for e in db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == "material.changed").order_by(AuditEvent.seq)
            )
        ]
    assert [(c["assay_min_percent"], c["assay_max_percent"]) for c in changes] == [
        (98.0, 102.0),
        (97.0, 102.0),
        (None, None),
    ]


def test_changing_a_material_is_for_an_admin_and_an_unknown_one_is_404(client, tokens):
    limits = {"assay_min_percent": 98.0, "assay_max_percent": 102.0}
    assert client.patch("/api/v1/materials/NTX-HCL", json=limits, headers=tokens["rob"]).status_code == 403
    assert client.patch("/api/v1/materials/NOPE", json=limits, headers=tokens["ada"]).status_code == 404
    refused = client.patch("/api/v1/materials/MCC", json=limits, headers=tokens["ada"])
    assert refused.status_code == 400
    assert refused.get_json()["error"]["fields"]["assay_min_percent"] == (
        "Only an API carries monograph assay limits; this material is excipient."
    )


def test_new_limits_apply_to_the_lots_still_in_quarantine(client, tokens):
    barcode = receive(client, tokens["tina"], assay_percent=97.0).get_json()["barcode"]
    limits = {"assay_min_percent": 98.0, "assay_max_percent": 102.0}
    assert client.patch("/api/v1/materials/NTX-HCL", json=limits, headers=tokens["ada"]).status_code == 200
    response = client.post(
        f"/api/v1/material-lots/{barcode}/approve", json=signed("rob"), headers=tokens["rob"]
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["fields"] == {
        "assay_percent": "Outside the monograph limits 98.0–102.0 %."
    }
