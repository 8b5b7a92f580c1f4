"""Readings in: every row checked and named, all rows or none, duplicates counted, times in UTC.

One database serves the module; each test posts to a refrigerator of its own, so the tests
stay independent. "Nothing stored" is proved by counting the rows of every table an upload
writes (readings, uploads, hourly sums, audit events) before and after.
"""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.errors import Conflict, InvalidInput, ServiceError
from qa_app.extensions import db
from qa_app.models import AuditEvent, Reading, ReadingHour, ReadingUpload
from qa_app.services import readings, storage
from qa_app.services.readings import RowInput
from tests.builders import user
from tests.services.test_results import shared_database_app

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CODES = (f"ING-{n}" for n in itertools.count(1))


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    yield from shared_database_app(databases, str(tmp_path_factory.mktemp("ingest-instance")))


@pytest.fixture
def fridge(shared_app) -> Iterator[str]:
    """A refrigerator (2–8 °C) of the test's own, inside an application context."""
    with shared_app.app_context():
        code = next(CODES)
        storage.create_unit(user("ada"), code=code, name=f"Test fridge {code}", condition="refrigerated")
        yield code


def stored() -> tuple[int, int, int, int]:
    """Rows of readings, uploads, hourly sums and audit events, all units together."""
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Reading, ReadingUpload, ReadingHour, AuditEvent)
    )


def send(code: str, rows: list[RowInput], *, source: str = "api"):
    return readings.ingest(code, rows, source=source, actor=user("tina"))


def unit_readings(code: str) -> list[tuple[datetime, float]]:
    unit = storage.get_unit(code)
    stmt = sa.select(Reading.at, Reading.temperature_c).where(Reading.storage_unit_id == unit.id)
    return [tuple(r) for r in db.session.execute(stmt.order_by(Reading.at))]


def refused(code: str, rows: list[RowInput], error: type[ServiceError] = InvalidInput) -> ServiceError:
    before = stored()
    with pytest.raises(error) as caught:
        send(code, rows)
    db.session.rollback()
    assert stored() == before, "a refused upload must store nothing"
    return caught.value


# --- one bad value, named with its row and what to do ------------------------------------------


@pytest.mark.parametrize(
    ("at", "temperature_c", "message"),
    [
        ("2026-03-02T12:00:00Z", "warm", "temperature_c 'warm' is not a number: give °C, e.g. 5.2."),
        ("2026-03-02T12:00:00Z", "NaN", "temperature_c 'NaN' is not a number: give °C, e.g. 5.2."),
        ("2026-03-02T12:00:00Z", float("nan"), "temperature_c 'nan' is not a number: give °C, e.g. 5.2."),
        ("2026-03-02T12:00:00Z", "inf", "temperature_c 'inf' is not a number: give °C, e.g. 5.2."),
        ("2026-03-02T12:00:00Z", float("-inf"), "temperature_c '-inf' is not a number: give °C, e.g. 5.2."),
        ("2026-03-02T12:00:00Z", True, "temperature_c 'True' is not a number: give °C, e.g. 5.2."),
        ("2026-03-02T12:00:00Z", 10**400, "temperature_c '1000000000000000000000000000000000000000' "
         "is not a number: give °C, e.g. 5.2."),
        ("2026-03-02T12:00:00Z", -80.5, "temperature_c -80.5 is outside −80…80 °C: check the unit and the sensor."),
        ("2026-03-02T12:00:00Z", "80.01", "temperature_c 80.01 is outside −80…80 °C: check the unit and the sensor."),
        ("2026-03-02T12:00:00", 5.0, "at '2026-03-02T12:00:00' has no offset: add one, e.g. Z or +01:00."),
        ("2026-03-02", 5.0, "at '2026-03-02' has no offset: add one, e.g. Z or +01:00."),
        ("02/03/2026 12:00", 5.0, "at '02/03/2026 12:00' is not a time: use ISO 8601, e.g. 2026-11-25T09:30:00Z."),
        (None, 5.0, "at is missing: give the time, e.g. 2026-11-25T09:30:00Z."),
        ("  ", 5.0, "at is missing: give the time, e.g. 2026-11-25T09:30:00Z."),
        ("0001-01-01T00:30:00+01:00", 5.0, "at '0001-01-01T00:30:00+01:00' is before 1900: check the logger's clock."),
        ("0001-01-01T00:30:00Z", 5.0, "at '0001-01-01T00:30:00Z' is before 1900: check the logger's clock."),
    ],
    ids=lambda value: str(value)[:30],
)  # fmt: skip
def test_a_bad_row_is_named_with_the_fix_and_nothing_is_stored(fridge, at, temperature_c, message):
    good = [RowInput(2, "2026-03-02T11:50:00Z", 5.0), RowInput(4, "2026-03-02T12:10:00Z", 5.0)]
    error = refused(fridge, [good[0], RowInput(3, at, temperature_c), good[1]])
    assert error.message == "Nothing was stored: 1 row(s) need correcting."
    assert error.rows == [{"row": 3, "message": message}]
    assert unit_readings(fridge) == []


