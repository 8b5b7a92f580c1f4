"""The storage unit pages: the list with limits, creating a unit with the condition's defaults,
and a unit's own page: its chart and summary over a window, readings in, and sensor tokens."""

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.errors import NotAuthenticated
from qa_app.extensions import db
from qa_app.models import Excursion
from qa_app.services import batches, clock, readings, storage, tokens
from tests.builders import setup_master_data, user
from tests.services.test_excursions import FIVE_MINUTES, now_5min, stored_batch
from tests.web.pages import field_error, input_value, messages, sign_in, text
from tests.web.test_batch_pages import row, section, table_rows, words

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
        app.config["TEST_LOTS"] = setup_master_data(clock.today())


def unit_rows(page: str) -> dict[str, list[str]]:
    """code → (name, condition, limits, alarm delay) as the list shows them."""
    rows = re.findall(r"<tr>\s*<td><a [^>]*>([^<]+)</a></td>((?:\s*<td>[^<]*</td>){4})\s*</tr>", page)
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
    assert field_error(page, "max_c") == (
        "The limits must lie in −80…80 °C with lowest temperature below highest temperature."
    )
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


# --- a unit's page ------------------------------------------------------------------------------


def in_app(app: Flask, action, *args, **kwargs):
    with app.app_context():
        return action(*args, **kwargs)


