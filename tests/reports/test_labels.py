"""Lot and batch labels: one 100 mm × 50 mm page, the facts a technician reads, a barcode that fits.

The labels are written with uncompressed page streams, so these tests read the text straight
from the content stream: each ``(…) Tj`` string, decoded from WinAnsi, is one printed line.
"""

import re
import shutil
import subprocess
import time
import types
from dataclasses import replace
from datetime import date

import pytest
import reportlab.lib.utils

from qa_app.reports.labels import (
    LABEL_HEIGHT,
    LABEL_WIDTH,
    MARGIN,
    BatchLabel,
    LotLabel,
    batch_label_pdf,
    code128_symbol,
    lot_label_pdf,
)

MM = 72 / 25.4  # points per millimetre, written out rather than taken from reportlab


def make_lot_label(**changes) -> LotLabel:
    label = LotLabel(
        barcode="NAL-2HK0451-0001",
        material_code="NAL-HCL",
        material_name="Naltrexone hydrochloride USP",
        supplier="Spectrum Chemical",
        supplier_lot="2HK0451",
        expiry_date=date(2026, 3, 31),
        received_date=date(2025, 1, 10),
        status="quarantine",
        assay_percent=99.6,
    )
    return replace(label, **changes)


def make_batch_label(**changes) -> BatchLabel:
    label = BatchLabel(
        lot_number="LDN-20250312-01",
        product="Naltrexone HCl (LDN)",
        strength="1.5 mg per capsule",
        dosage_form="Capsules",
        quantity="60 capsules",
        bud=date(2025, 9, 8),
        storage="Store at 20–25 °C",
        pharmacy_name="Riverside Pharmacy",
        status="quarantine",
    )
    return replace(label, **changes)


def content_stream(pdf: bytes) -> bytes:
    return b"".join(re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S))


