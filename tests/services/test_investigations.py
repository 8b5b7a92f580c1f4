"""OOS investigations: opened by a reviewer on a failing result, closed with a signed conclusion.

Only a laboratory cause invalidates a result; anything else found in phase II confirms the OOS
and holds the batch for good. Retests follow the allowance fixed when the investigation opened.
"""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.errors import InvalidInput, NotAuthenticated, NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.models import Investigation, Result, ResultInvalidation
from qa_app.services import batches, investigations, judgement
from qa_app.services.signatures import SignatureInput
from tests.api.test_results_api import FAQ_SET, VECTOR_A
from tests.builders import signature, user
from tests.services.test_results import (
    STAGE_TWO_ONE_UNIT_LOW,
    STAGE_TWO_PASSING,
    events,
    holds,
    quarantined_batch,
    record,
    shared_database_app,
    status,
)

LAB_CAUSE = "Standard prepared at the wrong dilution"


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    yield from shared_database_app(databases, str(tmp_path_factory.mktemp("investigations-instance")))


@pytest.fixture
def lot(shared_app) -> Iterator[str]:
    """A fresh batch in quarantine; the test runs inside the app context."""
    with shared_app.app_context():
        yield quarantined_batch()


def open_on(lot: str, result: Result, retests: int = 1, username: str = "rob") -> Investigation:
    return investigations.open_investigation(
        user(username), lot, result_id=result.id, retests_allowed=retests
    )


def close(
    investigation: Investigation,
    phase: str = "I",
    cause: str = "laboratory",
    text: str | None = LAB_CAUSE,
    conclusion: str = "Original result invalid",
    password: str | None = None,
) -> Investigation:
    given = signature("rob", "reviewed")
    if password is not None:
        given = SignatureInput("rob", password, "reviewed")
    return investigations.close_investigation(
        user("rob"),
        investigation.id,
        given,
        phase=phase,
        assignable_cause=cause,
        cause=text,
        conclusion=conclusion,
    )


def failing_assay(lot: str) -> Result:
    return record(lot, "assay", 85.0)


def pass_the_other_tests(lot: str) -> None:
    record(lot, "content_uniformity", values=VECTOR_A)
    record(lot, "appearance", "Conforms")


def valid_ids(lot: str) -> list[int]:
    return [r.id for r in judgement.evidence(batches.get_batch(lot).id).valid_results]


# --- opening ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["tina", "ada", "ivan"])
def test_only_a_reviewer_opens_an_investigation(lot, username):
    failed = failing_assay(lot)
    with pytest.raises(NotPermitted):
        open_on(lot, failed, username=username)
    db.session.rollback()
    assert open_on(lot, failed).status == "open"


@pytest.mark.parametrize(
    ("test", "value", "values"),
    [("assay", 99.8, None), ("content_uniformity", None, FAQ_SET)],
    ids=["passing assay", "stage 1 waiting for 20 more units"],
)
def test_only_a_failing_result_is_investigated(lot, test, value, values):
    result = record(lot, test, value, values)
    with pytest.raises(WrongState) as refused:
        open_on(lot, result)
    assert refused.value.fields == {"result_id": "Not a failing result."}


def test_a_result_of_another_batch_is_not_investigated_here(lot):
    other = quarantined_batch()
    failed = failing_assay(other)
    with pytest.raises(InvalidInput) as refused:
        open_on(lot, failed)
    assert refused.value.fields == {"result_id": "Unknown result."}


@pytest.mark.parametrize(("retests", "opens"), [(-1, False), (0, True), (10, True), (11, False)])
def test_the_retest_allowance_is_fixed_between_zero_and_ten(lot, retests, opens):
    failed = failing_assay(lot)
    if opens:
        assert open_on(lot, failed, retests).retests_allowed == retests
        return
    with pytest.raises(InvalidInput) as refused:
        open_on(lot, failed, retests)
    assert refused.value.fields == {"retests_allowed": "Give a whole number from 0 to 10."}


def test_a_result_is_investigated_only_once(lot):
    failed = failing_assay(lot)
    first = open_on(lot, failed)
    with pytest.raises(WrongState, match="already under investigation"):
        open_on(lot, failed)
    db.session.rollback()
    close(first)
    with pytest.raises(WrongState, match="already under investigation"):
        open_on(lot, failed)


