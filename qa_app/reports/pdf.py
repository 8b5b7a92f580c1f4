"""What the certificate and the compounding record share: fonts, styles, page furniture.

Text is set in Helvetica, a standard PDF font (nothing embedded, cheap to lay out), whenever
its WinAnsi encoding holds every character; any other text — names typed by people (Łukasz,
Ωmega…), the statistics' X̄, "≤" — is set in DejaVu Sans, shipped with the application
(``fonts/``) and embedded as a subset, so every machine prints the same glyphs. Documents are
made with ``invariant=1``: the same content gives the same bytes.
"""

import functools
import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.barcode.qrencoder import QRCode, QRErrorCorrectLevel
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph, Table, TableStyle

FONT = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
PLAIN = "Helvetica"
PLAIN_BOLD = "Helvetica-Bold"
FONT_DIR = Path(__file__).resolve().parent / "fonts"
PAGE_SIZE = LETTER
MARGIN = 16 * mm
HEADER_HEIGHT = 18 * mm
FOOTER_HEIGHT = 12 * mm
FRAME_HEIGHT = PAGE_SIZE[1] - 2 * MARGIN - HEADER_HEIGHT - FOOTER_HEIGHT  # the room for the story on a page
CREATOR = "LDN batch QA"
GRID = colors.Color(0.55, 0.55, 0.55)
SHADE = colors.Color(0.92, 0.92, 0.92)


