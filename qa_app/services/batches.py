"""The batch compounding record: creation, components by scan, verification, checks, completion."""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from qa_app.domain import bud_rules, compounding
from qa_app.domain.compounding import CompoundingError
from qa_app.errors import InvalidInput, NotFound, NotPermitted, ServiceError, WrongState
from qa_app.extensions import db
from qa_app.models import (
    Batch,
    BatchComponent,
    BatchLocation,
    Formula,
    FormulaVersion,
    LotCounter,
    Material,
    MaterialLot,
    StorageUnit,
    User,
    WeightCheck,
)
from qa_app.services import (
    audit,
    balances,
    clock,
    formulas,
    judgement,
    materials,
    signatures,
    stays,
    storage,
    trends,
    triturations,
)
from qa_app.services.accounts import require_role
from qa_app.services.materials import COMPOUNDERS
from qa_app.services.signatures import SignatureInput
from qa_app.validation import date_field, search_field

LOT_PREFIX = "LDN"
FULL_LOT_NUMBER = re.compile(r"^[A-Z]+-\d{6}-\d{3,4}$")


def _invalid(exc: CompoundingError) -> InvalidInput:
    return InvalidInput(exc.message, {exc.field: exc.message})


def get_batch(lot_number: str, for_update: bool = False) -> Batch:
    stmt = sa.select(Batch).where(Batch.lot_number == (lot_number or "").strip().upper())
    batch = db.session.scalar(stmt.with_for_update(of=Batch) if for_update else stmt)
    if batch is None:
        raise NotFound(f"No batch with lot number {lot_number!r}.")
    return batch


def _draft(lot_number: str) -> Batch:
    batch = get_batch(lot_number, for_update=True)
    if batch.status != "draft":
        raise WrongState(f"Batch {batch.lot_number} is {batch.status}; only a draft can be changed this way.")
    return batch


def next_lot_number(day: date) -> str:
    """``LDN-YYMMDD-NNN``: one atomic upsert per number, so concurrent creations never collide."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    key = day.strftime("%y%m%d")
    stmt = (
        dialect.insert(LotCounter)
        .values(prefix=LOT_PREFIX, day=key, last=1)
        .on_conflict_do_update(index_elements=["prefix", "day"], set_={"last": LotCounter.last + 1})
        .returning(LotCounter.last)
    )
    n = db.session.execute(stmt).scalar_one()
    if n > 999:
        raise WrongState(
            f"999 batches already carry a lot number of {day.isoformat()}; the lot number format "
            "has room for no more that day."
        )
    return compounding.lot_number(LOT_PREFIX, day, n)


def batch_state(batch: Batch) -> dict[str, Any]:
    return {
        "lot_number": batch.lot_number,
        "status": batch.status,
        "formula": batch.formula_version.formula.code,
        "formula_version": batch.formula_version.version,
        "strength_mg": batch.strength_mg,
        "quantity": batch.quantity,
        "compounded_at": batch.compounded_at,
        "bud": batch.bud,
        "api_lot": batch.api_lot.barcode if batch.api_lot else None,
        "calculation": batch.calculation,
    }


def _api_material(body: dict[str, Any]) -> str:
    return next(c["material"] for c in body["components"] if c["role"] == "api")


def default_api_lot(material_code: str, today: date) -> MaterialLot | None:
    """The approved, in-date lot of the API that expires first."""
    stmt = (
        sa.select(MaterialLot)
        .join(MaterialLot.material)
        .where(
            MaterialLot.status == "approved",
            MaterialLot.expiry_date >= today,
            MaterialLot.material.has(code=material_code),
            sa.or_(  # within the monograph limits as they are now (MaterialLot.outside_monograph)
                Material.assay_min_percent.is_(None),
                Material.assay_max_percent.is_(None),
                MaterialLot.assay_percent.is_(None),
                sa.func.coalesce(MaterialLot.assay_anhydrous_percent, MaterialLot.assay_percent).between(
                    Material.assay_min_percent, Material.assay_max_percent
                ),
            ),
        )
        .order_by(MaterialLot.expiry_date, MaterialLot.id)
        .limit(1)
    )
    return db.session.scalar(stmt)


def _usable_lot(barcode: str, field: str, lock: bool = False) -> MaterialLot:
    """The lot a scan names, usable today. ``lock``: read it locked (a recall or a decision on it
    at the same moment waits, or is waited for), so a weighing never uses a lot being recalled."""
    try:
        lot = materials.get_lot(barcode, for_update=lock)
    except NotFound as exc:
        raise InvalidInput(exc.message, {field: "No such lot; scan the lot's barcode again."}) from None
    reason = lot.unusable_reason(clock.today())
    if reason:
        raise WrongState(f"This lot cannot be used: {reason}.", {field: reason})
    return lot


def _calculate(
    body: dict[str, Any],
    dosage_form: str,
    quantity: float,
    dose: float,
    concentration: float | None,
    lot: MaterialLot,
) -> dict[str, Any]:
    """The frozen calculation: API (and filler) to weigh with the lot's as-is assay."""
    try:
        calc = compounding.calculate(
            dosage_form,
            quantity,
            dose if dosage_form == "capsule" else concentration,
            lot.assay_percent,
            body["overage_percent"],
            body.get("fill_weight_mg"),
            api_lot=lot.barcode,
        )
    except CompoundingError as exc:
        raise _invalid(exc) from None
    return calc.as_dict()


