"""Benchmark: evaluating content-uniformity sets, and the results CSV import with a million results.

(a) USP <905> stage 1 over 100,000 sets of 10, timed in chunks of 1,000 sets (µs per set).
(b) 100,000 capsule batches in quarantine (bulk-inserted, as in bench_batches), each with one
content-uniformity set of 10 replicates: 1,000,000 result rows (100,000 results). The last
BENCH_IMPORT_ROWS of them (default 100,000) come in through ``result_import.import_csv`` in
files of 10,000 rows, timed (rows per second per file); the rest are made first by the
generator (evaluated by the domain function, bulk-inserted, no audit events), so the timed
import runs with up to 900,000 rows already there. Importing the whole million through the
service takes about half an hour on a busy 2-core machine; BENCH_IMPORT_ROWS=1000000 does it.
Then the list page and batch page with all of them present.

    make bench                      # with the other benchmarks and BENCHMARKS.md
    BENCH_RESULTS=100000 BENCH_IMPORT_ROWS=20000 BENCH_CU_SETS=20000 .venv/bin/python bench/bench_results.py
"""

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_batches import REPEAT, time_pages  # noqa: E402
from bench.common import figures, insert_batches, prepare, write_json  # noqa: E402
from bench.common import p95 as common_p95  # noqa: E402
from config import TestConfig  # noqa: E402
from qa_app import create_app  # noqa: E402
from qa_app.domain import evaluation as ev  # noqa: E402
from qa_app.extensions import db  # noqa: E402
from qa_app.models import Batch, Result, User  # noqa: E402
from qa_app.services import clock, result_import  # noqa: E402
from tests.builders import user  # noqa: E402
from tests.conftest import PASSWORD  # noqa: E402

CU_SETS = int(os.environ.get("BENCH_CU_SETS", "100000"))
CU_CHUNK = 1000
RESULTS = int(os.environ.get("BENCH_RESULTS", "1000000"))
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
TEST = "content_uniformity"
FILE_ROWS = int(os.environ.get("BENCH_CSV_ROWS", "10000"))
REPLICATES = 10


def bench_cu() -> dict:
    rng = random.Random(3)
    limits = ev.ContentUniformityLimits()
    sets = [[rng.gauss(100, 3) for _ in range(REPLICATES)] for _ in range(CU_SETS)]
    per_set_us, cpu_us, passed = [], [], 0
    for start in range(0, CU_SETS, CU_CHUNK):
        chunk = sets[start : start + CU_CHUNK]
        began, began_cpu = time.perf_counter(), time.process_time()
        passed += sum(
            ev.evaluate_content_uniformity(values, None, limits).status == "pass" for values in chunk
        )
        per_set_us.append((time.perf_counter() - began) / len(chunk) * 1e6)
        cpu_us.append((time.process_time() - began_cpu) / len(chunk) * 1e6)
    elapsed = sum(per_set_us) * CU_CHUNK / 1e6
    median, p95 = statistics.median(per_set_us), common_p95(per_set_us)
    print(
        f"USP <905> stage 1: {CU_SETS:,} sets in {elapsed:.2f} s = {median:.1f} µs per set median "
        f"(p95 {p95:.1f} µs over chunks of {CU_CHUNK:,}; CPU {statistics.median(cpu_us):.1f} µs; {passed:,} pass)",
        flush=True,
    )
    return {
        "sets": CU_SETS,
        "chunk": CU_CHUNK,
        "median_us": median,
        "p95_us": p95,
        "cpu_median_us": statistics.median(cpu_us),
        "passed": passed,
    }


def csv_file(lots: list[str], rng: random.Random, tested_at: str) -> str:
    lines = ["lot_number,test,value,replicate,method,analyst,tested_at"]
    for lot in lots:
        lines += [
            f"{lot},content_uniformity,{rng.gauss(100, 2):.2f},{i},HPLC,Lab,{tested_at}"
            for i in range(1, REPLICATES + 1)
        ]
    return "\n".join(lines) + "\n"


