"""Excursions found in readings hold the batches stored through them until a signed disposition.

The rule end to end: readings arrive → an excursion is recorded → every unreleased batch that
was in the unit goes on hold → a reviewer records a disposition → the hold is lifted (or the
batch is rejected).
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask, current_app

from qa_app.errors import InvalidInput
from qa_app.extensions import db
from qa_app.models import AuditEvent, Excursion
from qa_app.services import batches, excursions, readings, storage
from qa_app.services.excursions import DispositionInput
from tests.builders import signature, user
from tests.services.test_results import holds, shared_database_app, status

FIVE_MINUTES = timedelta(minutes=5)


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    yield from shared_database_app(databases, str(tmp_path_factory.mktemp("excursions-instance")))


@pytest.fixture
def ctx(shared_app):
    with shared_app.app_context():
        yield


def now_5min() -> datetime:
    now = datetime.now(UTC)
    return now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)


def stored_batch(unit: str, placed: datetime) -> str:
    """A batch compounded and put into ``unit`` at ``placed``: capsules in a room unit, the
    refrigerated oral liquid in a refrigerator (a batch goes only where its formula says)."""
    lots = current_app.config["TEST_LOTS"]
    tina = user("tina")
    if storage.get_unit(unit).condition == "refrigerated":
        batch = batches.create_batch(
            tina, formula="LDN-LIQ", quantity=100, concentration=1.0, dose_amount=4.5, compounded_at=placed
        )
        lot = batch.lot_number
        batches.record_component(
            tina, lot, barcode=lots["api"], quantity_mg=batch.calculation["api_mg"], balance="XS205"
        )
        batches.record_component(tina, lot, barcode=lots["syrup"], quantity_mg=100000.0, balance="XS205")
        batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
        batches.complete(tina, lot, actual_yield=100, storage_unit=unit, at=placed)
        return lot
    batch = batches.create_batch(
        tina, formula="LDN-CAP", strength_mg=1.5, quantity=100, api_lot=lots["api"], compounded_at=placed
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
    batches.complete(tina, lot, actual_yield=100, storage_unit=unit, at=placed)
    return lot


def rows(start: datetime, count: int, value_at) -> list[readings.RowInput]:
    return [
        readings.RowInput(i + 1, (start + i * FIVE_MINUTES).isoformat(), value_at(start + i * FIVE_MINUTES))
        for i in range(count)
    ]


def power_cut(start: datetime, cut_from: datetime, cut_to: datetime, peak: float):
    return lambda moment: peak if cut_from <= moment < cut_to else 5.0


def unit_excursions(code: str) -> list[Excursion]:
    stmt = excursions.list_statement(storage_unit=code).order_by(None).order_by(Excursion.start)
    return list(db.session.scalars(stmt))


def test_power_cut_holds_the_batch_until_an_acceptable_disposition(ctx):
    end = now_5min()
    start = end - timedelta(days=2)
    lot = stored_batch("FRIDGE-1", start)
    assert status(lot) == "quarantine"

    cut = power_cut(start, end - timedelta(hours=10), end - timedelta(hours=6), 18.0)
    result = readings.ingest("FRIDGE-1", rows(start, 2 * 288, cut), source="api", actor=user("tina"))
    assert (result.accepted, result.duplicates) == (576, 0)

    [found] = unit_excursions("FRIDGE-1")
    assert found.start == end - timedelta(hours=10)
    assert found.end == end - timedelta(hours=6)
    assert found.duration_minutes == 240.0
    assert (found.min_c, found.max_c) == (18.0, 18.0)
    assert found.classification == "needs_disposition"
    assert status(lot) == "on_hold"
    assert holds(lot) == [
        f"Excursion {found.id} in FRIDGE-1 (up to 18.0 °C, above 8.0 °C) needs a disposition for this batch."
    ]
    assert [b.lot_number for b in excursions.batches_during(found)] == [lot]

    excursions.record_disposition(
        user("rob"),
        lot,
        DispositionInput(found.id, "acceptable", "24-h MKT 7.9 °C; stability data cover 18 °C for 4 h"),
        signature("rob", "reviewed"),
    )
    assert status(lot) == "quarantine"
    assert holds(lot) == []
    recorded = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.entity_key == lot).order_by(AuditEvent.seq)
    ).all()
    assert recorded[-2:] == ["batch.disposition_recorded", "batch.status_changed"]

    # The same readings again are duplicates, not errors, and change nothing.
    again = readings.ingest("FRIDGE-1", rows(start, 2 * 288, cut), source="api", actor=user("tina"))
    assert (again.accepted, again.duplicates) == (0, 576)
    assert len(unit_excursions("FRIDGE-1")) == 1


def test_a_reading_with_another_value_at_a_stored_time_is_refused(ctx):
    moment = now_5min() - timedelta(days=40)
    readings.ingest(
        "SHELF-1", [readings.RowInput(1, moment.isoformat(), 21.0)], source="api", actor=user("tina")
    )
    with pytest.raises(Exception) as caught:
        readings.ingest(
            "SHELF-1", [readings.RowInput(1, moment.isoformat(), 22.5)], source="api", actor=user("tina")
        )
    assert caught.value.status == 409
    assert "stored already as 21 °C, not 22.5 °C" in caught.value.rows[0]["message"]


def test_bad_rows_are_all_named_and_nothing_is_stored(ctx):
    bad = [
        readings.RowInput(2, "2026-11-20T08:00:00", 5.0),
        readings.RowInput(3, "2026-11-20T08:05:00Z", "warm"),
        readings.RowInput(4, "2026-11-20T08:10:00Z", 95.0),
        readings.RowInput(5, (datetime.now(UTC) + timedelta(hours=1)).isoformat(), 5.0),
        readings.RowInput(6, "2026-11-20T08:20:00Z", 5.0),
    ]
    with pytest.raises(InvalidInput) as caught:
        readings.ingest("FRIDGE-1", bad, source="csv", actor=user("tina"))
    assert [r["row"] for r in caught.value.rows] == [2, 3, 4, 5]
    assert "has no offset" in caught.value.rows[0]["message"]
    assert "'warm' is not a number" in caught.value.rows[1]["message"]
    assert "95 is outside −80…80 °C" in caught.value.rows[2]["message"]
    assert "in the future" in caught.value.rows[3]["message"]


def test_reject_disposition_rejects_the_batch(ctx):
    end = now_5min() - timedelta(days=10)
    start = end - timedelta(days=1)
    lot = stored_batch("SHELF-1", start)
    warm = lambda moment: 42.0 if end - timedelta(hours=5) <= moment < end - timedelta(hours=2) else 22.0  # noqa: E731
    readings.ingest("SHELF-1", rows(start, 288, warm), source="csv", actor=user("tina"))
    found = [e for e in unit_excursions("SHELF-1") if e.max_c == 42.0][0]
    assert found.classification == "needs_disposition"
    assert status(lot) == "on_hold"
    with pytest.raises(InvalidInput) as caught:
        excursions.record_disposition(
            user("rob"), lot, DispositionInput(found.id, "reject", "  "), signature("rob", "reviewed")
        )
    assert caught.value.fields == {"comment": "Give the justification, e.g. the MKT and how long it lasted."}
    excursions.record_disposition(
        user("rob"), lot, DispositionInput(found.id, "reject", "42 °C for 3 h"), signature("rob", "reviewed")
    )
    assert status(lot) == "rejected"
