"""Rounding of reported values (USP General Notices: round half up, then compare)."""

from decimal import ROUND_HALF_UP, Decimal, localcontext


def round_half_up(value: float | str | Decimal, decimals: int) -> Decimal:
    """Round ``value`` half up to ``decimals`` places.

    Python's ``round`` rounds half to even and works on binary floats, so ``round(2.675, 2)``
    gives 2.67; a reported pharmaceutical value must be 2.68. The value is read through its
    shortest decimal representation (``repr``) so that 2.675 is treated as written.
    """
    if decimals < 0:
        raise ValueError("decimals must be zero or more")
    exact = (
        value
        if isinstance(value, Decimal)
        else Decimal(repr(value) if isinstance(value, float) else str(value))
    )
    with localcontext() as context:  # enough digits for any float: 28 cannot hold 1e18 to 10 places
        context.prec = max(context.prec, exact.adjusted() + decimals + 2)
        return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
