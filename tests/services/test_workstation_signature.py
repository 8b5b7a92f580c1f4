"""The weighing verified by a colleague who signs at the compounder's workstation (api.md).

Every other signing stays the signed-in person's own.
"""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from qa_app.errors import NotAuthenticated, NotPermitted
from qa_app.extensions import db
from qa_app.models import AuditEvent, Signature
from qa_app.services import audit, batches, clock, materials
from qa_app.services.signatures import SignatureInput
from tests.builders import setup_master_data, signature, user
from tests.conftest import PASSWORD, make_user


@pytest.fixture
def lots(app, users):
    make_user(app, "tom", ("technician",), "Tom Technician")
    with app.app_context():
        return setup_master_data(clock.today())


def _draft(lots, weigher: str = "tina") -> str:
    """A capsule draft compounded by tina, its API weighed by ``weigher``."""
    lot = batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number
    batches.record_component(user(weigher), lot, barcode=lots["api"], quantity_mg=151.6, balance="XS205")
    return lot


def _events(action: str, key: str) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).where(AuditEvent.action == action, AuditEvent.entity_key == key)
    return list(db.session.scalars(stmt.order_by(AuditEvent.seq)))


def test_a_colleague_signs_the_verification_at_the_compounders_workstation(app, lots):
    with app.app_context():
        lot = _draft(lots)
        batch = batches.verify_weighing(user("tina"), lot, SignatureInput("Rob ", PASSWORD, "verified"))
        assert batch.api_verified_by.username == "rob"
        [sig] = db.session.scalars(sa.select(Signature).where(Signature.entity_key == lot))
        assert (sig.user_id, sig.signer_name, sig.meaning) == (
            user("rob").id,
            "Rob Reviewer, PharmD",
            "verified",
        )
        [signed] = _events("signature.signed", lot)
        assert (signed.username, signed.new_values["signed_at_workstation_of"]) == ("rob", "tina")
        [verified] = _events("batch.weighing_verified", lot)
        assert verified.username == "rob"
        assert verified.user_id == user("rob").id
        assert verified.new_values["signed_at_workstation_of"] == "tina"
        assert verified.new_values["quantity_mg"] == 151.6
        assert audit.check_records() == []


def test_the_verifier_signing_in_their_own_session_is_named_as_both(app, lots):
    with app.app_context():
        lot = _draft(lots)
        batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
        [verified] = _events("batch.weighing_verified", lot)
        assert (verified.username, verified.new_values["signed_at_workstation_of"]) == ("rob", "rob")


def test_a_wrong_colleague_password_verifies_nothing_and_counts_toward_the_colleagues_lockout(app, lots):
    with app.app_context():
        lot = _draft(lots)
        with pytest.raises(NotAuthenticated) as refused:
            batches.verify_weighing(user("tina"), lot, SignatureInput("rob", "not-the-password", "verified"))
        assert refused.value.status == 401
        assert "signature.password" in refused.value.fields
        assert batches.get_batch(lot).api_verified_by_id is None
        assert (user("rob").failed_attempts, user("tina").failed_attempts) == (1, 0)
        [failed] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "signature.failed"))
        assert (failed.entity_key, failed.new_values["why"]) == ("rob", "wrong password")
        for _ in range(4):
            with pytest.raises(NotAuthenticated):
                batches.verify_weighing(
                    user("tina"), lot, SignatureInput("rob", "not-the-password", "verified")
                )
        assert user("rob").locked_until is not None
        assert user("tina").locked_until is None
        # Locked now: even the right password is refused until the lock ends.
        with pytest.raises(NotAuthenticated):
            batches.verify_weighing(user("tina"), lot, signature("rob", "verified"))
        assert batches.get_batch(lot).api_verified_by_id is None


def test_an_unknown_username_gets_the_answer_of_a_wrong_password(app, lots):
    with app.app_context():
        lot = _draft(lots)
        with pytest.raises(NotAuthenticated) as refused:
            batches.verify_weighing(user("tina"), lot, SignatureInput("nobody", PASSWORD, "verified"))
        assert refused.value.message == "The signature was refused: wrong password."
        assert batches.get_batch(lot).api_verified_by_id is None


def test_the_colleague_who_weighed_cannot_verify_at_the_compounders_workstation(app, lots):
    with app.app_context():
        lot = _draft(lots, weigher="rob")
        with pytest.raises(NotPermitted, match="another person than the one who compounded or weighed"):
            batches.verify_weighing(user("tina"), lot, signature("rob", "verified"))
        with pytest.raises(NotPermitted, match="another person than the one who compounded or weighed"):
            batches.verify_weighing(user("tom"), lot, signature("tina", "verified"))
        assert batches.get_batch(lot).api_verified_by_id is None
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Signature).where(Signature.entity_key == lot)
            )
            == 0
        )
        batch = batches.verify_weighing(user("rob"), lot, signature("tom", "verified"))
        assert batch.api_verified_by.username == "tom"


@pytest.mark.parametrize("colleague", ["ada", "ivan"])
def test_a_colleague_without_the_role_cannot_verify(app, lots, colleague):
    with app.app_context():
        lot = _draft(lots)
        with pytest.raises(NotPermitted, match=f"{colleague} cannot verify a weighing: it needs the role"):
            batches.verify_weighing(user("tina"), lot, signature(colleague, "verified"))
        assert batches.get_batch(lot).api_verified_by_id is None


@pytest.mark.parametrize(
    ("decide", "meaning"),
    [
        (lambda barcode, given: materials.approve_lot(user("rob"), barcode, given), "approved"),
        (lambda barcode, given: materials.reject_lot(user("rob"), barcode, given, "torn bag"), "rejected"),
    ],
)
def test_every_other_signing_stays_the_signed_in_persons_own(app, lots, decide, meaning):
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
        with pytest.raises(NotAuthenticated, match="sign with your own username"):
            decide(barcode, signature("rita", meaning))
        assert materials.get_lot(barcode).status == "quarantine"
        assert (user("rob").failed_attempts, user("rita").failed_attempts) == (1, 0)
