from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_app.domain.rounding import round_half_up
from qa_app.domain.temperature import (
    CONDITIONS,
    DataGap,
    classify_excursion,
    default_limits,
    find_excursions,
    mean_kinetic_temperature,
    mkt_from_terms,
    mkt_terms,
    reading_weights,
    summarise,
    to_epoch_seconds,
    window_mkt_for,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at_minutes(*minutes: float) -> list[datetime]:
    return [T0 + timedelta(minutes=m) for m in minutes]


def every(step_minutes: float, count: int) -> list[datetime]:
    return at_minutes(*(i * step_minutes for i in range(count)))


def make_series(*segments: tuple[float, float], step_minutes: float = 10):
    """Readings every ``step_minutes``: each segment is (temperature, hours)."""
    temps: list[float] = []
    for temp, hours in segments:
        temps += [temp] * round(hours * 60 / step_minutes)
    return every(step_minutes, len(temps)), temps


def rounded_mkt(temps, weights=None) -> Decimal:
    return round_half_up(mean_kinetic_temperature(temps, weights), 2)


# --- conditions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "limits"),
    [("room", (20.0, 25.0)), ("refrigerated", (2.0, 8.0)), ("freezer", (-25.0, -10.0))],
)
def test_default_limits_follow_the_condition(condition, limits):
    assert default_limits(condition) == limits
    assert default_limits(CONDITIONS[condition]) == limits


@pytest.mark.parametrize(
    ("condition", "window"),
    [("room", timedelta(days=30)), ("refrigerated", timedelta(hours=24)), ("freezer", None)],
)
def test_mkt_window_follows_the_condition(condition, window):
    assert CONDITIONS[condition].mkt_window == window


def test_unknown_condition_is_refused():
    with pytest.raises(ValueError):
        default_limits("oven")


# --- times --------------------------------------------------------------------------------


def test_datetimes_datetime64_and_epoch_seconds_are_the_same_instants():
    aware = at_minutes(0, 10, 25)
    as_datetime64 = np.array(["2026-01-01T00:00", "2026-01-01T00:10", "2026-01-01T00:25"], "M8[s]")
    epoch = np.array([1767225600.0, 1767226200.0, 1767227100.0])
    np.testing.assert_array_equal(to_epoch_seconds(aware), epoch)
    np.testing.assert_array_equal(to_epoch_seconds(as_datetime64), epoch)
    np.testing.assert_array_equal(to_epoch_seconds(epoch), epoch)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        to_epoch_seconds([datetime(2026, 1, 1)])


@pytest.mark.parametrize("minutes", [(0, 10, 5), (0, 10, 10)])
def test_unsorted_or_repeated_times_are_refused(minutes):
    with pytest.raises(ValueError):
        summarise(at_minutes(*minutes), [5.0, 5.0, 5.0])


# --- mean kinetic temperature -------------------------------------------------------------


@pytest.mark.parametrize(
    ("temps", "expected"),
    [
        ([2, 2, 5, 8, 8, 8, 8], "6.25"),
        ([20, 25, 30], "25.86"),
        ([2, 4, 6, 8], "5.30"),
    ],
)
def test_published_vectors(temps, expected):
    assert rounded_mkt(temps) == Decimal(expected)


def test_mkt_of_no_readings_is_none():
    assert mean_kinetic_temperature([]) is None


def test_mkt_of_one_reading_is_that_reading():
    assert mean_kinetic_temperature([5.0]) == pytest.approx(5.0, abs=1e-12)


@settings(max_examples=200)
@given(st.lists(st.floats(min_value=-40, max_value=60), min_size=1, max_size=50))
def test_mkt_is_at_least_the_arithmetic_mean(temps):
    assert mean_kinetic_temperature(temps) >= np.mean(temps) - 1e-9


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.floats(min_value=-40, max_value=60), st.floats(min_value=0.1, max_value=1e4)),
        min_size=1,
        max_size=50,
    )
)
def test_weighted_mkt_is_at_least_the_weighted_mean(pairs):
    temps, weights = zip(*pairs, strict=True)
    assert mean_kinetic_temperature(temps, weights) >= np.average(temps, weights=weights) - 1e-9


def test_equal_spacing_reproduces_the_published_formula():
    temps = [2, 2, 5, 8, 8, 8, 8]
    weights, gaps = reading_weights(every(15, 7))
    assert weights.tolist() == [900.0] * 7
    assert gaps == []
    by_hand = 10000 / -np.log(np.mean(np.exp(-10000 / (np.array(temps) + 273.15)))) - 273.15
    assert mean_kinetic_temperature(temps, weights) == pytest.approx(by_hand, abs=1e-12)


def test_unequal_spacing_weights_each_reading_by_its_interval():
    # Readings at 0, 1, 2 and 4 h: the 30 °C reading stands for 2 h, the last for the median 1 h,
    # so the series weighs like five equally spaced readings 20, 20, 30, 30, 20.
    weights, gaps = reading_weights(at_minutes(0, 60, 120, 240))
    assert weights.tolist() == [3600.0, 3600.0, 7200.0, 3600.0]
    assert gaps == []
    assert rounded_mkt([20, 20, 30, 20], weights) == Decimal("25.30")
    assert rounded_mkt([20, 20, 30, 30, 20]) == Decimal("25.30")
    assert rounded_mkt([20, 20, 30, 20]) == Decimal("23.64")


