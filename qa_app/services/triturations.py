"""Triturations: the intermediate lot a trituration batch makes, its approval with the batch,
the chain from a preparation back to the supplier's API lot, and where a lot was used
(domain.md §2.1)."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from qa_app.domain import weighing
from qa_app.errors import NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.models import (
    Batch,
    BatchComponent,
    BatchDecision,
    Certificate,
    Formula,
    FormulaVersion,
    Material,
    MaterialLot,
    Signature,
    User,
)
from qa_app.services import audit, balances, clock

IN_HOUSE = "Compounded in house"
MAX_DEPTH = 20
"""Intermediates of intermediates are followed this deep at most (a real chain has one or two)."""


def produce_lot(actor: User, batch: Batch) -> MaterialLot:
    """The intermediate lot a completed trituration batch makes: assay = its concentration (as
    naltrexone HCl, as is), expiry = its BUD, in quarantine until a reviewer approves it."""
    body = batch.formula_version.body
    material = db.session.scalar(sa.select(Material).where(Material.code == body["produces"]))
    if material is None or material.kind != "intermediate":
        raise WrongState(
            f"The formula names {body['produces']} as what it makes, and that is no intermediate material.",
            {"produces": "Not an intermediate material."},
        )
    lot = MaterialLot(
        barcode=f"NEW-{batch.lot_number}",  # replaced below, once the id is known
        material=material,
        supplier=IN_HOUSE,
        supplier_lot=batch.lot_number,
        expiry_date=batch.bud,
        received_date=clock.today(),
        assay_percent=body["concentration_percent"],
        assay_basis="as_is",
        received_by_id=actor.id,
        produced_by_batch_id=batch.id,
    )
    db.session.add(lot)
    db.session.flush()
    lot.barcode = f"LOT{lot.id:06d}"
    audit.record(
        "lot.produced",
        "material_lot",
        lot.barcode,
        actor=actor,
        new={
            "material": material.code,
            "made_in": batch.lot_number,
            "assay_percent": lot.assay_percent,
            "expiry_date": lot.expiry_date,
            "status": lot.status or "quarantine",
        },
    )
    return lot


def check_decision(actor: User, lot: MaterialLot, status: str) -> Batch | None:
    """Before a reviewer decides an intermediate lot: its batch, locked, must be complete and (to
    approve) pass its whole review, and the reviewer may not be one who made or verified it."""
    if lot.produced_by_batch_id is None:
        return None
    from qa_app.services import batches, review  # noqa: PLC0415 (they import materials)

    batch = batches.get_batch(
        db.session.scalar(sa.select(Batch.lot_number).where(Batch.id == lot.produced_by_batch_id)) or "",
        for_update=True,
    )
    if status == "approved":
        problem = review.releaser_problem(actor, batch)
        if problem:
            raise NotPermitted(problem.replace("release it", f"approve lot {lot.barcode}"))
        checked = review.load(batch.lot_number)
        if not checked.ready:
            unmet = checked.unmet
            raise WrongState(
                f"Lot {lot.barcode} cannot be approved: its trituration batch {batch.lot_number} is not ready: "
                + "; ".join(f"{item.label.lower()} — {item.detail}" for item in unmet),
                {item.key: item.detail for item in unmet},
            )
    return batch


def decide_batch(actor: User, batch: Batch, lot: MaterialLot, status: str, signature: Signature) -> None:
    """The trituration batch follows its lot: approved → released (no certificate: it is not
    dispensed), rejected → rejected; recorded as the batch's decision under the same signature."""
    decision = "released" if status == "approved" else "rejected"
    if batch.status not in ("quarantine", "on_hold", "awaiting_release"):
        return  # rejected already (say, by an excursion's disposition): the lot follows, the batch stays
    db.session.add(
        BatchDecision(
            batch_id=batch.id,
            decision=decision,
            reason=lot.decision_reason,
            decided_by_id=actor.id,
            signature_id=signature.id,
        )
    )
    old = batch.status
    batch.status = decision
    audit.record(
        f"batch.{decision}",
        "batch",
        batch.lot_number,
        actor=actor,
        old={"status": old},
        new={"status": decision, "lot": lot.barcode},
        reason=lot.decision_reason,
    )


