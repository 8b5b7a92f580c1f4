"""A window summary assembled from hourly sums equals the one computed over the raw readings.

The service keeps per-hour sums and reads raw readings only at a window's ragged edges
(and for hours with two or more data gaps). These tests do the same assembly in memory and
hold it against :func:`temperature.summarise`: exactly for a regular logger, within 0.01 °C
for a jittered one, with the same data gaps reported.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qa_app.domain import temperature
from qa_app.domain.rounding import round_half_up
from qa_app.domain.temperature import GAP_FACTOR, DataGap, Summary, summarise
from qa_app.domain.temperature_sums import HOUR_S, HourSums, RawPart, combine, hourly_sums, window_median

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EPOCH0 = T0.timestamp()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def select(hours: HourSums, keep: np.ndarray) -> HourSums:
    return HourSums(**{name: getattr(hours, name)[keep] for name in HourSums.__dataclass_fields__})


def raw(t: np.ndarray, temps: np.ndarray, lo: float, hi: float, *, last: bool) -> RawPart:
    """Readings in ``[lo, hi)`` (``[lo, hi]`` for the window's last part), with the next one."""
    inside = (t >= lo) & ((t <= hi) if last else (t < hi))
    part_t, part_v = t[inside], temps[inside]
    later = t[t > part_t[-1]] if part_t.size and not last else np.empty(0)
    return RawPart(part_t, part_v, float(later[0]) if later.size else None)


def assembled(t: np.ndarray, temps: np.ndarray, start: float, end: float) -> Summary:
    """The window ``[start, end]`` summarised as the service does it: whole hours from
    :func:`hourly_sums`, the head and tail raw, and hours with two or more gaps raw."""
    inside = (t >= start) & (t <= end)
    if not inside.any():
        return Summary(0, None, None, None, None, ())
    head_end = np.ceil(start / HOUR_S) * HOUR_S
    tail_start = np.floor(t[inside][-1] / HOUR_S) * HOUR_S
    if head_end >= tail_start:
        return summarise(t[inside], temps[inside])
    every_hour = hourly_sums(t, temps, None)
    hours = select(every_hour, (every_hour.hour >= head_end) & (every_hour.hour < tail_start))
    parts = [raw(t, temps, start, head_end, last=False), raw(t, temps, tail_start, end, last=True)]
    median = window_median(hours, parts)
    if median is not None:
        crowded = hours.second_interval > GAP_FACTOR * median
        parts += [raw(t, temps, h, h + HOUR_S, last=False) for h in hours.hour[crowded]]
        hours = select(hours, ~crowded)
    return combine(hours, parts)


def assert_same(got: Summary, expected: Summary, *, mkt_within: float = 1e-9) -> None:
    assert got.count == expected.count
    assert (got.min_c, got.max_c) == (expected.min_c, expected.max_c)
    assert got.mean_c == pytest.approx(expected.mean_c, abs=1e-9)
    assert got.mkt_c == pytest.approx(expected.mkt_c, abs=mkt_within)
    assert got.gaps == expected.gaps


# --- the published vectors through the sums -----------------------------------------------------


@pytest.mark.parametrize(
    ("temps", "mkt"),
    [
        ([2, 2, 5, 8, 8, 8, 8], Decimal("6.25")),
        ([20, 25, 30], Decimal("25.86")),
        ([2, 4, 6, 8], Decimal("5.30")),
    ],
)
def test_published_vectors_give_the_same_mkt_from_hourly_sums(temps, mkt):
    # One reading every 40 minutes, so the readings fall into several hours.
    t = EPOCH0 + 2400.0 * np.arange(len(temps))
    summary = assembled(t, np.array(temps, dtype=float), EPOCH0, t[-1])
    assert round_half_up(summary.mkt_c, 2) == mkt


# --- series of every kind -----------------------------------------------------------------------


def test_a_regular_logger_matches_exactly():
    # Six hours of one-minute readings from 09:00:30, between 3.5 and 6.5 °C.
    t = EPOCH0 + 30.0 + 60.0 * np.arange(6 * 60)
    temps = np.round(5.0 + 1.5 * np.sin(np.arange(t.size) / 40.0), 2)
    expected = summarise(t, temps)
    got = assembled(t, temps, EPOCH0 + 10 * 60, EPOCH0 + 5 * 3600 + 17 * 60)
    inside = (t >= EPOCH0 + 600) & (t <= EPOCH0 + 5 * 3600 + 17 * 60)
    assert_same(got, summarise(t[inside], temps[inside]))
    assert got.count == 307  # 09:10:30 … 14:16:30
    assert_same(assembled(t, temps, EPOCH0, t[-1]), expected)
    assert expected.gaps == ()


def test_a_jittered_logger_is_within_a_hundredth():
    rng = np.random.default_rng(11)
    t = EPOCH0 + np.cumsum(rng.normal(60.0, 3.0, 8 * 60))
    temps = np.round(22.0 + 3.0 * np.sin(np.arange(t.size) / 25.0) + rng.normal(0, 0.3, t.size), 2)
    got = assembled(t, temps, t[7], t[-4])
    expected = summarise(t[7:-3], temps[7:-3])
    assert_same(got, expected, mkt_within=0.01)


def test_a_battery_change_is_one_data_gap_and_weighs_one_median_interval():
    # One-minute readings 09:00–12:00 at 5 °C, none from 10:20 to 10:40. The 18 °C reading at
    # 10:20 stands for one minute: MKT 5.19 °C (standing for the twenty minutes it would be 7.85).
    minutes = [m for m in range(181) if not 80 < m < 100]
    t = np.array([at(m).timestamp() for m in minutes])
    temps = np.where(np.array(minutes) == 80, 18.0, 5.0)
    got = assembled(t, temps, t[0], t[-1])
    assert got.gaps == (DataGap(at(80), at(100)),)
    assert_same(got, summarise(t, temps))
    assert round_half_up(got.mkt_c, 2) == Decimal("5.19")


def test_an_hour_with_two_gaps_is_read_raw_and_both_gaps_are_reported():
    # 09:00–12:00 every minute, with 10:10→10:25 and 10:40→10:55 missing: the 10:00 hour has
    # two intervals of 15 minutes, more than three medians, so its sums cannot drop both.
    minutes = [m for m in range(181) if not (70 < m < 85 or 100 < m < 115)]
    t = np.array([at(m).timestamp() for m in minutes])
    temps = np.where(np.array(minutes) < 90, 4.0, 7.0)
    ten_oclock = hourly_sums(t, temps, None)
    assert ten_oclock.second_interval[1] == 900.0
    got = assembled(t, temps, t[0], t[-1])
    assert got.gaps == (DataGap(at(70), at(85)), DataGap(at(100), at(115)))
    assert_same(got, summarise(t, temps))


def test_a_single_reading_is_its_own_mkt():
    t = np.array([at(30).timestamp()])
    got = combine(hourly_sums(np.empty(0), np.empty(0), None), [RawPart(t, np.array([6.4]), None)])
    assert got == Summary(1, 6.4, 6.4, 6.4, 6.4, ())
    assert_same(got, summarise(t, [6.4]))


def test_two_readings_weigh_equally():
    # 20 °C at 09:59 (in the whole hour 09:00) and 30 °C at 10:01 (the raw tail): MKT 26.26 °C.
    t = np.array([at(59).timestamp(), at(61).timestamp()])
    temps = np.array([20.0, 30.0])
    got = assembled(t, temps, at(0).timestamp(), at(90).timestamp())
    assert (got.count, got.min_c, got.max_c, got.mean_c) == (2, 20.0, 30.0, 25.0)
    assert round_half_up(got.mkt_c, 2) == Decimal("26.26")
    assert_same(got, summarise(t, temps))


def test_no_readings_in_the_window():
    t = EPOCH0 + 60.0 * np.arange(10)
    assert assembled(t, np.full(10, 5.0), EPOCH0 + 7200, EPOCH0 + 9000) == Summary(
        0, None, None, None, None, ()
    )
    assert combine(hourly_sums(np.empty(0), np.empty(0), None), []) == Summary(0, None, None, None, None, ())


def test_hourly_sums_count_every_reading_once_and_weigh_to_the_next():
    # Readings at 09:50, 10:10 and 10:40; the next one (11:20) lies outside the series.
    t = np.array([at(50).timestamp(), at(70).timestamp(), at(100).timestamp()])
    sums = hourly_sums(t, np.array([5.0, 6.0, 7.0]), at(140).timestamp())
    assert sums.hour.tolist() == [at(0).timestamp(), at(60).timestamp()]
    assert sums.count.tolist() == [1, 2]
    assert sums.sum_c.tolist() == [5.0, 13.0]
    assert sums.sum_w.tolist() == [1200.0, 1800.0 + 2400.0]
    assert sums.max_interval.tolist() == [1200.0, 2400.0]
    assert sums.max_interval_at.tolist() == [at(50).timestamp(), at(100).timestamp()]


def test_the_last_reading_without_a_next_one_has_no_weight_yet():
    sums = hourly_sums(np.array([at(0).timestamp(), at(5).timestamp()]), np.array([5.0, 5.0]), None)
    assert (sums.count.tolist(), sums.intervals.tolist(), sums.sum_w.tolist()) == ([2], [1], [300.0])


# --- any window of any regular logger -----------------------------------------------------------

intervals = st.lists(st.floats(min_value=55.0, max_value=65.0), min_size=1, max_size=400)
gaps = st.lists(st.tuples(st.integers(0, 399), st.floats(min_value=600.0, max_value=4 * 3600.0)), max_size=4)


@settings(max_examples=150, deadline=None)
@given(
    steps=intervals,
    gaps=gaps,
    seed=st.integers(0, 2**32 - 1),
    offset_s=st.floats(min_value=0.0, max_value=3599.0),
    window=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)),
)
def test_any_window_matches_the_raw_summary(steps, gaps, seed, offset_s, window):
    steps = np.array(steps)
    for index, length in gaps:
        if index < steps.size:
            steps[index] = length
    assume(np.sum(steps > 180.0) * 4 < steps.size)  # a logger's interval is the median one
    t = EPOCH0 + offset_s + np.concatenate(([0.0], np.cumsum(steps)))
    rng = np.random.default_rng(seed)  # a sensor's temperature drifts; it does not jump at random
    temps = np.round(np.clip(rng.uniform(-20.0, 35.0) + np.cumsum(rng.normal(0, 0.3, t.size)), -80, 80), 2)
    a, b = sorted(t[0] - 600 + (t[-1] - t[0] + 1200) * np.array(window))
    inside = (t >= a) & (t <= b)
    got, expected = assembled(t, temps, a, b), summarise(t[inside], temps[inside])
    assert got.count == expected.count
    if expected.count == 0:
        return
    assert (got.min_c, got.max_c) == (expected.min_c, expected.max_c)
    assert got.mean_c == pytest.approx(expected.mean_c, abs=1e-9)
    assert abs(got.mkt_c - expected.mkt_c) <= 0.01
    assert len(got.gaps) == len(expected.gaps)


def test_mkt_of_sums_is_the_temperature_module_mkt():
    # Hourly sums of 24 h of 5-minute readings reproduce temperature.mean_kinetic_temperature.
    t = EPOCH0 + 300.0 * np.arange(288)
    temps = np.where((t - EPOCH0) % 7200 < 1800, 9.5, 4.0)
    weights, _ = temperature.reading_weights(t)
    got = assembled(t, temps, t[0], t[-1])
    assert got.mkt_c == pytest.approx(temperature.mean_kinetic_temperature(temps, weights), abs=1e-9)
