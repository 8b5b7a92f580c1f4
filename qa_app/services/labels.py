"""What a compounded batch's label states (USP <795> labelling, domain.md §9).

The quantity is the actual yield, never the planned quantity: a label that promises 100
capsules on a container of 97 is wrong. Until the batch is completed the label says so.
"""

from flask import current_app

from qa_app.domain.formula_schema import ROUTES
from qa_app.models import Batch
from qa_app.reports.labels import BatchLabel

QUANTITY_UNITS = {
    "capsule": "capsules",
    "oral_liquid": "mL",
    "sublingual_drops": "mL",
    "cream": "g",
    "trituration": "mg",
}
STORAGE_TEXT = {"room": "Store at 20–25 °C", "refrigerated": "Store refrigerated at 2–8 °C"}
ACTIVE = "Naltrexone hydrochloride"


def quantity_made(batch: Batch) -> str:
    """The actual yield with its unit, or why there is none yet."""
    unit = QUANTITY_UNITS.get(batch.dosage_form, "")
    if batch.actual_yield is None:
        return "— (not completed)"
    return f"{batch.actual_yield:g} {unit}"


def amount(batch: Batch) -> str:
    """The amount of naltrexone hydrochloride per capsule, or the concentration and the dose (a
    trituration: its concentration in % w/w)."""
    if batch.dosage_form == "trituration":
        return f"{batch.concentration:g} % w/w naltrexone HCl"
    if batch.dosage_form == "capsule" or batch.concentration is None or batch.dose_amount is None:
        per = "capsule" if batch.dosage_form == "capsule" else "dose"
        return f"{batch.strength_mg:g} mg per {per}"
    unit = "g" if batch.dosage_form == "cream" else "mL"
    return f"{batch.concentration:g} mg/{unit} · dose {batch.dose_amount:g} {unit} ({batch.strength_mg:g} mg)"


def batch_label(batch: Batch) -> BatchLabel:
    body = batch.formula_version.body
    return BatchLabel(
        lot_number=batch.lot_number,
        product=body["name"],
        strength=amount(batch),
        dosage_form=batch.dosage_form.replace("_", " ").capitalize(),
        quantity=quantity_made(batch),
        bud=batch.bud,
        storage=STORAGE_TEXT.get(body.get("storage"), body.get("storage", "")),
        pharmacy_name=current_app.config["QA_PHARMACY_NAME"],
        status=batch.status,
        route=ROUTES.get(batch.dosage_form, ""),
        active=ACTIVE,
        compounded=True,
    )
