"""Materials and lots: receiving, approval or rejection by signature, and lookup by scan."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from qa_app.domain.compounding import anhydrous_assay, as_is_assay, clean_scan
from qa_app.errors import Conflict, InvalidInput, NotFound, NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.models import MATERIAL_KINDS, Material, MaterialLot, User
from qa_app.services import audit, clock, signatures
from qa_app.services.accounts import require_role
from qa_app.services.signatures import SignatureInput
from qa_app.validation import search_field

COMPOUNDERS = ("technician", "reviewer")
ASSAY_BASES = ("as_is", "anhydrous")


def lot_state(lot: MaterialLot) -> dict:
    return {
        "barcode": lot.barcode,
        "material": lot.material.code,
        "supplier": lot.supplier,
        "lot_number": lot.supplier_lot,
        "expiry_date": lot.expiry_date,
        "received_date": lot.received_date,
        "assay_percent": lot.assay_percent,
        "assay_anhydrous_percent": lot.assay_anhydrous_percent,
        "assay_basis": lot.assay_basis,
        "water_percent": lot.water_percent,
        "status": lot.status,
    }


def material_state(material: Material) -> dict:
    return {
        "code": material.code,
        "name": material.name,
        "kind": material.kind,
        "assay_min_percent": material.assay_min_percent,
        "assay_max_percent": material.assay_max_percent,
    }


def _check_limits(
    kind: str, low: float | None, high: float | None, fields: dict[str, str]
) -> tuple[float | None, float | None]:
    """An API's monograph limits (% anhydrous): both or neither, 50–110 %, the minimum below the maximum."""
    if low is None and high is None:
        return None, None
    if kind != "api":
        for name, value in (("assay_min_percent", low), ("assay_max_percent", high)):
            if value is not None:
                fields[name] = f"Only an API carries monograph assay limits; this material is {kind}."
        return None, None
    for name, value in (("assay_min_percent", low), ("assay_max_percent", high)):
        if value is None:
            fields[name] = "Give both monograph limits, e.g. 98.0 and 102.0 % for naltrexone HCl."
        elif not 50.0 <= value <= 110.0:
            fields[name] = "Must be between 50 and 110 % (the monograph's limit, anhydrous basis)."
    if low is not None and high is not None and "assay_min_percent" not in fields and low >= high:
        fields["assay_max_percent"] = "Must be above the minimum."
    return low, high


def create_material(
    actor: User,
    *,
    code: str,
    name: str,
    kind: str,
    assay_min_percent: float | None = None,
    assay_max_percent: float | None = None,
) -> Material:
    """A new material; an API may carry its monograph assay limits (% on the anhydrous basis)."""
    require_role(actor, "admin")
    code, name = (code or "").strip().upper(), (name or "").strip()
    fields: dict[str, str] = {}
    if not code or len(code) > 40:
        fields["code"] = "Give a short code of 1–40 characters, e.g. NTX-HCL."
    if not name:
        fields["name"] = "Give the material's name."
    if kind not in MATERIAL_KINDS:
        fields["kind"] = f"Use one of: {', '.join(MATERIAL_KINDS)}."
    low, high = _check_limits(kind, assay_min_percent, assay_max_percent, fields)
    if fields:
        raise InvalidInput("The material was not created: correct the marked fields.", fields)
    if db.session.scalar(sa.select(Material.id).where(Material.code == code)):
        raise Conflict(f"Material {code} exists already.", {"code": "This code is taken."})
    material = Material(code=code, name=name, kind=kind, assay_min_percent=low, assay_max_percent=high)
    db.session.add(material)
    db.session.flush()
    audit.record("material.created", "material", code, actor=actor, new=material_state(material))
    db.session.commit()
    return material


def update_material(
    actor: User,
    code: str,
    *,
    name: str,
    assay_min_percent: float | None = None,
    assay_max_percent: float | None = None,
) -> Material:
    """Change a material's name and, for an API, its monograph limits; lots decided already keep their decision."""
    require_role(actor, "admin")
    material = get_material_or_404(code)
    material = db.session.scalar(
        sa.select(Material)
        .where(Material.id == material.id)
        .with_for_update(of=Material)
        .execution_options(populate_existing=True)
    )
    name = (name or "").strip()
    fields: dict[str, str] = {}
    if not name:
        fields["name"] = "Give the material's name."
    low, high = _check_limits(material.kind, assay_min_percent, assay_max_percent, fields)
    if fields:
        raise InvalidInput("The material was not changed: correct the marked fields.", fields)
    old = material_state(material)
    material.name, material.assay_min_percent, material.assay_max_percent = name, low, high
    new = material_state(material)
    if new != old:
        audit.record("material.changed", "material", material.code, actor=actor, old=old, new=new)
    db.session.commit()
    return material


def get_material(code: str, field: str = "material") -> Material:
    material = db.session.scalar(sa.select(Material).where(Material.code == (code or "").strip().upper()))
    if material is None:
        raise InvalidInput(f"No material with code {code!r}.", {field: "Unknown material code."})
    return material


