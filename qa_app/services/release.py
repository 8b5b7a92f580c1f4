"""The reviewer's decision: release (issuing the certificate), reject, recall; each signed.

Release checks, with the batch row locked (``SELECT … FOR UPDATE``; on SQLite the write lock
taken at BEGIN), the state, the segregation of duties and the whole review checklist, then
signs, issues certificate version 1 and changes the status in one transaction. Two reviewers
releasing at once queue on the lock: the second finds the batch released and gets 409, and the
batch's ``row_version`` refuses any write made from a stale read.
"""

from typing import Any

from qa_app.errors import InvalidInput, NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.models import Batch, BatchDecision, Certificate, User
from qa_app.services import audit, batches, certificates, clock, judgement, review, signatures
from qa_app.services.accounts import require_role
from qa_app.services.signatures import SignatureInput

FINAL_STATES = ("released", "rejected", "recalled", "discarded")


def _locked(lot_number: str) -> Batch:
    return batches.get_batch(lot_number, for_update=True)


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(
            "Give the reason.", {"reason": "Required: say why, in words an inspector understands."}
        )
    return text


def _decide(actor: User, batch: Batch, decision: str, signature_id: int, reason: str | None) -> None:
    db.session.add(
        BatchDecision(
            batch_id=batch.id,
            decision=decision,
            reason=reason,
            decided_by_id=actor.id,
            signature_id=signature_id,
        )
    )


def not_ready_error(checked: review.Review) -> WrongState:
    """409 naming every unmet checklist item (``fields``: item key → what is wrong)."""
    unmet = checked.unmet
    return WrongState(
        f"Batch {checked.batch.lot_number} cannot be released: "
        + "; ".join(f"{item.label.lower()} — {item.detail}" for item in unmet),
        {item.key: item.detail for item in unmet},
    )


def signed_content(checked: review.Review, number: str) -> dict[str, Any]:
    """What a release signature is bound to: the batch, the results judged and the certificate."""
    batch = checked.batch
    return {
        "lot_number": batch.lot_number,
        "formula": batch.formula_version.formula.code,
        "formula_version": batch.formula_version.version,
        "specification": {
            "formula": batch.specification.get("formula"),
            "version": batch.specification.get("version"),
        },
        "results": [
            {"id": r.id, "test": r.test_key, "status": r.status} for r in checked.view.evidence.valid_results
        ],
        "checklist": {item.key: item.ok for item in checked.items},
        "certificate": number,
    }


def release(actor: User, lot_number: str, given: SignatureInput) -> Certificate:
    """Release the batch (meaning ``released``) and issue certificate version 1."""
    require_role(actor, "reviewer")
    batch = _locked(lot_number)
    if batch.status in FINAL_STATES:
        raise WrongState(f"Batch {batch.lot_number} is {batch.status} already; it cannot be released now.")
    if batch.dosage_form == "trituration":
        raise WrongState(
            f"{batch.lot_number} is a trituration: it is not dispensed, so it has no certificate. "
            "Approve the intermediate lot it made (that decides the batch too)."
        )
    problem = review.releaser_problem(actor, batch)
    if problem:
        raise NotPermitted(problem)
    checked = review.load(batch.lot_number)
    if not checked.ready:
        raise not_ready_error(checked)
    number = certificates.next_number(clock.utcnow())
    signature = signatures.sign(
        actor,
        given,
        action="release_batch",
        entity_type="batch",
        entity_key=batch.lot_number,
        content=signed_content(checked, number),
    )
    certificate = certificates.issue(checked, signature, number)
    _decide(actor, batch, "released", signature.id, None)
    old = batch.status
    batch.status = "released"
    audit.record(
        "batch.released",
        "batch",
        batch.lot_number,
        actor=actor,
        old={"status": old},
        new={"status": "released", "certificate": number, "version": 1, "sha256": certificate.sha256},
    )
    audit.record(
        "certificate.issued",
        "certificate",
        number,
        actor=actor,
        new={
            "lot_number": batch.lot_number,
            "version": 1,
            "sha256": certificate.sha256,
            "size": certificate.size,
            "signature_id": signature.id,
        },
    )
    db.session.commit()
    return certificate


def reject(actor: User, lot_number: str, given: SignatureInput, reason: str | None) -> Batch:
    """Reject the batch (meaning ``rejected``) from quarantine, hold or awaiting release."""
    require_role(actor, "reviewer")
    batch = _locked(lot_number)
    if batch.status not in judgement.JUDGED_STATES:
        raise WrongState(
            f"Batch {batch.lot_number} is {batch.status}; only a batch in quarantine, on hold or awaiting "
            "release can be rejected."
        )
    reason = _reason(reason)
    signature = signatures.sign(
        actor,
        given,
        action="reject_batch",
        entity_type="batch",
        entity_key=batch.lot_number,
        content={"lot_number": batch.lot_number, "status": batch.status, "reason": reason},
    )
    _decide(actor, batch, "rejected", signature.id, reason)
    old = batch.status
    batch.status = "rejected"
    audit.record(
        "batch.rejected",
        "batch",
        batch.lot_number,
        actor=actor,
        old={"status": old},
        new={"status": "rejected"},
        reason=reason,
    )
    db.session.commit()
    return batch


def recall(actor: User, lot_number: str, given: SignatureInput, reason: str | None) -> Batch:
    """Recall a released batch (meaning ``recalled``); its certificate is revoked."""
    require_role(actor, "reviewer")
    batch = _locked(lot_number)
    if batch.dosage_form == "trituration":
        lot = batch.produced_lot
        raise WrongState(
            f"{batch.lot_number} is a trituration: recall the intermediate lot it made"
            + (f" ({lot.barcode})" if lot else "")
            + ", which recalls this batch and every batch made from that lot."
        )
    if batch.status != "released":
        raise WrongState(
            f"Batch {batch.lot_number} is {batch.status}; only a released batch can be recalled."
        )
    reason = _reason(reason)
    valid = [c for c in review.load(batch.lot_number).certificates if c.status == "valid"]
    signature = signatures.sign(
        actor,
        given,
        action="recall_batch",
        entity_type="batch",
        entity_key=batch.lot_number,
        content={"lot_number": batch.lot_number, "certificates": [c.number for c in valid], "reason": reason},
    )
    withdraw(actor, batch, valid, signature.id, reason)
    db.session.commit()
    return batch


def withdraw(actor: User, batch: Batch, valid: list[Certificate], signature_id: int, reason: str) -> None:
    """A released batch becomes ``recalled`` and its valid certificates ``revoked``, with the
    reason, under the signature given (a batch recall's, or a lot recall's); caller commits."""
    now = clock.utcnow()
    for certificate in valid:
        certificate.status, certificate.revoked_at = "revoked", now
        certificate.revoked_by_id, certificate.revoked_reason = actor.id, reason
        audit.record(
            "certificate.revoked",
            "certificate",
            certificate.number,
            actor=actor,
            old={"status": "valid"},
            new={"status": "revoked", "lot_number": batch.lot_number},
            reason=reason,
        )
    _decide(actor, batch, "recalled", signature_id, reason)
    batch.status = "recalled"
    audit.record(
        "batch.recalled",
        "batch",
        batch.lot_number,
        actor=actor,
        old={"status": "released"},
        new={"status": "recalled", "revoked": [c.number for c in valid]},
        reason=reason,
    )
