"""The certificate of analysis (domain.md §8) as PDF bytes: a pure function of plain data.

The services gather and format the facts (local times with their zone, rounded results); this
module only lays them out, so the preview before release and the certificate issued at release
come from the same code. A preview carries "NOT RELEASED" across every page and no
verification code: it is never a certificate.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from qa_app.reports import pdf
from qa_app.reports.pdf import MARGIN, PAGE_SIZE, markup, para, text

CONTENT_WIDTH = PAGE_SIZE[0] - 2 * MARGIN
NOT_RELEASED = "NOT RELEASED"


@dataclass(frozen=True)
class ResultLine:
    """One row of the test table, every value already written out as printed."""

    name: str
    method: str
    limits: str
    result: str
    conclusion: str


@dataclass(frozen=True)
class UniformityTable:
    """Content uniformity (USP <905>): each unit's content and the statistics behind the AV."""

    values: Sequence[str]
    n: int
    stage: int
    mean: str
    sd: str
    m: str
    k: str
    av: str
    l1: str
    conclusion: str
    unit_range: str | None = None


@dataclass(frozen=True)
class StorageLine:
    """Where the batch waited in quarantine, and the temperatures recorded there meanwhile."""

    unit: str
    start: str
    end: str
    readings: str
    min_c: str
    max_c: str
    mkt_c: str


@dataclass(frozen=True)
class ReleaseSignature:
    name: str
    signed_at: str
    meaning: str


@dataclass(frozen=True)
class CertificateContent:
    """Everything a certificate prints. ``number`` is None for a preview."""

    issuer_name: str
    issuer_address: str
    number: str | None
    version: int | None
    product: str
    strength: str
    dosage_form: str
    lot_number: str
    formula: str
    compounded: str
    bud: str
    storage_condition: str
    quantity: str
    actual_yield: str
    api_lot: str
    api_supplier: str
    specification: str
    tests: Sequence[ResultLine]
    conclusion: str
    components: Sequence[tuple[str, str, str, str]] = ()
    uniformity: Sequence[UniformityTable] = ()
    storage: Sequence[StorageLine] = ()
    storage_note: str = ""
    deviations: Sequence[str] = ()
    release: ReleaseSignature | None = None
    verify_url: str | None = None
    verification_code: str | None = None
    replaces: str | None = None
    status_note: str = ""

    @property
    def preview(self) -> bool:
        return self.number is None


def certificate_pdf(content: CertificateContent) -> bytes:
    """The certificate, "Page X of Y" on every page; a preview is watermarked NOT RELEASED."""
    reference = _reference(content)
    return pdf.render(
        _story(content),
        title=f"Certificate of analysis {reference}",
        author=content.issuer_name,
        subject=f"{content.product} {content.strength}, lot {content.lot_number}",
        decorate=lambda canvas, page, pages: _furniture(canvas, content, page, pages),
    )


def _reference(content: CertificateContent) -> str:
    if content.preview:
        return f"PREVIEW — {NOT_RELEASED}"
    return f"{content.number} version {content.version}"


def _story(c: CertificateContent) -> list[Flowable]:
    story: list[Flowable] = [markup("Certificate of analysis", "h1")]
    if c.preview:
        story.append(
            markup(
                f"<b>{NOT_RELEASED}</b> — preview of the certificate this batch would receive at release. "
                "It is not a certificate and must not leave the pharmacy.",
            )
        )
    if c.replaces:
        story.append(markup(f"<b>This certificate replaces {text(c.replaces)}.</b>"))
    if c.status_note:
        story.append(markup(f"<b>{text(c.status_note)}</b>"))
    story.append(Spacer(1, 2 * mm))
    story.append(
        pdf.field_table(
            [
                ("Certificate", "— (preview)" if c.preview else f"{c.number}, version {c.version}"),
                ("Lot number", c.lot_number),
                ("Product", c.product),
                ("Strength", c.strength),
                ("Dosage form", c.dosage_form),
                ("Quantity", c.quantity),
                ("Master formula", c.formula),
                ("Actual yield", c.actual_yield),
                ("Date compounded", c.compounded),
                ("Beyond-use date", c.bud),
                ("Storage condition", c.storage_condition),
                ("Specification", c.specification),
                ("API lot", c.api_lot),
                ("API supplier", c.api_supplier),
            ],
            [0.17 * CONTENT_WIDTH, 0.33 * CONTENT_WIDTH, 0.17 * CONTENT_WIDTH, 0.33 * CONTENT_WIDTH],
        )
    )
    if c.components:
        story.append(pdf.heading("Components"))
        story.append(
            pdf.grid_table(
                ["Material", "Lot", "Supplier (supplier lot)", "Expiry"],
                c.components,
                [0.34 * CONTENT_WIDTH, 0.2 * CONTENT_WIDTH, 0.32 * CONTENT_WIDTH, 0.14 * CONTENT_WIDTH],
            )
        )
    story.append(pdf.heading(f"Test results against specification {c.specification}"))
    story.append(
        pdf.grid_table(
            ["Test", "Method", "Limits", "Result", "Conclusion"],
            [(t.name, t.method, t.limits, t.result, t.conclusion) for t in c.tests],
            [
                0.16 * CONTENT_WIDTH,
                0.2 * CONTENT_WIDTH,
                0.26 * CONTENT_WIDTH,
                0.22 * CONTENT_WIDTH,
                0.16 * CONTENT_WIDTH,
            ],
            bold_first_column=True,
        )
    )
    for cu in c.uniformity:
        story.append(KeepTogether(_uniformity(cu)))
    story.append(pdf.heading("Storage while in quarantine"))
    if c.storage:
        story.append(
            pdf.grid_table(
                ["Storage unit", "From", "To", "Readings", "Min °C", "Max °C", "MKT °C"],
                [(s.unit, s.start, s.end, s.readings, s.min_c, s.max_c, s.mkt_c) for s in c.storage],
                [
                    0.25 * CONTENT_WIDTH,
                    0.17 * CONTENT_WIDTH,
                    0.17 * CONTENT_WIDTH,
                    0.1 * CONTENT_WIDTH,
                    0.1 * CONTENT_WIDTH,
                    0.1 * CONTENT_WIDTH,
                    0.11 * CONTENT_WIDTH,
                ],
            )
        )
    else:
        story.append(para("No storage recorded.", "body"))
    if c.storage_note:
        story.append(para(c.storage_note, "small"))
    story.append(pdf.heading("Deviations"))
    if c.deviations:
        for deviation in c.deviations:
            story.append(markup(f"• {text(deviation)}"))
    else:
        story.append(para("None recorded.", "body"))
    story.append(Spacer(1, 2 * mm))
    story.append(KeepTogether([para(c.conclusion, "conclusion"), Spacer(1, 3 * mm), _release_block(c)]))
    return story


