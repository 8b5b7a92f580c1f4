"""The certificate of analysis and the compounding record, read back the way a person reads them.

The text is extracted with pdftotext, so what is checked is what a reader of the PDF sees: every
item of domain.md §8 and issue 6, "Page X of Y" on every page, text typed by people printed
literally, the QR code decoding to the verification URL built from QA_PUBLIC_URL.
"""

import html
import re
import shutil
import subprocess
import time
import types
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import reportlab.lib.utils
from flask import Flask

from qa_app.reports.certificate import (
    CertificateContent,
    ReleaseSignature,
    ResultLine,
    StorageLine,
    UniformityTable,
    certificate_pdf,
)
from qa_app.services import (
    batches,
    certificates,
    excursions,
    investigations,
    readings,
    records,
    review,
    storage,
)
from qa_app.services.excursions import DispositionInput
from tests.api.test_results_api import FAQ_SET, VECTOR_A
from tests.builders import check_balances_today, signature, user
from tests.services.test_release import add_releasers, completed_batch, ready_batch, released
from tests.services.test_results import STAGE_TWO_PASSING, quarantined_liquid, record, shared_database_app

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)

URL = "https://qa.riverside.example/verify/COA-2026-00042"


def make_content(**changes) -> CertificateContent:
    content = CertificateContent(
        issuer_name="Riverside Compounding Pharmacy",
        issuer_address="12 Main Street\nSpringfield, IL 62701",
        number="COA-2026-00042",
        version=1,
        product="Naltrexone HCl capsules (LDN)",
        strength="1.5 mg naltrexone hydrochloride per capsule",
        dosage_form="capsule, size #3",
        lot_number="LDN-261125-001",
        formula="LDN-CAP version 1",
        compounded="2026-11-25",
        bud="2027-05-23 (180 days, USP <795> nonaqueous (other))",
        storage_condition="Controlled room temperature, 20–25 °C",
        quantity="100 capsules",
        actual_yield="100 capsules (100.0 % of theoretical)",
        api_lot="NTX-0001 (supplier lot N1; assay 99.0 % as is; expiry 2028-06-30)",
        api_supplier="Medisca",
        specification="LDN-CAP v1",
        tests=[
            ResultLine("Assay", "HPLC-UV", "90.0–110.0 % LC", "99.8 % LC", "Pass"),
            ResultLine(
                "Content uniformity", "USP <905>", "AV ≤ 15.0 (L1)", "AV 3.4 (stage 1, n = 10)", "Pass"
            ),
            ResultLine("Appearance", "Visual", "White opaque #3 capsules", "Conforms", "Pass"),
        ],
        conclusion="The batch complies with its specification and is released.",
        components=[("NTX-HCL — Naltrexone hydrochloride USP", "NTX-0001", "Medisca (N1)", "2028-06-30")],
        uniformity=[
            UniformityTable(
                values=[f"{v:.1f}" for v in VECTOR_A],
                n=10,
                stage=1,
                mean="99.92",
                sd="1.42",
                m="99.92",
                k="2.4",
                av="3.4",
                l1="15.0",
                conclusion="Content uniformity passes at stage 1: AV 3.4 is within L1 15.0",
            )
        ],
        storage=[
            StorageLine(
                "SHELF-1 — Room shelf",
                "2026-11-25 09:00 CST",
                "2026-11-28 12:00 CST",
                "149",
                "20.1",
                "24.3",
                "22.4",
            )
        ],
        deviations=["Yield 94.0 % of theoretical, outside 95–105 %; reason: two capsules dropped"],
        release=ReleaseSignature("Rita Release, PharmD", "2026-11-28 12:00:03 CST (UTC-06:00)", "released"),
        verify_url=URL,
    )
    return replace(content, **changes)


