"""Ways round the balance, trituration and recall rules, tried at service level: each test is a
walk-round a hurried technician, a misconfigured balance or a careless reviewer could take, and
asserts the refusal the rules require (domain.md §2.1, §10)."""

import pytest

from qa_app.errors import InvalidInput, NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.services import balances, batches, clock, materials, recalls, release, results, review
from tests.builders import setup_master_data, signature, user
from tests.conftest import make_user
from tests.recalls import _capsules
from tests.triturations import TRITURATED_CAPSULE, make_trituration_lot, setup_trituration_formulas


@pytest.fixture
def lots(app, users):
    make_user(app, "rhea", ("reviewer",), "Rhea Reviewer, PharmD")
    with app.app_context():
        found = setup_master_data(clock.today())
        setup_trituration_formulas()
        return found


@pytest.fixture
def ctx(app, lots):
    with app.app_context():
        yield


def gate_refusal(code: str, quantity_mg: float) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        balances.gate(code, quantity_mg)
    db.session.rollback()
    return caught.value


# --- balances -----------------------------------------------------------------------------------


def test_a_check_made_before_the_capacity_was_changed_does_not_count_for_the_new_capacity(ctx):
    """XS205 was checked this morning with 100 g, 45 % of its 220 g. An admin then enters a
    capacity of 50 g: 100 g is 200 % of that, outside 5–100 %, so no passing check under the
    balance's present figures exists today and a weighing on it is refused."""
    balances.update_balance(user("ada"), "XS205", reason="capacity re-entered", capacity_g=50.0)
    state = balances.usability(balances.get_balance("XS205"))
    assert state.usable is False
    assert list(gate_refusal("XS205", 500.0).fields) == ["balance"]


def test_a_check_made_before_the_capacity_was_raised_does_not_count_either(ctx):
    """100 g is 2 % of a capacity re-entered as 5000 g: below the 5 % a test weight needs."""
    balances.update_balance(user("ada"), "XS205", reason="capacity re-entered", capacity_g=5000.0)
    assert balances.usability(balances.get_balance("XS205")).usable is False
    assert list(gate_refusal("XS205", 500.0).fields) == ["balance"]


def test_the_minimum_weight_is_never_rounded_below_2000_s(ctx):
    """d 0.1 mg, s 0.04102 mg: 2000 · s = 82.04 mg. 82.0 mg would give 2 s / m = 0.10005 %,
    above the 0.10 % USP <41> allows, so 82.0 mg is below the minimum weight and refused."""
    balances.create_balance(
        user("ada"),
        code="AB204",
        name="Analytical balance, d 0.1 mg",
        readability_mg=0.1,
        repeatability_sd_mg=0.04102,
        capacity_g=220.0,
    )
    balances.record_check(user("tina"), "AB204", nominal_mg=100000.0, observed_mg=100000.0)
    assert list(gate_refusal("AB204", 82.0).fields) == ["quantity_mg"]


def test_the_minimum_weight_boundary_as_written(ctx):
    """XS205's minimum is 8.2 mg: 8.2 and 8.2000000001 pass, 8.19 and 8.1999999 are refused."""
    assert balances.gate("XS205", 8.2).code == "XS205"
    assert balances.gate("XS205", 8.2000000001).code == "XS205"
    for amount in (8.19, 8.1999999):
        assert list(gate_refusal("XS205", amount).fields) == ["quantity_mg"]


def test_a_check_with_a_test_weight_outside_5_to_100_percent_is_stored_as_failing(ctx):
    """A 10 g weight on the 220 g XS205 (4.5 %) read exactly: kept, but failing, and it makes
    the balance unusable (the latest check of the day counts)."""
    check = balances.record_check(user("tina"), "XS205", nominal_mg=10000.0, observed_mg=10000.0)
    assert check.passed is False
    assert list(gate_refusal("XS205", 500.0).fields) == ["balance"]


# --- triturations -------------------------------------------------------------------------------


