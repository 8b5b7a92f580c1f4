"""Set-up for triturations: the intermediate material, the 10 % trituration formula and a
capsule formula made from it (needs setup_master_data first)."""

from typing import Any

from qa_app.extensions import db
from qa_app.services import batches, formulas, materials, results
from tests.builders import capsule_formula_body, signature, user

TRITURATION_FORMULA = "LDN-TRIT10"
INTERMEDIATE = "NTX-TRIT10"
TRITURATED_CAPSULE = "LDN-CAP-T"


def trituration_formula_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": TRITURATION_FORMULA,
        "name": "Naltrexone HCl 10 % w/w trituration in microcrystalline cellulose",
        "dosage_form": "trituration",
        "concentration_percent": 10.0,
        "produces": INTERMEDIATE,
        "components": [{"material": "NTX-HCL", "role": "api"}, {"material": "MCC", "role": "filler"}],
        "steps": [
            "Weigh the naltrexone HCl and the microcrystalline cellulose.",
            "Mix by geometric dilution in a mortar; sieve; mix 10 minutes.",
        ],
        "equipment": ["Semi-micro balance", "Mortar and pestle"],
        "storage": "room",
        "bud": {"category": "nonaqueous_other"},
    }
    body.update(changes)
    return body


def setup_trituration_formulas() -> None:
    """NTX-TRIT10 (intermediate), LDN-TRIT10 (10 % w/w) and LDN-CAP-T (0.5–1.0 mg capsules from it), approved."""
    ada, rob = user("ada"), user("rob")
    materials.create_material(
        ada, code=INTERMEDIATE, name="Naltrexone HCl 10 % trituration", kind="intermediate"
    )
    capsule = capsule_formula_body(
        code=TRITURATED_CAPSULE,
        name="Naltrexone 0.5–1.0 mg capsules from the 10 % trituration",
        strength_min_mg=0.5,
        strength_max_mg=1.0,
        components=[
            {"material": INTERMEDIATE, "role": "api"},
            {"material": "MCC", "role": "filler"},
            {"material": "CAP-3", "role": "container"},
        ],
    )
    for body in (trituration_formula_body(), capsule):
        formulas.create_formula(ada, body)
        formulas.approve_formula(rob, body["code"], signature("rob", "approved"))
    db.session.commit()


def make_trituration_lot(
    lots: dict[str, str], approver: str, total_mg: float = 10000.0, approve: bool = True
) -> tuple[str, str]:
    """A 10 g trituration made by tina, verified by rob, appearance recorded, its lot approved by
    ``approver`` (another reviewer). Returns (trituration batch lot number, intermediate barcode)."""
    tina = user("tina")
    batch = batches.create_batch(tina, formula=TRITURATION_FORMULA, quantity_mg=total_mg, api_lot=lots["api"])
    lot_number = batch.lot_number
    api_mg = batch.calculation["api_mg"]
    batches.record_component(tina, lot_number, barcode=lots["api"], quantity_mg=api_mg, balance="XS205")
    batches.record_component(
        tina, lot_number, barcode=lots["mcc"], quantity_mg=total_mg - api_mg, balance="XS205"
    )
    batches.verify_weighing(user("rob"), lot_number, signature("rob", "verified"))
    done = batches.complete(tina, lot_number, actual_yield=total_mg * 0.995, storage_unit="SHELF-1")
    barcode = done.produced_lot.barcode
    results.record_result(tina, lot_number, test="appearance", value="Uniform white to off-white powder")
    if approve:
        materials.approve_lot(user(approver), barcode, signature(approver, "approved"))
    return lot_number, barcode
