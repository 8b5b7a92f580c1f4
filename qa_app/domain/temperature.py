"""Temperature series of a storage unit: mean kinetic temperature, excursions, classification.

The rules are those of ``docs/domain.md`` §6 (USP <1079.2>, USP <659>, the Stimuli proposal in
PF 44(4)). Everything here is pure and works on numpy arrays so that a year of one-minute
readings (525,600) is summarised in well under a second.

Representation: times are **epoch seconds (UTC) as float64** inside this module. Callers may pass
timezone-aware datetimes, numpy ``datetime64`` values (taken as UTC) or epoch seconds; every
public function converts with :func:`to_epoch_seconds`, and reported times come back as aware
UTC datetimes. Readings must be sorted by strictly increasing time. Values are returned raw;
whoever reports them rounds with :func:`qa_app.domain.rounding.round_half_up`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qa_app.domain.rounding import round_half_up

ACTIVATION_K = 10_000.0
"""ΔH/R in kelvin: 83.144 kJ/mol / 8.3144 J/(mol·K) = 10 000 K exactly (USP <1079.2>)."""

KELVIN_OFFSET = 273.15
GAP_FACTOR = 3.0
"""An interval longer than this many median intervals is a data gap (domain.md §6)."""

MAX_ALARM_DELAY_MINUTES = 60
"""Decision: an alarm delay filters brief readings only; a longer one would let a day at 14 °C in
a refrigerator (24-hour MKT far above 8 °C) pass unrecorded, so no unit's delay counts for more."""

MKT_DECIMALS = 2
"""MKT is reported, and therefore judged against its limit, at two decimals."""

_TIME_TOLERANCE_S = 1e-6
"""Timestamps carry microseconds; float64 epoch seconds are exact to well under that."""

ALLOWABLE = "allowable"
NEEDS_DISPOSITION = "needs_disposition"
Classification = Literal["allowable", "needs_disposition"]

TimesLike = Sequence[datetime] | ArrayLike
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Condition:
    """A storage condition with its label range and the USP allowance for excursions.

    ``allowance_min_c`` / ``allowance_max_c`` are ``None`` when no excursion is ever
    allowable (freezer). ``spike_max_c`` allows short spikes above the allowance up to that
    temperature for at most ``spike_max_duration`` in total. ``mkt_window`` is ``None`` when
    MKT does not apply.
    """

    name: str
    min_c: float
    max_c: float
    allowance_min_c: float | None
    allowance_max_c: float | None
    spike_max_c: float | None
    spike_max_duration: timedelta | None
    mkt_max_c: float | None
    mkt_window: timedelta | None


ROOM = Condition("room", 20.0, 25.0, 15.0, 30.0, 40.0, timedelta(hours=24), 25.0, timedelta(days=30))
# Spikes to 25 °C need a manufacturer's instruction, which compounded preparations lack.
REFRIGERATED = Condition("refrigerated", 2.0, 8.0, 0.0, 15.0, None, None, 8.0, timedelta(hours=24))
FREEZER = Condition("freezer", -25.0, -10.0, None, None, None, None, None, None)

CONDITIONS: dict[str, Condition] = {c.name: c for c in (ROOM, REFRIGERATED, FREEZER)}


def _condition(condition: Condition | str) -> Condition:
    if isinstance(condition, Condition):
        return condition
    try:
        return CONDITIONS[condition]
    except KeyError:
        raise ValueError(f"unknown storage condition {condition!r}") from None


def default_limits(condition: Condition | str) -> tuple[float, float]:
    """The label range a new storage unit gets when the admin gives no limits (api.md)."""
    found = _condition(condition)
    return found.min_c, found.max_c


