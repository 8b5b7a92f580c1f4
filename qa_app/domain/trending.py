"""Trending of a quality attribute across batches (domain.md §10).

One series of reportable values (assay, content-uniformity AV, capsule weight RSD or yield), in
compounding order, gives an individuals and moving-range chart, the Nelson signals 1–4 and,
when the specification has limits, the process capability. The numbers here feed the trend
page, the API and the annual product review, so all three show the same chart.

Statistics are computed on the raw values; only what is reported is rounded half up (centre
and limits to 2 decimals, sigma to 4, Cpk and Ppk to 2). Every computation is vectorised, so a
series of ten thousand points takes milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qa_app.domain.rounding import round_half_up

MIN_POINTS_FOR_LIMITS = 8
MIN_POINTS_FOR_CAPABILITY = 20

# Control-chart constants for moving ranges of two consecutive points (Montgomery).
D2 = 1.128
D4 = 3.267
SIGMA_MULTIPLE = 3.0

# Nelson rules: how many points in a row complete rules 2, 3 and 4.
RULE2_POINTS = 9
RULE3_POINTS = 6
RULE4_POINTS = 14

# Bissell's interval for Cpk at 95 % confidence.
Z95 = 1.96

CENTRE_DECIMALS = 2
SIGMA_DECIMALS = 4
INDEX_DECIMALS = 2

# Decimals kept before a computed number is rounded for reporting: drops binary noise, so a
# true 97.345 computed as 97.34499999999999 reports 97.35 (as in evaluation._reported).
_NOISE_DECIMALS = 10


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """An individuals and moving-range chart of ``n`` points.

    ``center`` = x̄, the mean of the points; ``mr_bar`` = MR̄, the mean of |x_i − x_{i−1}|;
    ``sigma`` = σ̂ = MR̄ / 1.128 (the within, short-term spread); ``ucl``/``lcl`` = x̄ ± 3σ̂;
    ``mr_ucl`` = 3.267·MR̄, the upper limit of the moving-range chart; ``sd`` = s, the overall
    sample standard deviation (n − 1 in the denominator).

    The centre needs one point and the spreads two. The limits are given from
    ``MIN_POINTS_FOR_LIMITS`` points on and are ``None`` below; ``note`` then says why. When
    every point is equal σ̂ is 0 and the limits equal the centre; the note says so too.
    """

    n: int
    center: float | None
    mr_bar: float | None
    sigma: float | None
    ucl: float | None
    lcl: float | None
    mr_ucl: float | None
    sd: float | None
    note: str | None = None

    @property
    def has_limits(self) -> bool:
        return self.ucl is not None and self.lcl is not None


@dataclass(frozen=True)
class Signal:
    """One Nelson signal: its ``rule`` (1–4), the ``index`` (from 0) of the point where the
    pattern completes, and what was seen, in words."""

    rule: int
    index: int
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "index": self.index, "description": self.description}


@dataclass(frozen=True)
class Capability:
    """Process capability of ``n`` points against the specification limits.

    Cpk = min(USL − x̄, x̄ − LSL) / (3σ̂) with the within (moving-range) σ̂; Ppk is the same
    with the overall sample SD s. With one limit only, its side alone is used. The 95 %
    confidence interval of Cpk is Bissell's: Cpk ± 1.96·√(1/(9n) + Cpk² / (2(n − 1))).
    """

    n: int
    mean: float
    sigma_within: float
    sigma_overall: float
    cpk: float
    ppk: float
    cpk_ci95: tuple[float, float]

    def as_dict(self) -> dict[str, Any]:
        """The ``capability`` object of the API's trend shape, indices rounded half up."""
        low, high = self.cpk_ci95
        return {
            "n": self.n,
            "cpk": _reported(self.cpk, INDEX_DECIMALS),
            "ppk": _reported(self.ppk, INDEX_DECIMALS),
            "cpk_ci95": [_reported(low, INDEX_DECIMALS), _reported(high, INDEX_DECIMALS)],
        }


@dataclass(frozen=True)
class Trend:
    """The chart, its signals and the capability (or ``None``) of one series."""

    chart: Chart
    signals: list[Signal] = field(default_factory=list)
    capability: Capability | None = None

    def as_dict(self) -> dict[str, Any]:
        """The numbers of the API's trend shape, rounded half up for reporting.

        Centre and limits to 2 decimals, MR̄, σ̂ and s to 4, Cpk and Ppk to 2. Signals carry
        the index of their point; the service names the batch at that index.
        """
        chart = self.chart
        return {
            "n": chart.n,
            "center": _optional(chart.center, CENTRE_DECIMALS),
            "mr_bar": _optional(chart.mr_bar, SIGMA_DECIMALS),
            "sigma": _optional(chart.sigma, SIGMA_DECIMALS),
            "ucl": _optional(chart.ucl, CENTRE_DECIMALS),
            "lcl": _optional(chart.lcl, CENTRE_DECIMALS),
            "mr_ucl": _optional(chart.mr_ucl, SIGMA_DECIMALS),
            "sd": _optional(chart.sd, SIGMA_DECIMALS),
            "note": chart.note,
            "signals": [signal.as_dict() for signal in self.signals],
            "capability": None if self.capability is None else self.capability.as_dict(),
        }


