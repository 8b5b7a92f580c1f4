"""Recording results: judged on the frozen specification, never edited, and the batch moved to match.

One database serves the whole module (the four role users and the master data, made once);
each test compounds its own batch into quarantine, so tests stay independent and the module
runs in seconds on PostgreSQL too. The investigation, import and page tests reuse this set-up.
"""

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask, current_app

from qa_app.errors import InvalidInput, NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.models import AuditEvent, Result
from qa_app.services import batches, clock, formulas, judgement, results
from tests.api.test_results_api import FAQ_SET, VECTOR_A, VECTOR_B
from tests.builders import capsule_formula_body, setup_master_data, signature, user
from tests.conftest import ROLE_USERS, build_app, make_user

# The FAQ set's 10 units plus 20 more at 100.0: n = 30, AV 8.4, every unit within 76.125–126.875.
STAGE_TWO_PASSING = [100.0] * 20
# 19 more at 100.0 and one at 75.0: AV 12.6 is within L1, but M is 101.13, so units must lie
# within 75.85–126.417 and unit 30 does not (L2 limits single units; it is not an AV limit).
STAGE_TWO_ONE_UNIT_LOW = [100.0] * 19 + [75.0]


# --- the shared set-up (imported by the other result tests) -----------------------------------


def shared_database_app(databases, instance_path: str) -> Iterator[Flask]:
    """An app on its own copy of the database with the role users and the master data."""
    url = databases.new_url(template=True)
    app = build_app(url, instance_path)
    for role, (username, name) in ROLE_USERS.items():
        make_user(app, username, (role,), name)
    with app.app_context():
        app.config["TEST_LOTS"] = setup_master_data(clock.today())
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


def quarantined_batch(formula: str = "LDN-CAP", api_lot: str = "api") -> str:
    """A batch of 100 capsules of 1.5 mg compounded by tina, verified by rob, in quarantine."""
    lots = current_app.config["TEST_LOTS"]
    tina = user("tina")
    batch = batches.create_batch(tina, formula=formula, strength_mg=1.5, quantity=100, api_lot=lots[api_lot])
    lot, calculation = batch.lot_number, batch.calculation
    batches.record_component(
        tina, lot, barcode=lots[api_lot], quantity_mg=calculation["api_mg"], balance="XS205"
    )
    batches.record_component(
        tina, lot, barcode=lots["mcc"], quantity_mg=calculation["filler_mg"], balance="XS205"
    )
    batches.record_component(tina, lot, barcode=lots["caps"], count=100)
    batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
    batches.record_weight_check(tina, lot, [225.0] * 10)
    batches.complete(tina, lot, actual_yield=100, storage_unit="SHELF-1")
    return lot


def quarantined_liquid() -> str:
    """100 mL of the 1 mg/mL oral liquid (4.5 mg doses), in quarantine in the refrigerator."""
    lots = current_app.config["TEST_LOTS"]
    tina = user("tina")
    batch = batches.create_batch(tina, formula="LDN-LIQ", quantity=100, concentration=1.0, dose_amount=4.5)
    lot = batch.lot_number
    batches.record_component(
        tina, lot, barcode=lots["api"], quantity_mg=batch.calculation["api_mg"], balance="XS205"
    )
    batches.record_component(tina, lot, barcode=lots["syrup"], quantity_mg=100000.0, balance="XS205")
    batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
    batches.complete(tina, lot, actual_yield=100, storage_unit="FRIDGE-1")
    return lot


def record(lot: str, test: str, value=None, values=None, username: str = "tina") -> Result:
    """A result entered by ``username``: one value for a range or attribute test, a list for CU."""
    if values is not None:
        return results.record_result(user(username), lot, test=test, values=values)
    return results.record_result(user(username), lot, test=test, value=value)


def status(lot: str) -> str:
    return batches.get_batch(lot).status


def holds(lot: str) -> list[str]:
    batch = batches.get_batch(lot)
    return [h["message"] for h in judgement.holds(batch, judgement.evidence(batch.id))]


def events(lot: str, action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == "batch", AuditEvent.entity_key == lot)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.seq)
        )
    )


def result_count(lot: str) -> int:
    batch = batches.get_batch(lot)
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Result).where(Result.batch_id == batch.id)
    )


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    yield from shared_database_app(databases, str(tmp_path_factory.mktemp("results-instance")))


