"""Balance figures as the pages write them."""

from decimal import Decimal

from qa_app.domain import weighing


def plain(value: float | Decimal) -> str:
    """A figure as typed, without exponent or trailing zeros: 0.0001, 220, 0.003."""
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    text = format(exact.normalize(), "f")
    return text


def minimum_weight_explained(readability_mg: float, repeatability_sd_mg: float) -> str:
    """USP <41> worked out: 2000 × max(s, 0.41 d) = 2000 × max(0.003, 0.0041) = 8.2 mg."""
    floor = weighing.READABILITY_FLOOR * Decimal(repr(float(readability_mg)))
    minimum = weighing.minimum_weight_mg(readability_mg, repeatability_sd_mg)
    return (
        f"2000 × max(s, 0.41 d) = 2000 × max({plain(repeatability_sd_mg)}, {plain(floor)}) "
        f"= {weighing.mg_text(minimum)} mg"
    )