def local(app: Flask, moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(ZoneInfo(app.config["QA_TIMEZONE"])).strftime(fmt)


def logger_csv(start: datetime, count: int, value_at) -> bytes:
    lines = ["at,temperature_c"]
    for i in range(count):
        moment = start + i * FIVE_MINUTES
        lines.append(f"{moment.isoformat()},{value_at(moment):g}")
    return ("\n".join(lines) + "\n").encode()


def upload(client, unit: str, body: bytes, filename: str = "fridge-log.csv", **kwargs):
    return client.post(
        f"/storage/{unit}/readings/upload",
        data={"file": (io.BytesIO(body), filename)},
        content_type="multipart/form-data",
        **kwargs,
    )


def summary(page: str) -> dict[str, str]:
    table = re.search(r'<table class="record" id="window-summary">(.*?)</table>', page, re.S).group(1)
    return {
        words(th): words(td)
        for th, td in re.findall(r"<tr><th>(.*?)</th><td[^>]*>(.*?)</td></tr>", table, re.S)
    }


def current_window(page: str) -> str:
    return words(re.search(r'<a [^>]*aria-current="true"[^>]*>(.*?)</a>', page, re.S).group(1))


def test_each_unit_links_to_its_page(client, units):
    sign_in(client, "ivan")
    page = text(client.get("/storage/"))
    assert '<a href="/storage/FRIDGE-1">FRIDGE-1</a>' in page
    assert '<a href="/storage/SHELF-1">SHELF-1</a>' in page
    assert client.get("/storage/NO-SUCH-UNIT").status_code == 404


@pytest.mark.parametrize(
    ("code", "window", "mkt_row"),
    [
        ("FRIDGE-1", "Last 24 hours", "Condition refrigerated — MKT over 24-hour windows, at most 8 °C"),
        ("SHELF-1", "Last 30 days", "Condition room — MKT over 30-day windows, at most 25 °C"),
        (
            "FREEZER-1",
            "Last 7 days",
            "Condition freezer — MKT does not apply; every excursion needs a decision",
        ),
    ],
)
def test_the_window_defaults_to_the_condition_s_mkt_window(app, client, units, code, window, mkt_row):
    in_app(
        app, lambda: storage.create_unit(user("ada"), code="FREEZER-1", name="Freezer", condition="freezer")
    )
    sign_in(client, "ivan")
    page = text(client.get(f"/storage/{code}"))
    assert current_window(page) == window
    assert section(page, "chart").startswith(f"Temperatures: {window.lower()}")
    assert f"Condition {row(page, 'Condition')}" == mkt_row


def test_no_readings_in_the_window_say_so(client, units):
    sign_in(client, "ivan")
    page = text(client.get("/storage/FRIDGE-1"))
    assert "No readings in this window." in section(page, "chart")
    assert 'class="chart-empty"' in page
    assert summary(page)["Readings"] == "0"
    assert summary(page)["MKT of the window"] == "—"
    assert words(re.search(r'<td id="condition-mkt">(.*?)</td>', page, re.S).group(1)) == (
        "no readings in the last 24 hours"
    )


def test_the_summary_gives_the_published_mkt_of_vector_1(app, client, units):
    # domain.md §6 vector 1: 2, 2, 5, 8, 8, 8, 8 °C at equal intervals → MKT 6.25 °C; mean 41/7 = 5.86.
    first = now_5min() - timedelta(hours=8)
    body = [
        readings.RowInput(i + 1, (first + timedelta(hours=i)).isoformat(), v)
        for i, v in enumerate((2, 2, 5, 8, 8, 8, 8))
    ]
    in_app(app, lambda: readings.ingest("FRIDGE-1", body, source="api", actor=user("tina")))
    sign_in(client, "ivan")
    page = text(client.get("/storage/FRIDGE-1"))
    assert summary(page) == {
        "Readings": "7",
        "Lowest": "2.00 °C",
        "Highest": "8.00 °C",
        "Mean": "5.86 °C",
        "MKT of the window": "6.25 °C",
        "Data gaps": "none",
    }
    assert words(re.search(r'<td id="condition-mkt">(.*?)</td>', page, re.S).group(1)).startswith(
        "6.25 °C within 8 °C (7 readings from "
    )
    assert table_rows(page, "excursions") == [["No excursion recorded for this unit."]]


def test_a_logger_file_with_an_excursion_puts_the_batch_on_hold(app, client, units):
    end = now_5min()
    start = end - timedelta(hours=23, minutes=55)
    cut_from, cut_to = end - timedelta(hours=10), end - timedelta(hours=6)
    lot = in_app(app, stored_batch, "FRIDGE-1", end - timedelta(hours=25))
    body = logger_csv(start, 288, lambda moment: 18.0 if cut_from <= moment < cut_to else 5.0)
    sign_in(client, "tina")

    response = upload(client, "FRIDGE-1", body)
    assert response.status_code == 302
    assert response.headers["Location"] == "/storage/FRIDGE-1#chart"
    page = text(client.get("/storage/FRIDGE-1"))
    assert messages(page) == ["fridge-log.csv: accepted 288, duplicates 0."]
    assert summary(page)["Readings"] == "288"
    assert summary(page)["Highest"] == "18.00 °C"
    excursion = in_app(app, lambda: db.session.scalar(sa.select(Excursion.id)))
    # 24 hours to the end of the excursion hold 168 readings at 5 °C and 48 at 18 °C:
    # 10 000 / −ln((168·e^(−10 000/278.15) + 48·e^(−10 000/291.15)) / 216) − 273.15 = 9.99 °C
    assert table_rows(page, "excursions") == [
        [
            str(excursion),
            local(app, cut_from),
            local(app, cut_to),
            "4 h 00 min",
            "18.0 °C",
            "18.0 °C",
            "9.99 °C",
            "needs disposition",
            "open",
        ]
    ]
    shaded = re.findall(
        r'<a href="/storage/excursions/(\d+)"><rect class="excursion excursion-needs_disposition"', page
    )
    assert shaded == [str(excursion)]
    assert [r[1:] for r in table_rows(page, "arrivals")] == [
        ["csv (fridge-log.csv)", "tina", f"{local(app, start)} – {local(app, end)}", "288", "0"]
    ]

    record = text(client.get(f"/batches/{lot}"))
    assert in_app(app, lambda: batches.get_batch(lot).status) == "on_hold"
    assert (
        f'<a href="/storage/excursions/{excursion}">Excursion {excursion} in FRIDGE-1 (up to 18.0 °C'
        in record
    )
    # the whole stay: 240 readings at 5 °C and 48 at 18 °C → MKT 8.99 °C
    assert table_rows(record, "storage-h") == [
        ["FRIDGE-1", local(app, end - timedelta(hours=25)), "now", "288", "5.00 °C", "18.00 °C", "8.99 °C"]
    ]

    again = upload(client, "FRIDGE-1", body, follow_redirects=True)
    assert messages(text(again)) == ["fridge-log.csv: accepted 0, duplicates 288."]
    assert in_app(app, lambda: db.session.scalar(sa.select(sa.func.count()).select_from(Excursion))) == 1


def test_a_bad_logger_file_names_each_row_and_stores_nothing(client, units):
    body = (
        b"at,temperature_c\n"
        b"2026-11-20T08:00:00Z,5.1\n"
        b"2026-11-20T08:05:00,5.2\n"
        b"2026-11-20T08:10:00Z,warm\n"
        b"2026-11-20T08:15:00Z,95\n"
    )
    sign_in(client, "tina")
    response = upload(client, "FRIDGE-1", body)
    assert response.status_code == 400
    page = text(response)
    assert "Nothing was stored: 3 row(s) need correcting." in messages(page)
    assert table_rows(page, "readings") == [
        ["3", "at '2026-11-20T08:05:00' has no offset: add one, e.g. Z or +01:00."],
        ["4", "temperature_c 'warm' is not a number: give °C, e.g. 5.2."],
        ["5", "temperature_c 95 is outside −80…80 °C: check the unit and the sensor."],
    ]
    assert "No readings have arrived for this unit yet." in section(
        text(client.get("/storage/FRIDGE-1")), "arrivals"
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"time,temp\n2026-11-20T08:00:00Z,5\n", "Found 'time,temp'; the header must be at,temperature_c."),
        (b"", "Choose a CSV file with readings."),
        (b"\xff\xfe", "Export the log as UTF-8 CSV."),
    ],
)
def test_a_file_that_is_not_a_logger_export_is_named_beside_the_field(client, units, body, error):
    sign_in(client, "tina")
    response = upload(client, "FRIDGE-1", body)
    assert response.status_code == 400
    assert field_error(text(response), "file") == error


