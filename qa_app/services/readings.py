"""Temperature readings in (API, sensors, logger CSV, manual entry) and the numbers out.

Every way in goes through :func:`ingest`: all rows or none, times with an offset stored in
UTC, a re-sent reading counted as a duplicate, the same time with another value refused. The
hourly sums are rebuilt for the hours an upload touches and excursions are found again over
the span it could change, in the same transaction.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from qa_app.domain import temperature, temperature_sums
from qa_app.domain.temperature import Summary
from qa_app.domain.temperature_sums import HOUR_S, HourSums, RawPart
from qa_app.errors import Conflict, InvalidInput, NotPermitted
from qa_app.extensions import db
from qa_app.models import ApiToken, Batch, Reading, ReadingHour, ReadingUpload, StorageUnit, User
from qa_app.services import audit, clock, storage
from qa_app.services.accounts import require_role
from qa_app.validation import csv_records, parse_decimal

CSV_HEADER = ("at", "temperature_c")
LOWEST_C, HIGHEST_C = -80.0, 80.0
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
"""Older times are a logger's unset clock (and near year 1 they cannot be computed with)."""
MAX_READINGS = 1_100_000
RECORDERS = ("technician", "reviewer")
INSERT_CHUNK = 20_000
TOO_MANY_ERRORS = 50
RAW_UP_TO = 5_000
"""A window with no more readings than this is summarised from raw readings, exactly."""


@dataclass(frozen=True)
class RowInput:
    """One reading as received: its row number (for messages) and the raw values."""

    row: int
    at: object
    temperature_c: object


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    upload: ReadingUpload


def rows_from_json(body: dict) -> list[RowInput]:
    """``{"readings": [{"at", "temperature_c"}]}``; row n is the n-th reading (from 1)."""
    items = body.get("readings")
    if not isinstance(items, list):
        raise InvalidInput('Send {"readings": [{"at", "temperature_c"}]}.', {"readings": "Required."})
    rows = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            item = {}
        rows.append(RowInput(n, item.get("at"), item.get("temperature_c")))
    return rows


