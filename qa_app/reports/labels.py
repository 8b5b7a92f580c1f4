"""Thermal labels (100 mm × 50 mm) for material lots and compounded batches, as PDF bytes.

Pure functions of plain data: no Flask, no database. The same label always gives the same
bytes (``invariant=1`` fixes the dates and the document ID), so a printed label can be
reproduced and its hash compared. Page streams are left uncompressed (``pageCompression=0``):
a label is a few kilobytes either way, and its text can then be searched and diffed in tests
and audits. Text is set in Helvetica, a standard PDF font whose WinAnsi encoding covers
"°", "–", "—" and "…", so nothing is embedded.
"""

import io
import math
from dataclasses import dataclass
from datetime import date

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from qa_app.domain.rounding import round_half_up

LABEL_WIDTH = 100 * mm
LABEL_HEIGHT = 50 * mm
MARGIN = 3 * mm
MODULE_WIDTH = 0.25 * mm  # two dots of a 203 dpi (8 dots/mm) thermal printer
MIN_MODULE_WIDTH = 0.19 * mm
QUIET_ZONE_MODULES = 10
BARCODE_MAX_WIDTH = LABEL_WIDTH - 2 * MARGIN
BAR_HEIGHT = 11 * mm
AUTHOR = "LDN batch QA"

FONT = "Helvetica"
BOLD = "Helvetica-Bold"
HUMAN_READABLE_SIZE = 8
_ASCENT, _DESCENT = 0.718, 0.207  # Helvetica cap height and descender, per point of size
_BARS_BOTTOM = MARGIN + 3.5 * mm  # the human-readable line sits under the bars
_TEXT_TOP = LABEL_HEIGHT - MARGIN
_SPLIT = 64 * mm  # left column: names and numbers; right column: status and dates
_GUTTER = 2 * mm
_IDENTIFIER_MIN_SIZE = 5  # codes and lot numbers shrink rather than lose characters


@dataclass(frozen=True)
class LotLabel:
    """What a material lot's label shows; ``status`` is quarantine, approved or rejected."""

    barcode: str
    material_code: str
    material_name: str
    supplier: str
    supplier_lot: str
    expiry_date: date
    received_date: date
    status: str
    assay_percent: float | None


@dataclass(frozen=True)
class BatchLabel:
    """What a batch's label shows; ``status`` is the batch state (quarantine, on_hold, released …)."""

    lot_number: str
    product: str
    strength: str
    dosage_form: str
    quantity: str
    bud: date
    storage: str
    pharmacy_name: str
    status: str
    route: str = ""
    active: str = ""
    """The active ingredient's name, printed above ``strength`` (its amount per unit or dose)."""
    compounded: bool = False
    """Prints "Compounded preparation" (USP <795> labelling); off only for older callers."""


def code128_symbol(value: str, max_width: float = BARCODE_MAX_WIDTH) -> Code128:
    """The Code 128 symbol of ``value``, quiet zones included in its width.

    Each quiet zone is ten modules. The module is 0.25 mm while the symbol fits in
    ``max_width`` and narrows for longer values; below 0.19 mm printers and scanners stop
    being reliable, so a value that would need less is refused rather than printed unreadable.
    """
    if not value:
        raise ValueError("barcode value is empty")
    unprintable = sorted({c for c in value if not " " <= c <= "~"})
    if unprintable:
        raise ValueError(
            f"barcode value may hold printable ASCII only, not {', '.join(map(repr, unprintable))}"
        )
    modules = round(Code128(value, barWidth=1, quiet=0).width) + 2 * QUIET_ZONE_MODULES
    micrometre = 0.001 * mm
    widest = math.floor(max_width / modules / micrometre + 1e-9)
    if widest < round(MIN_MODULE_WIDTH / micrometre):
        raise ValueError(
            f"barcode value of {len(value)} characters is too long for the label: its {modules} modules "
            f"at the {MIN_MODULE_WIDTH / mm:.2f} mm minimum need {modules * MIN_MODULE_WIDTH / mm:.2f} mm, "
            f"and {max_width / mm:.2f} mm are available"
        )
    module = min(MODULE_WIDTH, widest * micrometre)
    quiet = QUIET_ZONE_MODULES * module
    return Code128(
        value,
        barWidth=module,
        barHeight=BAR_HEIGHT,
        quiet=1,
        lquiet=quiet,
        rquiet=quiet,
    )