def register_fonts() -> None:
    """Register the two faces once per process (parsing a TrueType file takes a while)."""
    registered = pdfmetrics.getRegisteredFontNames()
    for name, file in ((FONT, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf")):
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


register_fonts()

# The Reed–Solomon generator polynomial depends only on the number of error-correction words;
# reportlab recomputes it for every block of every code. Pure, so it is safely remembered.
if not hasattr(qrencoder.QRUtil.getErrorCorrectPolynomial, "cache_info"):
    qrencoder.QRUtil.getErrorCorrectPolynomial = staticmethod(
        functools.lru_cache(maxsize=64)(qrencoder.QRUtil.getErrorCorrectPolynomial)
    )

_STYLE_SIZES = {
    "body": {"fontSize": 8.5, "leading": 10.5},
    "small": {"fontSize": 7, "leading": 8.5},
    "cell": {"fontSize": 7.5, "leading": 9},
    "cell_bold": {"fontSize": 7.5, "leading": 9, "bold": True},
    "h1": {"fontSize": 14, "leading": 17, "spaceAfter": 2, "bold": True},
    "h2": {"fontSize": 10, "leading": 12, "spaceBefore": 7, "spaceAfter": 3, "keepWithNext": 1, "bold": True},
    "caption": {"fontSize": 8.5, "leading": 10.5, "spaceBefore": 2, "keepWithNext": 1, "bold": True},
    "conclusion": {"fontSize": 10, "leading": 13, "spaceBefore": 6, "bold": True},
}


def _styles(unicode: bool) -> dict[str, ParagraphStyle]:
    styles = {}
    for name, spec in _STYLE_SIZES.items():
        spec = dict(spec)
        bold = spec.pop("bold", False)
        font = (BOLD if bold else FONT) if unicode else (PLAIN_BOLD if bold else PLAIN)
        styles[name] = ParagraphStyle(f"{name}-{'u' if unicode else 'p'}", fontName=font, **spec)
    return styles


STYLES = {False: _styles(False), True: _styles(True)}


def needs_unicode_font(value: str) -> bool:
    """Whether ``value`` holds a character the standard fonts' WinAnsi encoding lacks."""
    try:
        value.encode("cp1252")
    except UnicodeEncodeError:
        return True
    return False


def face(value: str, bold: bool = False) -> str:
    """The font that prints ``value``: Helvetica when it can, DejaVu Sans otherwise."""
    if needs_unicode_font(value):
        return BOLD if bold else FONT
    return PLAIN_BOLD if bold else PLAIN


def draw(
    canvas: Canvas, x: float, y: float, value: str, size: float, *, bold: bool = False, right: bool = False
) -> None:
    """One line of page furniture (header, footer) in the font that prints it."""
    canvas.setFont(face(value, bold), size)
    (canvas.drawRightString if right else canvas.drawString)(x, y, value)


def text(value: object) -> str:
    """Text typed by a person, safe inside Paragraph markup: it prints exactly as typed."""
    return escape("" if value is None else str(value)).replace("\n", "<br/>")


def para(value: object, style: str = "cell") -> Paragraph:
    escaped = text(value)
    return Paragraph(escaped, STYLES[needs_unicode_font(escaped)][style])


def markup(html: str, style: str = "body") -> Paragraph:
    """A paragraph whose markup the program wrote (user text inside it goes through ``text``)."""
    return Paragraph(html, STYLES[needs_unicode_font(html)][style])


def heading(title: str) -> Paragraph:
    return para(title, "h2")


Run = tuple[str, bool]  # the text and whether it is bold
_NOT_DRAWN_AS_IS = re.compile(r"[^\S ]|[\x00-\x1f\x7f-\x9f\xad]")
"""A line break, a tab, a non-breaking space, a control character or a soft hyphen: a Paragraph
prints these as people expect (a space, a break, nothing), the canvas as a box or a hyphen."""


class Line(Flowable):
    """A line of text in runs of regular and bold type, drawn with a canvas call a run.

    A Paragraph parses its markup, breaks it into words and measures each before it draws; most
    lines of a certificate fit their column as they are. Such a line is measured once and drawn
    where a Paragraph of the same style would put it (the baseline one font size below its top);
    one that does not fit, or holds a line break, becomes that Paragraph. ``unicode`` sets every
    run in DejaVu Sans whether it needs it or not, so lines that belong together share one font.
    """

    def __init__(self, runs: Sequence[Run], style: str = "body", *, unicode: bool | None = None) -> None:
        super().__init__()
        self.runs = [(value, bold) for value, bold in runs if value]
        self.unicode = needs_unicode(self.runs) if unicode is None else unicode
        self.style = STYLES[self.unicode][style]
        self._bold_style = self.style.fontName in (BOLD, PLAIN_BOLD)
        self._paragraph: Paragraph | None = None
        self._lines: list[list[Run]] | None = None

    def font(self, bold: bool) -> str:
        if bold or self._bold_style:
            return BOLD if self.unicode else PLAIN_BOLD
        return FONT if self.unicode else PLAIN

    def markup(self) -> str:
        return "".join(f"<b>{text(value)}</b>" if bold else text(value) for value, bold in self.runs)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self._paragraph, self._lines = None, self._plain_lines(available_width)
        if self._lines is None:
            self._paragraph = Paragraph(self.markup(), self.style)
            self.width, self.height = self._paragraph.wrap(available_width, available_height)
        else:
            self.width, self.height = available_width, self.style.leading * max(1, len(self._lines))
        return self.width, self.height

    def _plain_lines(self, width: float) -> list[list[Run]] | None:
        """The runs as they print: one line when they fit; lines broken at spaces when the text
        is in one face; None when a paragraph has to break it (mixed faces, a line break, a
        word wider than the column)."""
        size = self.style.fontSize
        if any(_NOT_DRAWN_AS_IS.search(value) for value, _ in self.runs):
            return None
        if sum(pdfmetrics.stringWidth(value, self.font(bold), size) for value, bold in self.runs) <= width:
            return [self.runs]
        faces = {self.font(bold) for _, bold in self.runs}
        if len(faces) != 1:
            return None
        [font], bold = faces, self.runs[0][1]
        lines = simpleSplit("".join(value for value, _ in self.runs), font, size, width)
        if any(pdfmetrics.stringWidth(line, font, size) > width for line in lines):
            return None
        return [[(line, bold)] for line in lines]

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        self.wrap(available_width, available_height)
        if self._paragraph is None:
            if len(self._lines) < 2:
                return []
            self._paragraph = Paragraph(self.markup(), self.style)  # a paragraph splits between its lines
        return self._paragraph.split(available_width, available_height)

    def draw(self) -> None:
        if self._paragraph is not None:
            self._paragraph.drawOn(self.canv, 0, 0)
            return
        canvas, size = self.canv, self.style.fontSize
        canvas.setFillColor(self.style.textColor)
        y = self.height - size
        for runs in self._lines:
            x = 0.0
            for value, bold in runs:
                font = self.font(bold)
                canvas.setFont(font, size)
                canvas.drawString(x, y, value)
                x += pdfmetrics.stringWidth(value, font, size)
            y -= self.style.leading


class Together(Flowable):
    """Flowables kept on one page: moved whole to the next page when what is left of this one is
    too short, and let flow apart only when taller than a page — KeepTogether's rule, without
    its copy of the frame at every measurement."""

    def __init__(self, flowables: Sequence[Flowable], page_height: float = FRAME_HEIGHT) -> None:
        super().__init__()
        self.flowables, self.page_height = list(flowables), page_height

    def _gap(self, i: int) -> float:
        """The space between flowable ``i`` and the one before: the larger of the two asked for."""
        if i == 0:
            return 0.0
        return max(self.flowables[i - 1].getSpaceAfter(), self.flowables[i].getSpaceBefore())

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        # The heights as wrap returns them: a Table keeps its own in ``_height``, not ``height``.
        self._heights = [flowable.wrap(available_width, self.page_height)[1] for flowable in self.flowables]
        height = sum(self._gap(i) + h for i, h in enumerate(self._heights))
        self.width, self.height = available_width, height
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        self.wrap(available_width, available_height)
        if self.height <= available_height:
            return [self]
        return [] if self.height <= self.page_height else list(self.flowables)

    def getSpaceBefore(self) -> float:  # noqa: N802 (reportlab's name)
        return self.flowables[0].getSpaceBefore() if self.flowables else 0.0

    def getSpaceAfter(self) -> float:  # noqa: N802 (reportlab's name)
        return self.flowables[-1].getSpaceAfter() if self.flowables else 0.0

    def draw(self) -> None:
        y = self.height
        for i, (flowable, height) in enumerate(zip(self.flowables, self._heights, strict=True)):
            y -= self._gap(i) + height
            flowable.drawOn(self.canv, 0, y)


def needs_unicode(runs: Sequence[Run]) -> bool:
    """Whether any run holds a character only DejaVu Sans prints."""
    return any(needs_unicode_font(value) for value, _ in runs)


class Boxed(Flowable):
    """Columns of flowables side by side, top-aligned, in one ruled box (the release block).

    Drawn as a one-row Table with a BOX would draw it (padding 4 left, 6 right, 3 above and
    below), without the Table's cell-by-cell bookkeeping. It does not split: keep it short.
    """

    LEFT, RIGHT, TOP, BOTTOM = 4, 6, 3, 3

    def __init__(self, columns: Sequence[Sequence[Flowable]], widths: Sequence[float]) -> None:
        super().__init__()
        self.columns, self.widths = [list(c) for c in columns], list(widths)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        tallest = 0.0
        for column, width in zip(self.columns, self.widths, strict=True):
            inner = width - self.LEFT - self.RIGHT
            height = 0.0
            for i, flowable in enumerate(column):
                height += flowable.wrap(inner, available_height)[1] + flowable.getSpaceAfter()
                height += flowable.getSpaceBefore() if i else 0
            tallest = max(tallest, height)
        self.width, self.height = sum(self.widths), tallest + self.TOP + self.BOTTOM
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        x = 0.0
        for column, width in zip(self.columns, self.widths, strict=True):
            y = self.height - self.TOP
            for i, flowable in enumerate(column):
                y -= (flowable.getSpaceBefore() if i else 0) + flowable.height
                flowable.drawOn(canvas, x + self.LEFT, y)
                y -= flowable.getSpaceAfter()
            x += width
        canvas.saveState()
        canvas.setStrokeColor(GRID)
        canvas.setLineWidth(0.6)
        canvas.rect(0, 0, self.width, self.height, stroke=1, fill=0)
        canvas.restoreState()


CELL_PADDING = 3
_CELL_SIZE = 7.5


def cell(value: object, width: float, bold: bool = False) -> object:
    """A table cell that prints what a person typed literally: plain lines broken at spaces to
    fit (the table draws them itself, which is fast), or a paragraph when a word is too long
    for the column or the text needs the Unicode font."""
    if isinstance(value, Flowable):
        return value
    value = "" if value is None else str(value)
    if not needs_unicode_font(value):
        font, room = PLAIN_BOLD if bold else PLAIN, width - 2 * CELL_PADDING
        if "\n" not in value and pdfmetrics.stringWidth(value, font, _CELL_SIZE) <= room:
            return value  # one line: most cells, measured once
        lines = simpleSplit(value, font, _CELL_SIZE, room)
        if all(pdfmetrics.stringWidth(line, font, _CELL_SIZE) <= room for line in lines):
            return "\n".join(lines)
    return para(value, "cell_bold" if bold else "cell")


def _table_style(extra: list) -> TableStyle:
    return TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), PLAIN, _CELL_SIZE, 9),
            ("GRID", (0, 0), (-1, -1), 0.4, GRID),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
            ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
            *extra,
        ]
    )


