"""Records as the API shows them."""

from datetime import date, datetime
from typing import Any

from qa_app.domain import bud_rules
from qa_app.domain.rounding import round_half_up
from qa_app.domain.temperature import Summary
from qa_app.models import (
    ApiToken,
    AuditEvent,
    Batch,
    BatchComponent,
    Certificate,
    Disposition,
    Excursion,
    Formula,
    FormulaVersion,
    Investigation,
    Material,
    MaterialLot,
    Result,
    StorageUnit,
    User,
)
from qa_app.models.types import utcnow
from qa_app.services import certificates, triturations
from qa_app.services.batch_view import BatchView
from qa_app.services.judgement import Evidence


def iso(value: datetime | None) -> str | None:
    """UTC with an explicit offset, ``2026-11-25T09:30:00Z``."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def user(u: User) -> dict[str, Any]:
    return {
        "username": u.username,
        "full_name": u.full_name,
        "roles": sorted(u.roles),
        "active": u.active,
        "locked": u.is_locked(utcnow()),
        "locked_until": iso(u.locked_until),
        "created_at": iso(u.created_at),
        "email": u.email,
        "alerts": u.alerts,
    }


def audit_event(e: AuditEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "occurred_at": iso(e.occurred_at),
        "username": e.username,
        "action": e.action,
        "entity_type": e.entity_type,
        "entity_key": e.entity_key,
        "old_values": e.old_values,
        "new_values": e.new_values,
        "reason": e.reason,
        "client_address": e.client_address,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def material(m: Material) -> dict[str, Any]:
    return {
        "code": m.code,
        "name": m.name,
        "kind": m.kind,
        "assay_min_percent": m.assay_min_percent,
        "assay_max_percent": m.assay_max_percent,
    }


def lot(item: MaterialLot, today: date) -> dict[str, Any]:
    reason = item.unusable_reason(today)
    return {
        "barcode": item.barcode,
        "material": item.material.code,
        "material_name": item.material.name,
        "kind": item.material.kind,
        "lot_number": item.supplier_lot,
        "supplier": item.supplier,
        "expiry_date": item.expiry_date.isoformat(),
        "received_date": item.received_date.isoformat(),
        "assay_percent": item.assay_percent,
        "assay_anhydrous_percent": item.assay_anhydrous_percent,
        "assay_basis": item.assay_basis,
        "water_percent": item.water_percent,
        "status": item.status,
        "usable": reason is None,
        "reason": reason,
        "decision_reason": item.decision_reason,
        "made_in": item.produced_by.lot_number if item.produced_by else None,
    }


def formula_version(v: FormulaVersion) -> dict[str, Any]:
    return {
        "code": v.formula.code,
        "name": v.formula.name,
        "version": v.version,
        "status": v.status,
        "authored_by": v.authored_by.username,
        "created_at": iso(v.created_at),
        "approved_by": v.approved_by.username if v.approved_by else None,
        "approved_at": iso(v.approved_at),
        "body": v.body,
        "broken_rules": bud_rules.rule_summary(v.body),
    }


def formula(f: Formula) -> dict[str, Any]:
    current = f.approved
    return {
        "code": f.code,
        "name": f.name,
        "approved_version": current.version if current else None,
        "versions": [formula_version(v) for v in f.versions],
    }


def storage_unit(u: StorageUnit) -> dict[str, Any]:
    return {
        "code": u.code,
        "name": u.name,
        "condition": u.condition,
        "min_c": u.min_c,
        "max_c": u.max_c,
        "alarm_delay_minutes": u.alarm_delay_minutes,
    }


def component(c: BatchComponent) -> dict[str, Any]:
    return {
        "barcode": c.lot.barcode,
        "material": c.material.code,
        "role": c.role,
        "supplier": c.lot.supplier,
        "supplier_lot": c.lot.supplier_lot,
        "expiry_date": c.lot.expiry_date.isoformat(),
        "quantity_mg": c.quantity_mg,
        "count": c.count,
        "theoretical_mg": c.theoretical_mg,
        "deviation_percent": c.deviation_percent,
        "within_tolerance": c.within_tolerance,
        "deviation_reason": c.deviation_reason,
        "balance": c.balance,
        "balance_minimum_mg": c.balance_minimum_mg,
        "recorded_by": c.recorded_by.username,
        "recorded_at": iso(c.recorded_at),
    }


def batch(b: Batch, view: BatchView) -> dict[str, Any]:
    """The api.md Batch shape."""
    trituration = b.dosage_form == "trituration"
    warning = triturations.small_quantity(b)
    return {
        "lot_number": b.lot_number,
        "status": b.status,
        "expired": view.expired,
        "near_bud": view.near_bud,
        "formula": {"code": b.formula_version.formula.code, "version": b.formula_version.version},
        "specification_current": view.specification_current,
        "dosage_form": b.dosage_form,
        "strength_mg": None if trituration else b.strength_mg,
        "quantity": b.quantity,
        **({"quantity_mg": b.quantity, "concentration_percent": b.concentration} if trituration else {}),
        "produced_lot": b.produced_lot.barcode if b.produced_lot else None,
        "chain": [link.as_dict() for link in triturations.batch_chain(b)],
        "small_quantity_warning": warning.message if warning else None,
        "concentration": b.concentration,
        "dose_amount": b.dose_amount,
        "compounded_at": iso(b.compounded_at),
        "compounded_by": b.compounded_by.username,
        "bud": b.bud.isoformat(),
        "bud_reason": b.bud_reason,
        "storage_unit": b.storage_unit.code if b.storage_unit else None,
        "calculation": b.calculation,
        "components": [component(c) for c in view.components],
        "api_weighing_verified_by": b.api_verified_by.username if b.api_verified_by else None,
        "api_weighing_verified_at": iso(b.api_verified_at),
        "weight_checks": [
            {
                "weights_mg": w.weights_mg,
                "passed": w.passed,
                **w.summary,
                "reason": w.reason,
                "recorded_by": w.recorded_by.username,
                "recorded_at": iso(w.recorded_at),
            }
            for w in view.weight_checks
        ],
        "actual_yield": b.actual_yield,
        "yield_percent": b.yield_percent,
        "yield_deviation_reason": b.yield_deviation_reason,
        "locations": [
            {
                "storage_unit": loc.storage_unit.code,
                "placed_at": iso(loc.placed_at),
                "recorded_by": loc.recorded_by.username,
            }
            for loc in view.locations
        ],
        "discard_reason": b.discard_reason,
        "missing_for_completion": view.missing if b.status == "draft" else [],
        "results": [result(r, view.evidence) for r in view.evidence.results],
        "investigations": [investigation(i) for i in view.evidence.investigations],
        "holds": view.holds,
        "missing_tests": view.missing_tests,
        "signatures": [
            {"signer": s.signer_name, "meaning": s.meaning, "signed_at": iso(s.signed_at)}
            for s in view.signatures
        ],
        "certificate": certificate_ref(certificates.current_for(b.id)),
    }


def batch_row(b: Batch, today: date) -> dict[str, Any]:
    """A batch in a list: what the list shows, without the detail."""
    return {
        "lot_number": b.lot_number,
        "status": b.status,
        "expired": b.bud < today,
        "formula": {"code": b.formula_version.formula.code, "version": b.formula_version.version},
        "dosage_form": b.dosage_form,
        "strength_mg": None if b.dosage_form == "trituration" else b.strength_mg,
        "quantity": b.quantity,
        "compounded_at": iso(b.compounded_at),
        "compounded_by": b.compounded_by.username,
        "bud": b.bud.isoformat(),
        "storage_unit": b.storage_unit.code if b.storage_unit else None,
    }


def result(r: Result, proof: Evidence) -> dict[str, Any]:
    """The api.md Result shape; an invalidated result stays, marked invalid with the reason."""
    invalidation = proof.invalidated.get(r.id)
    body: dict[str, Any] = {
        "id": r.id,
        "test": r.test_key,
        "kind": r.kind,
        "unit": r.unit,
        "method": r.method,
        "analyst": r.analyst,
        "tested_at": iso(r.tested_at),
        "source": r.source,
        "valid": invalidation is None,
        "invalidated_reason": invalidation.reason if invalidation else None,
        "evaluation": r.evaluation,
        "stage1_result_id": r.stage1_result_id,
        "retest_of_investigation": r.retest_of_id,
        "recorded_by": r.recorded_by.username,
        "recorded_at": iso(r.recorded_at),
    }
    if r.kind == "content_uniformity":
        body["values"] = r.values
    elif r.kind == "attribute":
        body["value"] = r.text_value
    else:
        body["value"] = r.values[0] if r.values else None
    return body


def investigation(i: Investigation) -> dict[str, Any]:
    return {
        "id": i.id,
        "result_id": i.result_id,
        "test": i.test_key,
        "retests_allowed": i.retests_allowed,
        "phase": i.phase,
        "status": i.status,
        "opened_by": i.opened_by.username,
        "opened_at": iso(i.opened_at),
        "assignable_cause": i.assignable_cause,
        "cause": i.cause,
        "conclusion": i.conclusion,
        "outcome": i.outcome,
        "closed_by": i.closed_by.username if i.closed_by else None,
        "closed_at": iso(i.closed_at),
    }


def excursion(e: Excursion, batches: list[Batch], state: str | None = None) -> dict[str, Any]:
    """The Excursion shape of api.md, with the batches' states for follow-up and the
    excursion's own ``state`` (``dispositioned`` once every batch it held is decided)."""
    if state is None:
        from qa_app.services.excursions import states

        state = states([e], {e.id: batches})[e.id]
    return {
        "id": e.id,
        "storage_unit": e.storage_unit.code,
        "start": iso(e.start),
        "end": iso(e.end),
        "ongoing": e.ongoing,
        "duration_minutes": round(e.duration_minutes, 1),
        "min_c": e.min_c,
        "max_c": e.max_c,
        "mkt_c": None if e.mkt_c is None else float(round_half_up(e.mkt_c, 2)),
        "classification": e.classification,
        "reason": e.reason,
        "gap_minutes": round(e.gap_minutes or 0.0, 1),
        "state": state,
        "acknowledged_by": e.acknowledged_by.username if e.acknowledged_by else None,
        "acknowledged_at": iso(e.acknowledged_at),
        "acknowledgement": e.acknowledgement,
        "affected_batches": [b.lot_number for b in batches],
        "batches": [{"lot_number": b.lot_number, "status": b.status} for b in batches],
    }


