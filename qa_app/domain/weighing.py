"""Balances (USP <41>): the minimum weight, the daily performance check, and the weighing gate.

Pure functions on numbers, computed in decimal so that a limit is met or missed as written
(domain.md §2.1).
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, Context, Decimal

from qa_app.domain.rounding import round_half_up

REPEATABILITY_FACTOR = Decimal(2000)
"""2 · s / m ≤ 0.10 % ⇒ m ≥ 2000 · s."""
READABILITY_FLOOR = Decimal("0.41")
"""When s < 0.41 · d, 0.41 · d is used instead: the minimum weight is never below 820 · d."""
CHECK_TOLERANCE_PERCENT = Decimal("0.10")
TEST_WEIGHT_MIN_FRACTION = Decimal("0.05")
"""The test weight of a performance check is 5–100 % of the capacity."""


def _exact(value: float | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def minimum_weight_mg(readability_mg: float, repeatability_sd_mg: float) -> Decimal:
    """USP <41>: 2000 × max(s, 0.41 d), to one decimal (mg), rounded UP: a rounded minimum is
    never below the true one, so no weighing it lets through has 2 s / m above 0.10 %.

    d 0.1 / s 0.05 → 100.0; d 0.1 / s 0.02 → 82.0; d 0.01 / s 0.003 → 8.2; d 0.1 / s 0.04102
    → 82.04, shown and used as 82.1.
    """
    d, s = _exact(readability_mg), _exact(repeatability_sd_mg)
    if d <= 0 or s <= 0:
        raise ValueError("readability and repeatability must be more than 0")
    exact = REPEATABILITY_FACTOR * max(s, READABILITY_FLOOR * d)
    return exact.quantize(Decimal("0.1"), rounding=ROUND_CEILING)


def capacity_mg(capacity_g: float) -> Decimal:
    return _exact(capacity_g) * 1000


@dataclass(frozen=True)
class PerformanceCheck:
    """A test weight read on a balance: the error and whether the check passes."""

    nominal_mg: Decimal
    observed_mg: Decimal
    error_percent: Decimal
    """(observed − nominal) / nominal × 100, to three decimals."""
    passed: bool
    reason: str | None


def check_weight_range_mg(capacity_g: float) -> tuple[Decimal, Decimal]:
    """The test weights a performance check may use: 5–100 % of the capacity, in mg."""
    top = capacity_mg(capacity_g)
    return (top * TEST_WEIGHT_MIN_FRACTION).normalize(), top.normalize()


def performance_check(nominal_mg: float, observed_mg: float, capacity_g: float) -> PerformanceCheck:
    """Passes when the test weight is 5–100 % of the capacity and reads within 0.10 % of its value."""
    nominal, observed = _exact(nominal_mg), _exact(observed_mg)
    if nominal <= 0 or observed < 0:
        raise ValueError("the test weight must be more than 0 and the reading not negative")
    error = (observed - nominal) / nominal * 100
    low, high = check_weight_range_mg(capacity_g)
    reason = None
    if not low <= nominal <= high:
        reason = (
            f"the test weight, {_mg(nominal)} mg, is outside 5–100 % of the capacity "
            f"({_mg(low)}–{_mg(high)} mg); use a test weight in that range"
        )
    elif abs(error) > CHECK_TOLERANCE_PERCENT:
        reason = (
            f"the balance read {_mg(observed)} mg for {_mg(nominal)} mg, an error of "
            f"{round_half_up(error, 3):+} %, beyond ±0.10 %; have the balance adjusted or serviced, "
            "then check it again"
        )
    return PerformanceCheck(nominal, observed, round_half_up(error, 3), reason is None, reason)


def _mg(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def mg_text(value: float | Decimal) -> str:
    """An amount in mg as written: 82.0, 8.2, 1010.1."""
    exact = _exact(value)
    places = max(1, -exact.normalize().as_tuple().exponent)  # type: ignore[operator]
    digits = Context(prec=max(28, exact.adjusted() + places + 2))  # 1e308 mg is written out too
    return format(exact.quantize(Decimal(1).scaleb(-places), context=digits), "f")


@dataclass(frozen=True)
class GateRefusal:
    """Why a weighing may not be made on a balance: the field at fault and what to do."""

    field: str
    message: str


def weighing_refusal(
    quantity_mg: float,
    balance_code: str,
    readability_mg: float,
    repeatability_sd_mg: float,
    capacity_g: float,
) -> GateRefusal | None:
    """A weighing below the balance's minimum weight or above its capacity, or None when it fits."""
    amount = _exact(quantity_mg)
    minimum = minimum_weight_mg(readability_mg, repeatability_sd_mg)
    if amount < minimum:
        return GateRefusal(
            "quantity_mg",
            f"{mg_text(amount)} mg is below the minimum weight of balance {balance_code} "
            f"({mg_text(minimum)} mg, USP <41>): weigh it on a balance with a lower minimum weight, "
            "or make the batch from a trituration",
        )
    top = capacity_mg(capacity_g)
    if amount > top:
        return GateRefusal(
            "quantity_mg",
            f"{mg_text(amount)} mg is above the capacity of balance {balance_code} "
            f"({mg_text(top / 1000)} g): weigh it on a balance with a larger capacity, or in parts",
        )
    return None
