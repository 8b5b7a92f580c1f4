"""Excursions the way a hurried technician, a late logger or a misconfigured sensor would meet them.

Late readings never lift a hold; a move is never dated before an excursion; a batch goes only
into a unit that fits its formula; a reading beyond the allowance counts at once; a data gap is
not evidence. Units read every five minutes with a 30-minute alarm delay (as in the lifecycle
tests), so "[5.0] * 24" is two hours at 5 °C.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.errors import InvalidInput, WrongState
from qa_app.extensions import db
from qa_app.models import BatchLocation, Excursion, StorageUnit
from qa_app.services import batches, excursions, storage
from qa_app.services.excursions import DispositionInput
from tests.builders import signature, user
from tests.services.test_excursion_lifecycle import HOUR, STEP, audited, live, new_unit, send, send_at
from tests.services.test_excursions import stored_batch
from tests.services.test_results import holds, shared_database_app, status


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    yield from shared_database_app(databases, str(tmp_path_factory.mktemp("integrity-instance")))


@pytest.fixture
def ctx(shared_app):
    with shared_app.app_context():
        yield


@pytest.fixture
def t0() -> datetime:
    """Midnight UTC three days ago: every reading of a test lies in the past."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)


def states(*found: Excursion) -> list[str]:
    got = excursions.states(list(found))
    return [got[e.id] for e in found]


# --- A: late readings never lift a hold --------------------------------------------------------


def test_late_readings_that_would_shorten_a_held_excursion_leave_it_whole(ctx, t0):
    code = new_unit()
    lot = stored_batch(code, t0 - HOUR)
    send(code, t0, [5.0] * 12 + [14.0] * 12)  # 01:00–01:55 at 14 °C, still out at the last reading
    send(code, t0 + 2.5 * HOUR, [14.0] * 6 + [5.0] * 12)  # 02:30–02:55 at 14 °C, back at 03:00
    [found] = live(code)
    # a gap of 35 minutes (01:55–02:30) inside it: it needs a disposition
    assert (found.start, found.end, found.classification) == (t0 + HOUR, t0 + 3 * HOUR, "needs_disposition")
    assert status(lot) == "on_hold"

    # the logger's file: 02:00–02:25 back at 5 °C, long enough to end it at 02:00
    send(code, t0 + 2 * HOUR, [5.0] * 6)
    [kept] = live(code)
    assert (kept.id, kept.start, kept.end) == (found.id, t0 + HOUR, t0 + 3 * HOUR)
    assert (kept.duration_minutes, kept.classification) == (120.0, "needs_disposition")
    assert status(lot) == "on_hold"
    # detected open, closed by the 02:30 file, then the gap filled: never shortened
    assert audited(found.id) == ["excursion.detected", "excursion.updated", "excursion.updated"]


def test_late_readings_never_withdraw_an_acknowledged_excursion(ctx, t0):
    code = new_unit()
    send(code, t0, [5.0] * 12)
    send_at(code, [(t0 + HOUR, 12.0), (t0 + 1.5 * HOUR, 12.0)])  # two manual readings at 12 °C
    [found] = live(code)
    excursions.acknowledge(user("rob"), found.id, "Door left ajar during stock-taking.")
    send(code, t0 + HOUR + STEP, [5.0] * 5)
    send(code, t0 + 1.5 * HOUR + STEP, [5.0] * 7)
    [kept] = live(code)
    assert kept.id == found.id and kept.withdrawn_at is None
    assert (kept.start, kept.end) == (t0 + HOUR, t0 + 1.5 * HOUR + STEP)


def test_late_readings_may_still_make_a_held_excursion_worse(ctx, t0):
    code = new_unit()
    lot = stored_batch(code, t0 - HOUR)
    send(code, t0, [5.0] * 12 + [18.0] * 7)  # 01:00–01:30 at 18 °C
    send(code, t0 + 2 * HOUR, [5.0] * 12)  # back at 02:00
    [found] = live(code)
    send(code, t0 + HOUR + 7 * STEP, [25.0] * 5)  # 01:35–01:55 at 25 °C
    [worse] = live(code)
    assert (worse.id, worse.max_c, worse.classification) == (found.id, 25.0, "needs_disposition")
    assert status(lot) == "on_hold"


# --- B: a back-dated move never takes a batch out of an excursion ------------------------------


