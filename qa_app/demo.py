"""Demonstration data: users of every role, materials and lots, the LDN formulas, storage units
and batches in draft and in quarantine. It can run again: what exists is left alone."""

from datetime import date, timedelta

import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import Batch, Material, User
from qa_app.services import accounts, batches, clock, formulas, materials, storage
from qa_app.services.signatures import SignatureInput

DEMO_PASSWORD = "ldn-demo-password"
DEMO_USERS = (
    ("tech", "Tessa Technician", ("technician",)),
    ("tech2", "Tomas Second-Technician", ("technician",)),
    ("reviewer", "Rita Reviewer, PharmD", ("reviewer",)),
    ("reviewer2", "Raj Second-Reviewer, PharmD", ("reviewer",)),
    ("admin", "Adam Administrator, RPh", ("admin",)),
    ("inspector", "Ines Inspector", ("inspector",)),
)

CAPSULE_FORMULA = {
    "code": "LDN-CAP",
    "name": "Naltrexone HCl capsules (LDN) in microcrystalline cellulose",
    "description": "White opaque hard gelatin capsules, size #3, filled with white powder",
    "dosage_form": "capsule",
    "strength_min_mg": 0.5,
    "strength_max_mg": 4.5,
    "components": [
        {"material": "NTX-HCL", "role": "api"},
        {"material": "MCC-102", "role": "filler"},
        {"material": "CAPS-3", "role": "container"},
    ],
    "fill_weight_mg": 225.0,
    "capsule_size": "3",
    "overage_percent": 0.0,
    "weighing_tolerance_percent": 2.0,
    "steps": [
        "Calculate and weigh the naltrexone HCl and the microcrystalline cellulose.",
        "Triturate the API with an equal amount of filler; add filler by geometric dilution.",
        "Blend 5 minutes; fill the capsules on the calibrated capsule machine.",
        "Weigh at least 10 individual capsules (content weight) and record them.",
    ],
    "equipment": ["Analytical balance (0.01 mg)", "Mortar and pestle", "Capsule filling machine #3"],
    "container": "Amber plastic vial with child-resistant cap",
    "label_text": "Take one capsule by mouth at bedtime.",
    "storage": "room",
    "bud": {"category": "nonaqueous_other"},
}

LIQUID_FORMULA = {
    "code": "LDN-LIQ-1",
    "name": "Naltrexone HCl oral liquid 1 mg/mL",
    "description": "Clear, colourless to pale yellow solution",
    "dosage_form": "oral_liquid",
    "strength_min_mg": 0.5,
    "strength_max_mg": 4.5,
    "components": [{"material": "NTX-HCL", "role": "api"}, {"material": "ORA-SWEET", "role": "vehicle"}],
    "overage_percent": 0.0,
    "weighing_tolerance_percent": 2.0,
    "steps": ["Dissolve the API in part of the vehicle.", "Make up to volume; mix 10 minutes."],
    "equipment": ["Analytical balance", "Graduated cylinder", "Magnetic stirrer"],
    "container": "Amber PET bottle with oral syringe adapter",
    "label_text": "Measure the dose with the oral syringe. Keep refrigerated.",
    "storage": "refrigerated",
    "bud": {"days": 60, "reference": "Fawcett JM et al., Ann Pharmacother 1997;31:1462-4 (2–8 °C)"},
    "specification": {
        "tests": [
            {
                "key": "assay",
                "kind": "range",
                "unit": "% LC",
                "method": "HPLC",
                "min": 90.0,
                "max": 110.0,
                "decimals": 1,
            },
            {
                "key": "ph",
                "kind": "range",
                "unit": "",
                "method": "USP <791>",
                "min": 4.0,
                "max": 6.0,
                "decimals": 1,
            },
            {
                "key": "fill_volume",
                "kind": "range",
                "unit": "mL",
                "method": "Graduated cylinder",
                "min": 98.0,
                "max": 102.0,
                "decimals": 1,
            },
            {
                "key": "appearance",
                "kind": "attribute",
                "method": "Visual",
                "expected": "Conforms to description",
            },
        ]
    },
}


def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _sign(username: str, meaning: str) -> SignatureInput:
    return SignatureInput(username, DEMO_PASSWORD, meaning)


def load_demo() -> list[str]:
    """Create what is missing and return the lines to print."""
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    for username, full_name, roles in DEMO_USERS:
        if _user(username) is None:
            accounts.create_user(
                None,
                username=username,
                full_name=full_name,
                roles=roles,
                password=DEMO_PASSWORD,
                actor_name="demo",
            )
        lines.append(f"  {username:<10} {', '.join(roles):<12} {full_name}")
    if db.session.scalar(sa.select(Material.id).where(Material.code == "NTX-HCL")) is None:
        lots = _master_data(clock.today())
        _batches(lots)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Batch))
    lines.append(
        f"Demo data: formulas LDN-CAP and LDN-LIQ-1, storage units SHELF-A and FRIDGE-1, {count} batches."
    )
    return lines