def get_material_or_404(code: str) -> Material:
    """The material a path names (404 when there is none)."""
    try:
        return get_material(code)
    except InvalidInput as exc:
        raise NotFound(exc.message) from None


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
    assay_basis: str | None = None,
) -> MaterialLot:
    """Record a received lot, in quarantine until a reviewer approves it.

    An API lot carries the certificate's assay and its basis: ``as_is``, or ``anhydrous`` with
    the water content W, converted to as is (as is = anhydrous × (100 − W) / 100). Without a
    basis, an assay given with a water content is read as anhydrous, one without as as is.
    """
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
    if assay_basis is not None and assay_basis not in ASSAY_BASES:
        fields["assay_basis"] = "Use as_is or anhydrous, as the certificate states the assay."
    if item is None:
        pass
    elif item.kind == "intermediate":
        fields["material"] = (
            f"{item.code} is an intermediate: its lots are made by completing a trituration batch, not received."
        )
    elif item.kind == "api":
        if assay_basis is None:
            assay_basis = "anhydrous" if water_percent is not None else "as_is"
        if assay_percent is None:
            fields["assay_percent"] = "Required for the API: the assay from the supplier's certificate."
        elif not 50.0 <= assay_percent <= 110.0:
            fields["assay_percent"] = "Must be between 50 and 110 % (the certificate's assay)."
        if water_percent is None:
            if assay_basis == "anhydrous":
                fields["water_percent"] = (
                    "Required with an anhydrous assay: the certificate's water content, to convert it to as is."
                )
        elif not 0.0 <= water_percent < 20.0:
            fields["water_percent"] = "Must be between 0 and 20 %."
        if not fields and water_percent is not None and assay_percent is not None:
            if assay_basis == "anhydrous":
                anhydrous, assay_percent = assay_percent, as_is_assay(assay_percent, water_percent)
            else:
                anhydrous = anhydrous_assay(assay_percent, water_percent)
    else:
        if assay_percent is not None:
            fields["assay_percent"] = f"Only the API carries an assay; {item.code} is {item.kind}."
        if water_percent is not None:
            fields["water_percent"] = f"Only the API carries a water content; {item.code} is {item.kind}."
        if assay_basis is not None:
            fields["assay_basis"] = f"Only the API carries an assay; {item.code} is {item.kind}."
        assay_basis = None
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
        assay_basis=assay_basis,
        water_percent=water_percent,
        received_by_id=actor.id,
    )
    db.session.add(lot)
    db.session.flush()
    lot.barcode = f"LOT{lot.id:06d}"
    audit.record("lot.received", "material_lot", lot.barcode, actor=actor, new=lot_state(lot))
    db.session.commit()
    return lot


def get_lot(barcode: str, for_update: bool = False) -> MaterialLot:
    """The lot a scan names; scanners' control characters are stripped first.

    ``for_update`` locks the row (``SELECT … FOR UPDATE``; on SQLite the write lock taken at
    BEGIN) and reads it afresh, so a decision is made on the lot as it is now.
    """
    code = clean_scan(barcode or "")
    stmt = sa.select(MaterialLot).where(MaterialLot.barcode == code)
    if for_update:
        stmt = stmt.with_for_update(of=MaterialLot).execution_options(populate_existing=True)
    lot = db.session.scalar(stmt) if code else None
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


def _percent(value: float) -> str:
    """98.0 → "98.0", 98.787879 → "98.7879": one decimal at least, as limits are written."""
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"


@dataclass(frozen=True)
class MonographCheck:
    """An API lot's assay against its material's monograph limits (% anhydrous)."""

    low: float
    high: float
    value: float
    basis: str  # "anhydrous", or "as_is" when the certificate gave no water content

    @property
    def ok(self) -> bool:
        return self.low <= self.value <= self.high

    @property
    def compared(self) -> str:
        if self.basis == "anhydrous":
            return f"{_percent(self.value)} % anhydrous"
        return f"{_percent(self.value)} % as is (no water content given, so the as-is figure is compared)"

    @property
    def limits(self) -> str:
        return f"{_percent(self.low)}–{_percent(self.high)} %"

    @property
    def problem(self) -> str | None:
        if self.ok:
            return None
        return f"the assay, {self.compared}, is outside the monograph limits {self.limits} (anhydrous basis)"


def monograph_check(lot: MaterialLot) -> MonographCheck | None:
    """The lot's assay against the monograph limits, or None when the material has none.

    The monograph states its limits on the anhydrous basis, so the anhydrous figure is compared
    whenever the water content is known. With an as-is assay alone the as-is figure is compared:
    it can only be lower than the anhydrous one, so a lot above the minimum as is is above it
    anhydrous too.
    """
    low, high = lot.material.assay_min_percent, lot.material.assay_max_percent
    figure = lot.monograph_figure()
    if low is None or high is None or figure is None:
        return None
    return MonographCheck(low, high, *figure)


def approver_problem(actor: User, lot: MaterialLot) -> str | None:
    """Four eyes: whoever received a lot does not approve it."""
    if lot.received_by_id == actor.id:
        return f"You received lot {lot.barcode}; another reviewer must approve it."
    return None


def _decide(actor: User, barcode: str, given: SignatureInput, action: str, status: str, reason: str | None):
    """Lock the lot, check its state (and, to approve, four eyes and the monograph), sign, write, audit."""
    require_role(actor, "reviewer")
    lot = get_lot(barcode, for_update=True)
    if lot.status != "quarantine":
        raise WrongState(f"Lot {lot.barcode} is {lot.status}; only a lot in quarantine can be {status}.")
    if status == "approved":
        problem = approver_problem(actor, lot)
        if problem:
            raise NotPermitted(problem)
        checked = monograph_check(lot)
        if checked is not None and checked.problem:
            raise WrongState(
                f"Lot {lot.barcode} cannot be approved: {checked.problem}. Reject it.",
                {"assay_percent": f"Outside the monograph limits {checked.limits}."},
            )
    if status == "rejected" and not (reason or "").strip():
        raise InvalidInput("Give the reason for rejecting the lot.", {"reason": "Required."})
    from qa_app.services import triturations  # noqa: PLC0415 (it builds on this module)

    made_in = triturations.check_decision(actor, lot, status)  # an intermediate's batch is decided with it
    old = lot_state(lot)
    signature = signatures.sign(
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
    if made_in is not None:
        triturations.decide_batch(actor, made_in, lot, status, signature)
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
