"""A supplier's (or our own) lot recall: the lot and everything made from it, in one signed
transaction (api.md ``POST /material-lots/{barcode}/recall``)."""

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from qa_app.errors import InvalidInput, WrongState
from qa_app.extensions import db
from qa_app.models import Batch, Certificate, MaterialLot, User
from qa_app.reports.recall import Printing, RecallReport, ReportBatch, ReportCertificate, recall_pdf
from qa_app.services import audit, clock, judgement, materials, release, signatures, triturations
from qa_app.services.accounts import require_role
from qa_app.services.signatures import SignatureInput

UNRELEASED = ("draft", "quarantine", "on_hold", "awaiting_release")


@dataclass
class RecallOutcome:
    """What the recall changed: batches recalled (released ones, certificates revoked), batches
    held, and lots recalled (the lot itself first, then every intermediate lot made from it)."""

    lot: MaterialLot
    reason: str
    recalled: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    lots: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    untouched: list[tuple[str, str]] = field(default_factory=list)
    """Batches in the where-used that were already rejected, recalled or discarded, with their status."""

    def as_dict(self) -> dict:
        return {
            "lot": self.lot.barcode,
            "reason": self.reason,
            "recalled": self.recalled,
            "held": self.held,
            "lots": self.lots,
            "revoked_certificates": self.revoked,
            "untouched": [{"lot_number": n, "status": s} for n, s in self.untouched],
        }


def recall_lot(actor: User, barcode: str, given: SignatureInput, reason: str | None) -> RecallOutcome:
    """Recall a lot (signature ``recalled``) and, in the same transaction, every batch and
    intermediate lot made from it, to any depth: released batches are recalled and their
    certificates revoked, unreleased ones put on hold (``material_recall``) until a reviewer
    rejects them, intermediate lots recalled like the lot."""
    require_role(actor, "reviewer")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "Give the reason for the recall.",
            {"reason": "Required: the supplier's notice or what was found."},
        )
    lot = materials.get_lot(barcode, for_update=True)
    if lot.status == "recalled":
        raise WrongState(f"Lot {lot.barcode} was recalled already ({lot.recall_reason}).")
    uses = triturations.where_used(lot)
    if uses:
        # Lots before batches: the lots made from this one, locked in id order, so that a recall of
        # one of them at the same moment is waited for here instead of deadlocking on the batches.
        db.session.scalars(
            sa.select(MaterialLot)
            .where(MaterialLot.produced_by_batch_id.in_([u.batch_id for u in uses]))
            .order_by(MaterialLot.id)
            .with_for_update(of=MaterialLot)
            .execution_options(populate_existing=True)
        ).all()
        # A weighing of one of those lots that committed while this recall waited for its lock
        # is on record now (a weighing locks its lot): look again, with those lots held.
        uses = triturations.where_used(lot)
    ids = [u.batch_id for u in uses]
    if lot.produced_by_batch_id is not None:  # an intermediate lot: the trituration that made it too
        ids.append(lot.produced_by_batch_id)
    found = (
        list(
            db.session.scalars(
                sa.select(Batch)
                .where(Batch.id.in_(ids))
                .order_by(Batch.id)
                .with_for_update(of=Batch)
                .execution_options(populate_existing=True)
            )
        )
        if ids
        else []
    )
    made = [b.produced_lot for b in found if b.produced_lot is not None]
    signature = signatures.sign(
        actor,
        given,
        action="recall_lot",
        entity_type="material_lot",
        entity_key=lot.barcode,
        content={
            "lot": lot.barcode,
            "reason": reason,
            "batches": [b.lot_number for b in found],
            "lots": [m.barcode for m in made],
        },
    )
    outcome = RecallOutcome(lot, reason)
    now = clock.utcnow()
    for item in [lot, *made]:
        if item.status == "recalled":
            continue
        old = item.status
        item.status, item.recalled_by_id, item.recalled_at = "recalled", actor.id, now
        item.recall_reason = reason if item is lot else f"made from recalled lot {lot.barcode}: {reason}"
        outcome.lots.append(item.barcode)
        audit.record(
            "lot.recalled",
            "material_lot",
            item.barcode,
            actor=actor,
            old={"status": old},
            new={"status": "recalled", "signature_id": signature.id},
            reason=item.recall_reason,
        )
    because = f"material recall of lot {lot.barcode}: {reason}"
    for batch in found:
        if batch.status == "released":
            _recall_batch(actor, batch, signature.id, because, outcome)
        elif batch.status in UNRELEASED:
            _hold(actor, batch, because, outcome)
        else:
            outcome.untouched.append((batch.lot_number, batch.status))
    db.session.commit()
    return outcome


def _recall_batch(actor: User, batch: Batch, signature_id: int, because: str, outcome: RecallOutcome) -> None:
    valid = list(
        db.session.scalars(
            sa.select(Certificate).where(Certificate.batch_id == batch.id, Certificate.status == "valid")
        )
    )
    release.withdraw(actor, batch, valid, signature_id, because)
    outcome.revoked.extend(c.number for c in valid)
    outcome.recalled.append(batch.lot_number)


