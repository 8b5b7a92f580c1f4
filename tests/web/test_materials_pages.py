"""The lot pages: receiving, approval and rejection by signature, labels, scan checks, the list."""

import re
from datetime import date, timedelta

import pytest

from qa_app.extensions import db
from qa_app.services import clock, materials
from tests.builders import setup_master_data, signature, user
from tests.conftest import PASSWORD
from tests.web.pages import field_error, input_value, messages, sign_in, text

NEW_LOT = {
    "material": "NTX-HCL",
    "supplier": "Medisca",
    "lot_number": "N9",
    "expiry_date": "2030-06-30",
    "assay_percent": "99.0",
    "assay_basis": "as_is",
}


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    """The master data: five approved lots (barcodes by name), formulas, storage units."""
    with app.app_context():
        return setup_master_data(clock.today())


def receive(app, **changes) -> str:
    """A lot received by tina through the service, still in quarantine; its barcode."""
    values = {
        "material": "NTX-HCL",
        "supplier": "Medisca",
        "supplier_lot": "Q1",
        "expiry_date": date(2030, 1, 31),
        "assay_percent": 99.0,
    } | changes
    with app.app_context():
        return materials.receive_lot(user("tina"), **values).barcode


def expired_lot(app) -> str:
    """An approved MCC lot whose expiry date was yesterday."""
    with app.app_context():
        today = clock.today()
        lot = materials.receive_lot(
            user("tina"),
            material="MCC",
            supplier="Medisca",
            supplier_lot="OLD1",
            expiry_date=today - timedelta(days=1),
            received_date=today - timedelta(days=30),
        )
        materials.approve_lot(user("rob"), lot.barcode, signature("rob", "approved"))
        return lot.barcode


def status_of(app, barcode: str) -> str:
    with app.app_context():
        status = materials.get_lot(barcode).status
        db.session.rollback()
        return status


def textarea(page: str, field_id: str) -> str | None:
    match = re.search(rf'<textarea[^>]*id="{re.escape(field_id)}"[^>]*>\r?\n?(.*?)</textarea>', page, re.S)
    return match.group(1) if match else None


def test_a_lot_received_through_the_form_waits_in_quarantine(app, client, lots):
    sign_in(client, "tina")
    response = client.post("/lots/new", data=NEW_LOT | {"received_date": clock_today(app)})
    assert response.status_code == 302
    barcode = response.headers["Location"].rsplit("/", 1)[-1]
    page = text(client.get(f"/lots/{barcode}"))
    assert f"Lot {barcode} received" in messages(page)[0]
    assert "quarantine" in page
    assert f"not usable: lot {barcode} is in quarantine (not approved)" in page
    assert status_of(app, barcode) == "quarantine"


def clock_today(app) -> str:
    with app.app_context():
        return clock.today().isoformat()


def test_the_received_date_starts_as_today(app, client, lots):
    sign_in(client, "tina")
    assert input_value(text(client.get("/lots/new")), "received_date") == clock_today(app)


def test_an_anhydrous_assay_with_water_is_converted_to_as_is(app, client, lots):
    sign_in(client, "tina")
    data = NEW_LOT | {
        "received_date": clock_today(app),
        "assay_percent": "99.5",
        "assay_basis": "anhydrous",
        "water_percent": "0.8",
    }
    response = client.post("/lots/new", data=data, follow_redirects=True)
    page = text(response)
    assert "Assay (as is)</th><td>98.704 %" in page
    assert "Assay (anhydrous, from the certificate)</th><td>99.5 %" in page


def test_an_api_lot_without_assay_keeps_what_was_typed(app, client, lots):
    sign_in(client, "tina")
    data = NEW_LOT | {"received_date": clock_today(app), "assay_percent": ""}
    response = client.post("/lots/new", data=data)
    page = text(response)
    assert response.status_code == 400
    assert (
        field_error(page, "assay_percent")
        == "Required for the API: the assay from the supplier's certificate."
    )
    assert input_value(page, "supplier") == "Medisca"
    assert input_value(page, "lot_number") == "N9"
    assert input_value(page, "expiry_date") == "2030-06-30"


def test_an_expiry_before_the_received_date_is_marked_beside_it(app, client, lots):
    sign_in(client, "tina")
    data = NEW_LOT | {"received_date": "2026-01-10", "expiry_date": "2026-01-01"}
    page = text(client.post("/lots/new", data=data))
    assert field_error(page, "expiry_date") == "Must be after the received date."


