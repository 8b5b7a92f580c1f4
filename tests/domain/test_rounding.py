from decimal import Decimal

import numpy as np
import pytest

from qa_app.domain.rounding import round_half_up


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (2.675, 2, "2.68"),
        (89.95, 1, "90.0"),
        (110.05, 1, "110.1"),
        (16.35, 1, "16.4"),
        (0.5, 0, "1"),
        (2.5, 0, "3"),
        (-1.25, 1, "-1.3"),
        (99.949, 1, "99.9"),
        (7, 1, "7.0"),
    ],
)
def test_round_half_up_rounds_halves_away_from_zero(value, decimals, expected):
    assert round_half_up(value, decimals) == Decimal(expected)


def test_negative_decimals_are_refused():
    with pytest.raises(ValueError):
        round_half_up(1.0, -1)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        # A float is read as its shortest decimal form: 89.95 is stored as 89.9500000000000028…
        # and 110.05 as 110.0499999999999971…; both are taken as written.
        (np.float64(89.95), 1, "90.0"),
        (np.float64(110.05), 1, "110.1"),
        (np.float64(2.675), 2, "2.68"),
        (np.float64(-1.25), 1, "-1.3"),
        (np.float32(89.95), 1, "90.0"),
        (np.float32(16.35), 1, "16.4"),
        (np.int64(7), 1, "7.0"),
    ],
    ids=[
        "float64 89.95",
        "float64 110.05",
        "float64 2.675",
        "float64 -1.25",
        "float32 89.95",
        "float32 16.35",
        "int64 7",
    ],
)
def test_numpy_numbers_round_like_the_numbers_they_print_as(value, decimals, expected):
    assert round_half_up(value, decimals) == Decimal(expected)


def test_the_helper_rounds_exactly_what_it_is_given():
    # The helper does not guess: a computed 110.04999999999998 is below the half. The evaluation
    # first drops binary noise (10 decimals) before it reports, as content uniformity does.
    assert round_half_up(0.8804 / 0.8 * 100, 1) == Decimal("110.0")
    assert round_half_up(Decimal("89.9500000000000028421709430404007434844970703125"), 1) == Decimal("90.0")


@pytest.mark.parametrize("value", [True, None, "abc", np.float64("nan")])
def test_what_is_not_a_number_is_refused(value):
    with pytest.raises((ValueError, TypeError, ArithmeticError)):
        round_half_up(value, 1)
