"""Results in: one service for the pages, the API and the CSV import. Never edited or deleted."""

import math
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from qa_app.domain import evaluation as ev
from qa_app.errors import InvalidInput, WrongState
from qa_app.extensions import db
from qa_app.models import Batch, Investigation, Result, User
from qa_app.services import alerts, audit, batches, clock, judgement, trends
from qa_app.services.accounts import require_role

ANALYSTS = ("technician", "reviewer")
MAX_MAGNITUDE = 1e6
TEST_LABELS = {
    "ph": "pH",
    "assay": "Assay",
    "fill_volume": "Fill volume",
    "content_uniformity": "Content uniformity",
}


def spec_test(batch: Batch, key: str) -> dict[str, Any]:
    for test in batch.specification["tests"]:
        if test["key"] == key:
            return test
    known = ", ".join(t["key"] for t in batch.specification["tests"])
    raise InvalidInput(
        f"{batch.lot_number} has no test {key!r}.",
        {"test": f"Unknown test; this batch's specification has: {known}."},
    )


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field} must be a number.", {field: "Must be a number."})
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise InvalidInput(
            f"{field} must be a finite number.",
            {field: f"Must be a finite number within ±{MAX_MAGNITUDE:g}."},
        )
    return float(value)


def _evaluate(
    test: dict[str, Any], value: Any, values: Any, pending: Result | None
) -> tuple[Any, str | None, ev.Evaluation]:
    kind = test["kind"]
    label = _label(test["key"])
    if kind == "range":
        if values is not None or value is None:
            raise InvalidInput(f"{test['key']} takes one value.", {"value": "Give one number as value."})
        number = _number(value, "value")
        limits = ev.RangeLimits(
            test.get("min"),
            test.get("max"),
            test.get("decimals", 1),
            test.get("warn_min"),
            test.get("warn_max"),
        )
        return [number], None, ev.evaluate_range(number, limits, label=label, unit=test.get("unit", ""))
    if kind == "attribute":
        if values is not None or not isinstance(value, str) or not value.strip():
            raise InvalidInput(
                f"{test['key']} takes the observed text.", {"value": "Describe what was observed."}
            )
        return (
            None,
            value.strip(),
            ev.evaluate_attribute(value.strip(), ev.AttributeLimits(test["expected"]), label=label),
        )
    if value is not None or not isinstance(values, list):
        raise InvalidInput(
            "Content uniformity takes a list of values.", {"values": "Give the unit contents as a list."}
        )
    numbers = [_number(v, f"values.{i}") for i, v in enumerate(values)]
    if any(v < 0 for v in numbers):
        raise InvalidInput(
            "A unit's content cannot be negative.", {"values": "Contents are % of label claim, ≥ 0."}
        )
    needed = ev.STAGE2_UNITS if pending else ev.STAGE1_UNITS
    if len(numbers) != needed:
        stage = "stage 2 (20 more units)" if pending else "stage 1"
        raise InvalidInput(
            f"Content uniformity at {stage} needs {needed} values; got {len(numbers)}.",
            {"values": f"Give exactly {needed} values, one per unit: {len(numbers)} given, {needed} needed."},
        )
    limits = ev.ContentUniformityLimits(test.get("target", 100.0))
    stage1 = pending.values if pending else numbers
    return numbers, None, ev.evaluate_content_uniformity(stage1, numbers if pending else None, limits)


def add_result(
    actor: User,
    batch: Batch,
    *,
    test: str,
    value: Any = None,
    values: Any = None,
    method: str | None = None,
    analyst: str | None = None,
    tested_at: datetime | None = None,
    source: str = "entered",
) -> Result:
    """Record one result on a locked batch in the caller's transaction (no judgement, no commit)."""
    result, outcome = new_result(
        actor,
        batch,
        judgement.evidence(batch.id),
        test=test,
        value=value,
        values=values,
        method=method,
        analyst=analyst,
        tested_at=tested_at,
        source=source,
    )
    db.session.add(result)
    db.session.flush()
    audit.record_many([recorded_event(actor, batch, result)])
    if outcome.status == "fail":
        alerts.raise_alerts("oos", [out_of_specification(batch, result, outcome)])
    return result


