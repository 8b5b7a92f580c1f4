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
    return evidence_each([batch_id])[batch_id]


def evidence_each(batch_ids: list[int]) -> dict[int, Evidence]:
    """:func:`evidence` for several batches, in the same fixed number of statements as for one
    (callers keep the list to a few hundred batches: see ``CHUNK``)."""
    results: dict[int, list[Result]] = {i: [] for i in batch_ids}
    for result in db.session.scalars(
        sa.select(Result).where(Result.batch_id.in_(batch_ids)).order_by(Result.id)
    ):
        results[result.batch_id].append(result)
    investigations: dict[int, list[Investigation]] = {i: [] for i in batch_ids}
    for inv in db.session.scalars(
        sa.select(Investigation).where(Investigation.batch_id.in_(batch_ids)).order_by(Investigation.id)
    ):
        investigations[inv.batch_id].append(inv)
    invalidated = {
        i.result_id: i
        for i in db.session.scalars(
            sa.select(ResultInvalidation).where(
                ResultInvalidation.result_id.in_(
                    sa.select(Result.id).where(Result.batch_id.in_(batch_ids)).scalar_subquery()
                )
            )
        )
    }
    excursions = stays.pending_dispositions_each(batch_ids)
    recalled = recalled_lots_each(batch_ids)
    return {
        i: Evidence(
            results[i],
            investigations[i],
            {r.id: invalidated[r.id] for r in results[i] if r.id in invalidated},
            excursions[i],
            recalled[i],
        )
        for i in batch_ids
    }


CHUNK = 500
"""Batches per statement when many are read at once (an ``IN`` list well within every limit)."""


def recalled_lots(batch_id: int) -> list[MaterialLot]:
    """The recalled lots behind a batch: its own components and, through every intermediate lot it
    used, theirs (one recursive query)."""
    return recalled_lots_each([batch_id])[batch_id]


def recalled_lots_each(batch_ids: list[int]) -> dict[int, list[MaterialLot]]:
    """:func:`recalled_lots` for several batches: one recursive query, and one more to read the
    recalled lots when there are any."""
    bc, ml = BatchComponent.__table__, MaterialLot.__table__
    inside = sa.select(
        bc.c.batch_id.label("root"), bc.c.material_lot_id.label("lot_id"), sa.literal(0).label("depth")
    ).where(bc.c.batch_id.in_(batch_ids))
    tree = inside.cte("tree", recursive=True)
    deeper = (
        sa.select(tree.c.root, bc.c.material_lot_id, tree.c.depth + 1)
        .select_from(
            tree.join(ml, ml.c.id == tree.c.lot_id).join(bc, bc.c.batch_id == ml.c.produced_by_batch_id)
        )
        .where(tree.c.depth < 20)
    )
    tree = tree.union_all(deeper)
    pairs = db.session.execute(
        sa.select(tree.c.root, ml.c.id)
        .join(ml, ml.c.id == tree.c.lot_id)
        .where(ml.c.status == "recalled")
        .distinct()
    ).all()
    found: dict[int, list[MaterialLot]] = {i: [] for i in batch_ids}
    if not pairs:
        return found
    lots = {
        lot.id: lot
        for lot in db.session.scalars(
            sa.select(MaterialLot).where(MaterialLot.id.in_({lot_id for _, lot_id in pairs}))
        )
    }
    for root, lot_id in sorted(pairs):
        found[root].append(lots[lot_id])
    return found


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
    change = decide(actor, batch, evidence(batch.id), username)
    if change is not None:
        audit.record_many([change])
    return batch.status


def judge_each(actor: User | None, judged: list[tuple[Batch, Evidence]]) -> None:
    """:func:`judge` for many batches on evidence the caller read (with what it just recorded):
    the status changes audited together, in the order given (caller commits)."""
    changes = [decide(actor, batch, proof) for batch, proof in judged]
    audit.record_many([c for c in changes if c is not None])


def decide(
    actor: User | None, batch: Batch, proof: Evidence, username: str | None = None
) -> audit.Entry | None:
    """Move the batch to where ``proof`` puts it; the audit entry of the change, if it moved."""
    status = next_status(batch, proof)
    if status == batch.status:
        return None
    change = audit.Entry(
        "batch.status_changed",
        "batch",
        batch.lot_number,
        actor=actor,
        username=username,
        old={"status": batch.status},
        new={"status": status, "holds": holds(batch, proof)},
    )
    batch.status = status
    return change
