"""Concurrency: people and loggers acting at the same moment never lose, duplicate or fork anything.

Each test releases its workers together with a barrier: threads that each send a request
through their own test client (so each has its own app context, session and connection), or
processes that each build their own app. They run on the suite's database: SQLite files, or
PostgreSQL when TEST_DATABASE_URL is set (as in CI). Two existing tests cover threads appending
to the audit trail (services/test_audit.py) and opening batches through the services
(services/test_batch_record.py); these add the HTTP layer, separate processes and readings.
"""

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from qa_app.domain import temperature_sums
from qa_app.extensions import db
from qa_app.models import AuditEvent, Batch, LotCounter, Reading, ReadingHour, ReadingUpload, Result
from qa_app.services import audit, batches, clock, investigations, results, storage
from qa_app.services.readings import HOUR_COLUMNS
from tests.builders import setup_master_data, signature, user
from tests.conftest import build_app


def together(workers: int, work: Callable[[int], Any]) -> list[Any]:
    """``work(0)`` … ``work(workers - 1)`` in as many threads, released at once by a barrier."""
    start = threading.Barrier(workers)
    outcomes: list[Any] = [None] * workers
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait(timeout=60)
            outcomes[i] = work(i)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    with app.app_context():
        return setup_master_data(clock.today())


def audit_actions(lot_number: str) -> Counter:
    return Counter(
        db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_key == lot_number))
    )


# --- component records -----------------------------------------------------------------------


def test_twelve_scans_at_once_on_one_draft_keep_one_of_each_component(app, lots, auth):
    """Twelve scans of one draft at once, 8 of them API lots: 3 accepted (API, filler, capsules),
    9 refused with 409 and none with 500; the calculation follows the API lot that won."""
    with app.app_context():
        lot = batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number
    headers = auth.token("tina")
    scans = (
        [{"barcode": lots["api"], "quantity_mg": 151.52, "balance": "XS205"}]
        * 4  # the default API lot: 150 mg / 99.0 %
        + [{"barcode": lots["api2"], "quantity_mg": 153.06, "balance": "XS205"}]
        * 4  # the other one: 150 mg / 98.0 %
        + [{"barcode": lots["mcc"], "quantity_mg": 22348.0, "balance": "XS205"}] * 2
        + [{"barcode": lots["caps"], "count": 102}] * 2
    )

    def scan(i: int) -> tuple[int, str, str]:
        response = app.test_client().post(f"/api/v1/batches/{lot}/components", json=scans[i], headers=headers)
        code = "" if response.status_code == 201 else response.get_json()["error"]["code"]
        return response.status_code, scans[i]["barcode"], code

    outcomes = together(len(scans), scan)
    assert Counter(status for status, _, _ in outcomes) == {201: 3, 409: 9}
    assert {code for status, _, code in outcomes if status == 409} <= {"wrong_state", "conflict"}
    accepted = {barcode for status, barcode, _ in outcomes if status == 201}
    api_lot = (accepted & {lots["api"], lots["api2"]}).pop()
    assert accepted == {api_lot, lots["mcc"], lots["caps"]}

    with app.app_context():
        batch = batches.get_batch(lot)
        assert sorted((c.role, c.lot.barcode) for c in batch.components) == sorted(
            [("api", api_lot), ("filler", lots["mcc"]), ("container", lots["caps"])]
        )
        api = batches.api_component(batch)
        assert batch.calculation["api_lot"] == api_lot
        assert api.theoretical_mg == batch.calculation["api_mg_raw"]
        assert batch.calculation["api_mg"] == (151.52 if api_lot == lots["api"] else 153.06)
        events = audit_actions(lot)
        assert events["batch.component_recorded"] == 3
        # Every write to the batch row moves row_version on by one; only these two change it here.
        assert batch.row_version == 1 + events["batch.recalculated"] + events["batch.bud_changed"]
        assert events["batch.recalculated"] == (0 if api_lot == lots["api"] else 1)
        assert audit.verify_chain().ok


# --- the audit trail, from separate processes -----------------------------------------------