def test_a_data_gap_gets_one_median_interval_and_is_reported():
    weights, gaps = reading_weights(at_minutes(0, 60, 120, 180, 600, 660))
    assert weights.tolist() == [3600.0] * 6
    assert gaps == [DataGap(start=T0 + timedelta(hours=3), end=T0 + timedelta(hours=10))]


def test_an_interval_of_exactly_three_medians_is_not_a_gap():
    weights, gaps = reading_weights(at_minutes(0, 60, 120, 300, 360))
    assert weights.tolist() == [3600.0, 3600.0, 10800.0, 3600.0, 3600.0]
    assert gaps == []


def test_one_reading_weighs_one():
    weights, gaps = reading_weights(at_minutes(0))
    assert weights.tolist() == [1.0]
    assert gaps == []


def test_mkt_terms_summed_per_hour_give_the_mkt_of_the_whole_series():
    times = every(1, 24 * 60)
    temps = 5 + 3 * np.sin(np.linspace(0, 6 * np.pi, len(times)))
    weights, _ = reading_weights(times)
    chunks = [mkt_terms(temps[h : h + 60], weights[h : h + 60]) for h in range(0, len(times), 60)]
    sum_w = sum(c[0] for c in chunks)
    sum_w_exp = sum(c[1] for c in chunks)
    whole = mean_kinetic_temperature(temps, weights)
    assert mkt_from_terms(sum_w, sum_w_exp) == pytest.approx(whole, abs=1e-9)


def test_mkt_from_no_terms_is_none():
    assert mkt_from_terms(0.0, 0.0) is None


# --- summary ------------------------------------------------------------------------------


def test_summary_reports_extremes_mean_and_time_weighted_mkt():
    summary = summarise(at_minutes(0, 60, 120, 240), [20.0, 20.0, 30.0, 20.0])
    assert (summary.count, summary.min_c, summary.max_c) == (4, 20.0, 30.0)
    assert summary.mean_c == 22.5
    assert round_half_up(summary.mkt_c, 2) == Decimal("25.30")
    assert summary.gaps == ()


def test_summary_of_no_readings():
    summary = summarise([], [])
    assert (summary.count, summary.min_c, summary.mean_c, summary.mkt_c) == (0, None, None, None)


def test_summary_reports_data_gaps():
    summary = summarise(at_minutes(0, 60, 120, 180, 600, 660), [5.0] * 6)
    assert summary.gaps == (DataGap(T0 + timedelta(hours=3), T0 + timedelta(hours=10)),)


def test_a_year_of_one_minute_readings_summarises():
    times = np.arange(
        np.datetime64("2026-01-01T00:00"), np.datetime64("2027-01-01T00:00"), np.timedelta64(1, "m")
    )
    temps = 22 + 2 * np.sin(np.arange(times.size) * 2 * np.pi / 1440)
    summary = summarise(times, temps)
    assert summary.count == 525_600
    assert summary.gaps == ()
    assert summary.mean_c < summary.mkt_c < summary.max_c


# --- excursions ---------------------------------------------------------------------------


def test_a_spike_shorter_than_the_alarm_delay_is_not_an_excursion():
    temps = [22, 22, 27, 27, 22, 22, 22, 22]
    assert find_excursions(every(10, 8), temps, 20, 25, alarm_delay_minutes=30) == []


def test_an_excursion_lasting_the_delay_is_found_with_its_extent():
    temps = [22, 22, 27, 28, 26, 27, 22, 22, 22, 22]
    (excursion,) = find_excursions(every(10, 10), temps, 20, 25, alarm_delay_minutes=30)
    assert excursion.start == T0 + timedelta(minutes=20)
    assert excursion.end == T0 + timedelta(minutes=60)
    assert excursion.duration_minutes == 40.0
    assert (excursion.min_c, excursion.max_c) == (26.0, 28.0)
    assert (excursion.start_index, excursion.stop_index) == (2, 6)
    assert not excursion.is_open


def test_readings_on_the_limits_are_inside():
    temps = [20, 25, 20, 25, 20]
    assert find_excursions(every(10, 5), temps, 20, 25, alarm_delay_minutes=0) == []


def test_an_excursion_below_the_range_is_found():
    temps = [5, 1.5, 0.5, 1, 5, 5, 5, 5]
    (excursion,) = find_excursions(every(10, 8), temps, 2, 8, alarm_delay_minutes=30)
    assert (excursion.min_c, excursion.max_c, excursion.duration_minutes) == (0.5, 1.5, 30.0)


