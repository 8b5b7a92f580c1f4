"""Excursions found again whenever readings arrive, however late, and the batches they hold.

Every test has a storage unit of its own with a 30-minute alarm delay and posts readings every
five minutes, so times and temperatures can be written out: "[5.0] * 24" is two hours at
5 °C. One database serves the module; the batches come from the excursion tests' builder.
"""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.extensions import db
from qa_app.models import AuditEvent, Excursion
from qa_app.services import batches, excursions, readings, storage
from qa_app.services.excursions import DispositionInput
from qa_app.services.readings import RowInput
from tests.builders import signature, user
from tests.services.test_excursions import stored_batch
from tests.services.test_results import holds, shared_database_app, status

STEP = timedelta(minutes=5)
HOUR = timedelta(hours=1)
CODES = (f"LC-{n}" for n in itertools.count(1))


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    yield from shared_database_app(databases, str(tmp_path_factory.mktemp("lifecycle-instance")))


@pytest.fixture
def ctx(shared_app):
    with shared_app.app_context():
        yield


@pytest.fixture
def t0() -> datetime:
    """Midnight UTC three days ago: every reading of a test lies in the past."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)


def new_unit(condition: str = "refrigerated") -> str:
    code = next(CODES)
    storage.create_unit(
        user("ada"), code=code, name=f"Unit {code}", condition=condition, alarm_delay_minutes=30
    )
    return code


def send(code: str, start: datetime, temps: list[float]) -> readings.IngestResult:
    """Readings every five minutes from ``start``."""
    rows = [RowInput(i + 1, (start + i * STEP).isoformat(), t) for i, t in enumerate(temps)]
    return readings.ingest(code, rows, source="csv", actor=user("tina"))


def send_at(code: str, pairs: list[tuple[datetime, float]]) -> readings.IngestResult:
    rows = [RowInput(i + 1, moment.isoformat(), t) for i, (moment, t) in enumerate(pairs)]
    return readings.ingest(code, rows, source="csv", actor=user("tina"))


def live(code: str) -> list[Excursion]:
    """The unit's excursions that stand (not withdrawn), oldest first."""
    stmt = excursions.list_statement(storage_unit=code).order_by(None).order_by(Excursion.start)
    return list(db.session.scalars(stmt))


def extent(e: Excursion) -> tuple:
    return e.start, e.end, e.duration_minutes, e.min_c, e.max_c


def audited(entity_key) -> list[str]:
    stmt = (
        sa.select(AuditEvent.action).where(AuditEvent.entity_key == str(entity_key)).order_by(AuditEvent.seq)
    )
    return list(db.session.scalars(stmt))


def affected(e: Excursion) -> list[str]:
    return [b.lot_number for b in excursions.batches_during(e)]


# --- an excursion's life across uploads ---------------------------------------------------------


def test_an_open_excursion_closes_when_later_readings_hold_inside(ctx, t0):
    code = new_unit()
    send(code, t0, [5.0] * 24 + [12.0] * 12)  # 00:00–01:55 at 5 °C, 02:00–02:55 at 12 °C
    [found] = live(code)
    assert extent(found) == (t0 + 2 * HOUR, None, 55.0, 12.0, 12.0)
    assert found.ongoing and found.last_reading_at == t0 + 2 * HOUR + 11 * STEP

    send(code, t0 + 3 * HOUR, [12.0] * 6 + [5.0] * 12)  # 03:00–03:25 at 12 °C, back at 5 °C from 03:30
    [closed] = live(code)
    assert closed.id == found.id
    assert extent(closed) == (t0 + 2 * HOUR, t0 + 3.5 * HOUR, 90.0, 12.0, 12.0)
    assert not closed.ongoing
    assert audited(found.id) == ["excursion.detected", "excursion.updated"]


def test_a_return_shorter_than_the_alarm_delay_does_not_end_it(ctx, t0):
    code = new_unit()
    send(code, t0, [5.0] * 24 + [12.0] * 12)  # open from 02:00
    send(code, t0 + 3 * HOUR, [5.0] * 5 + [12.0] * 6)  # 25 minutes back at 5 °C, then out again
    [found] = live(code)
    assert extent(found) == (t0 + 2 * HOUR, None, 110.0, 5.0, 12.0)

    send(code, t0 + 4 * HOUR, [5.0] * 6)  # back at 04:00, but 04:00–04:25 is not yet 30 minutes
    [still_open] = live(code)
    assert (still_open.end, still_open.duration_minutes) == (None, 145.0)

    send(code, t0 + 4.5 * HOUR, [5.0])  # 04:30: the return has held for the alarm delay
    [closed] = live(code)
    assert closed.id == found.id
    assert (closed.end, closed.duration_minutes) == (t0 + 4 * HOUR, 120.0)