def _bud(start: date, rule: dict[str, Any], lots: list[MaterialLot]) -> compounding.Bud:
    expiries = [(f"{lot.material.code} lot {lot.barcode}", lot.expiry_date) for lot in lots]
    try:
        return compounding.beyond_use_date(start, rule, expiries)
    except CompoundingError as exc:
        raise _invalid(exc) from None


def create_batch(
    actor: User,
    *,
    formula: str,
    quantity: float | None = None,
    quantity_mg: float | None = None,
    strength_mg: float | None = None,
    concentration: float | None = None,
    dose_amount: float | None = None,
    api_lot: str | None = None,
    compounded_at: datetime | None = None,
) -> Batch:
    """Open a batch record from the approved version of a formula; the calculation is frozen on it."""
    require_role(actor, *COMPOUNDERS)
    try:
        master = formulas.get_formula(formula)
    except NotFound as exc:
        raise InvalidInput(exc.message, {"formula": "Unknown formula code."}) from None
    version = master.approved
    if version is None:
        raise WrongState(
            f"{master.code} has no approved version; a batch needs an approved formula.",
            {"formula": "Not approved."},
        )
    body = version.body
    broken = bud_rules.rule_summary(body)
    if broken:
        raise WrongState(
            f"{master.code} version {version.version} breaks a preparation rule, so it makes no new "
            f"batch until a corrected version is approved: {' '.join(broken)}",
            {"formula": " ".join(broken)},
        )
    compounded_at = clock.past_or_now(compounded_at, "compounded_at")
    if version.dosage_form == "trituration":
        return _create_trituration(
            actor,
            master,
            version,
            quantity_mg,
            quantity,
            (strength_mg, concentration, dose_amount),
            api_lot,
            compounded_at,
        )
    if quantity_mg is not None:
        raise InvalidInput(
            "quantity_mg is a trituration's total mass; give quantity for this formula.",
            {"quantity_mg": "Only for triturations; give quantity (capsules, mL or g)."},
        )
    if quantity is None:
        raise InvalidInput("Give the quantity to make.", {"quantity": "Required: capsules, mL or g."})
    try:
        dose = compounding.dose_mg(version.dosage_form, strength_mg, concentration, dose_amount)
        dose_field = {"capsule": "strength_mg", "cream": "dose_g"}.get(version.dosage_form, "dose_volume_ml")
        compounding.check_strength(dose, body["strength_min_mg"], body["strength_max_mg"], field=dose_field)
        compounding.check_quantity(quantity, version.dosage_form)
    except CompoundingError as exc:
        raise _invalid(exc) from None
    lot = _chosen_api_lot(body, api_lot)
    calculation = _calculate(body, version.dosage_form, quantity, dose, concentration, lot)
    return _open(
        actor, master, version, lot, calculation, compounded_at, dose, quantity, concentration, dose_amount
    )


