"""Benchmark: the assay trend of one formula and strength over 10,000 batches, and the annual
product review's preview PDF of a year with about 200 batches.

(a) A throw-away SQLite database with BENCH_TREND_BATCHES capsule batches of LDN-CAP 1.5 mg over
the past year (bulk-inserted as in bench_batches), each with one assay result evaluated by the
domain function and bulk-inserted (no audit events). Times ``GET /api/v1/trends?formula=LDN-CAP
&strength=1.5&attribute=assay`` through the WSGI test client and ``trends.series`` alone, against
two floors: ``domain.trending.trend`` on the values already in memory (mean, moving ranges,
sigma, limits, Nelson scans, capability), and the whole request's floor, the same SQL statement
the service runs, read bare with ``sqlite3``, each batch's latest valid result picked (the service's
own pass over the rows), into numpy, then ``trend``.
(b) Another database with BENCH_REVIEW_BATCHES LDN-CAP batches this year over the six strengths,
each with an assay result and a content-uniformity result of 10; times
``product_reviews.preview_pdf`` for this year (median of BENCH_REVIEW_RENDERS renders).

    make bench                     # with the other benchmarks and BENCHMARKS.md
    BENCH_TREND_BATCHES=2000 BENCH_REVIEW_BATCHES=50 .venv/bin/python bench/bench_trends.py
"""

import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_results import generate_results  # noqa: E402
from bench.bench_trace import Statements  # noqa: E402
from bench.common import figures, insert_batches, milliseconds, prepare, write_json  # noqa: E402
from config import TestConfig  # noqa: E402
from qa_app import create_app  # noqa: E402
from qa_app.domain import evaluation as ev  # noqa: E402
from qa_app.domain import trending  # noqa: E402
from qa_app.extensions import db  # noqa: E402
from qa_app.models import Batch, Result, User  # noqa: E402
from qa_app.services import clock, product_reviews, trends  # noqa: E402
from tests.conftest import PASSWORD  # noqa: E402

TREND_BATCHES = int(os.environ.get("BENCH_TREND_BATCHES", "10000"))
REVIEW_BATCHES = int(os.environ.get("BENCH_REVIEW_BATCHES", "200"))
REPEAT = int(os.environ.get("BENCH_TREND_REPEAT", "20"))
RENDERS = int(os.environ.get("BENCH_REVIEW_RENDERS", "5"))
FORMULA, STRENGTH = "LDN-CAP", 1.5
AIM_MS = 200.0
AIM_TIMES_FLOOR = 5.0
STATUSES = ["quarantine", "awaiting_release", "released", "on_hold", "rejected"]
WEIGHTS = [4, 4, 88, 2, 2]


def assay_results(lots: list[str], rng: random.Random) -> int:
    """One assay result per batch, evaluated by the domain function against the batch's own
    specification and bulk-inserted (the generator's shortcut: no audit events)."""
    ids = dict(
        db.session.execute(sa.select(Batch.lot_number, Batch.id).where(Batch.lot_number.in_(lots))).all()
    )
    first = db.session.scalar(sa.select(Batch).where(Batch.lot_number == lots[0]))
    spec = next(t for t in first.specification["tests"] if t["key"] == "assay")
    limits = ev.RangeLimits(spec.get("min"), spec.get("max"), spec.get("decimals", 1))
    tina = db.session.scalar(sa.select(User.id).where(User.username == "tina"))
    now = clock.utcnow()
    rows = []
    for lot in lots:
        value = round(rng.gauss(99.8, 1.6), 2)
        outcome = ev.evaluate_range(value, limits, label="Assay", unit=spec.get("unit", ""))
        rows.append(
            {
                "batch_id": ids[lot],
                "test_key": "assay",
                "kind": spec["kind"],
                "values": [value],
                "unit": spec.get("unit", ""),
                "method": "HPLC-UV",
                "analyst": "Lab",
                "tested_at": now,
                "source": "imported",
                "status": outcome.status,
                "evaluation": outcome.as_dict(),
                "recorded_by_id": tina,
                "recorded_at": now,
            }
        )
        if len(rows) == 5000:
            db.session.execute(sa.insert(Result), rows)
            rows = []
    if rows:
        db.session.execute(sa.insert(Result), rows)
    db.session.commit()
    return len(lots)