def lot_label_pdf(label: LotLabel) -> bytes:
    """The label stuck on a received material container: what it is, whose lot, its dates and status.

    A lot that is not approved carries its status (QUARANTINE, REJECTED) white on black, so it
    cannot be mistaken for a usable one across the room; the barcode is what the scanner types.
    """
    symbol = code128_symbol(label.barcode)
    status = _status_text(label.status)
    buffer = io.BytesIO()
    canvas = _label_canvas(
        buffer,
        title=f"Lot label {label.barcode}",
        author=AUTHOR,
        subject=f"{label.material_name} ({label.material_code}), supplier lot {label.supplier_lot}: {status}",
    )

    left = _Column(canvas, MARGIN, _SPLIT - MARGIN - _GUTTER)
    left.lines(label.material_name, BOLD, 11, max_lines=2)
    left.line(f"Code {label.material_code}", FONT, 8, _IDENTIFIER_MIN_SIZE)
    left.line(f"Supplier {label.supplier}", FONT, 8)
    left.line(f"Supplier lot {label.supplier_lot}", BOLD, 8, _IDENTIFIER_MIN_SIZE)
    if label.assay_percent is not None:
        left.line(f"Assay (as is) {round_half_up(label.assay_percent, 1)} %", FONT, 8)

    right = _Column(canvas, _SPLIT, LABEL_WIDTH - MARGIN - _SPLIT)
    right.box(status, 12, 9 * mm, inverted=label.status.strip().lower() != "approved")
    right.line(f"Exp {label.expiry_date.isoformat()}", BOLD, 10)
    right.line(f"Rec {label.received_date.isoformat()}", FONT, 8)

    _draw_barcode(canvas, symbol)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def batch_label_pdf(label: BatchLabel) -> bytes:
    """The label on a compounded batch's container (USP <795>, domain.md §9).

    Product, the active ingredient with its amount per unit or its concentration and dose, the
    dosage form and route, the quantity made, lot, BUD, storage, "Compounded preparation".

    Until the batch is released, "NOT RELEASED — <status>" runs across the top of the label in
    white on black, so a quarantined container is never taken for one that may be dispensed.
    """
    symbol = code128_symbol(label.lot_number)
    released = label.status.strip().lower() == "released"
    status = _status_text(label.status)
    buffer = io.BytesIO()
    canvas = _label_canvas(
        buffer,
        title=f"Batch label {label.lot_number}",
        author=label.pharmacy_name.strip() or AUTHOR,
        subject=f"{label.product} {label.strength}, lot {label.lot_number}, BUD {label.bud.isoformat()}: {status}",
    )

    top = _TEXT_TOP
    if not released:
        band = _Column(canvas, MARGIN, LABEL_WIDTH - 2 * MARGIN)
        band.box(f"NOT RELEASED — {status}", 11, 6.5 * mm, inverted=True)
        top = band.y

    left = _Column(canvas, MARGIN, _SPLIT - MARGIN - _GUTTER, top)
    left.line(label.product, BOLD, 12)
    if label.active:
        left.line(label.active, BOLD, 10)
    left.line(label.strength, BOLD, 12)
    route = f" · {label.route} use" if label.route else ""
    left.line(f"{label.dosage_form}{route} · Qty {label.quantity}", FONT, 8)
    left.line(label.storage, FONT, 8)

    right = _Column(canvas, _SPLIT, LABEL_WIDTH - MARGIN - _SPLIT, top)
    if label.compounded:
        right.line("Compounded preparation", BOLD, 7)
    right.line(f"Lot {label.lot_number}", BOLD, 9, _IDENTIFIER_MIN_SIZE)
    right.box(f"BUD {label.bud.isoformat()}", 12, 7 * mm, inverted=False)
    right.lines(label.pharmacy_name, FONT, 7, max_lines=2)

    _draw_barcode(canvas, symbol)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _status_text(status: str) -> str:
    return status.strip().replace("_", " ").upper()


