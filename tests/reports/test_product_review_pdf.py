"""The annual product review PDF, read back with pdftotext the way a person reads it: every
section with its numbers, the chart's lines, "Page X of Y", DRAFT until signed and never after."""

import re
import shutil
import subprocess

import pytest

from qa_app.reports.product_review import (
    ChartData,
    ReviewContent,
    ReviewSignature,
    TrendSection,
    product_review_pdf,
)
from qa_app.services import clock, product_reviews
from tests.builders import setup_master_data, signature, user
from tests.services.test_product_reviews import CONCLUSIONS, hand_built_year

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)

VECTOR = [98.0, 99.0, 100.0, 101.0, 102.0, 101.0, 100.0, 99.0, 108.0]


def pdf_text(data: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def made(**changes) -> ReviewContent:
    content = ReviewContent(
        pharmacy_name="Riverside Compounding Pharmacy",
        pharmacy_address="12 Main Street\nSpringfield, IL 62701",
        code="LDN-CAP",
        name="Naltrexone HCl capsules (LDN)",
        year=2026,
        period="batches compounded 2026-01-01 to 2026-12-31 (America/Chicago)",
        printed="printed 2026-12-07 09:00:00 CST (UTC-06:00)",
        counts=[
            ("Batches made", "12"),
            ("Released", "10"),
            ("Rejected", "1"),
            ("Recalled", "0"),
            ("Discarded", "1"),
        ],
        batches=[("LDN-2026-0001", "1.5 mg", "2026-01-05", "released")],
        oos=[("LDN-2026-0004", "Assay", "85.0 % LC", "OOS confirmed", "Blend not uniform")],
        deviations=["LDN-2026-0004: OOS confirmed for Assay by investigation 1: Blend not uniform"],
        excursions=[
            (
                "LDN-2026-0002",
                "FRIDGE-1",
                "2026-03-01 02:00 CST – 2026-03-01 05:00 CST",
                "8.4–9.1 °C",
                "acceptable by Rob Reviewer: stable",
            )
        ],
        versions=[
            ("v1", "2026-01-02", "in force", "Assay 90.0–110.0 % LC; Content uniformity AV ≤ 15.0 (L1)")
        ],
        trends=[
            TrendSection(
                "Assay (% LC), 1.5 mg",
                "9 points; centre 100.89; control limits 96.49–105.29.",
                "Capability: not shown — it needs 20 points; this year has 9.",
                ChartData(VECTOR, 100.89, 96.49, 105.29, 90.0, 110.0, signals=[(8, 1)]),
            )
        ],
        signals=[
            (
                "Assay (% LC), 1.5 mg",
                "1",
                "LDN-2026-0009",
                "A point above the upper control limit (more than 3 sigma).",
                "Not acknowledged yet.",
            )
        ],
        conclusions=None,
    )
    return ReviewContent(**{**content.__dict__, **changes})


def test_a_draft_shows_every_section_and_is_marked_draft():
    text = pdf_text(product_review_pdf(made()))
    assert "Annual product review — LDN-CAP 2026" in text
    for heading in (
        "Summary",
        "Batches compounded",
        "Out-of-specification results and their investigations",
        "Deviations",
        "Storage excursions that held its batches",
        "Formula and specification versions in force",
        "Trends",
        "Trend signals and the batches that raised them",
        "Conclusions of the reviewer",
    ):
        assert heading in text
    assert re.search(r"Batches made\s+12", text)
    assert re.search(r"Released\s+10", text)
    assert "85.0 % LC" in text and "OOS confirmed" in text
    assert "FRIDGE-1" in text and "acceptable by Rob Reviewer" in text
    assert "Assay 90.0–110.0 % LC" in text
    assert "UCL 105.29" in text and "LCL 96.49" in text and "USL 110.00" in text
    assert "needs 20 points; this year has 9" in text
    assert "DRAFT — not signed" in text
    pages = int(re.search(r"Page 1 of (\d+)", text).group(1))
    assert all(f"Page {n} of {pages}" in text for n in range(1, pages + 1))


def test_a_signed_review_has_its_signature_and_no_draft_mark():
    signed = made(
        conclusions="In control.\nNo change needed.",
        signature=ReviewSignature("Rob Reviewer, PharmD", "reviewed", "2026-12-07 09:00:00 CST (UTC-06:00)"),
    )
    text = pdf_text(product_review_pdf(signed))
    assert "DRAFT" not in text
    assert "Rob Reviewer, PharmD" in text and "reviewed" in text
    assert "In control." in text and "No change needed." in text


def test_the_same_content_gives_the_same_bytes():
    assert product_review_pdf(made()) == product_review_pdf(made())


def test_the_review_of_a_hand_built_year_read_back(app, users):
    with app.app_context():
        setup_master_data(clock.today())
        year, lots = hand_built_year()
        draft = pdf_text(product_reviews.preview_pdf("LDN-CAP", year))
        assert "DRAFT" in draft
        assert re.search(r"Batches made\s+5", draft)
        assert re.search(r"Released\s+3", draft) and re.search(r"Rejected\s+1", draft)
        assert re.search(r"Discarded\s+1", draft)
        assert all(lot in draft for lot in lots)
        assert "OOS confirmed: blend not uniform" in draft
        review = product_reviews.sign(user("rob"), "LDN-CAP", year, CONCLUSIONS, signature("rob", "reviewed"))
        text = pdf_text(review.pdf)
        assert "DRAFT" not in text
        assert "Rob Reviewer, PharmD" in text
        assert "one OOS from a blend problem" in text
