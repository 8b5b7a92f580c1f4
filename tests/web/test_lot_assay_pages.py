"""The lot pages: the assay's basis chosen by the person, monograph limits, four eyes on approval."""

from datetime import date

import pytest

from qa_app.services import clock, materials
from tests.builders import setup_master_data, user
from tests.conftest import PASSWORD, make_user
from tests.web.pages import _parse, field_error, input_value, messages, sign_in, text

LOT = {
    "material": "NTX-HCL",
    "supplier": "Medisca",
    "lot_number": "N9",
    "expiry_date": "2030-06-30",
    "assay_percent": "99.5",
}


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    make_user(app, "rita", ("reviewer",), "Rita Reviewer, PharmD")
    with app.app_context():
        return setup_master_data(clock.today())


def today(app) -> str:
    with app.app_context():
        return clock.today().isoformat()


def radios(page: str, name: str) -> list[tuple[str, bool]]:
    return [
        (a["value"] or "", "checked" in a)
        for a in _parse(page).inputs
        if a.get("name") == name and a.get("type") == "radio"
    ]


def usp_material(app, low: float = 98.0, high: float = 102.0) -> None:
    with app.app_context():
        materials.create_material(
            user("ada"),
            code="NTX-USP",
            name="Naltrexone hydrochloride USP",
            kind="api",
            assay_min_percent=low,
            assay_max_percent=high,
        )


def received(app, username: str = "tina", **changes) -> str:
    values = {
        "material": "NTX-HCL",
        "supplier": "Fagron",
        "supplier_lot": "F1",
        "expiry_date": date(2030, 1, 31),
        "assay_percent": 99.0,
    } | changes
    with app.app_context():
        return materials.receive_lot(user(username), **values).barcode


def approve(client, barcode: str, username: str):
    return client.post(
        f"/lots/{barcode}/approve", data={"approve-sig_username": username, "approve-sig_password": PASSWORD}
    )


# --- the basis of the assay ----------------------------------------------------------------------


def test_the_form_offers_both_bases_and_chooses_neither(client, lots):
    sign_in(client, "tina")
    assert radios(text(client.get("/lots/new")), "assay_basis") == [("as_is", False), ("anhydrous", False)]


def test_an_assay_without_its_basis_is_refused_and_what_was_typed_stays(app, client, lots):
    sign_in(client, "tina")
    response = client.post("/lots/new", data=LOT | {"received_date": today(app), "water_percent": "0.8"})
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, "assay_basis") == (
        "Choose how the certificate states the assay: as is, or anhydrous with the water content."
    )
    assert (input_value(page, "assay_percent"), input_value(page, "water_percent")) == ("99.5", "0.8")


def test_an_anhydrous_assay_without_water_is_refused_beside_the_water_field(app, client, lots):
    sign_in(client, "tina")
    response = client.post("/lots/new", data=LOT | {"received_date": today(app), "assay_basis": "anhydrous"})
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, "water_percent") == (
        "Required with an anhydrous assay: the certificate's water content, to convert it to as is."
    )
    assert radios(page, "assay_basis") == [("as_is", False), ("anhydrous", True)]


def test_an_as_is_assay_with_water_stays_as_is_and_shows_the_anhydrous_figure(app, client, lots):
    sign_in(client, "tina")
    data = LOT | {
        "received_date": today(app),
        "assay_percent": "98.704",
        "assay_basis": "as_is",
        "water_percent": "0.8",
    }
    page = text(client.post("/lots/new", data=data, follow_redirects=True))
    assert "Assay (as is)</th><td>98.704 %" in page
    assert '<th scope="row">Certificate\'s basis</th><td>as is</td>' in page.replace("&#39;", "'")


def test_a_lot_of_an_excipient_needs_no_basis(app, client, lots):
    sign_in(client, "tina")
    data = LOT | {"material": "MCC", "received_date": today(app), "assay_percent": ""}
    assert client.post("/lots/new", data=data).status_code == 302


# --- four eyes -----------------------------------------------------------------------------------


def test_the_reviewer_who_received_a_lot_sees_no_approve_form_and_is_refused(app, client, lots):
    barcode = received(app, "rob")
    sign_in(client, "rob")
    page = text(client.get(f"/lots/{barcode}"))
    assert f"You received lot {barcode}; another reviewer must approve it." in page
    assert "Approve and sign" not in page
    assert "Reject and sign" in page
    response = approve(client, barcode, "rob")
    assert response.status_code == 403
    assert messages(text(response)) == [f"You received lot {barcode}; another reviewer must approve it."]
    with app.app_context():
        assert materials.get_lot(barcode).status == "quarantine"