def test_a_move_dated_before_the_excursion_is_refused_and_the_hold_stays(ctx, t0):
    code = new_unit()
    lot = stored_batch(code, t0 - HOUR)
    send(code, t0, [5.0] * 12 + [18.0] * 12 + [5.0] * 12)  # 01:00–02:00 at 18 °C
    [found] = live(code)
    assert status(lot) == "on_hold"
    with pytest.raises(WrongState) as refused:
        batches.move(user("tina"), lot, storage_unit="FRIDGE-1", at=t0 + 30 * timedelta(minutes=1))
    db.session.rollback()
    assert refused.value.status == 409
    assert refused.value.fields == {"at": f"Not before {(t0 + HOUR).isoformat()}."}
    assert f"excursion {found.id}" in refused.value.message
    assert [p.storage_unit.code for p in batches.get_batch(lot).locations] == [code]
    assert status(lot) == "on_hold"

    # a move after the start is taken, and the hold stays: only a signed disposition lifts it
    batches.move(user("tina"), lot, storage_unit="FRIDGE-1", at=t0 + 1.5 * HOUR)
    assert status(lot) == "on_hold"
    assert holds(lot) == [
        f"Excursion {found.id} in {code} (up to 18.0 °C, above 8.0 °C) needs a disposition for this batch."
    ]


# --- C: the storage unit must match the preparation --------------------------------------------


def test_a_refrigerated_liquid_is_neither_completed_nor_moved_onto_a_room_shelf(ctx, t0):
    lot = stored_batch("FRIDGE-1", t0)
    with pytest.raises(InvalidInput) as refused:
        batches.move(user("tina"), lot, storage_unit="SHELF-1", at=t0 + HOUR)
    db.session.rollback()
    assert refused.value.fields == {
        "storage_unit": "Choose a refrigerated unit: the formula's storage is refrigerated."
    }
    assert db.session.query(BatchLocation).filter_by(batch_id=batches.get_batch(lot).id).count() == 1

    with pytest.raises(InvalidInput) as refused_again:
        stored_batch_into_wrong_unit(t0)
    db.session.rollback()
    assert set(refused_again.value.fields) == {"storage_unit"}


def stored_batch_into_wrong_unit(t0) -> None:
    """An oral liquid completed into SHELF-1 (room)."""
    from flask import current_app

    lots = current_app.config["TEST_LOTS"]
    tina = user("tina")
    batch = batches.create_batch(
        tina, formula="LDN-LIQ", quantity=100, concentration=1.0, dose_amount=4.5, compounded_at=t0
    )
    lot = batch.lot_number
    batches.record_component(
        tina, lot, barcode=lots["api"], quantity_mg=batch.calculation["api_mg"], balance="XS205"
    )
    batches.record_component(tina, lot, barcode=lots["syrup"], quantity_mg=100000.0, balance="XS205")
    batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
    db.session.commit()
    try:
        batches.complete(tina, lot, actual_yield=100, storage_unit="SHELF-1", at=t0)
    finally:
        db.session.rollback()
        assert status(lot) == "draft"


def test_capsules_for_room_storage_are_not_moved_into_a_refrigerator(ctx, t0):
    lot = stored_batch("SHELF-1", t0)
    with pytest.raises(InvalidInput) as refused:
        batches.move(user("tina"), lot, storage_unit="FRIDGE-1", at=t0 + HOUR)
    db.session.rollback()
    assert refused.value.fields == {"storage_unit": "Choose a room unit: the formula's storage is room."}
    assert [u.code for u in batches.fitting_units(batches.get_batch(lot))][:1] == ["SHELF-1"]
    assert "FRIDGE-1" not in [u.code for u in batches.fitting_units(batches.get_batch(lot))]


# --- D: beyond the allowance counts at once ----------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "usual", "beyond", "reason"),
    [
        ("room", 22.0, 41.0, "it reached 41 °C, beyond the allowance (above 40 °C)"),
        ("refrigerated", 5.0, -1.0, "it fell to \u22121 °C, beyond the allowance (below 0 °C)"),
    ],
)
def test_ten_minutes_beyond_the_allowance_open_an_excursion_at_once(
    ctx, t0, condition, usual, beyond, reason
):
    code = new_unit(condition)
    send(code, t0, [usual] * 12 + [beyond] * 2 + [usual] * 12)  # 01:00–01:05 beyond, back at 01:10
    [found] = live(code)
    assert (found.start, found.end, found.duration_minutes) == (t0 + HOUR, t0 + HOUR + 2 * STEP, 10.0)
    assert found.classification == "needs_disposition"
    assert reason in found.reason


