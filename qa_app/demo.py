"""Demonstration data: users of every role, materials and lots, the LDN formulas, storage units,
batches in draft, in quarantine and on hold, and a year of temperature readings with a few
excursions. It can run again: what exists is left alone.

Everything goes through the services, so every rule applies; a refusal leaves no record, so each
rule shows in the record it leaves: an API lot rejected for its assay outside the monograph
limits, a lot received by one reviewer and approved by another, a formula version dated by its
BUD category and superseded, a failed capsule weight check followed by a passing one with its
reason, an OOS assay invalidated by a laboratory cause with its one replacement result, an
excursion beyond the allowance counted at once, and one touching a data gap that held a batch
until its signed disposition.

Before them comes a history of about two years of LDN-CAP 1.5 mg and 4.5 mg capsules, each
record at its own time (the application's clock is moved back while it is written): the trends
of every attribute, a slow upward drift of the 1.5 mg assay that raises one Nelson rule 2
signal, and last year's annual product review signed in January."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import numpy as np
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import (
    Balance,
    Batch,
    Excursion,
    Formula,
    Material,
    Reading,
    StorageUnit,
    User,
)
from qa_app.models import types as model_types
from qa_app.services import (
    accounts,
    balances,
    batches,
    clock,
    excursions,
    formulas,
    investigations,
    materials,
    product_reviews,
    readings,
    release,
    results,
    storage,
    trends,
)
from qa_app.services.signatures import SignatureInput

DEMO_PASSWORD = "ldn-demo-password"
HELD_BATCH_DAYS = 6  # the oral liquid in FRIDGE-1 since then; a power cut since holds it
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
        "Prepare: Scan the lot of the microcrystalline cellulose and of the capsule shells; weigh the cellulose.",
        "Weigh: Weigh the naltrexone HCl on the semi-micro balance; a colleague checks it before it is mixed.",
        "Fill: Triturate the API with an equal amount of filler; add filler by geometric dilution.",
        "Fill: Blend 5 minutes; fill the capsules on the calibrated capsule machine.",
        "Check: Weigh at least 10 individual capsules (content weight) and record them.",
        "Complete: Count the capsules filled; put them in the vial and the batch on its shelf.",
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
    "steps": [
        "Weigh: Weigh the naltrexone HCl on the semi-micro balance.",
        "Fill: Dissolve the API in part of the vehicle.",
        "Fill: Make up to volume; mix 10 minutes; fill into the bottles.",
        "Complete: Record the volume filled as the actual yield.",
    ],
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


TRITURATION_FORMULA = {
    "code": "LDN-TRIT10",
    "name": "Naltrexone HCl 10 % w/w trituration in microcrystalline cellulose",
    "description": "Uniform white powder; a stock dilution for capsules of 0.5 to 1 mg",
    "dosage_form": "trituration",
    "concentration_percent": 10.0,
    "produces": "NTX-TRIT10",
    "components": [{"material": "NTX-HCL", "role": "api"}, {"material": "MCC-102", "role": "filler"}],
    "steps": [
        "Prepare: Weigh the cellulose on the semi-micro balance.",
        "Weigh: Weigh the naltrexone HCl on the semi-micro balance.",
        "Fill: Mix by geometric dilution in a mortar, pass through a 60-mesh sieve, mix 10 minutes.",
        "Fill: Fill into an amber jar; label with the intermediate lot's own label.",
    ],
    "equipment": ["Semi-micro balance (0.01 mg)", "Mortar and pestle", "60-mesh sieve"],
    "container": "Amber glass jar, screw cap",
    "storage": "room",
    "bud": {"category": "nonaqueous_other"},
}
TRITURATED_CAPSULE_FORMULA = CAPSULE_FORMULA | {
    "code": "LDN-CAP-T",
    "name": "Naltrexone HCl capsules 0.5–1 mg from the 10 % trituration",
    "strength_min_mg": 0.5,
    "strength_max_mg": 1.0,
    "components": [
        {"material": "NTX-TRIT10", "role": "api"},
        {"material": "MCC-102", "role": "filler"},
        {"material": "CAPS-3", "role": "container"},
    ],
    "steps": [
        "Prepare: Weigh the cellulose; scan the lot of the capsule shells.",
        "Weigh: Weigh the 10 % trituration (ten times the naltrexone HCl dose).",
        "Fill: Blend by geometric dilution, 5 minutes; fill the capsules on the calibrated machine.",
        "Check: Weigh at least 10 individual capsules (content weight) and record them.",
    ],
}
# Balances with the figures of their last USP <41> repeatability test: (code, name, d, s,
# capacity g, nominal test weight mg). Minimum weights 8.2 mg, 100.0 mg and 12,000 mg.
DEMO_BALANCES = (
    ("XS205-01", "Mettler Toledo XS205 semi-micro balance, compounding room", 0.01, 0.003, 220.0, 100_000.0),
    ("AB204-02", "Mettler Toledo AB204-S analytical balance, weighing bench", 0.1, 0.05, 220.0, 100_000.0),
    ("PB3002", "Mettler Toledo PB3002 precision balance, compounding room", 10.0, 6.0, 3200.0, 2_000_000.0),
)
CHECK_DAYS = 30
FAILED_CHECK_DAYS_AGO = 12  # AB204-02 read 100,140 mg for 100 g; levelled, cleaned, checked again


# An API lot whose certificate assay is outside the monograph limits (98.0–102.0 %, anhydrous):
# it cannot be approved, so the reviewer rejects it.
REJECTED_API_ASSAY = 97.2
REJECTED_API_REASON = (
    "Certificate assay 97.2 % anhydrous, outside the monograph limits 98.0–102.0 %: returned to the supplier."
)


def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _sign(username: str, meaning: str) -> SignatureInput:
    return SignatureInput(username, DEMO_PASSWORD, meaning)


def _users() -> None:
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


def load_demo() -> list[str]:
    """Create what is missing and return the lines to print."""
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    fresh = db.session.scalar(sa.select(Material.id).where(Material.code == "NTX-HCL")) is None
    if fresh:
        _history(clock.today(), clock.utcnow())
    _users()
    lines.extend(
        f"  {username:<10} {', '.join(roles):<12} {full_name}" for username, full_name, roles in DEMO_USERS
    )
    if fresh:
        lots = _master_data(clock.today())
        _batches(lots)
        _readings(_user("tech"))
        _excursion_decisions()
        _decisions(lots)
    _readings(_user("tech"))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Batch))
    lines.append(
        "Demo data: formulas LDN-CAP, LDN-LIQ-1, the 10 % trituration LDN-TRIT10 and LDN-CAP-T made from it; "
        f"balances XS205-01, AB204-02 and PB3002; storage units SHELF-A and FRIDGE-1; {count} batches."
    )
    lines.extend(_readings_lines())
    lines.extend(_history_lines())
    return lines


def _history_lines() -> list[str]:
    if db.session.scalar(sa.select(Formula.id).where(Formula.code == CAPSULE_FORMULA["code"])) is None:
        return []
    reviews = product_reviews.signed_reviews(CAPSULE_FORMULA["code"])
    if not reviews:
        return []
    waiting = len(trends.open_signals())
    return [
        f"Annual product review of {CAPSULE_FORMULA['code']} signed for {', '.join(str(r.year) for r in reviews)}; "
        f"{waiting} trend signal{'' if waiting == 1 else 's'} waiting for a reviewer."
    ]


def _balances(today: date) -> None:
    """Three qualified balances with a month of daily checks: the analytical one failed one
    morning and passed again after it was levelled and cleaned."""
    tech = _user("tech")
    now = clock.utcnow()
    _balance_records(today - timedelta(days=90))
    for code, _name, _d, _s, _capacity, nominal in DEMO_BALANCES:
        balance = db.session.scalar(sa.select(Balance).where(Balance.code == code))
        for days_ago in range(CHECK_DAYS, -1, -1):
            day, at = today - timedelta(days=days_ago), now - timedelta(days=days_ago)
            wobble = nominal * ((days_ago * 7) % 5 - 2) / 100_000  # within ±0.002 %
            if code == "AB204-02" and days_ago == FAILED_CHECK_DAYS_AGO:
                balances.store_check(tech, balance, nominal, nominal * 1.0014, day, at)
                at += timedelta(minutes=40)
            balances.store_check(tech, balance, nominal, round(nominal + wobble, 2), day, at)
    db.session.commit()


def _balance_records(qualified_on: date) -> None:
    """The three balances, unless they exist already."""
    admin = _user("admin")
    for code, name, d, s, capacity, _nominal in DEMO_BALANCES:
        if db.session.scalar(sa.select(Balance.id).where(Balance.code == code)) is None:
            balances.create_balance(
                admin,
                code=code,
                name=name,
                readability_mg=d,
                repeatability_sd_mg=s,
                capacity_g=capacity,
                qualified_on=qualified_on,
            )


def _materials_and_units() -> None:
    """The materials and the storage units, unless they exist already."""
    admin = _user("admin")
    for code, name, kind in (
        ("NTX-HCL", "Naltrexone hydrochloride USP", "api"),
        ("MCC-102", "Microcrystalline cellulose NF (Avicel PH-102)", "excipient"),
        ("ORA-SWEET", "Ora-Sweet syrup vehicle", "excipient"),
        ("CAPS-3", "Hard gelatin capsule shell #3, white opaque", "container"),
        ("NTX-TRIT10", "Naltrexone HCl 10 % w/w trituration in MCC (made in house)", "intermediate"),
    ):
        if db.session.scalar(sa.select(Material.id).where(Material.code == code)) is None:
            limits = {"assay_min_percent": 98.0, "assay_max_percent": 102.0} if kind == "api" else {}
            materials.create_material(admin, code=code, name=name, kind=kind, **limits)
    for code, name, condition in (
        ("SHELF-A", "Dispensary shelf A (controlled room temperature)", "room"),
        ("FRIDGE-1", "Pharmacy refrigerator 1", "refrigerated"),
    ):
        if db.session.scalar(sa.select(StorageUnit.id).where(StorageUnit.code == code)) is None:
            storage.create_unit(admin, code=code, name=name, condition=condition)


def _approved_formula(body: dict) -> None:
    if db.session.scalar(sa.select(Formula.id).where(Formula.code == body["code"])) is None:
        formulas.create_formula(_user("admin"), body)
        formulas.approve_formula(_user("reviewer"), body["code"], _sign("reviewer", "approved"))


def _master_data(today: date) -> dict[str, str]:
    admin, reviewer, tech = _user("admin"), _user("reviewer"), _user("tech")
    _balances(today)
    _materials_and_units()
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
            assay_basis="anhydrous",
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
            assay_basis="as_is",
        ),
        "mcc": materials.receive_lot(
            tech,
            material="MCC-102",
            supplier="Medisca",
            supplier_lot="MCC-2401",
            expiry_date=today + timedelta(days=120),
            received_date=received,
        ),
        # Received by a reviewer covering the goods-in desk, so another reviewer approves it.
        "syrup": materials.receive_lot(
            _user("reviewer2"),
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
        assay_basis="as_is",
    )
    short = materials.receive_lot(
        tech,
        material="NTX-HCL",
        supplier="Letco",
        supplier_lot="LT-3390",
        expiry_date=today + timedelta(days=600),
        received_date=today - timedelta(days=10),
        assay_percent=REJECTED_API_ASSAY,
        assay_basis="anhydrous",
        water_percent=0.6,
    )
    materials.reject_lot(reviewer, short.barcode, _sign("reviewer", "rejected"), REJECTED_API_REASON)
    # The oral liquid was first dated by its category (aqueous, not preserved: 14 days, and so
    # refrigerated), then by the stability study in version 2.
    formulas.create_formula(admin, LIQUID_FORMULA | {"bud": {"category": "aqueous_nonpreserved"}})
    formulas.approve_formula(reviewer, LIQUID_FORMULA["code"], _sign("reviewer", "approved"))
    formulas.new_version(admin, LIQUID_FORMULA["code"], LIQUID_FORMULA)
    formulas.approve_formula(reviewer, LIQUID_FORMULA["code"], _sign("reviewer", "approved"))
    for body in (CAPSULE_FORMULA, TRITURATION_FORMULA, TRITURATED_CAPSULE_FORMULA):
        _approved_formula(body)
    return {key: lot.barcode for key, lot in lots.items()}


CAPSULE_WEIGHTS = [224.1, 226.3, 225.0, 223.8, 227.2, 224.6, 225.9, 222.9, 226.0, 225.4]
# Capsules 2 and 6 under 90 % of the 225 mg fill (202.5 mg): the check fails, and the new
# check after it gives the reason, which stays on the batch as a documented deviation.
UNDERFILLED_WEIGHTS = [224.1, 199.8, 225.0, 223.8, 227.2, 201.7, 225.9, 222.9, 226.0, 225.4]
REFILL_REASON = (
    "Capsules 2 and 6 under-filled (199.8 and 201.7 mg): powder bridged in the filling plate. "
    "All 100 capsules emptied, the blend re-sieved and the capsules re-filled; 10 weighed again."
)


def _trituration(lots: dict[str, str], started: datetime) -> str:
    """10 g of the 10 % trituration made by tech, verified by tech2, its appearance recorded and
    its intermediate lot approved by the reviewer; returns the intermediate lot's barcode."""
    tech, tech2 = _user("tech"), _user("tech2")
    done = batches.create_batch(
        tech, formula="LDN-TRIT10", quantity_mg=10_000, api_lot=lots["api"], compounded_at=started
    )
    api_mg = round(done.calculation["api_mg"] + 0.3, 2)
    batches.record_component(
        tech, done.lot_number, barcode=lots["api"], quantity_mg=api_mg, balance="XS205-01"
    )
    batches.record_component(
        tech, done.lot_number, barcode=lots["mcc"], quantity_mg=round(10_000 - api_mg, 2), balance="XS205-01"
    )
    batches.verify_weighing(tech2, done.lot_number, _sign("tech2", "verified"))
    batches.complete(
        tech, done.lot_number, actual_yield=9_962, storage_unit="SHELF-A", at=started + timedelta(hours=1)
    )
    results.record_result(
        tech,
        done.lot_number,
        test="appearance",
        value="Uniform white to off-white powder",
        tested_at=started + timedelta(hours=2),
    )
    produced = batches.get_batch(done.lot_number).produced_lot
    materials.approve_lot(_user("reviewer"), produced.barcode, _sign("reviewer", "approved"))
    return produced.barcode


