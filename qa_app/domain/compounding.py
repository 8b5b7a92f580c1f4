"""Numbers of a compounded LDN batch: dose guard, API and filler, weighings, yield, BUD (domain.md §1–3).

The batch page, the API and the compounding record all take their numbers from here, so a
reviewer sees one calculation wherever they look and can redo it by hand from its explanation.
Raw values are kept as floats; reported values are rounded half up with ``decimal``
(:func:`qa_app.domain.rounding.round_half_up`) and it is the reported value that is compared
with a limit. Invalid input raises :class:`CompoundingError`, which names the API field at fault
so a service can answer 400 with ``fields``.
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from qa_app.domain.rounding import round_half_up

DosageForm = Literal["capsule", "oral_liquid", "sublingual_drops", "cream"]
DOSAGE_FORMS: tuple[str, ...] = ("capsule", "oral_liquid", "sublingual_drops", "cream")

STRENGTH_MIN_MG = 0.5
STRENGTH_MAX_MG = 4.5
"""The LDN dose range, inclusive (domain.md §1 decision: strength guard)."""

MAX_QUANTITY = 100_000
"""Largest batch: units for capsules, mL for liquids and drops, g for creams (api.md)."""

MG_DECIMALS = 2
PERCENT_DECIMALS = 2
SD_DECIMALS = 3
YIELD_DECIMALS = 1

DEFAULT_WEIGHING_TOLERANCE_PERCENT = 2.0
WEIGHT_CHECK_MIN_UNITS = 10
WEIGHT_CHECK_LOW_PERCENT = 90
WEIGHT_CHECK_HIGH_PERCENT = 110
WEIGHT_CHECK_MAX_MG = 10_000.0  # ten grams: far above any capsule's content, far below overflow
YIELD_LOW_PERCENT = 95
YIELD_HIGH_PERCENT = 105

BUD_MAX_DAYS = 180
"""Never more than 180 days, whatever the study (domain.md §3 decision)."""

BUD_CATEGORIES: dict[str, int] = {
    "aqueous_nonpreserved": 14,
    "aqueous_preserved": 35,
    "nonaqueous_oral_liquid": 90,
    "nonaqueous_other": 180,
}
BUD_LABELS: dict[str, str] = {
    "aqueous_nonpreserved": "aqueous (not preserved)",
    "aqueous_preserved": "aqueous (preserved)",
    "nonaqueous_oral_liquid": "nonaqueous oral liquid",
    "nonaqueous_other": "nonaqueous (other)",
}

# Decimals kept before a computed number is rounded or compared: far finer than any weighing,
# far coarser than binary noise, so 1.1 × 3 = 3.3000000000000003 counts as the 3.3 it is.
_NOISE_DECIMALS = 10
_LARGE = 15  # from 10**15 up no amount is real: such a number is written as it came (1e+308)

# Per dosage form: the unit of ``quantity``, the API field of the concentration and of the dose
# amount, and the unit of the concentration.
_QUANTITY_UNITS: dict[str, str] = {
    "capsule": "capsules",
    "oral_liquid": "mL",
    "sublingual_drops": "mL",
    "cream": "g",
    "trituration": "mg",
}
TRITURATION_MAX_MG = 1_000_000
"""Largest trituration: one kilogram of stock dilution, in mg."""
TRITURATION_MAX_PERCENT = 50.0
_DOSE_FIELDS: dict[str, tuple[str, str]] = {
    "oral_liquid": ("concentration_mg_per_ml", "dose_volume_ml"),
    "sublingual_drops": ("concentration_mg_per_ml", "dose_volume_ml"),
    "cream": ("concentration_mg_per_g", "dose_g"),
}
_CONCENTRATION_UNITS: dict[str, str] = {"oral_liquid": "mg/mL", "sublingual_drops": "mg/mL", "cream": "mg/g"}

_PREFIX = re.compile(r"[A-Z0-9]+")


class CompoundingError(ValueError):
    """Invalid compounding input, naming the field at fault (the API's ``fields`` key)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def as_fields(self) -> dict[str, str]:
        """``{"field": "why"}`` for the API's error body."""
        return {self.field: self.message}


# --- number helpers -------------------------------------------------------------------------


def _denoised(value: float | Decimal) -> Decimal:
    return round_half_up(value if isinstance(value, Decimal) else float(value), _NOISE_DECIMALS)


def _reported(value: float | Decimal, decimals: int) -> Decimal:
    """Round a *computed* number for reporting, after dropping binary floating-point noise."""
    return round_half_up(_denoised(value), decimals)


def _written(value: float | Decimal, min_decimals: int = 0) -> str:
    """A number as a person would write it: 1.5, 100, 99.0 (with ``min_decimals=1``)."""
    if not isinstance(value, Decimal) and not math.isfinite(value):
        return str(float(value))
    exact = _denoised(value).normalize()
    if exact.adjusted() >= _LARGE:
        return f"{float(value):g}"
    places = max(-int(exact.as_tuple().exponent), min_decimals, 0)
    return format(exact.quantize(Decimal(1).scaleb(-places)), "f")


def _exact(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _finite(value: Any, field: str, what: str | None = None) -> float:
    """The value as a float, refusing text, booleans, NaN and infinities."""
    name = what or field
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise CompoundingError(field, f"{name} must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise CompoundingError(field, f"{name} must be a finite number; got {number}")
    return number


def _positive(value: Any, field: str, what: str | None = None) -> float:
    number = _finite(value, field, what)
    if number <= 0:
        raise CompoundingError(field, f"{what or field} must be more than 0; got {_written(number)}")
    return number


def _dosage_form(dosage_form: str) -> str:
    if dosage_form not in DOSAGE_FORMS:
        raise CompoundingError(
            "dosage_form", f"dosage_form must be one of {', '.join(DOSAGE_FORMS)}; got {dosage_form!r}"
        )
    return dosage_form


# --- the dose and its guard (§1) ------------------------------------------------------------


def dose_mg(
    dosage_form: str,
    strength_mg: float | None = None,
    concentration: float | None = None,
    dose_amount: float | None = None,
) -> float:
    """The mg of naltrexone HCl in one dose.

    A capsule is one dose, so its dose is ``strength_mg``. Liquids and drops state a
    concentration (mg/mL) and a dose volume (mL), creams a concentration (mg/g) and a dose (g):
    their dose is the product, and a ``strength_mg`` given as well must agree with it (within
    1e-9 mg), so a request cannot claim one strength and label another.
    """
    form = _dosage_form(dosage_form)
    if form == "capsule":
        if concentration is not None or dose_amount is not None:
            raise CompoundingError(
                "concentration_mg_per_ml" if concentration is not None else "dose_volume_ml",
                "a capsule's dose is its strength_mg; concentration and dose volume apply to "
                "liquids, drops and creams",
            )
        if strength_mg is None:
            raise CompoundingError("strength_mg", "strength_mg is required for capsules")
        return _finite(strength_mg, "strength_mg")

    concentration_field, amount_field = _DOSE_FIELDS[form]
    if concentration is None:
        raise CompoundingError(concentration_field, f"{concentration_field} is required for {form}")
    if dose_amount is None:
        raise CompoundingError(amount_field, f"{amount_field} is required for {form}")
    per_unit = _positive(concentration, concentration_field)
    amount = _positive(dose_amount, amount_field)
    dose = per_unit * amount
    if strength_mg is not None:
        stated = _finite(strength_mg, "strength_mg")
        if abs(stated - dose) > 1e-9:
            raise CompoundingError(
                "strength_mg",
                f"strength_mg {_written(stated)} does not match {concentration_field} × {amount_field} "
                f"= {_written(per_unit)} × {_written(amount)} = {_written(dose)} mg",
            )
    return dose


def check_strength(
    dose_mg: float,
    formula_min: float | None = None,
    formula_max: float | None = None,
    *,
    field: str = "strength_mg",
) -> None:
    """Refuse a dose outside 0.5–4.5 mg (LDN) or outside the formula's own range, inclusive.

    The computed dose is compared after dropping binary noise, so a liquid at 1.1 mg/mL × 3 mL
    is the 3.3 mg it is on the label.
    """
    shown = _written(dose_mg, 1) if isinstance(dose_mg, int | float) else repr(dose_mg)
    low, high = _written(STRENGTH_MIN_MG, 1), _written(STRENGTH_MAX_MG, 1)
    ldn_range = f"{field} must be between {low} and {high} mg per dose (LDN); got {shown}"
    if isinstance(dose_mg, bool) or not isinstance(dose_mg, int | float) or not math.isfinite(dose_mg):
        raise CompoundingError(field, ldn_range)
    dose = _denoised(dose_mg)
    if not _exact(STRENGTH_MIN_MG) <= dose <= _exact(STRENGTH_MAX_MG):
        raise CompoundingError(field, ldn_range)
    below = formula_min is not None and dose < _exact(formula_min)
    above = formula_max is not None and dose > _exact(formula_max)
    if below or above:
        low = _written(formula_min, 1) if formula_min is not None else low
        high = _written(formula_max, 1) if formula_max is not None else high
        raise CompoundingError(
            field, f"{field} must be between {low} and {high} mg per dose for this formula; got {shown}"
        )


def check_quantity(quantity: float, dosage_form: str) -> None:
    """Refuse a batch size that is not a positive finite amount up to 100,000 of its unit.

    Capsules are counted, so their quantity must be a whole number.
    """
    form = _dosage_form(dosage_form)
    unit = _QUANTITY_UNITS[form]
    value = _finite(quantity, "quantity")
    if value <= 0:
        raise CompoundingError("quantity", f"quantity must be more than 0 {unit}; got {_written(value)}")
    if value > MAX_QUANTITY:
        raise CompoundingError(
            "quantity", f"quantity must be at most {MAX_QUANTITY:,} {unit}; got {_written(value)}"
        )
    if form == "capsule" and not value.is_integer():
        raise CompoundingError(
            "quantity", f"quantity must be a whole number of capsules; got {_written(value)}"
        )


# --- the calculation (§2) -------------------------------------------------------------------


def _check_assay(percent: Any, field: str) -> float:
    value = _finite(percent, field)
    if not 0 < value <= 200:
        raise CompoundingError(field, f"{field} must be more than 0 and at most 200 %; got {_written(value)}")
    return value


def as_is_assay(anhydrous_percent: float, water_percent: float) -> float:
    """The assay "as is" from a certificate's anhydrous assay and its water content W.

    as is = anhydrous × (100 − W) / 100. Weighing against the anhydrous figure under-doses by
    W %. Computed in decimal, so 99.5 % with 0.8 % water is exactly 98.704 %.
    """
    anhydrous = _check_assay(anhydrous_percent, "assay_percent")
    water = _finite(water_percent, "water_percent")
    if not 0 <= water < 100:
        raise CompoundingError(
            "water_percent", f"water_percent must be at least 0 and below 100 %; got {_written(water)}"
        )
    return float(_exact(anhydrous) * (100 - _exact(water)) / 100)


def anhydrous_assay(as_is_percent: float, water_percent: float) -> float:
    """The anhydrous assay from an "as is" assay and the water content W: as is × 100 / (100 − W).

    The inverse of :func:`as_is_assay`; 98.704 % as is with 0.8 % water is 99.5 % anhydrous.
    """
    as_is = _check_assay(as_is_percent, "assay_percent")
    water = _finite(water_percent, "water_percent")
    if not 0 <= water < 100:
        raise CompoundingError(
            "water_percent", f"water_percent must be at least 0 and below 100 %; got {_written(water)}"
        )
    return float(round(_exact(as_is) * 100 / (100 - _exact(water)), 6))


@dataclass(frozen=True)
class Calculation:
    """What to weigh for a batch, with the inputs it assumed.

    ``mg_per_unit`` is mg per unit of ``quantity``: the strength per capsule, the concentration
    per mL for liquids and drops, per g for creams. ``api_mg`` and ``filler_mg`` are raw;
    :meth:`as_dict` reports them to 0.01 mg. Filler, capsule content weight and capsule count
    are ``None`` where they do not apply (liquids, creams).
    """

    dosage_form: str
    quantity: float
    mg_per_unit: float
    api_assay_percent: float
    overage_percent: float
    fill_weight_mg: float | None
    api_lot: str | None
    api_mg: float
    filler_mg: float | None
    theoretical_unit_mg: float | None
    theoretical_yield: float

    @property
    def api_mg_reported(self) -> Decimal:
        return _reported(self.api_mg, MG_DECIMALS)

    @property
    def filler_mg_reported(self) -> Decimal | None:
        """Total fill less the *reported* API, so the explanation adds up when redone by hand."""
        if self.dosage_form == "trituration":  # the diluent: total mass less the API
            return _reported(_exact(self.quantity) - self.api_mg_reported, MG_DECIMALS)
        if self.fill_weight_mg is None:
            return None
        total = _exact(self.quantity) * _exact(self.fill_weight_mg)
        return _reported(total - self.api_mg_reported, MG_DECIMALS)

    @property
    def explanation(self) -> str:
        """The sums in words, e.g. "100 capsules × 1.5 mg × 100 / 99.0 % × (1 + 0.0 %) = 151.52 mg"."""
        unit = _QUANTITY_UNITS[self.dosage_form]
        if self.dosage_form == "trituration":
            total = f"{_written(self.quantity)} mg"
            return (
                f"{total} × {_written(self.mg_per_unit, 1)} % / 100 × 100 / "
                f"{_written(self.api_assay_percent, 1)} % = {_text(self.api_mg_reported)} mg; diluent = "
                f"{total} − {_text(self.api_mg_reported)} mg = {_text(self.filler_mg_reported or Decimal(0))} mg"
            )
        if self.dosage_form == "capsule":
            count = _written(self.quantity)
            amount = f"{count} {'capsule' if count == '1' else unit}"
            per_unit = f"{_written(self.mg_per_unit)} mg"
        else:
            amount = f"{_written(self.quantity)} {unit}"
            per_unit = f"{_written(self.mg_per_unit)} {_CONCENTRATION_UNITS[self.dosage_form]}"
        text = (
            f"{amount} × {per_unit} × 100 / {_written(self.api_assay_percent, 1)} % × "
            f"(1 + {_written(self.overage_percent, 1)} %) = {_text(self.api_mg_reported)} mg"
        )
        filler = self.filler_mg_reported
        if filler is not None and self.fill_weight_mg is not None:
            text += (
                f"; filler = {amount} × {_written(self.fill_weight_mg)} mg − "
                f"{_text(self.api_mg_reported)} mg = {_text(filler)} mg"
            )
        return text

    def as_dict(self) -> dict[str, Any]:
        """The Batch's ``calculation`` object: inputs, reported values, raw values, explanation."""
        key = {"capsule": "strength_mg", "trituration": "concentration_percent"}.get(self.dosage_form) or (
            _DOSE_FIELDS[self.dosage_form][0]
        )
        filler = self.filler_mg_reported
        return {
            "dosage_form": self.dosage_form,
            "quantity": _plain(self.quantity),
            "quantity_unit": _QUANTITY_UNITS[self.dosage_form],
            key: self.mg_per_unit,
            "api_assay_percent": self.api_assay_percent,
            "overage_percent": self.overage_percent,
            "fill_weight_mg": self.fill_weight_mg,
            "api_lot": self.api_lot,
            "api_mg": float(self.api_mg_reported),
            "api_mg_raw": self.api_mg,
            "filler_mg": None if filler is None else float(filler),
            "filler_mg_raw": self.filler_mg,
            "theoretical_unit_mg": self.theoretical_unit_mg,
            "theoretical_yield": _plain(self.theoretical_yield),
            "explanation": self.explanation,
        }


def _plain(value: float) -> int | float:
    """A whole quantity as an int (100 capsules), any other as a float (12.5 mL)."""
    return int(value) if float(value).is_integer() else float(value)


def _text(value: Decimal) -> str:
    return format(value, "f")


def calculate(
    dosage_form: str,
    quantity: float,
    mg_per_unit: float,
    api_assay_percent: float,
    overage_percent: float = 0.0,
    fill_weight_mg: float | None = None,
    *,
    api_lot: str | None = None,
) -> Calculation:
    """API (and, for capsules, filler) to weigh for a batch.

    api_mg = quantity × mg_per_unit × 100 / assay × (1 + overage / 100), where quantity ×
    mg_per_unit is units × strength for capsules and concentration × volume (mL or g) otherwise,
    and the assay is the lot's "as is" figure (see :func:`as_is_assay`). Capsule filler = units
    × calibrated fill weight − API; a fill weight too small to hold the API is refused.
    ``fill_weight_mg`` is required for capsules and not used for other forms. The dose guard is
    :func:`check_strength`'s job; here ``mg_per_unit`` need only be positive.
    """
    form = _dosage_form(dosage_form)
    check_quantity(quantity, form)
    units = float(quantity)
    per_unit_field = "strength_mg" if form == "capsule" else _DOSE_FIELDS[form][0]
    per_unit = _positive(mg_per_unit, per_unit_field)
    assay = _check_assay(api_assay_percent, "api_assay_percent")
    overage = _finite(overage_percent, "overage_percent")
    if not 0 <= overage < 100:
        raise CompoundingError(
            "overage_percent", f"overage_percent must be at least 0 and below 100 %; got {_written(overage)}"
        )

    api_mg = units * per_unit * 100 / assay * (1 + overage / 100)

    fill: float | None = None
    filler_mg: float | None = None
    if form == "capsule":
        if fill_weight_mg is None:
            raise CompoundingError("fill_weight_mg", "fill_weight_mg is required for capsules")
        fill = _positive(fill_weight_mg, "fill_weight_mg")
        filler_mg = units * fill - api_mg
    calculation = Calculation(
        dosage_form=form,
        quantity=units,
        mg_per_unit=per_unit,
        api_assay_percent=assay,
        overage_percent=overage,
        fill_weight_mg=fill,
        api_lot=api_lot,
        api_mg=api_mg,
        filler_mg=filler_mg,
        theoretical_unit_mg=fill,
        theoretical_yield=units,
    )
    filler = calculation.filler_mg_reported
    if filler is not None and filler < 0:
        raise CompoundingError(
            "fill_weight_mg",
            f"fill weight too small: {_written(units)} capsules × {_written(fill or 0)} mg cannot hold "
            f"{_text(calculation.api_mg_reported)} mg of API",
        )
    return calculation


def calculate_trituration(
    total_mg: float, concentration_percent: float, api_assay_percent: float, *, api_lot: str | None = None
) -> Calculation:
    """API and diluent to weigh for a trituration (domain.md §2.1).

    API = total mass × concentration / 100 × 100 / assay (as is); diluent = total − API, so 10 g
    at 10 % from an API of 99.0 % as is is 1,010.10 mg of API and 8,989.90 mg of diluent. The
    diluent actually weighed is judged against the total less the API actually weighed.
    """
    total = _positive(total_mg, "quantity_mg")
    if total > TRITURATION_MAX_MG:
        raise CompoundingError(
            "quantity_mg",
            f"quantity_mg must be at most {TRITURATION_MAX_MG:,} mg (1 kg); got {_written(total)}",
        )
    concentration = _positive(concentration_percent, "concentration_percent")
    if concentration > TRITURATION_MAX_PERCENT:
        raise CompoundingError(
            "concentration_percent",
            f"concentration_percent must be at most {_written(TRITURATION_MAX_PERCENT)} %; got {_written(concentration)}",
        )
    assay = _check_assay(api_assay_percent, "api_assay_percent")
    api_mg = total * concentration / 100 * 100 / assay
    calculation = Calculation(
        dosage_form="trituration",
        quantity=total,
        mg_per_unit=concentration,
        api_assay_percent=assay,
        overage_percent=0.0,
        fill_weight_mg=None,
        api_lot=api_lot,
        api_mg=api_mg,
        filler_mg=total - api_mg,
        theoretical_unit_mg=None,
        theoretical_yield=total,
    )
    diluent = calculation.filler_mg_reported
    if diluent is not None and diluent < 0:
        raise CompoundingError(
            "concentration_percent",
            f"{_written(concentration)} % of an API assayed at {_written(assay, 1)} % needs more API "
            f"({_text(calculation.api_mg_reported)} mg) than the total mass ({_written(total)} mg)",
        )
    return calculation


# --- weighing the API (§2) ------------------------------------------------------------------


@dataclass(frozen=True)
class WeighingCheck:
    """The weighed API against its theoretical amount.

    ``deviation_percent`` is raw; ``deviation_reported`` is rounded to 0.01 % and it is that
    value which is compared with the tolerance, inclusively: +2.00 % is within ±2.0 %.
    """

    weighed_mg: float
    theoretical_mg: float
    tolerance_percent: float
    deviation_percent: float
    deviation_reported: Decimal
    within: bool

    @property
    def message(self) -> str:
        deviation = f"{self.deviation_reported:+f} %"
        tolerance = f"±{_written(self.tolerance_percent, 1)} %"
        weighed = (
            f"Weighed {_written(self.weighed_mg)} mg against {_text(_reported(self.theoretical_mg, 2))} mg"
        )
        if self.within:
            return f"{weighed}: {deviation}, within {tolerance}"
        return f"{weighed}: {deviation}, outside {tolerance}: a deviation needing a reason and verification"

    def as_dict(self) -> dict[str, Any]:
        return {
            "weighed_mg": self.weighed_mg,
            "theoretical_mg": float(_reported(self.theoretical_mg, MG_DECIMALS)),
            "tolerance_percent": self.tolerance_percent,
            "deviation_percent": float(self.deviation_reported),
            "deviation_reported": _text(self.deviation_reported),
            "deviation_percent_raw": self.deviation_percent,
            "within": self.within,
            "message": self.message,
        }


def weighing_deviation(
    weighed_mg: float, theoretical_mg: float, tolerance_percent: float = DEFAULT_WEIGHING_TOLERANCE_PERCENT
) -> WeighingCheck:
    """How far the weighed API is from the calculation, in % of the theoretical amount.

    Worked in decimal from the figures as written, so 102.01 mg against 100 mg is +2.01 %, not
    2.0100000000000051 %.
    """
    weighed = _positive(weighed_mg, "quantity_mg")
    theoretical = _positive(theoretical_mg, "theoretical_mg")
    tolerance = _positive(tolerance_percent, "weighing_tolerance_percent")
    deviation = (_exact(weighed) - _exact(theoretical)) / _exact(theoretical) * 100
    reported = _reported(deviation, PERCENT_DECIMALS)
    within = abs(reported) <= _exact(tolerance)
    return WeighingCheck(weighed, theoretical, tolerance, float(deviation), reported, within)


# --- capsule weight check (§2) --------------------------------------------------------------


@dataclass(frozen=True)
class WeightCheck:
    """Individual capsule content weights against 90–110 % of the theoretical content weight.

    ``outside`` lists the 1-based positions of capsules outside the range, in the order
    weighed. ``sd`` and ``rsd_percent`` are ``None`` for a single capsule (a batch of one).
    """

    n: int
    theoretical_mg: float
    low_mg: float
    high_mg: float
    mean_mg: float
    sd_mg: float | None
    rsd_percent: float | None
    min_mg: float
    max_mg: float
    outside: tuple[int, ...]
    weights_mg: tuple[float, ...]

    @property
    def passed(self) -> bool:
        return not self.outside

    @property
    def message(self) -> str:
        span = f"{_written(self.low_mg)}–{_written(self.high_mg)} mg"
        limits = (
            f"{WEIGHT_CHECK_LOW_PERCENT}–{WEIGHT_CHECK_HIGH_PERCENT} % of {_written(self.theoretical_mg)} mg"
        )
        if self.passed:
            which = "The capsule lies" if self.n == 1 else f"All {self.n} capsules lie"
            return f"{which} within {span} ({limits})"
        listed = ", ".join(
            f"{i} ({_written(self.weights_mg[i - 1])} mg, "
            f"{_text(_reported(self.weights_mg[i - 1] / self.theoretical_mg * 100, PERCENT_DECIMALS))} %)"
            for i in self.outside
        )
        word = "capsule" if len(self.outside) == 1 else "capsules"
        return f"{word.capitalize()} {listed} outside {span} ({limits})"

    def as_dict(self) -> dict[str, Any]:
        def optional(value: float | None, decimals: int) -> float | None:
            return None if value is None else float(_reported(value, decimals))

        return {
            "n": self.n,
            "theoretical_mg": self.theoretical_mg,
            "low_mg": self.low_mg,
            "high_mg": self.high_mg,
            "mean_mg": float(_reported(self.mean_mg, MG_DECIMALS)),
            "sd_mg": optional(self.sd_mg, SD_DECIMALS),
            "rsd_percent": optional(self.rsd_percent, PERCENT_DECIMALS),
            "min_mg": float(_reported(self.min_mg, MG_DECIMALS)),
            "max_mg": float(_reported(self.max_mg, MG_DECIMALS)),
            "outside": list(self.outside),
            "passed": self.passed,
            "message": self.message,
            "raw": {"mean_mg": self.mean_mg, "sd_mg": self.sd_mg, "rsd_percent": self.rsd_percent},
        }


def capsule_weight_check(weights_mg: Sequence[float], theoretical_mg: float, batch_units: int) -> WeightCheck:
    """Judge individually weighed capsule contents (USP <795>, domain.md §2).

    At least 10 capsules, and every capsule of a batch under 10 (then exactly that many); never
    more than the batch holds. Each weight is compared as entered with 90 % and 110 % of the
    theoretical weight, inclusive and without rounding: the balance's reading is the reported
    value. The SD is the sample SD (n − 1); sums are exactly rounded so the order does not matter.
    """
    if isinstance(batch_units, bool) or not isinstance(batch_units, int) or batch_units < 1:
        raise CompoundingError("quantity", f"the batch must hold at least one capsule; got {batch_units!r}")
    theoretical = _positive(theoretical_mg, "theoretical_mg")
    if isinstance(weights_mg, str | bytes) or not isinstance(weights_mg, Sequence | np.ndarray):
        raise CompoundingError("weights_mg", "weights_mg must be a list of numbers")
    for i, weight in enumerate(weights_mg, start=1):
        if isinstance(weight, bool) or not isinstance(weight, int | float | Decimal | np.number):
            raise CompoundingError("weights_mg", f"weights_mg must be numbers; capsule {i} is not")
    weights = np.asarray(weights_mg, dtype=float)
    if weights.ndim != 1:
        raise CompoundingError("weights_mg", "weights_mg must be a flat list of numbers")
    n = int(weights.size)
    if batch_units < WEIGHT_CHECK_MIN_UNITS and n != batch_units:
        raise CompoundingError(
            "weights_mg",
            f"weigh every capsule of a batch under {WEIGHT_CHECK_MIN_UNITS}: {batch_units} weights needed, got {n}",
        )
    if n < WEIGHT_CHECK_MIN_UNITS and batch_units >= WEIGHT_CHECK_MIN_UNITS:
        raise CompoundingError(
            "weights_mg", f"weigh at least {WEIGHT_CHECK_MIN_UNITS} capsules individually; got {n}"
        )
    if n > batch_units:
        raise CompoundingError(
            "weights_mg", f"the batch holds {batch_units} capsules but {n} weights were given"
        )
    bad = np.flatnonzero(~np.isfinite(weights) | (weights <= 0))
    if bad.size:
        raise CompoundingError(
            "weights_mg", f"weights_mg must be positive finite numbers; capsule {int(bad[0]) + 1} is not"
        )
    heavy = np.flatnonzero(weights > WEIGHT_CHECK_MAX_MG)
    if heavy.size:
        raise CompoundingError(
            "weights_mg",
            f"capsule {int(heavy[0]) + 1} weighs {weights[heavy[0]]:g} mg; a capsule's content weighs "
            f"at most {WEIGHT_CHECK_MAX_MG:,.0f} mg",
        )

    low_exact = _exact(theoretical) * WEIGHT_CHECK_LOW_PERCENT / 100
    high_exact = _exact(theoretical) * WEIGHT_CHECK_HIGH_PERCENT / 100
    # A weight entered as exactly the limit becomes the same float as the limit, so comparing
    # floats keeps the limits inclusive.
    low, high = float(low_exact), float(high_exact)
    outside = tuple(int(i) + 1 for i in np.flatnonzero((weights < low) | (weights > high)))

    mean = math.fsum(weights) / n
    sd: float | None = None
    rsd: float | None = None
    if n > 1:
        sd = statistics.stdev(weights.tolist())  # exact: the square of a 1e308 mg typo cannot overflow
        rsd = sd / mean * 100
    return WeightCheck(
        n=n,
        theoretical_mg=theoretical,
        low_mg=low,
        high_mg=high,
        mean_mg=mean,
        sd_mg=sd,
        rsd_percent=rsd,
        min_mg=float(weights.min()),
        max_mg=float(weights.max()),
        outside=outside,
        weights_mg=tuple(float(w) for w in weights),
    )


# --- yield (§2) -----------------------------------------------------------------------------


def yield_percent(actual: float, theoretical: float) -> float:
    """Actual yield in % of the theoretical (raw; report with :func:`yield_reported`)."""
    made = _finite(actual, "actual_yield")
    if made < 0:
        raise CompoundingError("actual_yield", f"actual_yield must not be negative; got {_written(made)}")
    expected = _positive(theoretical, "theoretical_yield")
    return float(_exact(made) / _exact(expected) * 100)


def yield_reported(percent: float) -> Decimal:
    """A yield as reported: one decimal, the precision it is judged at."""
    return _reported(_finite(percent, "yield_percent"), YIELD_DECIMALS)


def yield_needs_reason(percent: float) -> bool:
    """Whether a yield, rounded to 0.1 %, lies outside 95–105 % (the limits themselves are fine)."""
    reported = yield_reported(percent)
    return not YIELD_LOW_PERCENT <= reported <= YIELD_HIGH_PERCENT


# --- beyond-use date (§3) -------------------------------------------------------------------


@dataclass(frozen=True)
class Bud:
    """A beyond-use date and the sentence that justifies it on the record and certificate."""

    date: date
    reason: str


def _plain_date(value: Any, field: str, what: str) -> date:
    # A datetime is also a date; adding days to one would carry a time of day into the BUD.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise CompoundingError(field, f"{what} must be a date (the pharmacy's local date)")
    return value


def beyond_use_date(
    start_date: date,
    rule: Mapping[str, Any],
    component_expiries: Sequence[tuple[str, date]] = (),
) -> Bud:
    """The BUD of a batch compounded from ``start_date`` (USP <795> 2023, domain.md §3).

    ``rule`` is ``{"category": key of BUD_CATEGORIES}`` or ``{"days": N, "reference": text}``
    for a literature-supported BUD, which is never more than 180 days. The start date is Day 1,
    so the BUD is start + (N − 1) days; it is then cut to the earliest expiry of the component
    lots, given as ``(label, expiry)`` pairs such as ``("filler lot MCC-2401", date(2027, 3, 31))``.
    A component that expired before compounding started is refused.
    """
    start = _plain_date(start_date, "compounded_at", "start_date")
    if not isinstance(rule, Mapping):
        raise CompoundingError("bud", "bud must be a category or days with a reference")
    has_category, has_days = "category" in rule, "days" in rule
    if has_category == has_days:
        raise CompoundingError("bud", "bud must give either a category or days with a reference")

    if has_category:
        category = rule["category"]
        if category not in BUD_CATEGORIES:
            raise CompoundingError(
                "bud", f"bud category must be one of {', '.join(BUD_CATEGORIES)}; got {category!r}"
            )
        days = BUD_CATEGORIES[category]
        reason = f"{days} days, USP <795> {BUD_LABELS[category]}"
    else:
        studied, reference = rule["days"], rule.get("reference")
        if isinstance(studied, bool) or not isinstance(studied, int) or studied < 1:
            raise CompoundingError("bud", f"bud days must be a whole number of at least 1; got {studied!r}")
        if not isinstance(reference, str) or not reference.strip():
            raise CompoundingError("bud", "a literature BUD needs its reference")
        days = min(studied, BUD_MAX_DAYS)
        reason = f"{studied} days ({reference.strip()})"
        if studied > BUD_MAX_DAYS:
            reason += f", capped at {BUD_MAX_DAYS} days"

    bud = start + timedelta(days=days - 1)
    if component_expiries:
        expiries = [
            (str(label), _plain_date(expiry, "components", f"the expiry of {label}"))
            for label, expiry in component_expiries
        ]
        earliest = min(expiry for _, expiry in expiries)
        first = [label for label, expiry in expiries if expiry == earliest]
        if earliest < start:
            raise CompoundingError(
                "components",
                f"{' and '.join(first)} expired on {earliest.isoformat()}, before compounding "
                f"started on {start.isoformat()}",
            )
        if earliest < bud:
            bud = earliest
            reason += f"; cut to the expiry of {' and '.join(first)} ({earliest.isoformat()})"
    return Bud(bud, reason)


def local_date(utc_datetime: datetime, tz_name: str) -> date:
    """The pharmacy's local date at a moment: Day 1 of the BUD is the local date compounding starts.

    2026-11-25T03:00Z is still 2026-11-24 in America/Chicago. A naive datetime is refused: it
    could be any zone's time.
    """
    if utc_datetime.tzinfo is None or utc_datetime.utcoffset() is None:
        raise ValueError("local_date needs a timezone-aware datetime")
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {tz_name!r}") from error
    return utc_datetime.astimezone(zone).date()


def expired(bud: date, today: date) -> bool:
    """Whether a batch is past its BUD. The BUD day itself is still usable; the day after is not."""
    return today > bud


def near_bud(bud: date, today: date, days: int = 14) -> bool:
    """Whether an unexpired batch reaches its BUD within ``days`` days (the BUD day included).

    Today being the BUD counts as near; an expired batch is not near, it is :func:`expired`.
    """
    if days < 0:
        raise ValueError("days must be zero or more")
    return 0 <= (bud - today).days <= days


# --- lot numbers and scans ------------------------------------------------------------------


def clean_scan(text: str) -> str:
    """A scanned barcode as typed text: control characters removed, trimmed, upper case.

    Keyboard-wedge scanners add prefixes and suffixes (GS, RS, EOT, CR, LF, TAB) and some send
    invisible format characters (BOM, zero-width space); none of them belong to a lot number.
    """
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    return kept.strip().upper()


def lot_number(prefix: str, day: date, n: int) -> str:
    """The lot number of the ``n``-th batch of ``day``: ``LDN-261125-003``.

    The sequence has a fixed three digits so lot numbers sort in the order they were made.
    """
    code = prefix.strip().upper()
    if not _PREFIX.fullmatch(code):
        raise ValueError(f"a lot prefix must be letters and digits; got {prefix!r}")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 999:
        raise ValueError(f"the day's batch number must be 1 to 999; got {n!r}")
    return f"{code}-{day:%y%m%d}-{n:03d}"