@pytest.fixture
def lot(shared_app) -> Iterator[str]:
    """A fresh batch in quarantine; the test runs inside the app context."""
    with shared_app.app_context():
        yield quarantined_batch()


# --- range tests on the frozen specification --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reported", "verdict"),
    [
        (89.95, "90.0", "pass"),
        (89.94, "89.9", "fail"),
        (110.04, "110.0", "pass"),
        (110.05, "110.1", "fail"),
    ],
)
def test_an_assay_is_rounded_to_the_limits_decimals_before_it_is_compared(lot, value, reported, verdict):
    result = record(lot, "assay", value)
    assert (result.evaluation["reported"], result.status) == (reported, verdict)
    assert result.values == [value]  # the raw value is stored unrounded


@pytest.mark.parametrize(
    ("test", "value", "message", "verdict"),
    [
        ("ph", 6.04, "6.0 is within 4.0–6.0", "pass"),
        ("ph", 6.05, "6.1 is above the upper limit 6.0", "fail"),
        ("fill_volume", 97.95, "Fill volume 98.0 mL is within 98.0–102.0 mL", "pass"),
        ("fill_volume", 97.94, "Fill volume 97.9 mL is below the lower limit 98.0 mL", "fail"),
    ],
)
def test_every_range_test_of_a_liquid_is_rounded_the_same_way(shared_app, test, value, message, verdict):
    with shared_app.app_context():
        result = record(quarantined_liquid(), test, value)
        assert result.evaluation["message"].endswith(message)
        assert result.status == verdict


def test_a_ph_result_is_written_ph(shared_app):
    with shared_app.app_context():
        result = record(quarantined_liquid(), "ph", 6.05)
        assert result.evaluation["message"] == "pH 6.1 is above the upper limit 6.0"


def test_a_result_cannot_be_dated_in_the_future(lot):
    with pytest.raises(InvalidInput) as refused:
        results.record_result(
            user("tina"), lot, test="assay", value=99.8, tested_at=clock.utcnow() + timedelta(hours=1)
        )
    assert refused.value.fields == {"tested_at": "Must not be in the future."}


def test_a_failing_assay_says_which_limit_it_missed(lot):
    result = record(lot, "assay", 89.94)
    assert result.evaluation["message"] == "Assay 89.9 % LC is below the lower limit 90.0 % LC"


def test_a_later_formula_version_with_other_limits_does_not_rejudge_the_batch(lot):
    ada, rob = user("ada"), user("rob")
    formulas.create_formula(ada, capsule_formula_body(code="LDN-CAP-V"))
    formulas.approve_formula(rob, "LDN-CAP-V", signature("rob", "approved"))
    first = quarantined_batch(formula="LDN-CAP-V")
    tighter = capsule_formula_body(code="LDN-CAP-V")
    tighter["specification"] = {
        "tests": [{"key": "assay", "kind": "range", "unit": "% LC", "min": 95.0, "max": 105.0}]
    }
    formulas.new_version(ada, "LDN-CAP-V", tighter)
    formulas.approve_formula(rob, "LDN-CAP-V", signature("rob", "approved"))

    result = record(first, "assay", 92.0)
    assert (result.status, result.evaluation["min"], result.evaluation["max"]) == ("pass", 90.0, 110.0)
    assert batches.get_batch(first).specification["version"] == 1
    second = quarantined_batch(formula="LDN-CAP-V")
    assert record(second, "assay", 92.0).status == "fail"


# --- content uniformity (USP <905>) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "av", "m"),
    [(VECTOR_A, 3.4, 99.92), (VECTOR_B, 7.7, 98.5)],
    ids=["vector A", "vector B"],
)
def test_the_published_vectors_pass_at_stage_one(lot, values, av, m):
    result = record(lot, "content_uniformity", values=values)
    e = result.evaluation
    assert (result.status, e["stage"], e["n"], e["av"]) == ("pass", 1, 10, av)
    assert e["m"] == pytest.approx(m)


def test_the_faq_set_needs_twenty_more_units_and_does_not_hold_the_batch(lot):
    result = record(lot, "content_uniformity", values=FAQ_SET)
    assert (result.status, result.evaluation["av"], result.evaluation["m"]) == (
        "more_units_required",
        16.4,
        101.5,
    )
    assert status(lot) == "quarantine"
    assert holds(lot) == []
    batch = batches.get_batch(lot)
    assert "content_uniformity" in judgement.missing_tests(batch, judgement.evidence(batch.id))


