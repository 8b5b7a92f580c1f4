import json
import math
import statistics
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_app.domain.evaluation import (
    AttributeLimits,
    ContentUniformityLimits,
    Evaluation,
    RangeLimits,
    acceptance_value,
    acceptance_value_from_summary,
    evaluate_attribute,
    evaluate_content_uniformity,
    evaluate_range,
    reference_value,
)
from qa_app.domain.rounding import round_half_up

# domain.md §4.2 vectors
VECTOR_A = [98.0, 99.5, 101.2, 100.4, 97.8, 102.1, 99.9, 100.6, 98.7, 101.0]
VECTOR_B = [92.0, 95.5, 97.1, 94.8, 96.0, 93.3, 98.2, 95.0, 94.1, 96.6]
# Mean exactly 105.9 and sample SD exactly 5.0 (squared deviations sum to 225 = 9 * 25):
# the USP <905> FAQ example, as unit values.
FAQ_UNITS = [115.9, 95.9, 108.4, 103.4, 108.4, 103.4, 105.9, 105.9, 105.9, 105.9]
USP = ContentUniformityLimits()


def spread_around(mean):
    """Ten values with the given mean and a sample SD of exactly 5.0."""
    deviations = [10.0, -10.0, 2.5, -2.5, 2.5, -2.5, 0.0, 0.0, 0.0, 0.0]
    return [float(Decimal(repr(mean)) + Decimal(repr(d))) for d in deviations]


# --- content uniformity: published vectors -------------------------------------------------


@pytest.mark.parametrize(
    ("values", "mean", "sd", "m", "av"),
    [
        (VECTOR_A, 99.92, 1.41798, 99.92, "3.4"),
        (VECTOR_B, 95.26, 1.84162, 98.5, "7.7"),
    ],
)
def test_acceptance_value_matches_the_domain_vectors(values, mean, sd, m, av):
    stats = acceptance_value(values)

    assert stats.n == 10
    assert stats.k == 2.4
    assert stats.mean == pytest.approx(mean, abs=1e-9)
    assert stats.sd == pytest.approx(sd, abs=5e-6)
    assert stats.m == pytest.approx(m, abs=1e-9)
    assert stats.av_reported == Decimal(av)


@pytest.mark.parametrize(("values", "av"), [(VECTOR_A, 3.4), (VECTOR_B, 7.7)])
def test_domain_vectors_pass_at_stage_1(values, av):
    evaluation = evaluate_content_uniformity(values, None, USP)

    assert evaluation.status == "pass"
    assert evaluation.details["av"] == av
    assert evaluation.details["stage"] == 1
    assert evaluation.details["n"] == 10


def test_vector_a_uses_the_sample_sd_not_the_population_sd():
    population_sd = statistics.pstdev(VECTOR_A)
    assert round_half_up(2.4 * population_sd, 1) == Decimal("3.2")

    stats = acceptance_value(VECTOR_A)

    assert stats.av_reported == Decimal("3.4")
    assert stats.av_reported != Decimal("3.2")


def test_vector_a_details_carry_raw_and_reported_numbers():
    details = evaluate_content_uniformity(VECTOR_A, None, USP).details

    assert details["mean"] == pytest.approx(99.92, abs=1e-9)
    assert details["mean_reported"] == "99.92"
    assert details["sd"] == pytest.approx(1.41798, abs=5e-6)
    assert details["sd_reported"] == "1.42"
    assert details["m"] == pytest.approx(99.92, abs=1e-9)
    assert details["k"] == 2.4
    assert details["av"] == 3.4
    assert details["av_reported"] == "3.4"


def test_usp_faq_check_from_its_summary():
    stats = acceptance_value_from_summary(mean=105.9, sd=5.0, n=10, target=100.0)

    assert stats.m == 101.5
    assert stats.av_reported == Decimal("16.4")


def test_usp_faq_check_from_unit_values_needs_more_units():
    stats = acceptance_value(FAQ_UNITS)
    evaluation = evaluate_content_uniformity(FAQ_UNITS, None, USP)

    assert stats.mean == pytest.approx(105.9, abs=1e-9)
    assert stats.sd == pytest.approx(5.0, abs=1e-9)
    assert stats.m == 101.5
    assert evaluation.status == "more_units_required"
    assert evaluation.details["av"] == 16.4
    assert "20 more units" in evaluation.message


# --- content uniformity: reference value M --------------------------------------------------


