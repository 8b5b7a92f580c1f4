"""Materials and lots: receiving, approval or rejection by signature, and lookup by scan."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from qa_app.domain.compounding import as_is_assay, clean_scan
from qa_app.errors import Conflict, InvalidInput, NotFound, WrongState
from qa_app.extensions import db
from qa_app.models import MATERIAL_KINDS, Material, MaterialLot, User
from qa_app.services import audit, clock, signatures
from qa_app.services.accounts import require_role
from qa_app.services.signatures import SignatureInput
from qa_app.validation import search_field

COMPOUNDERS = ("technician", "reviewer")


def lot_state(lot: MaterialLot) -> dict:
    return {
        "barcode": lot.barcode,
        "material": lot.material.code,
        "supplier": lot.supplier,
        "lot_number": lot.supplier_lot,
        "expiry_date": lot.expiry_date,
        "received_date": lot.received_date,
        "assay_percent": lot.assay_percent,
        "water_percent": lot.water_percent,
        "status": lot.status,
    }


def create_material(actor: User, *, code: str, name: str, kind: str) -> Material:
    require_role(actor, "admin")
    code, name = (code or "").strip().upper(), (name or "").strip()
    fields = {}
    if not code or len(code) > 40:
        fields["code"] = "Give a short code of 1–40 characters, e.g. NTX-HCL."
    if not name:
        fields["name"] = "Give the material's name."
    if kind not in MATERIAL_KINDS:
        fields["kind"] = f"Use one of: {', '.join(MATERIAL_KINDS)}."
    if fields:
        raise InvalidInput("The material was not created: correct the marked fields.", fields)
    if db.session.scalar(sa.select(Material.id).where(Material.code == code)):
        raise Conflict(f"Material {code} exists already.", {"code": "This code is taken."})
    material = Material(code=code, name=name, kind=kind)
    db.session.add(material)
    db.session.flush()
    audit.record(
        "material.created", "material", code, actor=actor, new={"code": code, "name": name, "kind": kind}
    )
    db.session.commit()
    return material


def get_material(code: str, field: str = "material") -> Material:
    material = db.session.scalar(sa.select(Material).where(Material.code == (code or "").strip().upper()))
    if material is None:
        raise InvalidInput(f"No material with code {code!r}.", {field: "Unknown material code."})
    return material


def list_materials() -> list[Material]:
    return list(db.session.scalars(sa.select(Material).order_by(Material.kind, Material.code)))


def receive_lot(
    actor: User,
    *,
    material: str,
    supplier: str,
    supplier_lot: str,
    expiry_date: date,
    received_date: date | None = None,
    assay_percent: float | None = None,
    water_percent: float | None = None,
) -> MaterialLot:
    """Record a received lot, in quarantine until a reviewer approves it."""
    require_role(actor, *COMPOUNDERS)
    item = db.session.scalar(sa.select(Material).where(Material.code == (material or "").strip().upper()))
    today = clock.today()
    received_date = received_date or today
    supplier, supplier_lot = (supplier or "").strip(), (supplier_lot or "").strip()
    fields: dict[str, str] = {}
    if item is None:
        fields["material"] = f"No material with code {material!r}."
    if not supplier:
        fields["supplier"] = "Give the supplier's name."
    if not supplier_lot:
        fields["lot_number"] = "Give the supplier's lot number."
    if received_date > today:
        fields["received_date"] = "Must not be in the future."
    if expiry_date <= received_date:
        fields["expiry_date"] = "Must be after the received date."
    anhydrous = None
    if item is None:
        pass
    elif item.kind == "api":
        if assay_percent is None:
            fields["assay_percent"] = "Required for the API: the assay from the supplier's certificate."
        elif not 50.0 <= assay_percent <= 110.0:
            fields["assay_percent"] = "Must be between 50 and 110 % (the certificate's assay)."
        elif water_percent is not None:
            if not 0.0 <= water_percent < 20.0:
                fields["water_percent"] = "Must be between 0 and 20 %."
            else:
                anhydrous, assay_percent = assay_percent, as_is_assay(assay_percent, water_percent)
    else:
        if assay_percent is not None:
            fields["assay_percent"] = f"Only the API carries an assay; {item.code} is {item.kind}."
        if water_percent is not None:
            fields["water_percent"] = f"Only the API carries a water content; {item.code} is {item.kind}."
    if fields:
        raise InvalidInput("The lot was not received: correct the marked fields.", fields)
    lot = MaterialLot(
        barcode=f"NEW-{uuid.uuid4().hex[:12]}",  # replaced below, once the id is known
        material=item,
        supplier=supplier,
        supplier_lot=supplier_lot,
        expiry_date=expiry_date,
        received_date=received_date,
        assay_percent=assay_percent,
        assay_anhydrous_percent=anhydrous,
        water_percent=water_percent,
        received_by_id=actor.id,
    )
    db.session.add(lot)
    db.session.flush()
    lot.barcode = f"LOT{lot.id:06d}"
    audit.record("lot.received", "material_lot", lot.barcode, actor=actor, new=lot_state(lot))
    db.session.commit()
    return lot


def get_lot(barcode: str) -> MaterialLot:
    """The lot a scan names; scanners' control characters are stripped first."""
    code = clean_scan(barcode or "")
    lot = db.session.scalar(sa.select(MaterialLot).where(MaterialLot.barcode == code)) if code else None
    if lot is None:
        raise NotFound(f"No such lot: {code or '(empty scan)'}.")
    return lot