SPLIT_ROW_MIN = 3 * 9  # points: a row split across pages keeps at least three lines on each side


def _table(data: list[list[object]], widths: Sequence[float], repeat: int, split_rows: bool) -> Table:
    """A Table; with ``split_rows`` a row taller than the room left (a long text, a page of
    weights) is split across pages instead of stopping the document."""
    if not split_rows:
        return Table(data, colWidths=list(widths), repeatRows=repeat)
    # reportlab splits a cell's flowables only when the cell holds a list of them.
    data = [[[v] if isinstance(v, Flowable) else v for v in row] for row in data]
    return Table(data, colWidths=list(widths), repeatRows=repeat, splitInRow=SPLIT_ROW_MIN)


def grid_table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    *,
    bold_first_column: bool = False,
    split_rows: bool = False,
) -> Table:
    """A ruled table with a shaded header row that repeats on every page it spans."""
    data = _grid_rows(header, rows, widths, cell, bold_first_column)
    table = _table(data, widths, 1, split_rows)
    extra = [("BACKGROUND", (0, 0), (-1, 0), SHADE), ("FONT", (0, 0), (-1, 0), PLAIN_BOLD, _CELL_SIZE, 9)]
    if bold_first_column:
        extra.append(("FONT", (0, 1), (0, -1), PLAIN_BOLD, _CELL_SIZE, 9))
    table.setStyle(_table_style(extra))
    return table


