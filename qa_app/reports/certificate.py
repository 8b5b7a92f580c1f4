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
from reportlab.platypus import Flowable, Spacer

from qa_app.reports import pdf
from qa_app.reports.pdf import MARGIN, PAGE_SIZE, Boxed, Line, Run, Together

CONTENT_WIDTH = PAGE_SIZE[0] - 2 * MARGIN
NOT_RELEASED = "NOT RELEASED"
QR_SIZE = 25 * mm
FIRST_COLUMN = 2.1  # the content-uniformity grid's first column, in value columns: its header on one line


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
    story: list[Flowable] = [Line([("Certificate of analysis", True)], "h1")]
    if c.preview:
        story.append(
            Line(
                [
                    (NOT_RELEASED, True),
                    (
                        " — preview of the certificate this batch would receive at release. "
                        "It is not a certificate and must not leave the pharmacy.",
                        False,
                    ),
                ]
            )
        )
    if c.replaces:
        story.append(Line([(f"This certificate replaces {c.replaces}.", True)]))
    if c.status_note:
        story.append(Line([(c.status_note, True)]))
    story.append(Spacer(1, 2 * mm))
    story.append(
        pdf.fields(
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
        components = pdf.grid(
            ["Material", "Lot", "Supplier (supplier lot)", "Expiry"],
            c.components,
            [0.34 * CONTENT_WIDTH, 0.2 * CONTENT_WIDTH, 0.32 * CONTENT_WIDTH, 0.14 * CONTENT_WIDTH],
        )
        story.append(_section("Components", components))
    story.append(
        _section(
            f"Test results against specification {c.specification}",
            pdf.grid(
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
            ),
        )
    )
    for cu in c.uniformity:
        story.append(Together(_uniformity(cu)))
    if c.storage:
        story.append(
            _section(
                "Storage while in quarantine",
                pdf.grid(
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
                ),
            )
        )
    else:
        story.append(_section("Storage while in quarantine", Line([("No storage recorded.", False)])))
    if c.storage_note:
        story.append(Line([(c.storage_note, False)], "small"))
    deviations = [Line([(f"• {deviation}", False)]) for deviation in c.deviations]
    story.append(_section("Deviations", deviations[0] if deviations else Line([("None recorded.", False)])))
    story += deviations[1:]
    story.append(
        Together([Line([(c.conclusion, False)], "conclusion"), Spacer(1, 2 * mm), _release_block(c)])
    )
    return story


def _heading(title: str) -> Line:
    return Line([(title, False)], "h2")


def _section(title: str, first: Flowable) -> Together:
    """A heading kept on the page with what follows it."""
    return Together([_heading(title), first])


def _uniformity(cu: UniformityTable) -> list[Flowable]:
    per_row = 10
    values = list(cu.values)
    rows = []
    for start in range(0, len(values), per_row):
        chunk = values[start : start + per_row]
        rows.append([f"{start + 1}–{start + len(chunk)}", *chunk, *[""] * (per_row - len(chunk))])
    width = CONTENT_WIDTH / (per_row + FIRST_COLUMN)
    grid = pdf.grid(
        ["Units (% of label claim)", *[str(i) for i in range(1, per_row + 1)]],
        rows,
        [FIRST_COLUMN * width] + [width] * per_row,
        bold_first_column=True,
    )
    summary = (
        f"n = {cu.n} (stage {cu.stage}) · X̄ = {cu.mean} % · s = {cu.sd} · "
        f"M = {cu.m} % · k = {cu.k} · AV = {cu.av} (L1 = {cu.l1})"
    )
    if cu.unit_range:
        summary += f" · every unit within {cu.unit_range}"
    return [
        _heading(f"Content uniformity (USP <905>), stage {cu.stage}"),
        grid,
        Spacer(1, 1.5 * mm),
        *_summary([[(summary, False)], [("Conclusion: ", False), (cu.conclusion, True)]]),
    ]


def _summary(lines: Sequence[Sequence[Run]], style: str = "body") -> list[Line]:
    """Lines read together, set in one font: DejaVu Sans for all when any of them needs it."""
    unicode = any(pdf.needs_unicode(runs) for runs in lines)
    return [Line(runs, style, unicode=unicode) for runs in lines]


def _release_block(c: CertificateContent) -> Boxed:
    """The signature and where to verify it at the left, the QR code beside them at the right:
    short enough to stay on the page with the results of a typical certificate."""
    if c.release is not None:
        signed = _summary(
            [
                [("Release signature", True)],
                [("Signed by: ", False), (c.release.name, True)],
                [(f"Date and time: {c.release.signed_at}", False)],
                [("Meaning: ", False), (c.release.meaning, True)],
                [("Electronic signature (21 CFR Part 11): user ID and password entered at signing.", False)],
            ]
        )
    else:
        signed = _summary(
            [[("Release signature", True)], [(NOT_RELEASED, True), (": no release signature yet.", False)]]
        )
    if not c.verify_url:
        note = Line([("No verification code: a preview is not a certificate.", False)], "small")
        return Boxed([[*signed, note]], [CONTENT_WIDTH])
    shown = c.verify_url.partition("?")[0] if c.verification_code else c.verify_url
    lines = [[(f"Verify this certificate: {shown}", False)]]
    if c.verification_code:
        lines.append([(f"Verification code: {c.verification_code}", False)])
    column = QR_SIZE + Boxed.LEFT + Boxed.RIGHT
    return Boxed(
        [[*signed, *_summary(lines, "small")], [pdf.QrCode(c.verify_url, QR_SIZE)]],
        [CONTENT_WIDTH - column, column],
    )


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
