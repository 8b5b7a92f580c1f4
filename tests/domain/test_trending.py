import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_app.domain.trending import (
    MIN_POINTS_FOR_CAPABILITY,
    MIN_POINTS_FOR_LIMITS,
    capability,
    individuals_chart,
    process_performance,
    signals,
    trend,
)

# domain.md §10 vector, specification 90.0–110.0
VECTOR = [98.0, 99.0, 100.0, 101.0, 102.0, 101.0, 100.0, 99.0]

# Twenty points 99 100 101 100 repeated: x̄ 100, every moving range 1 so MR̄ 1 and
# σ̂ = 1/1.128 = 0.886525; squared deviations 1 0 1 0 five times sum to 10, s = √(10/19) = 0.725476.
TWENTY = [99.0, 100.0, 101.0, 100.0] * 5


def rules_and_indices(found):
    return [(signal.rule, signal.index) for signal in found]


# --- the chart ------------------------------------------------------------------------------


def test_domain_vector_gives_the_published_chart():
    chart = individuals_chart(VECTOR)

    assert chart.n == 8
    assert chart.center == pytest.approx(100.0)
    assert chart.mr_bar == pytest.approx(1.0)
    assert chart.sigma == pytest.approx(0.886525, abs=1e-6)
    assert chart.ucl == pytest.approx(102.659574, abs=1e-6)
    assert chart.lcl == pytest.approx(97.340426, abs=1e-6)
    assert chart.mr_ucl == pytest.approx(3.267)
    assert chart.sd == pytest.approx(1.309307, abs=1e-6)
    assert chart.note is None


def test_domain_vector_reports_rounded_numbers_and_no_signal():
    result = trend(VECTOR, lsl=90.0, usl=110.0).as_dict()

    assert result["center"] == 100.0
    assert result["mr_bar"] == 1.0
    assert result["sigma"] == 0.8865
    assert result["ucl"] == 102.66
    assert result["lcl"] == 97.34
    assert result["sd"] == 1.3093
    assert result["signals"] == []
    assert result["capability"] is None  # 8 points: capability is shown from 20 on


def test_domain_vector_ppk_is_2_55():
    # Ppk = min(110 − 100, 100 − 90) / (3 × 1.309307) = 10 / 3.927922 = 2.5459
    assert process_performance(VECTOR, 90.0, 110.0) == pytest.approx(2.5459, abs=1e-4)


def test_seven_points_have_no_limits_and_say_why():
    result = trend(VECTOR[:7], lsl=90.0, usl=110.0)

    assert MIN_POINTS_FOR_LIMITS == 8
    assert result.chart.ucl is None
    assert result.chart.lcl is None
    assert result.chart.mr_ucl is None
    assert result.chart.center == pytest.approx(100.142857, abs=1e-6)
    assert result.chart.note == "Control limits are shown from 8 points on; this series has 7 points."
    assert result.signals == []
    assert result.as_dict()["ucl"] is None


def test_no_points_and_one_point_say_so():
    assert individuals_chart([]).note == "There are no points to chart yet."
    single = individuals_chart([100.0])
    assert single.center == 100.0
    assert single.sigma is None
    assert single.note == "Control limits are shown from 8 points on; this series has 1 point."


def test_equal_points_give_zero_spread_without_division_errors():
    result = trend([100.0] * 20, lsl=95.0, usl=105.0)

    assert result.chart.sigma == 0.0
    assert result.chart.ucl == 100.0
    assert result.chart.lcl == 100.0
    assert result.chart.note == (
        "All points are equal: the spread is zero, so the control limits equal the centre."
    )
    assert result.signals == []  # every point on the centre: no side, no step
    assert result.capability is None


@pytest.mark.parametrize("bad", [[100.0, float("nan")], [100.0, float("inf")]])
def test_values_that_are_not_finite_are_refused(bad):
    with pytest.raises(ValueError, match="finite number"):
        trend(bad)


def test_specification_limits_the_wrong_way_round_are_refused():
    with pytest.raises(ValueError, match="lower specification limit"):
        trend(TWENTY, lsl=105.0, usl=95.0)


# --- Nelson rules, one series each ---------------------------------------------------------


def test_rule_1_fires_on_the_point_beyond_the_limits_only():
    values = [100.0, 101.0, 99.0, 100.0, 101.0, 99.0, 112.0, 100.0, 101.0, 99.0, 100.0, 101.0]
    result = trend(values)

    # x̄ 101.08, MR̄ 37/11 = 3.3636, σ̂ 2.9819, UCL 110.03: only 112.0 lies beyond
    assert result.as_dict()["ucl"] == 110.03
    assert rules_and_indices(result.signals) == [(1, 6)]
    assert result.signals[0].description == "A point above the upper control limit (more than 3 sigma)."