def test_more_than_five_minutes_ahead_is_refused_and_four_minutes_ahead_is_accepted(fridge):
    now = datetime.now(UTC).replace(microsecond=0)
    six_ahead = (now + timedelta(minutes=6)).isoformat()
    error = refused(fridge, [RowInput(1, six_ahead, 5.0)])
    assert error.rows == [
        {"row": 1, "message": f"at '{six_ahead}' is in the future: check the logger's clock."}
    ]

    four_ahead = now + timedelta(minutes=4)
    result = send(fridge, [RowInput(1, four_ahead.isoformat(), 5.0)])
    assert (result.accepted, result.duplicates) == (1, 0)
    assert unit_readings(fridge) == [(four_ahead, 5.0)]


def test_the_limits_minus_80_and_80_are_accepted(fridge):
    result = send(
        fridge, [RowInput(1, "2026-03-02T12:00:00Z", -80), RowInput(2, "2026-03-02T12:05:00Z", "80")]
    )
    assert result.accepted == 2
    assert [t for _, t in unit_readings(fridge)] == [-80.0, 80.0]


def test_a_row_with_two_problems_names_both(fridge):
    error = refused(fridge, [RowInput(7, "2026-03-02 12:00", "hot")])
    assert error.rows == [
        {
            "row": 7,
            "message": "at '2026-03-02 12:00' has no offset: add one, e.g. Z or +01:00; "
            "temperature_c 'hot' is not a number: give °C, e.g. 5.2.",
        }
    ]


def test_every_bad_row_is_named_up_to_fifty(fridge):
    rows = [RowInput(n, f"2026-03-02T{n % 24:02d}:00:00Z", "n/a") for n in range(2, 82)]
    error = refused(fridge, rows)
    assert error.message == "Nothing was stored: 50+ row(s) need correcting."
    assert [r["row"] for r in error.rows] == list(range(2, 52))


def test_an_empty_list_stores_nothing(fridge):
    error = refused(fridge, [])
    assert (error.message, error.fields) == (
        "There are no readings to store.",
        {"readings": "Send at least one reading."},
    )


# --- CSV and JSON bodies -------------------------------------------------------------------------


def test_a_logger_csv_with_bom_crlf_and_a_capitalised_header_is_read():
    text = "\ufeffAt , Temperature_C\r\n2026-03-02T12:00:00Z,5.1\r\n\r\n2026-03-02T12:05:00Z, 5.3 \r\n"
    assert readings.rows_from_csv(text.encode("utf-8")) == [
        RowInput(2, "2026-03-02T12:00:00Z", "5.1"),
        RowInput(4, "2026-03-02T12:05:00Z", "5.3"),
    ]


def test_a_logger_csv_with_more_columns_keeps_the_first_two():
    text = "at,temperature_c,humidity_pct\n2026-03-02T12:00:00Z,5.1,41\n"
    assert readings.rows_from_csv(text) == [RowInput(2, "2026-03-02T12:00:00Z", "5.1")]