def _label_canvas(buffer: io.BytesIO, *, title: str, author: str, subject: str) -> Canvas:
    canvas = Canvas(buffer, pagesize=(LABEL_WIDTH, LABEL_HEIGHT), invariant=1, pageCompression=0)
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setSubject(subject)
    canvas.setCreator(AUTHOR)
    return canvas


def _draw_barcode(canvas: Canvas, symbol: Code128) -> None:
    """The symbol centred across the label, its value in plain text under the bars."""
    left = (LABEL_WIDTH - symbol.width) / 2
    symbol.drawOn(canvas, left, _BARS_BOTTOM)
    bars = symbol.width - symbol.lquiet - symbol.rquiet
    text, size = _fit(symbol.value, FONT, HUMAN_READABLE_SIZE, bars, min_size=5)
    canvas.setFont(FONT, size)
    canvas.drawCentredString(LABEL_WIDTH / 2, _BARS_BOTTOM - 0.8 * mm - _ASCENT * size, text)


def _fit(text: str, font: str, size: float, width: float, min_size: float = 7) -> tuple[str, float]:
    """Shrink the type down to ``min_size`` to fit ``width``, then cut the text with an ellipsis."""
    natural = stringWidth(text, font, size)
    if natural <= width:
        return text, size
    size = max(min_size, math.floor(size * width / natural * 10) / 10)
    if stringWidth(text, font, size) <= width:
        return text, size
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…", size


class _Column:
    """Lines of text and boxes stacked downwards from ``top`` within a column's width."""

    def __init__(self, canvas: Canvas, x: float, width: float, top: float = _TEXT_TOP) -> None:
        self.canvas, self.x, self.width, self.y = canvas, x, width, top

    def line(self, text: str, font: str, size: float, min_size: float = 7) -> None:
        text, fitted = _fit(text, font, size, self.width, min_size)
        baseline = self.y - _ASCENT * size
        self.canvas.setFont(font, fitted)
        self.canvas.drawString(self.x, baseline, text)
        self.y = baseline - _DESCENT * size - 0.25 * size

    def lines(self, text: str, font: str, size: float, *, max_lines: int, min_size: float = 7) -> None:
        """Wrap at word boundaries onto at most ``max_lines`` lines; the last one takes the rest."""
        wrapped = simpleSplit(text, font, size, self.width)
        for line in [*wrapped[: max_lines - 1], " ".join(wrapped[max_lines - 1 :])]:
            if line:
                self.line(line, font, size, min_size)

    def box(self, text: str, size: float, height: float, *, inverted: bool) -> None:
        padding = 1.5 * mm
        text, fitted = _fit(text, BOLD, size, self.width - 2 * padding)
        bottom = self.y - height
        canvas = self.canvas
        canvas.saveState()
        canvas.setLineWidth(1)
        if inverted:
            canvas.rect(self.x, bottom, self.width, height, stroke=0, fill=1)
            canvas.setFillGray(1)
        else:
            canvas.rect(self.x + 0.5, bottom + 0.5, self.width - 1, height - 1, stroke=1, fill=0)
        canvas.setFont(BOLD, fitted)
        canvas.drawCentredString(self.x + self.width / 2, bottom + (height - _ASCENT * fitted) / 2, text)
        canvas.restoreState()
        self.y = bottom - 1.5 * mm