def _grid_rows(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    make: Callable,
    bold_first_column: bool,
) -> list[list]:
    """The header (bold) and the rows of a ruled table, each cell made by ``make``."""
    made = [[make(h, w, bold=True) for h, w in zip(header, widths, strict=True)]]
    for row in rows:
        made.append(
            [
                make(value, w, bold=bold_first_column and i == 0)
                for i, (value, w) in enumerate(zip(row, widths, strict=True))
            ]
        )
    return made


def _pair_rows(
    pairs: Sequence[tuple[str, object]], widths: Sequence[float], make: Callable, blank: Any
) -> list[list]:
    """Label–value pairs laid out ``len(widths) // 2`` to a row, each cell made by ``make``
    (the label bold), the last row filled up with ``blank``."""
    per_row = len(widths) // 2
    rows, row = [], []
    for label, value in pairs:
        i = len(row)
        row += [make(label, widths[i], bold=True), make(value, widths[i + 1])]
        if len(row) == 2 * per_row:
            rows.append(row)
            row = []
    if row:
        rows.append(row + [blank] * (2 * per_row - len(row)))
    return rows


def field_table(
    pairs: Sequence[tuple[str, object]], widths: Sequence[float], *, split_rows: bool = False
) -> Table:
    """Label–value pairs, two pairs to a row when ``widths`` has four columns."""
    per_row = len(widths) // 2
    data = _pair_rows(pairs, widths, cell, "")
    table = _table(data, widths, 0, split_rows)
    extra = []
    for c in range(0, 2 * per_row, 2):
        extra += [
            ("BACKGROUND", (c, 0), (c, -1), SHADE),
            ("FONT", (c, 0), (c, -1), PLAIN_BOLD, _CELL_SIZE, 9),
        ]
    table.setStyle(_table_style(extra))
    return table