def test_an_excursion_shorter_than_the_alarm_delay_is_not_recorded(ctx, t0):
    code = new_unit()
    send(code, t0, [5.0] * 12 + [12.0] * 5 + [5.0] * 12)  # 01:00–01:20 at 12 °C: 25 minutes
    assert live(code) == []
    send(code, t0 + 3 * HOUR, [12.0] * 6 + [5.0] * 12)  # 03:00–03:25 at 12 °C: 30 minutes
    [found] = live(code)
    assert extent(found) == (t0 + 3 * HOUR, t0 + 3.5 * HOUR, 30.0, 12.0, 12.0)


def test_an_outside_run_split_across_two_uploads_is_one_excursion_from_its_first_reading(ctx, t0):
    code = new_unit()
    send(code, t0, [5.0] * 12 + [12.0] * 3)  # 01:00–01:10 at 12 °C: not yet the alarm delay
    assert live(code) == []
    send(code, t0 + HOUR + 3 * STEP, [12.0] * 9 + [5.0] * 12)  # 01:15–01:55 at 12 °C, back at 02:00
    [found] = live(code)
    assert extent(found) == (t0 + HOUR, t0 + 2 * HOUR, 60.0, 12.0, 12.0)


def test_readings_that_arrive_late_reveal_an_excursion_in_the_gap(ctx, t0):
    code = new_unit()
    send(code, t0, [5.0] * 24)  # 00:00–01:55
    send(code, t0 + 4 * HOUR, [5.0] * 24)  # 04:00–05:55
    assert live(code) == []

    send(code, t0 + 2 * HOUR, [5.0] * 12 + [13.0] * 12)  # the logger's late file: 03:00–03:55 at 13 °C
    [found] = live(code)
    assert extent(found) == (t0 + 3 * HOUR, t0 + 4 * HOUR, 60.0, 13.0, 13.0)
    # 24-h MKT of 37 readings at 5 °C and 12 at 13 °C: 7.76 °C, within 8, and 13 °C is within 0–15.
    assert round(found.mkt_c, 2) == 7.76
    assert found.classification == "allowable"
    assert audited(found.id) == ["excursion.detected"]


def test_readings_that_fill_a_short_return_join_two_excursions_and_withdraw_one(ctx, t0):
    code = new_unit()
    first_out = [(t0 + HOUR + i * STEP, 12.0) for i in range(12)]  # 01:00–01:55
    sparse_in = [(t0 + 2 * HOUR + i * 6 * STEP, 5.0) for i in range(3)]  # 02:00, 02:30, 03:00
    second_out = [(t0 + 3.5 * HOUR + i * STEP, 12.0) for i in range(12)]  # 03:30–04:25
    back_in = [(t0 + 4.5 * HOUR + i * STEP, 5.0) for i in range(12)]  # 04:30–05:25
    send(code, t0, [5.0] * 12)
    send_at(code, first_out + sparse_in + second_out + back_in)
    earlier, later = live(code)
    assert extent(earlier) == (t0 + HOUR, t0 + 2 * HOUR, 60.0, 12.0, 12.0)
    assert extent(later) == (t0 + 3.5 * HOUR, t0 + 4.5 * HOUR, 60.0, 12.0, 12.0)

    # The logger's buffer: between those readings it was at 12 °C, so no return lasted 30 minutes.
    buffered = [(t0 + 2 * HOUR + i * STEP, 12.0) for i in range(18) if i % 6]
    send_at(code, buffered)
    [joined] = live(code)
    assert joined.id == earlier.id
    assert extent(joined) == (t0 + HOUR, t0 + 4.5 * HOUR, 210.0, 5.0, 12.0)
    withdrawn = db.session.get(Excursion, later.id)
    assert withdrawn.withdrawn_reason == f"Later readings join it to excursion {earlier.id}."
    assert audited(later.id) == ["excursion.detected", "excursion.withdrawn"]
    assert audited(earlier.id) == ["excursion.detected", "excursion.updated"]