def _append_events(url: str, instance_path: str, writer: int, count: int, start) -> None:
    """One process: its own app, engine and connections, appending ``count`` events."""
    app = build_app(url, instance_path)
    with app.app_context():
        start.wait(timeout=60)
        for i in range(count):
            audit.record("test.process", "process", f"P{writer}", username=f"p{writer}", new={"i": i})
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


def test_four_processes_appending_at_once_make_one_chain_of_100(app, tmp_path):
    """Four processes append 25 events each at once: seq 1–100, 25 per process in each one's own
    order, and the chain verifies."""
    writers, per_writer = 4, 25
    context = multiprocessing.get_context("fork")  # no re-import per process; each builds its own app
    start = context.Barrier(writers)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    processes = [
        context.Process(target=_append_events, args=(url, str(tmp_path / f"p{n}"), n, per_writer, start))
        for n in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * writers

    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEvent.seq, AuditEvent.entity_key, AuditEvent.new_values).order_by(AuditEvent.seq)
        ).all()
        check = audit.verify_chain()
    assert [seq for seq, _, _ in rows] == list(range(1, writers * per_writer + 1))
    assert Counter(key for _, key, _ in rows) == {f"P{n}": per_writer for n in range(writers)}
    for n in range(writers):
        assert [new["i"] for _, key, new in rows if key == f"P{n}"] == list(range(per_writer))
    assert (check.ok, check.checked) == (True, writers * per_writer)


# --- lot numbers ------------------------------------------------------------------------------


def test_twenty_workstations_opening_batches_at_once_get_001_to_020(app, lots, auth):
    """20 batches opened through the API at the same moment, dated the same day: 20 answers 201,
    lot numbers 001–020 with none skipped or repeated, 20 creation events."""
    workers = 20
    headers = auth.token("tina")
    moment = (clock.utcnow() - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    body = {"formula": "LDN-CAP", "strength_mg": 1.5, "quantity": 10, "compounded_at": moment.isoformat()}

    def open_batch(_: int) -> tuple[int, str]:
        response = app.test_client().post("/api/v1/batches", json=body, headers=headers)
        return response.status_code, response.get_json().get("lot_number", "")

    outcomes = together(workers, open_batch)
    day = moment.strftime("%y%m%d")
    assert [status for status, _ in outcomes] == [201] * workers
    assert sorted(number for _, number in outcomes) == [f"LDN-{day}-{n:03d}" for n in range(1, workers + 1)]
    with app.app_context():
        assert db.session.scalar(sa.select(LotCounter.last).where(LotCounter.day == day)) == workers
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Batch)) == workers
        created = db.session.scalars(
            sa.select(AuditEvent.entity_key).where(AuditEvent.action == "batch.created")
        ).all()
        assert sorted(created) == sorted(number for _, number in outcomes)
        assert audit.verify_chain().ok


# --- readings ---------------------------------------------------------------------------------

UNIT = "FRIDGE-1"


def fridge_value(minute: int) -> float:
    """The logger's reading at ``minute``: 4.0–5.9 °C, inside the refrigerator's 2–8 °C."""
    return 4.0 + (minute % 20) / 10


def logger_file(minutes: range, shift: float = 0.0) -> list[tuple[int, str]]:
    return [(minute, f"{fridge_value(minute) + shift:.1f}") for minute in minutes]


