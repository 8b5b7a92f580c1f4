"""Temperature charts as SVG, drawn on the server: no script, no CDN, the same picture in print.

A pure function of plain data (epoch seconds and °C as arrays, the unit's limits, the
excursion spans): no Flask, no database. Colours are SVG presentation attributes, never
``style`` attributes, which the Content-Security-Policy blocks. Times are UTC instants; the
ticks fall on the pharmacy's local wall-clock hours, days and months.

A series longer than the plot is wide is reduced to one point per pixel column, with the
column's lowest and highest values drawn as a band, so a year of readings stays a small page.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from html import escape
from math import ceil, floor, log10

import numpy as np
from numpy.typing import ArrayLike

from qa_app.domain.temperature import GAP_FACTOR

WIDTH, HEIGHT = 800, 300
LEFT, RIGHT, TOP, BOTTOM = 56.0, 784.0, 16.0, 236.0
"""The plot area: x from LEFT to RIGHT, y from TOP (warmest) to BOTTOM (coldest)."""
PLOT_WIDTH = RIGHT - LEFT
MAX_TICKS = 12
MARKERS_UP_TO = 60
"""Fewer points than this are also drawn as dots (manual readings stand out)."""

LINE = "#1565c0"
BAND = "#90caf9"
LIMIT = "#c62828"
GRID = "#d0d0d0"
TEXT = "#444444"
SHADES = {
    "needs_disposition": ("#c62828", "0.22", "Excursion: needs disposition"),
    "allowable": ("#f9a825", "0.30", "Excursion: allowable"),
    "dispositioned": ("#6d4c41", "0.22", "Excursion: dispositioned"),
}
FONT = 'font-family="system-ui, sans-serif" font-size="11"'

# (unit, step, approximate seconds): the first step giving at most MAX_TICKS ticks is used.
TICK_STEPS = (
    [("minute", n, n * 60) for n in (10, 15, 30)]
    + [("hour", n, n * 3600) for n in (1, 2, 3, 6, 12)]
    + [("day", n, n * 86400) for n in (1, 2, 3, 7, 14)]
    + [("month", n, n * 30.44 * 86400) for n in (1, 2, 3, 6, 12)]
)


@dataclass(frozen=True)
class Span:
    """An excursion to shade: ``end`` is ``None`` while it goes on (shaded to the window's end)."""

    start: datetime
    end: datetime | None
    classification: str
    label: str
    href: str | None = None


def celsius(value: float, decimals: int = 1) -> str:
    """A temperature as the pages print it, with a true minus sign."""
    return f"{value:.{decimals}f}".replace("-", "\u2212")


def nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    if raw <= 0:
        return 1.0
    power = 10 ** floor(log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power * (1 + 1e-9):
            return factor * power
    return 10 * power


def temperature_axis(values: Sequence[float]) -> tuple[float, float, float]:
    """``(lowest, highest, step)`` of the °C axis: the values with a margin, on round ticks."""
    low, high = min(values), max(values)
    pad = max(0.5, 0.1 * (high - low))
    step = nice_step((high - low + 2 * pad) / 5)
    return floor((low - pad) / step) * step, ceil((high + pad) / step) * step, step


def _tick_step(start: datetime, end: datetime) -> tuple[str, int]:
    span = (end - start).total_seconds()
    for unit, step, seconds in TICK_STEPS:
        if span / seconds <= MAX_TICKS:
            return unit, step
    unit, step, seconds = TICK_STEPS[-1]
    return unit, step * ceil(span / seconds / MAX_TICKS)


def time_ticks(start: datetime, end: datetime, zone: tzinfo) -> list[tuple[datetime, str]]:
    """Ticks on local wall-clock times (hours, midnights, firsts of the month) with their labels."""
    unit, step = _tick_step(start, end)
    local = start.astimezone(zone)
    if unit == "month":
        month = (local.year * 12 + local.month - 1) // step * step
        moments = []
        while True:
            moment = datetime(month // 12, month % 12 + 1, 1, tzinfo=zone)
            if moment > end:
                break
            moments.append(moment)
            month += step
    elif unit == "day":
        moments = []
        moment = local.replace(hour=0, minute=0, second=0, microsecond=0)
        while moment <= end:  # wall-clock arithmetic: ticks stay on local midnight across DST
            moments.append(moment)
            moment = moment + timedelta(days=step)
    else:
        moments = _wall_clock_marks(start, end, zone, step * 60 if unit == "hour" else step)
    ticks = []
    for moment in moments:
        if moment < start:
            continue
        if unit == "month":
            label = moment.strftime("%b %Y" if moment.month == 1 or not ticks else "%b")
        elif unit == "day" or (moment.hour, moment.minute) == (0, 0):
            label = moment.strftime("%d %b")
        elif _repeated(moment):
            label = moment.strftime("%H:%M %Z")  # the hour the clocks go back over happens twice
        else:
            label = moment.strftime("%H:%M")
        ticks.append((moment, label))
    return ticks


MARK_GRAIN = timedelta(minutes=15)
"""Every zone's offset from UTC is a whole number of quarter hours."""


def _wall_clock_marks(start: datetime, end: datetime, zone: tzinfo, every_minutes: int) -> list[datetime]:
    """The real instants from ``start`` to ``end`` whose local clock reading is a multiple of
    ``every_minutes`` since midnight: a skipped hour gets no mark, a repeated hour gets two."""
    first = datetime.fromtimestamp(
        start.timestamp() // MARK_GRAIN.total_seconds() * MARK_GRAIN.total_seconds(), UTC
    )
    marks = []
    instant = first
    while instant <= end:
        local = instant.astimezone(zone)
        if (local.hour * 60 + local.minute) % every_minutes == 0 and local.second == 0:
            marks.append(local)
        instant += MARK_GRAIN
    return marks


def _repeated(moment: datetime) -> bool:
    """Whether this local clock reading happens twice (the hour after the clocks go back)."""
    return moment.replace(fold=1 - moment.fold).utcoffset() != moment.utcoffset()


def _segments(t: np.ndarray) -> list[slice]:
    """Runs of points without a data gap between them (3 × the median interval, domain.md §6)."""
    if t.size < 3:
        return [slice(0, t.size)] if t.size else []
    intervals = np.diff(t)
    breaks = np.flatnonzero(intervals > GAP_FACTOR * float(np.median(intervals))) + 1
    edges = [0, *breaks.tolist(), t.size]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _per_column(x, mean, low, high):
    """One point per pixel column: the mean of the column's means, its lowest and highest."""
    column = np.floor(x).astype(np.int64)
    first = np.flatnonzero(np.r_[True, np.diff(column) != 0])
    counts = np.diff(np.r_[first, x.size])
    return (
        np.add.reduceat(x, first) / counts,
        np.add.reduceat(mean, first) / counts,
        np.minimum.reduceat(low, first),
        np.maximum.reduceat(high, first),
    )


def _number(value: float) -> str:
    return f"{value:.1f}"


def _points(xs, ys) -> str:
    return " L".join(f"{_number(x)} {_number(y)}" for x, y in zip(xs, ys, strict=True))


def temperature_chart(
    t: ArrayLike,
    mean: ArrayLike,
    low: ArrayLike | None = None,
    high: ArrayLike | None = None,
    *,
    start: datetime,
    end: datetime,
    min_c: float,
    max_c: float,
    spans: Sequence[Span] = (),
    zone: tzinfo = UTC,
    title: str = "Temperature",
    series_label: str = "Readings",
    element_id: str = "chart",
) -> str:
    """The chart as an SVG element: readings (with their min–max band where points were
    merged), the limits as dashed lines, excursions shaded by classification, local-time and
    °C axes, and a ``<title>``/``<desc>`` that say in words what it shows."""
    t = np.asarray(t, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    low = mean if low is None else np.asarray(low, dtype=np.float64)
    high = mean if high is None else np.asarray(high, dtype=np.float64)
    t0, t1 = start.timestamp(), end.timestamp()
    if t1 <= t0:
        t1 = t0 + 3600.0
    shown = np.isfinite(t) & np.isfinite(mean) & (t >= t0 - 3600) & (t <= t1 + 3600)
    t, mean = t[shown], mean[shown]
    low = np.where(np.isfinite(low[shown]), low[shown], mean)
    high = np.where(np.isfinite(high[shown]), high[shown], mean)
    empty = t.size == 0

    axis_low, axis_high, step = temperature_axis(
        [min_c, max_c] if empty else [min_c, max_c, float(low.min()), float(high.max())]
    )

    def x_of(seconds):
        return np.clip(LEFT + (np.asarray(seconds) - t0) / (t1 - t0) * PLOT_WIDTH, LEFT, RIGHT)

    def y_of(celsius_values):
        return TOP + (axis_high - np.asarray(celsius_values)) / (axis_high - axis_low) * (BOTTOM - TOP)

    zone_name = getattr(zone, "key", None) or str(zone)
    parts: list[str] = []
    add = parts.append

    # grid and axes
    ticks_c = np.arange(axis_low, axis_high + step / 2, step)
    decimals = max(0, -floor(log10(step) + 1e-9))
    for value in ticks_c:
        y = float(y_of(value))
        add(f'<line x1="{LEFT}" x2="{RIGHT}" y1="{_number(y)}" y2="{_number(y)}" stroke="{GRID}"/>')
        add(
            f'<text x="{LEFT - 6}" y="{_number(y + 4)}" text-anchor="end" fill="{TEXT}" {FONT}>'
            f"{celsius(float(value), decimals)} °C</text>"
        )
    for moment, label in time_ticks(start, end, zone):
        x = float(x_of(moment.timestamp()))
        add(f'<line x1="{_number(x)}" x2="{_number(x)}" y1="{TOP}" y2="{BOTTOM}" stroke="{GRID}"/>')
        add(
            f'<text class="tick-time" x="{_number(x)}" y="{BOTTOM + 16}" text-anchor="middle" '
            f'fill="{TEXT}" {FONT}>{escape(label)}</text>'
        )
    add(
        f'<rect x="{LEFT}" y="{TOP}" width="{PLOT_WIDTH}" height="{BOTTOM - TOP}" fill="none" stroke="#999"/>'
    )

    # excursions behind the readings
    shaded: list[Span] = []
    for span in spans:
        span_end = span.end.timestamp() if span.end is not None else t1
        if span_end < t0 or span.start.timestamp() > t1:
            continue
        x_start, x_end = float(x_of(span.start.timestamp())), float(x_of(span_end))
        width = max(x_end - x_start, 2.0)
        colour, opacity, _name = SHADES.get(span.classification, SHADES["needs_disposition"])
        rect = (
            f'<rect class="excursion excursion-{escape(span.classification)}" x="{_number(x_start)}" '
            f'y="{TOP}" width="{_number(width)}" height="{BOTTOM - TOP}" fill="{colour}" '
            f'fill-opacity="{opacity}"><title>{escape(span.label)}</title></rect>'
        )
        add(f'<a href="{escape(span.href)}">{rect}</a>' if span.href else rect)
        shaded.append(span)

    # readings
    merged = t.size > PLOT_WIDTH
    band_drawn = False
    for part in _segments(t):
        xs = x_of(t[part])
        ys, lows, highs = mean[part], low[part], high[part]
        if merged:
            xs, ys, lows, highs = _per_column(xs, ys, lows, highs)
        if np.any(highs > lows):
            band_drawn = True
            top_line = _points(xs, y_of(highs))
            bottom_line = _points(xs[::-1], y_of(lows[::-1]))
            add(f'<path class="band" d="M{top_line} L{bottom_line} Z" fill="{BAND}" fill-opacity="0.6"/>')
        if xs.size == 1:
            add(f'<circle cx="{_number(xs[0])}" cy="{_number(float(y_of(ys[0])))}" r="2.5" fill="{LINE}"/>')
        else:
            add(
                f'<path class="reading" d="M{_points(xs, y_of(ys))}" fill="none" stroke="{LINE}" '
                'stroke-width="1.5" stroke-linejoin="round"/>'
            )
    if 1 < t.size <= MARKERS_UP_TO:
        for x, y in zip(x_of(t), y_of(mean), strict=True):
            add(f'<circle cx="{_number(x)}" cy="{_number(y)}" r="2" fill="{LINE}"/>')

    # limits in front
    for name, value in (("max", max_c), ("min", min_c)):
        y = _number(float(y_of(value)))
        add(
            f'<line class="limit limit-{name}" x1="{LEFT}" x2="{RIGHT}" y1="{y}" y2="{y}" '
            f'stroke="{LIMIT}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        label_y = float(y) - 4 if name == "max" else float(y) + 12
        add(
            f'<text x="{RIGHT - 4}" y="{_number(label_y)}" text-anchor="end" fill="{LIMIT}" {FONT}>'
            f"{name} {celsius(value)} °C</text>"
        )
    if empty:
        add(
            f'<text class="chart-empty" x="{(LEFT + RIGHT) / 2}" y="{(TOP + BOTTOM) / 2}" '
            f'text-anchor="middle" fill="{TEXT}" font-family="system-ui, sans-serif" font-size="16">'
            "No readings in this window.</text>"
        )

    add(
        _legend(zone_name, f"{series_label} (mean per pixel)" if merged else series_label, band_drawn, shaded)
    )
    description = _description(
        empty, start, end, zone, zone_name, low, high, min_c, max_c, shaded, merged, t.size
    )
    # A chart with links to its excursions is a group a keyboard can enter; without, one image.
    role = "group" if any(span.href for span in shaded) else "img"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" '
        f'role="{role}" aria-labelledby="{element_id}-title {element_id}-desc">'
        f'<title id="{element_id}-title">{escape(title)}</title>'
        f'<desc id="{element_id}-desc">{escape(description)}</desc>' + "".join(parts) + "</svg>"
    )


def _legend(zone_name: str, series_label: str, band: bool, spans: Sequence[Span]) -> str:
    y = HEIGHT - 14
    items = [
        (
            f'<line x1="0" x2="18" y1="-4" y2="-4" stroke="{LINE}" stroke-width="2"/>',
            series_label,
        )
    ]
    if band:
        items.append((f'<rect x="0" y="-9" width="18" height="10" fill="{BAND}"/>', "Lowest–highest"))
    items.append(
        (
            f'<line x1="0" x2="18" y1="-4" y2="-4" stroke="{LIMIT}" stroke-width="1.5" '
            'stroke-dasharray="6 4"/>',
            "Limits",
        )
    )
    for classification in ("needs_disposition", "dispositioned", "allowable"):
        if any(s.classification == classification for s in spans):
            colour, opacity, label = SHADES[classification]
            items.append(
                (
                    f'<rect x="0" y="-9" width="18" height="10" fill="{colour}" fill-opacity="{opacity}"/>',
                    label,
                )
            )
    out = [f'<g class="legend" {FONT} fill="{TEXT}">']
    x = LEFT
    for swatch, label in items:
        out.append(
            f'<g transform="translate({_number(x)} {y})">{swatch}<text x="24" y="0">{escape(label)}</text></g>'
        )
        x += 34 + 6.2 * len(label)
    out.append(f'<text x="{RIGHT}" y="{y}" text-anchor="end">Times: {escape(zone_name)}</text></g>')
    return "".join(out)


def _description(empty, start, end, zone, zone_name, low, high, min_c, max_c, shaded, merged, points) -> str:
    when = (
        f"from {start.astimezone(zone):%Y-%m-%d %H:%M} to {end.astimezone(zone):%Y-%m-%d %H:%M} ({zone_name})"
    )
    limits = f"Limits {celsius(min_c)} to {celsius(max_c)} °C."
    if empty:
        return f"No readings in this window, {when}. {limits}"
    text = (
        f"Temperatures {when}: lowest {celsius(float(low.min()))} °C, highest {celsius(float(high.max()))} °C"
        f"{' (hourly or per-pixel means with their range)' if merged else f', {points} points'}. {limits}"
    )
    if shaded:
        labels = "; ".join(s.label for s in shaded)
        text += f" {len(shaded)} excursion{'s' if len(shaded) != 1 else ''} shaded: {labels}."
    else:
        text += " No excursion in this window."
    return text