@dataclass(frozen=True)
class LotCheck:
    lot: MaterialLot
    usable: bool
    reason: str | None


def check_lot(barcode: str) -> LotCheck:
    lot = get_lot(barcode)
    reason = lot.unusable_reason(clock.today())
    return LotCheck(lot, reason is None, reason)


def _decide(actor: User, barcode: str, given: SignatureInput, action: str, status: str, reason: str | None):
    require_role(actor, "reviewer")
    lot = get_lot(barcode)
    if lot.status != "quarantine":
        raise WrongState(f"Lot {lot.barcode} is {lot.status}; only a lot in quarantine can be {status}.")
    if status == "rejected" and not (reason or "").strip():
        raise InvalidInput("Give the reason for rejecting the lot.", {"reason": "Required."})
    old = lot_state(lot)
    signatures.sign(
        actor, given, action=action, entity_type="material_lot", entity_key=lot.barcode, content=old
    )
    lot.status, lot.decided_by_id, lot.decided_at = status, actor.id, clock.utcnow()
    lot.decision_reason = (reason or "").strip() or None
    audit.record(
        f"lot.{status}",
        "material_lot",
        lot.barcode,
        actor=actor,
        old={"status": "quarantine"},
        new={"status": status},
        reason=lot.decision_reason,
    )
    db.session.commit()
    return lot


def approve_lot(actor: User, barcode: str, given: SignatureInput) -> MaterialLot:
    return _decide(actor, barcode, given, "approve_lot", "approved", None)


def reject_lot(actor: User, barcode: str, given: SignatureInput, reason: str) -> MaterialLot:
    return _decide(actor, barcode, given, "reject_lot", "rejected", reason)


@dataclass(frozen=True)
class LotFilter:
    status: str | None = None
    material: str | None = None
    q: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "LotFilter":
        return cls(args.get("status") or None, args.get("material") or None, search_field(args, "q"))

    def statement(self) -> sa.Select:
        stmt = sa.select(MaterialLot)
        if self.status:
            stmt = stmt.where(MaterialLot.status == self.status)
        if self.material:
            stmt = stmt.where(MaterialLot.material.has(Material.code == self.material.strip().upper()))
        if self.q:
            term = f"%{clean_scan(self.q)}%"
            stmt = stmt.where(sa.or_(MaterialLot.barcode.ilike(term), MaterialLot.supplier_lot.ilike(term)))
        return stmt.order_by(MaterialLot.id.desc())
