"""The annual product review of one formula and year as PDF bytes: a pure function of plain data.

The service (:mod:`qa_app.services.product_reviews`) gathers the year's batches, OOS results,
deviations, excursions, formula versions and trends, already formatted as text; this module lays
them out in the house style of the certificate and the record (header, footer, "Page X of Y").
Each attribute's individuals chart is drawn with reportlab's graphics, so it prints as vectors.
Before signing the review carries a DRAFT watermark; whatever people typed prints literally.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Spacer

from qa_app.reports import pdf
from qa_app.reports.pdf import MARGIN, PAGE_SIZE, markup, para, text

CONTENT_WIDTH = PAGE_SIZE[0] - 2 * MARGIN
DRAFT_WORDS = "DRAFT"
CHART_HEIGHT = 62 * mm

POINT = colors.Color(0.08, 0.4, 0.75)
CENTRE = colors.Color(0.2, 0.2, 0.2)
CONTROL = colors.Color(0.78, 0.16, 0.16)
SPEC = colors.Color(0.4, 0.3, 0.25)
SIGNAL = colors.Color(0.78, 0.16, 0.16)
AXIS = colors.Color(0.55, 0.55, 0.55)


@dataclass(frozen=True)
class ChartData:
    """One series as drawn: values in compounding order, the lines, and the signalled points."""

    values: Sequence[float]
    center: float | None = None
    lcl: float | None = None
    ucl: float | None = None
    lsl: float | None = None
    usl: float | None = None
    signals: Sequence[tuple[int, int]] = ()
    """(index of the point, Nelson rule)."""


@dataclass(frozen=True)
class TrendSection:
    title: str
    """e.g. "Assay (% LC), 1.5 mg"."""
    summary: str
    """Points, centre, limits (or why there are none)."""
    capability: str
    """n, Cpk, Ppk and the 95 % interval of Cpk, or why it is not shown."""
    chart: ChartData | None


@dataclass(frozen=True)
class ReviewSignature:
    signer: str
    meaning: str
    signed_at: str


@dataclass(frozen=True)
class ReviewContent:
    pharmacy_name: str
    pharmacy_address: str
    code: str
    name: str
    year: int
    period: str
    printed: str
    counts: Sequence[tuple[str, str]]
    batches: Sequence[tuple[str, str, str, str]]
    """lot, strength, compounded (local date), status."""
    oos: Sequence[tuple[str, str, str, str, str]]
    """batch, test, value, investigation outcome, conclusion."""
    deviations: Sequence[str]
    excursions: Sequence[tuple[str, str, str, str, str]]
    """batch, unit, when, temperatures, disposition."""
    versions: Sequence[tuple[str, str, str, str]]
    """version, approved, superseded, specification tests."""
    trends: Sequence[TrendSection]
    signals: Sequence[tuple[str, str, str, str, str]]
    """attribute and strength, rule, batch, what was seen, acknowledgement."""
    conclusions: str | None
    signature: ReviewSignature | None = None
    notes: Sequence[str] = field(default_factory=tuple)


def title_of(code: str, year: int) -> str:
    return f"Annual product review — {code} {year}"


def product_review_pdf(content: ReviewContent) -> bytes:
    """The review; unsigned, every page carries the DRAFT watermark."""
    return pdf.render(
        _story(content),
        title=title_of(content.code, content.year),
        author=content.pharmacy_name,
        subject=f"{content.name}: annual product review {content.year}"
        + ("" if content.signature else " (draft)"),
        decorate=lambda canvas, page, pages: _furniture(canvas, content, page, pages),
    )


def _w(*fractions: float) -> list[float]:
    return [f * CONTENT_WIDTH for f in fractions]


def _grid(story: list[Flowable], header, rows, widths, empty: str) -> None:
    if rows:
        story.append(pdf.grid_table(header, rows, widths, split_rows=True))
    else:
        story.append(para(empty, "body"))


def _story(c: ReviewContent) -> list[Flowable]:
    story: list[Flowable] = [
        markup(text(title_of(c.code, c.year)), "h1"),
        markup(f"{text(c.name)} · {text(c.period)} · {text(c.printed)}"),
        Spacer(1, 2 * mm),
        pdf.heading("Summary"),
        pdf.field_table(c.counts, _w(0.25, 0.25, 0.25, 0.25)),
        pdf.heading("Batches compounded"),
    ]
    _grid(
        story,
        ["Lot", "Strength", "Compounded", "Status now"],
        c.batches,
        _w(0.3, 0.2, 0.25, 0.25),
        "No batch was compounded in this year.",
    )
    story.append(pdf.heading("Out-of-specification results and their investigations"))
    _grid(
        story,
        ["Batch", "Test", "Value", "Investigation", "Conclusion"],
        c.oos,
        _w(0.16, 0.14, 0.2, 0.18, 0.32),
        "No out-of-specification result.",
    )
    story.append(pdf.heading("Deviations"))
    if c.deviations:
        for line in c.deviations:
            story.append(para(f"• {line}", "body"))
    else:
        story.append(para("No deviation recorded.", "body"))
    story.append(pdf.heading("Storage excursions that held its batches"))
    _grid(
        story,
        ["Batch", "Unit", "When", "Temperatures", "Disposition"],
        c.excursions,
        _w(0.14, 0.12, 0.26, 0.14, 0.34),
        "No excursion held a batch of this year.",
    )
    story.append(pdf.heading("Formula and specification versions in force"))
    _grid(
        story,
        ["Version", "Approved", "Superseded", "Specification tests"],
        c.versions,
        _w(0.1, 0.18, 0.18, 0.54),
        "No version was in force.",
    )
    story.append(pdf.heading("Trends"))
    if not c.trends:
        story.append(para("No attribute has a point in this year.", "body"))
    for section in c.trends:
        block: list[Flowable] = [para(section.title, "caption"), para(section.summary, "body")]
        if section.chart is not None and section.chart.values:
            block.append(control_chart(section.chart))
        block += [para(section.capability, "body"), Spacer(1, 2 * mm)]
        story.append(KeepTogether(block))
    story.append(pdf.heading("Trend signals and the batches that raised them"))
    _grid(
        story,
        ["Attribute", "Rule", "Batch", "What was seen", "Acknowledgement"],
        c.signals,
        _w(0.2, 0.07, 0.14, 0.27, 0.32),
        "No trend signal.",
    )
    for note in c.notes:
        story.append(para(note, "small"))
    story.append(pdf.heading("Conclusions of the reviewer"))
    story.append(para(c.conclusions or "(not written yet)", "body"))
    story.append(pdf.heading("Signature"))
    if c.signature is not None:
        story.append(
            pdf.field_table(
                [
                    ("Signed by", c.signature.signer),
                    ("Meaning", c.signature.meaning),
                    ("Signed at", c.signature.signed_at),
                ],
                _w(0.25, 0.75),
            )
        )
    else:
        story.append(
            para(f"{DRAFT_WORDS} — not signed. A reviewer signs the review (meaning reviewed).", "conclusion")
        )
    return story


def _furniture(canvas: Canvas, c: ReviewContent, page: int, pages: int) -> None:
    pdf.furniture(
        canvas,
        pharmacy_name=c.pharmacy_name,
        pharmacy_address=c.pharmacy_address,
        title="ANNUAL PRODUCT REVIEW",
        reference=f"{c.code} · {c.year}",
        footer=f"{title_of(c.code, c.year)} · {c.printed}",
        page=page,
        pages=pages,
    )
    if c.signature is None:
        pdf.watermark(canvas, DRAFT_WORDS)


# --- the individuals chart ------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:.2f}".replace("-", "\u2212")


def control_chart(chart: ChartData, width: float = CONTENT_WIDTH, height: float = CHART_HEIGHT) -> Drawing:
    """Points joined in compounding order; centre, control limits (dashed red) and specification
    limits (dotted brown) as labelled lines; each signalled point ringed with its rule number."""
    drawing = Drawing(width, height)
    left, right, bottom, top = 42.0, width - 62.0, 16.0, height - 8.0
    lines = [v for v in (chart.center, chart.lcl, chart.ucl, chart.lsl, chart.usl) if v is not None]
    low = min([*chart.values, *lines])
    high = max([*chart.values, *lines])
    if high == low:
        low, high = low - 1.0, high + 1.0
    margin = (high - low) * 0.08
    low, high = low - margin, high + margin
    n = len(chart.values)

    def x(i: int) -> float:
        return left + (right - left) * (0.5 if n == 1 else i / (n - 1))

    def y(v: float) -> float:
        return bottom + (top - bottom) * (v - low) / (high - low)

    drawing.add(
        Rect(left, bottom, right - left, top - bottom, strokeColor=AXIS, fillColor=None, strokeWidth=0.5)
    )
    for value in (low + margin, high - margin):
        drawing.add(
            String(
                left - 3,
                y(value) - 2.5,
                _number(value),
                fontName=pdf.PLAIN,
                fontSize=6.5,
                textAnchor="end",
                fillColor=AXIS,
            )
        )
    drawing.add(String(left, 4, "1", fontName=pdf.PLAIN, fontSize=6.5, fillColor=AXIS))
    drawing.add(String(right, 4, f"{n}", fontName=pdf.PLAIN, fontSize=6.5, textAnchor="end", fillColor=AXIS))
    drawing.add(
        String(
            (left + right) / 2,
            4,
            "batches in compounding order",
            fontName=pdf.PLAIN,
            fontSize=6.5,
            textAnchor="middle",
            fillColor=AXIS,
        )
    )

    def hline(value: float | None, label: str, colour, dash) -> None:
        if value is None:
            return
        drawing.add(
            Line(left, y(value), right, y(value), strokeColor=colour, strokeWidth=0.7, strokeDashArray=dash)
        )
        drawing.add(
            String(
                right + 3,
                y(value) - 2.5,
                f"{label} {_number(value)}",
                fontName=pdf.PLAIN,
                fontSize=6.5,
                fillColor=colour,
            )
        )

    hline(chart.lsl, "LSL", SPEC, [1, 2])
    hline(chart.usl, "USL", SPEC, [1, 2])
    hline(chart.lcl, "LCL", CONTROL, [4, 2])
    hline(chart.ucl, "UCL", CONTROL, [4, 2])
    hline(chart.center, "CL", CENTRE, None)

    coordinates = [c for i, v in enumerate(chart.values) for c in (x(i), y(v))]
    if n > 1:
        drawing.add(PolyLine(coordinates, strokeColor=POINT, strokeWidth=0.8))
    radius = 1.6 if n <= 120 else 0.8
    for i, v in enumerate(chart.values):
        drawing.add(Circle(x(i), y(v), radius, fillColor=POINT, strokeColor=None))
    rules_at: dict[int, list[int]] = {}
    for index, rule in chart.signals:
        rules_at.setdefault(index, []).append(rule)
    for index, rules in sorted(rules_at.items()):
        if not 0 <= index < n:
            continue
        px, py = x(index), y(chart.values[index])
        drawing.add(Circle(px, py, 3.6, fillColor=None, strokeColor=SIGNAL, strokeWidth=0.9))
        drawing.add(
            String(
                px,
                py + 5,
                ",".join(str(r) for r in sorted(set(rules))),
                fontName=pdf.PLAIN_BOLD,
                fontSize=7,
                textAnchor="middle",
                fillColor=SIGNAL,
            )
        )
    return drawing
