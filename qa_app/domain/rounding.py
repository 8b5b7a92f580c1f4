"""Rounding of reported values (USP General Notices: round half up, then compare)."""

from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np


def round_half_up(value: float | str | Decimal | np.number, decimals: int) -> Decimal:
    """Round ``value`` half up to ``decimals`` places.

    Python's ``round`` rounds half to even and works on binary floats, so ``round(2.675, 2)``
    gives 2.67; a reported pharmaceutical value must be 2.68. A float is read through its
    shortest decimal representation so that 2.675 is treated as written (89.95, stored as
    89.9500000000000028…, rounds to 90.0 because it is read as 89.95, not because of the tail).
    NumPy numbers are read the same way at their own precision, so ``np.float64(89.95)`` and
    ``np.float32(89.95)`` both give 90.0. The helper rounds what it is given: dropping the
    binary noise of a *computed* number is the evaluation's job (see ``evaluation._reported``).
    """
    if decimals < 0:
        raise ValueError("decimals must be zero or more")
    if isinstance(value, bool | np.bool_):
        raise TypeError("a truth value is not a number to round")
    exact = value if isinstance(value, Decimal) else Decimal(_shortest(value))
    if not exact.is_finite():
        raise ValueError("only a finite number can be rounded")
    with localcontext() as context:  # enough digits for any float: 28 cannot hold 1e18 to 10 places
        context.prec = max(context.prec, exact.adjusted() + decimals + 2)
        return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _shortest(value: object) -> str:
    """The shortest decimal text that reads back as ``value`` (``repr`` of a float)."""
    if isinstance(value, float):  # np.float64 too: its own repr is "np.float64(…)"
        return repr(float(value))
    if isinstance(value, np.floating):  # float32, float16: shortest at their own precision
        return np.format_float_positional(value, unique=True, trim="-")
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)
