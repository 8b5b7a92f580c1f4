"""Judging a batch on its results and investigations: what holds it, and where it goes next.

One function decides, and both the batch page and every use case that changes results call it,
so a page can never show a batch as passing that the services would hold.
"""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import (
    Batch,
    BatchComponent,
    Excursion,
    Investigation,
    MaterialLot,
    Result,
    ResultInvalidation,
    User,
)
from qa_app.services import audit, stays

JUDGED_STATES = ("quarantine", "on_hold", "awaiting_release")
PASSING = ("pass", "warning")


@dataclass(frozen=True)
class Evidence:
    """What the judgement rests on, loaded in a fixed number of statements."""

    results: list[Result]
    investigations: list[Investigation]
    invalidated: dict[int, ResultInvalidation]
    excursions: list[Excursion]
    recalled_lots: list[MaterialLot]
    """Recalled lots in the batch, directly or inside an intermediate lot it used."""

    @property
    def final_results(self) -> list[Result]:
        """Results that stand on their own: a stage-1 CU set completed by stage 2 is judged there."""
        completed = {r.stage1_result_id for r in self.results if r.stage1_result_id is not None}
        return [r for r in self.results if r.id not in completed]

    @property
    def pending_stage1(self) -> dict[str, Result]:
        """Content-uniformity stage-1 results still waiting for their 20 more units, by test."""
        completed = {r.stage1_result_id for r in self.results if r.stage1_result_id is not None}
        return {
            r.test_key: r for r in self.results if r.status == "more_units_required" and r.id not in completed
        }

    @property
    def valid_results(self) -> list[Result]:
        return [r for r in self.final_results if r.id not in self.invalidated]


def evidence(batch_id: int) -> Evidence:
    results = list(
        db.session.scalars(sa.select(Result).where(Result.batch_id == batch_id).order_by(Result.id))
    )
    investigations = list(
        db.session.scalars(
            sa.select(Investigation).where(Investigation.batch_id == batch_id).order_by(Investigation.id)
        )
    )
    ids = [r.id for r in results]
    invalidated = (
        {
            i.result_id: i
            for i in db.session.scalars(
                sa.select(ResultInvalidation).where(ResultInvalidation.result_id.in_(ids))
            )
        }
        if ids
        else {}
    )
    return Evidence(
        results, investigations, invalidated, stays.pending_dispositions(batch_id), recalled_lots(batch_id)
    )


def recalled_lots(batch_id: int) -> list[MaterialLot]:
    """The recalled lots behind a batch: its own components and, through every intermediate lot it
    used, theirs (one recursive query)."""
    bc, ml = BatchComponent.__table__, MaterialLot.__table__
    inside = sa.select(bc.c.material_lot_id.label("lot_id"), sa.literal(0).label("depth")).where(
        bc.c.batch_id == batch_id
    )
    tree = inside.cte("tree", recursive=True)
    deeper = (
        sa.select(bc.c.material_lot_id, tree.c.depth + 1)
        .select_from(
            tree.join(ml, ml.c.id == tree.c.lot_id).join(bc, bc.c.batch_id == ml.c.produced_by_batch_id)
        )
        .where(tree.c.depth < 20)
    )
    tree = tree.union_all(deeper)
    stmt = (
        sa.select(MaterialLot)
        .where(MaterialLot.id.in_(sa.select(tree.c.lot_id)), MaterialLot.status == "recalled")
        .order_by(MaterialLot.id)
    )
    return list(db.session.scalars(stmt))


def holds(batch: Batch, proof: Evidence) -> list[dict[str, Any]]:
    """Why the batch cannot go on: open investigations, confirmed OOS, failing results, and
    excursions of its storage units that wait for a disposition."""
    found: list[dict[str, Any]] = []
    for lot in proof.recalled_lots:
        found.append(
            {
                "kind": "material_recall",
                "id": lot.id,
                "message": f"{lot.material.code} lot {lot.barcode} in this batch was recalled "
                f"({lot.recall_reason}): the batch can only be rejected.",
            }
        )
    for excursion in proof.excursions:
        found.append(
            {
                "kind": "excursion",
                "id": excursion.id,
                "message": f"Excursion {excursion.id} in {excursion.storage_unit.code} "
                f"({_extreme(excursion)}) needs a disposition for this batch.",
            }
        )
    for inv in proof.investigations:
        if inv.status == "open":
            found.append(
                {
                    "kind": "investigation",
                    "id": inv.id,
                    "message": f"OOS investigation {inv.id} on {inv.test_key} is open (phase {inv.phase}).",
                }
            )
        elif inv.outcome == "confirmed":
            found.append(
                {
                    "kind": "oos",
                    "id": inv.result_id,
                    "message": f"OOS confirmed for {inv.test_key} by investigation {inv.id} "
                    f"(phase {inv.phase}): the batch can only be rejected.",
                }
            )
    for result in uncovered_failures(proof):
        found.append(
            {
                "kind": "oos",
                "id": result.id,
                "message": f"{result.test_key} result {result.id} is out of specification: "
                f"{result.evaluation.get('message', '')}. Open an investigation.",
            }
        )
    return found


def uncovered_failures(proof: Evidence, test: str | None = None) -> list[Result]:
    """Valid failing results that no investigation deals with (of ``test``, or of every test).

    A failing result is covered by the investigation opened on it, and a failing retest by the
    plan of the investigation it was run under while that investigation is open. Once that one
    closes, a failing retest or replacement is an OOS result of its own.
    """
    investigated = {inv.result_id for inv in proof.investigations}
    open_plans = {inv.id for inv in proof.investigations if inv.status == "open"}
    return [
        r
        for r in proof.valid_results
        if r.status == "fail"
        and (test is None or r.test_key == test)
        and r.id not in investigated
        and r.retest_of_id not in open_plans
    ]


def _extreme(excursion: Excursion) -> str:
    unit = excursion.storage_unit
    if excursion.max_c > unit.max_c:
        return f"up to {excursion.max_c:.1f} °C, above {unit.max_c:.1f} °C"
    return f"down to {excursion.min_c:.1f} °C, below {unit.min_c:.1f} °C"


def confirmed_oos(proof: Evidence) -> bool:
    return any(inv.outcome == "confirmed" for inv in proof.investigations)


def missing_tests(batch: Batch, proof: Evidence) -> list[str]:
    """Required tests without a valid, complete, passing result."""
    missing = []
    for test in batch.specification["tests"]:
        if not test.get("required", True):
            continue
        mine = [r for r in proof.valid_results if r.test_key == test["key"]]
        if not mine or any(r.status not in PASSING for r in mine):
            missing.append(test["key"])
    return missing


def next_status(batch: Batch, proof: Evidence) -> str:
    if batch.status not in JUDGED_STATES:
        return batch.status
    if holds(batch, proof):
        return "on_hold"
    return "quarantine" if missing_tests(batch, proof) else "awaiting_release"


def judge(actor: User | None, batch: Batch, username: str | None = None) -> str:
    """Move the batch to where its evidence puts it, auditing the change (caller commits).

    ``username`` names who acted when no user did (a sensor's device token)."""
    db.session.flush()
    proof = evidence(batch.id)
    status = next_status(batch, proof)
    if status != batch.status:
        audit.record(
            "batch.status_changed",
            "batch",
            batch.lot_number,
            actor=actor,
            username=username,
            old={"status": batch.status},
            new={"status": status, "holds": holds(batch, proof)},
        )
        batch.status = status
    return status
