"""The batch page's verification signed by a colleague at the compounder's workstation."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import AuditEvent
from qa_app.services import batches, clock, materials
from tests.builders import setup_master_data, user
from tests.conftest import PASSWORD, make_user
from tests.web.pages import field_error, input_value, messages, sign_in, text
from tests.web.test_batch_pages import section, verified, words


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def tina(client, users):
    sign_in(client, "tina")
    return client


def _weighed(app, lots, weigher: str = "tina") -> str:
    with app.app_context():
        lot = batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number
        batches.record_component(user(weigher), lot, barcode=lots["api"], quantity_mg=151.6, balance="XS205")
        return lot


def _failed_attempts(app, username: str) -> int:
    with app.app_context():
        return user(username).failed_attempts


def test_the_colleague_signs_on_the_compounders_screen(app, tina, lots):
    lot = _weighed(app, lots)
    page = words(text(tina.get(f"/batches/{lot}")))
    assert "Verifier's username" in page and "a colleague signs with their own username and password" in page
    response = tina.post(f"/batches/{lot}/verify", data={"sig_username": "rob", "sig_password": PASSWORD})
    assert response.status_code == 302
    page = text(tina.get(f"/batches/{lot}"))
    assert messages(page) == ["API weighing verified and signed."]
    assert verified(page).startswith("yes, by Rob Reviewer, PharmD at ")
    assert section(page, "signatures").startswith("Signatures verified by Rob Reviewer, PharmD at ")
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "batch.weighing_verified"))
        assert (event.username, event.new_values["signed_at_workstation_of"]) == ("rob", "tina")


def test_a_wrong_colleague_password_is_a_field_error_and_counts_toward_the_colleague(app, tina, lots):
    lot = _weighed(app, lots)
    response = tina.post(f"/batches/{lot}/verify", data={"sig_username": "rob", "sig_password": "not-it"})
    page = text(response)
    assert response.status_code == 401
    assert field_error(page, "sig_password") == "Wrong password; enter your own password again."
    assert input_value(page, "sig_username") == "rob"
    assert input_value(page, "sig_password") == ""
    assert verified(text(tina.get(f"/batches/{lot}"))) == "not yet"
    assert (_failed_attempts(app, "rob"), _failed_attempts(app, "tina")) == (1, 0)


def test_the_colleague_who_weighed_is_refused(app, tina, lots):
    lot = _weighed(app, lots, weigher="rob")
    response = tina.post(f"/batches/{lot}/verify", data={"sig_username": "rob", "sig_password": PASSWORD})
    page = text(response)
    assert response.status_code == 403
    assert "The verifier must be another person than the one who compounded or weighed." in messages(page)
    assert verified(page) == "not yet"


def test_a_lot_is_still_approved_only_with_ones_own_username(app, client, lots):
    make_user(app, "rita", ("reviewer",), "Rita Reviewer")
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
    sign_in(client, "rob")
    response = client.post(
        f"/lots/{barcode}/approve", data={"approve-sig_username": "rita", "approve-sig_password": PASSWORD}
    )
    assert response.status_code == 401
    assert field_error(text(response), "approve-sig_password")
    with app.app_context():
        assert materials.get_lot(barcode).status == "quarantine"