def _chosen_api_lot(body: dict[str, Any], api_lot: str | None) -> MaterialLot:
    """The API lot scanned for the batch, or the approved, in-date lot that expires first. For a
    formula made from a trituration, the API is that intermediate material's lots."""
    api_code = _api_material(body)
    if api_lot:
        lot = _usable_lot(api_lot, "api_lot")
        if lot.material.code != api_code:
            raise InvalidInput(
                f"Lot {lot.barcode} is {lot.material.code}, not the API {api_code}.",
                {"api_lot": f"Scan a lot of {api_code}."},
            )
        return lot
    lot = default_api_lot(api_code, clock.today())
    if lot is None:
        how = (
            "make a trituration batch and have its lot approved"
            if _is_intermediate(api_code)
            else ("receive and approve one")
        )
        raise WrongState(
            f"No approved, in-date lot of {api_code}; {how} first.", {"api_lot": "No usable lot."}
        )
    return lot


def _is_intermediate(material_code: str) -> bool:
    return db.session.scalar(sa.select(Material.kind).where(Material.code == material_code)) == "intermediate"


def _create_trituration(
    actor: User,
    master: Formula,
    version: FormulaVersion,
    quantity_mg: float | None,
    quantity: float | None,
    dose_fields: tuple[float | None, ...],
    api_lot: str | None,
    compounded_at: datetime,
) -> Batch:
    """A trituration batch: a total mass (mg) at the formula's concentration, no dose."""
    if any(value is not None for value in dose_fields):
        raise InvalidInput(
            "A trituration has no dose: give quantity_mg (its total mass) only.",
            {"strength_mg": "Leave out the strength: a trituration is made to its concentration."},
        )
    if quantity_mg is None:
        quantity_mg = quantity  # the page's quantity field holds the mass in mg
    elif quantity is not None and quantity != quantity_mg:
        raise InvalidInput(
            "Give the total mass once, as quantity_mg.",
            {"quantity": "Leave out: a trituration's quantity is quantity_mg."},
        )
    if quantity_mg is None:
        raise InvalidInput(
            "Give the trituration's total mass in mg.",
            {"quantity_mg": "Required: the total mass in mg, e.g. 10000."},
        )
    body = version.body
    lot = _chosen_api_lot(body, api_lot)
    try:
        calc = compounding.calculate_trituration(
            quantity_mg, body["concentration_percent"], lot.assay_percent, api_lot=lot.barcode
        )
    except CompoundingError as exc:
        raise _invalid(exc) from None
    percent = body["concentration_percent"]
    return _open(
        actor, master, version, lot, calc.as_dict(), compounded_at, percent / 100, quantity_mg, percent, None
    )


def _open(
    actor: User,
    master: Formula,
    version: FormulaVersion,
    lot: MaterialLot,
    calculation: dict[str, Any],
    compounded_at: datetime,
    dose: float,
    quantity: float,
    concentration: float | None,
    dose_amount: float | None,
) -> Batch:
    """Write the new draft with its frozen calculation and BUD, audited, in one transaction."""
    body = version.body
    bud = _bud(clock.local_date(compounded_at), body["bud"], [lot])
    batch = Batch(
        lot_number=next_lot_number(clock.local_date(compounded_at)),
        formula_version=version,
        dosage_form=version.dosage_form,
        strength_mg=dose,
        quantity=quantity,
        concentration=concentration,
        dose_amount=dose_amount,
        compounded_at=compounded_at,
        compounded_by_id=actor.id,
        api_lot_id=lot.id,
        calculation=calculation,
        specification={"formula": master.code, "version": version.version, **body["specification"]},
        bud=bud.date,
        bud_reason=bud.reason,
    )
    db.session.add(batch)
    db.session.flush()
    audit.record("batch.created", "batch", batch.lot_number, actor=actor, new=batch_state(batch))
    db.session.commit()
    return batch


def _formula_component(batch: Batch, lot: MaterialLot) -> dict[str, Any]:
    for component in batch.formula_version.body["components"]:
        if component["material"] == lot.material.code:
            return component
    allowed = ", ".join(c["material"] for c in batch.formula_version.body["components"])
    raise InvalidInput(
        f"Lot {lot.barcode} is {lot.material.code}, which this formula does not use ({allowed}).",
        {"barcode": f"Wrong material: {lot.material.code}; this formula uses {allowed}."},
    )