def test_an_inspector_may_not_receive_a_lot(client, lots):
    sign_in(client, "ivan")
    assert client.get("/lots/new").status_code == 403


def test_the_reviewer_approves_a_lot_with_the_signature(app, client, lots):
    barcode = receive(app)
    sign_in(client, "rob")
    response = client.post(
        f"/lots/{barcode}/approve", data={"approve-sig_username": "rob", "approve-sig_password": PASSWORD}
    )
    assert response.status_code == 302
    page = text(client.get(f"/lots/{barcode}"))
    assert messages(page) == [f"Lot {barcode} approved and signed."]
    assert "Approved by Rob Reviewer, PharmD" in page
    assert '<span class="mark-pass">usable</span>' in page
    assert status_of(app, barcode) == "approved"


def test_the_signature_block_says_what_is_signed(app, client, lots):
    barcode = receive(app)
    sign_in(client, "rob")
    page = text(client.get(f"/lots/{barcode}"))
    assert (
        f"You are signing: lot {barcode} of NTX-HCL, supplier lot Q1, expiry 2030-01-31, assay 99.0 %" in page
    )
    assert "meaning: <strong>approved</strong>" in page
    assert "meaning: <strong>rejected</strong>" in page


def test_a_wrong_signing_password_leaves_the_lot_in_quarantine(app, client, lots):
    barcode = receive(app)
    sign_in(client, "rob")
    response = client.post(
        f"/lots/{barcode}/approve",
        data={"approve-sig_username": "rob", "approve-sig_password": "not-my-password"},
    )
    page = text(response)
    assert response.status_code == 401
    assert field_error(page, "approve-sig_password") == "Wrong password; enter your own password again."
    assert input_value(page, "approve-sig_username") == "rob"
    assert status_of(app, barcode) == "quarantine"


def test_the_reviewer_rejects_a_lot_with_the_reason(app, client, lots):
    barcode = receive(app)
    sign_in(client, "rob")
    data = {
        "reject-reason": "Certificate does not match the container",
        "reject-sig_username": "rob",
        "reject-sig_password": PASSWORD,
    }
    assert client.post(f"/lots/{barcode}/reject", data=data).status_code == 302
    page = text(client.get(f"/lots/{barcode}"))
    assert "Certificate does not match the container" in page
    assert f"not usable: lot {barcode} was rejected" in page
    assert status_of(app, barcode) == "rejected"


def test_a_wrong_password_keeps_the_reason_typed(app, client, lots):
    barcode = receive(app)
    sign_in(client, "rob")
    data = {"reject-reason": "Seal broken", "reject-sig_username": "rob", "reject-sig_password": "wrong"}
    response = client.post(f"/lots/{barcode}/reject", data=data)
    page = text(response)
    assert response.status_code == 401
    assert field_error(page, "reject-sig_password") == "Wrong password; enter your own password again."
    assert textarea(page, "reject-reason") == "Seal broken"
    assert status_of(app, barcode) == "quarantine"


def test_a_rejection_needs_a_reason(app, client, lots):
    barcode = receive(app)
    sign_in(client, "rob")
    data = {"reject-reason": "", "reject-sig_username": "rob", "reject-sig_password": PASSWORD}
    response = client.post(f"/lots/{barcode}/reject", data=data)
    assert response.status_code == 400
    assert field_error(text(response), "reject-reason") == "Give the reason for rejecting the lot."
    assert status_of(app, barcode) == "quarantine"


def test_an_approved_lot_cannot_be_approved_again(app, client, lots):
    sign_in(client, "rob")
    response = client.post(
        f"/lots/{lots['api']}/approve", data={"approve-sig_username": "rob", "approve-sig_password": PASSWORD}
    )
    assert response.status_code == 409
    assert f"Lot {lots['api']} is approved; only a lot in quarantine can be approved." in messages(
        text(response)
    )


def test_a_technician_sees_no_decision_forms_and_may_not_decide(app, client, lots):
    barcode = receive(app)
    sign_in(client, "tina")
    page = text(client.get(f"/lots/{barcode}"))
    assert "Approve and sign" not in page
    response = client.post(
        f"/lots/{barcode}/approve", data={"approve-sig_username": "tina", "approve-sig_password": PASSWORD}
    )
    assert response.status_code == 403
    assert status_of(app, barcode) == "quarantine"


