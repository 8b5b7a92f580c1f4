from decimal import Decimal

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