@pytest.mark.parametrize(
    ("mean", "target", "m"),
    [
        (99.0, 100.0, 99.0),
        (98.5, 100.0, 98.5),
        (101.5, 100.0, 101.5),
        (97.0, 100.0, 98.5),
        (103.0, 100.0, 101.5),
        (101.8, 102.0, 101.8),
        (103.0, 102.0, 102.0),
        (98.0, 102.0, 98.5),
        (102.0, 102.0, 102.0),
    ],
)
def test_reference_value(mean, target, m):
    assert reference_value(mean, target) == m


@pytest.mark.parametrize(
    ("mean", "target", "m", "av"),
    [
        (101.8, 102.0, 101.8, "12.0"),
        (101.8, 100.0, 101.5, "12.3"),
        (103.0, 102.0, 102.0, "13.0"),
        (103.0, 100.0, 101.5, "13.5"),
    ],
)
def test_target_above_101_5_moves_the_upper_reference(mean, target, m, av):
    stats = acceptance_value(spread_around(mean), target=target)

    assert stats.sd == pytest.approx(5.0, abs=1e-9)
    assert stats.m == pytest.approx(m, abs=1e-9)
    assert stats.av_reported == Decimal(av)


# --- content uniformity: AV rounding at L1 ---------------------------------------------------


@pytest.mark.parametrize(
    ("mean", "sd", "av", "status"),
    [
        (97.5, 5.85, "15.0", "pass"),  # raw AV 1.0 + 14.04 = 15.04
        (97.49, 5.85, "15.1", "more_units_required"),  # raw AV 1.01 + 14.04 = 15.05
    ],
)
def test_av_is_rounded_half_up_to_one_decimal_before_comparing(mean, sd, av, status):
    stats = acceptance_value_from_summary(mean, sd, 10)

    assert stats.av_reported == Decimal(av)
    assert (stats.av_reported <= Decimal("15.0")) == (status == "pass")


@pytest.mark.parametrize(
    ("mean", "av", "status"),
    [
        (95.46, 15.0, "pass"),  # AV = 3.04 + 2.4 * 5.0 = 15.04
        (95.45, 15.1, "more_units_required"),  # AV = 3.05 + 2.4 * 5.0 = 15.05
    ],
)
def test_av_boundary_end_to_end(mean, av, status):
    values = spread_around(mean)
    evaluation = evaluate_content_uniformity(values, None, USP)

    assert evaluation.status == status
    assert evaluation.details["av"] == av


def test_a_true_15_05_is_not_lost_to_binary_noise():
    stats = acceptance_value(spread_around(95.45))

    assert stats.av == pytest.approx(15.05, abs=1e-9)
    assert stats.av_reported == Decimal("15.1")


# --- content uniformity: stage 2 -------------------------------------------------------------


def test_stage_2_passes_with_30_good_units():
    evaluation = evaluate_content_uniformity(VECTOR_A, VECTOR_A + VECTOR_A, USP)

    assert evaluation.status == "pass"
    assert evaluation.details["stage"] == 2
    assert evaluation.details["n"] == 30
    assert evaluation.details["k"] == 2.0
    assert evaluation.details["av"] == 2.7
    assert evaluation.details["l2_low"] == 74.94
    assert evaluation.details["l2_high"] == 124.9
    assert evaluation.details["units_outside"] == []


def test_stage_2_of_the_faq_batch_uses_the_m_of_all_30_units():
    evaluation = evaluate_content_uniformity(FAQ_UNITS, [105.9] * 20, USP)

    assert evaluation.status == "pass"
    assert evaluation.details["m"] == 101.5
    assert evaluation.details["av"] == 10.0
    assert evaluation.details["l2_low"] == 76.125
    assert evaluation.details["l2_high"] == 126.875
    assert "76.125\u2013126.875 %" in evaluation.message


def test_stage_2_fails_on_one_unit_outside_l2_even_with_a_good_av():
    evaluation = evaluate_content_uniformity(FAQ_UNITS, [100.0] * 19 + [75.5], USP)

    assert evaluation.details["av"] == 12.5
    assert evaluation.details["m"] == pytest.approx(101.15, abs=1e-9)
    assert evaluation.details["l2_low"] == 75.8625
    assert evaluation.details["units_outside"] == [30]
    assert evaluation.status == "fail"
    assert "unit 30 (75.5)" in evaluation.message
    assert "AV" not in evaluation.message.split(":", 1)[1]


def test_the_same_batch_passes_without_that_unit():
    evaluation = evaluate_content_uniformity(FAQ_UNITS, [100.0] * 20, USP)

    assert evaluation.status == "pass"
    assert evaluation.details["av"] == 8.4