def test_the_label_is_a_pdf_shown_in_the_browser(client, lots):
    sign_in(client, "ivan")
    response = client.get(f"/lots/{lots['api']}/label.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f"inline; filename={lots['api']}-label.pdf"
    assert response.data.startswith(b"%PDF")
    assert b"Supplier lot N1" in response.data


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("api", "Usable: approved and in date."),
        ("mcc", "MCC — Microcrystalline cellulose, supplier lot M1, expiry 2028-12-31."),
    ],
)
def test_a_scan_of_a_usable_lot_says_so(client, lots, name, expected):
    sign_in(client, "tina")
    page = text(client.get("/lots/check", query_string={"barcode": lots[name]}))
    assert expected in " ".join(page.split())
    assert "<html" not in page


def test_a_scan_of_a_lot_in_quarantine_says_it_is_not_usable(app, client, lots):
    barcode = receive(app)
    sign_in(client, "tina")
    page = " ".join(text(client.get("/lots/check", query_string={"barcode": barcode})).split())
    assert f"Not usable: lot {barcode} is in quarantine (not approved)." in page


def test_a_scan_of_an_expired_lot_names_the_day_it_expired(app, client, lots):
    barcode = expired_lot(app)
    yesterday = (date.fromisoformat(clock_today(app)) - timedelta(days=1)).isoformat()
    sign_in(client, "tina")
    page = " ".join(text(client.get("/lots/check", query_string={"barcode": barcode})).split())
    assert f"Not usable: lot {barcode} expired on {yesterday}." in page


def test_a_scan_of_an_unknown_lot_answers_200_with_the_message(client, lots):
    sign_in(client, "tina")
    response = client.get("/lots/check", query_string={"barcode": "lot999999"})
    assert response.status_code == 200
    assert messages(text(response)) == ["No such lot: LOT999999."]


def test_a_scan_with_the_scanner_s_control_characters_finds_the_lot(client, lots):
    sign_in(client, "tina")
    page = text(client.get("/lots/check", query_string={"barcode": f"\x02{lots['caps']}\r\n"}))
    assert "Usable: approved and in date." in " ".join(page.split())


def test_a_scan_field_may_send_the_value_under_its_own_name(client, lots):
    sign_in(client, "tina")
    page = text(client.get("/lots/check", query_string={"api_lot": lots["api2"]}))
    assert "supplier lot N2" in page


def lot_rows(page: str) -> list[str]:
    return re.findall(r'<td><a href="/lots/(LOT\d+)">', page)


def test_the_list_filters_by_status(app, client, lots):
    barcode = receive(app)
    sign_in(client, "ivan")
    assert lot_rows(text(client.get("/lots/?status=quarantine"))) == [barcode]


def test_the_list_filters_by_material(client, lots):
    sign_in(client, "ivan")
    assert lot_rows(text(client.get("/lots/?material=NTX-HCL"))) == [lots["api2"], lots["api"]]


def test_the_list_searches_the_supplier_lot(client, lots):
    sign_in(client, "ivan")
    assert lot_rows(text(client.get("/lots/?q=m1"))) == [lots["mcc"]]


def test_the_list_marks_an_expired_lot(app, client, lots):
    barcode = expired_lot(app)
    sign_in(client, "ivan")
    page = text(client.get("/lots/?material=MCC"))
    assert lot_rows(page) == [barcode, lots["mcc"]]
    assert f'<span class="mark-fail">not usable: lot {barcode} expired on' in page


def test_the_list_is_paginated(client, lots):
    sign_in(client, "ivan")
    page = text(client.get("/lots/?per_page=2&page=3"))
    assert lot_rows(page) == [lots["api"]]
    assert "Page 3 of 3 (5 in all)" in page


def test_an_admin_creates_a_material(client, lots):
    sign_in(client, "ada")
    response = client.post(
        "/lots/materials/new", data={"code": "pg", "name": "Propylene glycol", "kind": "excipient"}
    )
    assert response.status_code == 302
    page = text(client.get("/lots/materials"))
    assert "<td>PG</td>\n      <td>Propylene glycol</td>\n      <td>excipient</td>" in page


def test_a_material_code_is_used_once(client, lots):
    sign_in(client, "ada")
    response = client.post(
        "/lots/materials/new", data={"code": "MCC", "name": "Another", "kind": "excipient"}
    )
    page = text(response)
    assert response.status_code == 409
    assert field_error(page, "code") == "This code is taken."
    assert input_value(page, "name") == "Another"


def test_only_an_admin_creates_materials(client, lots):
    sign_in(client, "rob")
    assert client.get("/lots/materials/new").status_code == 403
    assert client.get("/lots/materials").status_code == 200
