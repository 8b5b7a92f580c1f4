"""A signed disposition covers the exposure it was signed for, and no later one.

Units read every five minutes with a 30-minute alarm delay, so "[5.0] * 24" is two hours at 5 °C.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from qa_app.services import batches, excursions, worklists
from qa_app.services.excursions import DispositionInput
from tests.builders import signature, user
from tests.services.test_excursion_lifecycle import HOUR, STEP, live, new_unit, send, send_at
from tests.services.test_excursions import stored_batch
from tests.services.test_results import shared_database_app, status


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    yield from shared_database_app(databases, str(tmp_path_factory.mktemp("cover-instance")))


@pytest.fixture
def ctx(shared_app):
    with shared_app.app_context():
        yield


@pytest.fixture
def t0() -> datetime:
    """Midnight UTC three days ago: every reading of a test lies in the past."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)


def waiting() -> list[tuple[str, int]]:
    return [(b.lot_number, e.id) for b, e in worklists.awaiting_disposition()]


def accept(lot: str, excursion_id: int, comment: str) -> None:
    excursions.record_disposition(
        user("rob"), lot, DispositionInput(excursion_id, "acceptable", comment), signature("rob", "reviewed")
    )


def test_a_batch_moved_back_into_a_unit_still_out_of_range_is_held_again(ctx, t0):
    code, spare = new_unit(), new_unit()
    lot = stored_batch(code, t0 - HOUR)
    send(code, t0, [5.0] * 12 + [12.0] * 12)  # 01:00–01:55 at 12 °C, still out at the last reading
    [found] = live(code)
    assert status(lot) == "on_hold"
    batches.move(user("tina"), lot, storage_unit=spare, at=t0 + 2 * HOUR)
    accept(lot, found.id, "12 °C for one hour, then moved to a unit in range")
    assert status(lot) != "on_hold"

    # the unit is still at 12 °C; the batch goes back in at 02:30 and stays there for hours
    batches.move(user("tina"), lot, storage_unit=code, at=t0 + 2.5 * HOUR)
    send(code, t0 + 2 * HOUR, [12.0] * 36)  # 02:00–04:55 at 12 °C
    [still] = live(code)
    assert (still.id, still.max_c) == (found.id, 12.0)
    assert status(lot) == "on_hold"
    assert (lot, found.id) in waiting()
    assert excursions.states([still]) == {found.id: "needs_disposition"}

    # back in range at 05:00; a new decision for the second stay lifts the hold
    send(code, t0 + 5 * HOUR, [5.0] * 12)
    accept(lot, found.id, "12 °C for three more hours; 24-h MKT 9.1 °C, stability data cover it")
    assert status(lot) != "on_hold"
    assert (lot, found.id) not in waiting()


def test_a_decided_excursion_that_late_readings_make_worse_is_back_on_the_worklist(ctx, t0):
    code = new_unit()
    lot = stored_batch(code, t0 - HOUR)
    send(code, t0, [5.0] * 12 + [12.0] * 7)  # 01:00–01:30 at 12 °C
    send(code, t0 + 2 * HOUR, [5.0] * 12)  # back at 02:00
    [found] = live(code)
    accept(lot, found.id, "12 °C for one hour; 24-h MKT 5.6 °C")
    assert (lot, found.id) not in waiting()
    send(code, t0 + HOUR + 7 * STEP, [14.0] * 5)  # 01:35–01:55 at 14 °C
    assert status(lot) == "on_hold"
    assert (lot, found.id) in waiting()


def test_a_late_reading_between_a_decided_excursion_and_a_second_one_keeps_the_batch_held(ctx, t0):
    code = new_unit()
    lot = stored_batch(code, t0 - HOUR)
    # 01:00–01:55 at 12 °C, back at 5 °C from 02:00 to 02:30 (the 02:10 reading not yet sent)
    inside = [t0 + 2 * HOUR + m * timedelta(minutes=1) for m in (0, 5, 15, 20, 25, 30)]
    send(code, t0, [5.0] * 12 + [12.0] * 12)
    send_at(code, [(moment, 5.0) for moment in inside])
    [first] = live(code)
    assert (first.end, first.max_c) == (t0 + 2 * HOUR, 12.0)
    accept(lot, first.id, "12 °C for one hour; 24-h MKT 5.6 °C")
    assert status(lot) != "on_hold"

    # a second one at 11 °C from 03:00 to 09:00: it holds the batch again
    send(code, t0 + 3 * HOUR, [11.0] * 72 + [5.0] * 12)
    assert status(lot) == "on_hold"

    # the 02:10 reading arrives late at 11 °C: the second one is never folded into the first
    send_at(code, [(t0 + 2 * HOUR + 10 * timedelta(minutes=1), 11.0)])
    assert [(e.start, e.max_c) for e in live(code)] == [(t0 + HOUR, 12.0), (t0 + 3 * HOUR, 11.0)]
    assert status(lot) == "on_hold"
