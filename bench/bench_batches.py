"""Benchmark: the batch list and batch page with 100,000 batches on SQLite.

Builds a throw-away database (migrations, master data through the services), bulk-inserts the
batches (a generator's shortcut: this database is discarded afterwards), then times pages
through the WSGI test client and prints median and 95th percentile per page.

    make bench            # 100,000 batches (with the other benchmarks and BENCHMARKS.md)
    BENCH_BATCHES=20000 .venv/bin/python bench/bench_batches.py
    BENCH_JSON=out.json .venv/bin/python bench/bench_batches.py   # also writes the figures
"""

import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import figures, insert_batches, p95, prepare, write_json  # noqa: E402, F401
from config import TestConfig  # noqa: E402
from qa_app import create_app  # noqa: E402
from tests.conftest import PASSWORD  # noqa: E402

BATCHES = int(os.environ.get("BENCH_BATCHES", "100000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "40"))
STATUSES = ["draft", "quarantine", "on_hold", "awaiting_release", "released", "rejected", "discarded"]
WEIGHTS = [5, 10, 3, 5, 70, 4, 3]
AIM_LIST_MS = 50.0


def timed(client, path: str, repeat: int, headers: dict | None = None) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def time_pages(client, lots: list[str], repeat: int) -> dict[str, dict]:
    """The list page (newest, filtered, searched, deep), the API list and random batch pages,
    signed in as a technician; prints a line per page and returns its figures by key."""
    sample_lot = lots[len(lots) // 2]
    pages = {
        "list_newest": ("list, newest 50", "/batches/?per_page=50"),
        "list_status": ("list, status=released", "/batches/?status=released&per_page=50"),
        "list_search": ("list, search '2611'", "/batches/?q=2611&per_page=50"),
        "list_exact": (f"list, search {sample_lot}", f"/batches/?q={sample_lot}"),
        "list_formula": ("list, formula+strength", "/batches/?formula=LDN-CAP&strength=1.5&per_page=50"),
        "list_page_1000": ("list, page 1000", "/batches/?page=1000&per_page=50"),
    }
    token = client.post("/api/v1/tokens", json={"username": "tina", "password": PASSWORD}).get_json()
    api_headers = {"Authorization": f"Bearer {token['token']}"}
    found: dict[str, dict] = {}
    print(f"{'page':<34} {'median ms':>10} {'p95 ms':>10}")
    for key, (name, path) in pages.items():
        timed(client, path, 3)
        found[key] = figures(timed(client, path, repeat), label=name)
        _line(found[key])
    timed(client, "/api/v1/batches?per_page=50", 3, api_headers)
    found["api_list"] = figures(
        timed(client, "/api/v1/batches?per_page=50", repeat, api_headers), label="API list, newest 50"
    )
    _line(found["api_list"])
    rng = random.Random(11)
    batch_samples = []
    for _ in range(repeat):
        batch_samples += timed(client, f"/batches/{lots[rng.randrange(len(lots))]}", 1)
    found["batch_page"] = figures(batch_samples, label="batch page (random lot)")
    _line(found["batch_page"])
    return found


def _line(row: dict) -> None:
    print(f"{row['label']:<34} {row['median_ms']:>10.1f} {row['p95_ms']:>10.1f}", flush=True)


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            TestConfig, instance_path=tmp, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/bench.sqlite3"
        )
        started = time.perf_counter()
        with app.app_context():
            prepare()
            lots = insert_batches(BATCHES, STATUSES, WEIGHTS)
        built = time.perf_counter() - started
        print(f"built {len(lots):,} batches in {built:.1f} s (SQLite, WAL)")
        client = app.test_client()
        client.post("/login", data={"username": "tina", "password": PASSWORD})
        pages = time_pages(client, lots, REPEAT)
    return {
        "database": "SQLite",
        "batches": len(lots),
        "repeat": REPEAT,
        "build_s": built,
        "aim_list_ms": AIM_LIST_MS,
        "pages": pages,
    }


if __name__ == "__main__":
    write_json(run())