def test_an_upload_without_a_file_asks_for_one(client, units):
    sign_in(client, "tina")
    response = client.post("/storage/FRIDGE-1/readings/upload", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert field_error(text(response), "file") == "Choose the logger's CSV file."


def test_an_old_logger_file_is_shown_over_its_own_days(app, client, units):
    start = now_5min() - timedelta(days=40)
    sign_in(client, "tina")
    response = upload(client, "SHELF-1", logger_csv(start, 12, lambda moment: 21.5))
    day = local(app, start, "%Y-%m-%d")
    assert (
        response.headers["Location"]
        == f"/storage/SHELF-1?start={day}&end={local(app, start + 11 * FIVE_MINUTES, '%Y-%m-%d')}#chart"
    )
    page = text(client.get(response.headers["Location"]))
    assert section(page, "chart").startswith(f"Temperatures: {day} to ")
    assert summary(page)["Readings"] == "12"
    assert summary(page)["MKT of the window"] == "21.50 °C"


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("start=2026-13-01", "Give the window's dates as YYYY-MM-DD, e.g. 2026-03-01."),
        ("start=2026-03-10&end=2026-03-01", "The window's last day is before its first day."),
        ("start=2999-01-01&end=2999-01-02", "The window starts in the future."),
    ],
)
def test_a_window_that_cannot_be_shown_says_why(client, units, query, error):
    sign_in(client, "ivan")
    response = client.get(f"/storage/FRIDGE-1?{query}")
    assert response.status_code == 400
    assert messages(text(response)) == [f"{error} Showing last 24 hours instead."]


def test_the_manual_reading_defaults_to_now(app, client, units):
    sign_in(client, "tina")
    page = text(client.get("/storage/FRIDGE-1"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", input_value(page, "at"))

    response = client.post(
        "/storage/FRIDGE-1/readings/manual", data={"temperature_c": "5.2"}, follow_redirects=True
    )
    page = text(response)
    [message] = messages(page)
    assert re.fullmatch(r"Reading of 5\.2 °C at \d{4}-\d\d-\d\d \d\d:\d\d \w+ recorded\.", message)
    assert summary(page)["Readings"] == "1"
    assert summary(page)["Lowest"] == "5.20 °C"
    assert table_rows(page, "arrivals")[0][1:3] == ["manual", "tina"]


def test_a_manual_reading_at_a_given_time_and_its_repeats(app, client, units):
    at = now_5min() - timedelta(hours=2)
    typed = local(app, at, "%Y-%m-%dT%H:%M")
    shown = local(app, at, "%Y-%m-%d %H:%M %Z")
    sign_in(client, "rob")
    response = client.post(
        "/storage/FRIDGE-1/readings/manual", data={"temperature_c": "4.8", "at": typed}, follow_redirects=True
    )
    assert messages(text(response)) == [f"Reading of 4.8 °C at {shown} recorded."]
    response = client.post(
        "/storage/FRIDGE-1/readings/manual", data={"temperature_c": "4.8", "at": typed}, follow_redirects=True
    )
    assert messages(text(response)) == [
        f"The reading of 4.8 °C at {shown} was stored already; nothing changed."
    ]
    response = client.post("/storage/FRIDGE-1/readings/manual", data={"temperature_c": "6", "at": typed})
    assert response.status_code == 409
    assert f"{at.isoformat()} is stored already as 4.8 °C, not 6 °C." in messages(text(response))


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"temperature_c": "warm"}, "temperature_c", "'warm' is not a number: give °C, e.g. 5.2."),
        ({"temperature_c": "95"}, "temperature_c", "95 is outside −80…80 °C: check the unit and the sensor."),
        ({"temperature_c": ""}, "temperature_c", "Give the temperature the display shows, e.g. 5.2."),
        ({"temperature_c": "5", "at": "2999-01-01T08:00"}, "at", None),
    ],
)
def test_a_wrong_manual_reading_is_named_beside_its_field(app, client, units, data, field, error):
    sign_in(client, "tina")
    response = client.post("/storage/FRIDGE-1/readings/manual", data=data)
    assert response.status_code == 400
    page = text(response)
    if error is None:
        assert field_error(page, field).endswith("is in the future: check the logger's clock.")
    else:
        assert field_error(page, field) == error
    assert input_value(page, "temperature_c") == data["temperature_c"]
    assert summary(text(client.get("/storage/FRIDGE-1")))["Readings"] == "0"


