"""The complete compounding record of one batch, for inspectors, as PDF bytes.

A pure function of plain data: sections of label–value pairs, tables and notes that the
service (:mod:`qa_app.services.records`) fills with text already formatted. Whatever people
typed prints literally; tables repeat their header on every page they span.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.pagesizes import LETTER, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Spacer

from qa_app.reports import pdf
from qa_app.reports.pdf import MARGIN, markup, para, text

PAGE_SIZE = landscape(LETTER)  # the record's tables have many columns
CONTENT_WIDTH = PAGE_SIZE[0] - 2 * MARGIN


@dataclass(frozen=True)
class Grid:
    """A table: ``widths`` are fractions of the page's text width."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    widths: Sequence[float]
    title: str | None = None
    empty: str = "None."


@dataclass(frozen=True)
class Section:
    title: str
    fields: Sequence[tuple[str, str]] = ()
    grids: Sequence[Grid] = ()
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class RecordContent:
    pharmacy_name: str
    pharmacy_address: str
    lot_number: str
    product: str
    status: str
    printed: str
    sections: Sequence[Section]


def record_pdf(content: RecordContent) -> bytes:
    """The record, every page headed with the lot and numbered "Page X of Y"."""
    return pdf.render(
        _story(content),
        title=f"Compounding record {content.lot_number}",
        author=content.pharmacy_name,
        subject=f"{content.product}, lot {content.lot_number}: {content.status}",
        decorate=lambda canvas, page, pages: _furniture(canvas, content, page, pages),
        pagesize=PAGE_SIZE,
    )


def _story(c: RecordContent) -> list[Flowable]:
    story: list[Flowable] = [
        markup(f"Compounding record — lot {text(c.lot_number)}", "h1"),
        markup(f"{text(c.product)} · status <b>{text(c.status)}</b> · {text(c.printed)}"),
        Spacer(1, 2 * mm),
    ]
    for section in c.sections:
        story.append(pdf.heading(section.title))
        if section.fields:
            story.append(
                pdf.field_table(
                    section.fields,
                    [0.17 * CONTENT_WIDTH, 0.33 * CONTENT_WIDTH, 0.17 * CONTENT_WIDTH, 0.33 * CONTENT_WIDTH],
                    split_rows=True,
                )
            )
        for grid in section.grids:
            if grid.title:
                story.append(para(grid.title, "caption"))
            if grid.rows:
                widths = [w * CONTENT_WIDTH for w in grid.widths]
                story.append(pdf.grid_table(grid.header, grid.rows, widths, split_rows=True))
            else:
                story.append(para(grid.empty, "body"))
            story.append(Spacer(1, 1.5 * mm))
        for note in section.notes:
            story.append(para(note, "body"))
    return story


def _furniture(canvas: Canvas, c: RecordContent, page: int, pages: int) -> None:
    pdf.furniture(
        canvas,
        pharmacy_name=c.pharmacy_name,
        pharmacy_address=c.pharmacy_address,
        title="COMPLETE COMPOUNDING RECORD",
        reference=f"Lot {c.lot_number}",
        footer=f"Lot {c.lot_number} · {c.printed}",
        page=page,
        pages=pages,
    )