_CELL_LEADING = 9
_CELL_TOP, _CELL_BOTTOM = 1.5, 2


def plain_lines(value: object, width: float, bold: bool = False) -> tuple[list[str], str] | None:
    """A cell's text broken at spaces to fit a column ``width`` wide, and its font; None when a
    word is wider than the column (a paragraph then breaks it)."""
    value = "" if value is None else str(value)
    font, room = face(value, bold), width - 2 * CELL_PADDING
    if "\n" not in value and pdfmetrics.stringWidth(value, font, _CELL_SIZE) <= room:
        return [value], font
    lines = simpleSplit(value, font, _CELL_SIZE, room)
    if all(pdfmetrics.stringWidth(line, font, _CELL_SIZE) <= room for line in lines):
        return lines or [""], font
    return None


Cell = tuple[list[str], str]  # the lines of a cell and their font


class Grid(Flowable):
    """A ruled table of plain text in fixed columns, drawn with canvas calls.

    What :func:`grid_table` and :func:`field_table` print — the same padding, shading, rules,
    fonts and line breaks — for tables whose every cell is plain text no word of which is wider
    than its column, without a Table's cell-by-cell styling. It splits between rows; the
    header row, if there is one, repeats on every page it spans.
    """

    def __init__(
        self, rows: list[list[Cell]], widths: Sequence[float], *, header: bool, shaded: Sequence[int] = ()
    ) -> None:
        super().__init__()
        self.rows, self.widths, self.header, self.shaded = rows, list(widths), header, tuple(shaded)
        self.heights = [
            max(len(lines) for lines, _ in row) * _CELL_LEADING + _CELL_TOP + _CELL_BOTTOM for row in rows
        ]
        self.width, self.height = sum(self.widths), sum(self.heights)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        head = 1 if self.header else 0
        used, end = sum(self.heights[:head]), head
        while end < len(self.rows) and used + self.heights[end] <= available_height:
            used += self.heights[end]
            end += 1
        if end == head or end == len(self.rows):
            return []
        return [
            Grid(self.rows[:end], self.widths, header=self.header, shaded=self.shaded),
            Grid(self.rows[:head] + self.rows[end:], self.widths, header=self.header, shaded=self.shaded),
        ]

    def draw(self) -> None:
        canvas = self.canv
        lefts = [sum(self.widths[:i]) for i in range(len(self.widths) + 1)]
        canvas.saveState()
        canvas.setFillColor(SHADE)
        if self.header:
            canvas.rect(0, self.height - self.heights[0], self.width, self.heights[0], stroke=0, fill=1)
        for column in self.shaded:
            canvas.rect(lefts[column], 0, self.widths[column], self.height, stroke=0, fill=1)
        canvas.setFillColor(colors.black)
        top, tops = self.height, []
        for row, height in zip(self.rows, self.heights, strict=True):
            tops.append(top)
            for (lines, font), left in zip(row, lefts, strict=False):
                canvas.setFont(font, _CELL_SIZE, _CELL_LEADING)
                y = top - _CELL_TOP - _CELL_SIZE
                for line in lines:
                    if line:
                        canvas.drawString(left + CELL_PADDING, y, line)
                    y -= _CELL_LEADING
            top -= height
        canvas.setStrokeColor(GRID)
        canvas.setLineWidth(0.4)
        for y in [*tops, 0]:
            canvas.line(0, y, self.width, y)
        for x in lefts:
            canvas.line(x, self.height, x, 0)
        canvas.restoreState()


