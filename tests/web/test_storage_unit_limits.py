"""A unit's limits never lie outside its condition's range: a refrigerator set to 2–14 °C would
never show the days at 12 °C that put its batches on hold."""

import pytest

from tests.web.pages import field_error, input_value, sign_in, text
from tests.web.test_storage_pages import FRIDGE, unit_rows, units  # noqa: F401


@pytest.mark.parametrize(
    ("limits", "field", "message"),
    [
        (
            {"min_c": "2", "max_c": "14"},
            "max_c",
            "At most 8.0 °C: a refrigerated unit is kept at 2.0–8.0 °C.",
        ),
        (
            {"min_c": "-1", "max_c": "8"},
            "min_c",
            "At least 2.0 °C: a refrigerated unit is kept at 2.0–8.0 °C.",
        ),
    ],
)
def test_a_refrigerator_with_limits_wider_than_2_to_8_is_refused_on_the_page(
    client,
    units,  # noqa: F811
    limits,
    field,
    message,
):
    sign_in(client, "ada")
    response = client.post("/storage/new", data=FRIDGE | limits)
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, field) == message
    assert input_value(page, "max_c") == limits["max_c"]
    assert "FRIDGE-2" not in unit_rows(text(client.get("/storage/")))


def test_a_room_unit_up_to_30_is_refused_through_the_api(client, auth, units):  # noqa: F811
    body = {"code": "SHELF-9", "name": "Window shelf", "condition": "room", "min_c": 20, "max_c": 30}
    response = client.post("/api/v1/storage-units", json=body, headers=auth.token("ada"))
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {
        "max_c": "At most 25.0 °C: a room unit is kept at 20.0–25.0 °C."
    }
    assert client.get("/api/v1/storage-units/SHELF-9", headers=auth.token("ada")).status_code == 404


def test_limits_inside_the_range_are_kept(client, units):  # noqa: F811
    sign_in(client, "ada")
    client.post("/storage/new", data=FRIDGE | {"min_c": "3", "max_c": "7.5"})
    assert unit_rows(text(client.get("/storage/")))["FRIDGE-2"][2] == "3.0–7.5 °C"


def test_an_alarm_delay_of_a_day_is_refused_on_the_page(client, units):  # noqa: F811
    sign_in(client, "ada")
    response = client.post("/storage/new", data=FRIDGE | {"alarm_delay_minutes": "1440"})
    assert response.status_code == 400
    assert field_error(text(response), "alarm_delay_minutes") == (
        "From 0 to at most 60 minutes: the delay only filters brief readings; a longer one would "
        "hide an excursion that harms the preparations."
    )
    assert "FRIDGE-2" not in unit_rows(text(client.get("/storage/")))


def test_an_alarm_delay_over_an_hour_is_refused_through_the_api(client, auth, units):  # noqa: F811
    body = {"code": "SLOW-9", "name": "Slow fridge", "condition": "refrigerated", "alarm_delay_minutes": 61}
    response = client.post("/api/v1/storage-units", json=body, headers=auth.token("ada"))
    assert response.status_code == 400
    assert "alarm_delay_minutes" in response.get_json()["error"]["fields"]
    assert client.get("/api/v1/storage-units/SLOW-9", headers=auth.token("ada")).status_code == 404