def _uniformity(cu: UniformityTable) -> list[Flowable]:
    per_row = 10
    values = list(cu.values)
    rows = []
    for start in range(0, len(values), per_row):
        chunk = values[start : start + per_row]
        rows.append([f"{start + 1}–{start + len(chunk)}", *chunk, *[""] * (per_row - len(chunk))])
    width = CONTENT_WIDTH / (per_row + 1.4)
    grid = pdf.grid_table(
        ["Units (% of label claim)", *[str(i) for i in range(1, per_row + 1)]],
        rows,
        [1.4 * width] + [width] * per_row,
        bold_first_column=True,
    )
    summary = (
        f"n = {cu.n} (stage {cu.stage}) · X̄ = {text(cu.mean)} % · s = {text(cu.sd)} · "
        f"M = {text(cu.m)} % · k = {text(cu.k)} · AV = {text(cu.av)} (L1 = {text(cu.l1)})"
    )
    if cu.unit_range:
        summary += f" · every unit within {text(cu.unit_range)}"
    return [
        pdf.heading(f"Content uniformity (USP <905>), stage {cu.stage}"),
        grid,
        Spacer(1, 1.5 * mm),
        markup(summary),
        markup(f"Conclusion: <b>{text(cu.conclusion)}</b>"),
    ]


def _release_block(c: CertificateContent) -> Table:
    if c.release is not None:
        signed = [
            markup("<b>Release signature</b>"),
            markup(f"Signed by: <b>{text(c.release.name)}</b>"),
            markup(f"Date and time: {text(c.release.signed_at)}"),
            markup(f"Meaning: <b>{text(c.release.meaning)}</b>"),
            markup("Electronic signature (21 CFR Part 11): user ID and password entered at signing."),
        ]
    else:
        signed = [
            markup("<b>Release signature</b>"),
            markup(f"<b>{NOT_RELEASED}</b>: no release signature yet."),
        ]
    if c.verify_url:
        verify = [
            pdf.QrCode(c.verify_url),
            para("Verify this certificate:", "small"),
            para(c.verify_url.partition("?")[0] if c.verification_code else c.verify_url, "small"),
            *([para(f"Verification code: {c.verification_code}", "small")] if c.verification_code else []),
        ]
    else:
        verify = [para("No verification code: a preview is not a certificate.", "small")]
    table = Table([[signed, verify]], colWidths=[CONTENT_WIDTH - 64 * mm, 64 * mm])
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, pdf.GRID),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _furniture(canvas: Canvas, c: CertificateContent, page: int, pages: int) -> None:
    """Header, footer and the page count on every page; the watermark on a preview."""
    width, height = PAGE_SIZE
    top, right = height - MARGIN, width - MARGIN
    canvas.saveState()
    pdf.draw(canvas, MARGIN, top - 11, c.issuer_name, 11, bold=True)
    for i, line in enumerate(c.issuer_address.splitlines()[:3]):
        pdf.draw(canvas, MARGIN, top - 22 - 9 * i, line, 8)
    pdf.draw(canvas, right, top - 11, "CERTIFICATE OF ANALYSIS", 10, bold=True, right=True)
    reference = f"{NOT_RELEASED} — PREVIEW" if c.preview else f"{c.number} · version {c.version}"
    pdf.draw(canvas, right, top - 22, reference, 8, right=True)
    pdf.draw(canvas, right, top - 31, f"Lot {c.lot_number}", 8, right=True)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, top - pdf.HEADER_HEIGHT + 4 * mm, right, top - pdf.HEADER_HEIGHT + 4 * mm)
    bottom = MARGIN
    canvas.line(MARGIN, bottom + 8 * mm, right, bottom + 8 * mm)
    pdf.draw(
        canvas,
        MARGIN,
        bottom + 4 * mm,
        f"{c.issuer_name} · certificate of analysis · lot {c.lot_number}",
        7.5,
    )
    if c.verify_url:
        pdf.draw(canvas, MARGIN, bottom, f"Verify at {c.verify_url}", 7.5)
    pdf.draw(canvas, right, bottom + 4 * mm, f"Page {page} of {pages}", 7.5, right=True)
    canvas.restoreState()
    if c.preview:
        pdf.watermark(canvas, NOT_RELEASED)