@dataclass(frozen=True)
class DataGap:
    """Time without readings: longer than 3 × the median interval, so nothing is known."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Summary:
    """What the summary endpoint reports; values are raw (round half-up when reporting)."""

    count: int
    min_c: float | None
    max_c: float | None
    mean_c: float | None
    mkt_c: float | None
    gaps: tuple[DataGap, ...]


@dataclass(frozen=True)
class Excursion:
    """A confirmed excursion, with indices into the series it was found in.

    ``start_index`` is the first outside reading; ``stop_index`` is exclusive: the end reading
    (the first reading back inside that held) or the number of readings while the excursion is
    still open (``end`` is ``None``). ``min_c``/``max_c`` cover ``start_index:stop_index``.
    """

    start: datetime
    end: datetime | None
    duration_minutes: float
    min_c: float
    max_c: float
    start_index: int
    stop_index: int

    @property
    def is_open(self) -> bool:
        return self.end is None


def to_epoch_seconds(times: TimesLike) -> FloatArray:
    """Convert times to float64 epoch seconds, refusing naive datetimes.

    A naive datetime has no zone, so its instant is unknown; storing it as UTC could shift an
    excursion by hours. ``datetime64`` values carry no zone either, but numpy defines them as
    UTC, so they are accepted as such.
    """
    if isinstance(times, np.ndarray) and times.dtype.kind in "iuf":
        values = times.astype(np.float64)
    else:
        items = times if isinstance(times, np.ndarray) else list(times)  # type: ignore[arg-type]
        if len(items) and isinstance(items[0], datetime):
            if any(not isinstance(x, datetime) or x.utcoffset() is None for x in items):
                raise ValueError("times must be timezone-aware datetimes")
            values = np.array([x.timestamp() for x in items], dtype=np.float64)
        else:
            array = np.asarray(items)
            if array.dtype.kind == "M":
                if np.isnat(array).any():
                    raise ValueError("times must not contain NaT")
                values = array.astype("datetime64[us]").astype(np.int64) / 1e6
            elif array.size == 0 or array.dtype.kind in "iuf":
                values = array.astype(np.float64)
            else:
                raise ValueError("times must be datetimes, datetime64 values or epoch seconds")
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise ValueError("times must be a one-dimensional series of finite values")
    return values


def from_epoch_seconds(seconds: float) -> datetime:
    """An aware UTC datetime for reporting a time computed here."""
    return datetime.fromtimestamp(float(seconds), tz=UTC)


def _series(times: TimesLike, temps_c: ArrayLike) -> tuple[FloatArray, FloatArray]:
    t = to_epoch_seconds(times)
    temps = np.asarray(temps_c, dtype=np.float64)
    if temps.ndim != 1 or temps.shape != t.shape:
        raise ValueError("times and temperatures must be one-dimensional and of equal length")
    if not np.all(np.isfinite(temps)):
        raise ValueError("temperatures must be finite")
    if np.any(np.diff(t) <= 0):
        raise ValueError("times must be strictly increasing")
    return t, temps


def _weights(t: FloatArray) -> tuple[FloatArray, NDArray[np.intp]]:
    """Weights in seconds and the indices of the readings that precede a data gap."""
    if t.size <= 1:
        return np.ones(t.size), np.empty(0, dtype=np.intp)
    intervals = np.diff(t)
    median = float(np.median(intervals))
    gap_before = np.flatnonzero(intervals > GAP_FACTOR * median)
    weights = np.append(intervals, median)
    weights[gap_before] = median
    return weights, gap_before


def reading_weights(times: TimesLike) -> tuple[FloatArray, list[DataGap]]:
    """The time each reading stands for (seconds), and the data gaps (domain.md decision).

    Each reading stands for the time to the next one, so equally spaced readings weigh equally
    and MKT reduces to the published formula. The last reading stands for the median interval.
    Across a data gap nothing is known, so the reading before it stands for one median interval
    rather than letting one stale value weigh for days. One reading alone weighs 1.
    """
    t = to_epoch_seconds(times)
    if np.any(np.diff(t) <= 0):
        raise ValueError("times must be strictly increasing")
    weights, gap_before = _weights(t)
    gaps = [DataGap(from_epoch_seconds(t[i]), from_epoch_seconds(t[i + 1])) for i in gap_before]
    return weights, gaps


def _temps_and_weights(temps_c: ArrayLike, weights: ArrayLike | None) -> tuple[FloatArray, ...]:
    temps = np.asarray(temps_c, dtype=np.float64)
    w = np.ones_like(temps) if weights is None else np.asarray(weights, dtype=np.float64)
    if temps.ndim != 1 or w.shape != temps.shape:
        raise ValueError("temperatures and weights must be one-dimensional and of equal length")
    if not (np.all(np.isfinite(temps)) and np.all(np.isfinite(w))) or np.any(w < 0):
        raise ValueError("temperatures and weights must be finite; weights not negative")
    kelvin = temps + KELVIN_OFFSET
    if np.any(kelvin <= 0):
        raise ValueError("temperatures must be above absolute zero")
    return kelvin, w


def mean_kinetic_temperature(temps_c: ArrayLike, weights: ArrayLike | None = None) -> float | None:
    """MKT in °C (USP <1079.2>): the isothermal temperature with the same total degradation.

    Weighted form: MKT = (ΔH/R) / −ln(Σ wᵢ·exp(−ΔH/(R·Tᵢ)) / Σ wᵢ). Without weights every
    reading counts once. ``None`` when there are no readings. The sum is taken as a
    log-sum-exp (shifted by the largest exponent), so its result does not depend on the size
    of the weights or on exp() staying clear of underflow.
    """
    kelvin, w = _temps_and_weights(temps_c, weights)
    if kelvin.size == 0:
        return None
    if not np.any(w > 0):
        raise ValueError("at least one weight must be positive")
    exponents = -ACTIVATION_K / kelvin
    shift = float(exponents[w > 0].max())
    log_mean = shift + np.log(np.sum(w * np.exp(exponents - shift)) / np.sum(w))
    return float(ACTIVATION_K / -log_mean - KELVIN_OFFSET)


def mkt_terms(temps_c: ArrayLike, weights: ArrayLike | None = None) -> tuple[float, float]:
    """``(Σ wᵢ, Σ wᵢ·exp(−ΔH/(R·Tᵢ)))`` so a caller can store sums per hour and add them up.

    MKT over any set of chunks is then :func:`mkt_from_terms` of the summed terms. The
    exponential terms are tiny (about 1e-17 at −25 °C, 1e-12 at 85 °C) but float64 holds
    numbers down to 1e-308 with full relative precision, so plain sums lose nothing.
    Weights should come from :func:`reading_weights` over the whole series, not per chunk.
    """
    kelvin, w = _temps_and_weights(temps_c, weights)
    return float(np.sum(w)), float(np.sum(w * np.exp(-ACTIVATION_K / kelvin)))


def mkt_from_terms(sum_w: float, sum_w_exp: float) -> float | None:
    """MKT in °C from summed :func:`mkt_terms`; ``None`` when nothing was summed."""
    if sum_w < 0 or sum_w_exp < 0:
        raise ValueError("sums of weights and terms cannot be negative")
    if sum_w == 0:
        return None
    if sum_w_exp == 0:
        raise ValueError("exponential terms underflowed: temperatures are implausibly low")
    return float(ACTIVATION_K / (np.log(sum_w) - np.log(sum_w_exp)) - KELVIN_OFFSET)


def summarise(times: TimesLike, temps_c: ArrayLike) -> Summary:
    """Count, extremes, arithmetic mean of readings, time-weighted MKT and the data gaps.

    The mean is the plain mean of readings, as a thermometer log shows it; MKT is weighted by
    the time each reading stands for, because degradation accumulates over time, not readings.
    """
    t, temps = _series(times, temps_c)
    if t.size == 0:
        return Summary(0, None, None, None, None, ())
    weights, gap_before = _weights(t)
    gaps = tuple(DataGap(from_epoch_seconds(t[i]), from_epoch_seconds(t[i + 1])) for i in gap_before)
    return Summary(
        count=int(t.size),
        min_c=float(temps.min()),
        max_c=float(temps.max()),
        mean_c=float(temps.mean()),
        mkt_c=mean_kinetic_temperature(temps, weights),
        gaps=gaps,
    )


def _held(t: FloatArray, first: int, stop: int, delay_s: float) -> bool:
    """Whether a run of readings ``first:stop`` lasted the delay.

    A run lasts until the next reading that leaves it (a reading stands for the time to the
    next one), or until the last reading when the data end within it.
    """
    until = t[stop] if stop < t.size else t[-1]
    return bool(until - t[first] >= delay_s - _TIME_TOLERANCE_S)


def beyond_allowance(condition: Condition | str, temps_c: ArrayLike) -> NDArray[np.bool_]:
    """Readings beyond the condition's allowance (room: below 15 °C or above 40 °C;
    refrigerator: below 0 °C or above 15 °C): each counts at once, whatever the alarm delay
    (domain.md decision). A freezer has no allowance: its readings keep the alarm delay."""
    found = _condition(condition)
    temps = np.asarray(temps_c, dtype=np.float64)
    if found.allowance_min_c is None or found.allowance_max_c is None:
        return np.zeros(temps.shape, dtype=bool)
    ceiling = found.allowance_max_c if found.spike_max_c is None else found.spike_max_c
    return (temps < found.allowance_min_c) | (temps > ceiling)


def find_excursions(
    times: TimesLike,
    temps_c: ArrayLike,
    min_c: float,
    max_c: float,
    alarm_delay_minutes: float,
    *,
    condition: Condition | str | None = None,
    known: Sequence[tuple[float, float]] = (),
) -> list[Excursion]:
    """Excursions outside ``[min_c, max_c]`` (limits inclusive) as monitoring systems alarm.

    Decisions where domain.md leaves a choice:

    - An excursion starts at the first outside reading and counts when the run of outside
      readings lasts at least the alarm delay, measured to the first reading back inside (or
      the last reading). A return inside before the delay resets the alarm timer, as on the
      units' own alarms. A data gap while outside counts as outside: nothing shows it returned.
    - It ends at the first reading back inside whose inside run lasts the delay by the same
      measure; a shorter return is part of the excursion.
    - When the data end before a return has held, the excursion is open: ``end`` is ``None``
      and the duration runs to the last reading. A run outside that has not yet lasted the
      delay at the end of data is not (yet) an excursion.
    - A delay of 0 makes every outside reading an excursion and every return an end.
    - With ``condition``, a run holding a reading beyond the condition's allowance
      (:func:`beyond_allowance`) counts at once; such a reading is outside even when the unit's
      own limits are wider.
    - ``known`` spans (epoch seconds, ``[start, stop)``) are excursions already on record that
      may not shrink: their readings count as outside and their runs count at once, so later
      readings can lengthen them but never shorten, split or withdraw them.
    """
    t, temps = _series(times, temps_c)
    if min_c > max_c:
        raise ValueError("min_c must not exceed max_c")
    if alarm_delay_minutes < 0:
        raise ValueError("alarm delay cannot be negative")
    if t.size == 0:
        return []
    delay_s = float(alarm_delay_minutes) * 60.0
    outside = (temps < min_c) | (temps > max_c)
    at_once = np.zeros(t.size, dtype=bool) if condition is None else beyond_allowance(condition, temps)
    for begins, stops_at in known:
        at_once |= (t >= begins - _TIME_TOLERANCE_S) & (t < stops_at - _TIME_TOLERANCE_S)
    outside |= at_once
    counts_at_once = np.concatenate(([0], np.cumsum(at_once)))
    boundaries = np.flatnonzero(np.diff(outside.astype(np.int8))) + 1
    firsts = np.concatenate(([0], boundaries)).tolist()
    stops = np.concatenate((boundaries, [t.size])).tolist()
    runs = list(zip(firsts, stops, outside[firsts].tolist(), strict=True))

    excursions: list[Excursion] = []
    i = 0
    while i < len(runs):
        first, stop, is_outside = runs[i]
        now = counts_at_once[stop] > counts_at_once[first]
        if not (is_outside and (now or _held(t, first, stop, delay_s))):
            i += 1
            continue
        j = i + 1  # runs alternate, so i + 1, i + 3, ... are the returns inside
        while j < len(runs) and not _held(t, runs[j][0], runs[j][1], delay_s):
            j += 2
        end_index = runs[j][0] if j < len(runs) else None
        excursions.append(_excursion(t, temps, first, end_index))
        i = j + 1
    return excursions


def _excursion(t: FloatArray, temps: FloatArray, first: int, end_index: int | None) -> Excursion:
    stop = t.size if end_index is None else end_index
    until = t[-1] if end_index is None else t[end_index]
    during = temps[first:stop]
    return Excursion(
        start=from_epoch_seconds(t[first]),
        end=None if end_index is None else from_epoch_seconds(t[end_index]),
        duration_minutes=float(until - t[first]) / 60.0,
        min_c=float(during.min()),
        max_c=float(during.max()),
        start_index=first,
        stop_index=stop,
    )


def window_mkt_for(
    condition: Condition | str, times: TimesLike, temps_c: ArrayLike, excursion: Excursion
) -> float | None:
    """MKT over the condition's window that holds the excursion; ``None`` where MKT does not apply.

    Decision: the window *ends* at the excursion's end reading (the last reading while open)
    and reaches back the condition's length (30 days room, 24 hours refrigerated), both ends
    included. Ending there holds the whole excursion and the history the product lived
    through, uses no readings from after it, so a closed excursion's MKT never changes later.
    An excursion longer than the window is its own window. The readings are weighted as a
    window of their own (domain.md decision). ``excursion`` must come from the same series.
    """
    found = _condition(condition)
    if found.mkt_window is None:
        return None
    t, temps = _series(times, temps_c)
    last = t.size - 1 if excursion.is_open else excursion.stop_index
    window_start = min(t[last] - found.mkt_window.total_seconds(), t[excursion.start_index])
    first = int(np.searchsorted(t, window_start - _TIME_TOLERANCE_S, side="left"))
    weights, _ = _weights(t[first : last + 1])
    return mean_kinetic_temperature(temps[first : last + 1], weights)


def _seconds_above(t: FloatArray, temps: FloatArray, excursion: Excursion, limit: float) -> float:
    """Time the excursion's readings above ``limit`` stand for, to the next reading."""
    first, stop = excursion.start_index, excursion.stop_index
    following = t[first + 1 : stop + 1] if not excursion.is_open else np.append(t[first + 1 :], t[-1])
    intervals = following - t[first:stop]
    return float(np.sum(intervals[temps[first:stop] > limit]))