def test_overlapping_uploads_at_once_store_each_whole_or_not_at_all(app, lots, auth):
    """Nine logger files for one refrigerator at once. Seven overlap their neighbours by 90
    minutes (the same readings sent twice); one gives other values for 30 minutes of the first
    file and clashes with it; one has a bad row. Each file is stored whole or not at all: 7
    answer 200, one of the clashing pair 409 (whichever came second), the bad file 400. The
    stored readings are exactly the union of the accepted files, none twice, and the hourly
    sums equal sums rebuilt from the stored readings."""
    base = clock.utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=3, minutes=17)
    files = [logger_file(range(k * 90, k * 90 + 180)) for k in range(7)]  # minutes 0–719
    files.append(logger_file(range(30, 60), shift=1.0) + logger_file(range(1500, 1530)))
    bad = logger_file(range(2000, 2060))
    bad[29] = (bad[29][0], "warm")
    files.append(bad)
    headers = auth.token("tina") | {"Content-Type": "text/csv"}

    def upload(i: int) -> tuple[int, dict]:
        lines = ["at,temperature_c"] + [
            f"{(base + timedelta(minutes=m)).isoformat()},{v}" for m, v in files[i]
        ]
        response = app.test_client().post(
            f"/api/v1/storage-units/{UNIT}/readings", data="\n".join(lines), headers=headers
        )
        return response.status_code, response.get_json()

    outcomes = together(len(files), upload)
    statuses = [status for status, _ in outcomes]
    assert statuses[8] == 400
    assert Counter(statuses[:8]) == {200: 7, 409: 1}
    assert 409 in (statuses[0], statuses[7])
    accepted = [i for i in range(8) if statuses[i] == 200]
    for i in accepted:
        assert outcomes[i][1]["accepted"] + outcomes[i][1]["duplicates"] == len(files[i])
    expected = {base + timedelta(minutes=m): float(v) for i in accepted for m, v in files[i]}

    with app.app_context():
        unit = storage.get_unit(UNIT)
        stored = dict(
            db.session.execute(
                sa.select(Reading.at, Reading.temperature_c)
                .where(Reading.storage_unit_id == unit.id)
                .order_by(Reading.at)
            ).all()
        )
        uploads = db.session.scalars(
            sa.select(ReadingUpload.accepted).where(ReadingUpload.storage_unit_id == unit.id)
        ).all()
        received = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "readings.received", AuditEvent.entity_key == UNIT)
        )
        assert stored == expected
        assert (len(uploads), sum(uploads), received) == (7, len(expected), 7)
        assert_hourly_sums_match_a_rebuild(unit.id)
        assert audit.verify_chain().ok


def assert_hourly_sums_match_a_rebuild(unit_id: int) -> None:
    """The stored hourly sums equal :func:`temperature_sums.hourly_sums` over every stored reading."""
    rows = db.session.execute(
        sa.select(Reading.at, Reading.temperature_c)
        .where(Reading.storage_unit_id == unit_id)
        .order_by(Reading.at)
    ).all()
    t = np.array([at.timestamp() for at, _ in rows])
    v = np.array([value for _, value in rows])
    rebuilt = temperature_sums.hourly_sums(t, v, None).rows()
    columns = [getattr(ReadingHour, name) for name in HOUR_COLUMNS]
    stored = [
        dict(zip(HOUR_COLUMNS, row, strict=True))
        for row in db.session.execute(
            sa.select(*columns).where(ReadingHour.storage_unit_id == unit_id).order_by(ReadingHour.hour)
        ).all()
    ]
    assert len(stored) == len(rebuilt)
    for got, want in zip(stored, rebuilt, strict=True):
        for name in HOUR_COLUMNS:
            value = got[name]
            if isinstance(value, datetime):
                value = value.astimezone(UTC).timestamp()
            if want[name] is None or value is None:
                assert value == want[name], (name, got["hour"])
            else:
                assert value == pytest.approx(want[name], rel=1e-9, abs=1e-9), (name, got["hour"])


# --- retests within the plan (domain.md §5) ---------------------------------------------------