def _finished_capsules(
    lots: dict[str, str],
    started: datetime,
    strength_mg: float = 1.5,
    refilled: bool = False,
    formula: str = "LDN-CAP",
    api_lot: str | None = None,
) -> str:
    """100 capsules compounded by tech, verified by tech2, weighed and put on SHELF-A;
    ``refilled``: the first weight check failed and the capsules were re-filled. ``api_lot``:
    the lot weighed as the API (an intermediate lot for a formula made from a trituration)."""
    tech, tech2 = _user("tech"), _user("tech2")
    api_lot = api_lot or lots["api"]
    done = batches.create_batch(
        tech, formula=formula, strength_mg=strength_mg, quantity=100, api_lot=api_lot, compounded_at=started
    )
    calc = done.calculation
    batches.record_component(
        tech,
        done.lot_number,
        barcode=api_lot,
        quantity_mg=round(calc["api_mg"] + 0.4, 2),
        balance="XS205-01",
    )
    batches.record_component(
        tech, done.lot_number, barcode=lots["mcc"], quantity_mg=calc["filler_mg"], balance="PB3002"
    )
    batches.record_component(tech, done.lot_number, barcode=lots["caps"], count=100)
    batches.verify_weighing(tech2, done.lot_number, _sign("tech2", "verified"))
    if refilled:
        batches.record_weight_check(tech, done.lot_number, UNDERFILLED_WEIGHTS)
    batches.record_weight_check(
        tech, done.lot_number, CAPSULE_WEIGHTS, reason=REFILL_REASON if refilled else None
    )
    batches.complete(
        tech, done.lot_number, actual_yield=99, storage_unit="SHELF-A", at=started + timedelta(hours=2)
    )
    return done.lot_number


