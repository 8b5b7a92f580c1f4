"""Benchmark: temperature readings on SQLite.

(a) 1,000,000 one-minute readings into a fresh unit through ``readings.ingest`` (readings per
second), then a year of one-minute readings (525,600) into each of four more units, so that five
units hold at least a year; (b) ``readings.summarise_window`` over a year and over 30 days of
one of them (SHELF-1), beside a plain-Python MKT over the same raw readings read from the
database (a loop with ``math.exp``), checking that the two MKTs agree within 0.01 °C.

    make bench            # with the other benchmarks and BENCHMARKS.md
    BENCH_READINGS=200000 BENCH_CALLS=2 BENCH_REPEAT=5 .venv/bin/python bench/bench_readings.py
"""

import math
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import figures, milliseconds, p95, prepare, write_json  # noqa: E402
from config import TestConfig  # noqa: E402
from qa_app import create_app  # noqa: E402
from qa_app.domain.temperature import ACTIVATION_K, GAP_FACTOR, KELVIN_OFFSET  # noqa: E402
from qa_app.extensions import db  # noqa: E402
from qa_app.models import Reading  # noqa: E402
from qa_app.services import clock, readings, storage  # noqa: E402
from tests.builders import user  # noqa: E402

READINGS = int(os.environ.get("BENCH_READINGS", "1000000"))
CALLS = int(os.environ.get("BENCH_CALLS", "1"))
YEAR = 365 * 24 * 60  # one-minute readings: 525,600
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
PLAIN_REPEAT = int(os.environ.get("BENCH_PLAIN_REPEAT", "3"))
AIM_MS = 100.0
AGREE_C = 0.01
EXTRA_UNITS = (
    ("SHELF-2", "Second room shelf", "room"),
    ("FRIDGE-2", "Second refrigerator", "refrigerated"),
    ("FREEZER-1", "Freezer", "freezer"),
)
# The fresh unit takes the million (more than a year: 694 days); four more units a year each.
UNITS = (
    ("FRIDGE-1", READINGS, CALLS, 5.0, 1),
    ("SHELF-1", YEAR, 1, 22.0, 2),
    ("SHELF-2", YEAR, 1, 22.5, 3),
    ("FRIDGE-2", YEAR, 1, 4.5, 4),
    ("FREEZER-1", YEAR, 1, -18.0, 5),
)


def one_minute_rows(count: int, end: int, mean_c: float, seed: int) -> list[readings.RowInput]:
    """``count`` readings a minute apart up to ``end`` (epoch seconds): a daily cycle of ±1 °C,
    noise, and one two-hour rise of 3 °C a week before the end (an excursion to find)."""
    times = end - 60 * np.arange(count - 1, -1, -1, dtype=np.int64)
    rng = np.random.default_rng(seed)
    temps = mean_c + np.sin(2 * np.pi * (times % 86_400) / 86_400) + rng.normal(0, 0.2, count)
    rise = slice(max(count - 7 * 1440, 0), max(count - 7 * 1440 + 120, 0))
    temps[rise] += 3.0
    stamps = np.datetime_as_string(times.astype("datetime64[s]"), timezone="UTC").tolist()
    return [
        readings.RowInput(n, at, c)
        for n, (at, c) in enumerate(zip(stamps, np.round(temps, 2).tolist(), strict=True), 1)
    ]


def ingest(code: str, rows: list[readings.RowInput], calls: int) -> float:
    """Seconds to store ``rows`` in ``calls`` uploads, the commit of each included."""
    tina = user("tina")
    size = math.ceil(len(rows) / calls)
    started = time.perf_counter()
    for first in range(0, len(rows), size):
        readings.ingest(code, rows[first : first + size], source="api", actor=tina)
    return time.perf_counter() - started


