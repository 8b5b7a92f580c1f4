"""What every benchmark starts from (a migrated database, three users, the master data), the
batch generator, and the small helpers that turn timings into figures for ``bench/report.py``."""

import json
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import flask_migrate
import sqlalchemy as sa

from qa_app.domain import compounding
from qa_app.extensions import db
from qa_app.models import Batch, FormulaVersion, MaterialLot, User
from qa_app.services import accounts, clock
from tests.builders import setup_master_data
from tests.conftest import PASSWORD

USERS = (("tina", ["technician"]), ("rob", ["reviewer"]), ("ada", ["admin"]))
STRENGTHS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.5)


def prepare() -> dict[str, str]:
    """Inside an app context: schema, users (password: the tests' PASSWORD), lots, formulas, units."""
    flask_migrate.upgrade()
    for username, roles in USERS:
        accounts.create_user(
            None,
            username=username,
            full_name=username.title(),
            roles=roles,
            password=PASSWORD,
            actor_name="bench",
        )
    return setup_master_data(clock.today())


def calculation(version: FormulaVersion, strength: float) -> dict:
    """The real frozen calculation, as the service would store it (100 units or 100 mL)."""
    body = version.body
    capsule = version.dosage_form == "capsule"
    return compounding.calculate(
        version.dosage_form,
        100.0,
        strength if capsule else 1.0,
        99.0,
        body["overage_percent"],
        body.get("fill_weight_mg"),
        api_lot="LOT000001",
    ).as_dict()


def insert_batches(
    count: int,
    statuses: list[str],
    weights: list[int],
    formula: str | None = None,
    seed: int = 7,
    prefix: str = "LDN",
    days: int = 365,
    strengths: tuple[float, ...] = STRENGTHS,
) -> list[str]:
    """``count`` batches over the past ``days`` days (a year unless told), bulk-inserted (a
    generator's shortcut: the database is thrown away afterwards), with the real frozen
    calculation and specification of their formula version; capsules at one of ``strengths``.
    Inside an app context after :func:`prepare`; returns the lot numbers."""
    versions = db.session.scalars(sa.select(FormulaVersion)).all()
    if formula is not None:
        versions = [v for v in versions if v.formula.code == formula]
    api_lot = db.session.scalar(sa.select(MaterialLot).where(MaterialLot.barcode == "LOT000001"))
    tina = db.session.scalar(sa.select(User).where(User.username == "tina"))
    rng = random.Random(seed)
    now = clock.utcnow()
    per_day: dict[str, int] = {}
    calculations = {(v.id, s): calculation(v, s) for v in versions for s in {*STRENGTHS, *strengths}}
    rows, lots = [], []
    for _ in range(count):
        at = now - timedelta(minutes=rng.randrange(0, days * 24 * 60))
        day = clock.local_date(at).strftime("%y%m%d")
        per_day[day] = per_day.get(day, 0) + 1
        lot = (
            f"{prefix}-{day}-{per_day[day]:03d}"
            if per_day[day] < 1000
            else f"{prefix}-{day}-{per_day[day]:04d}"
        )
        version = versions[rng.randrange(len(versions))]
        strength = rng.choice(strengths) if version.dosage_form == "capsule" else 1.0
        rows.append(
            {
                "lot_number": lot,
                "formula_version_id": version.id,
                "status": rng.choices(statuses, weights)[0],
                "dosage_form": version.dosage_form,
                "strength_mg": strength,
                "quantity": 100.0,
                "compounded_at": at,
                "compounded_by_id": tina.id,
                "api_lot_id": api_lot.id,
                "calculation": calculations[(version.id, strength)],
                "specification": {
                    "formula": version.formula.code,
                    "version": version.version,
                    **version.body["specification"],
                },
                "bud": clock.local_date(at) + timedelta(days=179),
                "bud_reason": "180 days, USP <795> nonaqueous (other)",
                "created_at": at,
                "row_version": 1,
            }
        )
        lots.append(lot)
    for start in range(0, len(rows), 5000):
        db.session.execute(sa.insert(Batch), rows[start : start + 5000])
    db.session.commit()
    return lots


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def figures(samples: list[float], **extra: Any) -> dict[str, Any]:
    """Median, 95th percentile and count of timings in ms, plus whatever else describes them."""
    return {"median_ms": statistics.median(samples), "p95_ms": p95(samples), "n": len(samples), **extra}


def milliseconds(action: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    samples, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, value


def write_json(data: dict[str, Any]) -> dict[str, Any]:
    """With BENCH_JSON=path, keep the figures for the report as well as printing them."""
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(data, indent=2, default=str))
    return data