CU_UNITS = [99.2, 101.4, 98.7, 100.9, 99.8, 102.1, 97.9, 100.3, 101.0, 99.5]


OOS_ASSAY = 86.4
REPLACEMENT_ASSAY = 99.1
LABORATORY_CAUSE = (
    "Sample solution sonicated 5 minutes instead of the 15 the method requires; "
    "undissolved powder seen in the flask."
)


def _tested(lot_number: str, tested_at: datetime, oos: bool = False) -> None:
    """Passing results from the contract laboratory. ``oos``: the first assay is out of
    specification; the investigation finds a laboratory cause and grants one replacement."""
    tech, reviewer = _user("tech"), _user("reviewer")
    if oos:
        failed = results.record_result(
            tech, lot_number, test="assay", value=OOS_ASSAY, analyst="Lab: K. Osei", tested_at=tested_at
        )
        investigation = investigations.open_investigation(
            reviewer, lot_number, result_id=failed.id, retests_allowed=0
        )
        investigations.close_investigation(
            reviewer,
            investigation.id,
            _sign("reviewer", "reviewed"),
            phase="I",
            assignable_cause="laboratory",
            cause=LABORATORY_CAUSE,
            conclusion="Result invalidated; the assay is re-done once from the retained sample.",
        )
    assay = (
        (("assay", REPLACEMENT_ASSAY, tested_at + timedelta(days=1)),)
        if oos
        else (("assay", 99.4, tested_at),)
    )
    for test, value, at in (*assay, ("appearance", "Conforms to description", tested_at)):
        results.record_result(tech, lot_number, test=test, value=value, analyst="Lab: K. Osei", tested_at=at)
    results.record_result(
        tech,
        lot_number,
        test="content_uniformity",
        values=CU_UNITS,
        analyst="Lab: K. Osei",
        tested_at=tested_at,
    )


