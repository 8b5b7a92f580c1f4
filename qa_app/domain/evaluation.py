"""Judging a test result against its specification (domain.md §4).

Every result of a batch ends up here, so the page, the API and the certificate all show the
same conclusion from the same numbers. Values are rounded half up to the decimals of their
limit and only then compared (USP General Notices); raw values are never changed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import numpy as np

from qa_app.domain.rounding import round_half_up

Status = Literal["pass", "fail", "warning", "more_units_required"]
STATUSES: frozenset[str] = frozenset({"pass", "fail", "warning", "more_units_required"})

STAGE1_UNITS = 10
STAGE2_UNITS = 20
# USP <905>: the acceptability constant k depends only on how many units were assayed.
K_FACTOR: Mapping[int, float] = {10: 2.4, 30: 2.0}
M_LOW = 98.5
M_HIGH = 101.5

# Decimals kept before a computed number is rounded for reporting: far finer than any result,
# far coarser than binary noise, so a true 15.05 computed as 15.049999999999997 reports 15.1.
_NOISE_DECIMALS = 10

# Ranges in messages use an en dash, as in the specification documents.
DASH = "\u2013"

ATTRIBUTE_PASS_WORDS: frozenset[str] = frozenset({"pass", "conforms", "complies"})


# --- limits ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RangeLimits:
    """Inclusive limits of a numeric test (assay, pH, fill volume).

    ``decimals`` is the precision results are rounded to before the comparison. The optional
    warning band flags a result that passes but drifts towards a limit.
    """

    min: float | None
    max: float | None
    decimals: int = 1
    warn_min: float | None = None
    warn_max: float | None = None

    def __post_init__(self) -> None:
        if self.min is None and self.max is None:
            raise ValueError("a range test needs a lower limit, an upper limit or both")
        if self.decimals < 0:
            raise ValueError("decimals must be zero or more")
        for name in ("min", "max", "warn_min", "warn_max"):
            limit = getattr(self, name)
            if limit is not None and not math.isfinite(limit):
                raise ValueError(f"{name} must be a finite number")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("the lower limit must not exceed the upper limit")
        if self.warn_min is not None and self.warn_max is not None and self.warn_min > self.warn_max:
            raise ValueError("the lower warning limit must not exceed the upper warning limit")


@dataclass(frozen=True)
class ContentUniformityLimits:
    """USP <905> parameters: target content T (% of label claim), L1 for the AV, L2 for units."""

    target: float = 100.0
    l1: float = 15.0
    l2: float = 25.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.target) and self.target > 0):
            raise ValueError("the target content must be a positive number")
        if not (math.isfinite(self.l1) and self.l1 > 0):
            raise ValueError("L1 must be a positive number")
        if not (math.isfinite(self.l2) and 0 < self.l2 < 100):
            raise ValueError("L2 must be a percentage between 0 and 100")


@dataclass(frozen=True)
class AttributeLimits:
    """The expected description of a pass/fail test (appearance, identity)."""

    expected: str

    def __post_init__(self) -> None:
        if not self.expected.strip():
            raise ValueError("an attribute test needs the expected text")


# --- the outcome ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """The conclusion on one result, with the numbers behind it and a sentence for people.

    ``details`` holds only JSON-friendly values (float, int, str, lists of them) so that it can
    be stored and served as is.
    """

    status: Status
    details: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown evaluation status {self.status!r}")

    def as_dict(self) -> dict[str, Any]:
        """The ``evaluation`` object of the API's Result shape."""
        return {"status": self.status, **self.details, "message": self.message}


# --- formatting helpers ---------------------------------------------------------------------


def _reported(value: float | Decimal, decimals: int) -> Decimal:
    """Round a *computed* number for reporting, after dropping binary floating-point noise."""
    return round_half_up(round_half_up(value, _NOISE_DECIMALS), decimals)


def _bound_text(value: Decimal) -> str:
    """A unit-range bound to three decimals at most (the USP FAQ shows 76.125), zeros trimmed."""
    text = _text(_reported(value, 3)).rstrip("0")
    return text + "0" if text.endswith(".") else text


def _text(value: Decimal) -> str:
    """Fixed-point text of a rounded value, never in exponent notation."""
    return format(value, "f")


def _limit_text(limit: float, decimals: int) -> str:
    """A limit shown with the decimals of the test, or as written if it carries more."""
    exact = Decimal(repr(float(limit)))
    shown = round_half_up(exact, decimals)
    return _text(shown if shown == exact else exact.normalize())


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _with_unit(text: str, unit: str) -> str:
    return f"{text} {unit}" if unit else text


# --- range tests ----------------------------------------------------------------------------