def test_stage_2_fails_on_av_above_l1_though_below_l2():
    # An AV of 20.8 would "pass" a calculator that wrongly reads L2 = 25.0 as an AV limit.
    evaluation = evaluate_content_uniformity(FAQ_UNITS, [90.0] * 10 + [112.0] * 10, USP)

    assert evaluation.status == "fail"
    assert evaluation.details["av"] == 20.8
    assert evaluation.details["units_outside"] == []
    assert "AV 20.8 exceeds L1 15.0" in evaluation.message


def test_stage_2_failing_both_ways_says_both():
    evaluation = evaluate_content_uniformity(FAQ_UNITS, [90.0] * 10 + [112.0] * 9 + [70.0], USP)

    assert evaluation.status == "fail"
    assert evaluation.details["av"] == 22.7
    assert evaluation.details["units_outside"] == [30]
    assert "AV 22.7 exceeds L1 15.0" in evaluation.message
    assert "unit 30 (70.0)" in evaluation.message


@pytest.mark.parametrize(
    ("unit", "status", "outside"),
    [(73.875, "pass", []), (73.87, "fail", [10])],
)
def test_l2_unit_range_is_inclusive(unit, status, outside):
    # Mean 96.2 < 98.5, so M = 98.5 and the unit range is 73.875-123.125 exactly.
    stage1 = [97.0] * 9 + [unit]
    assert evaluate_content_uniformity(stage1, None, USP).status == "more_units_required"

    evaluation = evaluate_content_uniformity(stage1, [97.0] * 20, USP)

    assert evaluation.details["m"] == 98.5
    assert evaluation.details["l2_low"] == 73.875
    assert evaluation.details["av"] == 10.7
    assert evaluation.details["units_outside"] == outside
    assert evaluation.status == status


def test_stage_2_lists_every_unit_outside_by_its_position():
    stage2 = [100.0] * 20
    stage2[3] = 130.0
    stage2[17] = 72.0
    evaluation = evaluate_content_uniformity([100.0] * 10, stage2, USP)

    assert evaluation.details["units_outside"] == [14, 28]
    assert "units 14 (130.0), 28 (72.0)" in evaluation.message


# --- content uniformity: refused input -------------------------------------------------------


@pytest.mark.parametrize(
    ("stage1", "stage2", "message"),
    [
        (
            [100.0] * 7,
            None,
            "content uniformity needs exactly 10 values at stage 1, got 7",
        ),
        (
            [100.0] * 11,
            None,
            "content uniformity needs exactly 10 values at stage 1, got 11",
        ),
        (
            [100.0] * 10,
            [100.0] * 19,
            "content uniformity needs exactly 20 more values at stage 2, got 19",
        ),
        (
            [100.0] * 10,
            [100.0] * 30,
            "content uniformity needs exactly 20 more values at stage 2, got 30",
        ),
        ([100.0] * 9 + [math.nan], None, "unit 10 is not"),
        ([100.0] * 10, [math.inf] + [100.0] * 19, "unit 1 is not"),
    ],
)
def test_wrong_counts_and_non_finite_values_are_refused(stage1, stage2, message):
    with pytest.raises(ValueError, match=message):
        evaluate_content_uniformity(stage1, stage2, USP)


@pytest.mark.parametrize("n", [9, 20, 31])
def test_acceptance_value_only_for_10_or_30_units(n):
    with pytest.raises(ValueError, match=f"10 or 30 units, got {n}"):
        acceptance_value([100.0] * n)


def test_content_uniformity_evaluation_is_json_friendly():
    evaluation = evaluate_content_uniformity(FAQ_UNITS, [100.0] * 19 + [75.5], USP)
    as_dict = evaluation.as_dict()

    keys = list(as_dict)
    assert keys[0] == "status"
    assert keys[-1] == "message"
    for key in ("mean", "sd", "m", "av", "stage", "n", "k", "l2_low", "l2_high"):
        assert key in as_dict
    assert json.loads(json.dumps(as_dict)) == as_dict


# --- content uniformity: properties ----------------------------------------------------------

unit_content = st.floats(min_value=50.0, max_value=150.0, allow_nan=False, allow_infinity=False)
ten_or_thirty_units = st.one_of(
    st.lists(unit_content, min_size=10, max_size=10),
    st.lists(unit_content, min_size=30, max_size=30),
)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), values=ten_or_thirty_units)
def test_unit_order_does_not_change_the_av(data, values):
    shuffled = data.draw(st.permutations(values))

    assert acceptance_value(shuffled) == acceptance_value(values)


