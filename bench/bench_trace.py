"""Benchmark: where an API lot was used, directly and through a 10 % trituration lot, among 100,000 batches.

Builds a throw-away SQLite database (migrations, master data through the services) and
bulk-inserts the batches as bench_batches does, each with its components (the API lot, the
filler and the capsule shells or the vehicle: about 300,000 component rows). The traced API
lot went directly into BENCH_TRACE_DIRECT batches and into one trituration batch (made through
the services: weighed, verified, completed, its 10 % lot approved); that intermediate lot went
into BENCH_TRACE_VIA more. Then times ``GET /api/v1/material-lots/{barcode}/where-used``
through the WSGI test client, the service function ``triturations.where_used`` alone, and the
same recursive SQL statement run bare with ``sqlite3`` (the floor).

    make bench                     # 100,000 batches (with the other benchmarks and BENCHMARKS.md)
    BENCH_TRACE_BATCHES=5000 .venv/bin/python bench/bench_trace.py
    BENCH_JSON=out.json .venv/bin/python bench/bench_trace.py   # also writes the figures
"""

import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.bench_batches import STATUSES, WEIGHTS  # noqa: E402
from bench.common import figures, insert_batches, milliseconds, prepare, write_json  # noqa: E402
from config import TestConfig  # noqa: E402
from qa_app import create_app  # noqa: E402
from qa_app.extensions import db  # noqa: E402
from qa_app.models import Batch, BatchComponent, LotCounter, MaterialLot, User  # noqa: E402
from qa_app.services import accounts, batches, clock, materials, triturations  # noqa: E402
from tests.conftest import PASSWORD  # noqa: E402
from tests.triturations import INTERMEDIATE, make_trituration_lot, setup_trituration_formulas  # noqa: E402

BATCHES = int(os.environ.get("BENCH_TRACE_BATCHES", "100000"))
DIRECT = int(os.environ.get("BENCH_TRACE_DIRECT", "2000"))
VIA = int(os.environ.get("BENCH_TRACE_VIA", "1000"))
REPEAT = int(os.environ.get("BENCH_TRACE_REPEAT", "20"))
AIM_MS = 100.0


