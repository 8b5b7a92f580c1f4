"""The public certificate check cannot be walked: without the verification code printed on the
certificate only the number, status and SHA-256 are shown, and each address is limited."""

import io
import re
import subprocess
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.extensions import db
from qa_app.models import Certificate
from qa_app.services import certificates, release
from tests.builders import signature, user
from tests.conftest import PASSWORD
from tests.services.test_release import add_releasers, ready_batch
from tests.services.test_results import shared_database_app
from tests.web.pages import messages, text

ADDRESSES = iter(f"10.9.{i // 250}.{i % 250 + 1}" for i in range(10_000))


@pytest.fixture(scope="module")
def app(databases, tmp_path_factory) -> Iterator[Flask]:
    for shared in shared_database_app(databases, str(tmp_path_factory.mktemp("verification"))):
        add_releasers(shared)
        yield shared


@pytest.fixture
def visitor(app):
    """Someone on the internet, from an address of their own (the limit counts per address)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = next(ADDRESSES)
    return client


@pytest.fixture
def issued(app) -> tuple[str, str, str]:
    """(number, verification code, lot) of a freshly released batch's certificate."""
    with app.app_context():
        lot = ready_batch()
        certificate = release.release(user("rita"), lot, signature("rita", "released"))
        return certificate.number, certificate.verification_code, lot


def test_without_the_code_the_api_answers_only_number_status_and_sha256(visitor, issued):
    number, _code, _lot = issued
    body = visitor.get(f"/api/v1/certificates/{number}").get_json()
    assert set(body) == {"number", "status", "sha256"}
    assert (body["number"], body["status"]) == (number, "valid")


def test_with_the_code_the_api_answers_the_batch_and_dates(visitor, issued):
    number, code, lot = issued
    body = visitor.get(f"/api/v1/certificates/{number}", query_string={"code": code.lower()}).get_json()
    assert (body["lot_number"], body["version"], body["status"]) == (lot, 1, "valid")
    assert body["issued_at"].endswith("Z")
    assert body["bud"] and body["product"]


def test_a_wrong_code_is_as_good_as_none(visitor, issued):
    number, code, _lot = issued
    wrong = ("A" if code[0] != "A" else "B") + code[1:]
    body = visitor.get(f"/api/v1/certificates/{number}", query_string={"code": wrong}).get_json()
    assert set(body) == {"number", "status", "sha256"}


def test_without_the_code_the_page_shows_no_lot_product_or_dates(app, visitor, issued):
    number, _code, lot = issued
    response = visitor.get(f"/verify/{number}")
    page = text(response)
    assert response.status_code == 200
    assert f"<h1>Certificate {number}</h1>" in page
    assert "Valid: issued by Compounding Pharmacy and not revoked." in messages(page)
    with app.app_context():
        certificate = certificates.get(number)
        assert certificate.sha256 in page
        bud = certificate.batch.bud.isoformat()
    for secret in (lot, "Beyond-use date", bud, "Product", "Issued", "version 1"):
        assert secret not in page, secret


def test_the_qr_url_with_its_code_shows_the_details_and_keeps_the_upload_check(app, visitor, issued):
    number, code, lot = issued
    page = text(visitor.get(f"/verify/{number}?code={code}"))
    assert f"Certificate {number}, version 1" in page
    assert f"<tr><th>Batch (lot)</th><td>{lot}</td></tr>" in page
    assert f'action="/verify/{number}?code={code}"' in page
    with app.app_context():
        pdf = certificates.stored_pdf(certificates.get(number))
    same = visitor.post(f"/verify/{number}?code={code}", data={"file": (io.BytesIO(pdf), "coa.pdf")})
    assert "byte for byte certificate" in " ".join(messages(text(same)))
    altered = visitor.post(f"/verify/{number}", data={"file": (io.BytesIO(pdf + b"%x"), "coa.pdf")})
    assert any("is NOT the certificate issued" in m for m in messages(text(altered)))


def test_a_wrong_code_on_the_page_says_so_and_shows_the_status_only(visitor, issued):
    number, _code, lot = issued
    page = text(visitor.get(f"/verify/{number}?code=AAAA-BBBB-CCCC-DDDD"))
    assert (
        "The verification code does not match this certificate: check it against the code printed "
        "beside the QR code. Only the status is shown."
    ) in messages(page)
    assert lot not in page


def test_codes_are_random_80_bit_and_differ_between_certificates(app, issued):
    with app.app_context():
        first = issued[1]
        lot = ready_batch()
        second = release.release(user("rita"), lot, signature("rita", "released")).verification_code
    for code in (first, second):
        assert re.fullmatch(r"[A-Z2-7]{16}", code)  # 16 × 5 = 80 bits
    assert first != second