# --- the chart ------------------------------------------------------------------------------


def individuals_chart(values: Sequence[float] | NDArray[np.floating]) -> Chart:
    """The individuals and moving-range chart of ``values`` (see ``Chart`` for the formulas)."""
    x = _series(values)
    n = int(x.size)
    if n == 0:
        return Chart(0, None, None, None, None, None, None, None, "There are no points to chart yet.")
    center = float(np.mean(x))
    if n == 1:
        return Chart(1, center, None, None, None, None, None, None, _few_points_note(1))
    mr_bar = float(np.mean(np.abs(np.diff(x))))
    sigma = mr_bar / D2
    sd = float(np.std(x, ddof=1))
    if n < MIN_POINTS_FOR_LIMITS:
        return Chart(n, center, mr_bar, sigma, None, None, None, sd, _few_points_note(n))
    note = None
    if sigma == 0:
        note = "All points are equal: the spread is zero, so the control limits equal the centre."
    return Chart(
        n=n,
        center=center,
        mr_bar=mr_bar,
        sigma=sigma,
        ucl=center + SIGMA_MULTIPLE * sigma,
        lcl=center - SIGMA_MULTIPLE * sigma,
        mr_ucl=D4 * mr_bar,
        sd=sd,
        note=note,
    )


def _few_points_note(n: int) -> str:
    points = "point" if n == 1 else "points"
    return f"Control limits are shown from {MIN_POINTS_FOR_LIMITS} points on; this series has {n} {points}."


# --- Nelson rules ---------------------------------------------------------------------------


def signals(values: Sequence[float] | NDArray[np.floating], centre: float, sigma: float) -> list[Signal]:
    """Nelson rules 1–4 on ``values`` against a chart of ``centre`` and ``sigma``.

    1. A point beyond 3σ̂: strictly more than 3σ̂ from the centre (a point on a limit is
       inside). Each such point is a signal of its own.
    2. Nine points in a row on one side of the centre, all strictly above or all strictly
       below. A point exactly on the centre belongs to neither side and breaks the run.
    3. Six points in a row steadily increasing or decreasing, i.e. five consecutive
       increases (or decreases). Two equal consecutive values break the run. A rise that
       turns into a fall shares its peak: 1 2 3 4 5 6 5 4 3 2 1 is two runs of six.
    4. Fourteen points in a row alternating up and down, i.e. thirteen consecutive
       differences whose signs alternate. An equal consecutive value breaks the run.

    A run that goes on raises its signal once, at the point where it first completes the
    rule (the 9th, 6th or 14th point); a new run after a break raises it again. Comparisons
    use the unrounded centre and σ̂. Signals come in order of their point, then of the rule.
    """
    x = _series(values)
    if not (math.isfinite(centre) and math.isfinite(sigma)) or sigma < 0:
        raise ValueError("the centre and sigma must be finite numbers, sigma zero or more")
    found: list[Signal] = []
    if x.size == 0:
        return found

    # Distances from the centre without binary noise: 27 × 3.1 averages to 3.0999999999999996,
    # and a point of 3.1 is on that centre, not above it.
    dev = np.round(x - centre, _NOISE_DECIMALS)
    reach = round(SIGMA_MULTIPLE * sigma, _NOISE_DECIMALS)

    # Rule 1: every point beyond the limits.
    for i in np.flatnonzero(dev > reach):
        found.append(Signal(1, int(i), "A point above the upper control limit (more than 3 sigma)."))
    for i in np.flatnonzero(dev < -reach):
        found.append(Signal(1, int(i), "A point below the lower control limit (more than 3 sigma)."))

    # Rule 2: runs of one side (+1 above, −1 below, 0 on the centre breaks).
    side = np.sign(dev).astype(np.int8)
    for i in _run_completions(side, RULE2_POINTS):
        where = "above" if side[i] > 0 else "below"
        found.append(Signal(2, int(i), f"Nine points in a row {where} the centre line."))

    if x.size > 1:
        step = np.sign(np.round(np.diff(x), _NOISE_DECIMALS)).astype(np.int8)  # from point j to j + 1
        # Rule 3: runs of steps of one direction; 5 steps = 6 points, completing at j + 1.
        for j in _run_completions(step, RULE3_POINTS - 1):
            where = "increasing" if step[j] > 0 else "decreasing"
            found.append(Signal(3, int(j) + 1, f"Six points in a row steadily {where}."))
        # Rule 4: alternating steps have a constant sign once every other step is flipped.
        flip = np.where(np.arange(step.size) % 2 == 0, 1, -1).astype(np.int8)
        for j in _run_completions(step * flip, RULE4_POINTS - 1):
            found.append(Signal(4, int(j) + 1, "Fourteen points in a row alternating up and down."))

    found.sort(key=lambda s: (s.index, s.rule))
    return found