def test_another_reviewer_approves_the_lot(app, client, lots):
    barcode = received(app, "rob")
    sign_in(client, "rita")
    assert approve(client, barcode, "rita").status_code == 302
    with app.app_context():
        assert materials.get_lot(barcode).status == "approved"


# --- monograph limits ----------------------------------------------------------------------------


def test_an_admin_gives_an_api_its_monograph_limits(app, client, lots):
    sign_in(client, "ada")
    response = client.post(
        "/lots/materials/new",
        data={
            "code": "NTX-USP",
            "name": "Naltrexone HCl USP",
            "kind": "api",
            "assay_min_percent": "98.0",
            "assay_max_percent": "102.0",
        },
    )
    assert response.status_code == 302
    assert "<td>98.0–102.0 % (anhydrous)</td>" in text(client.get("/lots/materials"))


def test_limits_on_an_excipient_are_refused_beside_the_field(client, lots):
    sign_in(client, "ada")
    response = client.post(
        "/lots/materials/new",
        data={
            "code": "LAC",
            "name": "Lactose",
            "kind": "excipient",
            "assay_min_percent": "98",
            "assay_max_percent": "102",
        },
    )
    assert response.status_code == 400
    assert field_error(text(response), "assay_min_percent") == (
        "Only an API carries monograph assay limits; this material is excipient."
    )


def test_an_admin_changes_the_limits_and_the_change_is_audited(app, client, lots):
    sign_in(client, "ada")
    page = text(client.get("/lots/materials/NTX-HCL/edit"))
    assert input_value(page, "name") == "Naltrexone hydrochloride USP"
    response = client.post(
        "/lots/materials/NTX-HCL/edit",
        data={
            "name": "Naltrexone hydrochloride USP",
            "assay_min_percent": "98.0",
            "assay_max_percent": "102.0",
        },
    )
    assert response.status_code == 302
    assert "<td>98.0–102.0 % (anhydrous)</td>" in text(client.get("/lots/materials"))
    history = text(client.get("/audit/?entity=material&key=NTX-HCL"))
    assert "material.changed" in history


def test_a_maximum_below_the_minimum_is_refused_beside_it(client, lots):
    sign_in(client, "ada")
    response = client.post(
        "/lots/materials/NTX-HCL/edit",
        data={"name": "Naltrexone", "assay_min_percent": "102.0", "assay_max_percent": "98.0"},
    )
    assert response.status_code == 400
    assert field_error(text(response), "assay_max_percent") == "Must be above the minimum."


def test_only_an_admin_edits_a_material(client, lots):
    sign_in(client, "rob")
    assert client.get("/lots/materials/NTX-HCL/edit").status_code == 403


def test_the_lot_page_shows_the_limits_and_refuses_to_approve_outside_them(app, client, lots):
    usp_material(app)
    barcode = received(
        app, material="NTX-USP", assay_percent=97.5, assay_basis="anhydrous", water_percent=0.5
    )
    sign_in(client, "rob")
    page = " ".join(text(client.get(f"/lots/{barcode}")).split())
    assert (
        '<th scope="row">Monograph limits</th><td>98.0–102.0 % (anhydrous basis): 97.5 % anhydrous, '
        '<span class="mark-fail">outside: the lot cannot be approved</span>'
    ) in page
    response = approve(client, barcode, "rob")
    assert response.status_code == 409
    assert messages(text(response)) == [
        f"Lot {barcode} cannot be approved: the assay, 97.5 % anhydrous, is outside the monograph limits "
        "98.0–102.0 % (anhydrous basis). Reject it."
    ]
    with app.app_context():
        assert materials.get_lot(barcode).status == "quarantine"


def test_an_as_is_assay_alone_is_compared_as_is_and_the_page_says_so(app, client, lots):
    usp_material(app)
    barcode = received(app, material="NTX-USP", assay_percent=99.1, assay_basis="as_is")
    sign_in(client, "rob")
    page = " ".join(text(client.get(f"/lots/{barcode}")).split())
    assert (
        "98.0–102.0 % (anhydrous basis): 99.1 % as is (no water content given, so the as-is figure is "
        'compared), <span class="mark-pass">within</span>'
    ) in page
    assert approve(client, barcode, "rob").status_code == 302