def test_the_certificate_prints_the_code_and_its_qr_url_carries_it(app, issued, tmp_path):
    number, code, _lot = issued
    with app.app_context():
        pdf = certificates.stored_pdf(certificates.get(number))
    path = tmp_path / "coa.pdf"
    path.write_bytes(pdf)
    printed = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    grouped = "-".join(code[i : i + 4] for i in range(0, 16, 4))
    assert f"Verification code: {grouped}" in printed
    assert f"Verify at http://127.0.0.1:5000/verify/{number}?code={code}" in printed
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page")], check=True)
    decoded = [
        r.text
        for png in sorted(tmp_path.glob("page*.png"))
        for r in zxingcpp.read_barcodes(Image.open(png))
        if r.format.name == "QRCode"
    ]
    assert decoded == [f"http://127.0.0.1:5000/verify/{number}?code={code}"]


def test_the_n_plus_first_check_in_the_window_is_429_with_retry_after(app, visitor, issued):
    number, code, _lot = issued
    app.config.update(QA_VERIFY_RATE_LIMIT=3, QA_VERIFY_RATE_WINDOW=60)
    try:
        answers = [
            visitor.get(f"/api/v1/certificates/{number}").status_code,
            visitor.get(f"/verify/{number}").status_code,
            visitor.get("/api/v1/certificates/COA-1999-00001").status_code,  # unknown numbers count too
        ]
        api = visitor.get(f"/api/v1/certificates/{number}", query_string={"code": code})
        page = visitor.get(f"/verify/{number}")
        other_address = app.test_client()
        other_address.environ_base["REMOTE_ADDR"] = next(ADDRESSES)
        elsewhere = other_address.get(f"/api/v1/certificates/{number}")
    finally:
        app.config.update(QA_VERIFY_RATE_LIMIT=30, QA_VERIFY_RATE_WINDOW=60)
    assert answers == [200, 200, 404]
    assert api.status_code == 429
    assert api.get_json()["error"]["code"] == "rate_limited"
    assert api.get_json()["error"]["message"].startswith(
        "Too many certificate checks from your address: at most 3 in 60 seconds."
    )
    assert 1 <= int(api.headers["Retry-After"]) <= 60
    assert page.status_code == 429
    assert 1 <= int(page.headers["Retry-After"]) <= 60
    assert "Too many certificate checks" in text(page)
    assert elsewhere.status_code == 200


def test_the_openapi_document_names_the_code_and_the_429(app):
    operation = (
        app.test_client()
        .get("/api/v1/openapi.json")
        .get_json()["paths"]["/api/v1/certificates/{number}"]["get"]
    )
    assert "code" in [p["name"] for p in operation["parameters"]]
    assert "429" in operation["responses"]


def test_the_limit_frees_up_once_the_window_has_passed():
    from qa_app.ratelimit import SlidingWindow

    window = SlidingWindow()
    assert [window.hit("10.0.0.1", 2, 60, t) for t in (0.0, 1.0)] == [None, None]
    assert window.hit("10.0.0.1", 2, 60, 30.0) == pytest.approx(30.0)
    assert window.hit("10.0.0.1", 2, 60, 60.5) is None  # the first request left the window


def test_certificate_pdfs_are_not_stored_by_any_cache(app, issued, auth):
    _number, _code, lot = issued
    api = app.test_client().get(f"/api/v1/batches/{lot}/certificate.pdf", headers=auth.token("rita"))
    assert (api.status_code, api.mimetype) == (200, "application/pdf")
    assert api.headers["Cache-Control"] == "no-store"
    page_client = app.test_client()
    page_client.post("/login", data={"username": "rita", "password": PASSWORD})
    page = page_client.get(f"/review/{lot}/certificate.pdf")
    assert (page.status_code, page.mimetype) == (200, "application/pdf")
    assert page.headers["Cache-Control"] == "no-store"


def test_existing_certificates_get_a_code_when_the_database_is_migrated(app, issued):
    import flask_migrate

    number = issued[0]
    with app.app_context():
        flask_migrate.downgrade(revision="0008")
        flask_migrate.upgrade()
        codes = db.session.execute(sa.select(Certificate.number, Certificate.verification_code)).all()
        db.session.remove()
    assert number in {n for n, _ in codes}
    assert all(re.fullmatch(r"[A-Z2-7]{16}", code) for _, code in codes)
    assert len({code for _, code in codes}) == len(codes)