def disposition(d: Disposition, lot_number: str) -> dict[str, Any]:
    return {
        "id": d.id,
        "lot_number": lot_number,
        "excursion_id": d.excursion_id,
        "decision": d.decision,
        "comment": d.comment,
        "decided_by": d.decided_by.username,
        "decided_at": iso(d.decided_at),
    }


def temperature_summary(s: Summary) -> dict[str, Any]:
    def two(value: float | None) -> float | None:
        return None if value is None else float(round_half_up(value, 2))

    return {
        "count": s.count,
        "min_c": s.min_c,
        "max_c": s.max_c,
        "mean_c": two(s.mean_c),
        "mkt_c": two(s.mkt_c),
        "gaps": [
            {
                "start": iso(g.start),
                "end": iso(g.end),
                "minutes": round((g.end - g.start).total_seconds() / 60, 1),
            }
            for g in s.gaps
        ],
    }


def device_token(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.id,
        "label": t.label,
        "created_at": iso(t.created_at),
        "revoked_at": iso(t.revoked_at),
        "active": t.revoked_at is None,
    }


def certificate_ref(c: Certificate | None) -> dict[str, Any] | None:
    """The Batch's ``certificate``: its newest certificate, or null before release."""
    if c is None:
        return None
    return {"number": c.number, "version": c.version, "status": c.status, "sha256": c.sha256}