def grid(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    *,
    bold_first_column=False,
) -> Flowable:
    """:func:`grid_table` drawn as a :class:`Grid` when every cell is plain text that fits."""
    cells = _grid_rows(header, rows, widths, plain_lines, bold_first_column)
    if any(c is None for row in cells for c in row):
        return grid_table(header, rows, widths, bold_first_column=bold_first_column)
    return Grid(cells, widths, header=True)


def fields(pairs: Sequence[tuple[str, object]], widths: Sequence[float]) -> Flowable:
    """:func:`field_table` drawn as a :class:`Grid` when every cell is plain text that fits."""
    per_row = len(widths) // 2
    cells = _pair_rows(pairs, widths, plain_lines, ([""], PLAIN))
    if any(c is None for r in cells for c in r):
        return field_table(pairs, widths)
    return Grid(cells, widths, header=False, shaded=range(0, 2 * per_row, 2))


class QrCode(Flowable):
    """A QR code (error correction M) drawn as filled runs of modules, quiet zone included.

    reportlab's QR widget draws every module as a shape object and scores the eight masks in
    pure Python, which costs more than the rest of a certificate; here the modules come from
    reportlab's encoder, the masks are scored with numpy (ISO/IEC 18004 penalty rules) and
    each row is drawn as a few rectangles.
    """

    QUIET_MODULES = 4

    def __init__(self, value: str, size: float = 28 * mm) -> None:
        super().__init__()
        self.value, self.size = value, size
        self.modules = qr_modules(value)
        self.width = self.height = size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        count = self.modules.shape[0]
        module = self.size / (count + 2 * self.QUIET_MODULES)
        edges = np.diff(np.pad(self.modules, ((0, 0), (1, 1))).astype(np.int8), axis=1)
        rows, starts = np.nonzero(edges == 1)
        _, ends = np.nonzero(edges == -1)  # row-major order: each end follows its start
        x = (starts + self.QUIET_MODULES) * module
        y = self.size - (rows + 1 + self.QUIET_MODULES) * module
        w = (ends - starts) * module
        rects = " ".join(
            f"{a:.3f} {b:.3f} {c:.3f} {module:.3f} re"
            for a, b, c in zip(x.tolist(), y.tolist(), w.tolist(), strict=True)
        )
        self.canv.addLiteral(f"q 0 g {rects} f Q")


_MASKS = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i * j) % 3 + (i + j) % 2) % 2 == 0,
)


def qr_modules(value: str) -> np.ndarray:
    """The dark (True) and light modules of ``value``'s QR code, with the best-scoring mask.

    The symbol is encoded once with mask 0; each other mask is applied to the data modules
    with numpy (masks are XOR patterns) and its format information written by the encoder.
    """
    code = QRCode(None, QRErrorCorrectLevel.M)
    code.addData(value)
    code.version = code.calculate_version()
    code.makeImpl(False, 0)
    positions = np.array(code.dataPosIterator())
    cols, rows = positions[:, 0], positions[:, 1]
    unmasked = np.array(code.modules, dtype=bool)[rows, cols] ^ _MASKS[0](rows, cols)
    best, best_score = None, None
    for mask, pattern in enumerate(_MASKS):
        code.setupTypeInfo(False, mask)
        modules = np.array(code.modules, dtype=bool)
        modules[rows, cols] = unmasked ^ pattern(rows, cols)
        score = _mask_penalty(modules)
        if best_score is None or score < best_score:
            best, best_score = modules, score
    return best


_FINDER_LIKE = (
    np.array([1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=bool),
    np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1], dtype=bool),
)