@pytest.mark.parametrize(
    ("text", "message", "fields", "rows"),
    [
        ("", "The file is empty.", {"file": "Choose a CSV file with readings."}, []),
        (" \n\n", "The file is empty.", {"file": "Choose a CSV file with readings."}, []),
        (
            "time,temp\n2026-03-02T12:00:00Z,5.0\n",
            "The first line must be the header at,temperature_c.",
            {"file": "Found 'time,temp'; the header must be at,temperature_c."},
            [{"row": 1, "message": "The header must be at,temperature_c."}],
        ),
        (
            "at;temperature_c\n2026-03-02T12:00:00Z;5,0\n",
            "The first line must be the header at,temperature_c.",
            {"file": "Found 'at;temperature_c'; the header must be at,temperature_c."},
            [{"row": 1, "message": "The header must be at,temperature_c."}],
        ),
        (
            "2026-03-02T12:00:00Z,5.0\n",
            "The first line must be the header at,temperature_c.",
            {"file": "Found '2026-03-02t12:00:00z,5.0'; the header must be at,temperature_c."},
            [{"row": 1, "message": "The header must be at,temperature_c."}],
        ),
    ],
)
def test_an_empty_file_or_a_wrong_header_is_refused(text, message, fields, rows):
    with pytest.raises(InvalidInput) as caught:
        readings.rows_from_csv(text)
    assert (caught.value.message, caught.value.fields, caught.value.rows) == (message, fields, rows)


def test_a_file_that_is_not_utf8_is_refused():
    with pytest.raises(InvalidInput) as caught:
        readings.rows_from_csv("at,temperature_c\n2026-03-02T12:00:00Z,5°\n".encode("latin-1"))
    assert caught.value.fields == {"file": "Export the log as UTF-8 CSV."}


def test_a_csv_with_only_its_header_has_no_readings(fridge):
    error = refused(fridge, readings.rows_from_csv("at,temperature_c\n"))
    assert error.message == "There are no readings to store."


def test_a_short_csv_row_is_named_by_its_line(fridge):
    rows = readings.rows_from_csv("at,temperature_c\n2026-03-02T12:00:00Z,5.0\n\n2026-03-02T12:10:00Z\n")
    error = refused(fridge, rows)
    assert error.rows == [{"row": 4, "message": "temperature_c '' is not a number: give °C, e.g. 5.2."}]


def test_json_rows_are_numbered_from_one_and_a_non_object_is_a_row_without_values():
    rows = readings.rows_from_json({"readings": [{"at": "2026-03-02T12:00:00Z", "temperature_c": 5}, "x"]})
    assert rows == [RowInput(1, "2026-03-02T12:00:00Z", 5), RowInput(2, None, None)]
    with pytest.raises(InvalidInput) as caught:
        readings.rows_from_json({"readings": {"at": "2026-03-02T12:00:00Z"}})
    assert caught.value.fields == {"readings": "Required."}


# --- duplicates and clashes ----------------------------------------------------------------------


def test_the_same_reading_twice_in_one_file_counts_once(fridge):
    rows = [
        RowInput(2, "2026-03-02T12:00:00Z", 5.0),
        RowInput(3, "2026-03-02T12:05:00Z", 5.5),
        RowInput(4, "2026-03-02T12:05:00Z", "5.5"),
    ]
    result = send(fridge, rows, source="csv")
    assert (result.accepted, result.duplicates) == (2, 1)
    assert unit_readings(fridge) == [(NOON, 5.0), (NOON + timedelta(minutes=5), 5.5)]


def test_the_same_time_with_another_value_in_one_file_names_both_rows(fridge):
    rows = [
        RowInput(2, "2026-03-02T12:00:00Z", 5.0),
        RowInput(3, "2026-03-02T12:05:00Z", 5.5),
        RowInput(4, "2026-03-02T12:05:00Z", 6.5),
    ]
    error = refused(fridge, rows)
    assert error.status == 400
    assert error.message == "The file gives two values for the same time."
    assert error.rows == [{"row": 4, "message": "Same time as row 3 with another value."}]


def test_one_instant_written_with_two_offsets_is_one_reading_stored_in_utc(fridge):
    rows = [RowInput(1, "2026-03-02T13:00:00+01:00", 5.0), RowInput(2, "2026-03-02T12:00:00Z", 5.0)]
    result = send(fridge, rows)
    assert (result.accepted, result.duplicates) == (1, 1)
    [(moment, value)] = unit_readings(fridge)
    assert (moment, value) == (NOON, 5.0)
    assert moment.utcoffset() == timedelta(0)
    assert (result.upload.first_at, result.upload.last_at) == (NOON, NOON)