def _decisions(lots: dict[str, str]) -> None:
    """Batches a reviewer has decided: released (with its certificate), recalled, rejected,
    one awaiting release, and a discarded draft."""
    reviewer = _user("reviewer")
    now = clock.utcnow()
    for days, strength, decision in (
        (40, 3.0, "recall"),
        (25, 4.5, "reject"),
        (12, 3.0, "release"),
        (5, 3.0, None),
    ):
        # The released batch was re-filled after a failed weight check (3.0 mg: its failed check
        # stays out of the 1.5 mg trend); the one awaiting release had an out-of-specification
        # assay with a laboratory cause.
        lot = _finished_capsules(lots, now - timedelta(days=days), strength, refilled=decision == "release")
        _tested(lot, now - timedelta(days=days - 2), oos=decision is None)
        if decision in ("release", "recall"):
            release.release(reviewer, lot, _sign("reviewer", "released"))
        if decision == "recall":
            release.recall(
                reviewer,
                lot,
                _sign("reviewer", "recalled"),
                "Patient reports of capsule discolouration; under review.",
            )
        elif decision == "reject":
            release.reject(
                reviewer,
                lot,
                _sign("reviewer", "rejected"),
                "Capsules chipped on filling: appearance unacceptable.",
            )
    # 0.5 mg capsules from the 10 % trituration: 500 mg of it per 100 capsules, not 50 mg of API.
    triturated = _trituration(lots, now - timedelta(days=20))
    for days, release_it in ((15, True), (4, False)):
        lot = _finished_capsules(
            lots, now - timedelta(days=days), 0.5, formula="LDN-CAP-T", api_lot=triturated
        )
        _tested(lot, now - timedelta(days=days - 2))
        if release_it:
            release.release(reviewer, lot, _sign("reviewer", "released"))
    tech = _user("tech")
    spoilt = batches.create_batch(tech, formula="LDN-CAP", strength_mg=0.5, quantity=50)
    batches.discard(tech, spoilt.lot_number, "Wrong strength entered on opening; reopened as a new batch.")


def _batches(lots: dict[str, str]) -> None:
    tech, tech2 = _user("tech"), _user("tech2")
    _finished_capsules(lots, clock.utcnow() - timedelta(days=2))

    draft = batches.create_batch(tech, formula="LDN-CAP", strength_mg=4.5, quantity=60)
    batches.record_component(
        tech,
        draft.lot_number,
        barcode=lots["api"],
        quantity_mg=round(draft.calculation["api_mg"], 2),
        balance="XS205-01",
    )
    batches.create_batch(tech2, formula="LDN-LIQ-1", quantity=120, concentration=1.0, dose_amount=3.0)

    # In FRIDGE-1 since six days ago: the recent power cut in the readings puts it on hold.
    placed = clock.utcnow() - timedelta(days=HELD_BATCH_DAYS)
    liquid = batches.create_batch(
        tech, formula="LDN-LIQ-1", quantity=100, concentration=1.0, dose_amount=3.0, compounded_at=placed
    )
    batches.record_component(
        tech,
        liquid.lot_number,
        barcode=lots["api"],
        quantity_mg=round(liquid.calculation["api_mg"] + 0.2, 2),
        balance="XS205-01",
    )
    batches.record_component(
        tech, liquid.lot_number, barcode=lots["syrup"], quantity_mg=100_350.0, balance="PB3002"
    )
    batches.verify_weighing(tech2, liquid.lot_number, _sign("tech2", "verified"))
    batches.complete(
        tech, liquid.lot_number, actual_yield=99, storage_unit="FRIDGE-1", at=placed + timedelta(hours=1)
    )


# A year of readings every 5 minutes per unit, the same values every run (fixed seeds) with the
# times running up to now: the logger's CSV export for the year before the last week, then the
# last week as the sensor posts it. The excursions are written over the usual readings.
DEMO_UNITS = ("SHELF-A", "FRIDGE-1")
STEP_S = 300
READINGS_PER_UNIT = 365 * 24 * 12  # 105,120
RECENT_READINGS = 7 * 24 * 12
SEED = 795
ROOM_C = 19.0
FRIDGE_C = 4.8

Shape = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _door_left_open(minutes: np.ndarray, usual: np.ndarray) -> np.ndarray:
    """9–11 °C for forty minutes while the door stands open, back to 5 °C soon after it is shut."""
    return np.interp(minutes, [0, 5, 20, 40, 45, 55], [5.1, 9.4, 11.0, 9.7, 7.4, 5.4])