def evaluate_range(value: float, limits: RangeLimits, *, label: str = "Result", unit: str = "") -> Evaluation:
    """Judge a numeric result: round half up to ``limits.decimals``, then compare inclusively.

    ``label`` and ``unit`` only shape the message ("Assay 89.9 % is below the lower limit
    90.0 %"). So 89.95 reports as 90.0 and passes 90.0-110.0, while 89.94 reports 89.9 and fails.
    A value computed in binary floating point is read as it would be on paper, as content
    uniformity does: 0.8804 / 0.8 × 100 gives 110.04999999999998, which is 110.05 and reports
    110.1 (binary noise beyond 10 decimals is dropped before rounding).
    """
    if not math.isfinite(value):
        raise ValueError(f"{label.lower()} must be a finite number")
    reported = _reported(value, limits.decimals)
    shown = _with_unit(_text(reported), unit)
    low = None if limits.min is None else Decimal(repr(float(limits.min)))
    high = None if limits.max is None else Decimal(repr(float(limits.max)))

    def limit(x: float) -> str:
        return _with_unit(_limit_text(x, limits.decimals), unit)

    status: Status
    if low is not None and reported < low:
        status = "fail"
        message = f"{label} {shown} is below the lower limit {limit(limits.min)}"
    elif high is not None and reported > high:
        status = "fail"
        message = f"{label} {shown} is above the upper limit {limit(limits.max)}"
    else:
        status = "pass"
        if limits.min is not None and limits.max is not None:
            span = f"{_limit_text(limits.min, limits.decimals)}{DASH}{limit(limits.max)}"
            message = f"{label} {shown} is within {span}"
        elif limits.min is not None:
            message = f"{label} {shown} is at or above the lower limit {limit(limits.min)}"
        else:
            message = f"{label} {shown} is at or below the upper limit {limit(limits.max)}"
        if limits.warn_min is not None and reported < Decimal(repr(float(limits.warn_min))):
            status = "warning"
            message += f" but below the warning limit {limit(limits.warn_min)}"
        elif limits.warn_max is not None and reported > Decimal(repr(float(limits.warn_max))):
            status = "warning"
            message += f" but above the warning limit {limit(limits.warn_max)}"

    details: dict[str, Any] = {
        "value": float(reported),
        "reported": _text(reported),
        "min": _optional_float(limits.min),
        "max": _optional_float(limits.max),
        "decimals": limits.decimals,
    }
    if limits.warn_min is not None or limits.warn_max is not None:
        details["warn_min"] = _optional_float(limits.warn_min)
        details["warn_max"] = _optional_float(limits.warn_max)
    return Evaluation(status, details, message)


# --- content uniformity (USP <905>) ---------------------------------------------------------


@dataclass(frozen=True)
class CuStatistics:
    """The numbers behind an acceptance value.

    ``av`` is the raw value; ``av_reported`` is rounded to one decimal, and it is the reported
    value that is compared with L1 (domain.md §4.2 decision).
    """

    n: int
    mean: float
    sd: float
    m: float
    k: float
    av: float
    av_reported: Decimal


def reference_value(mean: float, target: float = 100.0) -> float:
    """USP <905> reference value M: the mean held inside 98.5 … max(101.5, T).

    A mean close enough to the target costs nothing; beyond that the distance counts in the AV.
    """
    high = M_HIGH if target <= M_HIGH else float(target)
    return min(max(float(mean), M_LOW), high)


def acceptance_value_from_summary(mean: float, sd: float, n: int, target: float = 100.0) -> CuStatistics:
    """AV = |M - X̄| + k·s from a mean and a *sample* SD, for n = 10 or n = 30 units.

    Kept apart from the raw values so that published summaries (the USP FAQ check) can be
    reproduced exactly.
    """
    if n not in K_FACTOR:
        raise ValueError(f"the acceptance value is defined for 10 or 30 units, got {n}")
    mean, sd = float(mean), float(sd)  # NumPy numbers too: the details stay plain floats
    if not (math.isfinite(mean) and math.isfinite(sd) and sd >= 0):
        raise ValueError("the mean and SD must be finite and the SD not negative")
    k = K_FACTOR[n]
    m = reference_value(mean, target)
    av = abs(m - mean) + k * sd
    return CuStatistics(n=n, mean=mean, sd=sd, m=m, k=k, av=av, av_reported=_reported(av, 1))


def _as_units(values: Sequence[float], what: str) -> np.ndarray:
    units = np.asarray(values, dtype=float)
    if units.ndim != 1:
        raise ValueError(f"{what} must be a flat list of numbers")
    bad = np.flatnonzero(~np.isfinite(units))
    if bad.size:
        raise ValueError(f"{what} must be finite numbers; unit {int(bad[0]) + 1} is not")
    return units


def acceptance_value(values: Sequence[float], target: float = 100.0) -> CuStatistics:
    """The acceptance value of 10 or 30 individual unit contents (% of label claim).

    The SD is the sample SD (n - 1): the population SD understates the spread and would pass
    vector A with 3.2 instead of 3.4. Sums are exactly rounded (``math.fsum``) so the result
    does not depend on the order in which units were entered.
    """
    units = _as_units(values, "content uniformity values")
    n = int(units.size)
    if n not in K_FACTOR:
        raise ValueError(f"the acceptance value is defined for 10 or 30 units, got {n}")
    mean = math.fsum(units) / n
    deviations = units - mean
    sd = math.sqrt(math.fsum(deviations * deviations) / (n - 1))
    return acceptance_value_from_summary(mean, sd, n, target)


