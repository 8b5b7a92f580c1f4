"""The recall report of a material lot as PDF bytes: a pure function of plain data.

The service (:func:`qa_app.services.recalls.report`) gathers it from the database as it is at
printing, so the report may be printed any time after the recall and shows where every batch
and certificate stands then. Whatever people typed prints literally.
"""

from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Spacer

from qa_app.reports import pdf
from qa_app.reports.pdf import MARGIN, PAGE_SIZE, markup, para, text

CONTENT_WIDTH = PAGE_SIZE[0] - 2 * MARGIN


@dataclass(frozen=True)
class ReportBatch:
    lot_number: str
    product: str
    status: str
    via: str
    chain: str


@dataclass(frozen=True)
class ReportCertificate:
    number: str
    version: int
    lot_number: str
    status: str
    revoked: str
    """When and why it was revoked (local time), or empty."""


@dataclass(frozen=True)
class RecallReport:
    """A lot's recall as the database shows it now: it may be printed any time later."""

    barcode: str
    material: str
    supplier: str
    supplier_lot: str
    made_in: str | None
    recalled_by: str
    recalled_at: str
    reason: str
    lots: list[tuple[str, str, str]]
    """Lots recalled with it (made from it): barcode, material, made in batch."""
    batches: list[ReportBatch]
    certificates: list[ReportCertificate]


@dataclass(frozen=True)
class Printing:
    pharmacy_name: str
    pharmacy_address: str
    printed: str


def recall_pdf(r: RecallReport, printing: Printing) -> bytes:
    """The report, every page headed with the lot and numbered "Page X of Y"."""
    return pdf.render(
        _story(r, printing),
        title=f"Recall of lot {r.barcode}",
        author=printing.pharmacy_name,
        subject=f"{r.material}, lot {r.barcode}: recalled",
        decorate=lambda canvas, page, pages: _furniture(canvas, r, printing, page, pages),
    )


def _w(*fractions: float) -> list[float]:
    return [f * CONTENT_WIDTH for f in fractions]


def _story(r: RecallReport, printing: Printing) -> list[Flowable]:
    pairs = [
        ("Lot", r.barcode),
        ("Material", r.material),
        ("Supplier", r.supplier),
        ("Supplier lot", r.supplier_lot),
    ]
    if r.made_in:
        pairs.append(("Made in batch", r.made_in))
    pairs += [("Recalled by", r.recalled_by), ("Recalled at", r.recalled_at), ("Reason", r.reason)]
    story: list[Flowable] = [
        markup(f"Recall of lot {text(r.barcode)}", "h1"),
        markup(f"{text(r.material)} · {text(printing.printed)}"),
        Spacer(1, 2 * mm),
        pdf.field_table(pairs, _w(0.2, 0.8), split_rows=True),
        pdf.heading("Lots recalled with it (made from it)"),
    ]
    if r.lots:
        story.append(pdf.grid_table(["Lot", "Material", "Made in batch"], r.lots, _w(0.3, 0.35, 0.35)))
    else:
        story.append(para("None.", "body"))
    story.append(pdf.heading("Batches made from it, and where they stand now"))
    if r.batches:
        rows = [(b.lot_number, b.product, b.status, b.via, b.chain) for b in r.batches]
        story.append(
            pdf.grid_table(
                ["Batch", "Product", "Status now", "Via", "Chain"],
                rows,
                _w(0.15, 0.22, 0.11, 0.14, 0.38),
                bold_first_column=True,
                split_rows=True,
            )
        )
    else:
        story.append(para("No batch used this lot.", "body"))
    story.append(pdf.heading("Certificates of those batches, and their status now"))
    if r.certificates:
        rows = [(c.number, str(c.version), c.lot_number, c.status, c.revoked) for c in r.certificates]
        story.append(
            pdf.grid_table(
                ["Certificate", "Version", "Batch", "Status now", "Revoked"],
                rows,
                _w(0.17, 0.08, 0.15, 0.1, 0.5),
                split_rows=True,
            )
        )
    else:
        story.append(para("No certificate was issued for these batches.", "body"))
    return story


def _furniture(canvas: Canvas, r: RecallReport, printing: Printing, page: int, pages: int) -> None:
    pdf.furniture(
        canvas,
        pharmacy_name=printing.pharmacy_name,
        pharmacy_address=printing.pharmacy_address,
        title="MATERIAL LOT RECALL",
        reference=f"Lot {r.barcode}",
        footer=f"Recall of lot {r.barcode} · {printing.printed}",
        page=page,
        pages=pages,
    )