def generate_results(lots: list[str], rng: random.Random, tested_at: datetime) -> int:
    """Content-uniformity results of 10 on ``lots``, evaluated by the domain function and
    bulk-inserted (the generator's shortcut, as for the batches: no audit events); row count."""
    ids = dict(db.session.execute(sa.select(Batch.lot_number, Batch.id)).all())
    tina = db.session.scalar(sa.select(User.id).where(User.username == "tina"))
    spec = next(t for t in db.session.get(Batch, ids[lots[0]]).specification["tests"] if t["key"] == TEST)
    limits = ev.ContentUniformityLimits(spec.get("target", 100.0))
    now = clock.utcnow()
    for first in range(0, len(lots), 5000):
        rows = []
        for lot in lots[first : first + 5000]:
            values = [round(rng.gauss(100, 2), 2) for _ in range(REPLICATES)]
            outcome = ev.evaluate_content_uniformity(values, None, limits)
            rows.append(
                {
                    "batch_id": ids[lot],
                    "test_key": TEST,
                    "kind": spec["kind"],
                    "values": values,
                    "unit": spec.get("unit", ""),
                    "method": "HPLC",
                    "analyst": "Lab",
                    "tested_at": tested_at,
                    "source": "imported",
                    "status": outcome.status,
                    "evaluation": outcome.as_dict(),
                    "recorded_by_id": tina,
                    "recorded_at": now,
                }
            )
        db.session.execute(sa.insert(Result), rows)
    db.session.commit()
    return len(lots) * REPLICATES


def bench_import() -> dict:
    """A million result rows present, the last of them through the CSV import in files of
    10,000 (timed); then the list and batch pages with them present."""
    batch_count = RESULTS // REPLICATES
    imported_batches = min(IMPORT_ROWS // REPLICATES, batch_count)
    per_file = max(FILE_ROWS // REPLICATES, 1)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(TestConfig, instance_path=tmp, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/r.sqlite3")
        with app.app_context():
            prepare()
            started = time.perf_counter()
            lots = insert_batches(batch_count, ["quarantine"], [1], formula="LDN-CAP", seed=13)
            print(
                f"built {len(lots):,} capsule batches in quarantine in {time.perf_counter() - started:.1f} s"
            )
            rng = random.Random(5)
            moment = clock.utcnow().replace(microsecond=0)
            split = len(lots) - imported_batches
            started = time.perf_counter()
            generated = generate_results(lots[:split], rng, moment) if split else 0
            print(
                f"generated {generated:,} result rows ({split:,} results) in {time.perf_counter() - started:.1f} s"
            )
            tina = user("tina")
            tested_at = moment.isoformat().replace("+00:00", "Z")
            rates, seconds, cpu, counts, recorded = [], [], [], [], 0
            for number, first in enumerate(range(split, len(lots), per_file), 1):
                text = csv_file(lots[first : first + per_file], rng, tested_at)
                began, began_cpu = time.perf_counter(), time.process_time()
                summary = result_import.import_csv(tina, text)
                elapsed = time.perf_counter() - began
                cpu.append(time.process_time() - began_cpu)
                counts.append(summary.rows)
                recorded += summary.results
                seconds.append(elapsed)
                rates.append(summary.rows / elapsed)
                if number % 10 == 0 or first + per_file >= len(lots):
                    print(
                        f"  file {number:>4}: {generated + sum(counts):>9,} rows present, "
                        f"this file {rates[-1]:,.0f} rows/s",
                        flush=True,
                    )
        rows, total = sum(counts), sum(seconds)
        tenth = max(len(rates) // 10, 1)
        first_rate = sum(counts[:tenth]) / sum(seconds[:tenth])
        last_rate = sum(counts[-tenth:]) / sum(seconds[-tenth:])
        print(
            f"results CSV import: {rows:,} rows ({recorded:,} results) on top of {generated:,} generated, "
            f"in {len(rates)} files of {FILE_ROWS:,}: {total:.1f} s = {rows / total:,.0f} rows/s overall, "
            f"median file {statistics.median(rates):,.0f} rows/s; last tenth {last_rate:,.0f} vs first tenth "
            f"{first_rate:,.0f} rows/s; {rows / sum(cpu):,.0f} rows per CPU second",
            flush=True,
        )
        client = app.test_client()
        client.post("/login", data={"username": "tina", "password": PASSWORD})
        print(f"pages with {generated + rows:,} result rows ({split + recorded:,} results) present:")
        pages = time_pages(client, lots, REPEAT)
    return {
        "present_rows": generated + rows,
        "generated_rows": generated,
        "rows": rows,
        "results": recorded,
        "batches": len(lots),
        "files": len(rates),
        "file_rows": FILE_ROWS,
        "seconds": total,
        "rows_per_s": rows / total,
        "rows_per_cpu_s": rows / sum(cpu),
        "file_ms": figures([s * 1000 for s in seconds]),
        "median_file_rows_per_s": statistics.median(rates),
        "first_tenth_rows_per_s": first_rate,
        "last_tenth_rows_per_s": last_rate,
        "pages": pages,
    }


def run() -> dict:
    return {"database": "SQLite", "cu": bench_cu(), "import": bench_import()}


if __name__ == "__main__":
    write_json(run())