def check_scan(lot_number: str, barcode: str) -> materials.LotCheck:
    """A scan on a batch's page: usable today, and a material this batch's formula uses."""
    result = materials.check_lot(barcode)
    if not result.usable:
        return result
    batch = get_batch(lot_number)
    used = [c["material"] for c in batch.formula_version.body["components"]]
    if result.lot.material.code not in used:
        reason = f"wrong material: {result.lot.material.code}; this formula uses {', '.join(used)}"
        return materials.LotCheck(result.lot, False, reason)
    return result


@dataclass(frozen=True)
class WeighingTarget:
    """What to weigh of a scanned API lot: the calculated amount and the weights accepted."""

    target_mg: float
    low_mg: Decimal
    high_mg: Decimal
    tolerance_percent: float
    recalculated: bool  # another lot than the calculation's, with its own assay

    @property
    def text(self) -> str:
        return (
            f"target {self.target_mg:.2f} mg, {self.low_mg}–{self.high_mg} mg (±{self.tolerance_percent:.1f} %)"
            + ("; recalculated for this lot's assay" if self.recalculated else "")
        )


def weighing_target(lot_number: str, barcode: str) -> WeighingTarget | None:
    """For a usable API lot scanned on a draft whose API is not weighed yet: the target weight
    and the range (to 0.01 mg) the weighing tolerance accepts. Nothing is written."""
    batch = get_batch(lot_number)
    if batch.status != "draft" or api_component(batch) is not None:
        return None
    check = check_scan(lot_number, barcode)
    if not check.usable or _formula_component(batch, check.lot)["role"] != "api":
        return None
    recalculated = check.lot.id != batch.api_lot_id
    try:
        calculation = _recalculate(batch, check.lot) if recalculated else batch.calculation
    except ServiceError:
        return None
    tolerance = batch.formula_version.body["weighing_tolerance_percent"]
    raw = calculation["api_mg_raw"]
    return WeighingTarget(
        calculation["api_mg"],
        _accepted_edge(raw, tolerance, -1),
        _accepted_edge(raw, tolerance, +1),
        tolerance,
        recalculated,
    )


def _accepted_edge(theoretical_mg: float, tolerance_percent: float, side: int) -> Decimal:
    """The lightest (side -1) or heaviest (+1) weight to 0.01 mg that the tolerance accepts,
    found with the very check a weighing gets (its deviation is rounded before comparing)."""
    step = Decimal("0.01") * side

    def accepted(weight: Decimal) -> bool:
        return compounding.weighing_deviation(float(weight), theoretical_mg, tolerance_percent).within

    edge = Decimal(str(theoretical_mg)) * (1 + side * Decimal(str(tolerance_percent)) / 100)
    weight = edge.quantize(Decimal("0.01"))
    while accepted(weight + step):
        weight += step
    while not accepted(weight):
        weight -= step
    return weight


