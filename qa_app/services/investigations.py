"""OOS investigations (FDA guidance 2022; 21 CFR 211.192): open on a failing result, close signed.

Only a documented laboratory cause invalidates the original result. Phase I closes only with
one; otherwise the investigation continues as phase II, where a manufacturing cause or none
confirms the OOS and the batch can then only be rejected. The original result always stays on
the record, marked invalid when it is.
"""

from typing import Any

import sqlalchemy as sa

from qa_app.errors import InvalidInput, NotFound, WrongState
from qa_app.extensions import db
from qa_app.models import INVESTIGATION_CAUSES, Batch, Investigation, Result, ResultInvalidation, User
from qa_app.services import audit, batches, clock, judgement, results, signatures
from qa_app.services.accounts import require_role
from qa_app.services.signatures import SignatureInput

MAX_RETESTS = 10


def get_investigation(investigation_id: int) -> Investigation:
    investigation = db.session.get(Investigation, investigation_id)
    if investigation is None:
        raise NotFound(f"No investigation {investigation_id}.")
    return investigation


def open_investigation(
    actor: User, lot_number: str, *, result_id: int, retests_allowed: int
) -> Investigation:
    """Open an investigation on a failing result; the retest allowance is fixed now, in advance."""
    require_role(actor, "reviewer")
    batch = batches.get_batch(lot_number, for_update=True)
    if batch.status not in judgement.JUDGED_STATES:
        raise WrongState(f"Batch {batch.lot_number} is {batch.status}; there is nothing to investigate now.")
    result = db.session.get(Result, result_id)
    if result is None or result.batch_id != batch.id:
        raise InvalidInput(
            f"Result {result_id} is not a result of {batch.lot_number}.", {"result_id": "Unknown result."}
        )
    if result.status != "fail":
        raise WrongState(
            f"Result {result_id} is {result.status}; only a failing result is investigated.",
            {"result_id": "Not a failing result."},
        )
    if not 0 <= retests_allowed <= MAX_RETESTS:
        raise InvalidInput(
            "The retest allowance must be fixed between 0 and 10.",
            {"retests_allowed": f"Give a whole number from 0 to {MAX_RETESTS}."},
        )
    if db.session.scalar(sa.select(Investigation.id).where(Investigation.result_id == result_id)):
        raise WrongState(
            f"Result {result_id} is already under investigation.", {"result_id": "Investigated already."}
        )
    if db.session.scalar(
        sa.select(Investigation.id).where(
            Investigation.batch_id == batch.id,
            Investigation.test_key == result.test_key,
            Investigation.status == "open",
        )
    ):
        raise WrongState(f"An investigation on {result.test_key} of {batch.lot_number} is already open.")
    investigation = Investigation(
        batch_id=batch.id,
        result_id=result.id,
        test_key=result.test_key,
        retests_allowed=retests_allowed,
        opened_by_id=actor.id,
    )
    db.session.add(investigation)
    db.session.flush()
    audit.record(
        "investigation.opened",
        "batch",
        batch.lot_number,
        actor=actor,
        new={
            "investigation_id": investigation.id,
            "result_id": result.id,
            "test": result.test_key,
            "retests_allowed": retests_allowed,
            "phase": "I",
        },
    )
    judgement.judge(actor, batch)
    db.session.commit()
    return investigation