def test_eight_retests_at_once_take_the_two_the_plan_allows_then_one_replacement(app, lots, auth):
    """An OOS assay under an investigation allowing 2 retests: 8 posted at once record 2 and
    refuse 6 with 409; after a laboratory cause, 4 replacements at once record exactly 1."""
    with app.app_context():
        tina = user("tina")
        batch = batches.create_batch(
            tina, formula="LDN-CAP", strength_mg=1.5, quantity=100, api_lot=lots["api"]
        )
        lot, calculation = batch.lot_number, batch.calculation
        batches.record_component(
            tina, lot, barcode=lots["api"], quantity_mg=calculation["api_mg"], balance="XS205"
        )
        batches.record_component(
            tina, lot, barcode=lots["mcc"], quantity_mg=calculation["filler_mg"], balance="XS205"
        )
        batches.record_component(tina, lot, barcode=lots["caps"], count=100)
        batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
        batches.record_weight_check(tina, lot, [225.0] * 10)
        batches.complete(tina, lot, actual_yield=100, storage_unit="SHELF-1")
        failed = results.record_result(tina, lot, test="assay", value=85.0)
        investigation = investigations.open_investigation(
            user("rob"), lot, result_id=failed.id, retests_allowed=2
        ).id
    headers = auth.token("tina")

    def retest(i: int) -> int:
        body = {"test": "assay", "value": 99.0 + i / 10}
        return (
            app.test_client().post(f"/api/v1/batches/{lot}/results", json=body, headers=headers).status_code
        )

    assert Counter(together(8, retest)) == {201: 2, 409: 6}
    with app.app_context():
        investigations.close_investigation(
            user("rob"),
            investigation,
            signature("rob", "reviewed"),
            phase="I",
            assignable_cause="laboratory",
            cause="Standard prepared at the wrong dilution",
            conclusion="Original result invalid",
        )
    assert Counter(together(4, retest)) == {201: 1, 409: 3}
    with app.app_context():
        linked = db.session.scalar(
            sa.select(sa.func.count()).select_from(Result).where(Result.retest_of_id == investigation)
        )
        assert linked == 3
        assert audit_actions(lot)["result.recorded"] == 4


def _batch_with_a_retest_left(lots: dict[str, str]) -> tuple[str, int]:
    """A batch in quarantine whose OOS assay is under an investigation allowing one retest."""
    tina = user("tina")
    batch = batches.create_batch(tina, formula="LDN-CAP", strength_mg=1.5, quantity=100, api_lot=lots["api"])
    lot, calculation = batch.lot_number, batch.calculation
    batches.record_component(
        tina, lot, barcode=lots["api"], quantity_mg=calculation["api_mg"], balance="XS205"
    )
    batches.record_component(
        tina, lot, barcode=lots["mcc"], quantity_mg=calculation["filler_mg"], balance="XS205"
    )
    batches.record_component(tina, lot, barcode=lots["caps"], count=100)
    batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
    batches.record_weight_check(tina, lot, [225.0] * 10)
    batches.complete(tina, lot, actual_yield=100, storage_unit="SHELF-1")
    failed = results.record_result(tina, lot, test="assay", value=85.0)
    opened = investigations.open_investigation(user("rob"), lot, result_id=failed.id, retests_allowed=1)
    return lot, opened.id


def test_imports_and_single_results_at_once_on_two_batches_take_the_one_retest_each(app, lots, auth):
    """Two batches, each with one retest left: six results files naming both (three in each
    order) and four single results sent at once record exactly one retest per batch, a file
    wholly or not at all, and nobody meets a server error (a deadlock would be one)."""
    with app.app_context():
        first, first_plan = _batch_with_a_retest_left(lots)
        second, second_plan = _batch_with_a_retest_left(lots)
    headers = auth.token("tina")
    header = "lot_number,test,value,replicate,method,analyst,tested_at"

    def send(i: int) -> tuple[str, int]:
        client = app.test_client()
        if i < 6:
            order = [first, second] if i % 2 else [second, first]
            rows = [f"{lot},assay,99.{i},1,HPLC,J. Lab,2026-11-20T10:00:00Z" for lot in order]
            body = "\n".join([header, *rows]) + "\n"
            sent = {**headers, "Content-Type": "text/csv"}
            return "file", client.post("/api/v1/results/import", data=body, headers=sent).status_code
        lot = first if i % 2 else second
        body = {"test": "assay", "value": 99.0 + i / 10}
        return lot, client.post(f"/api/v1/batches/{lot}/results", json=body, headers=headers).status_code

    outcomes = together(10, send)
    assert {status for _, status in outcomes} <= {201, 400, 409}
    files = sum(1 for who, status in outcomes if who == "file" and status == 201)
    with app.app_context():
        for lot, plan in ((first, first_plan), (second, second_plan)):
            retests = db.session.scalar(
                sa.select(sa.func.count()).select_from(Result).where(Result.retest_of_id == plan)
            )
            singles = sum(1 for who, status in outcomes if who == lot and status == 201)
            assert retests == 1, lot
            assert files + singles == 1, lot
            assert audit_actions(lot)["result.recorded"] == 2