def pdf_text(data: bytes, tmp_path, *, first: int | None = None, last: int | None = None) -> str:
    path = tmp_path / f"doc-{time.perf_counter_ns()}.pdf"
    path.write_bytes(data)
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    result = subprocess.run(["pdftotext", *pages, str(path), "-"], capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def page_count(data: bytes, tmp_path) -> int:
    path = tmp_path / "count.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info)[1])


def squeeze(text: str) -> str:
    return " ".join(text.split())


# --- the layout, from plain data --------------------------------------------------------------


def test_every_item_of_the_certificate_is_printed(tmp_path):
    text = squeeze(pdf_text(certificate_pdf(make_content()), tmp_path))

    for item in [
        "Riverside Compounding Pharmacy",
        "12 Main Street",
        "Springfield, IL 62701",
        "CERTIFICATE OF ANALYSIS",
        "COA-2026-00042, version 1",
        "Product Naltrexone HCl capsules (LDN)",
        "Strength 1.5 mg naltrexone hydrochloride per capsule",
        "Dosage form capsule, size #3",
        "Lot number LDN-261125-001",
        "Master formula LDN-CAP version 1",
        "Date compounded 2026-11-25",
        "Beyond-use date 2027-05-23",
        "Storage condition Controlled room temperature, 20–25 °C",
        "Quantity 100 capsules",
        "Actual yield 100 capsules (100.0 % of theoretical)",
        "API lot NTX-0001 (supplier lot N1; assay 99.0 % as",
        "API supplier Medisca",
        "Specification LDN-CAP v1",
        "Test results against specification LDN-CAP v1",
        "Test Method Limits Result Conclusion",
        "Assay HPLC-UV 90.0–110.0 % LC 99.8 % LC Pass",
        "Appearance Visual White opaque #3 capsules Conforms Pass",
        "Content uniformity (USP <905>), stage 1",
        "98.0 99.5 101.2 100.4 97.8 102.1 99.9 100.6 98.7 101.0",
        "n = 10 (stage 1) · X̄ = 99.92 % · s = 1.42 · M = 99.92 % · k = 2.4 · AV = 3.4 (L1 = 15.0)",
        "Storage while in quarantine",
        "Storage unit From To Readings Min °C Max °C MKT °C",
        "SHELF-1 — Room shelf 2026-11-25 09:00 CST 2026-11-28 12:00 CST 149 20.1 24.3 22.4",
        "Deviations",
        "• Yield 94.0 % of theoretical, outside 95–105 %; reason: two capsules dropped",
        "The batch complies with its specification and is released.",
        "Signed by: Rita Release, PharmD",
        "Date and time: 2026-11-28 12:00:03 CST (UTC-06:00)",
        "Meaning: released",
        "Page 1 of 1",
        f"Verify at {URL}",
    ]:
        assert item in text, item


def test_a_word_wider_than_its_column_is_printed_whole(tmp_path):
    method = "HPLC-UV/USP-validated-method-2026"  # 33 characters without a space: wider than 0.2 of the page
    supplier_lot = "SUPPLIER-LOT-0123456789-ABCDEFGHIJ"
    content = make_content(
        tests=[ResultLine("Assay", method, "90.0–110.0 % LC", "99.8 % LC", "Pass")],
        components=[("NTX-HCL — Naltrexone hydrochloride USP", "NTX-0001", supplier_lot, "2028-06-30")],
    )

    text = squeeze(pdf_text(certificate_pdf(content), tmp_path))

    # A table breaks such a word inside its cell, as it did before the faster drawing.
    assert "HPLC-UV/USP-validated-met" in text
    assert "hod-2026" in text
    assert supplier_lot in text
    assert "Signed by: Rita Release, PharmD" in text


def test_page_x_of_y_is_on_every_page(tmp_path):
    many = [
        f"Deviation number {i}: a long explanation of what happened and why it was accepted"
        for i in range(90)
    ]
    data = certificate_pdf(make_content(deviations=many))

    pages = page_count(data, tmp_path)

    assert pages >= 2
    for page in range(1, pages + 1):
        text = pdf_text(data, tmp_path, first=page, last=page)
        assert f"Page {page} of {pages}" in text
        assert "COA-2026-00042 · version 1" in text
        assert "Lot LDN-261125-001" in text


def test_the_qr_code_holds_the_verification_url(tmp_path):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    path = tmp_path / "certificate.pdf"
    path.write_bytes(certificate_pdf(make_content()))
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")], check=True
    )
    [png] = tmp_path.glob("page*.png")

    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(png)) if r.format.name == "QRCode"]

    assert decoded == [URL]


