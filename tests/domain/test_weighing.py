"""Balances (USP <41>): the minimum weight, the daily performance check and the weighing gate."""

from decimal import Decimal

import pytest

from qa_app.domain.weighing import (
    check_weight_range_mg,
    mg_text,
    minimum_weight_mg,
    performance_check,
    weighing_refusal,
)

# --- the minimum weight: 2000 × max(s, 0.41 d) --------------------------------------------------


@pytest.mark.parametrize(
    ("readability_mg", "repeatability_sd_mg", "minimum"),
    [
        (0.1, 0.05, "100.0"),  # 2000 × 0.05
        (0.1, 0.02, "82.0"),  # s = 0.02 is below 0.41 × 0.1 = 0.041: 2000 × 0.041
        (0.01, 0.003, "8.2"),  # s = 0.003 is below 0.41 × 0.01 = 0.0041: 2000 × 0.0041
        (0.0001, 0.0001, "0.2"),  # an ultra-micro balance
        (1.0, 0.5, "1000.0"),
    ],
)
def test_the_minimum_weight_follows_usp_41(readability_mg, repeatability_sd_mg, minimum):
    assert minimum_weight_mg(readability_mg, repeatability_sd_mg) == Decimal(minimum)


@pytest.mark.parametrize("repeatability_sd_mg", [0.001, 0.01, 0.02, 0.04])
def test_a_repeatability_below_0_41_readability_uses_0_41_readability(repeatability_sd_mg):
    """However good the repeatability, the minimum weight is never below 820 × d = 82.0 mg at d 0.1."""
    assert minimum_weight_mg(0.1, repeatability_sd_mg) == Decimal("82.0")


def test_a_repeatability_just_above_0_41_readability_counts_itself():
    assert minimum_weight_mg(0.1, 0.042) == Decimal("84.0")


@pytest.mark.parametrize(("readability_mg", "repeatability_sd_mg"), [(0, 0.05), (0.1, 0), (-0.1, 0.05)])
def test_a_balance_needs_a_readability_and_repeatability_above_zero(readability_mg, repeatability_sd_mg):
    with pytest.raises(ValueError, match="more than 0"):
        minimum_weight_mg(readability_mg, repeatability_sd_mg)


# --- the daily performance check: a test weight of 5–100 % of the capacity, within 0.10 % ----------


def test_the_test_weights_of_a_220_g_balance_are_11000_to_220000_mg():
    assert check_weight_range_mg(220.0) == (Decimal("11000"), Decimal("220000"))


@pytest.mark.parametrize(
    ("observed_mg", "error"), [(100100.0, "0.100"), (99900.0, "-0.100"), (100000.0, "0.000")]
)
def test_a_reading_within_exactly_0_10_percent_passes(observed_mg, error):
    check = performance_check(100000.0, observed_mg, 220.0)
    assert (check.passed, check.error_percent, check.reason) == (True, Decimal(error), None)


def test_a_reading_0_101_percent_high_fails_and_says_what_to_do():
    check = performance_check(100000.0, 100101.0, 220.0)
    assert (check.passed, check.error_percent) == (False, Decimal("0.101"))
    assert check.reason == (
        "the balance read 100101 mg for 100000 mg, an error of +0.101 %, beyond ±0.10 %; "
        "have the balance adjusted or serviced, then check it again"
    )


def test_a_reading_0_101_percent_low_fails():
    check = performance_check(100000.0, 99899.0, 220.0)
    assert (check.passed, check.error_percent) == (False, Decimal("-0.101"))
    assert "an error of -0.101 %, beyond ±0.10 %" in check.reason


def test_a_test_weight_of_4_9_percent_of_the_capacity_fails_with_the_range_to_use():
    check = performance_check(10780.0, 10780.0, 220.0)  # 4.9 % of 220 g
    assert check.passed is False
    assert check.reason == (
        "the test weight, 10780 mg, is outside 5–100 % of the capacity (11000–220000 mg); "
        "use a test weight in that range"
    )


@pytest.mark.parametrize("nominal_mg", [11000.0, 220000.0])  # 5 % and 100 % of 220 g
def test_a_test_weight_of_5_or_100_percent_of_the_capacity_passes(nominal_mg):
    assert performance_check(nominal_mg, nominal_mg, 220.0).passed is True


def test_a_test_weight_above_the_capacity_fails():
    check = performance_check(220001.0, 220001.0, 220.0)
    assert check.passed is False
    assert check.reason.startswith("the test weight, 220001 mg, is outside 5–100 % of the capacity")


# --- the weighing gate: at least the minimum weight, at most the capacity --------------------------


def test_an_amount_below_the_minimum_weight_is_refused_naming_the_minimum_and_a_trituration():
    refusal = weighing_refusal(50.0, "PB3002", 0.1, 0.05, 3100.0)
    assert refusal is not None
    assert refusal.field == "quantity_mg"
    assert refusal.message == (
        "50.0 mg is below the minimum weight of balance PB3002 (100.0 mg, USP <41>): "
        "weigh it on a balance with a lower minimum weight, or make the batch from a trituration"
    )


def test_8_1_mg_on_a_balance_with_a_minimum_of_8_2_mg_is_refused():
    refusal = weighing_refusal(8.1, "XS205", 0.01, 0.003, 220.0)
    assert refusal is not None
    assert refusal.message.startswith(
        "8.1 mg is below the minimum weight of balance XS205 (8.2 mg, USP <41>)"
    )


def test_an_amount_above_the_capacity_is_refused():
    refusal = weighing_refusal(230000.0, "XS205", 0.01, 0.003, 220.0)
    assert refusal is not None
    assert refusal.field == "quantity_mg"
    assert refusal.message == (
        "230000.0 mg is above the capacity of balance XS205 (220.0 g): "
        "weigh it on a balance with a larger capacity, or in parts"
    )


@pytest.mark.parametrize("quantity_mg", [8.2, 151.52, 220000.0])
def test_the_minimum_weight_and_the_capacity_themselves_may_be_weighed(quantity_mg):
    assert weighing_refusal(quantity_mg, "XS205", 0.01, 0.003, 220.0) is None


@pytest.mark.parametrize(
    ("value", "written"), [(82, "82.0"), (Decimal("8.2"), "8.2"), (1010.1, "1010.1"), (0.25, "0.25")]
)
def test_amounts_are_written_with_at_least_one_decimal(value, written):
    assert mg_text(value) == written


@pytest.mark.parametrize("quantity_mg", [1e308, 1e30])
def test_an_absurd_amount_is_refused_as_above_the_capacity(quantity_mg):
    refusal = weighing_refusal(quantity_mg, "XS205", 0.01, 0.003, 220.0)
    assert refusal is not None
    assert refusal.field == "quantity_mg"
    assert "is above the capacity of balance XS205 (220.0 g)" in refusal.message