@settings(max_examples=200, deadline=None)
@given(values=ten_or_thirty_units)
def test_av_is_at_least_k_times_s(values):
    stats = acceptance_value(values)

    assert stats.av >= stats.k * stats.sd


@settings(max_examples=200, deadline=None)
@given(
    deviations=st.lists(st.floats(min_value=-20.0, max_value=20.0), min_size=10, max_size=10),
    mean=st.floats(min_value=98.5, max_value=101.5),
    other_mean=st.floats(min_value=98.5, max_value=101.5),
)
def test_shifting_units_within_98_5_to_101_5_leaves_the_av_unchanged(deviations, mean, other_mean):
    centre = math.fsum(deviations) / len(deviations)
    values = [d - centre + mean for d in deviations]
    shifted = [x + (other_mean - mean) for x in values]

    assert acceptance_value(shifted).av == pytest.approx(acceptance_value(values).av, abs=1e-9)


# --- range tests -----------------------------------------------------------------------------

ASSAY = RangeLimits(min=90.0, max=110.0, decimals=1)


@pytest.mark.parametrize(
    ("value", "reported", "status"),
    [
        (89.95, "90.0", "pass"),
        (89.94, "89.9", "fail"),
        (90.0, "90.0", "pass"),
        (110.0, "110.0", "pass"),
        (110.04, "110.0", "pass"),
        (110.05, "110.1", "fail"),
        (100.0, "100.0", "pass"),
    ],
)
def test_assay_is_rounded_half_up_then_compared_inclusively(value, reported, status):
    evaluation = evaluate_range(value, ASSAY)

    assert evaluation.status == status
    assert evaluation.details["reported"] == reported
    assert evaluation.details["value"] == float(reported)
    assert evaluation.details["min"] == 90.0
    assert evaluation.details["max"] == 110.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (89.94, "Assay 89.9 % is below the lower limit 90.0 %"),
        (110.05, "Assay 110.1 % is above the upper limit 110.0 %"),
        (89.95, "Assay 90.0 % is within 90.0\u2013110.0 %"),
    ],
)
def test_range_messages_name_the_result_and_the_limit(value, message):
    assert evaluate_range(value, ASSAY, label="Assay", unit="%").message == message


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (89.9, "fail"),
        (94.9, "warning"),
        (94.95, "pass"),
        (95.0, "pass"),
        (105.04, "pass"),
        (105.05, "warning"),
        (110.1, "fail"),
    ],
)
def test_warning_band_flags_passing_values_near_the_limits(value, status):
    limits = RangeLimits(min=90.0, max=110.0, decimals=1, warn_min=95.0, warn_max=105.0)

    assert evaluate_range(value, limits).status == status


def test_warning_message_says_which_warning_limit():
    limits = RangeLimits(min=90.0, max=110.0, warn_min=95.0, warn_max=105.0)
    evaluation = evaluate_range(94.9, limits, label="Assay", unit="%")

    assert evaluation.message == (
        "Assay 94.9 % is within 90.0\u2013110.0 % but below the warning limit 95.0 %"
    )
    assert evaluation.details["warn_min"] == 95.0


@pytest.mark.parametrize(
    ("value", "reported", "status"),
    [
        (4.495, "4.50", "pass"),
        (4.494, "4.49", "fail"),
        (5.5, "5.50", "pass"),
        (5.505, "5.51", "fail"),
    ],
)
def test_two_decimals(value, reported, status):
    evaluation = evaluate_range(value, RangeLimits(min=4.5, max=5.5, decimals=2))

    assert evaluation.details["reported"] == reported
    assert evaluation.status == status


@pytest.mark.parametrize(("value", "status"), [(10.04, "pass"), (10.05, "fail")])
def test_one_sided_limit(value, status):
    assert evaluate_range(value, RangeLimits(min=None, max=10.0)).status == status


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min": None, "max": None}, "needs a lower limit, an upper limit or both"),
        ({"min": 110.0, "max": 90.0}, "lower limit must not exceed the upper limit"),
        ({"min": 90.0, "max": 110.0, "decimals": -1}, "decimals must be zero or more"),
        ({"min": math.nan, "max": 110.0}, "min must be a finite number"),
        (
            {"min": 90.0, "max": 110.0, "warn_min": 105.0, "warn_max": 95.0},
            "lower warning limit must not exceed",
        ),
    ],
)
def test_inconsistent_range_limits_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RangeLimits(**kwargs)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_range_value_is_refused(value):
    with pytest.raises(ValueError, match="finite"):
        evaluate_range(value, ASSAY)