def bench_trend() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/trend.sqlite3"
        app = create_app(TestConfig, instance_path=tmp, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
        with app.app_context():
            prepare()
            started = time.perf_counter()
            lots = insert_batches(
                TREND_BATCHES, STATUSES, WEIGHTS, formula=FORMULA, seed=19, strengths=(STRENGTH,)
            )
            results = assay_results(lots, random.Random(23))
            print(
                f"built {len(lots):,} {FORMULA} {STRENGTH:g} mg batches with {results:,} assay results "
                f"in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            listen = Statements()
            sa.event.listen(db.engine, "before_cursor_execute", listen)
            found = trends.series(FORMULA, "assay", STRENGTH)
            sa.event.remove(db.engine, "before_cursor_execute", listen)
            statement, parameters = next(
                s for s in listen.seen if "join result" in " ".join(s[0].lower().split())
            )
            service_ms, found = milliseconds(lambda: trends.series(FORMULA, "assay", STRENGTH), REPEAT)
            lsl, usl = found.lsl, found.usl
        values = np.fromiter((p.value for p in found.points), dtype=np.float64, count=len(found.points))
        trending.trend(values, lsl, usl)
        memory_ms, computed = milliseconds(lambda: trending.trend(values, lsl, usl), REPEAT)
        bare = sqlite3.connect(path)

        def floor() -> trending.Trend:
            # the same statement read bare, each batch's latest valid result picked as the service does
            rows = trends._latest_valid(bare.execute(statement, parameters).fetchall())
            return trending.trend(
                np.fromiter((r[4] for r in rows), dtype=np.float64, count=len(rows)), lsl, usl
            )

        floor()
        floor_ms, floored = milliseconds(floor, REPEAT)
        bare.close()
        client = app.test_client()
        token = client.post("/api/v1/tokens", json={"username": "rob", "password": PASSWORD}).get_json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        url = f"/api/v1/trends?formula={FORMULA}&strength={STRENGTH:g}&attribute=assay"

        def request() -> dict:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.status_code
            return response.get_json()

        request()
        api_ms, answer = milliseconds(request, REPEAT)
    api, service, memory, bare_floor = (
        figures(api_ms),
        figures(service_ms),
        figures(memory_ms),
        figures(floor_ms),
    )
    agree = (
        answer["n"] == floored.chart.n == computed.chart.n
        and answer["center"] == floored.as_dict()["center"]
        and len(answer["signals"]) == len(floored.signals)
    )
    print(
        f"trend of assay, {FORMULA} {STRENGTH:g} mg, {answer['n']:,} points: API median {api['median_ms']:.1f} ms "
        f"(p95 {api['p95_ms']:.1f}), service {service['median_ms']:.1f} ms, bare SQL + numpy "
        f"{bare_floor['median_ms']:.1f} ms, statistics in memory {memory['median_ms']:.2f} ms; "
        f"{len(answer['signals'])} signals; centre {answer['center']}, sigma {answer['sigma']}: "
        + ("agree" if agree else "DISAGREE"),
        flush=True,
    )
    return {
        "batches": len(lots),
        "points": answer["n"],
        "signals": len(answer["signals"]),
        "center": answer["center"],
        "sigma": answer["sigma"],
        "agree": agree,
        "aim_ms": AIM_MS,
        "aim_times_floor": AIM_TIMES_FLOOR,
        "api": api,
        "service": service,
        "memory": memory,
        "floor": bare_floor,
    }


def bench_review() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            TestConfig, instance_path=tmp, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/review.sqlite3"
        )
        with app.app_context():
            prepare()
            today = clock.today()
            days = max((today - date(today.year, 1, 1)).days, 1)
            lots = insert_batches(REVIEW_BATCHES, STATUSES, WEIGHTS, formula=FORMULA, seed=29, days=days)
            assay_results(lots, random.Random(31))
            generate_results(lots, random.Random(37), clock.utcnow())
            year = today.year
            in_year = len(
                product_reviews.year_batches(product_reviews._formula(FORMULA), product_reviews._year(year))
            )
            product_reviews.preview_pdf(FORMULA, year)
            wall, cpu, pdf = [], [], b""
            for _ in range(RENDERS):
                started, started_cpu = time.perf_counter(), time.process_time()
                pdf = product_reviews.preview_pdf(FORMULA, year)
                wall.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
    pages = len(re.findall(rb"/Type /Page(?!s)", pdf))
    shown = figures(wall, cpu_median_ms=statistics.median(cpu), pages=pages, kib=len(pdf) / 1024)
    print(
        f"annual product review preview, {FORMULA} {year}, {in_year} batches: median {shown['median_ms']:.0f} ms "
        f"(p95 {shown['p95_ms']:.0f}, CPU {shown['cpu_median_ms']:.0f} ms) over {RENDERS} renders; "
        f"{pages} pages, {len(pdf) / 1024:.0f} KiB",
        flush=True,
    )
    return {"batches": in_year, "year": year, **shown}


def run() -> dict:
    return {"database": "SQLite", "trend": bench_trend(), "review": bench_review()}


if __name__ == "__main__":
    write_json(run())