def test_a_brief_return_inside_does_not_end_the_excursion():
    temps = [22, 26, 27, 28, 26, 23, 29, 26, 22, 22, 22, 22]
    (excursion,) = find_excursions(every(10, 12), temps, 20, 25, alarm_delay_minutes=30)
    assert excursion.start == T0 + timedelta(minutes=10)
    assert excursion.end == T0 + timedelta(minutes=80)
    assert excursion.duration_minutes == 70.0
    assert (excursion.min_c, excursion.max_c) == (23.0, 29.0)
    assert (excursion.start_index, excursion.stop_index) == (1, 8)


def test_a_brief_outside_run_before_the_delay_resets_the_alarm_timer():
    temps = [22, 27, 27, 22, 27, 27, 22, 22, 22, 22]
    assert find_excursions(every(10, 10), temps, 20, 25, alarm_delay_minutes=30) == []


def test_an_excursion_still_going_at_the_end_of_data_is_open():
    temps = [22, 22, 27, 28, 29]
    (excursion,) = find_excursions(every(10, 5), temps, 20, 25, alarm_delay_minutes=10)
    assert excursion.end is None and excursion.is_open
    assert excursion.duration_minutes == 20.0
    assert (excursion.max_c, excursion.stop_index) == (29.0, 5)


def test_a_return_not_yet_held_at_the_end_of_data_leaves_the_excursion_open():
    temps = [22, 27, 27, 27, 27, 22, 22]
    (excursion,) = find_excursions(every(10, 7), temps, 20, 25, alarm_delay_minutes=30)
    assert excursion.end is None
    assert excursion.duration_minutes == 50.0
    assert excursion.min_c == 22.0


def test_with_no_alarm_delay_every_outside_reading_counts():
    temps = [22, 26, 22, 22, 19, 22]
    excursions = find_excursions(every(10, 6), temps, 20, 25, alarm_delay_minutes=0)
    assert [(e.start_index, e.stop_index, e.duration_minutes) for e in excursions] == [
        (1, 2, 10.0),
        (4, 5, 10.0),
    ]


# --- classification -----------------------------------------------------------------------


def classify_one(condition: str, *segments: tuple[float, float], delay: float = 30):
    times, temps = make_series(*segments)
    (excursion,) = find_excursions(times, temps, *default_limits(condition), delay)
    window_mkt = window_mkt_for(condition, times, temps, excursion)
    return classify_excursion(condition, times, temps, excursion, window_mkt), window_mkt


@pytest.mark.parametrize(
    ("spike_c", "hours", "expected"),
    [
        (28, 2, "allowable"),
        (31, 2, "allowable"),
        (40, 24, "allowable"),
        (41, 2, "needs_disposition"),
        (31, 25, "needs_disposition"),
        (14, 2, "needs_disposition"),
    ],
)
def test_room_excursions_within_the_usp_allowance_are_allowable(spike_c, hours, expected):
    classification, window_mkt = classify_one("room", (20, 29 * 24), (spike_c, hours), (20, 6))
    assert window_mkt <= 25
    assert classification == expected


def test_room_excursion_that_lifts_the_30_day_mkt_above_25_needs_disposition():
    classification, window_mkt = classify_one("room", (22, 10 * 24), (29, 20 * 24), (22, 6))
    assert round_half_up(window_mkt, 2) == Decimal("27.18")
    assert classification == "needs_disposition"


@pytest.mark.parametrize(
    ("window_mkt", "expected"),
    [(25.004, "allowable"), (25.005, "needs_disposition"), (None, "needs_disposition")],
)
def test_room_window_mkt_is_judged_as_reported(window_mkt, expected):
    times, temps = make_series((22, 6), (28, 2), (22, 6))
    (excursion,) = find_excursions(times, temps, 20, 25, 30)
    assert classify_excursion("room", times, temps, excursion, window_mkt) == expected


@pytest.mark.parametrize(
    ("excursion_c", "hours", "expected_mkt", "expected"),
    [
        (10, 1, "5.28", "allowable"),
        (16, 1, "5.89", "needs_disposition"),
        (-1, 1, "4.82", "needs_disposition"),
        (12, 20, "11.14", "needs_disposition"),
    ],
)
def test_refrigerated_excursions_and_the_24_hour_mkt(excursion_c, hours, expected_mkt, expected):
    classification, window_mkt = classify_one("refrigerated", (5, 48), (excursion_c, hours), (5, 6))
    assert round_half_up(window_mkt, 2) == Decimal(expected_mkt)
    assert classification == expected


def test_an_excursion_longer_than_the_window_is_its_own_window():
    times, temps = make_series((5, 48), (12, 30), (5, 6))
    (excursion,) = find_excursions(times, temps, 2, 8, 30)
    # 180 readings at 12 °C and the end reading at 5 °C, all ten minutes apart.
    assert round_half_up(window_mkt_for("refrigerated", times, temps, excursion), 2) == Decimal("11.97")


def test_freezer_excursions_always_need_disposition():
    times, temps = make_series((-20, 24), (-12, 1), (-8, 1), (-20, 6))
    (excursion,) = find_excursions(times, temps, -25, -10, 30)
    assert window_mkt_for("freezer", times, temps, excursion) is None
    assert classify_excursion("freezer", times, temps, excursion, None) == "needs_disposition"
