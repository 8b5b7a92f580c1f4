"""Dates typed and shown as ISO, fields named in words, each message said once, a favicon."""

import re

import pytest

from qa_app.services import batches, clock
from tests.builders import setup_master_data, user
from tests.web.pages import field_error, messages, sign_in, text


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def draft(app, lots) -> str:
    with app.app_context():
        return batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number


def input_tag(page: str, name: str) -> str:
    [tag] = re.findall(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    return tag


ISO_DATE = ('type="text"', r'pattern="\d{4}-\d{2}-\d{2}"', 'placeholder="YYYY-MM-DD"', 'inputmode="numeric"')


@pytest.mark.parametrize(
    ("who", "path", "names"),
    [
        ("tina", "/lots/new", ["expiry_date", "received_date"]),
        ("tina", "/batches/", ["from", "to"]),
        ("tina", "/storage/SHELF-1", ["start", "end"]),
        ("rob", "/audit/", ["from", "to"]),
        ("rob", "/trends/LDN-CAP", ["from", "to"]),
    ],
)
def test_dates_are_typed_as_iso_text_not_in_a_browser_date_picker(client, lots, who, path, names):
    sign_in(client, who)
    page = text(client.get(path))
    assert 'type="date"' not in page and 'type="datetime-local"' not in page
    for name in names:
        tag = input_tag(page, name)
        assert all(attribute in tag for attribute in ISO_DATE), tag


def test_times_are_typed_as_iso_text_on_the_24_hour_clock(client, lots, draft):
    sign_in(client, "tina")
    page = text(client.get(f"/batches/{draft}"))
    assert 'type="datetime-local"' not in page
    tag = input_tag(page, "at")
    assert 'type="text"' in tag and 'placeholder="YYYY-MM-DD HH:MM"' in tag
    assert r'pattern="\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?"' in tag


@pytest.mark.parametrize("typed", ["2026-03-01 14:30", "2026-03-01T14:30"])
def test_a_time_typed_either_way_is_read(client, lots, typed):
    sign_in(client, "tina")
    response = client.post(
        "/batches/new",
        data={"formula": "LDN-CAP", "strength_mg": "1.5", "quantity": "100", "compounded_at": typed},
    )
    assert response.status_code == 302


def test_a_date_in_the_us_order_is_refused_beside_its_field(client, lots):
    sign_in(client, "tina")
    response = client.post(
        "/lots/new",
        data={
            "material": "NTX-HCL",
            "supplier": "Medisca",
            "lot_number": "N9",
            "expiry_date": "06/30/2030",
            "received_date": "2026-01-02",
            "assay_percent": "99.0",
            "assay_basis": "as_is",
        },
    )
    assert response.status_code == 400
    assert field_error(text(response), "expiry_date") == "Use YYYY-MM-DD, e.g. 2026-11-25."


def test_a_service_message_names_the_field_in_words_on_the_page(client, lots):
    sign_in(client, "tina")
    page = text(
        client.post("/batches/new", data={"formula": "LDN-CAP", "strength_mg": "4.6", "quantity": "100"})
    )
    assert (
        field_error(page, "strength_mg") == "Strength must be between 0.5 and 4.5 mg per dose (LDN); got 4.6"
    )
    assert "strength_mg must" not in page


def test_the_api_still_names_the_field_by_its_key(client, auth, lots):
    response = client.post(
        "/api/v1/batches",
        json={"formula": "LDN-CAP", "strength_mg": 4.6, "quantity": 100},
        headers=auth.token("tina"),
    )
    error = response.get_json()["error"]
    assert error["fields"] == {
        "strength_mg": "strength_mg must be between 0.5 and 4.5 mg per dose (LDN); got 4.6"
    }


def test_a_refusal_is_said_once(client, lots, draft):
    sign_in(client, "tina")
    response = client.post(
        f"/batches/{draft}/complete", data={"actual_yield": "98", "storage_unit": "SHELF-1"}
    )
    page = text(response)
    assert response.status_code == 409
    said = [m for m in messages(page) if "is not ready to complete" in m]
    assert len(said) == 1, messages(page)


def test_every_page_names_its_favicon(client, lots):
    page = text(client.get("/login"))
    [link] = re.findall(r'<link rel="icon"[^>]*>', page)
    assert 'href="/static/favicon.svg"' in link and 'type="image/svg+xml"' in link
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    assert icon.get_data(as_text=True).startswith("<svg")


def test_the_trend_filters_not_used_are_named_as_the_page_names_them(client, lots):
    sign_in(client, "rob")
    page = text(client.get("/trends/LDN-CAP", query_string={"from": "11/25/2026", "to": "2026-13-01"}))
    assert "Some filters were not used: first day, last day. The chart shows the others." in messages(page)
