"""The storage unit pages: the list with limits, and creating a unit with the condition's defaults."""

import re

import pytest

from qa_app.services import clock
from tests.builders import setup_master_data
from tests.web.pages import field_error, input_value, messages, sign_in, text

FRIDGE = {
    "code": "fridge-2",
    "name": "Second refrigerator",
    "condition": "refrigerated",
    "min_c": "",
    "max_c": "",
    "alarm_delay_minutes": "30",
}


@pytest.fixture
def units(app, users) -> None:
    with app.app_context():
        setup_master_data(clock.today())


def unit_rows(page: str) -> dict[str, list[str]]:
    """code → (name, condition, limits, alarm delay) as the list shows them."""
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>((?:\s*<td>[^<]*</td>){4})\s*</tr>", page)
    return {code: re.findall(r"<td>([^<]*)</td>", cells) for code, cells in rows}


def test_the_list_shows_each_unit_with_its_limits(client, units):
    sign_in(client, "ivan")
    assert unit_rows(text(client.get("/storage/"))) == {
        "FRIDGE-1": ["Refrigerator", "refrigerated", "2.0–8.0 °C", "30 min"],
        "SHELF-1": ["Room shelf", "room", "20.0–25.0 °C", "30 min"],
    }


@pytest.mark.parametrize(
    ("condition", "limits"),
    [("refrigerated", "2.0–8.0 °C"), ("room", "20.0–25.0 °C"), ("freezer", "−25.0…−10.0 °C")],
)
def test_empty_limits_take_the_condition_s_defaults(client, units, condition, limits):
    sign_in(client, "ada")
    response = client.post("/storage/new", data=FRIDGE | {"condition": condition})
    assert response.status_code == 302
    page = text(client.get("/storage/"))
    assert unit_rows(page)["FRIDGE-2"] == ["Second refrigerator", condition, limits, "30 min"]
    assert messages(page) == [f"Storage unit FRIDGE-2 created: {limits}."]


def test_limits_given_are_kept(client, units):
    sign_in(client, "ada")
    client.post("/storage/new", data=FRIDGE | {"min_c": "3", "max_c": "7.5", "alarm_delay_minutes": "15"})
    assert unit_rows(text(client.get("/storage/")))["FRIDGE-2"][2:] == ["3.0–7.5 °C", "15 min"]


def test_limits_out_of_order_keep_what_was_typed(client, units):
    sign_in(client, "ada")
    response = client.post("/storage/new", data=FRIDGE | {"min_c": "8", "max_c": "2"})
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, "max_c") == "The limits must lie in −80…80 °C with min_c below max_c."
    assert input_value(page, "min_c") == "8"
    assert input_value(page, "max_c") == "2"
    assert input_value(page, "name") == "Second refrigerator"


def test_a_unit_code_is_used_once(client, units):
    sign_in(client, "ada")
    response = client.post("/storage/new", data=FRIDGE | {"code": "FRIDGE-1"})
    assert response.status_code == 409
    assert field_error(text(response), "code") == "This code is taken."


def test_only_an_admin_creates_units(client, units):
    sign_in(client, "rob")
    assert client.get("/storage/new").status_code == 403
    assert client.post("/storage/new", data=FRIDGE).status_code == 403
    assert "New storage unit" not in text(client.get("/storage/"))
