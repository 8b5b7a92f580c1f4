"""A supplier's (or our own) lot recall: the lot and everything made from it, in one signed
transaction (api.md ``POST /material-lots/{barcode}/recall``)."""

from dataclasses import dataclass, field

import sqlalchemy as sa

from qa_app.errors import InvalidInput, WrongState
from qa_app.extensions import db
from qa_app.models import Batch, BatchDecision, Certificate, MaterialLot, User
from qa_app.services import audit, clock, judgement, materials, signatures, triturations
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
            "Give the reason for the recall.", {"reason": "Required: the supplier's notice or what was found."}
        )
    lot = materials.get_lot(barcode, for_update=True)
    if lot.status == "recalled":
        raise WrongState(f"Lot {lot.barcode} was recalled already ({lot.recall_reason}).")
    uses = triturations.where_used(lot)
    ids = [u.batch_id for u in uses]
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
            _recall_batch(actor, batch, signature.id, because, outcome, now)
        elif batch.status in UNRELEASED:
            _hold(actor, batch, because, outcome)
        else:
            outcome.untouched.append((batch.lot_number, batch.status))
    db.session.commit()
    return outcome


def _recall_batch(actor: User, batch: Batch, signature_id: int, because: str, outcome: RecallOutcome, now) -> None:
    valid = list(
        db.session.scalars(
            sa.select(Certificate).where(Certificate.batch_id == batch.id, Certificate.status == "valid")
        )
    )
    for certificate in valid:
        certificate.status, certificate.revoked_at = "revoked", now
        certificate.revoked_by_id, certificate.revoked_reason = actor.id, because
        outcome.revoked.append(certificate.number)
        audit.record(
            "certificate.revoked",
            "certificate",
            certificate.number,
            actor=actor,
            old={"status": "valid"},
            new={"status": "revoked", "lot_number": batch.lot_number},
            reason=because,
        )
    db.session.add(
        BatchDecision(
            batch_id=batch.id, decision="recalled", reason=because, decided_by_id=actor.id, signature_id=signature_id
        )
    )
    batch.status = "recalled"
    outcome.recalled.append(batch.lot_number)
    audit.record(
        "batch.recalled",
        "batch",
        batch.lot_number,
        actor=actor,
        old={"status": "released"},
        new={"status": "recalled", "revoked": [c.number for c in valid]},
        reason=because,
    )


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