def test_one_instant_with_two_offsets_and_two_values_is_refused(fridge):
    rows = [RowInput(1, "2026-03-02T07:00:00-05:00", 5.0), RowInput(2, "2026-03-02T12:00:00Z", 5.2)]
    error = refused(fridge, rows)
    assert error.rows == [{"row": 2, "message": "Same time as row 1 with another value."}]


def test_a_resent_upload_is_all_duplicates_and_still_recorded(fridge):
    rows = [RowInput(i + 1, (NOON + timedelta(minutes=5 * i)).isoformat(), 5.0 + i / 10) for i in range(12)]
    send(fridge, rows)
    before = stored()
    again = send(fridge, rows)
    assert (again.accepted, again.duplicates) == (0, 12)
    readings_n, uploads_n, hours_n, events_n = stored()
    assert (readings_n, uploads_n, hours_n, events_n) == (before[0], before[1] + 1, before[2], before[3] + 1)
    event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.entity_key) == ("readings.received", fridge)
    assert (event.new_values["accepted"], event.new_values["duplicates"]) == (0, 12)


def test_a_resent_upload_with_new_rows_keeps_only_the_new_ones(fridge):
    times = [NOON + timedelta(minutes=5 * i) for i in range(6)]
    send(fridge, [RowInput(i + 1, t.isoformat(), 5.0) for i, t in enumerate(times[:4])])
    later = send(
        fridge,
        [
            RowInput(i + 1, t.astimezone(timezone(timedelta(hours=2))).isoformat(), 5.0)
            for i, t in enumerate(times[2:])
        ],
    )
    assert (later.accepted, later.duplicates) == (2, 2)
    assert [moment for moment, _ in unit_readings(fridge)] == times


def test_a_stored_reading_written_with_another_offset_and_value_is_a_clash(fridge):
    send(fridge, [RowInput(1, "2026-03-02T12:00:00Z", 5.0)])
    error = refused(fridge, [RowInput(1, "2026-03-02T13:00:00+01:00", 5.5)], Conflict)
    assert error.status == 409
    assert error.rows == [
        {"row": 1, "message": "2026-03-02T12:00:00+00:00 is stored already as 5 °C, not 5.5 °C."}
    ]
    assert unit_readings(fridge) == [(NOON, 5.0)]


def test_readings_arriving_out_of_order_are_stored_in_time_order_with_hourly_sums(fridge):
    late = [RowInput(1, "2026-03-02T12:30:00Z", 6.0), RowInput(2, "2026-03-02T12:10:00Z", 4.0)]
    send(fridge, [RowInput(1, "2026-03-02T13:15:00Z", 5.0)])
    send(fridge, late)
    assert [v for _, v in unit_readings(fridge)] == [4.0, 6.0, 5.0]
    unit = storage.get_unit(fridge)
    hours = db.session.execute(
        sa.select(ReadingHour.hour, ReadingHour.count, ReadingHour.sum_c, ReadingHour.sum_w)
        .where(ReadingHour.storage_unit_id == unit.id)
        .order_by(ReadingHour.hour)
    ).all()
    # 12:10 stands for 20 minutes and 12:30 for 45 (to 13:15); 13:15 has no next reading yet.
    assert [tuple(h) for h in hours] == [
        (NOON, 2, 10.0, 3900.0),
        (NOON + timedelta(hours=1), 1, 5.0, 0.0),
    ]


# --- the manual reading --------------------------------------------------------------------------


def test_the_manual_reading_is_stored_as_manual(fridge):
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    result = readings.manual_reading(user("tina"), fridge, moment, "4.6")
    assert (result.accepted, result.upload.source) == (1, "manual")
    assert unit_readings(fridge) == [(moment, 4.6)]


def test_a_manual_reading_with_a_decimal_comma_is_refused_saying_to_use_a_point(fridge):
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    before = stored()
    with pytest.raises(InvalidInput) as caught:
        readings.manual_reading(user("tina"), fridge, moment, "4,6")
    db.session.rollback()
    assert "use a point as the decimal separator" in caught.value.rows[0]["message"]
    assert stored() == before


def test_a_manual_reading_in_the_future_is_refused(fridge):
    before = stored()
    with pytest.raises(InvalidInput) as caught:
        readings.manual_reading(user("tina"), fridge, datetime.now(UTC) + timedelta(hours=1), 5.0)
    db.session.rollback()
    assert "is in the future: check the logger's clock." in caught.value.rows[0]["message"]
    assert stored() == before
