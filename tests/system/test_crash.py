"""Crashes: the server killed (SIGKILL) in the middle of a large import leaves no trace of it.

Each test first sends one import to completion, which gives its duration on this machine and
data that must survive the crash. It then sends a second import of the same size and kills
gunicorn's whole process group about halfway through. After the crash: the database is
consistent, the killed import is wholly absent (rows, uploads, sums, audit events), the
completed one wholly present, the audit chain verifies with ``flask audit verify``, and the
killed import goes through in full when it is sent again to the restarted server.
"""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from config import TestConfig
from qa_app.extensions import db
from qa_app.models import AuditEvent, Batch, Reading, ReadingHour, ReadingUpload, Result
from qa_app.services import audit, clock, storage
from tests.services.test_results import quarantined_batch
from tests.system.checks import (
    orphaned_rows,
    sqlite_integrity,
    transaction_open,
    wait_for_abandoned_transactions,
)
from tests.system.conftest import ServedDatabase
from tests.system.server import PROJECT_ROOT, PendingRequest, Server

# Sized so that one import takes three to four seconds on the 2-core reference machine.
READINGS = {"sqlite": 80_000, "postgresql": 30_000}
BATCHES = {"sqlite": 400, "postgresql": 400}


def readings_csv(count: int) -> bytes:
    """``count`` one-minute readings of a room shelf (21.0–23.9 °C), ending a day ago."""
    start = clock.utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=1, minutes=count)
    lines = ["at,temperature_c"]
    lines += [f"{(start + timedelta(minutes=i)).isoformat()},{21 + (i % 30) / 10:.1f}" for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


def results_csv(lot_numbers: list[str], specification: dict) -> bytes:
    """Every test of the specification, passing, for each batch: 12 rows per capsule batch."""
    lines = ["lot_number,test,value,replicate,method,analyst,tested_at"]
    tested_at = (clock.utcnow() - timedelta(hours=1)).isoformat()
    for lot in lot_numbers:
        for test in specification["tests"]:
            if test["kind"] == "range":
                value = (test["min"] + test["max"]) / 2
                lines.append(f"{lot},{test['key']},{value},,HPLC,Contract lab,{tested_at}")
            elif test["kind"] == "attribute":
                lines.append(f"{lot},{test['key']},{test['expected']},,Visual,Contract lab,{tested_at}")
            else:
                lines += [
                    f"{lot},{test['key']},{99 + i % 3},{i},HPLC,Contract lab,{tested_at}"
                    for i in range(1, 11)
                ]
    return ("\n".join(lines) + "\n").encode()


def copies_of_batch(lot_number: str, day: str, count: int) -> list[str]:
    """``count`` copies of a quarantined batch, rows and all, numbered ``LDN-<day>-001`` on.

    Made with plain inserts, a hundred in well under a second: through the services a batch
    takes six use cases, about 0.17 s. The copies have no audit events of their own; the
    import's events are what the tests look at.
    """
    batch = Batch.__table__
    source = db.session.execute(sa.select(batch).where(batch.c.lot_number == lot_number)).mappings().one()
    children = {}
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column is batch.c.id:
                rows = db.session.execute(sa.select(table).where(fk.parent == source["id"])).mappings().all()
                if rows:
                    children[table] = (fk.parent.name, rows)
    numbers = []
    for n in range(1, count + 1):
        number = f"LDN-{day}-{n:03d}"
        values = {k: v for k, v in source.items() if k != "id"} | {"lot_number": number}
        new_id = db.session.execute(sa.insert(batch).values(values).returning(batch.c.id)).scalar_one()
        for table, (column, rows) in children.items():
            db.session.execute(
                sa.insert(table), [{k: v for k, v in r.items() if k != "id"} | {column: new_id} for r in rows]
            )
        numbers.append(number)
    db.session.commit()
    return numbers


def send_and_kill_halfway(server: Server, path: str, body: bytes, headers: dict, measured: float) -> float:
    """Send ``body`` and SIGKILL the server ``measured / 2`` seconds after the request began.

    Answers when the kill came, in seconds after the request began; fails unless the server
    was inside the import's transaction at that moment and the client saw the connection drop.
    """
    pending = PendingRequest(server, path, body, headers)
    began = time.monotonic()
    pending.start()
    assert pending.sent.wait(60), "the request body was not sent within a minute"
    time.sleep(max(0.0, began + measured / 2 - time.monotonic()))
    inside = transaction_open(server.database_url)
    killed_at = time.monotonic() - began
    server.kill()
    pending.join(timeout=30)
    assert isinstance(pending.outcome, ConnectionError), (
        f"the import was meant to be cut off {killed_at:.1f} s in (it takes {measured:.1f} s), "
        f"but the client saw {pending.outcome!r}"
    )
    assert inside, f"the server was not inside a transaction {killed_at:.1f} s into the import"
    return killed_at


def start_audit_verify(url: str) -> subprocess.Popen:
    """``flask --app qa_app audit verify`` in a process of its own, as an operator would run it."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "audit-verify",
        "QA_AUDIT_KEY": TestConfig.QA_AUDIT_KEY,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "qa_app", "audit", "verify"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def restart_after_verifying(served: ServedDatabase, log: Path, events: int) -> Server:
    """Run ``flask audit verify`` while the server starts again; it must pass on ``events`` events."""
    verifying = start_audit_verify(served.url)
    server = Server(served.url, log).start()
    try:
        out, err = verifying.communicate(timeout=60)
        expected = (0, f"Audit trail intact: {events} events checked.")
        assert (verifying.returncode, out.strip().splitlines()[0]) == expected, err
    except BaseException:
        server.kill()
        raise
    return server


def assert_consistent(served: ServedDatabase) -> None:
    """Inside an app context: no orphaned row anywhere, and SQLite's own checks clean."""
    assert orphaned_rows() == {}
    if served.backend == "sqlite":
        assert sqlite_integrity() == ("ok", [])


def unit_state(code: str) -> dict[str, int]:
    """What a readings import leaves for a unit: readings, uploads, hourly sums, audit events."""
    unit = storage.get_unit(code)

    def count(model, *where) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

    return {
        "readings": count(Reading, Reading.storage_unit_id == unit.id),
        "uploads": count(ReadingUpload, ReadingUpload.storage_unit_id == unit.id),
        "counted_in_hours": db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(ReadingHour.count), 0)).where(
                ReadingHour.storage_unit_id == unit.id
            )
        ),
        "events": count(
            AuditEvent, AuditEvent.action == "readings.received", AuditEvent.entity_key == unit.code
        ),
    }