def gap_minutes(times: TimesLike, excursion: Excursion) -> float:
    """Minutes without readings (data gaps: intervals longer than 3 × the series' median
    interval) inside the excursion or touching it: from the reading before its start to its end
    reading. ``excursion`` must come from the same series."""
    t = to_epoch_seconds(times)
    if t.size < 2:
        return 0.0
    intervals = np.diff(t)
    median = float(np.median(intervals))
    first = max(excursion.start_index - 1, 0)
    last = min(excursion.stop_index, t.size - 1)  # the end reading, or the last while open
    touching = intervals[first:last]
    return float(np.sum(touching[touching > GAP_FACTOR * median])) / 60.0


def _c(value: float) -> str:
    return f"{value:g}".replace("-", "\u2212")


def _duration_words(minutes: float) -> str:
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest} min" if hours else f"{rest} min"


def judge_excursion(
    condition: Condition | str,
    times: TimesLike,
    temps_c: ArrayLike,
    excursion: Excursion,
    window_mkt_c: float | None,
    unobserved_minutes: float = 0.0,
) -> tuple[Classification, str]:
    """:func:`classify_excursion` with the rule that decided it, in words. A data gap inside
    the excursion or touching it (``unobserved_minutes``, from :func:`gap_minutes`) means it
    cannot be shown allowable (domain.md decision: a data gap is not evidence)."""
    found = _condition(condition)
    reasons: list[str] = []
    if found.allowance_min_c is None or found.allowance_max_c is None:
        reasons.append(f"a {found.name} excursion always needs a decision")
    else:
        t, temps = _series(times, temps_c)
        during = temps[excursion.start_index : excursion.stop_index]
        ceiling = found.allowance_max_c if found.spike_max_c is None else found.spike_max_c
        low, high = float(during.min()), float(during.max())
        if low < found.allowance_min_c:
            reasons.append(
                f"it fell to {_c(low)} °C, beyond the allowance (below {_c(found.allowance_min_c)} °C)"
            )
        if high > ceiling:
            reasons.append(f"it reached {_c(high)} °C, beyond the allowance (above {_c(ceiling)} °C)")
        if found.spike_max_duration is not None:
            spike_s = _seconds_above(t, temps, excursion, found.allowance_max_c)
            if spike_s > found.spike_max_duration.total_seconds() + _TIME_TOLERANCE_S:
                hours = found.spike_max_duration.total_seconds() / 3600
                reasons.append(
                    f"it was above {_c(found.allowance_max_c)} °C for {_duration_words(spike_s / 60)}, "
                    f"longer than the {hours:g} h a spike may last"
                )
        if found.mkt_max_c is not None:
            if window_mkt_c is None:
                reasons.append("there is no MKT for its window")
            else:
                reported = round_half_up(float(window_mkt_c), MKT_DECIMALS)
                if reported > Decimal(repr(found.mkt_max_c)):
                    reasons.append(f"the window MKT is {reported} °C, above {_c(found.mkt_max_c)} °C")
    if unobserved_minutes > 0:
        reasons.append(
            f"no readings for {_duration_words(unobserved_minutes)} during it or next to it: "
            "a data gap is not evidence"
        )
    if reasons:
        return NEEDS_DISPOSITION, "Needs disposition: " + "; ".join(reasons) + "."
    mkt = (
        "" if window_mkt_c is None else f", window MKT {round_half_up(float(window_mkt_c), MKT_DECIMALS)} °C"
    )
    return ALLOWABLE, f"Allowable: inside the {found.name} allowance{mkt}."


