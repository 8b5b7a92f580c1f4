"""The master formula pages: the record of every version, drafting through the form, approval."""

import re

import pytest

from qa_app.extensions import db
from qa_app.services import clock, formulas
from tests.builders import setup_master_data
from tests.conftest import PASSWORD, make_user
from tests.web.pages import field_error, input_value, messages, sign_in, text

FORM = {
    "code": "ldn-cap-b",
    "name": "Naltrexone HCl capsules, batch size B",
    "description": "White opaque #3 capsules",
    "dosage_form": "capsule",
    "strength_min_mg": "1.0",
    "strength_max_mg": "4.5",
    "fill_weight_mg": "230",
    "capsule_size": "3",
    "overage_percent": "0",
    "weighing_tolerance_percent": "2.0",
    "components": "NTX-HCL api\nMCC filler\nCAP-3 container",
    "steps": "Weigh API and filler\n\nGeometric dilution\nFill capsules",
    "equipment": "Analytical balance",
    "container": "Amber vial",
    "label_text": "Take one capsule at bedtime",
    "storage": "room",
    "bud_category": "nonaqueous_other",
    "bud_days": "",
    "bud_reference": "",
    "specification": "",
}


@pytest.fixture
def master(app, users) -> dict[str, str]:
    with app.app_context():
        return setup_master_data(clock.today())


def version_status(app, code: str) -> list[tuple[int, str]]:
    with app.app_context():
        statuses = [(v.version, v.status) for v in formulas.get_formula(code).versions]
        db.session.rollback()
        return statuses


def textarea(page: str, field_id: str) -> str | None:
    match = re.search(rf'<textarea[^>]*id="{re.escape(field_id)}"[^>]*>\r?\n?(.*?)</textarea>', page, re.S)
    return match.group(1).replace("\r\n", "\n") if match else None