def test_rule_2_fires_at_the_ninth_point_on_one_side():
    values = [98.0, 97.0, 98.0, 97.5, 98.0]
    values += [101.0, 102.0, 101.5, 102.0, 101.0, 101.5, 102.0, 101.0, 101.5]  # nine above, from 5
    values += [97.0, 98.0, 97.5]
    result = trend(values)

    assert result.as_dict()["center"] == 99.68
    assert rules_and_indices(result.signals) == [(2, 13)]
    assert result.signals[0].description == "Nine points in a row above the centre line."


def test_rule_3_fires_at_the_sixth_point_of_a_steady_rise():
    values = [100.0, 99.0, 101.0, 100.0]
    values += [98.0, 99.0, 100.0, 101.0, 102.0, 103.0]  # six rising points, from 4 to 9
    values += [101.0, 99.0, 100.0, 101.0, 100.0]
    result = trend(values)

    assert rules_and_indices(result.signals) == [(3, 9)]
    assert result.signals[0].description == "Six points in a row steadily increasing."


def test_rule_4_fires_at_the_fourteenth_alternating_point():
    values = [100.0, 102.0, 99.0, 101.0, 98.0, 102.0, 99.0, 101.0, 98.0, 102.0, 99.0, 101.0, 98.0, 102.0]
    values += [102.0, 100.0]  # an equal value ends the alternation
    result = trend(values)

    assert rules_and_indices(result.signals) == [(4, 13)]
    assert result.signals[0].description == "Fourteen points in a row alternating up and down."


def test_a_run_of_twelve_on_one_side_fires_rule_2_once_at_its_ninth_point():
    values = [98.5, 99.0, 98.5, 99.0]
    values += [101.0, 102.0, 101.5, 102.0, 101.0, 101.5, 102.0, 101.0, 101.5, 102.0, 101.5, 101.0]
    values += [98.5, 99.0, 98.5, 99.0]
    result = trend(values)

    # the run covers points 4 to 15; its ninth point is 12
    assert rules_and_indices(result.signals) == [(2, 12)]


# --- Nelson rules, edge choices (centre 0, sigma 1) ----------------------------------------


def test_a_new_run_after_a_point_on_the_centre_fires_again():
    values = [1.0] * 9 + [0.0] + [1.0] * 9

    assert rules_and_indices(signals(values, 0.0, 1.0)) == [(2, 8), (2, 18)]


def test_a_point_exactly_on_the_centre_breaks_a_run_of_one_side():
    values = [1.0] * 4 + [0.0] + [1.0] * 4

    assert signals(values, 0.0, 1.0) == []


def test_a_point_on_a_limit_is_inside():
    assert signals([3.0, -3.0, 3.01], 0.0, 1.0)[0].index == 2
    assert rules_and_indices(signals([3.0, -3.0, -3.01], 0.0, 1.0)) == [(1, 2)]


def test_an_equal_value_breaks_a_steady_rise():
    values = [-0.5, -0.3, -0.1, -0.1, 0.1, 0.3, 0.5]  # rises, but two equal values in the middle

    assert signals(values, 0.0, 1.0) == []


def test_a_rise_then_a_fall_are_two_runs_sharing_their_peak():
    values = [-0.5, -0.3, -0.1, 0.1, 0.3, 0.5, 0.3, 0.1, -0.1, -0.3, -0.5]

    found = signals(values, 0.0, 1.0)

    assert rules_and_indices(found) == [(3, 5), (3, 10)]
    assert found[1].description == "Six points in a row steadily decreasing."


def test_a_long_rise_fires_rule_3_once():
    values = [-0.9 + 0.2 * i for i in range(10)]  # ten rising points, sides −,−,…,+,+

    assert rules_and_indices(signals(values, 0.0, 1.0)) == [(3, 5)]


def test_an_equal_value_breaks_an_alternation():
    up_down = [0.5, -0.5] * 7  # fourteen alternating points
    broken = up_down[:7] + [up_down[6]] + up_down[7:]  # one value repeated at position 7

    assert rules_and_indices(signals(up_down, 0.0, 1.0)) == [(4, 13)]
    assert signals(broken, 0.0, 1.0) == []


def test_a_long_alternation_fires_rule_4_once():
    assert rules_and_indices(signals([0.5, -0.5] * 12, 0.0, 1.0)) == [(4, 13)]


