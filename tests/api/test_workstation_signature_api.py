"""verify-weighing signed by a colleague at the compounder's workstation; other signings stay one's own."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import AuditEvent, User
from qa_app.services import batches, clock, materials
from tests.builders import setup_master_data, user
from tests.conftest import PASSWORD


@pytest.fixture
def lots(app, users):
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def tina(auth, lots):
    return auth.token("tina")


def _weighed(app, lots, weigher: str = "tina") -> str:
    with app.app_context():
        lot = batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number
        batches.record_component(user(weigher), lot, barcode=lots["api"], quantity_mg=151.6, balance="XS205")
        return lot


def _verify(client, lot, headers, username, password=PASSWORD):
    body = {"signature": {"username": username, "password": password, "meaning": "verified"}}
    return client.post(f"/api/v1/batches/{lot}/verify-weighing", json=body, headers=headers)


def test_the_colleague_signs_with_the_compounders_token(app, client, lots, tina):
    lot = _weighed(app, lots)
    response = _verify(client, lot, tina, "rob")
    assert response.status_code == 200, response.get_json()
    batch = response.get_json()
    assert batch["api_weighing_verified_by"] == "rob"
    assert [(s["signer"], s["meaning"]) for s in batch["signatures"]] == [
        ("Rob Reviewer, PharmD", "verified")
    ]
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "batch.weighing_verified"))
        assert (event.username, event.new_values["signed_at_workstation_of"]) == ("rob", "tina")


def test_a_wrong_colleague_password_is_401_and_counts_toward_the_colleague(app, client, lots, tina):
    lot = _weighed(app, lots)
    response = _verify(client, lot, tina, "rob", "not-the-password")
    assert response.status_code == 401
    assert "signature.password" in response.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/batches/{lot}", headers=tina).get_json()["api_weighing_verified_by"] is None
    with app.app_context():
        failed = {u.username: u.failed_attempts for u in db.session.scalars(sa.select(User))}
    assert (failed["rob"], failed["tina"]) == (1, 0)


def test_the_colleague_who_weighed_is_403(app, client, lots, tina):
    lot = _weighed(app, lots, weigher="rob")
    response = _verify(client, lot, tina, "rob")
    assert response.status_code == 403
    assert "compounded or weighed" in response.get_json()["error"]["message"]
    assert client.get(f"/api/v1/batches/{lot}", headers=tina).get_json()["api_weighing_verified_by"] is None


def test_an_inspector_cannot_verify_at_the_workstation(app, client, lots, tina):
    lot = _weighed(app, lots)
    response = _verify(client, lot, tina, "ivan")
    assert response.status_code == 403
    assert "needs the role technician or reviewer" in response.get_json()["error"]["message"]


def test_approving_a_lot_with_a_colleagues_username_is_refused(app, client, auth, lots):
    with app.app_context():
        barcode = materials.receive_lot(
            user("tina"),
            material="MCC",
            supplier="Medisca",
            supplier_lot="M2",
            expiry_date=date(2029, 6, 30),
            received_date=clock.today() - timedelta(days=1),
        ).barcode
        db.session.commit()
    rob = auth.token("rob")
    body = {"signature": {"username": "ada", "password": PASSWORD, "meaning": "approved"}}
    response = client.post(f"/api/v1/material-lots/{barcode}/approve", json=body, headers=rob)
    assert response.status_code == 401
    assert "sign with your own username" in response.get_json()["error"]["message"]
    assert client.get(f"/api/v1/material-lots/{barcode}", headers=rob).get_json()["status"] == "quarantine"
