"""Hourly sums of a temperature series, and a window summary assembled from them.

A year of one-minute readings is 525,600 rows per unit; summarising it from raw readings on
every page view is too slow. Each hour keeps its count, sums, extremes and the weighted MKT
terms (each reading weighted by the time to the next one, as in :mod:`temperature`). A window
summary adds whole hours and reads raw readings only at its ragged edges. The data-gap rule
needs the window's median interval, which sums cannot give exactly: it is taken as the
weighted median of the hours' medians (exact for a logger's regular interval), and each hour
keeps its two longest intervals so a gap can be replaced by the median afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from qa_app.domain.temperature import (
    ACTIVATION_K,
    GAP_FACTOR,
    KELVIN_OFFSET,
    DataGap,
    Summary,
    from_epoch_seconds,
    mkt_from_terms,
)

HOUR_S = 3600.0
FloatArray = NDArray[np.float64]


def degradation_terms(temps_c: FloatArray) -> FloatArray:
    """``exp(−ΔH/(R·T))`` per reading: the quantity MKT averages."""
    return np.exp(-ACTIVATION_K / (np.asarray(temps_c, dtype=np.float64) + KELVIN_OFFSET))


@dataclass(frozen=True)
class HourSums:
    """Column arrays, one element per hour that has readings (``hour`` in epoch seconds)."""

    hour: FloatArray
    count: NDArray[np.int64]
    sum_c: FloatArray
    min_c: FloatArray
    max_c: FloatArray
    intervals: NDArray[np.int64]
    sum_w: FloatArray
    sum_w_exp: FloatArray
    median_interval: FloatArray  # NaN where the hour has no interval yet
    max_interval: FloatArray
    max_interval_at: FloatArray
    max_interval_exp: FloatArray
    second_interval: FloatArray

    def __len__(self) -> int:
        return int(self.hour.size)

    def rows(self) -> list[dict[str, float | int | None]]:
        """One mapping per hour, NaN turned into ``None`` (for storing)."""

        def clean(x: float) -> float | None:
            return None if np.isnan(x) else float(x)

        return [
            {
                "hour": float(self.hour[i]),
                "count": int(self.count[i]),
                "sum_c": float(self.sum_c[i]),
                "min_c": float(self.min_c[i]),
                "max_c": float(self.max_c[i]),
                "intervals": int(self.intervals[i]),
                "sum_w": float(self.sum_w[i]),
                "sum_w_exp": float(self.sum_w_exp[i]),
                "median_interval": clean(self.median_interval[i]),
                "max_interval": clean(self.max_interval[i]),
                "max_interval_at": clean(self.max_interval_at[i]),
                "max_interval_exp": clean(self.max_interval_exp[i]),
                "second_interval": clean(self.second_interval[i]),
            }
            for i in range(len(self))
        ]


def hourly_sums(t: FloatArray, temps_c: FloatArray, next_at: float | None) -> HourSums:
    """Sums per hour of a sorted series holding every reading of the hours it touches.

    ``next_at`` is the time of the first reading after the series (``None`` when there is
    none yet): it gives the last reading its interval.
    """
    t = np.asarray(t, dtype=np.float64)
    temps = np.asarray(temps_c, dtype=np.float64)
    following = np.append(t[1:], np.nan if next_at is None else next_at)
    dt = following - t
    has_dt = ~np.isnan(dt)
    terms = degradation_terms(temps)
    hours = np.floor(t / HOUR_S) * HOUR_S
    starts = np.flatnonzero(np.r_[True, hours[1:] != hours[:-1]]) if t.size else np.empty(0, np.intp)
    dt0 = np.where(has_dt, dt, 0.0)

    def per_hour(values: FloatArray) -> FloatArray:
        return np.add.reduceat(values, starts) if t.size else np.empty(0)

    n = len(starts)
    median = np.full(n, np.nan)
    longest, longest_at, longest_exp, second = (np.full(n, np.nan) for _ in range(4))
    bounds = np.append(starts, t.size)
    for k in range(n):
        a, b = bounds[k], bounds[k + 1]
        d = dt[a:b]
        valid = np.flatnonzero(~np.isnan(d))
        if valid.size == 0:
            continue
        median[k] = np.median(d[valid])
        top = valid[np.argmax(d[valid])]
        longest[k], longest_at[k], longest_exp[k] = d[top], t[a + top], terms[a + top]
        if valid.size > 1:
            second[k] = np.partition(d[valid], -2)[-2]
    return HourSums(
        hour=hours[starts] if t.size else np.empty(0),
        count=np.diff(bounds).astype(np.int64),
        sum_c=per_hour(temps),
        min_c=np.minimum.reduceat(temps, starts) if t.size else np.empty(0),
        max_c=np.maximum.reduceat(temps, starts) if t.size else np.empty(0),
        intervals=per_hour(has_dt.astype(np.float64)).astype(np.int64),
        sum_w=per_hour(dt0),
        sum_w_exp=per_hour(dt0 * terms),
        median_interval=median,
        max_interval=longest,
        max_interval_at=longest_at,
        max_interval_exp=longest_exp,
        second_interval=second,
    )


@dataclass(frozen=True)
class RawPart:
    """Readings of a window's edge, read raw; ``next_at`` is the reading after the last one
    (``None`` for the window's final part: its last reading stands for the median interval)."""

    t: FloatArray
    temps_c: FloatArray
    next_at: float | None


def _weighted_median(values: FloatArray, weights: FloatArray) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])