class Statements:
    """The SQL statements the engine runs while listening, with their parameters."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple]] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append((statement, tuple(parameters)))

    def recursive(self) -> tuple[str, tuple]:
        return next(s for s in self.seen if "RECURSIVE" in s[0].upper())


def components(lots: dict[str, str], traced: set[int], via: set[int], intermediate: MaterialLot) -> int:
    """Every bulk-inserted batch's components (the generator's shortcut, no audit events): the
    traced API lot in ``traced``, the intermediate lot in ``via``, the other API lot elsewhere;
    the filler and shells (capsules) or the vehicle (liquids). Returns the row count."""
    lot_rows = {
        name: db.session.scalar(sa.select(MaterialLot).where(MaterialLot.barcode == barcode))
        for name, barcode in lots.items()
    }
    tina = db.session.scalar(sa.select(User.id).where(User.username == "tina"))
    now = clock.utcnow()
    made = db.session.scalar(
        sa.select(MaterialLot.produced_by_batch_id).where(MaterialLot.id == intermediate.id)
    )

    def row(batch_id: int, lot: MaterialLot, role: str, mg: float | None, count: int | None = None) -> dict:
        return {
            "batch_id": batch_id,
            "material_lot_id": lot.id,
            "material_id": lot.material_id,
            "role": role,
            "quantity_mg": mg,
            "count": count,
            "theoretical_mg": mg,
            "deviation_percent": 0.0 if mg is not None else None,
            "within_tolerance": True if mg is not None else None,
            "balance": "XS205" if mg is not None else None,
            "recorded_by_id": tina,
            "recorded_at": now,
        }

    found = db.session.execute(sa.select(Batch.id, Batch.dosage_form).where(Batch.id != made)).all()
    rows, total = [], 0
    for batch_id, form in found:
        if batch_id in via:
            rows.append(row(batch_id, intermediate, "api", 1500.0))
        else:
            rows.append(row(batch_id, lot_rows["api" if batch_id in traced else "api2"], "api", 150.0))
        if form == "capsule":
            rows += [
                row(batch_id, lot_rows["mcc"], "filler", 22350.0),
                row(batch_id, lot_rows["caps"], "container", None, 100),
            ]
        else:
            rows.append(row(batch_id, lot_rows["syrup"], "vehicle", 100000.0))
        if len(rows) >= 6000:
            db.session.execute(sa.insert(BatchComponent), rows)
            total, rows = total + len(rows), []
    if rows:
        db.session.execute(sa.insert(BatchComponent), rows)
        total += len(rows)
    db.session.commit()
    return total


def build(lots: dict[str, str]) -> dict:
    """The batches, the trituration and its lot, the components; what the where-used should find."""
    started = time.perf_counter()
    numbers = insert_batches(BATCHES, STATUSES, WEIGHTS)
    today = clock.today().strftime("%y%m%d")
    made_today = sum(1 for n in numbers if n.split("-")[1] == today)
    # the service numbers today's next batch after the bulk-inserted ones
    db.session.merge(LotCounter(prefix=batches.LOT_PREFIX, day=today, last=made_today))
    accounts.create_user(
        None,
        username="rita",
        full_name="Rita Release",
        roles=["reviewer"],
        password=PASSWORD,
        actor_name="bench",
    )
    setup_trituration_formulas()
    trituration, barcode = make_trituration_lot(lots, approver="rita")
    db.session.commit()
    intermediate = materials.get_lot(barcode)
    ids = [
        i
        for i in db.session.scalars(sa.select(Batch.id).order_by(Batch.id))
        if i != intermediate.produced_by_batch_id
    ]
    chosen = random.Random(17).sample(ids, min(DIRECT + VIA, len(ids)))
    traced, via = set(chosen[:DIRECT]), set(chosen[DIRECT:])
    rows = components(lots, traced, via, intermediate)
    built = time.perf_counter() - started
    print(
        f"built {len(numbers):,} batches with {rows:,} component rows in {built:.1f} s; API lot {lots['api']} "
        f"in {len(traced):,} batches directly and in trituration {trituration}, whose {INTERMEDIATE} lot "
        f"{barcode} is in {len(via):,} more",
        flush=True,
    )
    return {
        "batches": len(numbers) + 1,
        "component_rows": rows + 2,
        "direct": len(traced) + 1,
        "via": len(via),
        "intermediate": barcode,
        "trituration": trituration,
        "build_s": built,
    }


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/trace.sqlite3"
        app = create_app(TestConfig, instance_path=tmp, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
        with app.app_context():
            lots = prepare()
            made = build(lots)
            expected = made["direct"] + made["via"]
            api_lot = materials.get_lot(lots["api"])
            listen = Statements()
            sa.event.listen(db.engine, "before_cursor_execute", listen)
            uses = triturations.where_used(api_lot)
            sa.event.remove(db.engine, "before_cursor_execute", listen)
            statement, parameters = listen.recursive()
            service_ms, uses = milliseconds(lambda: triturations.where_used(api_lot), REPEAT)
            through = sum(1 for u in uses if u.via)
        bare = sqlite3.connect(path)
        bare.execute(statement, parameters).fetchall()
        floor_ms, bare_rows = milliseconds(lambda: bare.execute(statement, parameters).fetchall(), REPEAT)
        bare.close()
        client = app.test_client()
        token = client.post("/api/v1/tokens", json={"username": "tina", "password": PASSWORD}).get_json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        url = f"/api/v1/material-lots/{lots['api']}/where-used"

        def request() -> dict:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.status_code
            return response.get_json()

        request()
        api_ms, answer = milliseconds(request, REPEAT)
    found, via = len(answer["batches"]), sum(1 for b in answer["batches"] if b["via"])
    api, service, floor = figures(api_ms), figures(service_ms), figures(floor_ms)
    print(
        f"where-used of API lot {lots['api']} among {made['batches']:,} batches: API median {api['median_ms']:.1f} ms "
        f"(p95 {api['p95_ms']:.1f}), service {service['median_ms']:.1f} ms, bare SQL {floor['median_ms']:.1f} ms "
        f"({len(bare_rows):,} rows); {found:,} batches found ({via:,} through {made['intermediate']}), "
        f"{expected:,} expected: " + ("right" if found == expected and via == made["via"] else "WRONG"),
        flush=True,
    )
    return {
        "database": "SQLite",
        **made,
        "expected": expected,
        "found": found,
        "found_via": via,
        "service_found": len(uses),
        "service_found_via": through,
        "bare_rows": len(bare_rows),
        "aim_ms": AIM_MS,
        "api": api,
        "service": service,
        "floor": floor,
    }


if __name__ == "__main__":
    write_json(run())