def test_a_readings_import_killed_halfway_is_wholly_absent(gunicorn, served, tmp_path):
    """80,000 readings (30,000 on PostgreSQL) for SHELF-1 cut off halfway: SHELF-1 has 0
    readings, 0 uploads, 0 hourly sums and 0 events; SHELF-2's file, sent before, is there
    whole; the chain verifies; the file sent again is stored whole."""
    n = READINGS[served.backend]
    with served.app.app_context():
        body = readings_csv(n)
    headers = served.headers["tina"] | {"Content-Type": "text/csv"}
    server = Server(served.url, tmp_path / "gunicorn.log").start()
    try:
        began = time.monotonic()
        status, answer = server.call("POST", "/api/v1/storage-units/SHELF-2/readings", body, headers)
        measured = time.monotonic() - began
        assert (status, answer) == (200, {"accepted": n, "duplicates": 0}), server.log_tail()
        killed_at = send_and_kill_halfway(
            server, "/api/v1/storage-units/SHELF-1/readings", body, headers, measured
        )
    finally:
        server.kill()
    assert 0 < killed_at < measured

    with served.app.app_context():
        wait_for_abandoned_transactions()
        assert_consistent(served)
        assert unit_state("SHELF-1") == {"readings": 0, "uploads": 0, "counted_in_hours": 0, "events": 0}
        assert unit_state("SHELF-2") == {"readings": n, "uploads": 1, "counted_in_hours": n, "events": 1}
        events = audit.verify_chain().checked
        db.session.remove()
        db.engine.dispose()
    server = restart_after_verifying(served, tmp_path / "gunicorn.log", events)
    try:
        status, answer = server.call("POST", "/api/v1/storage-units/SHELF-1/readings", body, headers)
    finally:
        server.stop()
    assert (status, answer) == (200, {"accepted": n, "duplicates": 0})
    with served.app.app_context():
        assert unit_state("SHELF-1") == {"readings": n, "uploads": 1, "counted_in_hours": n, "events": 1}
        assert audit.verify_chain().ok


def test_a_results_import_killed_halfway_is_wholly_absent(gunicorn, served, tmp_path):
    """Results for 400 batches (12 rows each; enough for the import to take a while) cut off
    halfway: the 400 have 0 results and 0 events and are all still in quarantine; the 400
    imported before have their 3 results and await release; the chain verifies; the file sent
    again is imported whole."""
    k = BATCHES[served.backend]
    with served.app.app_context():
        served.app.config["TEST_LOTS"] = served.lots
        template = quarantined_batch()
        first = copies_of_batch(template, "200101", k)
        second = copies_of_batch(template, "200102", k)
        specification = db.session.scalar(sa.select(Batch.specification).where(Batch.lot_number == template))
        first_csv, second_csv = results_csv(first, specification), results_csv(second, specification)
        db.session.remove()
        db.engine.dispose()
    per_batch = len(specification["tests"])
    headers = served.headers["tina"] | {"Content-Type": "text/csv"}
    server = Server(served.url, tmp_path / "gunicorn.log").start()
    try:
        began = time.monotonic()
        status, answer = server.call("POST", "/api/v1/results/import", first_csv, headers)
        measured = time.monotonic() - began
        assert (status, answer["results"], len(answer["batches"])) == (201, per_batch * k, k), answer
        killed_at = send_and_kill_halfway(server, "/api/v1/results/import", second_csv, headers, measured)
    finally:
        server.kill()
    assert 0 < killed_at < measured

    def state(lots: list[str]) -> dict:
        ids = sa.select(Batch.id).where(Batch.lot_number.in_(lots))
        statuses = db.session.execute(
            sa.select(Batch.status, sa.func.count()).where(Batch.id.in_(ids)).group_by(Batch.status)
        ).all()
        return {
            "results": db.session.scalar(
                sa.select(sa.func.count()).select_from(Result).where(Result.batch_id.in_(ids))
            ),
            "events": db.session.scalar(
                sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.entity_key.in_(lots))
            ),
            "statuses": dict(statuses),
        }

    with served.app.app_context():
        wait_for_abandoned_transactions()
        assert_consistent(served)
        assert state(second) == {"results": 0, "events": 0, "statuses": {"quarantine": k}}
        # Per batch: one event per result and one for the move to awaiting release.
        assert state(first) == {
            "results": per_batch * k,
            "events": (per_batch + 1) * k,
            "statuses": {"awaiting_release": k},
        }
        events = audit.verify_chain().checked
        db.session.remove()
        db.engine.dispose()
    server = restart_after_verifying(served, tmp_path / "gunicorn.log", events)
    try:
        status, answer = server.call("POST", "/api/v1/results/import", second_csv, headers)
    finally:
        server.stop()
    assert (status, answer["results"], len(answer["batches"])) == (201, per_batch * k, k)
    with served.app.app_context():
        assert state(second)["statuses"] == {"awaiting_release": k}
        assert audit.verify_chain().ok