def test_stage_two_is_judged_on_all_thirty_units(lot):
    first = record(lot, "content_uniformity", values=FAQ_SET)
    second = record(lot, "content_uniformity", values=STAGE_TWO_PASSING)
    e = second.evaluation
    assert (second.status, e["stage"], e["n"], e["av"], e["m"]) == ("pass", 2, 30, 8.4, 101.5)
    assert (e["l2_low"], e["l2_high"], e["units_outside"]) == (76.125, 126.875, [])
    assert second.stage1_result_id == first.id
    assert status(lot) == "quarantine"  # assay and appearance are still missing


def test_one_unit_outside_the_l2_range_fails_stage_two_although_the_av_passes(lot):
    record(lot, "content_uniformity", values=FAQ_SET)
    second = record(lot, "content_uniformity", values=STAGE_TWO_ONE_UNIT_LOW)
    e = second.evaluation
    assert (second.status, e["av"], e["m_reported"], e["units_outside"]) == ("fail", 12.6, "101.13", [30])
    assert "unit 30 (75.0) outside 75.85–126.417 %" in e["message"]
    assert status(lot) == "on_hold"


def test_after_stage_two_the_next_set_is_ten_units_again(lot):
    record(lot, "content_uniformity", values=FAQ_SET)
    record(lot, "content_uniformity", values=STAGE_TWO_PASSING)
    with pytest.raises(InvalidInput) as refused:
        record(lot, "content_uniformity", values=[100.0] * 20)
    assert refused.value.fields == {"values": "Give exactly 10 values, one per unit: 20 given, 10 needed."}
    assert record(lot, "content_uniformity", values=VECTOR_A).evaluation["stage"] == 1