# --- chains -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """One lot in the chain behind a batch's API: what it is, where it came from."""

    lot: MaterialLot
    made_in: Batch | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "barcode": self.lot.barcode,
            "material": self.lot.material.code,
            "kind": self.lot.material.kind,
            "supplier": self.lot.supplier,
            "supplier_lot": self.lot.supplier_lot,
            "assay_percent": self.lot.assay_percent,
            "expiry_date": self.lot.expiry_date.isoformat(),
            "status": self.lot.status,
            "made_in": self.made_in.lot_number if self.made_in else None,
        }

    @property
    def text(self) -> str:
        lot = self.lot
        if self.made_in is not None:
            return (
                f"{lot.material.code} lot {lot.barcode} ({lot.assay_percent:g} % w/w, made in batch "
                f"{self.made_in.lot_number})"
            )
        return f"{lot.material.code} lot {lot.barcode} ({lot.supplier}, supplier lot {lot.supplier_lot})"


def chain(lot: MaterialLot | None) -> list[Link]:
    """The lot and, through each trituration batch, the API lot it was made from, down to the supplier's."""
    links: list[Link] = []
    while lot is not None and len(links) < MAX_DEPTH:
        made_in = db.session.get(Batch, lot.produced_by_batch_id) if lot.produced_by_batch_id else None
        links.append(Link(lot, made_in))
        lot = made_in.api_lot if made_in is not None else None
    return links


def batch_chain(batch: Batch) -> list[Link]:
    """The chain behind a batch's API (the lot weighed, or the one its calculation assumed)."""
    weighed = next((c.lot for c in batch.components if c.role == "api"), None)
    return chain(weighed or batch.api_lot)


def chain_text(links: list[Link], batch: Batch | None = None) -> str:
    """ "LDN-… ← NTX-TRIT10 lot LOT000012 (10 % w/w, made in batch …) ← NTX-HCL lot LOT000003 (…)"."""
    parts = ([batch.lot_number] if batch is not None else []) + [link.text for link in links]
    return " ← ".join(parts)


# --- where-used ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    lot_number: str
    status: str
    dosage_form: str
    via: list[str]
    batch_id: int


def where_used(lot: MaterialLot) -> list[Use]:
    """Every batch that used the lot, directly or through intermediate lots to any depth, in one
    recursive query; ``via`` names the intermediate lots between, nearest the lot first."""
    bc, ml, b = BatchComponent.__table__, MaterialLot.__table__, Batch.__table__
    start = sa.select(
        bc.c.batch_id.label("batch_id"),
        sa.cast(sa.literal(""), sa.Text).label("via"),
        sa.literal(0).label("depth"),
    ).where(bc.c.material_lot_id == lot.id)
    used = start.cte("used", recursive=True)
    step = (
        sa.select(
            bc.c.batch_id,
            sa.cast(
                sa.case((used.c.via == "", ml.c.barcode), else_=used.c.via + sa.literal(",") + ml.c.barcode),
                sa.Text,
            ),
            used.c.depth + 1,
        )
        .select_from(
            used.join(ml, ml.c.produced_by_batch_id == used.c.batch_id).join(
                bc, bc.c.material_lot_id == ml.c.id
            )
        )
        .where(used.c.depth < MAX_DEPTH)
    )
    used = used.union_all(step)
    rows = db.session.execute(
        sa.select(b.c.id, b.c.lot_number, b.c.status, b.c.dosage_form, used.c.via)
        .join(used, used.c.batch_id == b.c.id)
        .order_by(used.c.depth, b.c.id)
    ).all()
    seen: set[int] = set()
    found = []
    for row in rows:
        if row.id in seen:
            continue
        seen.add(row.id)
        found.append(
            Use(row.lot_number, row.status, row.dosage_form, [v for v in row.via.split(",") if v], row.id)
        )
    return found