def rows_from_csv(raw: str | bytes) -> list[RowInput]:
    """A logger's export with the header ``at,temperature_c``; row 1 is the header."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(
                "The file is not UTF-8 text.", {"file": "Export the log as UTF-8 CSV."}
            ) from None
    raw = raw.lstrip("\ufeff")
    if not raw.strip():
        raise InvalidInput("The file is empty.", {"file": "Choose a CSV file with readings."})
    reader = csv_records(raw)
    header = [cell.strip().lower() for cell in next(reader, (1, []))[1]]
    if tuple(header[:2]) != CSV_HEADER:
        raise InvalidInput(
            "The first line must be the header at,temperature_c.",
            {"file": f"Found {','.join(header)[:80]!r}; the header must be at,temperature_c."},
            rows=[{"row": 1, "message": "The header must be at,temperature_c."}],
        )
    rows = []
    for n, cells in reader:
        if not cells or all(not c.strip() for c in cells):
            continue
        rows.append(RowInput(n, cells[0].strip(), cells[1].strip() if len(cells) > 1 else ""))
    return rows


NOT_A_TEMPERATURE = "is not a number: give °C, e.g. 5.2"


def _temperature(value: object) -> float | str:
    """The temperature as a finite float, or what is wrong with it (to follow its value).

    Text must be a plain decimal with a point (validation.parse_decimal): ``21,5``, ``2_1`` and
    other scripts' digits are refused, never read as another number.
    """
    if isinstance(value, str):
        try:
            return parse_decimal(value, "give °C, e.g. 5.2")
        except ValueError as exc:
            return str(exc)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return NOT_A_TEMPERATURE
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        return NOT_A_TEMPERATURE
    return number if math.isfinite(number) else NOT_A_TEMPERATURE


def _parse(rows: list[RowInput]) -> tuple[np.ndarray, np.ndarray, list[datetime], list[int]]:
    """Check every row; raise with all the bad rows named, or return sorted arrays."""
    if not rows:
        raise InvalidInput("There are no readings to store.", {"readings": "Send at least one reading."})
    if len(rows) > MAX_READINGS:
        raise InvalidInput(
            f"{len(rows):,} readings in one upload; at most {MAX_READINGS:,}.",
            {"readings": "Split the file."},
        )
    latest = clock.utcnow() + clock.FUTURE_TOLERANCE
    errors: list[dict] = []
    times: list[datetime] = []
    temps: list[float] = []
    for row in rows:
        problems = []
        moment = None
        if not isinstance(row.at, str) or not row.at.strip():
            problems.append("at is missing: give the time, e.g. 2026-11-25T09:30:00Z")
        else:
            try:
                moment = datetime.fromisoformat(row.at.strip())
            except ValueError:
                problems.append(f"at {row.at[:40]!r} is not a time: use ISO 8601, e.g. 2026-11-25T09:30:00Z")
            else:
                if moment.tzinfo is None:
                    problems.append(f"at {row.at[:40]!r} has no offset: add one, e.g. Z or +01:00")
                    moment = None
                elif moment > latest:
                    problems.append(f"at {row.at[:40]!r} is in the future: check the logger's clock")
                elif moment < EARLIEST:
                    problems.append(f"at {row.at[:40]!r} is before 1900: check the logger's clock")
        value = _temperature(row.temperature_c)
        if isinstance(value, str):
            problems.append(f"temperature_c {str(row.temperature_c)[:40]!r} {value}")
            value = None
        elif not LOWEST_C <= value <= HIGHEST_C:
            problems.append(f"temperature_c {value:g} is outside −80…80 °C: check the unit and the sensor")
        if problems:
            errors.append({"row": row.row, "message": "; ".join(problems) + "."})
            if len(errors) >= TOO_MANY_ERRORS:
                break
            continue
        assert moment is not None and value is not None
        times.append(moment.astimezone(UTC))
        temps.append(value)
    if errors:
        raise InvalidInput(
            f"Nothing was stored: {len(errors)}{'+' if len(errors) >= TOO_MANY_ERRORS else ''} "
            "row(s) need correcting.",
            {"readings": "See the rows."},
            rows=errors,
        )
    epoch = np.array([t.timestamp() for t in times])
    order = np.argsort(epoch, kind="stable")
    return epoch[order], np.array(temps)[order], [times[i] for i in order], [rows[i].row for i in order]


def _load(unit_id: int, start: datetime | None, end: datetime | None, *, end_inclusive: bool = True):
    """``(epoch seconds, temperatures)`` of a unit's readings in a time range."""
    stmt = sa.select(Reading.at, Reading.temperature_c).where(Reading.storage_unit_id == unit_id)
    if start is not None:
        stmt = stmt.where(Reading.at >= start)
    if end is not None:
        stmt = stmt.where(Reading.at <= end if end_inclusive else Reading.at < end)
    rows = db.session.execute(stmt.order_by(Reading.at)).all()
    t = np.fromiter((r[0].timestamp() for r in rows), dtype=np.float64, count=len(rows))
    v = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    return t, v


def _neighbour(unit_id: int, moment: datetime, *, after: bool) -> datetime | None:
    column = Reading.at
    stmt = sa.select(sa.func.min(column) if after else sa.func.max(column)).where(
        Reading.storage_unit_id == unit_id, column >= moment if after else column < moment
    )
    return db.session.scalar(stmt)


def epoch_to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(round(seconds, 6), tz=UTC)


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def check_recorder(actor: User | None, token: ApiToken | None, unit: StorageUnit) -> None:
    """A technician or reviewer, or a device token made for this very unit."""
    if actor is not None:
        require_role(actor, *RECORDERS)
        return
    if token is None or token.storage_unit_id != unit.id:
        raise NotPermitted(f"This device token may not post readings to {unit.code}.")