def test_readings_that_fill_a_gap_outside_with_a_held_return_split_the_excursion(ctx, t0):
    code = new_unit()
    send(code, t0, [5.0] * 12 + [12.0] * 12)  # out from 01:00
    send(code, t0 + 4 * HOUR, [12.0] * 12 + [5.0] * 12)  # no readings 02:00–03:55; back at 05:00
    [one] = live(code)
    assert extent(one) == (t0 + HOUR, t0 + 5 * HOUR, 240.0, 12.0, 12.0)

    send(code, t0 + 2 * HOUR, [5.0] * 24)  # the missing file: 02:00–03:55 back at 5 °C
    first, second = live(code)
    assert first.id == one.id
    assert extent(first) == (t0 + HOUR, t0 + 2 * HOUR, 60.0, 12.0, 12.0)
    assert extent(second) == (t0 + 4 * HOUR, t0 + 5 * HOUR, 60.0, 12.0, 12.0)
    assert audited(second.id) == ["excursion.detected"]


# --- classification ------------------------------------------------------------------------------

DAY_AT_5 = [5.0] * 288


@pytest.mark.parametrize(
    ("readings_c", "minutes", "min_c", "max_c", "mkt_c", "classification"),
    [
        # 1 h at 14 °C after a day at 5 °C: inside 0–15 °C and the 24-h MKT is 5.64 °C.
        (DAY_AT_5 + [14.0] * 12 + [5.0] * 12, 60.0, 14.0, 14.0, 5.64, "allowable"),
        # 1 h at 15.5 °C: above 15 °C, whatever the MKT (5.82 °C).
        (DAY_AT_5 + [15.5] * 12 + [5.0] * 12, 60.0, 15.5, 15.5, 5.82, "needs_disposition"),
        # 10 h at 14.5 °C: inside 0–15 °C, but the 24-h MKT is 10.25 °C.
        (DAY_AT_5 + [14.5] * 120 + [5.0] * 12, 600.0, 14.5, 14.5, 10.25, "needs_disposition"),
        # 2 h at 0.5 °C: cold but inside 0–15 °C; the MKT stays below 8.
        (DAY_AT_5 + [0.5] * 24 + [5.0] * 12, 120.0, 0.5, 0.5, 4.71, "allowable"),
        # 1 h at −0.5 °C: frozen is below 0 °C.
        (DAY_AT_5 + [-0.5] * 12 + [5.0] * 12, 60.0, -0.5, -0.5, 4.83, "needs_disposition"),
    ],
)
def test_refrigerated_excursions_are_judged_on_0_to_15_and_the_24_hour_mkt(
    ctx, t0, readings_c, minutes, min_c, max_c, mkt_c, classification
):
    code = new_unit("refrigerated")
    send(code, t0, readings_c)
    [found] = live(code)
    assert (found.start, found.duration_minutes, found.min_c, found.max_c) == (
        t0 + 24 * HOUR,
        minutes,
        min_c,
        max_c,
    )
    assert round(found.mkt_c, 2) == mkt_c
    assert found.classification == classification


@pytest.mark.parametrize(
    ("spike", "max_c", "mkt_c", "classification"),
    [
        # 3 h at 38 °C after two days at 22 °C: a spike up to 40 °C under 24 h, MKT 24.14 °C.
        ([38.0] * 36, 38.0, 24.14, "allowable"),
        # 1 h at 41 °C: above 40 °C even though the MKT is only 23.13 °C.
        ([41.0] * 12, 41.0, 23.13, "needs_disposition"),
        # 25 h at 35 °C: longer than the 24 h a spike may last (and the MKT is 28.55 °C).
        ([35.0] * 300, 35.0, 28.55, "needs_disposition"),
    ],
)
def test_room_excursions_allow_short_spikes_to_40_and_a_30_day_mkt_up_to_25(
    ctx, t0, spike, max_c, mkt_c, classification
):
    code = new_unit("room")
    send(code, t0 - 2 * timedelta(days=1), [22.0] * 576 + spike + [22.0] * 24)
    [found] = live(code)
    assert (found.start, found.max_c) == (t0, max_c)
    assert round(found.mkt_c, 2) == mkt_c
    assert found.classification == classification