def _hot_afternoon(minutes: np.ndarray, usual: np.ndarray) -> np.ndarray:
    """The shelf follows the room up to 27–28 °C and back over six hours."""
    return usual + 5.2 * np.sin(np.pi * minutes / 360.0) ** 2


def _power_cut(hours: float) -> Shape:
    """The cabinet warms towards the room until the power returns; the compressor then pulls
    it back to 4.8 °C within about an hour."""
    off = hours * 60.0

    def shape(minutes: np.ndarray, usual: np.ndarray) -> np.ndarray:
        warmed = ROOM_C - (ROOM_C - FRIDGE_C) * np.exp(-np.minimum(minutes, off) / 154.0)
        cooling = FRIDGE_C + (warmed - FRIDGE_C) * np.exp(-np.maximum(minutes - off, 0.0) / 30.0)
        return np.where(minutes <= off, warmed, cooling)

    return shape


def _set_to_coldest(minutes: np.ndarray, usual: np.ndarray) -> np.ndarray:
    """Below 0 °C for a quarter of an hour after the defrost, back above 2 °C at 25 minutes."""
    return np.interp(minutes, [0, 5, 10, 15, 20], [1.2, -0.6, -1.4, -0.9, 0.8])


def _restocked(minutes: np.ndarray, usual: np.ndarray) -> np.ndarray:
    """9–10 °C while the shelves are restocked; the readings of the sensor's outage are missing."""
    return np.interp(minutes, [0, 15, 105, 110, 120], [8.6, 9.5, 8.4, 6.9, 5.3])


@dataclass(frozen=True)
class DemoExcursion:
    """Readings replaced for ``minutes`` from a local time ``days_ago`` days before today;
    ``missing`` (minutes from its start, ``[from, to)``): readings the sensor never sent."""

    unit: str
    days_ago: int
    local_hour: float
    minutes: int
    shape: Shape
    seed: int
    missing: tuple[int, int] | None = None


# The excursion that went below 0 °C for 25 minutes counts at once although the unit alarms
# after 30; the restocking one holds the batch placed six days ago until its disposition.
FROZEN_DAYS_AGO = 45
GAP_DAYS_AGO = 5
DEMO_EXCURSIONS = (
    DemoExcursion("FRIDGE-1", 200, 10.25, 60, _door_left_open, 1),  # allowable
    DemoExcursion("FRIDGE-1", 130, 1.0, 390, _power_cut(5.0), 2),  # up to ~17 °C: disposition
    DemoExcursion("SHELF-A", 75, 12.0, 360, _hot_afternoon, 3),  # 26–28 °C: allowable
    DemoExcursion("FRIDGE-1", FROZEN_DAYS_AGO, 8.0, 25, _set_to_coldest, 5),  # below 0 °C: at once
    DemoExcursion("FRIDGE-1", GAP_DAYS_AGO, 10.0, 120, _restocked, 6, missing=(20, 105)),  # 90 min gap
    DemoExcursion("FRIDGE-1", 3, 13.0, 330, _power_cut(4.0), 4),  # holds the batch placed 6 days ago
)


