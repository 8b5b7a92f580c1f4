"""Window summaries from the hourly sums equal the computation over the raw readings.

The summary reads whole hours from stored sums and only the window's edges raw; whatever the
window, it must agree with :func:`temperature.summarise` over the raw readings within 0.01 °C.
Readings arrive out of order and late, as loggers upload them, so the sums are rebuilt.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.domain import temperature
from qa_app.extensions import db
from qa_app.models import Excursion, Reading, ReadingHour
from qa_app.services import readings, storage
from tests.builders import user
from tests.services.test_results import shared_database_app

START = datetime(2026, 9, 1, tzinfo=UTC)
DAYS = 10


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    yield from shared_database_app(databases, str(tmp_path_factory.mktemp("summary-instance")))


def logger_series(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ten days of one-minute readings with clock jitter, two data gaps and a warm spell."""
    steps = rng.normal(60.0, 0.4, DAYS * 1440)
    t = START.timestamp() + np.cumsum(steps)
    t = np.round(t, 3)
    keep = np.ones(t.size, dtype=bool)
    keep[3000:3200] = False  # a logger battery change: 200 minutes missing
    keep[9000:9090] = False
    t = t[keep]
    temps = 5.0 + 1.5 * np.sin(t / 5400.0) + rng.normal(0, 0.2, t.size)
    temps[6000:6300] += 9.0  # five hours near 14 °C
    return t, np.round(temps, 2)


@pytest.fixture(scope="module")
def loaded(shared_app) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20261125)
    t, temps = logger_series(rng)
    rows = [
        readings.RowInput(i + 1, datetime.fromtimestamp(x, tz=UTC).isoformat(), float(v))
        for i, (x, v) in enumerate(zip(t, temps, strict=True))
    ]
    with shared_app.app_context():
        storage.create_unit(
            user("ada"), code="FRIDGE-9", name="Summary test fridge", condition="refrigerated"
        )
        # Out of order and overlapping: the newest days first, then the rest with some re-sent rows.
        chunks = [rows[8000:], rows[:3000], rows[2500:8100]]
        for chunk in chunks:
            readings.ingest("FRIDGE-9", chunk, source="csv", actor=user("tina"))
        yield t, temps


def test_every_reading_is_stored_once(shared_app, loaded):
    t, _ = loaded
    with shared_app.app_context():
        unit = storage.get_unit("FRIDGE-9")
        stored = db.session.scalar(
            sa.select(sa.func.count()).select_from(Reading).where(Reading.storage_unit_id == unit.id)
        )
        hourly = db.session.scalar(
            sa.select(sa.func.sum(ReadingHour.count)).where(ReadingHour.storage_unit_id == unit.id)
        )
    assert stored == t.size == 14_110
    assert hourly == 14_110


def test_random_windows_match_the_raw_computation_within_a_hundredth(shared_app, loaded):
    t, temps = loaded
    rng = np.random.default_rng(7)
    with shared_app.app_context():
        unit = storage.get_unit("FRIDGE-9")
        for _ in range(40):
            a, b = sorted(rng.uniform(t[0] - 3600, t[-1] + 3600, 2))
            start, end = (datetime.fromtimestamp(x, tz=UTC) for x in (a, b))
            inside = (t >= start.timestamp() - 1e-6) & (t <= end.timestamp() + 1e-6)
            expected = temperature.summarise(t[inside], temps[inside])
            got = readings.summarise_window(unit, start, end)
            assert got.count == expected.count
            if expected.count == 0:
                assert got.mkt_c is None
                continue
            assert (got.min_c, got.max_c) == (expected.min_c, expected.max_c)
            assert abs(got.mean_c - expected.mean_c) < 1e-9
            assert abs(got.mkt_c - expected.mkt_c) <= 0.01
            assert len(got.gaps) == len(expected.gaps)


def test_the_whole_ten_days(shared_app, loaded):
    t, temps = loaded
    with shared_app.app_context():
        unit = storage.get_unit("FRIDGE-9")
        got = readings.summarise_window(unit, START, START + timedelta(days=DAYS + 1))
    expected = temperature.summarise(t, temps)
    assert got.count == 14_110
    assert len(got.gaps) == 2
    assert round(got.mkt_c, 2) == round(expected.mkt_c, 2)


def test_the_warm_spell_is_one_allowable_excursion_found_across_uploads(shared_app, loaded):
    t, _ = loaded
    with shared_app.app_context():
        unit = storage.get_unit("FRIDGE-9")
        found = list(
            db.session.scalars(
                sa.select(Excursion).where(
                    Excursion.storage_unit_id == unit.id, Excursion.withdrawn_at.is_(None)
                )
            )
        )
    warm = [e for e in found if e.max_c > 12]
    assert len(warm) == 1
    # Five hours near 14 °C stay inside 0–15 °C and the 24-h MKT stays under 8 °C: allowable.
    assert warm[0].min_c > 8.0 and warm[0].max_c < 15.0
    assert 7.0 < warm[0].mkt_c < 8.0
    assert warm[0].classification == "allowable"