def test_any_freezer_excursion_needs_disposition(ctx, t0):
    code = new_unit("freezer")
    send(code, t0, [-18.0] * 24 + [-9.5] * 6 + [-18.0] * 12)  # 30 minutes at −9.5 °C, just above −10
    [found] = live(code)
    assert (found.duration_minutes, found.max_c, found.mkt_c) == (30.0, -9.5, None)
    assert found.classification == "needs_disposition"


# --- batches -------------------------------------------------------------------------------------


def power_cut(code: str, t0: datetime) -> Excursion:
    """01:00–02:00 at 18 °C in a refrigerator: needs disposition."""
    send(code, t0, [5.0] * 12 + [18.0] * 12 + [5.0] * 12)
    [found] = live(code)
    assert (found.start, found.end, found.classification) == (t0 + HOUR, t0 + 2 * HOUR, "needs_disposition")
    return found


def test_a_batch_placed_during_a_past_excursion_goes_on_hold(ctx, t0):
    code = new_unit()
    found = power_cut(code, t0)
    completed_into = stored_batch(code, t0 + 1.5 * HOUR)  # completed with a back-dated time
    moved_into = stored_batch("FRIDGE-1", t0)
    batches.move(user("tina"), moved_into, storage_unit=code, at=t0 + 1.75 * HOUR)
    for lot in (completed_into, moved_into):
        assert status(lot) == "on_hold"
        assert holds(lot) == [
            f"Excursion {found.id} in {code} (up to 18.0 °C, above 8.0 °C) needs a disposition for this batch."
        ]
    assert affected(found) == sorted([completed_into, moved_into])


def test_a_batch_that_left_before_the_excursion_or_came_after_it_is_not_affected(ctx, t0):
    code = new_unit()
    left = stored_batch(code, t0 - HOUR)
    batches.move(user("tina"), left, storage_unit="FRIDGE-1", at=t0 + HOUR - STEP)  # 00:55
    came_after = stored_batch(code, t0 + 2.5 * HOUR)
    found = power_cut(code, t0)
    assert affected(found) == []
    assert (status(left), status(came_after)) == ("quarantine", "quarantine")


def test_released_and_rejected_batches_are_listed_for_follow_up_but_not_held(ctx, t0):
    code = new_unit()
    lots = {name: stored_batch(code, t0 - HOUR) for name in ("released", "rejected", "quarantine")}
    for name in ("released", "rejected"):  # release and reject have no service yet: set the state
        batches.get_batch(lots[name]).status = name
    db.session.commit()
    found = power_cut(code, t0)
    assert affected(found) == sorted(lots.values())
    assert {name: status(lot) for name, lot in lots.items()} == {
        "released": "released",
        "rejected": "rejected",
        "quarantine": "on_hold",
    }


def test_late_readings_never_withdraw_an_excursion_that_holds_a_batch(ctx, t0):
    code = new_unit()
    lot = stored_batch(code, t0 - HOUR)
    send(code, t0, [5.0] * 12)
    send_at(code, [(t0 + HOUR, 12.0), (t0 + 1.5 * HOUR, 12.0)])  # two manual readings, both at 12 °C
    [found] = live(code)
    assert (found.start, found.ongoing, found.duration_minutes) == (t0 + HOUR, True, 30.0)
    # 30 minutes between the two readings, six times the usual five: nothing shows the unit came back.
    assert (found.classification, found.gap_minutes) == ("needs_disposition", 30.0)
    assert status(lot) == "on_hold"

    # The logger's file: back at 5 °C five minutes after each of them.
    send(code, t0 + HOUR + STEP, [5.0] * 5)  # 01:05–01:25
    send(code, t0 + 1.5 * HOUR + STEP, [5.0] * 7)  # 01:35–02:05
    [kept] = live(code)
    assert kept.id == found.id
    assert (kept.start, kept.end, kept.duration_minutes) == (t0 + HOUR, t0 + HOUR + 7 * STEP, 35.0)
    assert (kept.min_c, kept.max_c, kept.classification) == (5.0, 12.0, "needs_disposition")
    assert kept.reason.endswith("late data never lift a hold.")
    assert "excursion.withdrawn" not in audited(found.id)
    assert status(lot) == "on_hold"
    assert holds(lot) == [
        f"Excursion {found.id} in {code} (up to 12.0 °C, above 8.0 °C) needs a disposition for this batch."
    ]

    excursions.record_disposition(
        user("rob"), lot, DispositionInput(found.id, "acceptable", "12 °C twice; logger shows 5 °C between"),
        signature("rob", "reviewed"),
    )  # fmt: skip
    assert (status(lot), holds(lot)) == ("quarantine", [])