def record_component(
    actor: User,
    lot_number: str,
    *,
    barcode: str,
    quantity_mg: float | None = None,
    count: int | None = None,
    balance: str | None = None,
    deviation_reason: str | None = None,
) -> BatchComponent:
    """Record a scanned lot with what was weighed (or counted, for containers)."""
    require_role(actor, *COMPOUNDERS)
    batch = _draft(lot_number)
    lot = _usable_lot(barcode, "barcode", lock=True)
    component = _formula_component(batch, lot)
    if any(c.material_lot_id == lot.id for c in batch.components):
        raise WrongState(
            f"Lot {lot.barcode} is already recorded on {batch.lot_number}.", {"barcode": "Recorded already."}
        )
    role = component["role"]
    reason = (deviation_reason or "").strip() or None
    row = BatchComponent(
        lot=lot,
        material=lot.material,
        role=role,
        recorded_by_id=actor.id,
        deviation_reason=reason,
    )
    if role == "container":
        if count is None or quantity_mg is not None or count < 1:
            raise InvalidInput(
                "Containers are counted: give count (a whole number ≥ 1), not a weight.",
                {"count": "Give the number of containers used."},
            )
        row.count = count
    else:
        if quantity_mg is None or count is not None or not math.isfinite(quantity_mg) or quantity_mg <= 0:
            raise InvalidInput(
                "Give the weighed amount in mg.", {"quantity_mg": "Give the weighed mass in mg (> 0)."}
            )
        row.quantity_mg = quantity_mg
        scale = balances.gate(balance, quantity_mg)  # USP <41>: today's check, minimum weight, capacity
        row.balance, row.balance_id = scale.code, scale.id
        row.balance_minimum_mg = float(balances.minimum_weight_mg(scale))
    if role == "api":
        _record_api_weighing(actor, batch, lot, row)
    elif role == "filler" and batch.dosage_form == "trituration":
        weighed = api_component(batch)  # the diluent makes up the total with the API actually weighed
        row.theoretical_mg = batch.quantity - (
            weighed.quantity_mg if weighed else batch.calculation["api_mg"]
        )
    elif role == "filler" and "filler_mg" in batch.calculation:
        row.theoretical_mg = batch.calculation["filler_mg_raw"]
    row.batch = batch
    db.session.add(row)
    db.session.flush()
    audit.record(
        "batch.component_recorded",
        "batch",
        batch.lot_number,
        actor=actor,
        reason=reason,
        new={
            "lot": lot.barcode,
            "material": lot.material.code,
            "role": role,
            "quantity_mg": row.quantity_mg,
            "count": row.count,
            "theoretical_mg": row.theoretical_mg,
            "deviation_percent": row.deviation_percent,
            "balance": row.balance,
            "balance_minimum_mg": row.balance_minimum_mg,
        },
    )
    _refresh_bud(actor, batch)
    db.session.commit()
    return row


def _record_api_weighing(actor: User, batch: Batch, lot: MaterialLot, row: BatchComponent) -> None:
    if any(c.role == "api" for c in batch.components):
        raise WrongState(
            f"The API is already recorded on {batch.lot_number}.", {"barcode": "API recorded already."}
        )
    body = batch.formula_version.body
    if lot.id != batch.api_lot_id:
        old = dict(batch.calculation)
        batch.calculation = _recalculate(batch, lot)
        batch.api_lot_id = lot.id
        audit.record(
            "batch.recalculated",
            "batch",
            batch.lot_number,
            actor=actor,
            old=old,
            new=batch.calculation,
            reason=f"API lot {lot.barcode} scanned instead of {old.get('api_lot')}",
        )
    check = compounding.weighing_deviation(
        row.quantity_mg, batch.calculation["api_mg_raw"], body["weighing_tolerance_percent"]
    )
    row.theoretical_mg = batch.calculation["api_mg_raw"]
    row.deviation_percent, row.within_tolerance = float(check.deviation_reported), check.within
    if not check.within and not row.deviation_reason:
        raise InvalidInput(
            check.message + ".",
            {"deviation_reason": "Required outside the weighing tolerance: say why, or weigh again."},
        )


def _recalculate(batch: Batch, lot: MaterialLot) -> dict[str, Any]:
    """The batch's calculation redone with another API lot's as-is assay."""
    body = batch.formula_version.body
    if batch.dosage_form == "trituration":
        try:
            return compounding.calculate_trituration(
                batch.quantity, body["concentration_percent"], lot.assay_percent, api_lot=lot.barcode
            ).as_dict()
        except CompoundingError as exc:
            raise _invalid(exc) from None
    return _calculate(body, batch.dosage_form, batch.quantity, batch.strength_mg, batch.concentration, lot)


def _refresh_bud(actor: User, batch: Batch) -> None:
    lots = [c.lot for c in batch.components]
    if batch.api_lot is not None and batch.api_lot not in lots:
        lots.append(batch.api_lot)
    bud = _bud(clock.local_date(batch.compounded_at), batch.formula_version.body["bud"], lots)
    if (bud.date, bud.reason) != (batch.bud, batch.bud_reason):
        audit.record(
            "batch.bud_changed",
            "batch",
            batch.lot_number,
            actor=actor,
            old={"bud": batch.bud, "bud_reason": batch.bud_reason},
            new={"bud": bud.date, "bud_reason": bud.reason},
        )
        batch.bud, batch.bud_reason = bud.date, bud.reason


def api_component(batch: Batch) -> BatchComponent | None:
    return next((c for c in batch.components if c.role == "api"), None)