def certificates_of(uses: list[Use]) -> list[Certificate]:
    ids = [u.batch_id for u in uses]
    if not ids:
        return []
    stmt = (
        sa.select(Certificate)
        .where(Certificate.batch_id.in_(ids))
        .order_by(Certificate.batch_id, Certificate.version)
    )
    return list(db.session.scalars(stmt))


def made_from(batch: Batch) -> list[tuple[int, BatchComponent]]:
    """Backward from a batch: every lot in it and, through intermediate lots, every lot in those,
    with the depth (0 = the batch's own components)."""
    found: list[tuple[int, BatchComponent]] = []
    todo: list[tuple[int, Batch]] = [(0, batch)]
    while todo:
        depth, current = todo.pop(0)
        for component in current.components:
            found.append((depth, component))
            made_in = component.lot.produced_by
            if made_in is not None and depth < MAX_DEPTH:
                todo.append((depth + 1, made_in))
    return found


# --- the small-quantity warning -------------------------------------------------------------------


@dataclass(frozen=True)
class SmallQuantity:
    """The API amount of a draft is below the minimum weight of every balance usable today."""

    api_mg: Decimal
    smallest: tuple[str, Decimal] | None
    """The usable balance with the smallest minimum weight (code, mg), or None when none is usable."""
    triturated_formulas: list[str]
    """Approved formulas of the same dosage form made from a trituration of this API."""
    trituration_formulas: list[str]
    """Approved trituration formulas of this API (to make an intermediate lot first)."""

    @property
    def message(self) -> str:
        amount = weighing.mg_text(self.api_mg)
        if self.smallest is None:
            text = f"No balance is usable today for the API amount of {amount} mg: record today's balance checks first."
        else:
            code, minimum = self.smallest
            text = (
                f"The API amount, {amount} mg, is below the minimum weight of every balance usable today "
                f"(the smallest is {code}: {weighing.mg_text(minimum)} mg, USP <41>)."
            )
            if self.triturated_formulas:
                text += f" Make it from a trituration instead: formula {', '.join(self.triturated_formulas)}."
            elif self.trituration_formulas:
                text += f" Make a trituration first ({', '.join(self.trituration_formulas)}) and a formula that uses it."
            else:
                text += " Make a larger batch, or set up a trituration formula."
        return text


def small_quantity(batch: Batch) -> SmallQuantity | None:
    """The warning shown before any weighing when the API amount fits no usable balance."""
    if batch.status != "draft" or any(c.role == "api" for c in batch.components):
        return None
    amount = Decimal(repr(float(batch.calculation["api_mg"])))
    usable = balances.usable_balances()
    if any(minimum <= amount <= weighing.capacity_mg(b.capacity_g) for b, minimum in usable):
        return None
    api_code = next(c["material"] for c in batch.formula_version.body["components"] if c["role"] == "api")
    source = (
        batch.api_lot.produced_by.api_lot.material.code
        if batch.api_lot and batch.api_lot.produced_by
        else api_code
    )
    trituration_codes, triturated = _trituration_formulas(source, batch.dosage_form)
    smallest = (usable[0][0].code, usable[0][1]) if usable else None
    return SmallQuantity(amount, smallest, triturated, trituration_codes)


def _trituration_formulas(api_code: str, dosage_form: str) -> tuple[list[str], list[str]]:
    """The approved trituration formulas of ``api_code`` and the approved formulas of
    ``dosage_form`` whose API is an intermediate one of them produces."""
    approved = list(
        db.session.scalars(
            sa.select(FormulaVersion)
            .join(FormulaVersion.formula)
            .where(FormulaVersion.status == "approved")
            .order_by(Formula.code)
        )
    )

    def api_of(version: FormulaVersion) -> str | None:
        return next((c["material"] for c in version.body["components"] if c["role"] == "api"), None)

    makers = [v for v in approved if v.dosage_form == "trituration" and api_of(v) == api_code]
    produced = {v.body.get("produces") for v in makers}
    users = [v.formula.code for v in approved if v.dosage_form == dosage_form and api_of(v) in produced]
    return [v.formula.code for v in makers], users