def test_opening_is_audited_and_the_open_investigation_holds_the_batch(lot):
    failed = failing_assay(lot)
    investigation = open_on(lot, failed, retests=2)
    [opened] = events(lot, "investigation.opened")
    assert opened.username == "rob"
    assert opened.new_values == {
        "investigation_id": investigation.id,
        "result_id": failed.id,
        "test": "assay",
        "retests_allowed": 2,
        "phase": "I",
    }
    assert status(lot) == "on_hold"
    assert holds(lot) == [f"OOS investigation {investigation.id} on assay is open (phase I)."]


# --- retests ----------------------------------------------------------------------------------


def test_with_an_allowance_of_zero_no_retest_is_run(lot):
    investigation = open_on(lot, failing_assay(lot), retests=0)
    with pytest.raises(WrongState) as refused:
        record(lot, "assay", 100.0)
    assert refused.value.message == (
        f"Investigation {investigation.id} allows 0 retest(s) of assay, fixed when it opened; "
        "0 already recorded."
    )
    assert refused.value.fields == {"test": "No retest left under the investigation's plan."}


def test_retests_stop_at_the_allowance_whatever_they_show(lot):
    investigation = open_on(lot, failing_assay(lot), retests=2)
    first, second = record(lot, "assay", 100.0), record(lot, "assay", 88.0)
    assert (first.retest_of_id, second.retest_of_id) == (investigation.id, investigation.id)
    with pytest.raises(WrongState, match="allows 2 retest"):
        record(lot, "assay", 100.0)


def test_other_tests_are_not_retests(lot):
    open_on(lot, failing_assay(lot), retests=0)
    assert record(lot, "appearance", "Conforms").retest_of_id is None


def test_a_passing_retest_never_outvotes_the_failure_while_it_is_investigated(lot):
    investigation = open_on(lot, failing_assay(lot), retests=1)
    record(lot, "assay", 100.0)
    pass_the_other_tests(lot)
    assert status(lot) == "on_hold"
    assert holds(lot) == [f"OOS investigation {investigation.id} on assay is open (phase I)."]


# --- closing: phase I -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cause", "text"), [("none", None), ("manufacturing", "Blend not uniform")], ids=["none", "manufacturing"]
)
def test_phase_one_without_a_laboratory_cause_continues_as_phase_two(lot, cause, text):
    investigation = open_on(lot, failing_assay(lot))
    with pytest.raises(WrongState) as refused:
        close(investigation, phase="I", cause=cause, text=text, conclusion="No laboratory error found")
    assert refused.value.fields == {"phase": "Continue as phase II."}
    db.session.rollback()
    reread = db.session.get(Investigation, investigation.id)
    assert (reread.phase, reread.status, reread.outcome) == ("II", "open", None)
    [escalated] = events(lot, "investigation.escalated")
    assert (escalated.old_values["phase"], escalated.new_values["phase"], escalated.reason) == (
        "I",
        "II",
        "no laboratory cause found in phase I",
    )
    assert status(lot) == "on_hold"


def test_a_laboratory_cause_invalidates_the_result_and_lifts_the_hold(lot):
    failed = failing_assay(lot)
    investigation = open_on(lot, failed)
    closed = close(investigation)
    assert (closed.status, closed.outcome, closed.phase) == ("closed", "invalidated", "I")
    invalidation = db.session.scalar(
        sa.select(ResultInvalidation).where(ResultInvalidation.result_id == failed.id)
    )
    assert (invalidation.investigation_id, invalidation.reason) == (
        investigation.id,
        f"Laboratory cause: {LAB_CAUSE}",
    )
    still_there = db.session.get(Result, failed.id)
    assert (still_there.status, still_there.values) == ("fail", [85.0])  # kept on the record
    assert failed.id not in valid_ids(lot)
    assert (status(lot), holds(lot)) == ("quarantine", [])
    [closing] = events(lot, "investigation.closed")
    assert (closing.new_values["outcome"], closing.reason) == ("invalidated", "Original result invalid")
    assert [e.new_values["meaning"] for e in events(lot, "signature.signed")][-1] == "reviewed"


