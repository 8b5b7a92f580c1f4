"""What a person sees of the preparation rules: a formula breaking one, a failed capsule weight
check and its reason, a released batch's checklist, the label of what was made."""

import re
import shutil
from collections.abc import Iterator

import pytest
from flask import Flask

from qa_app.services import batches
from tests.builders import liquid_formula_body, user
from tests.reports.test_certificate_pdf import pdf_text, squeeze
from tests.services.test_preparation_rules import insert_old_approved
from tests.services.test_release import add_releasers, completed_batch, ready_batch, released
from tests.services.test_results import shared_database_app
from tests.services.test_weight_check_deviation import FAILING, PASSING, REASON, weighed_draft
from tests.web.pages import field_error, messages, sign_in, text
from tests.web.test_formulas_pages import FORM
from tests.web.test_review_pages import checklist

RULE = (
    "An aqueous, not preserved preparation must be stored refrigerated (2–8 °C): its 14-day BUD "
    "assumes it. Choose refrigerated storage or a preserved category."
)


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    for app in shared_database_app(databases, str(tmp_path_factory.mktemp("preparation-pages"))):
        add_releasers(app)
        with app.app_context():
            insert_old_approved(
                "OLD-LIQ", liquid_formula_body(storage="room", bud={"category": "aqueous_nonpreserved"})
            )
        yield app


def in_app(app: Flask, action, *args, **kwargs):
    with app.app_context():
        return action(*args, **kwargs)


def signed_in(app: Flask, username: str):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def words(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).replace("&#39;", "'").split())


# --- formulas breaking a rule -----------------------------------------------------------------


def test_the_formula_list_marks_an_old_formula_breaking_a_rule(shared_app):
    page = words(text(signed_in(shared_app, "tina").get("/formulas/")))
    assert f"Breaks a preparation rule, makes no new batch: {RULE}" in page
    assert page.count("Breaks a preparation rule") == 1  # LDN-CAP and LDN-LIQ keep every rule


def test_the_formula_page_names_the_rule_and_says_no_new_batch(shared_app):
    page = words(text(signed_in(shared_app, "tina").get("/formulas/OLD-LIQ")))
    assert (
        "This version breaks a preparation rule and makes no new batch until a corrected version is approved"
        in page
    )
    assert RULE in page
    assert "breaks a preparation rule" not in words(
        text(signed_in(shared_app, "tina").get("/formulas/LDN-CAP"))
    )


def test_a_new_batch_of_an_old_formula_is_refused_on_the_page_naming_the_rule(shared_app):
    client = signed_in(shared_app, "tina")
    form = text(client.get("/batches/new"))
    assert "OLD-LIQ — " in form and "breaks a preparation rule: no new batch" in form
    response = client.post(
        "/batches/new",
        data={"formula": "OLD-LIQ", "concentration": "1", "dose_amount": "1.5", "quantity": "100"},
    )
    assert response.status_code == 400  # the page shows the form again; the API answers 409
    assert RULE in words(field_error(text(response), "formula") or "")


def test_saving_a_formula_that_breaks_a_rule_names_it_beside_the_field(shared_app):
    client = signed_in(shared_app, "ada")
    response = client.post(
        "/formulas/new", data=FORM | {"code": "BAD-CAP", "bud_category": "nonaqueous_oral_liquid"}
    )
    assert response.status_code == 400
    assert field_error(text(response), "bud_category") == (
        "The category nonaqueous oral liquid is only for oral liquids and drops; "
        "a capsule or cream is nonaqueous other (or aqueous)."
    )
    assert signed_in(shared_app, "tina").get("/formulas/BAD-CAP").status_code == 404


def test_a_literature_bud_with_a_short_reference_is_refused_beside_it(shared_app):
    client = signed_in(shared_app, "ada")
    response = client.post(
        "/formulas/new",
        data=FORM | {"code": "BAD-REF", "bud_category": "", "bud_days": "90", "bud_reference": "Cote 2018"},
    )
    assert response.status_code == 400
    assert "at least 20 characters" in field_error(text(response), "bud_reference")


# --- the capsule weight check -----------------------------------------------------------------


def test_a_new_weight_check_after_a_failed_one_asks_for_the_reason(shared_app):
    lot = in_app(shared_app, weighed_draft)
    client = signed_in(shared_app, "tina")
    assert (
        client.post(
            f"/batches/{lot}/weight-check", data={"weights": "\n".join(map(str, FAILING))}
        ).status_code
        == 302
    )
    page = text(client.get(f"/batches/{lot}"))
    assert 'name="reason"' in page

    refused = client.post(f"/batches/{lot}/weight-check", data={"weights": "\n".join(map(str, PASSING))})
    assert refused.status_code == 400
    assert "give the reason for a new check" in field_error(text(refused), "reason")

    done = client.post(
        f"/batches/{lot}/weight-check", data={"weights": "\n".join(map(str, PASSING)), "reason": REASON}
    )
    assert done.status_code == 302
    page = words(text(client.get(f"/batches/{lot}")))
    assert "Deviation : the check of" in page
    assert "failed (Capsule 10 (200 mg, 88.89 %) outside 202.5–247.5 mg" in page
    assert f"reason for the new check: {REASON}" in page


def test_the_review_page_lists_the_failed_check_with_its_reason(shared_app):
    lot = in_app(shared_app, weighed_draft)
    with shared_app.app_context():
        batches.record_weight_check(user("tina"), lot, FAILING)
        batches.record_weight_check(user("tina"), lot, PASSING, REASON)
        batches.complete(user("tina"), lot, actual_yield=100, storage_unit="SHELF-1")
    page = text(signed_in(shared_app, "rob").get(f"/review/{lot}"))
    assert checklist(page)["deviations"] == "YES"
    assert f"reason: {REASON}" in words(page)


# --- a released batch and its label -----------------------------------------------------------


def test_a_released_batch_checklist_opens_with_yes_and_offers_no_release(shared_app):
    lot = in_app(shared_app, ready_batch)
    before = checklist(text(signed_in(shared_app, "rita").get(f"/review/{lot}")))
    assert before["status"] == "YES"
    in_app(shared_app, released, lot)

    page = text(signed_in(shared_app, "rita").get(f"/review/{lot}"))
    marks = checklist(page)
    assert marks["status"] == "YES"
    assert set(marks.values()) == {"YES"}
    assert "The batch is released." in page
    assert "Not ready for release" not in page
    assert "Every item holds" not in page
    assert 'id="release"' not in page
    assert "The batch is released; the checklist shows its record as it stands now." in words(page)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")
def test_the_label_page_prints_the_quantity_made(shared_app, tmp_path):
    lot = in_app(shared_app, completed_batch, actual_yield=97)
    response = signed_in(shared_app, "tina").get(f"/batches/{lot}/label.pdf")
    assert response.status_code == 200
    label = squeeze(pdf_text(response.data, tmp_path))
    assert "Capsule · oral use · Qty 97 capsules" in label
    assert "Compounded preparation" in label
    assert "Naltrexone hydrochloride" in label and "1.5 mg per capsule" in label
    assert "100 capsules" not in label
    assert messages(text(signed_in(shared_app, "tina").get(f"/batches/{lot}"))) == []
