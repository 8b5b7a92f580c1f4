"""Benchmark: the batch list and batch page with 100,000 batches on SQLite.

Builds a throw-away database (migrations, master data through the services), bulk-inserts the
batches (a generator's shortcut: this database is discarded afterwards), then times pages
through the WSGI test client and prints median and 95th percentile per page.

    make bench            # 100,000 batches
    BENCH_BATCHES=20000 make bench
"""

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import prepare  # noqa: E402
from config import TestConfig  # noqa: E402
from qa_app import create_app  # noqa: E402
from qa_app.domain import compounding  # noqa: E402
from qa_app.extensions import db  # noqa: E402
from qa_app.models import Batch, FormulaVersion, MaterialLot, User  # noqa: E402
from qa_app.services import clock  # noqa: E402
from tests.conftest import PASSWORD  # noqa: E402

BATCHES = int(os.environ.get("BENCH_BATCHES", "100000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "40"))
STATUSES = ["draft", "quarantine", "on_hold", "awaiting_release", "released", "rejected", "discarded"]
WEIGHTS = [5, 10, 3, 5, 70, 4, 3]


def build(app) -> list[str]:
    with app.app_context():
        prepare()
        versions = db.session.scalars(sa.select(FormulaVersion)).all()
        api_lot = db.session.scalar(sa.select(MaterialLot).where(MaterialLot.barcode == "LOT000001"))
        tina = db.session.scalar(sa.select(User).where(User.username == "tina"))
        rng = random.Random(7)
        now = clock.utcnow()
        per_day: dict[str, int] = {}
        calculations = {
            (v.id, s): calculation(v, s) for v in versions for s in (0.5, 1.0, 1.5, 2.0, 3.0, 4.5)
        }
        rows, lots = [], []
        for _ in range(BATCHES):
            at = now - timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
            day = clock.local_date(at).strftime("%y%m%d")
            per_day[day] = per_day.get(day, 0) + 1
            lot = f"LDN-{day}-{per_day[day]:03d}" if per_day[day] < 1000 else f"LDN-{day}-{per_day[day]:04d}"
            version = versions[rng.randrange(len(versions))]
            strength = rng.choice([0.5, 1.0, 1.5, 2.0, 3.0, 4.5]) if version.dosage_form == "capsule" else 1.0
            rows.append(
                {
                    "lot_number": lot,
                    "formula_version_id": version.id,
                    "status": rng.choices(STATUSES, WEIGHTS)[0],
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


def calculation(version, strength: float) -> dict:
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


def timed(client, path: str, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            TestConfig, instance_path=tmp, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/bench.sqlite3"
        )
        started = time.perf_counter()
        lots = build(app)
        print(f"built {len(lots):,} batches in {time.perf_counter() - started:.1f} s (SQLite, WAL)")
        client = app.test_client()
        client.post("/login", data={"username": "tina", "password": PASSWORD})
        rng = random.Random(11)
        sample_lot = lots[len(lots) // 2]
        pages = {
            "list, newest 50": "/batches/?per_page=50",
            "list, status=released": "/batches/?status=released&per_page=50",
            "list, search '2611'": "/batches/?q=2611&per_page=50",
            f"list, search {sample_lot}": f"/batches/?q={sample_lot}",
            "list, formula+strength": "/batches/?formula=LDN-CAP&strength=1.5&per_page=50",
            "list, page 1000": "/batches/?page=1000&per_page=50",
            "API list, newest 50": None,
        }
        print(f"{'page':<34} {'median ms':>10} {'p95 ms':>10}")
        for name, path in pages.items():
            if path is None:
                token = client.post(
                    "/api/v1/tokens", json={"username": "tina", "password": PASSWORD}
                ).get_json()
                headers = {"Authorization": f"Bearer {token['token']}"}
                samples = []
                for _ in range(REPEAT):
                    t0 = time.perf_counter()
                    assert client.get("/api/v1/batches?per_page=50", headers=headers).status_code == 200
                    samples.append((time.perf_counter() - t0) * 1000)
            else:
                timed(client, path, 3)
                samples = timed(client, path, REPEAT)
            print(f"{name:<34} {statistics.median(samples):>10.1f} {p95(samples):>10.1f}")
        batch_samples = []
        for _ in range(REPEAT):
            lot = lots[rng.randrange(len(lots))]
            t0 = time.perf_counter()
            assert client.get(f"/batches/{lot}").status_code == 200
            batch_samples.append((time.perf_counter() - t0) * 1000)
        print(
            f"{'batch page (random lot)':<34} {statistics.median(batch_samples):>10.1f} {p95(batch_samples):>10.1f}"
        )


if __name__ == "__main__":
    main()