def _unescape(literal: bytes) -> bytes:
    named = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(match: re.Match) -> bytes:
        code = match[1]
        return bytes([int(code, 8)]) if code[:1].isdigit() else named.get(code, code)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def _shown_strings(stream: bytes) -> list[str]:
    return [_unescape(s).decode("cp1252") for s in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", stream, re.S)]


def text_lines(pdf: bytes) -> list[str]:
    return _shown_strings(content_stream(pdf))


def white_on_black(pdf: bytes) -> list[str]:
    """The lines printed white on a filled box: the ones meant to be seen across the room."""
    blocks = re.findall(rb"\nq\n(.*?)\nQ\n", content_stream(pdf), re.S)
    return [line for block in blocks if re.search(rb"re f\*\n1 g\n", block) for line in _shown_strings(block)]


def info(pdf: bytes, key: str) -> str:
    return _unescape(re.search(rb"/" + key.encode() + rb" \(((?:\\.|[^\\)])*)\)", pdf)[1]).decode("cp1252")


LABELS = {
    "lot": lambda: lot_label_pdf(make_lot_label()),
    "batch": lambda: batch_label_pdf(make_batch_label()),
}


@pytest.mark.parametrize("kind", LABELS)
def test_a_label_is_one_page_of_100_by_50_mm(kind):
    pdf = LABELS[kind]()

    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type /Page(?!s)", pdf)) == 1
    media_box = [float(n) for n in re.search(rb"/MediaBox \[ ([^\]]*) \]", pdf)[1].split()]
    assert media_box == pytest.approx([0, 0, 283.46, 141.73], abs=0.01)
    assert media_box[2:] == pytest.approx([100 * MM, 50 * MM])


@pytest.mark.parametrize("kind", LABELS)
def test_labels_use_standard_helvetica_with_nothing_embedded(kind):
    pdf = LABELS[kind]()

    fonts = set(re.findall(rb"/BaseFont /([\w-]+)", pdf))
    assert fonts <= {b"Helvetica", b"Helvetica-Bold"}
    assert b"/FontFile" not in pdf


def test_lot_label_shows_what_the_lot_is_and_its_dates():
    lines = text_lines(lot_label_pdf(make_lot_label()))

    for line in [
        "Naltrexone hydrochloride USP",
        "Code NAL-HCL",
        "Supplier Spectrum Chemical",
        "Supplier lot 2HK0451",
        "Exp 2026-03-31",
        "Rec 2025-01-10",
        "Assay (as is) 99.6 %",
        "NAL-2HK0451-0001",
    ]:
        assert line in lines


def test_lot_label_without_an_assay_prints_no_assay_line():
    lines = text_lines(lot_label_pdf(make_lot_label(assay_percent=None)))

    assert not [line for line in lines if line.startswith("Assay")]


def test_lot_label_assay_is_rounded_half_up():
    # round(100.25, 1) gives 100.2 (half to even); a reported value is 100.3.
    assert "Assay (as is) 100.3 %" in text_lines(lot_label_pdf(make_lot_label(assay_percent=100.25)))


@pytest.mark.parametrize(("status", "printed"), [("quarantine", "QUARANTINE"), ("rejected", "REJECTED")])
def test_a_lot_that_is_not_approved_shows_its_status_white_on_black(status, printed):
    pdf = lot_label_pdf(make_lot_label(status=status))

    assert white_on_black(pdf) == [printed]


def test_an_approved_lot_shows_approved_plainly_and_no_quarantine():
    pdf = lot_label_pdf(make_lot_label(status="approved"))

    assert "APPROVED" in text_lines(pdf)
    assert "QUARANTINE" not in text_lines(pdf)
    assert white_on_black(pdf) == []


def test_batch_label_shows_product_strength_lot_bud_and_storage():
    lines = text_lines(batch_label_pdf(make_batch_label(status="released")))

    for line in [
        "Naltrexone HCl (LDN)",
        "1.5 mg per capsule",
        "Capsules · Qty 60 capsules",
        "Store at 20–25 °C",
        "Riverside Pharmacy",
        "Lot LDN-20250312-01",
        "BUD 2025-09-08",
        "LDN-20250312-01",
    ]:
        assert line in lines


def test_a_24_character_lot_number_is_printed_whole_beside_the_bud():
    lines = text_lines(batch_label_pdf(make_batch_label(lot_number="LDN-20250312-0001-REWORK")))

    assert "Lot LDN-20250312-0001-REWORK" in lines


def test_a_long_material_name_wraps_onto_a_second_line_instead_of_shrinking():
    name = "Microcrystalline cellulose NF (Avicel PH-102)"
    lines = text_lines(lot_label_pdf(make_lot_label(material_name=name)))

    assert "Microcrystalline cellulose NF" in lines
    assert "(Avicel PH-102)" in lines


def test_a_quarantined_batch_is_marked_not_released_across_the_label():
    pdf = batch_label_pdf(make_batch_label(status="quarantine"))

    assert white_on_black(pdf) == ["NOT RELEASED — QUARANTINE"]
    assert "Lot LDN-20250312-01" in text_lines(pdf)
    assert "BUD 2025-09-08" in text_lines(pdf)


@pytest.mark.parametrize(
    ("status", "banner"),
    [("on_hold", "NOT RELEASED — ON HOLD"), ("awaiting_release", "NOT RELEASED — AWAITING RELEASE")],
)
def test_the_banner_names_the_status_of_a_batch_not_yet_released(status, banner):
    assert white_on_black(batch_label_pdf(make_batch_label(status=status))) == [banner]


def test_a_released_batch_carries_no_banner():
    pdf = batch_label_pdf(make_batch_label(status="released"))

    assert not [line for line in text_lines(pdf) if "NOT RELEASED" in line]
    assert white_on_black(pdf) == []


def test_degree_sign_and_en_dash_are_printed_in_helvetica_winansi():
    pdf = batch_label_pdf(make_batch_label())

    # WinAnsi: en dash is 0x96 (octal 226), degree sign 0xB0 (octal 260); no fallback font.
    assert rb"(Store at 20\22625 \260C) Tj" in content_stream(pdf)
    assert b"/Symbol" not in pdf


def test_metadata_names_the_label_and_who_issued_it():
    batch = batch_label_pdf(make_batch_label())
    lot = lot_label_pdf(make_lot_label())

    assert info(batch, "Title") == "Batch label LDN-20250312-01"
    assert info(batch, "Author") == "Riverside Pharmacy"
    assert info(batch, "Subject") == (
        "Naltrexone HCl (LDN) 1.5 mg per capsule, lot LDN-20250312-01, BUD 2025-09-08: QUARANTINE"
    )
    assert info(lot, "Title") == "Lot label NAL-2HK0451-0001"
    assert info(lot, "Author") == "LDN batch QA"
    assert "supplier lot 2HK0451" in info(lot, "Subject")


def test_a_batch_label_without_a_pharmacy_name_is_authored_by_the_application():
    assert info(batch_label_pdf(make_batch_label(pharmacy_name="")), "Author") == "LDN batch QA"


@pytest.mark.parametrize("kind", LABELS)
def test_the_same_label_gives_the_same_bytes_whenever_it_is_printed(kind, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)

    def printed_at(epoch: float) -> bytes:
        clock = types.SimpleNamespace(time=lambda: epoch, localtime=time.localtime, gmtime=time.gmtime)
        monkeypatch.setattr(reportlab.lib.utils, "time", clock)
        return LABELS[kind]()

    assert printed_at(1_700_000_000) == printed_at(1_760_000_000)


def test_different_labels_give_different_bytes():
    assert lot_label_pdf(make_lot_label()) != lot_label_pdf(make_lot_label(status="approved"))


# --- the barcode ----------------------------------------------------------------------------


def test_a_24_character_value_fits_at_the_full_quarter_millimetre_module():
    # Worst case for 24 characters: no digit pairs, so no double-density code set C.
    # Start + 24 data + check characters of 11 modules, a 13-module stop, 2 × 10 quiet.
    symbol = code128_symbol("ABCDEFGHIJKLMNOPQRSTUVWX")

    assert symbol.barWidth == pytest.approx(0.25 * MM)
    assert symbol.lquiet >= 10 * symbol.barWidth
    assert symbol.rquiet >= 10 * symbol.barWidth
    assert symbol.width == pytest.approx((26 * 11 + 13 + 20) * 0.25 * MM)  # 79.75 mm
    assert symbol.width <= LABEL_WIDTH - 2 * MARGIN


def test_a_longer_value_gets_a_narrower_module_and_still_fits():
    # 32 × 11 + 13 + 20 = 385 modules in 94 mm: 0.2441 mm, cut to whole micrometres.
    symbol = code128_symbol("X" * 30)

    assert symbol.barWidth == pytest.approx(0.244 * MM)
    assert symbol.lquiet >= 10 * symbol.barWidth
    assert symbol.width <= LABEL_WIDTH - 2 * MARGIN


@pytest.mark.parametrize("value", ["ABCDEFGHIJKLMNOPQRSTUVWX", "LDN-20250312-01", "X" * 39])
def test_the_printed_bars_and_their_quiet_zones_lie_inside_the_label(value):
    pdf = batch_label_pdf(make_batch_label(lot_number=value))
    symbol = code128_symbol(value)

    x, y, bars = re.search(
        rb"\nq\n1 0 0 1 (\S+) (\S+) cm\n((?:n [^\n]+ re f\*\n)+)Q\n", content_stream(pdf)
    ).groups()
    rects = [[float(n) for n in bar.split()[1:5]] for bar in bars.splitlines()]
    left = min(float(x) + r[0] for r in rects)
    right = max(float(x) + r[0] + r[2] for r in rects)
    assert left - symbol.lquiet >= MARGIN - 0.01
    assert right + symbol.rquiet <= LABEL_WIDTH - MARGIN + 0.01
    assert float(y) >= MARGIN
    assert float(y) + max(r[3] for r in rects) < LABEL_HEIGHT / 2
    assert value in text_lines(pdf)


def test_a_value_too_long_for_the_label_is_refused_naming_its_length():
    with pytest.raises(ValueError, match="200 characters"):
        code128_symbol("L" * 200)
    with pytest.raises(ValueError, match="200 characters"):
        lot_label_pdf(make_lot_label(barcode="L" * 200))


def test_40_characters_would_need_a_module_under_the_019_mm_minimum():
    code128_symbol("X" * 39)
    with pytest.raises(ValueError, match=r"40 characters .* 94\.05 mm"):
        code128_symbol("X" * 40)


@pytest.mark.parametrize("value", ["", "LOT-É1", "LOT\t1"])
def test_a_value_a_scanner_could_not_type_back_is_refused(value):
    with pytest.raises(ValueError, match="barcode value"):
        code128_symbol(value)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_pdftotext_reads_the_lot_number_and_the_banner(tmp_path):
    path = tmp_path / "label.pdf"
    path.write_bytes(batch_label_pdf(make_batch_label()))

    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout

    assert "Lot LDN-20250312-01" in text
    assert "NOT RELEASED" in text
