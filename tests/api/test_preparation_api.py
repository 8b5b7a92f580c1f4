"""The preparation rules and the capsule weight check's reason through the JSON API."""

import pytest

from qa_app.models import Batch, FormulaVersion
from qa_app.services import clock
from tests.api.conftest import count
from tests.builders import capsule_formula_body, liquid_formula_body, setup_master_data
from tests.services.test_preparation_rules import insert_old_approved
from tests.services.test_weight_check_deviation import FAILING, PASSING, REASON


@pytest.fixture
def lots(app, users):
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def tina(auth, lots):
    return auth.token("tina")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (liquid_formula_body(code="N1", storage="room", bud={"category": "aqueous_nonpreserved"}), "storage"),
        (capsule_formula_body(code="N2", bud={"category": "nonaqueous_oral_liquid"}), "bud.category"),
        (liquid_formula_body(code="N3", bud={"category": "nonaqueous_other"}), "bud.category"),
        (liquid_formula_body(code="N4", bud={"days": 60, "reference": "Fawcett 1997"}), "bud.reference"),
        (
            capsule_formula_body(code="N5", bud={"days": 360, "reference": "Cote et al., IJPC 2018;22(3)"}),
            "bud.days",
        ),
    ],
)
def test_a_formula_breaking_a_rule_is_a_400_naming_the_field(app, client, admin, lots, body, field):
    before = count(app, FormulaVersion)
    response = client.post("/api/v1/formulas", json=body, headers=admin)
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert count(app, FormulaVersion) == before


def test_a_new_version_breaking_a_rule_is_a_400_too(app, client, admin, lots):
    body = liquid_formula_body(bud={"category": "nonaqueous_other"})
    response = client.post("/api/v1/formulas/LDN-LIQ/versions", json=body, headers=admin)
    assert response.status_code == 400
    assert "never for an oral liquid or drops" in response.get_json()["error"]["fields"]["bud.category"]


def test_a_batch_of_an_old_formula_breaking_a_rule_is_a_409_naming_it(app, client, tina):
    with app.app_context():
        insert_old_approved("OLD-CAP", capsule_formula_body(bud={"category": "nonaqueous_oral_liquid"}))
    response = client.post(
        "/api/v1/batches", json={"formula": "OLD-CAP", "strength_mg": 1.5, "quantity": 100}, headers=tina
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert "OLD-CAP version 1 breaks a preparation rule" in error["message"]
    assert "only for oral liquids and drops" in error["fields"]["formula"]
    assert count(app, Batch) == 0
    shown = client.get("/api/v1/formulas/OLD-CAP", headers=tina).get_json()
    [version] = shown["versions"]
    assert version["broken_rules"] == [
        "The category nonaqueous oral liquid is only for oral liquids and drops; "
        "a capsule or cream is nonaqueous other (or aqueous)."
    ]
    good = client.get("/api/v1/formulas/LDN-CAP", headers=tina).get_json()
    assert good["versions"][0]["broken_rules"] == []


def test_a_new_weight_check_after_a_failed_one_needs_a_reason(app, client, auth, lots, tina):
    lot = client.post(
        "/api/v1/batches", json={"formula": "LDN-CAP", "strength_mg": 1.5, "quantity": 100}, headers=tina
    ).get_json()["lot_number"]
    url = f"/api/v1/batches/{lot}/weight-check"
    assert client.post(url, json={"weights_mg": FAILING}, headers=tina).status_code == 201

    for body in ({"weights_mg": PASSING}, {"weights_mg": PASSING, "reason": "  "}):
        refused = client.post(url, json=body, headers=tina)
        assert refused.status_code == 400
        assert "reason" in refused.get_json()["error"]["fields"]

    done = client.post(url, json={"weights_mg": PASSING, "reason": REASON}, headers=tina)
    assert done.status_code == 201
    checks = done.get_json()["weight_checks"]
    assert [(c["passed"], c["reason"]) for c in checks] == [(False, None), (True, REASON)]