def classify_excursion(
    condition: Condition | str,
    times: TimesLike,
    temps_c: ArrayLike,
    excursion: Excursion,
    window_mkt_c: float | None,
) -> Classification:
    """``"allowable"`` if the excursion stays inside the condition's USP allowance, else
    ``"needs_disposition"`` (domain.md decision: classification).

    - room: every reading within 15–30 °C, or above 30 °C only up to 40 °C for at most 24 h
      in total; and the 30-day window MKT ≤ 25 °C.
    - refrigerated: every reading within 0–15 °C and the 24-hour window MKT ≤ 8 °C.
    - freezer: never allowable; any excursion needs a decision.

    The window MKT (from :func:`window_mkt_for`) is judged as it is reported, rounded half-up
    to two decimals, so the page and the decision cannot disagree; a missing MKT where one is
    required is not evidence of safety. An open excursion's classification is provisional.
    Readings are judged raw, as measured, including brief returns inside the range.
    """
    found = _condition(condition)
    if found.allowance_min_c is None or found.allowance_max_c is None:
        return NEEDS_DISPOSITION
    t, temps = _series(times, temps_c)
    during = temps[excursion.start_index : excursion.stop_index]
    ceiling = found.allowance_max_c if found.spike_max_c is None else found.spike_max_c
    if during.min() < found.allowance_min_c or during.max() > ceiling:
        return NEEDS_DISPOSITION
    if found.spike_max_duration is not None:
        spike_s = _seconds_above(t, temps, excursion, found.allowance_max_c)
        if spike_s > found.spike_max_duration.total_seconds() + _TIME_TOLERANCE_S:
            return NEEDS_DISPOSITION
    if found.mkt_max_c is not None:
        if window_mkt_c is None:
            return NEEDS_DISPOSITION
        if round_half_up(float(window_mkt_c), MKT_DECIMALS) > Decimal(repr(found.mkt_max_c)):
            return NEEDS_DISPOSITION
    return ALLOWABLE
