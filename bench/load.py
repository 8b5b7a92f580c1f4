"""Load: gunicorn with several workers on PostgreSQL, technicians and reviewers at work for a minute.

make load                                   # 60 s, 4 workers, 4 technicians, 2 reviewers, 1 sensor
LOAD_SECONDS=20 .venv/bin/python bench/load.py

A fresh PostgreSQL database is made (and dropped after) on the server of LOAD_POSTGRES_URL
(default: the local one). Each simulated person works through the JSON API on loopback:
technicians open batches, scan components, weigh capsules, verify each other's weighings and
look batches up; reviewers list what awaits release, read batch records, release with their
e-signature and download the certificate; a sensor posts a reading every second. Every answer
that is not the expected status counts as an error. Prints one table and, with LOAD_JSON=path
(or BENCH_JSON=path), writes the figures as JSON for the benchmark report.
"""

import json
import os
import queue
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
import psycopg  # noqa: E402

from config import Config  # noqa: E402
from qa_app import create_app  # noqa: E402
from qa_app.services import accounts, batches, clock, results  # noqa: E402
from qa_app.services.signatures import SignatureInput  # noqa: E402
from tests.builders import setup_master_data, user  # noqa: E402
from tests.conftest import PASSWORD as TEST_PASSWORD  # noqa: E402

SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "4"))
TECHNICIANS = int(os.environ.get("LOAD_TECHNICIANS", "4"))
REVIEWERS = int(os.environ.get("LOAD_REVIEWERS", "2"))
READY = int(os.environ.get("LOAD_READY_BATCHES", "120"))
SERVER = os.environ.get("LOAD_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AUDIT_KEY = "load-audit-key-of-this-throw-away-database-0123456789"
"""One audit key for the set-up and the gunicorn workers: the events they write form one sealed chain."""
PASSWORD = TEST_PASSWORD  # setup_master_data signs with it
CU_PASS = [100.2, 99.1, 101.0, 98.7, 100.5, 99.8, 100.9, 99.4, 100.1, 100.3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_sql(statement: str) -> None:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(statement)


def prepare(url: str, instance: Path) -> tuple[list[str], dict[str, str]]:
    """Schema, people, master data, and batches waiting for release."""
    app = create_app(
        Config,
        instance_path=str(instance),
        SQLALCHEMY_DATABASE_URI=url,
        SECRET_KEY="load",
        QA_AUDIT_KEY=AUDIT_KEY,
    )
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
        people = [(f"tech{i}", "technician") for i in range(1, TECHNICIANS + 2)]
        people += [(f"rev{i}", "reviewer") for i in range(1, REVIEWERS + 1)] + [("ada", "admin")]
        people += [("tina", "technician"), ("rob", "reviewer")]
        for username, role in people:
            accounts.create_user(
                None,
                username=username,
                full_name=username.title(),
                roles=[role],
                password=PASSWORD,
                actor_name="load",
            )
        lots = setup_master_data(clock.today())
        ready = []
        tina, rob = user("tina"), user("rob")
        for i in range(READY):
            started_at = clock.utcnow() - timedelta(minutes=10 * (i + 1))
            lot = batches.create_batch(
                tina, formula="LDN-CAP", strength_mg=1.5, quantity=100, compounded_at=started_at
            ).lot_number
            batches.record_component(tina, lot, barcode=lots["api"], quantity_mg=151.5, balance="XS205")
            batches.record_component(tina, lot, barcode=lots["mcc"], quantity_mg=22348.5, balance="XS205")
            batches.record_component(tina, lot, barcode=lots["caps"], count=100)
            batches.verify_weighing(rob, lot, SignatureInput("rob", PASSWORD, "verified"))
            batches.record_weight_check(tina, lot, [225.0] * 10)
            batches.complete(tina, lot, actual_yield=100, storage_unit="SHELF-1", at=started_at)
            results.record_result(tina, lot, test="assay", value=99.6)
            results.record_result(tina, lot, test="content_uniformity", values=CU_PASS)
            results.record_result(tina, lot, test="appearance", value="Conforms")
            ready.append(lot)
        from qa_app.extensions import db

        db.engine.dispose()
    return ready, lots


class Client:
    """A person at a workstation: one token, timed requests."""

    def __init__(self, base: str, stats: dict, errors: list) -> None:
        self.base, self.stats, self.errors, self.headers = base, stats, errors, {}

    def call(self, name: str, method: str, path: str, body=None, expect=(200, 201), raw: bool = False):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=dict(self.headers)
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        except OSError as exc:
            status, payload = 0, str(exc).encode()
        self.stats[name].append((time.perf_counter() - started) * 1000)
        if status not in expect:
            self.errors.append(f"{name} {method} {path}: {status} {payload[:200]!r}")
            return None
        return payload if raw else (json.loads(payload) if payload else None)

    def login(self, username: str) -> None:
        answer = self.call("token", "POST", "/api/v1/tokens", {"username": username, "password": PASSWORD})
        self.headers = {"Authorization": f"Bearer {answer['token']}"}


def technician(client: Client, username: str, lots: dict, handoff: queue.Queue, stop: float) -> None:
    client.login(username)
    while time.monotonic() < stop:
        created = client.call(
            "create batch",
            "POST",
            "/api/v1/batches",
            {"formula": "LDN-CAP", "strength_mg": 1.5, "quantity": 100},
        )
        if created is None:
            continue
        lot = created["lot_number"]
        api_mg = created["calculation"]["api_mg"]
        filler_mg = created["calculation"]["filler_mg"]
        for body in (
            {"barcode": lots["api"], "quantity_mg": api_mg, "balance": "XS205"},
            {"barcode": lots["mcc"], "quantity_mg": filler_mg, "balance": "XS205"},
            {"barcode": lots["caps"], "count": 100},
        ):
            client.call("record component", "POST", f"/api/v1/batches/{lot}/components", body)
        client.call(
            "weight check", "POST", f"/api/v1/batches/{lot}/weight-check", {"weights_mg": [225.0] * 10}
        )
        handoff.put((username, lot))
        try:
            author, other = handoff.get(timeout=1)
        except queue.Empty:
            continue
        if author == username:
            handoff.put((author, other))
        else:
            sig = {"username": username, "password": PASSWORD, "meaning": "verified"}
            client.call(
                "verify weighing", "POST", f"/api/v1/batches/{other}/verify-weighing", {"signature": sig}
            )
        client.call("batch page (API)", "GET", f"/api/v1/batches/{lot}")
        client.call("list batches", "GET", "/api/v1/batches?status=draft&per_page=50")


def reviewer(client: Client, username: str, ready: queue.Queue, stop: float) -> None:
    client.login(username)
    while time.monotonic() < stop:
        client.call("list awaiting release", "GET", "/api/v1/batches?status=awaiting_release&per_page=50")
        try:
            lot = ready.get_nowait()
        except queue.Empty:
            time.sleep(0.2)
            continue
        client.call("batch page (API)", "GET", f"/api/v1/batches/{lot}")
        sig = {"username": username, "password": PASSWORD, "meaning": "released"}
        client.call("release", "POST", f"/api/v1/batches/{lot}/release", {"signature": sig})
        client.call("certificate.pdf", "GET", f"/api/v1/batches/{lot}/certificate.pdf", raw=True)
        client.call("storage summary", "GET", "/api/v1/storage-units/SHELF-1/summary")


def sensor(client: Client, token: str, stop: float) -> None:
    client.headers = {"Authorization": f"Bearer {token}"}
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    while time.monotonic() < stop:
        moment += timedelta(seconds=30)
        reading = {
            "readings": [{"at": moment.isoformat(), "temperature_c": round(random.gauss(5.0, 0.3), 2)}]
        }
        client.call("sensor reading", "POST", "/api/v1/storage-units/FRIDGE-1/readings", reading)
        time.sleep(1.0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> dict:
    name = f"qa_load_{uuid.uuid4().hex[:8]}"
    base_url = SERVER.rsplit("/", 1)[0]
    url = f"{base_url.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    admin_sql(f'CREATE DATABASE "{name}"')
    instance = Path(os.environ.get("TMPDIR", "/tmp")) / name
    instance.mkdir(parents=True, exist_ok=True)
    server = None
    try:
        print(f"preparing {READY} batches awaiting release on {name} ...", flush=True)
        ready_lots, lots = prepare(url, instance)
        port = free_port()
        env = dict(
            os.environ,
            DATABASE_URL=url,
            SECRET_KEY="load-secret",
            QA_AUDIT_KEY=AUDIT_KEY,
            QA_PUBLIC_URL="https://qa.example",
        )
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
             "qa_app:create_app()"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/v1/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        stats: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []
        admin = Client(base, stats, errors)
        admin.login("ada")
        device = admin.call(
            "device token", "POST", "/api/v1/storage-units/FRIDGE-1/device-tokens", {"label": "load"}
        )
        handoff: queue.Queue = queue.Queue()
        ready: queue.Queue = queue.Queue()
        for lot in ready_lots:
            ready.put(lot)
        stop = time.monotonic() + SECONDS
        threads = [
            threading.Thread(
                target=technician, args=(Client(base, stats, errors), f"tech{i}", lots, handoff, stop)
            )
            for i in range(1, TECHNICIANS + 1)
        ]
        threads += [
            threading.Thread(target=reviewer, args=(Client(base, stats, errors), f"rev{i}", ready, stop))
            for i in range(1, REVIEWERS + 1)
        ]
        threads.append(
            threading.Thread(target=sensor, args=(Client(base, stats, errors), device["token"], stop))
        )
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(instance, ignore_errors=True)

    total = sum(len(v) for v in stats.values())
    everything = [x for v in stats.values() for x in v]
    print(f"\nload: {TECHNICIANS} technicians, {REVIEWERS} reviewers, 1 sensor; gunicorn {WORKERS} workers; "
          f"PostgreSQL; {elapsed:.0f} s")  # fmt: skip
    print(f"{'operation':<24}{'requests':>10}{'median ms':>12}{'p95 ms':>10}")
    rows = {}
    for op, values in sorted(stats.items()):
        rows[op] = {
            "n": len(values),
            "median_ms": statistics.median(values),
            "p95_ms": percentile(values, 0.95),
        }
        print(f"{op:<24}{len(values):>10}{rows[op]['median_ms']:>12.1f}{rows[op]['p95_ms']:>10.1f}")
    overall = {"requests": total, "per_second": total / elapsed, "p95_ms": percentile(everything, 0.95),
               "median_ms": statistics.median(everything), "errors": len(errors)}  # fmt: skip
    print(f"{'all':<24}{total:>10}{overall['median_ms']:>12.1f}{overall['p95_ms']:>10.1f}")
    print(f"throughput {overall['per_second']:.1f} requests/s; errors {len(errors)}")
    for line in errors[:20]:
        print("  error:", line)
    report = {
        "database": "PostgreSQL",
        "seconds": elapsed,
        "workers": WORKERS,
        "technicians": TECHNICIANS,
        "reviewers": REVIEWERS,
        "operations": rows,
        "overall": overall,
        "error_lines": errors[:20],
    }
    path = os.environ.get("BENCH_JSON") or os.environ.get("LOAD_JSON")
    if path:
        Path(path).write_text(json.dumps(report, indent=2))
    return report


run = main  # the name bench/report.py expects of every benchmark


if __name__ == "__main__":
    sys.exit(1 if main()["overall"]["errors"] else 0)