def window_median(hours: HourSums, parts: list[RawPart]) -> float | None:
    """The window's median interval: hours' medians weighted by their interval counts, and
    every raw interval; ``None`` with fewer than two readings."""
    has = ~np.isnan(hours.median_interval)
    values = [hours.median_interval[has]]
    weights = [hours.intervals[has].astype(np.float64)]
    for part in parts:
        following = part.t[1:] if part.next_at is None else np.append(part.t[1:], part.next_at)
        values.append(following - part.t[: following.size])
        weights.append(np.ones(following.size))
    all_values, all_weights = np.concatenate(values), np.concatenate(weights)
    if all_values.size == 0 or all_weights.sum() == 0:
        return None
    return _weighted_median(all_values, all_weights)


def combine(hours: HourSums, parts: list[RawPart]) -> Summary:
    """The summary of a window made of whole ``hours`` and raw ``parts`` (the edges).

    Matches :func:`temperature.summarise` over the same readings whenever the window's median
    interval equals the weighted median of the hours' medians (a regular logger), and stays
    within hundredths of a degree otherwise. Hours with two or more gaps must be passed raw.
    """
    count = int(hours.count.sum()) + sum(int(p.t.size) for p in parts)
    if count == 0:
        return Summary(0, None, None, None, None, ())
    if count == 1:
        only = next(p for p in parts if p.t.size) if any(p.t.size for p in parts) else None
        if only is not None:
            value = float(only.temps_c[0])
            return Summary(1, value, value, value, value, ())
    median = window_median(hours, parts)
    gap_limit = np.inf if median is None else GAP_FACTOR * median
    sum_w = float(hours.sum_w.sum())
    sum_w_exp = float(hours.sum_w_exp.sum())
    gaps: list[DataGap] = []
    gapped = np.flatnonzero(hours.max_interval > gap_limit)
    if median is not None and gapped.size:
        excess = hours.max_interval[gapped] - median
        sum_w -= float(excess.sum())
        sum_w_exp -= float((excess * hours.max_interval_exp[gapped]).sum())
        gaps.extend(
            DataGap(from_epoch_seconds(at), from_epoch_seconds(at + length))
            for at, length in zip(hours.max_interval_at[gapped], hours.max_interval[gapped], strict=True)
        )
    total_c = float(hours.sum_c.sum())
    low = [float(hours.min_c.min())] if len(hours) else []
    high = [float(hours.max_c.max())] if len(hours) else []
    for part in parts:
        if part.t.size == 0:
            continue
        following = np.append(part.t[1:], np.nan if part.next_at is None else part.next_at)
        w = following - part.t
        if median is not None:
            w[np.isnan(w)] = median
            gap = w > gap_limit
            gaps.extend(
                DataGap(from_epoch_seconds(part.t[i]), from_epoch_seconds(following[i]))
                for i in np.flatnonzero(gap)
            )
            w[gap] = median
        else:
            w[np.isnan(w)] = 1.0
        sum_w += float(w.sum())
        sum_w_exp += float((w * degradation_terms(part.temps_c)).sum())
        total_c += float(part.temps_c.sum())
        low.append(float(part.temps_c.min()))
        high.append(float(part.temps_c.max()))
    return Summary(
        count=count,
        min_c=min(low),
        max_c=max(high),
        mean_c=total_c / count,
        mkt_c=mkt_from_terms(sum_w, sum_w_exp),
        gaps=tuple(sorted(gaps, key=lambda g: g.start)),
    )