def verify_weighing(actor: User, lot_number: str, given: SignatureInput) -> Batch:
    """Second-person verification of the API weighing, signed by someone other than the compounder.

    The verifier is the signer: ``actor`` when they sign with their own username, or the
    colleague who signs at ``actor``'s workstation with their own username and password. The
    verifier must be a technician or reviewer and neither the compounder nor the weigher.
    """
    require_role(actor, *COMPOUNDERS)
    batch = _draft(lot_number)
    weighing = api_component(batch)
    if weighing is None:
        raise WrongState("Record the API weighing before it can be verified.")
    if batch.api_verified_by_id is not None:
        raise WrongState(f"The API weighing of {batch.lot_number} is verified already.")
    if given.username.strip().lower() == actor.username:
        _may_verify(actor, batch, weighing)  # refused before the password, as always
    content = {
        "lot_number": batch.lot_number,
        "api_lot": weighing.lot.barcode,
        "quantity_mg": weighing.quantity_mg,
        "theoretical_mg": weighing.theoretical_mg,
        "deviation_percent": weighing.deviation_percent,
        "deviation_reason": weighing.deviation_reason,
    }
    signature = signatures.sign(
        actor,
        given,
        action="verify_weighing",
        entity_type="batch",
        entity_key=batch.lot_number,
        content=content,
        check_signer=lambda signer: _may_verify(signer, batch, weighing),
    )
    verifier = db.session.get(User, signature.user_id)
    batch.api_verified_by_id, batch.api_verified_at = verifier.id, clock.utcnow()
    audit.record(
        "batch.weighing_verified",
        "batch",
        batch.lot_number,
        actor=verifier,
        new={**content, "signed_at_workstation_of": actor.username},
    )
    db.session.commit()
    return batch


def _may_verify(verifier: User, batch: Batch, weighing: BatchComponent) -> None:
    """A technician or reviewer other than the one who compounded or weighed."""
    if not verifier.has_role(*COMPOUNDERS):
        raise NotPermitted(
            f"{verifier.username} cannot verify a weighing: it needs the role {' or '.join(COMPOUNDERS)}."
        )
    if verifier.id in (batch.compounded_by_id, weighing.recorded_by_id):
        raise NotPermitted("The verifier must be another person than the one who compounded or weighed.")


def record_weight_check(
    actor: User, lot_number: str, weights_mg: list[float], reason: str | None = None
) -> WeightCheck:
    """Individual capsule content weights against the theoretical fill (USP <795>).

    A failed check stays on the record as a deviation; a new check after it needs the reason
    (what was found and done), which documents that failure on the review and the certificate.
    """
    require_role(actor, *COMPOUNDERS)
    batch = _draft(lot_number)
    if batch.dosage_form != "capsule":
        raise WrongState("The capsule weight check applies to capsules only.")
    reason = (reason or "").strip() or None
    if batch.weight_checks and not batch.weight_checks[-1].passed and reason is None:
        message = (
            "The last capsule weight check failed: give the reason for a new check "
            "(what was found and what was done, e.g. capsules re-filled)."
        )
        raise InvalidInput(message, {"reason": message})
    theoretical = batch.calculation["theoretical_unit_mg"]
    try:
        result = compounding.capsule_weight_check(weights_mg, theoretical, int(batch.quantity))
    except CompoundingError as exc:
        raise _invalid(exc) from None
    check = WeightCheck(
        batch=batch,
        weights_mg=list(weights_mg),
        theoretical_mg=theoretical,
        summary=result.as_dict(),
        passed=result.passed,
        reason=reason,
        recorded_by_id=actor.id,
    )
    db.session.add(check)
    db.session.flush()
    audit.record(
        "batch.weight_check",
        "batch",
        batch.lot_number,
        actor=actor,
        new={"weights_mg": list(weights_mg), **result.as_dict(), "reason": reason},
        reason=reason,
    )
    trends.refresh(actor, [batch], ("weight_rsd",))
    db.session.commit()
    return check