# --- attribute tests -------------------------------------------------------------------------

APPEARANCE = AttributeLimits(expected="White opaque capsule")


@pytest.mark.parametrize(
    ("observed", "status"),
    [
        ("White opaque capsule", "pass"),
        ("  white OPAQUE capsule ", "pass"),
        ("pass", "pass"),
        ("Conforms", "pass"),
        (" COMPLIES ", "pass"),
        ("Yellow opaque capsule", "fail"),
        ("White capsule", "fail"),
        ("does not conform", "fail"),
        ("fail", "fail"),
    ],
)
def test_attribute(observed, status):
    evaluation = evaluate_attribute(observed, APPEARANCE)

    assert evaluation.status == status
    assert evaluation.details == {"observed": observed, "expected": "White opaque capsule"}


def test_attribute_failure_message_shows_both_texts():
    evaluation = evaluate_attribute("Yellow capsule", APPEARANCE, label="Appearance")

    assert evaluation.message == (
        "Appearance 'Yellow capsule' does not match the expected 'White opaque capsule'"
    )


def test_empty_attribute_result_is_refused():
    with pytest.raises(ValueError, match="needs the observed text"):
        evaluate_attribute("   ", APPEARANCE)


# --- the evaluation shape --------------------------------------------------------------------


def test_as_dict_puts_status_first_and_message_last():
    evaluation = Evaluation("pass", {"value": 100.0}, "fine")

    assert evaluation.as_dict() == {"status": "pass", "value": 100.0, "message": "fine"}


def test_unknown_status_is_refused():
    with pytest.raises(ValueError, match="unknown evaluation status 'ok'"):
        Evaluation("ok", {}, "")


# --- computed values carry binary noise: the range test drops it as content uniformity does --


@pytest.mark.parametrize(
    ("peak_ratio", "reported", "status"),
    [
        # 0.8804 / 0.8 × 100 is 110.05 on paper and 110.04999999999998 in binary floating point.
        (0.8804 / 0.8, "110.1", "fail"),
        # 100.95 on paper, 100.94999999999999 as a float.
        (0.8076 / 0.8, "101.0", "pass"),
        # 108.05 on paper, 108.04999999999998 as a float.
        (0.8644 / 0.8, "108.1", "pass"),
        # 110.0 on paper, 109.99999999999999 as a float.
        (0.99 / 0.9, "110.0", "pass"),
    ],
    ids=["110.05 fails", "100.95", "108.05", "110.0"],
)
def test_a_computed_assay_is_rounded_as_written_on_paper(peak_ratio, reported, status):
    evaluation = evaluate_range(peak_ratio * 100, ASSAY, label="Assay", unit="%")

    assert evaluation.details["reported"] == reported
    assert evaluation.status == status


def test_a_computed_110_05_is_reported_above_the_limit():
    evaluation = evaluate_range(0.8804 / 0.8 * 100, ASSAY, label="Assay", unit="%")

    assert evaluation.message == "Assay 110.1 % is above the upper limit 110.0 %"
    assert evaluation.details["value"] == 110.1


@pytest.mark.parametrize(
    ("value", "reported", "status"),
    [
        (np.float64(89.95), "90.0", "pass"),
        (np.float64(89.94), "89.9", "fail"),
        (np.float64(0.8804) / np.float64(0.8) * 100, "110.1", "fail"),
        (np.float32(89.95), "90.0", "pass"),
        (np.int64(110), "110.0", "pass"),
    ],
    ids=["float64 89.95", "float64 89.94", "float64 computed 110.05", "float32 89.95", "int64 110"],
)
def test_numpy_numbers_are_judged_like_python_numbers(value, reported, status):
    evaluation = evaluate_range(value, ASSAY)

    assert evaluation.details["reported"] == reported
    assert evaluation.status == status
    assert type(evaluation.details["value"]) is float
    json.dumps(evaluation.as_dict())


def test_numpy_limits_and_summaries_are_accepted():
    limits = RangeLimits(min=np.float64(90.0), max=np.float64(110.0), decimals=1)
    assert evaluate_range(np.float64(89.95), limits).status == "pass"

    stats = acceptance_value_from_summary(np.float64(105.9), np.float64(5.0), 10)
    assert (stats.av_reported, type(stats.av), type(stats.mean)) == (Decimal("16.4"), float, float)