def plain_python_mkt(unit_id: int, start, end) -> float:
    """The same MKT (domain.md §6 weights and data-gap rule) read raw and computed in a loop."""
    rows = db.session.execute(
        sa.select(Reading.at, Reading.temperature_c)
        .where(Reading.storage_unit_id == unit_id, Reading.at >= start, Reading.at <= end)
        .order_by(Reading.at)
    ).all()
    times = [at.timestamp() for at, _ in rows]
    intervals = [b - a for a, b in zip(times, times[1:], strict=False)]
    median = statistics.median(intervals)
    sum_w = sum_w_exp = 0.0
    for index, (_, celsius) in enumerate(rows):
        weight = intervals[index] if index < len(intervals) else median
        if weight > GAP_FACTOR * median:
            weight = median
        sum_w += weight
        sum_w_exp += weight * math.exp(-ACTIVATION_K / (celsius + KELVIN_OFFSET))
    return ACTIVATION_K / (math.log(sum_w) - math.log(sum_w_exp)) - KELVIN_OFFSET


def line(what: str, count: str, median: str, p95_ms: str, plain: str, ratio: str, result: str) -> None:
    print(f"{what:<30} {count:>10} {median:>10} {p95_ms:>8} {plain:>9} {ratio:>6}  {result}", flush=True)


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            TestConfig, instance_path=tmp, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/readings.sqlite3"
        )
        with app.app_context():
            prepare()
            for code, name, condition in EXTRA_UNITS:
                storage.create_unit(user("ada"), code=code, name=name, condition=condition)
            end = int(clock.utcnow().timestamp()) // 60 * 60
            ingested = {}
            line("what", "readings", "median ms", "p95 ms", "plain ms", "ratio", "result")
            for code, total, calls, mean_c, seed in UNITS:
                seconds = ingest(code, one_minute_rows(total, end, mean_c, seed), calls)
                ingested[code] = {"readings": total, "calls": calls, "seconds": seconds}
                what = f"ingest {code}" + (", fresh unit" if code == "FRIDGE-1" else ", a year")
                line(what, f"{total:,}", f"{seconds * 1000:,.0f}", "", "", "",
                     f"{total / seconds:,.0f} readings/s in {calls} call(s)")  # fmt: skip
            unit = storage.get_unit("SHELF-1")
            # Ragged edges, half a minute past the readings: a year holds all 525,600, 30 days 43,200.
            stop = datetime.fromtimestamp(end + 30, tz=UTC)
            summaries = {}
            for days in (365, 30):
                start = stop - timedelta(days=days)
                summarise = partial(readings.summarise_window, unit, start, stop)
                milliseconds(summarise, 2)
                fast, summary = milliseconds(summarise, REPEAT)
                slow, plain = milliseconds(partial(plain_python_mkt, unit.id, start, stop), PLAIN_REPEAT)
                median = statistics.median(fast)
                agree = abs(summary.mkt_c - plain) <= AGREE_C
                line(
                    f"summary, {'a year' if days == 365 else f'{days} days'}", f"{summary.count:,}",
                    f"{median:.1f}", f"{p95(fast):.1f}", f"{statistics.median(slow):,.0f}",
                    f"{statistics.median(slow) / median:.0f}×",
                    f"MKT {summary.mkt_c:.4f} °C, plain {plain:.4f} °C: "
                    f"{'agree' if agree else 'DISAGREE'} within {AGREE_C} °C",
                )  # fmt: skip
                summaries[str(days)] = figures(
                    fast,
                    readings=summary.count,
                    mkt_c=summary.mkt_c,
                    plain_median_ms=statistics.median(slow),
                    plain_n=len(slow),
                    plain_mkt_c=plain,
                    agree=agree,
                )
    year_ms = summaries["365"]["median_ms"]
    print(f"aim, a year's summary under {AIM_MS:.0f} ms: {'met' if year_ms < AIM_MS else 'NOT met'}")
    return {
        "database": "SQLite",
        "ingest": ingested,
        "units": len(UNITS),
        "stored": sum(i["readings"] for i in ingested.values()),
        "summaries": summaries,
        "aim_year_ms": AIM_MS,
        "repeat": REPEAT,
    }


if __name__ == "__main__":
    write_json(run())