def missing_for_completion(batch: Batch) -> list[str]:
    """What still stands between a draft and completion, in words."""
    missing = []
    recorded = {c.material.code for c in batch.components}
    for component in batch.formula_version.body["components"]:
        if component["material"] not in recorded:
            missing.append(f"record the {component['role']} {component['material']}")
    if batch.api_verified_by_id is None:
        missing.append("a second person must verify the API weighing")
    if batch.dosage_form == "capsule":
        if not batch.weight_checks:
            missing.append("record the capsule weight check")
        elif not batch.weight_checks[-1].passed:
            missing.append("the last capsule weight check failed; record a passing one")
    return missing


def storage_condition(batch: Batch) -> str | None:
    """The storage condition the batch's formula version prescribes (room or refrigerated)."""
    return batch.formula_version.body.get("storage")


def fitting_units(batch: Batch) -> list[StorageUnit]:
    """The storage units a batch may be completed into or moved to: its formula's condition."""
    wanted = storage_condition(batch)
    return [u for u in storage.list_units() if wanted is None or u.condition == wanted]


def _fitting_unit(batch: Batch, code: str) -> StorageUnit:
    """The storage unit, when its condition is the formula's storage (domain.md §3)."""
    try:
        unit = storage.get_unit(code)
    except NotFound as exc:
        raise InvalidInput(exc.message, {"storage_unit": "Unknown storage unit."}) from None
    wanted = storage_condition(batch)
    if wanted is not None and unit.condition != wanted:
        raise InvalidInput(
            f"{batch.lot_number} is stored {wanted}; {unit.code} is a {unit.condition} unit.",
            {"storage_unit": f"Choose a {wanted} unit: the formula's storage is {wanted}."},
        )
    return unit


def complete(
    actor: User,
    lot_number: str,
    *,
    actual_yield: float,
    storage_unit: str,
    at: datetime | None = None,
    deviation_reason: str | None = None,
) -> Batch:
    """Finish compounding: the batch goes into quarantine in a storage unit, waiting for results."""
    require_role(actor, *COMPOUNDERS)
    batch = _draft(lot_number)
    missing = missing_for_completion(batch)
    if missing:
        raise WrongState(f"{batch.lot_number} is not ready to complete: " + "; ".join(missing) + ".")
    unit = _fitting_unit(batch, storage_unit)
    at = clock.past_or_now(at, "at")
    if at < batch.compounded_at:
        raise InvalidInput(
            "The batch cannot be stored before it was compounded.", {"at": "Before compounded_at."}
        )
    if not math.isfinite(actual_yield) or actual_yield < 0 or actual_yield > 2 * batch.quantity:
        raise InvalidInput(
            "Give the actual yield.", {"actual_yield": f"Must be between 0 and {2 * batch.quantity:g}."}
        )
    percent = compounding.yield_percent(actual_yield, batch.quantity)
    reason = (deviation_reason or "").strip() or None
    if compounding.yield_needs_reason(percent) and not reason:
        raise InvalidInput(
            f"The yield is {percent:.1f} % of theoretical, outside 95–105 %.",
            {"deviation_reason": "Required for a yield outside 95–105 %: say why."},
        )
    batch.actual_yield, batch.yield_percent, batch.yield_deviation_reason = actual_yield, percent, reason
    batch.status, batch.completed_at, batch.storage_unit_id = "quarantine", clock.utcnow(), unit.id
    db.session.add(BatchLocation(batch=batch, storage_unit=unit, placed_at=at, recorded_by_id=actor.id))
    produced = triturations.produce_lot(actor, batch) if batch.dosage_form == "trituration" else None
    audit.record(
        "batch.completed",
        "batch",
        batch.lot_number,
        actor=actor,
        reason=reason,
        old={"status": "draft"},
        new={
            "status": "quarantine",
            "actual_yield": actual_yield,
            "yield_percent": percent,
            "storage_unit": unit.code,
            "placed_at": at,
            "produced_lot": produced.barcode if produced else None,
        },
    )
    judgement.judge(actor, batch)  # it may have been placed in a unit during an excursion
    trends.refresh(actor, [batch], ("yield",))
    db.session.commit()
    return batch


def discard(actor: User, lot_number: str, reason: str) -> Batch:
    """Abandon a draft; it stays on record as discarded, with the reason."""
    require_role(actor, *COMPOUNDERS)
    batch = _draft(lot_number)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give the reason for discarding the batch.", {"reason": "Required."})
    batch.status, batch.discard_reason = "discarded", reason
    audit.record(
        "batch.discarded",
        "batch",
        batch.lot_number,
        actor=actor,
        old={"status": "draft"},
        new={"status": "discarded"},
        reason=reason,
    )
    db.session.commit()
    return batch