def specification_rows(page: str) -> list[list[str]]:
    table = re.search(r'<table class="striped specification">(.*?)</table>', page, re.S).group(1)
    body = table.split("<tbody>")[1]
    return [
        [" ".join(cell.split()) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def sign_in_as(client, username: str) -> None:
    """Sign out whoever is signed in, then sign in as ``username``."""
    client.post("/logout")
    assert sign_in(client, username).status_code == 302


def create(client, **changes):
    return client.post("/formulas/new", data=FORM | changes)


def test_the_list_shows_the_approved_versions(client, master):
    sign_in(client, "tina")
    page = text(client.get("/formulas/"))
    assert '<a href="/formulas/LDN-CAP?version=1">v1</a>, capsule' in page
    assert '<a href="/formulas/LDN-LIQ?version=1">v1</a>, oral liquid' in page


def test_the_record_shows_the_specification_with_its_limits(client, master):
    sign_in(client, "ivan")
    page = text(client.get("/formulas/LDN-CAP"))
    assert specification_rows(page) == [
        ["assay", "range", "HPLC", "% LC", "90.0–110.0 % LC", "yes"],
        [
            "content_uniformity",
            "content uniformity",
            "USP &lt;905&gt;",
            "% LC",
            "USP &lt;905&gt;, T = 100.0",
            "yes",
        ],
        ["appearance", "attribute", "Visual", "", "Conforms to description", "yes"],
    ]


def test_the_record_shows_the_whole_formula(client, master):
    sign_in(client, "ivan")
    page = text(client.get("/formulas/LDN-CAP"))
    assert '<tr><th scope="row">Strength range</th><td>0.5–4.5 mg per dose</td></tr>' in page
    assert '<tr><th scope="row">Fill weight per capsule</th><td>225.0 mg</td></tr>' in page
    assert '<tr><th scope="row">Weighing tolerance</th><td>± 2.0 %</td></tr>' in page
    assert '<tr><th scope="row">BUD rule</th><td>USP category: nonaqueous other</td></tr>' in page
    assert "<ol><li>Weigh API and filler</li><li>Geometric dilution</li><li>Fill capsules</li></ol>" in page
    assert "<tr><td>NTX-HCL</td><td>api</td></tr>" in page
    assert "approved by Rob Reviewer, PharmD" in page


def test_a_liquid_shows_its_days_and_reference(client, master):
    sign_in(client, "ivan")
    page = text(client.get("/formulas/LDN-LIQ"))
    assert "60 days (Fawcett et al., Ann Pharmacother 1997)" in page
    assert ["ph", "range", "", "", "4.0–6.0", "yes"] in specification_rows(page)


def test_an_unknown_version_is_not_found(client, master):
    sign_in(client, "ivan")
    assert client.get("/formulas/LDN-CAP?version=7").status_code == 404


def test_a_formula_created_through_the_form_is_a_draft_v1(app, client, master):
    sign_in(client, "ada")
    response = create(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/formulas/LDN-CAP-B?version=1"
    page = text(client.get(response.headers["Location"]))
    assert "LDN-CAP-B v1 saved as a draft" in messages(page)[0]
    assert '<strong aria-current="page">v1 (draft)</strong>' in page
    assert "<ol><li>Weigh API and filler</li><li>Geometric dilution</li><li>Fill capsules</li></ol>" in page
    assert version_status(app, "LDN-CAP-B") == [(1, "draft")]


def test_an_empty_specification_takes_the_ldn_defaults(client, master):
    sign_in(client, "ada")
    page = text(client.get(create(client).headers["Location"]))
    assert [row[0] for row in specification_rows(page)] == ["assay", "content_uniformity", "appearance"]


def test_the_author_cannot_approve_their_draft(app, client, master):
    sign_in(client, "ada")
    create(client)
    page = text(client.get("/formulas/LDN-CAP-B?version=1"))
    assert "You authored version 1, so you cannot approve it" in page
    response = client.post(
        "/formulas/LDN-CAP-B/approve", data={"sig_username": "ada", "sig_password": PASSWORD}
    )
    assert response.status_code == 403
    assert "The author of a version cannot approve it; ask another reviewer or admin." in messages(
        text(response)
    )
    assert version_status(app, "LDN-CAP-B") == [(1, "draft")]


def test_another_reviewer_approves_the_draft_with_the_signature(app, client, master):
    sign_in(client, "ada")
    create(client)
    sign_in_as(client, "rob")
    page = text(client.get("/formulas/LDN-CAP-B?version=1"))
    assert "meaning: <strong>approved</strong>" in page
    response = client.post(
        "/formulas/LDN-CAP-B/approve", data={"sig_username": "rob", "sig_password": PASSWORD}
    )
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "LDN-CAP-B v1 approved and signed" in messages(page)[0]
    assert "approved by Rob Reviewer, PharmD" in page
    assert version_status(app, "LDN-CAP-B") == [(1, "approved")]


def test_a_wrong_password_leaves_the_draft_unapproved(app, client, master):
    sign_in(client, "ada")
    create(client)
    sign_in_as(client, "rob")
    response = client.post(
        "/formulas/LDN-CAP-B/approve", data={"sig_username": "rob", "sig_password": "nope"}
    )
    page = text(response)
    assert response.status_code == 401
    assert field_error(page, "sig_password") == "Wrong password; enter your own password again."
    assert input_value(page, "sig_username") == "rob"
    assert version_status(app, "LDN-CAP-B") == [(1, "draft")]


def test_a_technician_may_read_but_not_approve(client, master):
    sign_in(client, "ada")
    create(client)
    sign_in_as(client, "tina")
    page = text(client.get("/formulas/LDN-CAP-B?version=1"))
    assert "This draft awaits approval by a reviewer or admin." in page
    assert client.post("/formulas/LDN-CAP-B/approve", data={}).status_code == 403
    assert client.get("/formulas/new").status_code == 403


def test_a_bad_form_puts_each_message_beside_its_field_and_keeps_what_was_typed(app, client, master):
    sign_in(client, "ada")
    response = create(client, strength_max_mg="4.6", components="NTX-HCL api\nNOPE filler\nCAP-3 container")
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, "strength_max_mg") == "Must be between 0.5 and 4.5 mg per dose (LDN)."
    assert field_error(page, "components") == "Line 2: No material with code NOPE."
    assert input_value(page, "strength_max_mg") == "4.6"
    assert input_value(page, "name") == "Naltrexone HCl capsules, batch size B"
    assert textarea(page, "components") == "NTX-HCL api\nNOPE filler\nCAP-3 container"
    assert textarea(page, "steps") == "Weigh API and filler\n\nGeometric dilution\nFill capsules"


def test_a_line_that_is_not_code_and_role_is_named(client, master):
    sign_in(client, "ada")
    response = create(client, components="NTX-HCL api\nMCC")
    assert response.status_code == 400
    assert (
        field_error(text(response), "components")
        == "Line 2: write the material code and its role, e.g. “NTX-HCL api”."
    )


def test_a_specification_error_names_the_test(client, master):
    sign_in(client, "ada")
    specification = (
        '{"tests": [{"key": "assay", "kind": "range", "unit": "% LC", "min": 110.0, "max": 90.0}]}'
    )
    response = create(client, specification=specification)
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, "specification") == "Test 1 (assay), max: Must not be below min."
    assert textarea(page, "specification") == specification.replace('"', "&#34;")


def test_a_specification_that_is_not_json_says_where(client, master):
    sign_in(client, "ada")
    response = create(client, specification='{"tests": [}')
    assert response.status_code == 400
    assert field_error(text(response), "specification") == (
        "Not valid JSON: Expecting value at line 1, column 12."
    )


def test_a_bud_needs_days_with_a_reference(client, master):
    sign_in(client, "ada")
    response = create(client, bud_category="", bud_days="30", bud_reference="")
    assert response.status_code == 400
    assert field_error(text(response), "bud_category") == (
        "Choose a USP category, or give days (1–180) with a literature reference of at least 20 characters."
    )


def test_a_bud_is_a_category_or_days_not_both(client, master):
    sign_in(client, "ada")
    response = create(client, bud_days="30", bud_reference="Fawcett 1997")
    assert (
        field_error(text(response), "bud_category")
        == "Choose a category, or give days with a reference; not both."
    )


def test_a_formula_code_is_used_once(client, master):
    sign_in(client, "ada")
    response = create(client, code="LDN-CAP")
    assert response.status_code == 409
    assert field_error(text(response), "code") == "This code is taken."


def test_a_new_version_starts_from_the_newest(client, master):
    sign_in(client, "ada")
    page = text(client.get("/formulas/LDN-CAP/versions/new"))
    assert input_value(page, "code") == "LDN-CAP"
    assert 'name="code" readonly' in page
    assert input_value(page, "fill_weight_mg") == "225.0"
    assert textarea(page, "components") == "NTX-HCL api\nMCC filler\nCAP-3 container"
    assert '"key": "content_uniformity"' in textarea(page, "specification").replace("&#34;", '"')


def test_a_new_version_is_drafted_beside_the_approved_one(app, client, master):
    sign_in(client, "ada")
    page = text(client.get("/formulas/LDN-CAP/versions/new"))
    data = {name: input_value(page, name) for name in FORM if input_value(page, name) is not None}
    data |= {
        name: textarea(page, name).replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">")
        for name in ("description", "components", "steps", "equipment", "label_text", "specification")
    }
    data |= {
        "dosage_form": "capsule",
        "storage": "room",
        "bud_category": "nonaqueous_other",
        "fill_weight_mg": "232.5",
    }
    response = client.post("/formulas/LDN-CAP/versions/new", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/formulas/LDN-CAP?version=2"
    assert version_status(app, "LDN-CAP") == [(1, "approved"), (2, "draft")]
    page = text(client.get("/formulas/LDN-CAP?version=2"))
    assert '<tr><th scope="row">Fill weight per capsule</th><td>232.5 mg</td></tr>' in page
    listing = text(client.get("/formulas/"))
    assert '<a href="/formulas/LDN-CAP?version=2">v2</a> awaiting approval' in listing


def test_approving_a_new_version_supersedes_the_old_one(app, client, master):
    make_user(app, "rita", ("reviewer",), "Rita Second Reviewer")
    sign_in(client, "ada")
    create(client)
    sign_in_as(client, "rob")
    client.post("/formulas/LDN-CAP-B/approve", data={"sig_username": "rob", "sig_password": PASSWORD})
    sign_in_as(client, "ada")
    data = FORM | {"code": "LDN-CAP-B", "strength_min_mg": "0.5"}
    assert client.post("/formulas/LDN-CAP-B/versions/new", data=data).status_code == 302
    sign_in_as(client, "rita")
    client.post("/formulas/LDN-CAP-B/approve", data={"sig_username": "rita", "sig_password": PASSWORD})
    assert version_status(app, "LDN-CAP-B") == [(1, "superseded"), (2, "approved")]