def ingest(
    unit_code: str,
    rows: list[RowInput],
    *,
    source: str,
    actor: User | None,
    token: ApiToken | None = None,
    filename: str | None = None,
) -> IngestResult:
    """Store a set of readings for one unit: all of them or none (see the module docstring)."""
    from qa_app.services import excursions  # excursions reads summaries from this module

    unit = storage.get_unit(unit_code)
    check_recorder(actor, token, unit)
    unit = db.session.scalar(sa.select(StorageUnit).where(StorageUnit.id == unit.id).with_for_update())
    epoch, temps, times, row_numbers = _parse(rows)

    same_time = np.flatnonzero(np.diff(epoch) == 0)
    clashes = [
        {"row": row_numbers[i + 1], "message": f"Same time as row {row_numbers[i]} with another value."}
        for i in same_time
        if temps[i] != temps[i + 1]
    ]
    if clashes:
        raise InvalidInput(
            "The file gives two values for the same time.", {"readings": "See the rows."}, rows=clashes
        )
    keep = np.r_[True, np.diff(epoch) != 0]
    duplicates = int((~keep).sum())

    first, last = times[0], times[-1]
    previous = _neighbour(unit.id, first, after=False)
    span_start = _floor_hour(previous or first)
    span_end = _floor_hour(last) + timedelta(hours=1)
    old_t, old_v = _load(unit.id, span_start, span_end, end_inclusive=False)
    if old_t.size:
        found_clipped = np.minimum(np.searchsorted(old_t, epoch), old_t.size - 1)
        stored = (old_t[found_clipped] == epoch) & keep
        conflicting = stored & (old_v[found_clipped] != temps)
    else:
        found_clipped = np.zeros(epoch.size, dtype=np.intp)
        stored = conflicting = np.zeros(epoch.size, dtype=bool)
    if conflicting.any():
        listed = [
            {
                "row": row_numbers[i],
                "message": f"{times[i].isoformat()} is stored already as {old_v[found_clipped[i]]:g} °C, "
                f"not {temps[i]:g} °C.",
            }
            for i in np.flatnonzero(conflicting)[:TOO_MANY_ERRORS]
        ]
        raise Conflict(
            f"{int(conflicting.sum())} reading(s) clash with stored readings; nothing was stored.",
            {"readings": "A stored reading is never changed."},
            rows=listed,
        )
    duplicates += int(stored.sum())
    new = keep & ~stored
    accepted = int(new.sum())

    upload = ReadingUpload(
        storage_unit_id=unit.id,
        source=source,
        recorded_by_id=actor.id if actor else None,
        token_id=token.id if token else None,
        filename=(filename or None) and filename[:255],
        accepted=accepted,
        duplicates=duplicates,
        first_at=first,
        last_at=last,
    )
    db.session.add(upload)
    db.session.flush()
    _insert_readings(unit.id, upload.id, [times[i] for i in np.flatnonzero(new)], temps[new].tolist())
    if accepted:
        merged_t = np.concatenate((old_t, epoch[new]))
        merged_v = np.concatenate((old_v, temps[new]))
        order = np.argsort(merged_t, kind="stable")
        following = _neighbour(unit.id, span_end, after=True)
        _store_hours(
            unit.id,
            span_start,
            span_end,
            temperature_sums.hourly_sums(
                merged_t[order], merged_v[order], None if following is None else following.timestamp()
            ),
        )
    device = None if actor is not None or token is None else f"device:{token.id}"
    audit.record(
        "readings.received",
        "storage_unit",
        unit.code,
        actor=actor,
        username=device,
        new={
            "upload_id": upload.id,
            "source": source,
            "device_token_id": token.id if token and actor is None else None,
            "filename": upload.filename,
            "accepted": accepted,
            "duplicates": duplicates,
            "first_at": first,
            "last_at": last,
            "min_c": float(temps.min()),
            "max_c": float(temps.max()),
        },
    )
    if accepted:
        known = Known(merged_t[order], merged_v[order], span_start, span_end)
        excursions.refresh(unit, first, last, actor, username=device, known=known)
    db.session.commit()
    return IngestResult(accepted, duplicates, upload)