def move(actor: User, lot_number: str, *, storage_unit: str, at: datetime | None = None) -> Batch:
    """Put a completed batch in another storage unit from ``at`` on."""
    require_role(actor, *COMPOUNDERS)
    batch = get_batch(lot_number, for_update=True)
    if batch.status in ("draft", "discarded"):
        raise WrongState(f"Batch {batch.lot_number} is {batch.status}; only a completed batch is moved.")
    if batch.status == "released":
        raise WrongState(f"Batch {batch.lot_number} is released and locked; a change needs a recall first.")
    unit = _fitting_unit(batch, storage_unit)
    at = clock.past_or_now(at, "at")
    current = batch.locations[-1] if batch.locations else None
    if current is not None and at <= current.placed_at:
        raise WrongState(
            "A move must come after the current placement "
            f"({current.placed_at.isoformat()} in {current.storage_unit.code}).",
            {"at": "Too early."},
        )
    if current is not None and current.storage_unit_id == unit.id:
        raise WrongState(
            f"Batch {batch.lot_number} is in {unit.code} already.", {"storage_unit": "Same unit."}
        )
    involved = stays.for_batch(batch.id)
    latest = max(involved, key=lambda e: e.start) if involved else None
    if latest is not None and at < latest.start:  # a back-dated move never takes a batch out of one
        raise WrongState(
            f"A move of {batch.lot_number} cannot be dated before excursion {latest.id} in "
            f"{latest.storage_unit.code}, which started at {latest.start.isoformat()}.",
            {"at": f"Not before {latest.start.isoformat()}."},
        )
    db.session.add(BatchLocation(batch=batch, storage_unit=unit, placed_at=at, recorded_by_id=actor.id))
    old_unit = batch.storage_unit.code if batch.storage_unit else None
    batch.storage_unit_id = unit.id
    audit.record(
        "batch.moved",
        "batch",
        batch.lot_number,
        actor=actor,
        old={"storage_unit": old_unit},
        new={"storage_unit": unit.code, "placed_at": at},
    )
    judgement.judge(actor, batch)
    db.session.commit()
    return batch


@dataclass(frozen=True)
class BatchFilter:
    status: str | None = None
    formula: str | None = None
    strength_mg: float | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "BatchFilter":
        """The list filters from a query string (the API and the pages read the same names)."""
        strength = args.get("strength") or None
        try:
            strength_mg = float(strength) if strength else None
        except ValueError:
            raise InvalidInput(
                "strength must be a number of mg.", {"strength": "Give a number, e.g. 1.5."}
            ) from None
        return cls(
            status=args.get("status") or None,
            formula=args.get("formula") or None,
            strength_mg=strength_mg,
            date_from=date_field(args, "from"),
            date_to=date_field(args, "to"),
            q=search_field(args, "q"),
        )

    def statement(self) -> sa.Select:
        stmt = sa.select(Batch)
        if self.status:
            stmt = stmt.where(Batch.status == self.status)
        if self.formula:
            versions = (
                sa.select(FormulaVersion.id)
                .join(FormulaVersion.formula)
                .where(Formula.code == self.formula.strip().upper())
            )
            stmt = stmt.where(Batch.formula_version_id.in_(versions))
        if self.strength_mg is not None:
            stmt = stmt.where(Batch.strength_mg.between(self.strength_mg - 1e-9, self.strength_mg + 1e-9))
        if self.date_from:
            stmt = stmt.where(Batch.compounded_at >= clock.start_of_local_day(self.date_from))
        if self.date_to:
            stmt = stmt.where(Batch.compounded_at < clock.start_of_local_day(self.date_to, days_after=1))
        if self.q:
            term = compounding.clean_scan(self.q)
            if FULL_LOT_NUMBER.match(term):  # a scanned label: an index lookup, not a scan of every row
                stmt = stmt.where(Batch.lot_number == term)
            else:
                stmt = stmt.where(Batch.lot_number.contains(term, autoescape=True))
        return stmt.order_by(Batch.id.desc())