def demo_series(times: np.ndarray, utc_offset_s: float) -> dict[str, np.ndarray]:
    """°C per unit at ``times`` (epoch seconds, every 5 minutes, ending today): SHELF-A about
    21–23 °C following the day, FRIDGE-1 about 4–6 °C with the compressor cycling, and the
    excursions of DEMO_EXCURSIONS; ``utc_offset_s`` puts the day and the excursions in local time."""
    rng = np.random.default_rng(SEED)
    local_hour = (times + utc_offset_s) % 86_400 / 3600.0
    shelf = 22.0 + 0.8 * np.sin(2 * np.pi * (local_hour - 9.0) / 24.0)
    cycle = times / (42 * 60.0) % 1.0  # the compressor runs every 42 minutes
    fridge = np.where(cycle < 0.8, 4.2 + 2.0 * cycle, 5.8 - 8.0 * (cycle - 0.8))
    series = {
        "SHELF-A": shelf + rng.normal(0.0, 0.15, times.size),
        "FRIDGE-1": fridge + rng.normal(0.0, 0.1, times.size),
    }
    for event, first in _excursion_indices(times, utc_offset_s):
        minutes = np.arange(0, event.minutes, STEP_S // 60, dtype=np.float64)
        usual = {"SHELF-A": shelf, "FRIDGE-1": fridge}[event.unit][first : first + minutes.size]
        noise = np.random.default_rng(event.seed).normal(0.0, 0.08, minutes.size)
        series[event.unit][first : first + minutes.size] = event.shape(minutes, usual) + noise
    return {code: np.round(values, 1) for code, values in series.items()}


def _excursion_indices(times: np.ndarray, utc_offset_s: float) -> list[tuple[DemoExcursion, int]]:
    """Each demo excursion with the index in ``times`` of its first reading."""
    today = (times[-1] + utc_offset_s) // 86_400 * 86_400 - utc_offset_s
    found = []
    for event in DEMO_EXCURSIONS:
        begins = today - event.days_ago * 86_400 + round(event.local_hour * 3600)
        found.append((event, int((begins - times[0]) // STEP_S)))
    return found


def demo_kept(times: np.ndarray, utc_offset_s: float) -> dict[str, np.ndarray]:
    """Per unit, which of ``times`` have a reading: all but those of a sensor outage."""
    kept = {code: np.ones(times.size, dtype=bool) for code in DEMO_UNITS}
    for event, first in _excursion_indices(times, utc_offset_s):
        if event.missing is not None:
            lo, hi = (first + minutes * 60 // STEP_S for minutes in event.missing)
            kept[event.unit][lo:hi] = False
    return kept


def _readings(tech: User) -> None:
    """A year of readings for each demo unit that has none, through the readings service."""
    empty = [
        code
        for code in DEMO_UNITS
        if db.session.scalar(sa.select(Reading.at).join(StorageUnit).where(StorageUnit.code == code).limit(1))
        is None
    ]
    if not empty:
        return
    now = clock.utcnow()
    end = int(now.timestamp()) // STEP_S * STEP_S
    times = end - STEP_S * np.arange(READINGS_PER_UNIT - 1, -1, -1, dtype=np.int64)
    offset = now.astimezone(clock.zone()).utcoffset().total_seconds()
    stamps = np.datetime_as_string(times.astype("datetime64[s]"), timezone="UTC").tolist()
    series = demo_series(times.astype(np.float64), offset)
    kept = demo_kept(times.astype(np.float64), offset)
    split = READINGS_PER_UNIT - RECENT_READINGS
    for code in empty:
        values = series[code].tolist()
        year = np.flatnonzero(kept[code][:split]).tolist()
        week = (split + np.flatnonzero(kept[code][split:])).tolist()
        export = _rows([stamps[i] for i in year], [values[i] for i in year], first_row=2)  # row 1: header
        readings.ingest(code, export, source="csv", actor=tech, filename=f"{code.lower()}-logger-year.csv")
        sent = _rows([stamps[i] for i in week], [values[i] for i in week], first_row=1)
        readings.ingest(code, sent, source="api", actor=tech)


FROZEN_ACKNOWLEDGEMENT = (
    "Thermostat left at its coldest setting after the defrost; reset to 4 °C. "
    "No preparation was in the refrigerator."
)
GAP_DISPOSITION = (
    "Sensor offline 1 h 30 min (network outage) while the shelves were restocked. The unit's own "
    "display log shows 9.8 °C at most and 5.1 °C by noon; the oral liquid's stability data cover "
    "this. Acceptable."
)


def _excursion_decisions() -> None:
    """The reviewer acknowledges the excursion below 0 °C and signs a disposition for the oral
    liquid on the one the sensor's outage touches; the later power cut still holds it."""
    reviewer = _user("reviewer")
    fridge = (
        sa.select(Excursion)
        .join(StorageUnit)
        .where(StorageUnit.code == "FRIDGE-1", Excursion.withdrawn_at.is_(None))
    )
    frozen = db.session.scalar(fridge.where(Excursion.min_c < 0.0))
    excursions.acknowledge(reviewer, frozen.id, FROZEN_ACKNOWLEDGEMENT)
    gap = db.session.scalar(fridge.where(Excursion.gap_minutes > 0.0))
    held = db.session.scalar(
        sa.select(Batch.lot_number).where(
            Batch.status == "on_hold", Batch.storage_unit_id == gap.storage_unit_id
        )
    )
    excursions.record_disposition(
        reviewer,
        held,
        excursions.DispositionInput(gap.id, "acceptable", GAP_DISPOSITION),
        _sign("reviewer", "reviewed"),
    )


def _rows(stamps: list[str], values: list[float], first_row: int) -> list[readings.RowInput]:
    return [
        readings.RowInput(n, at, c) for n, (at, c) in enumerate(zip(stamps, values, strict=True), first_row)
    ]


def _readings_lines() -> list[str]:
    """What the readings gave: counts per unit, excursions, batches held for a disposition."""
    counts = dict(
        db.session.execute(
            sa.select(StorageUnit.code, sa.func.count(Reading.at))
            .join(Reading, Reading.storage_unit_id == StorageUnit.id)
            .where(StorageUnit.code.in_(DEMO_UNITS))
            .group_by(StorageUnit.code)
        ).all()
    )
    if not counts:
        return []
    found = db.session.scalars(
        sa.select(Excursion.classification).where(Excursion.withdrawn_at.is_(None))
    ).all()
    held = db.session.scalars(
        sa.select(Batch.lot_number).where(Batch.status == "on_hold").order_by(Batch.lot_number)
    ).all()
    lines = [
        "Readings every 5 minutes: "
        + ", ".join(f"{code} {counts[code]:,}" for code in DEMO_UNITS if code in counts)
        + f"; {len(found)} excursions, {found.count('needs_disposition')} needing a disposition."
    ]
    if held:
        lines.append(f"On hold for a disposition: {', '.join(held)}.")
    return lines


# --- the history: two years of capsules, their trends and last year's signed review ----------------

# LDN-CAP 1.5 mg and 4.5 mg, each every four weeks (one batch a fortnight in all) for about two
# years up to five weeks ago: made, verified, weighed, tested by the contract laboratory and
# decided, each at its own time. The assays of 1.5 mg creep up by 1.5 % over its last ten batches
# (Nelson rule 2 fires once); 4.5 mg stays in control. Last year's review is signed in January.
HISTORY_STRENGTHS = (1.5, 4.5)
HISTORY_BATCHES = 26  # per strength: 26 × 4 weeks covers the whole of last year from any today
HISTORY_EVERY = timedelta(weeks=4)
HISTORY_LAST_DAYS_AGO = 35  # the last 1.5 mg batch: the Monday 35 to 41 days before today
HISTORY_SEED = 843  # noise that leaves every other series without a signal, checked point by point
ASSAY_SD = 0.45
UNIT_SD = 1.2  # % LC, between the capsules of one batch
CAPSULE_SD_MG = 1.4
DRIFT_BATCHES = 10
DRIFT_PERCENT = 1.5
# Last year's first 4.5 mg batch from April is rejected after testing and its first 1.5 mg batch
# from July is released, then recalled three weeks later.
HISTORY_REJECTED_FROM = (4.5, 4)  # (strength, month of last year)
HISTORY_RECALLED_FROM = (1.5, 7)
HISTORY_REJECT_REASON = (
    "Vials labelled with the directions of another preparation at packaging; the procedure does not "
    "allow relabelling: destroyed."
)
HISTORY_RECALL_REASON = (
    "Labels of the dispensed vials printed 15 mg instead of 1.5 mg; every vial recovered from the patients."
)


@dataclass(frozen=True)
class HistoryNumbers:
    """What the history's batches of one strength gave, oldest first: the reported assay (% LC),
    the ten content-uniformity units (% LC) and the ten capsule content weights (mg)."""

    assays: list[float]
    units: list[list[float]]
    weights: list[list[float]]


def history_numbers(strength_mg: float) -> HistoryNumbers:
    """The same numbers every run: assays about 100.0 % with the laboratory's usual spread (1.5 mg
    drifting up over its last batches), units about 100 % and capsules about 225 mg."""
    seeds = [np.random.default_rng([HISTORY_SEED, round(strength_mg * 10), n]) for n in range(3)]
    assays = 100.0 + seeds[0].normal(0.0, ASSAY_SD, HISTORY_BATCHES)
    if strength_mg == HISTORY_STRENGTHS[0]:
        assays[-DRIFT_BATCHES:] += np.linspace(DRIFT_PERCENT / DRIFT_BATCHES, DRIFT_PERCENT, DRIFT_BATCHES)
    units = 100.0 + seeds[1].normal(0.0, UNIT_SD, (HISTORY_BATCHES, 10))
    weights = CAPSULE_FORMULA["fill_weight_mg"] + seeds[2].normal(0.0, CAPSULE_SD_MG, (HISTORY_BATCHES, 10))
    return HistoryNumbers(
        [round(float(v), 1) for v in assays],
        np.round(units, 1).tolist(),
        np.round(weights, 1).tolist(),
    )


def history_days(today: date) -> dict[float, list[date]]:
    """The day each history batch of each strength was compounded, oldest first: 1.5 mg on
    Mondays, 4.5 mg on the Wednesdays of the weeks in between."""
    last = today - timedelta(days=HISTORY_LAST_DAYS_AGO)
    last -= timedelta(days=last.weekday())
    ends = {1.5: last, 4.5: last - timedelta(days=12)}
    return {
        strength: [end - HISTORY_EVERY * (HISTORY_BATCHES - 1 - i) for i in range(HISTORY_BATCHES)]
        for strength, end in ends.items()
    }


@contextmanager
def _history_clock(start: datetime) -> Iterator[Callable[[datetime], None]]:
    """The application's clock moved back to ``start`` for the history; the function given moves
    it on (never back). Every "now" of the services reads ``models.types.utcnow``; the real
    clock is back when the block ends, whatever happens in it."""
    moment = start

    class _Then(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)

    def move_to(when: datetime) -> None:
        nonlocal moment
        if when < moment:
            raise ValueError(f"the history's clock cannot go back from {moment} to {when}")
        moment = when

    saved = model_types.datetime
    model_types.datetime = _Then
    try:
        yield move_to
    finally:
        model_types.datetime = saved


def _history(today: date, now: datetime) -> None:
    """Everything of the history at its own time, oldest first; the real clock is untouched."""
    zone = clock.zone()

    def local(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)

    days = history_days(today)
    first = min(d[0] for d in days.values()) - timedelta(days=7)
    events: list[tuple[datetime, int, Callable[[], None]]] = []
    made: dict[tuple[float, int], str] = {}
    lots: dict[str, str] = {}
    moved: list[Callable[[datetime], None]] = []  # the history clock's move, once it runs

    def add(at: datetime, action: Callable[[], None]) -> None:
        events.append((at, len(events), action))

    def setup() -> None:
        _users()
        _balance_records(first - timedelta(days=3))
        _materials_and_units()
        _approved_formula(CAPSULE_FORMULA)
        tech, reviewer = _user("tech"), _user("reviewer")
        for key, material, supplier, supplier_lot, years, assay in (
            ("api", "NTX-HCL", "Medisca", "NTX-22871", 3, 99.8),
            ("mcc", "MCC-102", "Medisca", "MCC-2217", 3, None),
            ("caps", "CAPS-3", "Capsugel", "CG-6609", 4, None),
        ):
            lot = materials.receive_lot(
                tech,
                material=material,
                supplier=supplier,
                supplier_lot=supplier_lot,
                expiry_date=first + timedelta(days=365 * years),
                received_date=first,
                **({"assay_percent": assay, "assay_basis": "as_is"} if assay else {}),
            )
            materials.approve_lot(reviewer, lot.barcode, _sign("reviewer", "approved"))
            lots[key] = lot.barcode

    add(local(first, 9), setup)
    for day in sorted({d for ds in days.values() for d in ds}):
        add(local(day, 8), lambda day=day: _checked_balances(day))
    decisions = {}
    for (strength, month), decision in ((HISTORY_REJECTED_FROM, "reject"), (HISTORY_RECALLED_FROM, "recall")):
        found = next(i for i, day in enumerate(days[strength]) if day >= date(today.year - 1, month, 1))
        decisions[(strength, found)] = decision
    for strength, strength_days in days.items():
        numbers = history_numbers(strength)
        for i, day in enumerate(strength_days):
            key, start = (strength, i), local(day, 9)
            decision = decisions.get(key, "release")
            add(start, partial(_history_batch, lots, made, key, start, numbers.weights[i], moved))
            results_of = partial(_history_results, made, key, numbers.assays[i], numbers.units[i])
            add(local(day + timedelta(days=2), 14), results_of)
            decide = partial(_history_decision, made, key, "reject" if decision == "reject" else "release")
            add(local(day + timedelta(days=3), 11), decide)
            if decision == "recall":
                add(local(day + timedelta(days=24), 10), partial(_history_decision, made, key, "recall"))
    review_day = min(date(today.year, 1, 15), today - timedelta(days=2))
    add(local(review_day, 16), lambda: _history_review(today.year - 1))

    events.sort(key=lambda e: (e[0], e[1]))
    if events[-1][0] >= now:
        raise RuntimeError("the demonstration history must end before now")
    with _history_clock(local(first, 9)) as move_to:
        moved.append(move_to)
        for at, _n, action in events:
            move_to(at)
            action()


def _checked_balances(day: date) -> None:
    """The morning's performance check of each balance, before the day's weighings."""
    tech = _user("tech")
    for n, (code, *_figures, nominal) in enumerate(DEMO_BALANCES):
        wobble = nominal * ((day.toordinal() * 7 + n) % 5 - 2) / 100_000  # within ±0.002 %
        balances.record_check(tech, code, nominal_mg=nominal, observed_mg=round(nominal + wobble, 2))


def _history_batch(
    lots: dict[str, str],
    made: dict[tuple[float, int], str],
    key: tuple[float, int],
    started: datetime,
    weights: list[float],
    moved: list[Callable[[datetime], None]],
) -> None:
    """100 capsules made, verified and weighed in the hour, then put on SHELF-A."""
    tech, tech2 = _user("tech"), _user("tech2")
    strength_mg, move_to = key[0], moved[0]
    done = batches.create_batch(
        tech,
        formula="LDN-CAP",
        strength_mg=strength_mg,
        quantity=100,
        api_lot=lots["api"],
        compounded_at=started,
    )
    calc = done.calculation
    move_to(started + timedelta(minutes=12))
    batches.record_component(
        tech,
        done.lot_number,
        barcode=lots["api"],
        quantity_mg=round(calc["api_mg"] + 0.2, 2),
        balance="XS205-01",
    )
    batches.record_component(
        tech, done.lot_number, barcode=lots["mcc"], quantity_mg=calc["filler_mg"], balance="PB3002"
    )
    batches.record_component(tech, done.lot_number, barcode=lots["caps"], count=100)
    move_to(started + timedelta(minutes=20))
    batches.verify_weighing(tech2, done.lot_number, _sign("tech2", "verified"))
    move_to(started + timedelta(minutes=50))
    batches.record_weight_check(tech, done.lot_number, weights)
    move_to(started + timedelta(hours=1))
    batches.complete(
        tech, done.lot_number, actual_yield=99, storage_unit="SHELF-A", at=started + timedelta(hours=1)
    )
    made[key] = done.lot_number


def _history_results(
    made: dict[tuple[float, int], str], key: tuple[float, int], assay: float, units: list[float]
) -> None:
    """The contract laboratory's assay, appearance and content uniformity, two days later."""
    tech, lot_number = _user("tech"), made[key]
    tested_at = clock.utcnow()
    for test, value in (("assay", assay), ("appearance", "Conforms to description")):
        results.record_result(
            tech, lot_number, test=test, value=value, analyst="Lab: K. Osei", tested_at=tested_at
        )
    results.record_result(
        tech,
        lot_number,
        test="content_uniformity",
        values=units,
        analyst="Lab: K. Osei",
        tested_at=tested_at,
    )


def _history_decision(made: dict[tuple[float, int], str], key: tuple[float, int], decision: str) -> None:
    """The reviewer's decision: ``reject``, ``release`` or, for a released batch, ``recall``."""
    reviewer, lot_number = _user("reviewer"), made[key]
    if decision == "reject":
        release.reject(reviewer, lot_number, _sign("reviewer", "rejected"), HISTORY_REJECT_REASON)
    elif decision == "recall":
        release.recall(reviewer, lot_number, _sign("reviewer", "recalled"), HISTORY_RECALL_REASON)
    else:
        release.release(reviewer, lot_number, _sign("reviewer", "released"))


def review_conclusions(year: int) -> str:
    """The reviewer's conclusions on the year of LDN-CAP, from what its review shows."""
    formula = db.session.scalar(sa.select(Formula).where(Formula.code == CAPSULE_FORMULA["code"]))
    shown = product_reviews.content(formula, year)
    counts = dict(shown.counts)
    text = [
        f"{counts['Batches made']} batches were compounded in {year} to the approved version of the formula; "
        f"{counts['Released']} were released, each meeting its specification."
    ]
    if counts["Rejected"] != "0":
        text.append(f"Rejected before release: {counts['Rejected']} (a labelling error at packaging).")
    if counts["Recalled"] != "0":
        text.append(
            f"Recalled after release: {counts['Recalled']} (a label misprint); every vial was recovered."
        )
    if shown.signals:
        seen = "; ".join(
            f"{title}: Nelson rule {rule} at batch {lot}" for title, rule, lot, *_rest in shown.signals
        )
        text.append(
            f"Trend signals: {seen}. The API lot's certificate and the laboratory's method are being checked; "
            "trending continues batch by batch."
        )
    else:
        text.append(
            "Assay, content uniformity, capsule weight and yield stayed in statistical control for every "
            "strength, with no trend signal; the assay capability of each strength is shown above."
        )
    text.append("No change to the formula, the specification or the process is needed.")
    return " ".join(text)


def _history_review(year: int) -> None:
    product_reviews.sign(
        _user("reviewer"),
        CAPSULE_FORMULA["code"],
        year,
        review_conclusions(year),
        _sign("reviewer", "reviewed"),
    )
