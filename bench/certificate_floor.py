"""The floor of the certificate render: the same content drawn with bare reportlab canvas calls.

No Platypus, no paragraphs, no tables: every line is placed at a position worked out by hand
for the benchmark's one-page certificate (header, field pairs, components, tests, the 30
content-uniformity values and their summary, storage, deviations, the release statement, the
signature and the QR code, the footer), text wrapped with ``simpleSplit`` only where a value is
wider than its column. The fonts, the document information and the compression are the
application's (Helvetica, DejaVu Sans where WinAnsi lacks a character, ``invariant=1``), and
the QR code's modules come from the same encoder (reportlab's, masks scored with numpy), so
what is left between the two renders is the layout machinery alone.
"""

import io

import numpy as np
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from qa_app.reports import pdf
from qa_app.reports.certificate import CONTENT_WIDTH, FIRST_COLUMN, QR_SIZE, CertificateContent
from qa_app.reports.pdf import GRID, MARGIN, PAGE_SIZE, SHADE, face, qr_modules

CELL = 7.5
LEADING = 9.0


class Page:
    """A cursor down one page of the floor certificate."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.y = PAGE_SIZE[1] - MARGIN - pdf.HEADER_HEIGHT

    def line(self, value: str, size: float = 8.5, *, bold: bool = False, leading: float = 10.5) -> None:
        self.y -= leading
        self.canvas.setFont(face(value, bold), size)
        self.canvas.drawString(MARGIN, self.y, value)

    def labelled(self, label: str, value: str) -> None:
        """``label`` in the regular face, ``value`` after it in bold (what ``<b>`` gives)."""
        self.y -= 10.5
        regular, bold = face(label), face(value, bold=True)
        self.canvas.setFont(regular, 8.5)
        self.canvas.drawString(MARGIN + 4, self.y, label)
        self.canvas.setFont(bold, 8.5)
        self.canvas.drawString(MARGIN + 4 + self.canvas.stringWidth(label, regular, 8.5), self.y, value)

    def heading(self, title: str) -> None:
        self.y -= 7
        self.line(title, 10, bold=True, leading=12)
        self.y -= 3

    def table(self, rows: list[list[str]], widths: list[float], shade_header: bool, bold_columns=()) -> None:
        """Ruled rows; each cell's text split to its column; the first row shaded when asked."""
        c = self.canvas
        c.setLineWidth(0.4)
        c.setStrokeColor(GRID)
        for r, row in enumerate(rows):
            cells = []
            for i, (value, width) in enumerate(zip(row, widths, strict=True)):
                bold = (r == 0 and shade_header) or i in bold_columns
                font = face(value, bold)
                fits = c.stringWidth(value, font, CELL) <= width - 6
                cells.append((font, [value] if fits else simpleSplit(value, font, CELL, width - 6)))
            height = max(1, *(len(lines) for _, lines in cells)) * LEADING + 3.5
            top = self.y
            self.y -= height
            if r == 0 and shade_header:
                c.setFillColor(SHADE)
                c.rect(MARGIN, self.y, sum(widths), height, stroke=0, fill=1)
                c.setFillColor((0, 0, 0))
            x = MARGIN
            for (font, lines), width in zip(cells, widths, strict=True):
                c.rect(x, self.y, width, height, stroke=1, fill=0)
                c.setFont(font, CELL)
                for k, text in enumerate(lines):
                    c.drawString(x + 3, top - 1.5 - 7 - k * LEADING, text)
                x += width