def _cu_details(stats: CuStatistics, stage: int, limits: ContentUniformityLimits) -> dict:
    return {
        "stage": stage,
        "n": stats.n,
        "mean": stats.mean,
        "mean_reported": _text(_reported(stats.mean, 2)),
        "sd": stats.sd,
        "sd_reported": _text(_reported(stats.sd, 2)),
        "m": stats.m,
        "m_reported": _text(_reported(stats.m, 2)),
        "k": stats.k,
        "av": float(stats.av_reported),
        "av_reported": _text(stats.av_reported),
        "av_raw": stats.av,
        "target": float(limits.target),
        "l1": float(limits.l1),
    }


def evaluate_content_uniformity(
    stage1: Sequence[float],
    stage2: Sequence[float] | None,
    limits: ContentUniformityLimits,
) -> Evaluation:
    """Judge content uniformity by USP <905> at stage 1 (10 units) or stage 2 (10 + 20 units).

    Stage 1 passes when the reported AV is within L1; otherwise 20 more units are needed.
    When ``stage2`` is given all 30 units are judged, whatever stage 1 showed (every valid
    result counts): the AV of the 30 must be within L1 *and* each unit must lie within
    (1 ± L2 %)·M, M being that of all 30. L2 limits single units; it is not an AV limit.
    """
    first = _as_units(stage1, "content uniformity values")
    if first.size != STAGE1_UNITS:
        raise ValueError(
            f"content uniformity needs exactly {STAGE1_UNITS} values at stage 1, got {first.size}"
        )
    l1 = Decimal(repr(float(limits.l1)))
    l1_text = _text(round_half_up(l1, 1))

    if stage2 is None:
        stats = acceptance_value(first, limits.target)
        details = _cu_details(stats, 1, limits)
        av = _text(stats.av_reported)
        if stats.av_reported <= l1:
            message = f"Content uniformity passes at stage 1: AV {av} is within L1 {l1_text}"
            return Evaluation("pass", details, message)
        message = f"AV {av} exceeds L1 {l1_text} at stage 1: assay {STAGE2_UNITS} more units (stage 2)"
        return Evaluation("more_units_required", details, message)

    second = _as_units(stage2, "content uniformity values")
    if second.size != STAGE2_UNITS:
        raise ValueError(
            f"content uniformity needs exactly {STAGE2_UNITS} more values at stage 2, got {second.size}"
        )
    units = np.concatenate([first, second])
    stats = acceptance_value(units, limits.target)

    # The unit range is compared in decimal so that a unit exactly on 75 % of M is inside.
    m = round_half_up(stats.m, _NOISE_DECIMALS)
    l2 = Decimal(repr(float(limits.l2)))
    low = round_half_up(m * (100 - l2) / 100, _NOISE_DECIMALS)
    high = round_half_up(m * (100 + l2) / 100, _NOISE_DECIMALS)
    outside = [i + 1 for i, x in enumerate(units) if not low <= Decimal(repr(float(x))) <= high]

    details = _cu_details(stats, 2, limits)
    details.update(l2=float(limits.l2), l2_low=float(low), l2_high=float(high), units_outside=outside)
    av = _text(stats.av_reported)
    span = f"{_bound_text(low)}{DASH}{_bound_text(high)} %"
    m_text = _text(_reported(stats.m, 2))
    problems = []
    if stats.av_reported > l1:
        problems.append(f"AV {av} exceeds L1 {l1_text}")
    if outside:
        listed = ", ".join(f"{i} ({float(units[i - 1])!r})" for i in outside)
        word = "unit" if len(outside) == 1 else "units"
        problems.append(f"{word} {listed} outside {span} (M {m_text} ± L2 {limits.l2!r} %)")
    if problems:
        message = "Content uniformity fails at stage 2: " + "; ".join(problems)
        return Evaluation("fail", details, message)
    message = (
        f"Content uniformity passes at stage 2: AV {av} is within L1 {l1_text} "
        f"and all {stats.n} units lie within {span}"
    )
    return Evaluation("pass", details, message)


# --- attribute tests ------------------------------------------------------------------------


def evaluate_attribute(observed: str, limits: AttributeLimits, *, label: str = "Result") -> Evaluation:
    """Judge a descriptive result: it conforms when it reads as the expected text.

    The comparison ignores case and surrounding spaces. An analyst may instead record the
    verdict itself ("pass", "conforms", "complies"), having compared against the description.
    """
    text = observed.strip()
    if not text:
        raise ValueError(f"{label.lower()} needs the observed text")
    folded = text.casefold()
    matches = folded == limits.expected.strip().casefold() or folded in ATTRIBUTE_PASS_WORDS
    details = {"observed": observed, "expected": limits.expected}
    if matches:
        return Evaluation("pass", details, f"{label} '{text}' conforms to '{limits.expected}'")
    message = f"{label} '{text}' does not match the expected '{limits.expected}'"
    return Evaluation("fail", details, message)
