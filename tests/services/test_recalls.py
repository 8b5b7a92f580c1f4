"""A lot recall, service level: through a trituration and straight from the API lot, every
batch and intermediate lot made from it in one signed transaction."""

import pytest

from qa_app.errors import InvalidInput, NotPermitted, WrongState
from qa_app.services import batches, clock, materials, recalls, release
from tests.builders import setup_master_data, signature, user
from tests.conftest import make_user
from tests.triturations import TRITURATED_CAPSULE, make_trituration_lot, setup_trituration_formulas


@pytest.fixture
def lots(app, users):
    make_user(app, "rhea", ("reviewer",), "Rhea Reviewer, PharmD")
    with app.app_context():
        found = setup_master_data(clock.today())
        setup_trituration_formulas()
        return found


def test_recalling_the_api_lot_reaches_the_batches_made_through_the_trituration(app, lots):
    with app.app_context():
        trit_batch, trit_lot = make_trituration_lot(lots, "rhea")
        tina = user("tina")
        capsules = batches.create_batch(tina, formula=TRITURATED_CAPSULE, strength_mg=0.5, quantity=100)
        batches.record_component(
            tina, capsules.lot_number, barcode=trit_lot, quantity_mg=500.2, balance="XS205"
        )
        direct = batches.create_batch(
            tina, formula="LDN-CAP", strength_mg=1.5, quantity=100, api_lot=lots["api"]
        )
        batches.record_component(
            tina, direct.lot_number, barcode=lots["api"], quantity_mg=151.6, balance="XS205"
        )
        untouched = batches.create_batch(
            tina, formula="LDN-CAP", strength_mg=1.5, quantity=100, api_lot=lots["api2"]
        )

        with pytest.raises(NotPermitted):
            recalls.recall_lot(tina, lots["api"], signature("tina", "recalled"), "supplier notice")
        with pytest.raises(InvalidInput) as refused:
            recalls.recall_lot(user("rob"), lots["api"], signature("rob", "recalled"), " ")
        assert "reason" in refused.value.fields

        outcome = recalls.recall_lot(
            user("rob"), lots["api"], signature("rob", "recalled"), "Medisca recall notice R-77: particulates"
        )
        assert outcome.lots == [lots["api"], trit_lot]
        assert outcome.recalled == [trit_batch]  # the trituration was released with its lot's approval
        assert outcome.held == [capsules.lot_number, direct.lot_number]
        assert materials.get_lot(trit_lot).recall_reason == (
            f"made from recalled lot {lots['api']}: Medisca recall notice R-77: particulates"
        )
        held = batches.get_batch(capsules.lot_number)
        assert held.status == "on_hold"
        assert batches.get_batch(untouched.lot_number).status == "draft"
        with pytest.raises(WrongState):
            batches.record_component(tina, capsules.lot_number, barcode=lots["caps"], count=100)
        with pytest.raises(WrongState, match="recalled already"):
            recalls.recall_lot(user("rob"), lots["api"], signature("rob", "recalled"), "again")
        release.reject(
            user("rob"), capsules.lot_number, signature("rob", "rejected"), "made from a recalled lot"
        )
        assert batches.get_batch(capsules.lot_number).status == "rejected"
        reason = materials.get_lot(lots["api"]).unusable_reason(clock.today())
        assert reason == f"lot {lots['api']} was recalled"