def test_a_trituration_batch_is_recalled_through_its_lot_never_on_its_own(ctx, lots):
    """The trituration batch was released with its lot's approval. Recalling the batch alone would
    leave the lot it made approved and usable, so capsules could still be made from it: the batch
    recall is refused and names the lot; the lot recall takes both out of use."""
    trit_batch, trit_lot = make_trituration_lot(lots, "rhea")
    assert batches.get_batch(trit_batch).status == "released"
    with pytest.raises(WrongState, match=rf"recall the intermediate lot it made \({trit_lot}\)"):
        release.recall(user("rhea"), trit_batch, signature("rhea", "recalled"), "Mixing time not documented")
    db.session.rollback()
    assert batches.get_batch(trit_batch).status == "released"
    recalls.recall_lot(user("rhea"), trit_lot, signature("rhea", "recalled"), "Mixing time not documented")
    assert batches.get_batch(trit_batch).status == "recalled"
    assert materials.get_lot(trit_lot).unusable_reason(clock.today()) == f"lot {trit_lot} was recalled"
    with pytest.raises((WrongState, InvalidInput)):
        batches.create_batch(
            user("tina"), formula=TRITURATED_CAPSULE, strength_mg=0.5, quantity=100, api_lot=trit_lot
        )


def trituration_weighed_by(lots, weigher: str) -> tuple[str, str]:
    """A 10 g trituration opened by tina whose API ``weigher`` weighs, the diluent tina, verified
    by rob, completed with its appearance recorded: (batch lot number, intermediate barcode)."""
    tina = user("tina")
    batch = batches.create_batch(tina, formula="LDN-TRIT10", quantity_mg=10000, api_lot=lots["api"])
    lot_number = batch.lot_number
    batches.record_component(
        user(weigher), lot_number, barcode=lots["api"], quantity_mg=1010.1, balance="XS205"
    )
    batches.record_component(tina, lot_number, barcode=lots["mcc"], quantity_mg=8989.9, balance="XS205")
    batches.verify_weighing(user("rob"), lot_number, signature("rob", "verified"))
    done = batches.complete(tina, lot_number, actual_yield=9950, storage_unit="SHELF-1")
    results.record_result(tina, lot_number, test="appearance", value="Uniform white to off-white powder")
    return lot_number, done.produced_lot.barcode


def test_the_reviewer_who_weighed_the_trituration_api_does_not_approve_its_lot(ctx, lots):
    lot_number, barcode = trituration_weighed_by(lots, "rhea")
    with pytest.raises(NotPermitted, match="You weighed this batch's API"):
        materials.approve_lot(user("rhea"), barcode, signature("rhea", "approved"))
    db.session.rollback()
    assert materials.get_lot(barcode).status == "quarantine"
    assert batches.get_batch(lot_number).status == "awaiting_release"


def test_a_trituration_batch_rejected_as_a_batch_leaves_its_lot_unapprovable(ctx, lots):
    lot_number, barcode = make_trituration_lot(lots, "rhea", approve=False)
    release.reject(user("rhea"), lot_number, signature("rhea", "rejected"), "Lumps after sieving")
    with pytest.raises(WrongState, match="is not ready"):
        materials.approve_lot(user("rhea"), barcode, signature("rhea", "approved"))
    db.session.rollback()
    assert materials.get_lot(barcode).status == "quarantine"
    assert materials.get_lot(barcode).unusable_reason(clock.today()) is not None
    assert batches.get_batch(lot_number).status == "rejected"


def test_capsules_weighed_from_a_trituration_lot_before_its_recall_are_held(ctx, lots):
    """0.5 mg capsules weighed from the trituration lot, which is then recalled: they are held and
    cannot pass the review."""
    _trit_batch, trit_lot = make_trituration_lot(lots, "rhea")
    capsules = _capsules(TRITURATED_CAPSULE, 0.5, trit_lot, lots)
    recalls.recall_lot(user("rhea"), trit_lot, signature("rhea", "recalled"), "Mixing time not documented")
    assert batches.get_batch(capsules).status == "on_hold"
    assert review.load(capsules).ready is False