def close_investigation(
    actor: User,
    investigation_id: int,
    given: SignatureInput,
    *,
    phase: str,
    assignable_cause: str,
    cause: str | None,
    conclusion: str,
) -> Investigation:
    """Close with a signed conclusion: a laboratory cause invalidates the result; anything else confirms it."""
    require_role(actor, "reviewer")
    investigation = get_investigation(investigation_id)
    batch = db.session.scalar(
        sa.select(Batch).where(Batch.id == investigation.batch_id).with_for_update(of=Batch)
    )
    # With the batch locked, read the investigation afresh (and lock it): a closing that won meanwhile shows.
    investigation = db.session.scalars(
        sa.select(Investigation)
        .where(Investigation.id == investigation.id)
        .with_for_update(of=Investigation)
        .execution_options(populate_existing=True)
    ).one()
    if investigation.status != "open":
        raise WrongState(f"Investigation {investigation.id} is closed already.")
    fields: dict[str, str] = {}
    if phase not in ("I", "II"):
        fields["phase"] = "Use I or II."
    if assignable_cause not in INVESTIGATION_CAUSES:
        fields["assignable_cause"] = f"Use one of: {', '.join(INVESTIGATION_CAUSES)}."
    cause, conclusion = (cause or "").strip(), (conclusion or "").strip()
    if assignable_cause in ("laboratory", "manufacturing") and not cause:
        fields["cause"] = "Describe the assignable cause that was found."
    if not conclusion:
        fields["conclusion"] = "State the conclusion."
    if phase == "I" and investigation.phase == "II":
        fields["phase"] = "This investigation is in phase II already; it closes as phase II."
    if fields:
        raise InvalidInput("The investigation was not closed: correct the marked fields.", fields)
    if phase == "I" and assignable_cause != "laboratory":
        if investigation.phase == "I":
            investigation.phase = "II"
            audit.record(
                "investigation.escalated",
                "batch",
                batch.lot_number,
                actor=actor,
                old={"investigation_id": investigation.id, "phase": "I"},
                new={"investigation_id": investigation.id, "phase": "II"},
                reason="no laboratory cause found in phase I",
            )
            db.session.commit()
        raise WrongState(
            "Phase I closes only with a documented laboratory cause; the investigation continues as phase II "
            "(production review and further testing).",
            {"phase": "Continue as phase II."},
        )
    outcome = "invalidated" if assignable_cause == "laboratory" else "confirmed"
    content = {
        "investigation_id": investigation.id,
        "lot_number": batch.lot_number,
        "result_id": investigation.result_id,
        "test": investigation.test_key,
        "phase": phase,
        "assignable_cause": assignable_cause,
        "cause": cause,
        "conclusion": conclusion,
        "outcome": outcome,
    }
    signatures.sign(
        actor,
        given,
        action="close_investigation",
        entity_type="batch",
        entity_key=batch.lot_number,
        content=content,
    )
    investigation.phase, investigation.assignable_cause = phase, assignable_cause
    investigation.cause, investigation.conclusion, investigation.outcome = cause or None, conclusion, outcome
    investigation.status, investigation.closed_by_id, investigation.closed_at = (
        "closed",
        actor.id,
        clock.utcnow(),
    )
    investigation.retests_at_close = results.retests_recorded(investigation)
    if outcome == "invalidated":
        db.session.add(
            ResultInvalidation(
                result_id=investigation.result_id,
                investigation_id=investigation.id,
                reason=f"Laboratory cause: {cause}",
                invalidated_by_id=actor.id,
            )
        )
    audit.record(
        "investigation.closed", "batch", batch.lot_number, actor=actor, new=content, reason=conclusion
    )
    judgement.judge(actor, batch)
    db.session.commit()
    return investigation


def related_batches(investigation: Investigation) -> list[dict[str, Any]]:
    """Phase II reaches other batches that share the cause: the same API lot or formula version."""
    batch = db.session.get(Batch, investigation.batch_id)
    stmt = (
        sa.select(Batch)
        .where(Batch.id != batch.id, Batch.status != "discarded")
        .where(
            sa.or_(Batch.api_lot_id == batch.api_lot_id, Batch.formula_version_id == batch.formula_version_id)
        )
        .order_by(Batch.id.desc())
        .limit(100)
    )
    return [
        {
            "lot_number": other.lot_number,
            "status": other.status,
            "shares": [
                name
                for name, same in (
                    ("API lot", other.api_lot_id == batch.api_lot_id),
                    ("formula version", other.formula_version_id == batch.formula_version_id),
                )
                if same
            ],
        }
        for other in db.session.scalars(stmt)
    ]