def _run_completions(labels: NDArray[np.int8], length: int) -> NDArray[np.intp]:
    """Positions where a run of ``length`` equal, non-zero labels completes.

    The run length ending at each position is the distance to the last start of a run (a
    position whose label is 0 or differs from the one before), found with a cumulative
    maximum; a run is reported where that length first equals ``length``, so once per run.
    """
    if labels.size < length:
        return np.empty(0, dtype=np.intp)
    positions = np.arange(labels.size)
    starts = np.ones(labels.size, dtype=bool)
    starts[1:] = labels[1:] != labels[:-1]
    starts |= labels == 0
    last_start = np.maximum.accumulate(np.where(starts, positions, 0))
    run = positions - last_start + 1
    return np.flatnonzero((run == length) & (labels != 0))


# --- capability -----------------------------------------------------------------------------


def capability(
    values: Sequence[float] | NDArray[np.floating],
    lsl: float | None,
    usl: float | None,
    sigma_within: float,
) -> Capability | None:
    """Cpk, Ppk and Bissell's 95 % interval of Cpk (see ``Capability`` for the formulas).

    ``None`` under ``MIN_POINTS_FOR_CAPABILITY`` points, without any specification limit, or
    when either spread is zero (every point equal: the index would be infinite).
    """
    x = _series(values)
    _check_limits(lsl, usl)
    if not math.isfinite(sigma_within) or sigma_within < 0:
        raise ValueError("the within sigma must be a finite number, zero or more")
    n = int(x.size)
    if n < MIN_POINTS_FOR_CAPABILITY or (lsl is None and usl is None):
        return None
    mean = float(np.mean(x))
    sd = float(np.std(x, ddof=1))
    if sigma_within == 0 or sd == 0:
        return None
    cpk = _index(mean, lsl, usl, sigma_within)
    ppk = _index(mean, lsl, usl, sd)
    half = Z95 * math.sqrt(1 / (9 * n) + cpk**2 / (2 * (n - 1)))
    return Capability(
        n=n,
        mean=mean,
        sigma_within=sigma_within,
        sigma_overall=sd,
        cpk=cpk,
        ppk=ppk,
        cpk_ci95=(cpk - half, cpk + half),
    )


def process_performance(
    values: Sequence[float] | NDArray[np.floating], lsl: float | None, usl: float | None
) -> float | None:
    """Ppk = min(USL − x̄, x̄ − LSL) / (3s) with the overall sample SD s, for any number of
    points (two at least). ``None`` without a limit, with fewer than two points or when s is 0.
    """
    x = _series(values)
    _check_limits(lsl, usl)
    if x.size < 2 or (lsl is None and usl is None):
        return None
    sd = float(np.std(x, ddof=1))
    if sd == 0:
        return None
    return _index(float(np.mean(x)), lsl, usl, sd)


def _index(mean: float, lsl: float | None, usl: float | None, sigma: float) -> float:
    """min(USL − x̄, x̄ − LSL) / (3σ), over the limits that exist."""
    distances = []
    if usl is not None:
        distances.append(usl - mean)
    if lsl is not None:
        distances.append(mean - lsl)
    return min(distances) / (SIGMA_MULTIPLE * sigma)


# --- the whole trend ------------------------------------------------------------------------


def trend(
    values: Sequence[float] | NDArray[np.floating],
    lsl: float | None = None,
    usl: float | None = None,
) -> Trend:
    """Chart, signals and capability of one series.

    Signals are looked for only once the chart has limits (``MIN_POINTS_FOR_LIMITS`` points):
    a centre of fewer points is not established enough to judge runs against it. Capability
    needs ``MIN_POINTS_FOR_CAPABILITY`` points and at least one specification limit.
    """
    x = _series(values)
    _check_limits(lsl, usl)
    chart = individuals_chart(x)
    if not chart.has_limits:
        return Trend(chart)
    assert chart.center is not None and chart.sigma is not None
    return Trend(
        chart=chart,
        signals=signals(x, chart.center, chart.sigma),
        capability=capability(x, lsl, usl, chart.sigma),
    )


# --- helpers --------------------------------------------------------------------------------


def _series(values: Sequence[float] | NDArray[np.floating]) -> NDArray[np.float64]:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("a trend needs a flat list of values")
    if not np.all(np.isfinite(x)):
        raise ValueError("every value of a trend must be a finite number")
    return x


def _check_limits(lsl: float | None, usl: float | None) -> None:
    for name, limit in (("lower", lsl), ("upper", usl)):
        if limit is not None and not math.isfinite(limit):
            raise ValueError(f"the {name} specification limit must be a finite number")
    if lsl is not None and usl is not None and lsl > usl:
        raise ValueError("the lower specification limit must not exceed the upper one")


def _reported(value: float, decimals: int) -> float:
    """Round a computed number half up for reporting, after dropping binary noise."""
    rounded: Decimal = round_half_up(round_half_up(value, _NOISE_DECIMALS), decimals)
    return float(rounded)


def _optional(value: float | None, decimals: int) -> float | None:
    return None if value is None else _reported(value, decimals)