def _master_data(today: date) -> dict[str, str]:
    admin, reviewer, tech = _user("admin"), _user("reviewer"), _user("tech")
    for code, name, kind in (
        ("NTX-HCL", "Naltrexone hydrochloride USP", "api"),
        ("MCC-102", "Microcrystalline cellulose NF (Avicel PH-102)", "excipient"),
        ("ORA-SWEET", "Ora-Sweet syrup vehicle", "excipient"),
        ("CAPS-3", "Hard gelatin capsule shell #3, white opaque", "container"),
    ):
        materials.create_material(admin, code=code, name=name, kind=kind)
    received = today - timedelta(days=30)
    lots = {
        "api": materials.receive_lot(
            tech,
            material="NTX-HCL",
            supplier="Medisca",
            supplier_lot="NTX-24117",
            expiry_date=today + timedelta(days=700),
            received_date=received,
            assay_percent=99.6,
            water_percent=0.4,
        ),
        "api_late": materials.receive_lot(
            tech,
            material="NTX-HCL",
            supplier="PCCA",
            supplier_lot="PC-88231",
            expiry_date=today + timedelta(days=900),
            received_date=received,
            assay_percent=98.9,
        ),
        "mcc": materials.receive_lot(
            tech,
            material="MCC-102",
            supplier="Medisca",
            supplier_lot="MCC-2401",
            expiry_date=today + timedelta(days=120),
            received_date=received,
        ),
        "syrup": materials.receive_lot(
            tech,
            material="ORA-SWEET",
            supplier="Perrigo",
            supplier_lot="OS-5510",
            expiry_date=today + timedelta(days=400),
            received_date=received,
        ),
        "caps": materials.receive_lot(
            tech,
            material="CAPS-3",
            supplier="Capsugel",
            supplier_lot="CG-7731",
            expiry_date=today + timedelta(days=1000),
            received_date=received,
        ),
        "expired": materials.receive_lot(
            tech,
            material="MCC-102",
            supplier="Spectrum",
            supplier_lot="SP-1187",
            expiry_date=today - timedelta(days=20),
            received_date=today - timedelta(days=400),
        ),
    }
    for key in ("api", "api_late", "mcc", "syrup", "caps", "expired"):
        materials.approve_lot(reviewer, lots[key].barcode, _sign("reviewer", "approved"))
    materials.receive_lot(
        tech,
        material="NTX-HCL",
        supplier="Fagron",
        supplier_lot="FG-0042",
        expiry_date=today + timedelta(days=800),
        received_date=today,
        assay_percent=100.2,
    )
    for body in (CAPSULE_FORMULA, LIQUID_FORMULA):
        formulas.create_formula(admin, body)
        formulas.approve_formula(reviewer, body["code"], _sign("reviewer", "approved"))
    storage.create_unit(
        admin, code="SHELF-A", name="Dispensary shelf A (controlled room temperature)", condition="room"
    )
    storage.create_unit(admin, code="FRIDGE-1", name="Pharmacy refrigerator 1", condition="refrigerated")
    return {key: lot.barcode for key, lot in lots.items()}


def _batches(lots: dict[str, str]) -> None:
    tech, tech2 = _user("tech"), _user("tech2")
    started = clock.utcnow() - timedelta(days=2)
    done = batches.create_batch(tech, formula="LDN-CAP", strength_mg=1.5, quantity=100, compounded_at=started)
    calc = done.calculation
    batches.record_component(
        tech,
        done.lot_number,
        barcode=lots["api"],
        quantity_mg=round(calc["api_mg"] + 0.4, 2),
        balance="XS205-01",
    )
    batches.record_component(
        tech, done.lot_number, barcode=lots["mcc"], quantity_mg=calc["filler_mg"], balance="PB3002"
    )
    batches.record_component(tech, done.lot_number, barcode=lots["caps"], count=100)
    batches.verify_weighing(tech2, done.lot_number, _sign("tech2", "verified"))
    batches.record_weight_check(
        tech, done.lot_number, [224.1, 226.3, 225.0, 223.8, 227.2, 224.6, 225.9, 222.9, 226.0, 225.4]
    )
    batches.complete(
        tech, done.lot_number, actual_yield=99, storage_unit="SHELF-A", at=started + timedelta(hours=2)
    )

    draft = batches.create_batch(tech, formula="LDN-CAP", strength_mg=4.5, quantity=60)
    batches.record_component(
        tech,
        draft.lot_number,
        barcode=lots["api"],
        quantity_mg=round(draft.calculation["api_mg"], 2),
        balance="XS205-01",
    )
    batches.create_batch(tech2, formula="LDN-LIQ-1", quantity=120, concentration=1.0, dose_amount=3.0)