def test_an_admin_makes_a_sensor_token_shown_once_and_revokes_it(app, client, units):
    sign_in(client, "ada")
    response = client.post("/storage/FRIDGE-1/device-tokens", data={"label": "Logger SN-4411"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = text(response)
    secret = re.search(r'<code id="token-secret">([^<]+)</code>', page).group(1)
    assert "Copy it into the sensor now: it is shown only this once." in section(page, "tokens")
    assert in_app(app, lambda: tokens.resolve(secret).label) == "Logger SN-4411"
    [token_row] = table_rows(page, "tokens")
    assert token_row[0] == "Logger SN-4411"
    assert token_row[2] == "active"

    page = text(client.get("/storage/FRIDGE-1"))
    assert secret not in page
    token_id = re.search(r'action="/storage/FRIDGE-1/device-tokens/(\d+)/revoke"', page).group(1)
    response = client.post(f"/storage/FRIDGE-1/device-tokens/{token_id}/revoke", follow_redirects=True)
    page = text(response)
    assert messages(page) == [
        "Device token “Logger SN-4411” revoked: the sensor can no longer post readings."
    ]
    [token_row] = table_rows(page, "tokens")
    assert token_row[2].startswith("revoked ")
    with pytest.raises(NotAuthenticated):
        in_app(app, tokens.resolve, secret)

    again = client.post(f"/storage/FRIDGE-1/device-tokens/{token_id}/revoke")
    assert again.status_code == 409
    assert messages(text(again)) == [f"Device token {token_id} was revoked already."]
    assert client.post(f"/storage/SHELF-1/device-tokens/{token_id}/revoke").status_code == 404


def test_a_sensor_token_needs_a_label(client, units):
    sign_in(client, "ada")
    response = client.post("/storage/FRIDGE-1/device-tokens", data={"label": " "})
    assert response.status_code == 400
    assert field_error(text(response), "label") == "Name the sensor, e.g. its serial number."


@pytest.mark.parametrize(
    ("username", "forms"),
    [
        ("tina", ["upload", "manual"]),
        ("rob", ["upload", "manual"]),
        ("ada", ["token"]),
        ("ivan", []),
    ],
)
def test_each_role_sees_the_forms_it_may_use(client, units, username, forms):
    sign_in(client, username)
    page = text(client.get("/storage/FRIDGE-1"))
    shown = re.findall(r'<form method="post" action="[^"]*" (?:enctype="[^"]*" )?id="(\w+)"', page)
    assert shown == forms
    assert ('id="tokens"' in page) == (username == "ada")


def test_the_unit_s_excursions_are_paged_newest_first(app, client, units):
    end = now_5min()
    start = end - timedelta(hours=20)
    spells = [
        (end - timedelta(hours=15), end - timedelta(hours=13)),
        (end - timedelta(hours=6), end - timedelta(hours=5)),
    ]

    def warm(moment):
        return 12.0 if any(a <= moment < b for a, b in spells) else 5.0

    sign_in(client, "tina")
    upload(client, "FRIDGE-1", logger_csv(start, 240, warm))
    first = text(client.get("/storage/FRIDGE-1?per_page=1"))
    assert [r[3] for r in table_rows(first, "excursions")] == ["1 h 00 min"]
    assert "Page 1 of 2 (2 in all)" in section(first, "excursions")
    following = re.search(r'<a href="([^"]+)" rel="next">', first).group(1)
    assert following == "/storage/FRIDGE-1?per_page=1&amp;page=2"
    second = text(client.get(following.replace("&amp;", "&")))
    assert [r[3] for r in table_rows(second, "excursions")] == ["2 h 00 min"]