@pytest.mark.parametrize(
    "statement",
    ["UPDATE result_invalidation SET reason = 'none'", "DELETE FROM result_invalidation"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_remove_an_invalidation(lot, statement):
    failed = failing_assay(lot)
    close(open_on(lot, failed))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        db.session.execute(sa.text(statement))
    db.session.rollback()
    assert failed.id not in valid_ids(lot)


def test_a_laboratory_cause_goes_straight_to_awaiting_release_when_the_rest_passes(lot):
    investigation = open_on(lot, failing_assay(lot), retests=1)
    record(lot, "assay", 99.5)
    pass_the_other_tests(lot)
    assert status(lot) == "on_hold"
    close(investigation)
    assert status(lot) == "awaiting_release"
    changes = [(e.old_values["status"], e.new_values["status"]) for e in events(lot, "batch.status_changed")]
    assert changes == [("quarantine", "on_hold"), ("on_hold", "awaiting_release")]


def test_a_laboratory_cause_found_in_phase_two_still_invalidates(lot):
    failed = failing_assay(lot)
    investigation = open_on(lot, failed)
    with pytest.raises(WrongState):
        close(investigation, cause="none", text=None, conclusion="Nothing found yet")
    db.session.rollback()
    assert close(investigation, phase="II").outcome == "invalidated"
    assert failed.id not in valid_ids(lot)


def test_an_escalated_investigation_closes_as_phase_two_only(lot):
    investigation = open_on(lot, failing_assay(lot))
    with pytest.raises(WrongState):
        close(investigation, cause="none", text=None, conclusion="Nothing found in the laboratory")
    db.session.rollback()
    with pytest.raises(InvalidInput) as refused:
        close(investigation, phase="I")
    assert refused.value.fields == {
        "phase": "This investigation is in phase II already; it closes as phase II."
    }
    db.session.rollback()
    assert db.session.get(Investigation, investigation.id).status == "open"
    assert close(investigation, phase="II").phase == "II"


# --- closing: phase II confirms ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cause", "text"), [("manufacturing", "Blend not uniform"), ("none", None)], ids=["manufacturing", "none"]
)
def test_a_confirmed_oos_holds_the_batch_for_good(lot, cause, text):
    failed = failing_assay(lot)
    investigation = open_on(lot, failed, retests=2)
    record(lot, "assay", 100.0)
    closed = close(investigation, phase="II", cause=cause, text=text, conclusion="OOS confirmed")
    assert (closed.outcome, closed.phase) == ("confirmed", "II")
    record(lot, "assay", 100.2)
    pass_the_other_tests(lot)
    assert failed.id in valid_ids(lot)
    assert status(lot) == "on_hold"
    assert holds(lot) == [
        f"OOS confirmed for assay by investigation {investigation.id} (phase II): "
        "the batch can only be rejected."
    ]


def test_a_closed_investigation_is_not_closed_again(lot):
    investigation = open_on(lot, failing_assay(lot))
    close(investigation)
    with pytest.raises(WrongState, match="closed already"):
        close(investigation, phase="II", cause="manufacturing", text="Blend", conclusion="Confirmed")


# --- closing: what is refused -----------------------------------------------------------------


def test_a_wrong_signing_password_leaves_the_investigation_open(lot):
    failed = failing_assay(lot)
    investigation = open_on(lot, failed)
    with pytest.raises(NotAuthenticated) as refused:
        close(investigation, password="wrong-password-here")
    assert refused.value.fields == {"signature.password": "Wrong password; enter your own password again."}
    reread = db.session.get(Investigation, investigation.id)
    assert (reread.status, reread.outcome) == ("open", None)
    assert failed.id in valid_ids(lot)
    assert status(lot) == "on_hold"
    assert events(lot, "investigation.closed") == []
    close(investigation)  # the right password resets the count toward the lockout


@pytest.mark.parametrize(
    ("cause", "text", "conclusion", "fields"),
    [
        ("laboratory", "", "Invalid", {"cause": "Describe the assignable cause that was found."}),
        ("manufacturing", "  ", "Confirmed", {"cause": "Describe the assignable cause that was found."}),
        ("none", None, " ", {"conclusion": "State the conclusion."}),
        (
            "sabotage",
            "Someone",
            "Confirmed",
            {"assignable_cause": "Use one of: laboratory, manufacturing, none."},
        ),
    ],
    ids=["laboratory without cause", "manufacturing without cause", "no conclusion", "unknown cause"],
)
def test_closing_needs_a_conclusion_and_the_cause_found(lot, cause, text, conclusion, fields):
    investigation = open_on(lot, failing_assay(lot))
    with pytest.raises(InvalidInput) as refused:
        close(investigation, phase="II", cause=cause, text=text, conclusion=conclusion)
    assert refused.value.fields == fields
    db.session.rollback()
    assert db.session.get(Investigation, investigation.id).status == "open"


# --- phase II reaches other batches -----------------------------------------------------------


def test_related_batches_share_the_api_lot_or_the_formula_version(lot):
    tina = user("tina")
    same_lot_other_formula = batches.create_batch(
        tina, formula="LDN-LIQ", quantity=100, concentration=1.0, dose_amount=4.5
    ).lot_number
    other_lot_same_formula = quarantined_batch(api_lot="api2")
    both = quarantined_batch()
    discarded = batches.create_batch(tina, formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number
    batches.discard(tina, discarded, "Spilled")
    investigation = open_on(lot, failing_assay(lot))

    related = {r["lot_number"]: r for r in investigations.related_batches(investigation)}
    assert related[same_lot_other_formula]["shares"] == ["API lot"]
    assert related[other_lot_same_formula]["shares"] == ["formula version"]
    assert (related[both]["shares"], related[both]["status"]) == (
        ["API lot", "formula version"],
        "quarantine",
    )
    assert discarded not in related
    assert lot not in related


# --- no result outside the plan (domain.md §5) ------------------------------------------------


def test_a_retest_before_any_investigation_is_refused(lot):
    failed = record(lot, "assay", 80.0)
    with pytest.raises(WrongState) as refused:
        record(lot, "assay", 99.0)
    assert refused.value.message == (
        f"Assay result {failed.id} of {lot} is out of specification and no investigation covers it: "
        "open an investigation first."
    )
    assert refused.value.fields == {"test": f"Open an investigation on result {failed.id} first."}
    db.session.rollback()
    assert [r.values for r in judgement.evidence(batches.get_batch(lot).id).results] == [[80.0]]
    assert status(lot) == "on_hold"


def test_the_walk_around_of_the_issue_no_longer_releases_on_a_pre_investigation_retest(lot):
    """assay 80 → retest 99 → investigation with 0 retests → laboratory cause: the 99 never counts."""
    failed = record(lot, "assay", 80.0)
    with pytest.raises(WrongState):
        record(lot, "assay", 99.0)
    db.session.rollback()
    pass_the_other_tests(lot)
    investigation = open_on(lot, failed, retests=0)
    close(investigation)
    assert (status(lot), holds(lot)) == ("quarantine", [])  # no valid assay yet: not releasable
    replacement = record(lot, "assay", 99.0)
    assert (replacement.status, replacement.retest_of_id) == ("pass", investigation.id)
    assert status(lot) == "awaiting_release"


def test_an_allowance_of_zero_still_grants_one_replacement_after_a_laboratory_cause(lot):
    failed = failing_assay(lot)
    investigation = open_on(lot, failed, retests=0)
    with pytest.raises(WrongState, match="allows 0 retest"):
        record(lot, "assay", 100.0)
    db.session.rollback()
    close(investigation)
    assert record(lot, "assay", 100.0).status == "pass"
    with pytest.raises(WrongState) as refused:
        record(lot, "assay", 100.1)
    assert refused.value.message == (
        f"Investigation {investigation.id} has no assay result left: 0 retest(s) were fixed when it "
        f"opened, and after its laboratory cause one result replaces invalidated result {failed.id}; "
        "1 already recorded."
    )
    assert refused.value.fields == {"test": "No retest or replacement left under the investigation's plan."}


def test_replacements_beyond_the_one_granted_are_refused_after_the_retests_are_used(lot):
    failed = failing_assay(lot)
    investigation = open_on(lot, failed, retests=1)
    record(lot, "assay", 99.0)
    close(investigation)
    record(lot, "assay", 99.2)
    with pytest.raises(WrongState, match="no assay result left: 1 retest\\(s\\) were fixed"):
        record(lot, "assay", 99.4)
    db.session.rollback()
    linked = [
        r.values
        for r in judgement.evidence(batches.get_batch(lot).id).results
        if r.retest_of_id == investigation.id
    ]
    assert linked == [[99.0], [99.2]]


def test_a_confirmed_oos_grants_no_replacement(lot):
    investigation = open_on(lot, failing_assay(lot), retests=0)
    close(
        investigation, phase="II", cause="manufacturing", text="Blend not uniform", conclusion="OOS confirmed"
    )
    with pytest.raises(WrongState, match="allows 0 retest"):
        record(lot, "assay", 100.0)


def test_a_failing_retest_under_the_open_investigation_is_covered_by_its_plan(lot):
    investigation = open_on(lot, failing_assay(lot), retests=2)
    record(lot, "assay", 88.0)
    assert holds(lot) == [f"OOS investigation {investigation.id} on assay is open (phase I)."]
    assert record(lot, "assay", 99.0).retest_of_id == investigation.id


def test_a_failing_retest_needs_its_own_investigation_once_the_plan_is_closed(lot):
    investigation = open_on(lot, failing_assay(lot), retests=1)
    retest = record(lot, "assay", 88.0)
    close(investigation)
    with pytest.raises(WrongState) as refused:
        record(lot, "assay", 99.0)
    assert refused.value.fields == {"test": f"Open an investigation on result {retest.id} first."}
    db.session.rollback()
    second = open_on(lot, retest, retests=1)
    assert record(lot, "assay", 99.0).retest_of_id == second.id


def test_a_failing_replacement_needs_its_own_investigation(lot):
    close(open_on(lot, failing_assay(lot), retests=0))
    replacement = record(lot, "assay", 86.0)
    with pytest.raises(WrongState, match=f"result {replacement.id} .* open an investigation first"):
        record(lot, "assay", 99.0)
    db.session.rollback()
    assert open_on(lot, replacement, retests=0).result_id == replacement.id


def test_other_tests_are_recorded_while_one_test_waits_for_its_investigation(lot):
    failing_assay(lot)
    assert record(lot, "appearance", "Conforms").status == "pass"
    assert record(lot, "content_uniformity", values=VECTOR_A).status == "pass"


def test_a_failed_content_uniformity_set_takes_no_new_set_until_investigated(lot):
    record(lot, "content_uniformity", values=FAQ_SET)
    failed = record(lot, "content_uniformity", values=STAGE_TWO_ONE_UNIT_LOW)
    assert failed.status == "fail"
    with pytest.raises(WrongState) as refused:
        record(lot, "content_uniformity", values=VECTOR_A)
    assert refused.value.fields == {"test": f"Open an investigation on result {failed.id} first."}
    db.session.rollback()
    investigation = open_on(lot, failed, retests=0)
    close(investigation)
    assert record(lot, "content_uniformity", values=VECTOR_A).status == "pass"
    with pytest.raises(WrongState, match="one result replaces invalidated result"):
        record(lot, "content_uniformity", values=VECTOR_A)


def test_a_content_uniformity_retest_and_its_twenty_more_units_count_as_one_retest(lot):
    record(lot, "content_uniformity", values=FAQ_SET)
    failed = record(lot, "content_uniformity", values=STAGE_TWO_ONE_UNIT_LOW)
    investigation = open_on(lot, failed, retests=1)
    first = record(lot, "content_uniformity", values=FAQ_SET)
    second = record(lot, "content_uniformity", values=STAGE_TWO_PASSING)
    assert (first.retest_of_id, second.retest_of_id, second.stage1_result_id) == (
        investigation.id,
        investigation.id,
        first.id,
    )
    assert second.status == "pass"
    with pytest.raises(WrongState, match="allows 1 retest\\(s\\) of content_uniformity"):
        record(lot, "content_uniformity", values=VECTOR_A)


def test_a_failing_stage_two_of_a_retest_is_covered_while_the_investigation_is_open(lot):
    record(lot, "content_uniformity", values=FAQ_SET)
    failed = record(lot, "content_uniformity", values=STAGE_TWO_ONE_UNIT_LOW)
    investigation = open_on(lot, failed, retests=2)
    record(lot, "content_uniformity", values=FAQ_SET)
    record(lot, "content_uniformity", values=STAGE_TWO_ONE_UNIT_LOW)
    assert holds(lot) == [f"OOS investigation {investigation.id} on content_uniformity is open (phase I)."]
    assert record(lot, "content_uniformity", values=VECTOR_A).retest_of_id == investigation.id


def test_a_retest_still_planned_after_a_laboratory_cause_is_the_replacement(lot):
    """An allowance not used while open carries on; the lab cause adds nothing beyond it."""
    failed = failing_assay(lot)
    investigation = open_on(lot, failed, retests=2)
    close(investigation)
    assert db.session.get(Investigation, investigation.id).retests_at_close == 0
    record(lot, "assay", 99.0)
    record(lot, "assay", 99.1)
    with pytest.raises(WrongState) as refused:
        record(lot, "assay", 99.2)
    assert refused.value.message == (
        f"Investigation {investigation.id} has no assay result left: 2 retest(s) were fixed when it "
        f"opened, and after its laboratory cause one result replaces invalidated result {failed.id}; "
        "2 already recorded."
    )