def test_a_freezer_keeps_its_alarm_delay(ctx, t0):
    code = new_unit("freezer")
    send(code, t0, [-18.0] * 12 + [-5.0] * 2 + [-18.0] * 12)  # ten minutes at −5 °C
    assert live(code) == []


def test_a_short_run_inside_the_allowance_is_still_filtered_by_the_alarm_delay(ctx, t0):
    code = new_unit("refrigerated")
    send(code, t0, [5.0] * 12 + [14.0] * 2 + [5.0] * 12)  # ten minutes at 14 °C
    assert live(code) == []


def test_an_alarm_delay_over_an_hour_is_refused(ctx):
    with pytest.raises(InvalidInput) as refused:
        storage.create_unit(
            user("ada"), code="SLOW-1", name="Slow fridge", condition="refrigerated", alarm_delay_minutes=61
        )
    assert "at most 60 minutes" in refused.value.fields["alarm_delay_minutes"]
    db.session.rollback()


def test_a_unit_set_up_with_a_day_of_alarm_delay_still_records_23_hours_at_14_c(ctx, t0):
    """A unit kept from before the limit (24-hour delay): 23 hours at 14 °C in a refrigerator
    (24-hour MKT about 13.5 °C) is an excursion all the same, the delay counting as an hour."""
    code = new_unit("refrigerated")
    db.session.execute(
        sa.update(StorageUnit).where(StorageUnit.code == code).values(alarm_delay_minutes=24 * 60)
    )
    db.session.commit()
    send(code, t0, [5.0] * 12 + [14.0] * (23 * 12) + [5.0] * 24)  # 01:00–23:55 at 14 °C
    [found] = live(code)
    assert (found.start, found.end, found.duration_minutes) == (t0 + HOUR, t0 + 24 * HOUR, 1380.0)
    assert (found.min_c, found.max_c) == (14.0, 14.0)
    assert found.classification == "needs_disposition"


# --- E: a data gap is not evidence --------------------------------------------------------------


def test_ten_hours_without_readings_after_a_warm_reading_need_a_disposition(ctx, t0):
    code = new_unit("refrigerated")
    lot = stored_batch(code, t0 - HOUR)
    send(code, t0, [5.0] * 24 + [12.0, 13.0, 14.0])  # 02:00–02:10 at 12–14 °C, then nothing
    send(code, t0 + 12 * HOUR + 2 * STEP, [5.0] * 12)  # back at 5 °C from 12:10
    [found] = live(code)
    assert (found.start, found.end, found.duration_minutes) == (
        t0 + 2 * HOUR,
        t0 + 12 * HOUR + 2 * STEP,
        610.0,
    )
    assert (found.min_c, found.max_c) == (12.0, 14.0)
    assert found.gap_minutes == 600.0
    assert found.classification == "needs_disposition"
    assert "no readings for 10 h 0 min during it or next to it: a data gap is not evidence" in found.reason
    assert status(lot) == "on_hold"


# --- G: a signed disposition reads "dispositioned" ---------------------------------------------


def test_an_excursion_reads_dispositioned_once_each_batch_it_held_is_decided(ctx, t0):
    code = new_unit()
    first, second = stored_batch(code, t0 - HOUR), stored_batch(code, t0 - HOUR)
    send(code, t0, [5.0] * 12 + [18.0] * 12 + [5.0] * 12)
    [found] = live(code)
    assert states(found) == ["needs_disposition"]
    excursions.record_disposition(
        user("rob"), first, DispositionInput(found.id, "acceptable", "18 °C for 1 h; 24-h MKT 6.9 °C"),
        signature("rob", "reviewed"),
    )  # fmt: skip
    assert states(found) == ["needs_disposition"]  # the second batch still waits
    excursions.record_disposition(
        user("rob"), second, DispositionInput(found.id, "reject", "No data for the liquid at 18 °C"),
        signature("rob", "reviewed"),
    )  # fmt: skip
    assert states(found) == ["dispositioned"]
    assert found.classification == "needs_disposition"  # the API's classification stays as found
