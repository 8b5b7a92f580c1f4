"""Individuals and moving-range charts of a trend as SVG, drawn on the server like the
temperature charts: no script, the same picture in print.

A pure function of plain data (the values in compounding order, each batch's label and link,
the chart's numbers, the specification limits and the signals): no Flask, no database. Colours
are SVG presentation attributes, never ``style`` attributes, which the Content-Security-Policy
blocks. Each batch is one circle inside a link to its record, with a ``<title>`` naming it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from math import ceil, floor, log10

from qa_app.reports.chart import FONT, GRID, TEXT, nice_step

WIDTH, HEIGHT = 800, 300
LEFT, RIGHT, TOP, BOTTOM = 64.0, 716.0, 20.0, 236.0
"""The plot area; the right margin holds the labels of the lines."""

POINT = "#1565c0"
SIGNAL = "#c62828"
CENTRE = "#2e7d32"
CONTROL = "#c62828"
SPEC = "#6a1b9a"
MAX_TICKS = 10

RULE_WORDS = {
    1: "a point beyond 3 sigma",
    2: "nine points in a row on one side of the centre",
    3: "six points in a row steadily increasing or decreasing",
    4: "fourteen points in a row alternating up and down",
}


@dataclass(frozen=True)
class ChartPoint:
    """One batch on the chart: its label (the lot number), its value and the link to its record."""

    label: str
    value: float
    href: str


def _number(value: float) -> str:
    return f"{value:.1f}"


def figure(value: float | None, decimals: int = 2) -> str:
    """A number as the pages print it, with a true minus sign; a dash for none."""
    if value is None:
        return "—"
    return f"{value:.{decimals}f}".replace("-", "\u2212")


def value_axis(values: Sequence[float], floor_at: float | None = None) -> tuple[float, float, float]:
    """``(lowest, highest, step)`` of the value axis: the values with a margin, on round ticks,
    never below ``floor_at`` (a moving range is never negative)."""
    low, high = min(values), max(values)
    span = high - low
    pad = 0.1 * span if span > 0 else max(abs(high) * 0.02, 0.5)
    step = nice_step((span + 2 * pad) / 5)
    axis_low = floor((low - pad) / step) * step
    if floor_at is not None and low >= floor_at:
        axis_low = max(axis_low, floor_at)
    return axis_low, ceil((high + pad) / step) * step, step


def _x_positions(n: int) -> list[float]:
    if n == 1:
        return [(LEFT + RIGHT) / 2]
    gap = (RIGHT - LEFT - 16) / (n - 1)
    return [LEFT + 8 + i * gap for i in range(n)]


def _x_ticks(n: int) -> list[int]:
    """Indices (from 0) of the batches numbered under the axis: about MAX_TICKS of them."""
    if n == 0:
        return []
    step = max(1, ceil(n / MAX_TICKS))
    return list(range(0, n, step))


@dataclass(frozen=True)
class Line:
    """A horizontal line: the centre, a control limit or a specification limit."""

    kind: str  # "centre", "control", "spec"
    name: str  # "UCL", "LSL", ...
    value: float


def _svg(
    element_id: str,
    title: str,
    description: str,
    xs: list[float],
    ys: Sequence[float],
    points: Sequence[ChartPoint],
    lines: Sequence[Line],
    marks: dict[int, list[int]],
    axis_label: str,
    decimals: int,
    first_number: int,
    empty_text: str,
    floor_at: float | None = None,
) -> str:
    """The frame shared by both charts: grid, axes, lines, then the points in front."""
    parts: list[str] = []
    add = parts.append
    axis_values = [*ys, *(line.value for line in lines)] or [0.0, 1.0]
    low, high, step = value_axis(axis_values, floor_at)

    def y_of(value: float) -> float:
        return TOP + (high - value) / (high - low) * (BOTTOM - TOP)

    tick_decimals = max(0, -floor(log10(step) + 1e-9))
    tick = low
    while tick <= high + step / 2:
        y = y_of(tick)
        add(f'<line x1="{LEFT}" x2="{RIGHT}" y1="{_number(y)}" y2="{_number(y)}" stroke="{GRID}"/>')
        add(
            f'<text x="{LEFT - 6}" y="{_number(y + 4)}" text-anchor="end" fill="{TEXT}" {FONT}>'
            f"{figure(tick, tick_decimals)}</text>"
        )
        tick += step
    add(
        f'<rect x="{LEFT}" y="{TOP}" width="{RIGHT - LEFT}" height="{BOTTOM - TOP}" fill="none" stroke="#999"/>'
    )
    add(
        f'<text x="14" y="{(TOP + BOTTOM) / 2}" text-anchor="middle" fill="{TEXT}" {FONT} '
        f'transform="rotate(-90 14 {(TOP + BOTTOM) / 2})">{escape(axis_label)}</text>'
    )
    for i in _x_ticks(len(xs)):
        add(
            f'<text class="tick-batch" x="{_number(xs[i])}" y="{BOTTOM + 16}" text-anchor="middle" '
            f'fill="{TEXT}" {FONT}>{i + first_number}</text>'
        )
    add(
        f'<text x="{(LEFT + RIGHT) / 2}" y="{BOTTOM + 32}" text-anchor="middle" fill="{TEXT}" {FONT}>'
        "Batch, in compounding order</text>"
    )

    for line in lines:
        y = _number(y_of(line.value))
        colour = {"centre": CENTRE, "control": CONTROL, "spec": SPEC}[line.kind]
        dash = {"centre": "", "control": ' stroke-dasharray="6 4"', "spec": ' stroke-dasharray="2 3"'}[
            line.kind
        ]
        width = "2" if line.kind == "spec" else "1.5"
        add(
            f'<line class="line-{line.kind} line-{line.name.lower()}" x1="{LEFT}" x2="{RIGHT}" y1="{y}" '
            f'y2="{y}" stroke="{colour}" stroke-width="{width}"{dash}/>'
        )
        add(
            f'<text x="{RIGHT + 4}" y="{_number(float(y) + 4)}" fill="{colour}" {FONT}>'
            f"{escape(line.name)} {figure(line.value, decimals if line.kind == 'spec' else 2)}</text>"
        )

    if len(xs) > 1:
        path = " L".join(f"{_number(x)} {_number(y_of(v))}" for x, v in zip(xs, ys, strict=True))
        add(
            f'<path class="series" d="M{path}" fill="none" stroke="{POINT}" stroke-width="1" stroke-opacity="0.6"/>'
        )
    radius = 3.5 if len(xs) <= 60 else 2.5
    for i, (x, value, point) in enumerate(zip(xs, ys, points, strict=True)):
        rules = marks.get(i, [])
        colour = SIGNAL if rules else POINT
        cls = "point signal" if rules else "point"
        shown = f"{point.label}: {figure(value, decimals)}"
        if rules:
            shown += "; signal " + ", ".join(f"rule {r} ({RULE_WORDS[r]})" for r in rules)
        add(
            f'<a href="{escape(point.href)}" class="batch-link"><circle class="{cls}" cx="{_number(x)}" '
            f'cy="{_number(y_of(value))}" r="{radius}" fill="{colour}"><title>{escape(shown)}</title></circle></a>'
        )
        if rules:
            add(
                f'<text class="signal-rule" x="{_number(x)}" y="{_number(y_of(value) - 8)}" text-anchor="middle" '
                f'fill="{SIGNAL}" font-weight="bold" {FONT}>{",".join(str(r) for r in rules)}</text>'
            )
    if not xs:
        add(
            f'<text class="chart-empty" x="{(LEFT + RIGHT) / 2}" y="{(TOP + BOTTOM) / 2}" text-anchor="middle" '
            f'fill="{TEXT}" font-family="system-ui, sans-serif" font-size="16">{escape(empty_text)}</text>'
        )
    add(_legend(lines, bool(marks)))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart trend-chart" '
        f'id="{element_id}" role="{"group" if xs else "img"}" aria-labelledby="{element_id}-title {element_id}-desc">'
        f'<title id="{element_id}-title">{escape(title)}</title>'
        f'<desc id="{element_id}-desc">{escape(description)}</desc>' + "".join(parts) + "</svg>"
    )


def _legend(lines: Sequence[Line], signals: bool) -> str:
    kinds = {line.kind for line in lines}
    # round swatches drawn as squares with round corners: every circle of the chart is a batch
    items = [(f'<rect x="5.5" y="-7.5" width="7" height="7" rx="3.5" fill="{POINT}"/>', "Batch")]
    if signals:
        items.append(
            (
                f'<rect x="5.5" y="-7.5" width="7" height="7" rx="3.5" fill="{SIGNAL}"/>',
                "Signal (rule number above)",
            )
        )
    if "centre" in kinds:
        items.append(
            (f'<line x1="0" x2="18" y1="-4" y2="-4" stroke="{CENTRE}" stroke-width="1.5"/>', "Centre")
        )
    if "control" in kinds:
        items.append(
            (
                f'<line x1="0" x2="18" y1="-4" y2="-4" stroke="{CONTROL}" stroke-width="1.5" stroke-dasharray="6 4"/>',
                "Control limits",
            )
        )
    if "spec" in kinds:
        items.append(
            (
                f'<line x1="0" x2="18" y1="-4" y2="-4" stroke="{SPEC}" stroke-width="2" stroke-dasharray="2 3"/>',
                "Specification limits",
            )
        )
    out = [f'<g class="legend" {FONT} fill="{TEXT}">']
    x = LEFT
    for swatch, label in items:
        out.append(
            f'<g transform="translate({_number(x)} {HEIGHT - 10})">{swatch}<text x="24" y="0">{escape(label)}</text></g>'
        )
        x += 34 + 6.2 * len(label)
    out.append("</g>")
    return "".join(out)


def individuals_chart(
    points: Sequence[ChartPoint],
    *,
    center: float | None,
    ucl: float | None,
    lcl: float | None,
    lsl: float | None = None,
    usl: float | None = None,
    signals: Sequence[tuple[int, int]] = (),
    title: str = "Individuals chart",
    unit: str = "",
    decimals: int = 2,
    element_id: str = "individuals-chart",
) -> str:
    """The individuals (I) chart: each batch's value, the centre, the control limits dashed,
    the specification limits dotted, the points of signals in red with their rule number.

    ``signals`` are ``(index, rule)`` pairs, the index (from 0) of the point where the pattern
    completes.
    """
    values = [p.value for p in points]
    lines: list[Line] = []
    if usl is not None:
        lines.append(Line("spec", "USL", usl))
    if ucl is not None:
        lines.append(Line("control", "UCL", ucl))
    if center is not None:
        lines.append(Line("centre", "CL", center))
    if lcl is not None:
        lines.append(Line("control", "LCL", lcl))
    if lsl is not None:
        lines.append(Line("spec", "LSL", lsl))
    marks: dict[int, list[int]] = {}
    for index, rule in signals:
        if 0 <= index < len(points) and rule not in marks.setdefault(index, []):
            marks[index].append(rule)
    for rules in marks.values():
        rules.sort()
    description = _individuals_description(points, center, ucl, lcl, lsl, usl, marks, unit, decimals)
    return _svg(
        element_id,
        title,
        description,
        _x_positions(len(points)),
        values,
        points,
        lines,
        marks,
        unit or "Value",
        decimals,
        1,
        "No batch has a value for this attribute yet.",
    )


def moving_range_chart(
    points: Sequence[ChartPoint],
    *,
    mr_bar: float | None,
    mr_ucl: float | None,
    title: str = "Moving-range chart",
    unit: str = "",
    decimals: int = 2,
    element_id: str = "mr-chart",
) -> str:
    """The moving-range (MR) chart: |x_i − x_{i−1}| at each batch from the second on, MR̄ and
    the upper limit 3.267·MR̄ (the lower limit is 0). Each point links to the later batch of
    its pair."""
    later = list(points[1:])
    ranges = [abs(b.value - a.value) for a, b in zip(points, points[1:], strict=False)]
    shown = [ChartPoint(p.label, r, p.href) for p, r in zip(later, ranges, strict=True)]
    lines: list[Line] = []
    if mr_ucl is not None:
        lines.append(Line("control", "UCL", mr_ucl))
    if mr_bar is not None:
        lines.append(Line("centre", "MR̄", mr_bar))
    description = (
        f"Moving ranges of {len(ranges)} consecutive pairs of batches"
        + (f": largest {figure(max(ranges), decimals)}" if ranges else "")
        + (f", average MR̄ {figure(mr_bar, decimals)}" if mr_bar is not None else "")
        + (f", upper limit {figure(mr_ucl, decimals)}." if mr_ucl is not None else ". No upper limit yet.")
    )
    return _svg(
        element_id,
        title,
        description,
        _x_positions(len(points))[1:],
        ranges,
        shown,
        lines,
        {},
        f"Moving range{f' ({unit})' if unit else ''}",
        decimals,
        2,
        "A moving range needs two batches.",
        floor_at=0.0,
    )


def _individuals_description(points, center, ucl, lcl, lsl, usl, marks, unit, decimals) -> str:
    n = len(points)
    if n == 0:
        return "No batch has a value for this attribute yet."
    values = [p.value for p in points]
    text = (
        f"{n} batch{'es' if n != 1 else ''} from {points[0].label} to {points[-1].label}: "
        f"lowest {figure(min(values), decimals)}, highest {figure(max(values), decimals)}{f' {unit}' if unit else ''}."
    )
    if center is not None:
        text += f" Centre {figure(center)}."
    if ucl is not None and lcl is not None:
        text += f" Control limits {figure(lcl)} to {figure(ucl)}."
    else:
        text += " No control limits yet."
    if lsl is not None or usl is not None:
        text += f" Specification {figure(lsl, 1) if lsl is not None else 'none'} to {figure(usl, 1) if usl is not None else 'none'}."
    if marks:
        named = "; ".join(
            f"{points[i].label}: rule {', '.join(str(r) for r in rules)}"
            for i, rules in sorted(marks.items())
        )
        text += f" Signals: {named}."
    else:
        text += " No signal."
    return text