def certificate_status(c: Certificate, with_code: bool = True) -> dict[str, Any]:
    """What anyone may learn from a certificate: enough to know whether to trust it. Without
    its verification code only the number, status and SHA-256 (no batch, product or dates)."""
    if not with_code:
        return {"number": c.number, "status": c.status, "sha256": c.sha256}
    body = c.batch.formula_version.body
    return {
        "number": c.number,
        "version": c.version,
        "lot_number": c.batch.lot_number,
        "status": c.status,
        "sha256": c.sha256,
        "issued_at": iso(c.issued_at),
        "product": body.get("name"),
        "strength_mg": c.batch.strength_mg,
        "bud": c.batch.bud.isoformat(),
        "revoked_at": iso(c.revoked_at),
        "revoked_reason": c.revoked_reason,
        "supersedes": c.supersedes.number if c.supersedes else None,
    }


def review(r) -> dict[str, Any]:
    """The release checklist (services/review.py) as the API shows it."""
    return {
        "lot_number": r.batch.lot_number,
        "status": r.batch.status,
        "ready": r.ready,
        "items": [item.as_dict() for item in r.items],
        "unmet": [item.key for item in r.unmet],
        "deviations": r.deviations,
        "steps": [{"at": iso(s.at), "who": s.who, "what": s.what} for s in r.steps],
        "decisions": [
            {
                "decision": d.decision,
                "by": d.decided_by.username,
                "at": iso(d.decided_at),
                "reason": d.reason,
            }
            for d in r.decisions
        ],
        "certificate": certificate_ref(r.certificate),
    }