def test_a_preview_is_marked_not_released_on_every_page_and_has_no_verification(tmp_path):
    many = [
        f"Deviation {i}: explained at length so that the preview runs onto a second page" for i in range(90)
    ]
    preview = make_content(number=None, version=None, release=None, verify_url=None, deviations=many)
    data = certificate_pdf(preview)

    pages = page_count(data, tmp_path)
    assert pages >= 2
    for page in range(1, pages + 1):
        assert "NOT RELEASED" in pdf_text(data, tmp_path, first=page, last=page)
    text = squeeze(pdf_text(data, tmp_path))
    assert "NOT RELEASED — preview of the certificate" in text
    assert "No verification code: a preview is not a certificate." in text
    assert "Verify at" not in text
    assert "COA-" not in text


def test_a_certificate_that_replaces_another_says_so(tmp_path):
    text = squeeze(
        pdf_text(certificate_pdf(make_content(version=2, replaces="COA-2026-00041 version 1")), tmp_path)
    )

    assert "This certificate replaces COA-2026-00041 version 1." in text


@pytest.mark.parametrize(
    "typed",
    ["<script>alert(1)</script>", "Tom & Jerry <b>bold</b> &amp;", "Łukasz Żółć, Ωmega"],
    ids=["script", "markup and entities", "beyond Latin-1"],
)
def test_text_typed_by_people_is_printed_literally(tmp_path, typed):
    content = make_content(
        release=ReleaseSignature(typed, "2026-11-28 12:00:03 CST (UTC-06:00)", "released"),
        deviations=[f"Reason: {typed}"],
        issuer_name=f"Pharmacy {typed}",
    )

    text = pdf_text(certificate_pdf(content), tmp_path)

    assert f"Signed by: {typed}" in text
    assert f"• Reason: {typed}" in text
    assert f"Pharmacy {typed}" in text


def test_a_tab_or_a_lone_carriage_return_typed_by_people_prints_as_a_space(tmp_path):
    content = make_content(
        deviations=["Yield 94.0 %\treason: two capsules dropped", "Label\rreprinted"],
        release=ReleaseSignature("Rita\tRelease, PharmD", "2026-11-28 12:00:03 CST (UTC-06:00)", "released"),
    )

    text = squeeze(pdf_text(certificate_pdf(content), tmp_path))

    assert "• Yield 94.0 % reason: two capsules dropped" in text
    assert "• Label reprinted" in text
    assert "Signed by: Rita Release, PharmD" in text
    assert "\u25a0" not in text  # no box for a character the font has no picture of


STAGE_TWO_VALUES = [f"{95 + k * 0.3:.1f}" for k in range(30)]


def typical(**changes) -> CertificateContent:
    """A released certificate as a stage-2 capsule batch gets one: 30 content-uniformity values,
    the specification's long limits, a deviation, a verification code."""
    return make_content(
        tests=[
            ResultLine("Assay", "HPLC", "90.0–110.0 % LC", "100.4 % LC", "Pass"),
            ResultLine(
                "Content uniformity",
                "USP <905>",
                "AV ≤ 15.0 (L1); stage 2: each unit within (1 ± 25 %)·M; T = 100 %",
                "AV 8.4 (stage 2, n = 30; X̄ 101.97 %, s 3.97)",
                "Pass",
            ),
            ResultLine("Appearance", "Visual", "Conforms to description", "Conforms", "Pass"),
        ],
        uniformity=[
            UniformityTable(
                values=STAGE_TWO_VALUES,
                n=30,
                stage=2,
                mean="99.35",
                sd="2.69",
                m="99.35",
                k="2",
                av="5.4",
                l1="15.0",
                conclusion="Content uniformity passes at stage 2: AV 5.4 is within L1 15.0 and all 30 units "
                "lie within 74.513–124.188 %",
                unit_range="74.513–124.188 % (M ± L2 25 %)",
            )
        ],
        verify_url=f"{URL}?code=L4I2OK2LYEAECEQU",
        verification_code="L4I2-OK2L-YEAE-CEQU",
        **changes,
    )