def floor_pdf(content: CertificateContent) -> bytes:
    """The benchmark's certificate drawn on one page with canvas calls only."""
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=PAGE_SIZE, invariant=1, initialFontName=pdf.PLAIN)
    c.setTitle(f"Certificate of analysis {content.number} version {content.version}")
    c.setAuthor(content.issuer_name)
    c.setSubject(f"{content.product} {content.strength}, lot {content.lot_number}")
    c.setCreator(pdf.CREATOR)
    _furniture(c, content)
    page = Page(c)
    page.line("Certificate of analysis", 14, bold=True, leading=17)
    page.y -= 2 + 2 * mm
    pairs = [
        ("Certificate", f"{content.number}, version {content.version}"),
        ("Lot number", content.lot_number),
        ("Product", content.product),
        ("Strength", content.strength),
        ("Dosage form", content.dosage_form),
        ("Quantity", content.quantity),
        ("Master formula", content.formula),
        ("Actual yield", content.actual_yield),
        ("Date compounded", content.compounded),
        ("Beyond-use date", content.bud),
        ("Storage condition", content.storage_condition),
        ("Specification", content.specification),
        ("API lot", content.api_lot),
        ("API supplier", content.api_supplier),
    ]
    rows = [[*pairs[i], *pairs[i + 1]] for i in range(0, len(pairs), 2)]
    w = CONTENT_WIDTH
    page.table(rows, [0.17 * w, 0.33 * w, 0.17 * w, 0.33 * w], False, bold_columns=(0, 2))
    page.heading("Components")
    page.table(
        [["Material", "Lot", "Supplier (supplier lot)", "Expiry"], *map(list, content.components)],
        [0.34 * w, 0.2 * w, 0.32 * w, 0.14 * w],
        True,
    )
    page.heading(f"Test results against specification {content.specification}")
    page.table(
        [
            ["Test", "Method", "Limits", "Result", "Conclusion"],
            *[[t.name, t.method, t.limits, t.result, t.conclusion] for t in content.tests],
        ],
        [0.16 * w, 0.2 * w, 0.26 * w, 0.22 * w, 0.16 * w],
        True,
        bold_columns=(0,),
    )
    for cu in content.uniformity:
        page.heading(f"Content uniformity (USP <905>), stage {cu.stage}")
        values = list(cu.values)
        grid = [["Units (% of label claim)", *[str(i) for i in range(1, 11)]]]
        for start in range(0, len(values), 10):
            chunk = values[start : start + 10]
            grid.append([f"{start + 1}–{start + len(chunk)}", *chunk, *[""] * (10 - len(chunk))])
        cell = w / (10 + FIRST_COLUMN)
        page.table(grid, [FIRST_COLUMN * cell] + [cell] * 10, True, bold_columns=(0,))
        page.y -= 1.5 * mm
        summary = (
            f"n = {cu.n} (stage {cu.stage}) · X̄ = {cu.mean} % · s = {cu.sd} · M = {cu.m} % · "
            f"k = {cu.k} · AV = {cu.av} (L1 = {cu.l1})"
        )
        if cu.unit_range:
            summary += f" · every unit within {cu.unit_range}"
        for text in simpleSplit(summary, face(summary), 8.5, w):
            page.line(text)
        page.y -= 10.5  # the conclusion in the summary's font, as the certificate prints it
        regular = face(summary)
        c.setFont(regular, 8.5)
        c.drawString(MARGIN, page.y, "Conclusion: ")
        c.setFont(face(summary, bold=True), 8.5)
        c.drawString(MARGIN + c.stringWidth("Conclusion: ", regular, 8.5), page.y, cu.conclusion)
    page.heading("Storage while in quarantine")
    page.table(
        [
            ["Storage unit", "From", "To", "Readings", "Min °C", "Max °C", "MKT °C"],
            *[[s.unit, s.start, s.end, s.readings, s.min_c, s.max_c, s.mkt_c] for s in content.storage],
        ],
        [0.25 * w, 0.17 * w, 0.17 * w, 0.1 * w, 0.1 * w, 0.1 * w, 0.11 * w],
        True,
    )
    page.heading("Deviations")
    for deviation in content.deviations or ["None recorded."]:
        page.line(f"• {deviation}" if content.deviations else deviation)
    page.y -= 6
    page.line(content.conclusion, 10, bold=True, leading=13)
    page.y -= 2 * mm
    _release(c, content, page.y)
    c.showPage()
    c.save()
    return buffer.getvalue()


def _release(c: Canvas, content: CertificateContent, top: float) -> None:
    """The signature and where to verify at the left, the QR code at the right, in a box."""
    size = QR_SIZE
    height = size + 6
    c.setLineWidth(0.6)
    c.setStrokeColor(GRID)
    c.rect(MARGIN, top - height, CONTENT_WIDTH, height, stroke=1, fill=0)
    page = Page(c)
    page.y = top - 3
    release = content.release
    page.labelled("", "Release signature")
    page.labelled("Signed by: ", release.name)
    page.labelled(f"Date and time: {release.signed_at}", "")
    page.labelled("Meaning: ", release.meaning)
    page.labelled("Electronic signature (21 CFR Part 11): user ID and password entered at signing.", "")
    for text in (f"Verify this certificate: {content.verify_url.partition('?')[0]}",):
        page.y -= 8.5
        c.setFont(face(text), 7)
        c.drawString(MARGIN + 4, page.y, text)
    x = MARGIN + CONTENT_WIDTH - size - 6
    modules = qr_modules(content.verify_url)
    count = modules.shape[0]
    module = size / (count + 8)
    qr_top = top - 3
    edges = np.diff(np.pad(modules, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    xs = x + (starts + 4) * module
    ys = qr_top - (rows + 5) * module
    parts = [
        f"{a:.3f} {b:.3f} {(e - s) * module:.3f} {module:.3f} re"
        for a, b, s, e in zip(xs.tolist(), ys.tolist(), starts.tolist(), ends.tolist(), strict=True)
    ]
    c.addLiteral(f"q 0 g {' '.join(parts)} f Q")


def _furniture(c: Canvas, content: CertificateContent) -> None:
    width, height = PAGE_SIZE
    top, right = height - MARGIN, width - MARGIN
    c.setFont(face(content.issuer_name, True), 11)
    c.drawString(MARGIN, top - 11, content.issuer_name)
    for i, line in enumerate(content.issuer_address.splitlines()[:3]):
        c.setFont(face(line), 8)
        c.drawString(MARGIN, top - 22 - 9 * i, line)
    c.setFont(pdf.PLAIN_BOLD, 10)
    c.drawRightString(right, top - 11, "CERTIFICATE OF ANALYSIS")
    reference = f"{content.number} · version {content.version}"
    c.setFont(face(reference), 8)
    c.drawRightString(right, top - 22, reference)
    c.drawRightString(right, top - 31, f"Lot {content.lot_number}")
    c.setLineWidth(0.6)
    c.line(MARGIN, top - pdf.HEADER_HEIGHT + 4 * mm, right, top - pdf.HEADER_HEIGHT + 4 * mm)
    c.line(MARGIN, MARGIN + 8 * mm, right, MARGIN + 8 * mm)
    footer = f"{content.issuer_name} · certificate of analysis · lot {content.lot_number}"
    c.setFont(face(footer), 7.5)
    c.drawString(MARGIN, MARGIN + 4 * mm, footer)
    c.drawString(MARGIN, MARGIN, f"Verify at {content.verify_url}")
    c.drawRightString(right, MARGIN + 4 * mm, "Page 1 of 1")
