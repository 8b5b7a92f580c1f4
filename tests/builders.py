"""Small builders for test data, going through the services like a user would."""

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import User
from qa_app.services import balances, formulas, materials, storage
from qa_app.services.signatures import SignatureInput
from tests.conftest import PASSWORD


def user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def signature(username: str, meaning: str) -> SignatureInput:
    return SignatureInput(username, PASSWORD, meaning)


def capsule_formula_body(**changes: Any) -> dict[str, Any]:
    body = {
        "code": "LDN-CAP",
        "name": "Naltrexone HCl capsules (LDN)",
        "description": "White opaque #3 capsules",
        "dosage_form": "capsule",
        "strength_min_mg": 0.5,
        "strength_max_mg": 4.5,
        "components": [
            {"material": "NTX-HCL", "role": "api"},
            {"material": "MCC", "role": "filler"},
            {"material": "CAP-3", "role": "container"},
        ],
        "fill_weight_mg": 225.0,
        "capsule_size": "3",
        "overage_percent": 0.0,
        "weighing_tolerance_percent": 2.0,
        "steps": ["Weigh API and filler", "Geometric dilution", "Fill capsules"],
        "equipment": ["Analytical balance", "Capsule machine"],
        "container": "Amber vial",
        "label_text": "Take one capsule at bedtime",
        "storage": "room",
        "bud": {"category": "nonaqueous_other"},
    }
    body.update(changes)
    return body


def liquid_formula_body(**changes: Any) -> dict[str, Any]:
    body = {
        "code": "LDN-LIQ",
        "name": "Naltrexone HCl oral liquid 1 mg/mL",
        "dosage_form": "oral_liquid",
        "strength_min_mg": 0.5,
        "strength_max_mg": 4.5,
        "components": [{"material": "NTX-HCL", "role": "api"}, {"material": "SYRUP", "role": "vehicle"}],
        "storage": "refrigerated",
        "bud": {"days": 60, "reference": "Fawcett et al., Ann Pharmacother 1997"},
        "specification": {
            "tests": [
                {"key": "assay", "kind": "range", "unit": "% LC", "min": 90.0, "max": 110.0, "decimals": 1},
                {"key": "ph", "kind": "range", "unit": "", "min": 4.0, "max": 6.0, "decimals": 1},
                {"key": "fill_volume", "kind": "range", "unit": "mL", "min": 98.0, "max": 102.0},
                {"key": "appearance", "kind": "attribute", "expected": "Clear colourless liquid"},
            ]
        },
    }
    body.update(changes)
    return body


BALANCES = {
    # code: name, readability (mg), repeatability sd (mg), capacity (g); minimum weight in the comment
    "XS205": ("Mettler Toledo XS205 semi-micro analytical balance", 0.01, 0.003, 220.0),  # 8.2 mg
    "UMX2": ("Mettler Toledo UMX2 ultra-micro balance", 0.0001, 0.0001, 2.1),  # 0.2 mg
}
CHECK_WEIGHTS_MG = {"XS205": 100000.0, "UMX2": 1000.0}
"""The test weight each balance is checked with (5–100 % of its capacity), read exactly."""


def create_balances() -> None:
    """The two balances of the pharmacy, created by ada (admin)."""
    ada = user("ada")
    for code, (name, readability, repeatability, capacity) in BALANCES.items():
        balances.create_balance(
            ada,
            code=code,
            name=name,
            readability_mg=readability,
            repeatability_sd_mg=repeatability,
            capacity_g=capacity,
        )


def check_balances_today() -> None:
    """A passing performance check by tina on every balance, counting for today's local date."""
    tina = user("tina")
    for code, nominal in CHECK_WEIGHTS_MG.items():
        balances.record_check(tina, code, nominal_mg=nominal, observed_mg=nominal)


def setup_master_data(today: date) -> dict[str, str]:
    """Materials, approved lots, the capsule and liquid formulas (approved), two storage units,
    the balances XS205 (minimum weight 8.2 mg) and UMX2 (0.2 mg), both checked today.

    Needs users ada (admin), rob (reviewer) and tina (technician). Returns lot barcodes by name.
    """
    ada, rob, tina = user("ada"), user("rob"), user("tina")
    for code, name, kind in (
        ("NTX-HCL", "Naltrexone hydrochloride USP", "api"),
        ("MCC", "Microcrystalline cellulose", "excipient"),
        ("CAP-3", "Capsule shell #3", "container"),
        ("SYRUP", "Ora-Sweet vehicle", "excipient"),
    ):
        materials.create_material(ada, code=code, name=name, kind=kind)
    received = today - timedelta(days=10)
    lots = {
        "api": materials.receive_lot(
            tina,
            material="NTX-HCL",
            supplier="Medisca",
            supplier_lot="N1",
            expiry_date=date(2028, 6, 30),
            received_date=received,
            assay_percent=99.0,
        ),
        "api2": materials.receive_lot(
            tina,
            material="NTX-HCL",
            supplier="PCCA",
            supplier_lot="N2",
            expiry_date=date(2029, 1, 31),
            received_date=received,
            assay_percent=98.0,
        ),
        "mcc": materials.receive_lot(
            tina,
            material="MCC",
            supplier="Medisca",
            supplier_lot="M1",
            expiry_date=date(2028, 12, 31),
            received_date=received,
        ),
        "caps": materials.receive_lot(
            tina,
            material="CAP-3",
            supplier="Capsugel",
            supplier_lot="C1",
            expiry_date=date(2030, 1, 1),
            received_date=received,
        ),
        "syrup": materials.receive_lot(
            tina,
            material="SYRUP",
            supplier="Perrigo",
            supplier_lot="S1",
            expiry_date=date(2028, 1, 1),
            received_date=received,
        ),
    }
    for lot in lots.values():
        materials.approve_lot(rob, lot.barcode, signature("rob", "approved"))
    for body in (capsule_formula_body(), liquid_formula_body()):
        formulas.create_formula(ada, body)
        formulas.approve_formula(rob, body["code"], signature("rob", "approved"))
    storage.create_unit(ada, code="SHELF-1", name="Room shelf", condition="room")
    storage.create_unit(ada, code="FRIDGE-1", name="Refrigerator", condition="refrigerated")
    create_balances()
    check_balances_today()
    db.session.commit()
    return {name: lot.barcode for name, lot in lots.items()}
