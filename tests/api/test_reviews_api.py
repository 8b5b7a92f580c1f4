"""The annual product review over the API: signing answers 201 with the SHA-256, the PDF is then
served byte for byte; before signing a DRAFT preview; who may do what; refusals."""

import hashlib

import pytest

from qa_app.models import AuditEvent, ProductReview
from qa_app.services import clock
from tests.api.conftest import count
from tests.builders import setup_master_data
from tests.conftest import PASSWORD
from tests.services.test_product_reviews import CONCLUSIONS, hand_built_year

URL = "/api/v1/formulas/LDN-CAP/reviews"


def sig(username: str = "rob", meaning: str = "reviewed", password: str = PASSWORD) -> dict:
    return {"username": username, "password": password, "meaning": meaning}


@pytest.fixture
def year(app, users) -> int:
    with app.app_context():
        setup_master_data(clock.today())
        found, _ = hand_built_year()
        return found


def test_signing_answers_201_and_the_pdf_is_served_byte_for_byte(app, client, auth, year):
    rob = auth.token("rob")
    preview = client.get(f"{URL}/{year}.pdf", headers=rob)
    assert preview.status_code == 200
    assert preview.headers["X-Review-Status"] == "draft"
    assert "ETag" not in preview.headers
    assert count(app, ProductReview) == 0

    signed = client.post(
        URL, json={"year": year, "conclusions": CONCLUSIONS, "signature": sig()}, headers=rob
    )
    assert signed.status_code == 201, signed.get_json()
    body = signed.get_json()
    assert body["signed_by"] == "Rob Reviewer, PharmD"
    assert body["year"] == year

    for username in ("rob", "ada", "ivan"):
        served = client.get(f"{URL}/{year}.pdf", headers=auth.token(username))
        assert served.status_code == 200
        assert served.mimetype == "application/pdf"
        assert hashlib.sha256(served.data).hexdigest() == body["sha256"]
        assert served.headers["ETag"] == f'"{body["sha256"]}"'
        assert served.headers["X-Review-Status"] == "signed"
    with app.app_context():
        from qa_app.extensions import db

        assert db.session.get(ProductReview, body["id"]).pdf == served.data

    listed = client.get(URL, headers=auth.token("ivan"))
    assert listed.status_code == 200
    assert [(r["year"], r["sha256"]) for r in listed.get_json()["items"]] == [(year, body["sha256"])]

    again = client.post(URL, json={"year": year, "conclusions": "Again", "signature": sig()}, headers=rob)
    assert again.status_code == 409
    assert count(app, ProductReview) == 1


def test_who_may_sign_and_read(client, auth, year):
    tina = auth.token("tina")
    refused = client.post(
        URL, json={"year": year, "conclusions": CONCLUSIONS, "signature": sig("tina")}, headers=tina
    )
    assert refused.status_code == 403
    assert client.get(f"{URL}/{year}.pdf", headers=tina).status_code == 403
    assert client.get(URL, headers=tina).status_code == 403
    ada = auth.token("ada")
    assert (
        client.post(
            URL, json={"year": year, "conclusions": CONCLUSIONS, "signature": sig("ada")}, headers=ada
        ).status_code
        == 403
    )
    assert client.get(f"{URL}/{year}.pdf").status_code == 401


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"conclusions": ""}, 400, "conclusions"),
        ({"conclusions": "   "}, 400, "conclusions"),
        ({"signature": sig(meaning="approved")}, 400, "signature.meaning"),
        ({"year": "twenty"}, 400, "year"),
        ("future", 409, "year"),
        ({"year": 2001}, 409, "year"),
    ],
)
def test_refusals_name_the_field(app, client, auth, year, change, status, field):
    body = {"year": year, "conclusions": CONCLUSIONS, "signature": sig()}
    body |= {"year": year + 1} if change == "future" else change
    rob = auth.token("rob")
    before = count(app, AuditEvent)
    answer = client.post(URL, json=body, headers=rob)
    assert answer.status_code == status
    assert field in answer.get_json()["error"].get("fields", {}), answer.get_json()
    assert count(app, ProductReview) == 0
    assert count(app, AuditEvent) == before


def test_a_wrong_password_is_401_and_nothing_is_stored(app, client, auth, year):
    answer = client.post(
        URL,
        json={"year": year, "conclusions": CONCLUSIONS, "signature": sig(password="wrong-password")},
        headers=auth.token("rob"),
    )
    assert answer.status_code == 401
    assert count(app, ProductReview) == 0


def test_a_year_without_batches_and_an_unknown_formula_are_404(client, auth, year):
    rob = auth.token("rob")
    assert client.get(f"{URL}/2001.pdf", headers=rob).status_code == 404
    assert client.get("/api/v1/formulas/NOPE/reviews/2026.pdf", headers=rob).status_code == 404
    assert client.get("/api/v1/formulas/NOPE/reviews", headers=rob).status_code == 404