def new_result(
    actor: User,
    batch: Batch,
    proof: judgement.Evidence,
    *,
    test: str,
    value: Any = None,
    values: Any = None,
    method: str | None = None,
    analyst: str | None = None,
    tested_at: datetime | None = None,
    source: str = "entered",
) -> tuple[Result, ev.Evaluation]:
    """The result as it will be recorded (not yet added) and its evaluation, checked against the
    batch's state, its specification and its evidence ``proof`` (the stage-1 set it completes,
    the retest plan it falls under); raises what refuses it. One check for a result entered on
    a page, sent to the API or read from the laboratory's CSV."""
    if batch.status not in judgement.JUDGED_STATES:
        raise WrongState(
            f"Batch {batch.lot_number} is {batch.status}; results are recorded only between "
            "completion and release.",
            {"lot_number": f"The batch is {batch.status}."},
        )
    spec = spec_test(batch, test)
    pending = proof.pending_stage1.get(test) if spec["kind"] == "content_uniformity" else None
    numbers, text, outcome = _evaluate(spec, value, values, pending)
    tested_at = clock.past_or_now(tested_at, "tested_at")
    # Twenty more units complete their stage-1 set and belong to the same plan as that set.
    retest_of_id = pending.retest_of_id if pending else _within_plan(batch, test, proof)
    result = Result(
        batch_id=batch.id,
        test_key=test,
        kind=spec["kind"],
        values=numbers,
        text_value=text,
        unit=spec.get("unit", ""),
        method=(method or spec.get("method", "")).strip()[:200],
        analyst=(analyst or ("" if source == "imported" else actor.full_name)).strip()[:200],
        tested_at=tested_at,
        source=source,
        status=outcome.status,
        evaluation=outcome.as_dict(),
        stage1_result_id=pending.id if pending else None,
        retest_of_id=retest_of_id,
        recorded_by_id=actor.id,
    )
    return result, outcome


def recorded_event(actor: User, batch: Batch, result: Result) -> audit.Entry:
    """The audit event of a recorded result (it has its id: added and flushed)."""
    return audit.Entry(
        "result.recorded",
        "batch",
        batch.lot_number,
        actor=actor,
        new={
            "result_id": result.id,
            "test": result.test_key,
            "values": result.values,
            "text": result.text_value,
            "source": result.source,
            "status": result.status,
            "evaluation": result.evaluation,
            "retest_of_investigation": result.retest_of_id,
            "stage1_result": result.stage1_result_id,
        },
    )


def out_of_specification(batch: Batch, result: Result, outcome: ev.Evaluation) -> alerts.Cause:
    """The "oos" e-mail alert of a failing result, written with it (services/alerts.py)."""
    observed = result.text_value or ", ".join(f"{n:g}" for n in result.values or [])
    return alerts.Cause(
        f"result:{result.id}",
        f"Out of specification: {_label(result.test_key)} of batch {batch.lot_number}",
        f"{_label(result.test_key)} result {result.id} of batch {batch.lot_number} is out of "
        f"specification: {observed} {result.unit}".rstrip()
        + f". {outcome.message}\nAn investigation is needed before the batch can be released.",
        f"/batches/{batch.lot_number}",
    )


def _within_plan(batch: Batch, test: str, proof: judgement.Evidence) -> int | None:
    """The investigation a new result for ``test`` is run under, or None when it needs no plan.

    domain.md §5, no result outside the plan: while a failing result of the test is not covered
    by an investigation, no new result is taken (409: open an investigation first). Under an
    investigation, retests count against the allowance fixed when it opened, never changed by
    the results (no testing into compliance); results after it closed count too. A laboratory
    cause grants one replacement result for the invalidated one (the original determination
    re-done), so an allowance of 0 still leaves the batch a way to a valid result.
    """
    uncovered = judgement.uncovered_failures(proof, test)
    if uncovered:
        failed = uncovered[0]
        raise WrongState(
            f"{_label(test)} result {failed.id} of {batch.lot_number} is out of specification and no "
            "investigation covers it: open an investigation first.",
            {"test": f"Open an investigation on result {failed.id} first."},
        )
    mine = [inv for inv in proof.investigations if inv.test_key == test]
    if not mine:
        return None
    investigation = mine[-1]
    used = sum(1 for r in proof.results if r.retest_of_id == investigation.id and r.stage1_result_id is None)
    if investigation.outcome != "invalidated":
        if used < investigation.retests_allowed:
            return investigation.id
        raise WrongState(
            f"Investigation {investigation.id} allows {investigation.retests_allowed} retest(s) of {test}, "
            f"fixed when it opened; {used} already recorded.",
            {"test": "No retest left under the investigation's plan."},
        )
    # A retest still planned serves as the replacement; with none left, one replacement is granted.
    granted = max(investigation.retests_allowed, (investigation.retests_at_close or 0) + 1)
    if used < granted:
        return investigation.id
    raise WrongState(
        f"Investigation {investigation.id} has no {_label(test).lower()} result left: "
        f"{investigation.retests_allowed} retest(s) were fixed when it opened, and after its laboratory "
        f"cause one result replaces invalidated result {investigation.result_id}; {used} already recorded.",
        {"test": "No retest or replacement left under the investigation's plan."},
    )


def retests_recorded(investigation: Investigation) -> int:
    """Results run under the investigation's plan so far (twenty more CU units are not one more)."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Result)
        .where(Result.retest_of_id == investigation.id, Result.stage1_result_id.is_(None))
    )


def _label(test: str) -> str:
    return TEST_LABELS.get(test, test.replace("_", " ").capitalize())


def record_result(actor: User, lot_number: str, **fields: Any) -> Result:
    """Record a result and move the batch to where its results now put it."""
    require_role(actor, *ANALYSTS)
    batch = batches.get_batch(lot_number, for_update=True)
    result = add_result(actor, batch, **fields)
    judgement.judge(actor, batch)
    trends.refresh(actor, [batch], trends.ATTRIBUTES_OF_TEST.get(result.test_key, ()))
    db.session.commit()
    return result
