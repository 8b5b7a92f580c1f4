"""The annual product reviews on a formula's page: the years, a DRAFT preview, signing by form."""

import hashlib

from qa_app.extensions import db
from qa_app.models import ProductReview
from qa_app.services import clock
from tests.builders import setup_master_data
from tests.conftest import PASSWORD
from tests.services.test_product_reviews import CONCLUSIONS, hand_built_year
from tests.web.pages import field_error, messages, sign_in, text


def test_a_reviewer_previews_and_signs_a_year_on_the_formula_page(app, client, users):
    with app.app_context():
        setup_master_data(clock.today())
        year, _ = hand_built_year()
    sign_in(client, "rob")
    page = text(client.get("/formulas/LDN-CAP"))
    assert "Annual product reviews" in page
    assert f"/formulas/LDN-CAP/reviews/{year}.pdf" in page
    assert "Preview (DRAFT, not signed)" in page
    preview = client.get(f"/formulas/LDN-CAP/reviews/{year}.pdf")
    assert preview.status_code == 200 and preview.headers["X-Review-Status"] == "draft"

    refused = client.post(
        "/formulas/LDN-CAP/reviews",
        data={"year": str(year), "conclusions": "", "sig_username": "rob", "sig_password": PASSWORD},
    )
    assert refused.status_code == 400
    assert field_error(text(refused), "conclusions")

    signed = client.post(
        "/formulas/LDN-CAP/reviews",
        data={"year": str(year), "conclusions": CONCLUSIONS, "sig_username": "rob", "sig_password": PASSWORD},
        follow_redirects=True,
    )
    assert signed.status_code == 200
    with app.app_context():
        stored = db.session.query(ProductReview).one()
        sha256 = stored.sha256
    assert any(f"The {year} review of LDN-CAP is signed" in m for m in messages(text(signed)))
    assert sha256 in text(signed)
    served = client.get(f"/formulas/LDN-CAP/reviews/{year}.pdf")
    assert hashlib.sha256(served.data).hexdigest() == sha256


def test_a_technician_sees_no_review_section(app, client, users):
    with app.app_context():
        setup_master_data(clock.today())
        hand_built_year()
    sign_in(client, "tina")
    assert "Annual product reviews" not in text(client.get("/formulas/LDN-CAP"))