def _insert_readings(unit_id: int, upload_id: int, times: list[datetime], values: list[float]) -> None:
    """Bulk insert in the session's transaction: COPY on PostgreSQL, an executemany elsewhere."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        lines = "".join(
            f"{unit_id}\t{moment.isoformat()}\t{value!r}\t{upload_id}\n"
            for moment, value in zip(times, values, strict=True)
        )
        with (
            raw.cursor() as cursor,
            cursor.copy("COPY reading (storage_unit_id, at, temperature_c, upload_id) FROM STDIN") as copy,
        ):
            copy.write(lines.encode())
        return
    for start in range(0, len(times), INSERT_CHUNK):
        # A Core insert (the table, not the mapped class): no per-row ORM bookkeeping.
        db.session.execute(
            sa.insert(Reading.__table__),
            [
                {"storage_unit_id": unit_id, "at": moment, "temperature_c": value, "upload_id": upload_id}
                for moment, value in zip(
                    times[start : start + INSERT_CHUNK], values[start : start + INSERT_CHUNK], strict=True
                )
            ],
        )


def _store_hours(unit_id: int, start: datetime, end: datetime, sums: HourSums) -> None:
    db.session.execute(
        sa.delete(ReadingHour).where(
            ReadingHour.storage_unit_id == unit_id, ReadingHour.hour >= start, ReadingHour.hour < end
        )
    )
    rows = sums.rows()
    for row in rows:
        row["storage_unit_id"] = unit_id
        row["hour"] = epoch_to_datetime(row["hour"])
        if row["max_interval_at"] is not None:
            row["max_interval_at"] = epoch_to_datetime(row["max_interval_at"])
    for start_row in range(0, len(rows), INSERT_CHUNK):
        db.session.execute(sa.insert(ReadingHour.__table__), rows[start_row : start_row + INSERT_CHUNK])


HOUR_COLUMNS = (
    "hour",
    "count",
    "sum_c",
    "min_c",
    "max_c",
    "intervals",
    "sum_w",
    "sum_w_exp",
    "median_interval",
    "max_interval",
    "max_interval_at",
    "max_interval_exp",
    "second_interval",
)


def _hours(unit_id: int, start: datetime, end: datetime) -> HourSums:
    """Stored sums of the hours starting in ``[start, end)``."""
    columns = [getattr(ReadingHour, name) for name in HOUR_COLUMNS]
    rows = db.session.execute(
        sa.select(*columns)
        .where(ReadingHour.storage_unit_id == unit_id, ReadingHour.hour >= start, ReadingHour.hour < end)
        .order_by(ReadingHour.hour)
    ).all()
    data = {}
    for index, name in enumerate(HOUR_COLUMNS):
        values = [r[index] for r in rows]
        if name in ("hour", "max_interval_at"):
            values = [np.nan if v is None else v.timestamp() for v in values]
        else:
            values = [np.nan if v is None else v for v in values]
        dtype = np.int64 if name in ("count", "intervals") else np.float64
        data[name] = np.array(values, dtype=dtype)
    return HourSums(**data)


def _raw_part(unit_id: int, start: datetime, end: datetime, *, last: bool) -> RawPart:
    """Raw readings in ``[start, end)`` (``[start, end]`` for the window's last part)."""
    t, v = _load(unit_id, start, end, end_inclusive=last)
    following = None
    if not last and t.size:
        after = _neighbour(unit_id, epoch_to_datetime(t[-1]) + timedelta(microseconds=1), after=True)
        following = None if after is None else after.timestamp()
    return RawPart(t, v, following)


def _hour_rows(rows: int, **given) -> HourSums:
    """Stand-in hour rows carrying only what a summary needs from SQL totals and groups."""
    columns = {
        "hour": np.full(rows, np.nan),
        "count": np.zeros(rows, np.int64),
        "sum_c": np.zeros(rows),
        "min_c": np.full(rows, np.inf),
        "max_c": np.full(rows, -np.inf),
        "intervals": np.zeros(rows, np.int64),
        "sum_w": np.zeros(rows),
        "sum_w_exp": np.zeros(rows),
        "median_interval": np.full(rows, np.nan),
        "max_interval": np.full(rows, np.nan),
        "max_interval_at": np.full(rows, np.nan),
        "max_interval_exp": np.full(rows, np.nan),
        "second_interval": np.full(rows, np.nan),
    }
    for name, values in given.items():
        columns[name] = np.array(values, dtype=columns[name].dtype)
    return HourSums(**columns)


def _joined(*rows: HourSums) -> HourSums:
    return HourSums(**{name: np.concatenate([getattr(r, name) for r in rows]) for name in HOUR_COLUMNS})


def _median_groups(where: tuple) -> HourSums:
    """The hours' median intervals with how many intervals each stands for, grouped in SQL."""
    h = ReadingHour
    rows = db.session.execute(
        sa.select(h.median_interval, sa.func.sum(h.intervals))
        .where(*where, h.median_interval.is_not(None))
        .group_by(h.median_interval)
    ).all()
    return _hour_rows(len(rows), median_interval=[r[0] for r in rows], intervals=[r[1] for r in rows])


def summarise_window(unit: StorageUnit, start: datetime, end: datetime) -> Summary:
    """Count, min, max, mean, time-weighted MKT and data gaps of the readings in ``[start, end]``.

    Whole hours are added up by the database from the stored sums; only the edges are read raw
    (module docstring of :mod:`qa_app.domain.temperature_sums`), and so are hours with two
    gaps or with an interval whose gap status the median's uncertainty (the spread of the
    hours' medians) could flip. Small windows are read raw. Equals the computation over the
    raw readings within hundredths of a degree.
    """
    if end < start:
        raise InvalidInput("The window ends before it starts.", {"end": "Must not be before start."})
    last = db.session.scalar(
        sa.select(sa.func.max(Reading.at)).where(
            Reading.storage_unit_id == unit.id, Reading.at >= start, Reading.at <= end
        )
    )
    if last is None:
        return Summary(0, None, None, None, None, ())
    head_end = _floor_hour(start) + (timedelta(hours=1) if _floor_hour(start) < start else timedelta(0))
    tail_start = _floor_hour(last)
    h = ReadingHour
    where: tuple = (h.storage_unit_id == unit.id, h.hour >= head_end, h.hour < tail_start)
    if (
        head_end >= tail_start
        or (db.session.scalar(sa.select(sa.func.sum(h.count)).where(*where)) or 0) <= RAW_UP_TO
    ):
        t, v = _load(unit.id, start, end)
        return temperature.summarise(t, v)
    parts = [_raw_part(unit.id, start, head_end, last=False), _raw_part(unit.id, tail_start, end, last=True)]
    medians = _median_groups(where)
    median = temperature_sums.window_median(medians, parts)
    keep: tuple = ()
    if median is not None:
        known = medians.median_interval
        low, high = (min(known.min(), median), max(known.max(), median)) if known.size else (median, median)
        longest, second = sa.func.coalesce(h.max_interval, -1.0), sa.func.coalesce(h.second_interval, -1.0)
        raw_hour = sa.or_(
            second > temperature.GAP_FACTOR * median,
            longest.between(temperature.GAP_FACTOR * low, temperature.GAP_FACTOR * high),
            second.between(temperature.GAP_FACTOR * low, temperature.GAP_FACTOR * high),
        )
        crowded = list(db.session.scalars(sa.select(h.hour).where(*where, raw_hour)))
        for begins in crowded:
            parts.append(_raw_part(unit.id, begins, begins + timedelta(hours=1), last=False))
        keep = (sa.not_(raw_hour),)
        if crowded:
            medians = _median_groups(where + keep)
    totals = db.session.execute(
        sa.select(
            sa.func.sum(h.count), sa.func.sum(h.sum_c), sa.func.min(h.min_c), sa.func.max(h.max_c),
            sa.func.sum(h.sum_w), sa.func.sum(h.sum_w_exp),
        ).where(*where, *keep)
    ).one()  # fmt: skip
    summed = (
        _hour_rows(
            1, count=[totals[0]], sum_c=[totals[1]], min_c=[totals[2]], max_c=[totals[3]],
            sum_w=[totals[4]], sum_w_exp=[totals[5]],
        )
        if totals[0]
        else _hour_rows(0)
    )  # fmt: skip
    gapped = (
        db.session.execute(
            sa.select(h.max_interval, h.max_interval_at, h.max_interval_exp).where(
                *where, *keep, h.max_interval > temperature.GAP_FACTOR * median
            )
        ).all()
        if median is not None
        else []
    )
    gaps = _hour_rows(
        len(gapped),
        max_interval=[r[0] for r in gapped],
        max_interval_at=[r[1].timestamp() for r in gapped],
        max_interval_exp=[r[2] for r in gapped],
    )
    return temperature_sums.combine(_joined(medians, summed, gaps), parts)


def series_for_chart(unit: StorageUnit, start: datetime, end: datetime) -> dict[str, np.ndarray]:
    """What a chart draws: raw readings over two days or less, hourly min/mean/max beyond."""
    if end - start <= timedelta(days=2):
        t, v = _load(unit.id, start, end)
        return {"t": t, "mean": v, "min": v, "max": v}
    hours = _hours(unit.id, _floor_hour(start), end)
    mean = np.divide(hours.sum_c, np.maximum(hours.count, 1))
    return {"t": hours.hour + HOUR_S / 2, "mean": mean, "min": hours.min_c, "max": hours.max_c}


@dataclass(frozen=True)
class Known:
    """Every reading of a unit in ``[start, end)``, already in memory (from an upload)."""

    t: np.ndarray
    v: np.ndarray
    start: datetime
    end: datetime


def series(
    unit: StorageUnit, start: datetime | None, end: datetime | None, known: Known | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Raw ``(epoch seconds, °C)`` of a unit in ``[start, end]``, for the excursion search;
    what ``known`` holds is not read again."""
    if known is None:
        return _load(unit.id, start, end)
    ts, vs = [], []
    if start is None or start < known.start:
        before = _load(unit.id, start, known.start, end_inclusive=False)
        ts.append(before[0]), vs.append(before[1])
    inside = np.ones(known.t.size, dtype=bool)
    if start is not None:
        inside &= known.t >= start.timestamp()
    if end is not None:
        inside &= known.t <= end.timestamp()
    ts.append(known.t[inside]), vs.append(known.v[inside])
    if end is None or end >= known.end:
        after = _load(unit.id, known.end, end)
        ts.append(after[0]), vs.append(after[1])
    return np.concatenate(ts), np.concatenate(vs)


def neighbour(unit: StorageUnit, moment: datetime, *, after: bool) -> datetime | None:
    """The first reading at or after ``moment``, or the last one before it."""
    return _neighbour(unit.id, moment, after=after)


@dataclass(frozen=True)
class Stay:
    """A batch's time in one unit, with what the readings say about it."""

    unit: StorageUnit
    start: datetime
    end: datetime | None
    summary: Summary


def batch_storage(batch: Batch, until: datetime | None = None) -> list[Stay]:
    """Where the batch has been, from completion and every move, each stay summarised.

    A stay lasts until the next placement; the current one until ``until`` (default now).
    """
    until = until or clock.utcnow()
    stays = []
    placements = [p for p in batch.locations if p.placed_at <= until]
    for index, place in enumerate(placements):
        end = placements[index + 1].placed_at if index + 1 < len(placements) else None
        summary = summarise_window(place.storage_unit, place.placed_at, end or until)
        stays.append(Stay(place.storage_unit, place.placed_at, end, summary))
    return stays


def manual_reading(actor: User, unit_code: str, at: datetime | None, temperature_c: object) -> IngestResult:
    """The twice-daily reading from the unit's display, entered on a page."""
    moment = (at or clock.utcnow()).astimezone(UTC).isoformat()
    return ingest(unit_code, [RowInput(1, moment, temperature_c)], source="manual", actor=actor)


def default_window(unit: StorageUnit) -> timedelta:
    """The condition's MKT window (30 days room, 24 hours refrigerated); 7 days for a freezer."""
    return temperature.CONDITIONS[unit.condition].mkt_window or timedelta(days=7)