def test_an_excursion_that_holds_no_batch_and_was_not_acknowledged_may_still_be_withdrawn(ctx, t0):
    code = new_unit()
    send(code, t0, [5.0] * 12)
    send_at(code, [(t0 + HOUR, 12.0), (t0 + 1.5 * HOUR, 12.0)])
    [found] = live(code)
    send(code, t0 + HOUR + STEP, [5.0] * 5)
    send(code, t0 + 1.5 * HOUR + STEP, [5.0] * 6)
    assert live(code) == []
    withdrawn = db.session.get(Excursion, found.id)
    assert withdrawn.withdrawn_reason == "Later readings show the unit within its limits here."


def test_an_acceptable_disposition_lifts_the_hold_and_a_reject_rejects(ctx, t0):
    code = new_unit()
    accepted, rejected = stored_batch(code, t0 - HOUR), stored_batch(code, t0 - HOUR)
    found = power_cut(code, t0)
    excursions.record_disposition(
        user("rob"), accepted, DispositionInput(found.id, "acceptable", "18 °C for 1 h; 24-h MKT 6.1 °C"),
        signature("rob", "reviewed"),
    )  # fmt: skip
    excursions.record_disposition(
        user("rob"), rejected, DispositionInput(found.id, "reject", "Oral liquid; no data at 18 °C"),
        signature("rob", "reviewed"),
    )  # fmt: skip
    assert (status(accepted), status(rejected)) == ("quarantine", "rejected")
    assert audited(rejected)[-2:] == ["batch.disposition_recorded", "batch.status_changed"]


def test_batch_storage_lists_each_stay_with_its_readings(ctx, t0):
    code = new_unit()
    lot = stored_batch(code, t0)
    batches.move(user("tina"), lot, storage_unit="FRIDGE-1", at=t0 + 2 * HOUR)
    send(code, t0, [4.0, 6.0] * 12 + [7.0] * 12)  # 00:00–01:55 between 4 and 6 °C, then 7 °C
    stays = readings.batch_storage(batches.get_batch(lot), until=t0 + 3 * HOUR)
    assert [(s.unit.code, s.start, s.end) for s in stays] == [
        (code, t0, t0 + 2 * HOUR),
        ("FRIDGE-1", t0 + 2 * HOUR, None),
    ]
    in_fridge = stays[0].summary
    # The window's end is inclusive: the 02:00 reading at 7 °C is the 25th.
    assert (in_fridge.count, in_fridge.min_c, in_fridge.max_c, in_fridge.mean_c) == (25, 4.0, 7.0, 5.08)
    assert stays[1].summary.count == 0


def test_late_readings_that_make_a_decided_excursion_worse_hold_the_batch_again(ctx, t0):
    code = new_unit()
    lot = stored_batch(code, t0 - HOUR)
    send(code, t0, [5.0] * 12 + [18.0] * 7)  # 01:00–01:30 at 18 °C
    send(code, t0 + 2 * HOUR, [5.0] * 12)  # back at 02:00; 01:35–01:55 not yet received
    [found] = live(code)
    excursions.record_disposition(
        user("rob"), lot, DispositionInput(found.id, "acceptable", "Up to 18 °C for 1 h"),
        signature("rob", "reviewed"),
    )  # fmt: skip
    assert status(lot) == "quarantine"

    send(code, t0 + HOUR + 7 * STEP, [30.0] * 5)  # the missing readings: 01:35–01:55 at 30 °C
    [worse] = live(code)
    assert (worse.id, worse.max_c) == (found.id, 30.0)
    assert status(lot) == "on_hold"  # the reviewer accepted 18 °C, not 30 °C
    excursions.record_disposition(
        user("rob"), lot, DispositionInput(found.id, "reject", "30 °C for 25 min: not covered by stability data"),
        signature("rob", "reviewed"),
    )  # fmt: skip
    assert status(lot) == "rejected"