# --- refused input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test", "fields", "field"),
    [
        ("content_uniformity", {"values": [100.0] * 9}, "values"),
        ("content_uniformity", {"values": [100.0] * 31}, "values"),
        ("content_uniformity", {"values": [100.0] * 9 + [-1.0]}, "values"),
        ("content_uniformity", {"values": [100.0] * 9 + [float("nan")]}, "values.9"),
        ("content_uniformity", {"values": [100.0] * 9 + ["ninety"]}, "values.9"),
        ("assay", {"value": float("nan")}, "value"),
        ("assay", {"value": 1e308}, "value"),
        ("assay", {"value": "abc"}, "value"),
        ("assay", {"values": [99.0]}, "value"),
        ("appearance", {"value": "  "}, "value"),
        ("dissolution", {"value": 99.0}, "test"),
    ],
    ids=[
        "nine units",
        "thirty-one units",
        "a negative unit",
        "a NaN unit",
        "a word for a unit",
        "NaN assay",
        "1e308 assay",
        "a word for an assay",
        "a list for an assay",
        "a blank appearance",
        "an unknown test",
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(lot, test, fields, field):
    with pytest.raises(InvalidInput) as refused:
        results.record_result(user("tina"), lot, test=test, **fields)
    assert field in refused.value.fields
    db.session.rollback()
    assert result_count(lot) == 0
    assert events(lot, "result.recorded") == []


def test_an_unknown_test_is_refused_with_the_tests_the_specification_has(lot):
    with pytest.raises(InvalidInput) as refused:
        record(lot, "dissolution", 99.0)
    assert refused.value.fields["test"] == (
        "Unknown test; this batch's specification has: assay, content_uniformity, appearance."
    )


@pytest.mark.parametrize("state", ["draft", "discarded", "released"])
def test_a_batch_outside_testing_takes_no_result(lot, state):
    tina = user("tina")
    if state == "released":
        target = lot
        batches.get_batch(target).status = "released"  # the release itself is another use case
        db.session.commit()
    else:
        target = batches.create_batch(tina, formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number
        if state == "discarded":
            batches.discard(tina, target, "Spilled")
    with pytest.raises(WrongState, match=f"is {state}"):
        record(target, "assay", 100.0)
    db.session.rollback()
    assert result_count(target) == 0


def test_only_technicians_and_reviewers_record_results(lot):
    for username in ("ada", "ivan"):
        with pytest.raises(NotPermitted):
            record(lot, "assay", 100.0, username=username)
    assert record(lot, "assay", 100.0, username="rob").status == "pass"


# --- append-only, audited ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["UPDATE result SET status = 'pass' WHERE id = :id", "DELETE FROM result WHERE id = :id"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_a_result(lot, statement):
    failed = record(lot, "assay", 80.0)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        db.session.execute(sa.text(statement), {"id": failed.id})
    db.session.rollback()
    assert db.session.get(Result, failed.id).status == "fail"


def test_every_result_and_every_status_change_is_audited(lot):
    failed = record(lot, "assay", 80.0)
    record(lot, "appearance", "Conforms")
    recorded = events(lot, "result.recorded")
    assert [(e.username, e.new_values["test"], e.new_values["status"]) for e in recorded] == [
        ("tina", "assay", "fail"),
        ("tina", "appearance", "pass"),
    ]
    assert recorded[0].new_values["result_id"] == failed.id
    assert recorded[0].new_values["values"] == [80.0]
    changes = [(e.old_values, e.new_values["status"]) for e in events(lot, "batch.status_changed")]
    assert changes == [({"status": "quarantine"}, "on_hold")]


def test_no_status_change_is_audited_when_the_status_stays(lot):
    record(lot, "assay", 99.8)
    assert status(lot) == "quarantine"
    assert events(lot, "batch.status_changed") == []


# --- where the results put the batch ----------------------------------------------------------


def test_every_required_test_passing_awaits_release(lot):
    record(lot, "assay", 99.8)
    record(lot, "content_uniformity", values=VECTOR_B)
    assert status(lot) == "quarantine"
    record(lot, "appearance", "Conforms")
    assert status(lot) == "awaiting_release"
    [change] = events(lot, "batch.status_changed")
    assert (change.old_values, change.new_values) == (
        {"status": "quarantine"},
        {"status": "awaiting_release", "holds": []},
    )


def test_a_failing_result_takes_an_awaiting_batch_on_hold(lot):
    record(lot, "assay", 99.8)
    record(lot, "content_uniformity", values=VECTOR_A)
    record(lot, "appearance", "Conforms")
    cracked = record(lot, "appearance", "Cracked capsules")
    assert status(lot) == "on_hold"
    assert holds(lot) == [
        f"appearance result {cracked.id} is out of specification: "
        "Appearance 'Cracked capsules' does not match the expected 'Conforms to description'. "
        "Open an investigation."
    ]


def test_a_passing_result_never_outvotes_a_failing_one(lot):
    failed = record(lot, "assay", 111.0)
    with pytest.raises(WrongState) as refused:  # no retest outside an investigation's plan
        record(lot, "assay", 100.0)
    assert refused.value.fields == {"test": f"Open an investigation on result {failed.id} first."}
    db.session.rollback()
    record(lot, "content_uniformity", values=VECTOR_A)
    record(lot, "appearance", "Conforms")
    assert status(lot) == "on_hold"
    assert result_count(lot) == 3


def test_a_failing_test_that_is_not_required_still_holds_the_batch(shared_app):
    with shared_app.app_context():
        ada, rob = user("ada"), user("rob")
        body = capsule_formula_body(code="LDN-CAP-PH")
        body["specification"] = {
            "tests": [
                {"key": "assay", "kind": "range", "unit": "% LC", "min": 90.0, "max": 110.0},
                {"key": "ph", "kind": "range", "min": 4.0, "max": 6.0, "required": False},
            ]
        }
        formulas.create_formula(ada, body)
        formulas.approve_formula(rob, "LDN-CAP-PH", signature("rob", "approved"))
        lot = quarantined_batch(formula="LDN-CAP-PH")
        record(lot, "assay", 100.0)
        assert status(lot) == "awaiting_release"  # pH is not required
        record(lot, "ph", 6.3)
        assert status(lot) == "on_hold"


def test_a_warning_counts_as_passing(lot):
    """The judgement treats a passing result that drifts towards a limit as passing."""
    batch = batches.get_batch(lot)
    tina = user("tina")
    for key, kind, status_ in (
        ("assay", "range", "warning"),
        ("content_uniformity", "content_uniformity", "pass"),
        ("appearance", "attribute", "pass"),
    ):
        db.session.add(
            Result(
                batch_id=batch.id,
                test_key=key,
                kind=kind,
                values=[91.0],
                source="entered",
                status=status_,
                evaluation={"status": status_},
                tested_at=clock.utcnow(),
                recorded_by_id=tina.id,
            )
        )
    assert judgement.judge(tina, batch) == "awaiting_release"