def _mask_penalty(m: np.ndarray) -> int:
    """The four penalty rules of ISO/IEC 18004 §7.8.3: runs, blocks, finder-like patterns, balance."""
    score = 0
    for grid in (m, m.T):
        same = grid[:, 1:] == grid[:, :-1]
        # A run of L ≥ 5 equal modules costs L − 2: (L − 4) windows of five, plus 2 at its start.
        five = same[:, :-3] & same[:, 1:-2] & same[:, 2:-1] & same[:, 3:]
        starts = five.copy()
        starts[:, 1:] &= ~same[:, :-4]
        score += int(five.sum()) + 2 * int(starts.sum())
        windows = np.lib.stride_tricks.sliding_window_view(grid, 11, axis=1)
        for pattern in _FINDER_LIKE:
            score += 40 * int(np.all(windows == pattern, axis=2).sum())
    blocks = (m[:-1, :-1] == m[1:, :-1]) & (m[:-1, :-1] == m[:-1, 1:]) & (m[:-1, :-1] == m[1:, 1:])
    score += 3 * int(blocks.sum())
    dark = 100 * np.count_nonzero(m) / m.size
    score += 10 * int(abs(dark - 50) // 5)
    return score


Decorate = Callable[[Canvas, int, int], None]


def render(
    story: list[Flowable],
    *,
    title: str,
    author: str,
    subject: str,
    decorate: Decorate,
    pagesize: tuple[float, float] = PAGE_SIZE,
) -> bytes:
    """Lay out ``story`` and return the PDF bytes.

    ``decorate(canvas, page, pages)`` draws what every page carries (header, footer, "Page X
    of Y", a watermark); it runs once the layout is finished, when the page count is known.
    """
    buffer = io.BytesIO()
    width, height = pagesize
    frame = Frame(
        MARGIN,
        MARGIN + FOOTER_HEIGHT,
        width - 2 * MARGIN,
        height - 2 * MARGIN - HEADER_HEIGHT - FOOTER_HEIGHT,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc = BaseDocTemplate(
        buffer,
        pagesize=pagesize,
        title=title,
        author=author,
        subject=subject,
        creator=CREATOR,
        invariant=1,
        initialFontName=PLAIN,
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    doc.build(story, canvasmaker=_numbered_canvas(decorate))
    return buffer.getvalue()


def _numbered_canvas(decorate: Decorate) -> type[Canvas]:
    class NumberedCanvas(Canvas):
        """Keeps each page until the end, then draws the furniture with the final page count."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                decorate(self, number, total)
                Canvas.showPage(self)
            Canvas.save(self)

    return NumberedCanvas


def furniture(
    canvas: Canvas,
    *,
    pharmacy_name: str,
    pharmacy_address: str,
    title: str,
    reference: str,
    footer: str,
    page: int,
    pages: int,
) -> None:
    """The header and footer of the record, the recall report and the product review: the
    pharmacy at the left, the document's title and reference at the right, rules under the header
    and over the footer, the footer text and "Page X of Y"."""
    width, height = PAGE_SIZE
    top, right = height - MARGIN, width - MARGIN
    canvas.saveState()
    draw(canvas, MARGIN, top - 10, pharmacy_name, 10, bold=True)
    address = pharmacy_address.splitlines()
    if address:
        draw(canvas, MARGIN, top - 20, ", ".join(address), 8)
    draw(canvas, right, top - 10, title, 9, bold=True, right=True)
    draw(canvas, right, top - 20, reference, 8, right=True)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, top - HEADER_HEIGHT + 4 * mm, right, top - HEADER_HEIGHT + 4 * mm)
    canvas.line(MARGIN, MARGIN + 8 * mm, right, MARGIN + 8 * mm)
    draw(canvas, MARGIN, MARGIN + 4 * mm, footer, 7.5)
    draw(canvas, right, MARGIN + 4 * mm, f"Page {page} of {pages}", 7.5, right=True)
    canvas.restoreState()


def watermark(canvas: Canvas, words: str) -> None:
    """Large grey words across the page, under nothing and over everything (drawn last, translucent)."""
    width, height = PAGE_SIZE
    canvas.saveState()
    canvas.setFillColor(colors.Color(0.75, 0.1, 0.1, alpha=0.18))
    canvas.setFont(face(words, bold=True), 64)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(40)
    canvas.drawCentredString(0, -22, words)
    canvas.restoreState()