def _naive_signals(values, centre, sigma):
    """Point-by-point reference of the rules, to check the vectorised scans against."""
    found = []
    side_run = rise_run = alt_run = 0
    for i, x in enumerate(values):
        if abs(x - centre) > 3 * sigma:
            found.append((1, i))
        side = (x > centre) - (x < centre)
        prev_side = (values[i - 1] > centre) - (values[i - 1] < centre) if i else 0
        side_run = 0 if side == 0 else (side_run + 1 if i and side == prev_side else 1)
        if side_run == 9:
            found.append((2, i))
        if i == 0:
            continue
        step = (x > values[i - 1]) - (x < values[i - 1])
        prev_step = (values[i - 1] > values[i - 2]) - (values[i - 1] < values[i - 2]) if i > 1 else 0
        rise_run = 0 if step == 0 else (rise_run + 1 if step == prev_step else 1)
        if rise_run == 5:
            found.append((3, i))
        alt_run = 0 if step == 0 else (alt_run + 1 if step == -prev_step else 1)
        if alt_run == 13:
            found.append((4, i))
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=-3, max_value=3), max_size=60))
def test_vectorised_rules_agree_with_a_point_by_point_reading(steps):
    values = [float(v) for v in steps]

    assert rules_and_indices(signals(values, 0.0, 0.9)) == _naive_signals(values, 0.0, 0.9)


# --- capability ----------------------------------------------------------------------------


def test_twenty_points_give_capability_with_bissell_interval():
    result = trend(TWENTY, lsl=95.0, usl=105.0)

    assert MIN_POINTS_FOR_CAPABILITY == 20
    assert result.signals == []
    cap = result.capability
    assert cap is not None
    # Cpk = 5 / (3 × 0.886525) = 1.880000; Ppk = 5 / (3 × 0.725476) = 2.297341
    assert cap.cpk == pytest.approx(1.88, abs=1e-6)
    assert cap.ppk == pytest.approx(2.297341, abs=1e-6)
    # Bissell: 1.96 × √(1/180 + 1.88² / 38) = 1.96 × √(0.005556 + 0.093011) = 0.615347
    assert cap.cpk_ci95[0] == pytest.approx(1.264653, abs=1e-6)
    assert cap.cpk_ci95[1] == pytest.approx(2.495347, abs=1e-6)
    assert result.as_dict()["capability"] == {"n": 20, "cpk": 1.88, "ppk": 2.3, "cpk_ci95": [1.26, 2.5]}


def test_nineteen_points_have_no_capability():
    assert trend(TWENTY[:19], lsl=95.0, usl=105.0).capability is None


def test_capability_needs_a_specification_limit():
    assert trend(TWENTY).capability is None


@pytest.mark.parametrize(
    ("lsl", "usl", "cpk"),
    [
        (None, 105.0, 1.88),  # (105 − 100) / 2.659574
        (97.0, None, 1.128),  # (100 − 97) / 2.659574
        (97.0, 105.0, 1.128),  # the nearer limit wins
    ],
)
def test_one_sided_capability_uses_the_limit_that_exists(lsl, usl, cpk):
    cap = capability(TWENTY, lsl, usl, 1.0 / 1.128)

    assert cap is not None
    assert cap.cpk == pytest.approx(cpk, abs=1e-6)


def test_capability_is_absent_when_sigma_is_zero():
    assert capability(TWENTY, 95.0, 105.0, 0.0) is None
    assert capability([100.0] * 20, 95.0, 105.0, 1.0) is None


# --- size -----------------------------------------------------------------------------------


def test_ten_thousand_points_are_trended():
    values = np.random.default_rng(20240501).normal(100.0, 1.0, 10_000)

    result = trend(values, lsl=95.0, usl=105.0)

    assert result.chart.n == 10_000
    assert result.chart.center == pytest.approx(100.0, abs=0.05)
    assert result.chart.sigma == pytest.approx(1.0, abs=0.05)
    assert result.capability is not None
    assert result.capability.n == 10_000
    assert all(math.isfinite(v) for v in result.capability.cpk_ci95)
    assert all(signal.rule in (1, 2, 3, 4) for signal in result.signals)


def test_equal_values_whose_mean_carries_binary_noise_raise_no_signal():
    # 27 × 3.1 averages to 3.0999999999999996: every point sits on the centre, none above it.
    values = [3.1] * 27
    result = trend(values)
    assert result.chart.sigma == 0.0
    assert result.signals == []
