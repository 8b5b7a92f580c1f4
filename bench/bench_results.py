"""Benchmark: evaluating content-uniformity sets, and importing a 10,000-row results CSV.

make bench                      # with the batch benchmark
BENCH_CU_SETS=100000 BENCH_CSV_ROWS=10000 .venv/bin/python bench/bench_results.py
"""

import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import prepare  # noqa: E402
from config import TestConfig  # noqa: E402
from qa_app import create_app  # noqa: E402
from qa_app.domain import evaluation as ev  # noqa: E402
from qa_app.services import batches, clock, result_import  # noqa: E402
from tests.builders import signature, user  # noqa: E402

CU_SETS = int(os.environ.get("BENCH_CU_SETS", "100000"))
CSV_ROWS = int(os.environ.get("BENCH_CSV_ROWS", "10000"))


def bench_cu() -> None:
    rng = random.Random(3)
    limits = ev.ContentUniformityLimits()
    sets = [[rng.gauss(100, 3) for _ in range(10)] for _ in range(CU_SETS)]
    started = time.perf_counter()
    passed = sum(ev.evaluate_content_uniformity(values, None, limits).status == "pass" for values in sets)
    elapsed = time.perf_counter() - started
    print(
        f"USP <905> stage 1: {CU_SETS:,} sets in {elapsed:.2f} s = {elapsed / CU_SETS * 1e6:.1f} µs per set "
        f"({passed:,} pass)"
    )


def bench_import() -> None:
    """10,000 rows: content uniformity sets of 10 replicates, one per batch."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(TestConfig, instance_path=tmp, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/r.sqlite3")
        with app.app_context():
            lots = prepare()
            tina, rob = user("tina"), user("rob")
            lot_numbers = []
            for i in range(CSV_ROWS // 10):
                started_at = clock.utcnow() - timedelta(hours=i + 1)  # at most 24 batches a day
                lot = batches.create_batch(
                    tina, formula="LDN-CAP", strength_mg=1.5, quantity=100, compounded_at=started_at
                ).lot_number
                batches.record_component(tina, lot, barcode=lots["api"], quantity_mg=151.5)
                batches.record_component(tina, lot, barcode=lots["mcc"], quantity_mg=22348.5)
                batches.record_component(tina, lot, barcode=lots["caps"], count=100)
                batches.verify_weighing(rob, lot, signature("rob", "verified"))
                batches.record_weight_check(tina, lot, [225.0] * 10)
                batches.complete(tina, lot, actual_yield=100, storage_unit="SHELF-1", at=started_at)
                lot_numbers.append(lot)
            rng = random.Random(5)
            lines = ["lot_number,test,value,replicate,method,analyst,tested_at"]
            for lot in lot_numbers:
                lines += [
                    f"{lot},content_uniformity,{rng.gauss(100, 2):.2f},{i},HPLC,Lab,2026-11-20T10:00:00Z"
                    for i in range(1, 11)
                ]
            text = "\n".join(lines) + "\n"
            started = time.perf_counter()
            summary = result_import.import_csv(tina, text)
            elapsed = time.perf_counter() - started
        print(
            f"results CSV import: {summary.rows:,} rows ({summary.results:,} results, "
            f"{len(summary.batches):,} batches) in {elapsed:.2f} s = {summary.rows / elapsed:,.0f} rows/s"
        )


if __name__ == "__main__":
    bench_cu()
    bench_import()