def _hold(actor: User, batch: Batch, because: str, outcome: RecallOutcome) -> None:
    old = batch.status
    db.session.flush()  # the recalled lots are what the judgement reads
    proof = judgement.evidence(batch.id)
    batch.status = "on_hold"
    outcome.held.append(batch.lot_number)
    audit.record(
        "batch.status_changed",
        "batch",
        batch.lot_number,
        actor=actor,
        old={"status": old},
        new={"status": "on_hold", "holds": judgement.holds(batch, proof)},
        reason=because,
    )


# --- before and after: what a recall will change, and the report of one -----------------------


@dataclass(frozen=True)
class RecallPreview:
    """What recalling the lot now would do, shown before the reviewer signs."""

    recall: list[str]
    """Released batches: recalled, their certificates revoked."""
    hold: list[str]
    """Unreleased batches: put on hold until a reviewer rejects them."""
    lots: list[str]
    """Intermediate lots made from it: recalled with it."""
    untouched: list[str]

    @property
    def changed(self) -> int:
        return len(self.recall) + len(self.hold)

    @property
    def text(self) -> str:
        if not self.changed:
            return "No batch used this lot: only the lot itself will be recalled."
        text = (
            f"{_count(self.changed, 'batch', 'batches')} will be recalled or put on hold: "
            f"{_count(len(self.recall), 'released batch', 'released batches')} recalled (certificates revoked), "
            f"{_count(len(self.hold), 'unreleased batch', 'unreleased batches')} put on hold."
        )
        if self.lots:
            text += f" {_count(len(self.lots), 'lot', 'lots')} made from it will be recalled too."
        return text


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def preview(lot: MaterialLot) -> RecallPreview:
    uses = triturations.where_used(lot)
    found = [db.session.get(Batch, u.batch_id) for u in uses]
    return RecallPreview(
        recall=[b.lot_number for b in found if b.status == "released"],
        hold=[b.lot_number for b in found if b.status in UNRELEASED],
        lots=[
            b.produced_lot.barcode
            for b in found
            if b.produced_lot is not None and b.produced_lot.status != "recalled"
        ],
        untouched=[b.lot_number for b in found if b.status != "released" and b.status not in UNRELEASED],
    )


def _local(moment) -> str:
    return moment.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M:%S %Z") if moment else "—"


def _status(value: str) -> str:
    return value.replace("_", " ")


def report(lot: MaterialLot) -> RecallReport:
    """The recall report of ``lot``: who recalled it, when and why, the lots recalled with it,
    every batch in its where-used with the chain and its status now, every certificate.
    A lot that was not recalled has none (409)."""
    if lot.status != "recalled":
        raise WrongState(f"Lot {lot.barcode} has not been recalled: it has no recall report.")
    uses = triturations.where_used(lot)
    numbers = {u.batch_id: u.lot_number for u in uses}
    batches = []
    for use in uses:
        batch = db.session.get(Batch, use.batch_id)
        via = ", then ".join(f"lot {v}" for v in use.via) if use.via else "directly"
        batches.append(
            ReportBatch(
                use.lot_number,
                batch.formula_version.body.get("name", ""),
                _status(use.status),
                via,
                triturations.chain_text(triturations.batch_chain(batch), batch),
            )
        )
    made = db.session.scalars(
        sa.select(MaterialLot)
        .where(
            MaterialLot.recall_reason.startswith(f"made from recalled lot {lot.barcode}:", autoescape=True)
        )
        .order_by(MaterialLot.id)
    )
    certificates = [
        ReportCertificate(
            c.number,
            c.version,
            numbers[c.batch_id],
            c.status,
            f"{_local(c.revoked_at)}: {c.revoked_reason}" if c.status == "revoked" else "",
        )
        for c in triturations.certificates_of(uses)
    ]
    by = lot.recalled_by
    return RecallReport(
        barcode=lot.barcode,
        material=f"{lot.material.code} — {lot.material.name}",
        supplier=lot.supplier,
        supplier_lot=lot.supplier_lot,
        made_in=lot.produced_by.lot_number if lot.produced_by else None,
        recalled_by=f"{by.full_name} ({by.username})" if by else "—",
        recalled_at=_local(lot.recalled_at),
        reason=lot.recall_reason or "",
        lots=[(m.barcode, m.material.code, m.produced_by.lot_number if m.produced_by else "—") for m in made],
        batches=batches,
        certificates=certificates,
    )


def report_pdf(lot: MaterialLot, printed_by: User | None) -> bytes:
    """The recall report as PDF, stamped with who printed it and when (local time)."""
    content = report(lot)
    config = current_app.config
    by = f" by {printed_by.full_name} ({printed_by.username})" if printed_by is not None else ""
    return recall_pdf(
        content,
        Printing(
            config["QA_PHARMACY_NAME"],
            config.get("QA_PHARMACY_ADDRESS") or "",
            f"printed {_local(clock.utcnow())}{by}",
        ),
    )