def line_fonts(data: bytes, tmp_path, starts: Sequence[str]) -> dict[str, str]:
    """The font of each line of text that begins with one of ``starts``, as pdftohtml reads
    it (the name without its subset prefix; bold runs inside a line are reported with it)."""
    path = tmp_path / f"fonts-{time.perf_counter_ns()}.pdf"
    path.write_bytes(data)
    xml = subprocess.run(
        ["pdftohtml", "-xml", "-i", "-stdout", "-q", "-fontfullname", str(path)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    families = {k: v.split("+")[-1] for k, v in re.findall(r'<fontspec id="(\d+)"[^>]*family="([^"]+)"', xml)}
    found = {}
    for font, content in re.findall(r'<text [^>]*font="(\d+)"[^>]*>(.*?)</text>', xml):
        line = html.unescape(re.sub(r"<[^>]+>", "", content))
        for start in starts:
            if line.startswith(start):
                found[start] = families[font]
    return found


def test_a_typical_certificate_is_one_page_with_results_release_statement_and_signature(tmp_path):
    data = certificate_pdf(typical())

    assert page_count(data, tmp_path) == 1
    text = squeeze(pdf_text(data, tmp_path, first=1, last=1))
    for item in [
        "Test results against specification LDN-CAP v1",
        "Content uniformity (USP <905>), stage 2",
        "Storage while in quarantine",
        "• Yield 94.0 % of theoretical",
        "The batch complies with its specification and is released.",
        "Release signature",
        "Signed by: Rita Release, PharmD",
        "Verification code: L4I2-OK2L-YEAE-CEQU",
        "Page 1 of 1",
    ]:
        assert item in text, item


def test_without_room_the_release_statement_moves_to_the_next_page_with_its_signature(tmp_path):
    many = [f"Deviation {i}: yield outside 95–105 %, explained and accepted" for i in range(12)]
    data = certificate_pdf(typical(deviations=many))

    first, second = (squeeze(pdf_text(data, tmp_path, first=p, last=p)) for p in (1, 2))

    assert page_count(data, tmp_path) == 2
    assert "Test results against specification" in first
    assert "is released." not in first and "Signed by:" not in first
    assert "The batch complies with its specification and is released." in second
    assert "Signed by: Rita Release, PharmD" in second


def test_the_uniformity_summary_lines_share_one_font(tmp_path):
    data = certificate_pdf(typical())

    fonts = line_fonts(
        data, tmp_path, ["n = 30 (stage 2)", "% (M ± L2 25 %)", "Conclusion: Content uniformity"]
    )

    assert fonts == {
        "n = 30 (stage 2)": "DejaVuSans",
        "% (M ± L2 25 %)": "DejaVuSans",
        "Conclusion: Content uniformity": "DejaVuSans",
    }


@pytest.mark.parametrize(
    ("name", "font"),
    [("Rita Release, PharmD", "Helvetica"), ("Łukasz Żółć", "DejaVuSans")],
    ids=["ascii", "beyond"],
)
def test_the_signature_lines_share_one_font(tmp_path, name, font):
    release = ReleaseSignature(name, "2026-11-28 12:00:03 CST (UTC-06:00)", "released")
    starts = ["Release signature", "Signed by:", "Date and time:", "Meaning:", "Electronic signature"]

    fonts = line_fonts(certificate_pdf(typical(release=release)), tmp_path, starts)

    assert fonts == {
        "Release signature": f"{font}-Bold",
        "Signed by:": font,
        "Date and time:": font,
        "Meaning:": font,
        "Electronic signature": font,
    }


def test_the_same_certificate_gives_the_same_bytes_whenever_it_is_rendered(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)

    def rendered_at(epoch: float) -> bytes:
        clock = types.SimpleNamespace(time=lambda: epoch, localtime=time.localtime, gmtime=time.gmtime)
        monkeypatch.setattr(reportlab.lib.utils, "time", clock)
        return certificate_pdf(make_content())

    assert rendered_at(1_700_000_000) == rendered_at(1_760_000_000)
    assert certificate_pdf(make_content()) != certificate_pdf(make_content(version=2))


# --- certificates and records of real batches -------------------------------------------------


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    for app in shared_database_app(databases, str(tmp_path_factory.mktemp("certificate-instance"))):
        add_releasers(app)
        app.config.update(
            QA_TIMEZONE="America/Chicago",
            QA_PHARMACY_NAME="Riverside Compounding Pharmacy",
            QA_PHARMACY_ADDRESS="12 Main Street\nSpringfield, IL 62701",
            QA_PUBLIC_URL="https://qa.riverside.example/",
        )
        with app.app_context():  # the balances' checks count for the local date in Chicago
            check_balances_today()
        yield app


@pytest.fixture
def ctx(shared_app):
    with shared_app.app_context():
        yield


def readings_every_half_hour(unit: str, start: datetime, end: datetime, value_at) -> None:
    moment = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    rows = []
    while moment <= end:
        rows.append(readings.RowInput(len(rows) + 1, moment.isoformat(), value_at(moment)))
        moment += timedelta(minutes=30)
    readings.ingest(unit, rows, source="api", actor=user("tina"))


def test_a_released_batch_certificate_carries_its_storage_summary_and_the_public_url(ctx, tmp_path):
    placed = datetime.now(UTC) - timedelta(days=3)
    lot = completed_batch(compounded_at=placed)
    readings_every_half_hour(
        "SHELF-1", placed, datetime.now(UTC) - timedelta(minutes=5), lambda m: 21.0 + m.hour % 3
    )
    record(lot, "assay", 100.4)
    record(lot, "content_uniformity", values=FAQ_SET)
    record(lot, "content_uniformity", values=STAGE_TWO_PASSING)
    record(lot, "appearance", "Conforms")

    certificate = released(lot)
    text = squeeze(pdf_text(certificates.stored_pdf(certificate), tmp_path))

    assert f"{certificate.number}, version 1" in text
    assert "Riverside Compounding Pharmacy" in text
    assert "12 Main Street Springfield, IL 62701" in text
    assert f"Lot number {lot}" in text
    assert "API supplier Medisca" in text
    assert "Assay HPLC 90.0–110.0 % LC 100.4 % LC Pass" in text
    assert "Content uniformity (USP <905>), stage 2" in text
    assert "115.9 95.9 108.4 103.4 108.4 103.4 105.9 105.9 105.9 105.9" in text
    assert "n = 30 (stage 2)" in text
    assert "every unit within" in text
    storage = re.search(r"SHELF-1 — Room shelf .*? (\d+) (21\.0) (23\.0) (\d\d\.\d)", text)
    assert storage, text
    assert 21.0 < float(storage[4]) < 23.0  # the MKT lies between the mean and the maximum
    assert re.search(r"Date and time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d C[SD]T \(UTC-0[56]:00\)", text)
    assert "Signed by: Rita Release, PharmD" in text
    assert f"Verify at https://qa.riverside.example/verify/{certificate.number}" in text


def test_the_record_pdf_tells_the_whole_story_of_a_batch(ctx, tmp_path):
    placed = datetime.now(UTC) - timedelta(days=2)
    storage.create_unit(user("ada"), code="SHELF-HOT", name="Shelf by the window", condition="room")
    lot = completed_batch(compounded_at=placed, unit="SHELF-HOT")  # capsules are stored at room temperature
    hot = lambda m: 45.0 if placed + timedelta(hours=20) <= m < placed + timedelta(hours=25) else 22.0  # noqa: E731
    readings_every_half_hour("SHELF-HOT", placed, datetime.now(UTC) - timedelta(minutes=5), hot)
    held = review.load(lot)
    [hold] = [h for h in held.view.holds if h["kind"] == "excursion"]
    excursions.record_disposition(
        user("rob"),
        lot,
        DispositionInput(
            hold["id"], "acceptable", "30-day MKT 24.9 °C <ok>; stability data cover 45 °C for 5 h"
        ),
        signature("rob", "reviewed"),
    )
    failed = record(lot, "assay", 85.0)
    opened = investigations.open_investigation(user("rob"), lot, result_id=failed.id, retests_allowed=1)
    investigations.close_investigation(
        user("rob"),
        opened.id,
        signature("rob", "reviewed"),
        phase="I",
        assignable_cause="laboratory",
        cause="Standard diluted twice",
        conclusion="Original result invalid",
    )
    record(lot, "assay", 99.6)
    record(lot, "content_uniformity", values=VECTOR_A)
    record(lot, "appearance", "Conforms")
    released(lot, "raj")

    data = records.record_pdf_for(review.load(lot), user("ivan"))
    text = squeeze(pdf_text(data, tmp_path))
    pages = page_count(data, tmp_path)

    for item in [
        f"Compounding record — lot {lot}",
        "Batch and master formula",
        "Master formula LDN-CAP version 1",
        "Calculation",
        "API to weigh 151.52 mg",
        "Components, weighing and verification",
        "NTX-HCL (api)",
        "MCC (filler)",
        "CAP-3 (container)",
        "Verified by Rob Reviewer, PharmD (rob)",
        "In-process checks",
        "PASS",
        "Results and their evaluations",
        "Assay 85.0 % LC",
        "fail — INVALIDATED",
        f"Invalidated by investigation {opened.id}: Laboratory cause: Standard diluted twice",
        "Assay 99.6 % LC is within 90.0–110.0 % LC",
        "OOS investigations",
        "Original result invalid",
        "Storage history and excursions",
        "SHELF-HOT — Shelf by the window",
        "Temperatures while stored (until release)",
        "dispositioned",
        "acceptable by rob: 30-day MKT 24.9 °C <ok>;",
        f"Deviation: Excursion {hold['id']} (SHELF-HOT, 45.0–45.0 °C): disposition acceptable by Rob Reviewer, PharmD",
        "Release decisions",
        "released Raj Second Reviewer (raj)",
        "Electronic signatures",
        "verified Rob Reviewer, PharmD",
        "reviewed Rob Reviewer, PharmD",
        "released Raj Second Reviewer",
        "Audit history of the batch",
        "tina Created Lot number: LDN-",
        "raj Released",
        "printed",
        "by Ivan Inspector (ivan)",
    ]:
        assert item in text, item
    assert f"Page {pages} of {pages}" in text


def test_rendering_does_not_read_the_request_host(ctx, shared_app):
    lot = ready_batch()
    with shared_app.test_request_context("/", base_url="http://attacker.example"):
        content = certificates.content(review.load(lot), number="COA-2026-99999", version=1, signature=None)
    assert content.verify_url == "https://qa.riverside.example/verify/COA-2026-99999"


def test_a_liquid_batch_preview_states_its_dose_and_refrigerated_storage(ctx, tmp_path):
    lot = quarantined_liquid()

    text = squeeze(pdf_text(certificates.preview_pdf(review.load(lot)), tmp_path))

    assert "Strength 4.5 mg naltrexone hydrochloride per dose (1 mg/mL × 4.5 mL)" in text
    assert "Dosage form oral liquid" in text
    assert "Storage condition Refrigerated, 2–8 °C" in text
    assert "Quantity 100 mL" in text
    assert "NOT RELEASED — the batch is in quarantine. Not yet met:" in text
    assert "FRIDGE-1 — Refrigerator" in text


def test_the_record_of_a_fresh_draft_prints_what_there_is(ctx, tmp_path):
    lot = batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=0.5, quantity=30).lot_number

    text = squeeze(pdf_text(records.record_pdf_for(review.load(lot), None), tmp_path))

    assert f"Compounding record — lot {lot}" in text
    assert "No component recorded." in text
    assert "Never placed in storage (not completed)." in text
    assert "No result recorded." in text
    assert "No release decision yet." in text
