"""Bodies and numbers that must never corrupt or crash: streamed bodies past the size
limit, CSV files a spreadsheet or an old logger writes oddly, and numbers written in ways only a
person (or an attacker) would read as digits.

A refusal is a 400 (or 413 for a body too large) naming the field or the row, and nothing of the
request is stored.
"""

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.extensions import db
from qa_app.models import Batch, Reading, Result, WeightCheck
from tests.conftest import PASSWORD
from tests.fuzz.records import Records
from tests.services.test_results import shared_database_app

LIMIT = 32 * 1024 * 1024
READINGS = "/api/v1/storage-units/SHELF-1/readings"
HEADER = "lot_number,test,value,replicate,method,analyst,tested_at"
_minutes = iter(range(10**6))


@pytest.fixture(scope="module")
def app(databases, tmp_path_factory) -> Iterator[Flask]:
    yield from shared_database_app(databases, str(tmp_path_factory.mktemp("hostile-uploads")))


@pytest.fixture(scope="module")
def make(app) -> Records:
    return Records(app.config["TEST_LOTS"])


@pytest.fixture(scope="module")
def tina(app) -> dict[str, str]:
    answer = app.test_client().post("/api/v1/tokens", json={"username": "tina", "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


@pytest.fixture
def browser(app):
    client = app.test_client()
    assert client.post("/login", data={"username": "tina", "password": PASSWORD}).status_code == 302
    return client


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def batch_id(app, lot: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Batch.id).where(Batch.lot_number == lot))


def next_time() -> str:
    """A reading time no other test of the module uses, days before now."""
    moment = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=next(_minutes))
    return moment.isoformat().replace("+00:00", "Z")


def rows_named(response) -> list[int]:
    return [row["row"] for row in (response.get_json() or {}).get("error", {}).get("rows", [])]


# --- 6. a streamed body past the limit ----------------------------------------------------------


def padded_csv(size: int, last_value: str = "22.5") -> tuple[bytes, str]:
    """A readings CSV of ``size`` bytes: a reading, blank lines, and a last reading whose value
    ends the file; the limit falls inside the last value when ``size`` is over it."""
    first, last = next_time(), next_time()
    head = f"at,temperature_c\n{first},21.0\n".encode()
    tail = f"{last},{last_value}\n".encode()
    return head + b"\n" * (size - len(head) - len(tail)) + tail, last


def streamed(client, path: str, body: bytes, content_type: str, headers: dict[str, str]):
    """As a server hands the app a chunked body: no Content-Length, the stream ends the body."""
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        content_type=content_type,
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_streamed_csv_over_32_mib_is_413_and_nothing_is_stored(app, tina):
    # The limit falls between the "2" and the "2.5" of the last reading's 22.5.
    body, _last = padded_csv(LIMIT + 4)
    before = count(app, Reading)

    response = streamed(app.test_client(), READINGS, body, "text/csv", tina)

    assert response.status_code == 413, response.get_json()
    assert response.get_json()["error"]["code"] == "too_large"
    assert count(app, Reading) == before


def test_a_streamed_csv_of_exactly_32_mib_is_stored_whole(app, tina):
    body, last = padded_csv(LIMIT)

    response = streamed(app.test_client(), READINGS, body, "text/csv", tina)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"accepted": 2, "duplicates": 0}
    at = datetime.fromisoformat(last)
    with app.app_context():
        assert db.session.scalar(sa.select(Reading.temperature_c).where(Reading.at == at)) == 22.5


def test_a_csv_over_32_mib_with_its_length_is_413_and_nothing_is_stored(app, tina):
    body, _last = padded_csv(LIMIT + 4)
    before = count(app, Reading)

    response = app.test_client().post(READINGS, data=body, content_type="text/csv", headers=tina)

    assert response.status_code == 413
    assert count(app, Reading) == before


def test_a_streamed_json_body_over_32_mib_is_413(app, tina):
    body = (
        b'{"readings": [{"at": "' + next_time().encode() + b'", "temperature_c": 21.0}]' + b" " * LIMIT + b"}"
    )

    response = streamed(app.test_client(), READINGS, body, "application/json", tina)

    assert response.status_code == 413


def test_a_streamed_upload_form_over_32_mib_is_413_and_nothing_is_stored(app, browser):
    csv_body, _last = padded_csv(LIMIT + 1024)
    boundary = "hostileboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="log.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + csv_body
        + f"\r\n--{boundary}--\r\n".encode()
    )
    before = count(app, Reading)

    response = streamed(
        browser, "/storage/SHELF-1/readings/upload", body, f"multipart/form-data; boundary={boundary}", {}
    )

    assert response.status_code == 413
    assert count(app, Reading) == before


# --- 7. CSV files written oddly -----------------------------------------------------------------


def test_readings_with_bare_cr_line_endings_are_a_400_naming_the_row(app, tina):
    body = f"at,temperature_c\r{next_time()},21.0\r{next_time()},21.5\r"
    before = count(app, Reading)

    response = app.test_client().post(READINGS, data=body, content_type="text/csv", headers=tina)

    assert response.status_code == 400, response.get_json()
    assert rows_named(response) == [1]
    assert "line ending" in response.get_json()["error"]["rows"][0]["message"]
    assert count(app, Reading) == before


def test_a_reading_cell_over_131072_characters_is_a_400_naming_its_row(app, tina):
    body = f"at,temperature_c\n{next_time()},21.0\n{next_time()},{'2' * 131_073}\n"

    response = app.test_client().post(READINGS, data=body, content_type="text/csv", headers=tina)

    assert response.status_code == 400, response.get_json()
    assert rows_named(response) == [3]
    assert "131,072" in response.get_json()["error"]["rows"][0]["message"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(lambda t: f"at,temperature_c\r{t},21.0\r", id="bare CR"),
        pytest.param(lambda t: f"at,temperature_c\n{t},{'A' * 200_000}\n", id="200,000 characters"),
    ],
)
def test_the_readings_upload_page_names_the_row_of_an_odd_csv(app, browser, body):
    before = count(app, Reading)
    data = {"file": (io.BytesIO(body(next_time()).encode()), "log.csv")}

    page = browser.post("/storage/SHELF-1/readings/upload", data=data, content_type="multipart/form-data")

    assert page.status_code == 400
    assert "Row" in page.get_data(as_text=True) or "row" in page.get_data(as_text=True)
    assert count(app, Reading) == before


@pytest.mark.parametrize(
    "row_sep, cell",
    [pytest.param("\r", "99.5", id="bare CR"), pytest.param("\n", "9" * 131_073, id="131,073 characters")],
)
def test_a_results_csv_written_oddly_is_a_400_naming_the_row(app, make, tina, row_sep, cell):
    with app.app_context():
        lot = make.quarantined()
    body = row_sep.join([HEADER, f"{lot},assay,99.5,1,HPLC-UV,J. Lab,", f"{lot},appearance,{cell},1,,,"])

    response = app.test_client().post(
        "/api/v1/results/import", data=body + row_sep, content_type="text/csv", headers=tina
    )

    assert response.status_code == 400, response.get_json()
    assert rows_named(response) == ([1] if row_sep == "\r" else [3])
    assert count(app, Result, Result.batch_id == batch_id(app, lot)) == 0


def test_the_results_import_page_names_the_row_of_an_odd_csv(app, make, browser):
    with app.app_context():
        lot = make.quarantined()
    text = f"{HEADER}\r{lot},assay,99.5,1,HPLC-UV,J. Lab,\r"

    page = browser.post("/batches/import-results", data={"text": text})

    assert page.status_code == 400
    assert "line ending" in page.get_data(as_text=True)
    assert count(app, Result, Result.batch_id == batch_id(app, lot)) == 0


# --- 8. numbers: plain ASCII decimals only ---------------------------------------------------------

NOT_PLAIN = {
    "underscore": "2_1",
    "Arabic-Indic digits": "\u0662\u0661",
    "full-width digits": "\uff12\uff11",
    "decimal comma": "21,5",
    "exponent": "2.1e1",
}


@pytest.mark.parametrize("text", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_a_reading_not_written_in_plain_digits_is_refused_by_row(app, tina, text):
    body = f'at,temperature_c\n{next_time()},"{text}"\n'
    before = count(app, Reading)

    response = app.test_client().post(READINGS, data=body, content_type="text/csv", headers=tina)

    assert response.status_code == 400, response.get_json()
    assert rows_named(response) == [2]
    assert count(app, Reading) == before


def test_a_comma_in_a_reading_says_to_use_a_point(app, tina):
    body = f'at,temperature_c\n{next_time()},"21,5"\n'

    response = app.test_client().post(READINGS, data=body, content_type="text/csv", headers=tina)

    assert "use a point as the decimal separator" in response.get_json()["error"]["rows"][0]["message"]


@pytest.mark.parametrize("text", ["9_9.5", "\u0669\u0669.\u0665", "\uff19\uff19.\uff15", '"99,5"'])
def test_a_result_not_written_in_plain_digits_is_refused_by_row(app, make, tina, text):
    with app.app_context():
        lot = make.quarantined()
    body = f"{HEADER}\n{lot},assay,{text},1,HPLC-UV,J. Lab,\n"

    response = app.test_client().post(
        "/api/v1/results/import", data=body, content_type="text/csv", headers=tina
    )

    assert response.status_code == 400, response.get_json()
    assert rows_named(response) == [2]
    assert count(app, Result, Result.batch_id == batch_id(app, lot)) == 0


def test_a_decimal_comma_in_the_capsule_weights_is_refused_not_split(app, make, browser):
    with app.app_context():
        lot = make.weighed()
    weights = "\n".join(["225,3"] * 10)

    page = browser.post(f"/batches/{lot}/weight-check", data={"weights": weights})

    assert page.status_code == 400
    assert "Line 1: &#34;225,3&#34; is not one number; use a point for decimals." in page.get_data(
        as_text=True
    )
    assert count(app, WeightCheck, WeightCheck.batch_id == batch_id(app, lot)) == 0


@pytest.mark.parametrize(
    "text", ["2_25", "\u0662\u0662\u0665", "\uff12\uff12\uff15", "1" + "0" * 308, "sNaN"]
)
def test_capsule_weights_not_in_plain_digits_or_out_of_range_are_refused(app, make, browser, text):
    with app.app_context():
        lot = make.weighed()

    page = browser.post(f"/batches/{lot}/weight-check", data={"weights": "\n".join([text] * 10)})

    assert page.status_code == 400
    assert "field-error" in page.get_data(as_text=True) or "flash-error" in page.get_data(as_text=True)
    assert count(app, WeightCheck, WeightCheck.batch_id == batch_id(app, lot)) == 0


def test_capsule_weights_of_1e308_through_the_api_are_refused_by_range(app, make, tina):
    with app.app_context():
        lot = make.weighed()

    response = app.test_client().post(
        f"/api/v1/batches/{lot}/weight-check", json={"weights_mg": [1e308] * 10}, headers=tina
    )

    assert response.status_code == 400, response.get_json()
    assert any(name.startswith("weights_mg") for name in response.get_json()["error"]["fields"])
    assert count(app, WeightCheck, WeightCheck.batch_id == batch_id(app, lot)) == 0


@pytest.mark.parametrize(
    "text", ["sNaN", "1_000", "\u0661\u0660\u0660", "\uff11\uff10\uff10", "1e2", "100,0"]
)
def test_a_decimal_form_field_takes_plain_digits_only(app, browser, text):
    before = count(app, Batch)
    page = browser.post("/batches/new", data={"formula": "LDN-CAP", "strength_mg": "1.5", "quantity": text})

    assert page.status_code in (200, 400), page.status_code
    assert "field-error" in page.get_data(as_text=True)
    assert count(app, Batch) == before


@pytest.mark.parametrize("text", ["99,5", "9_9.5", "\u0669\u0669.\u0665"])
def test_a_result_typed_on_the_page_takes_plain_digits_only(app, make, browser, text):
    with app.app_context():
        lot = make.quarantined()

    page = browser.post(f"/batches/{lot}/results/assay", data={"r-assay-value": text, "value": text})

    assert page.status_code in (200, 400)
    assert count(app, Result, Result.batch_id == batch_id(app, lot)) == 0


@pytest.mark.parametrize("text", ["2_1", "\u0662\u0661", "\uff12\uff11", "21,5"])
def test_a_manual_reading_takes_plain_digits_only(app, browser, text):
    before = count(app, Reading)

    page = browser.post("/storage/SHELF-1/readings/manual", data={"temperature_c": text})

    assert page.status_code in (200, 400)
    assert count(app, Reading) == before


def test_a_results_csv_of_more_rows_than_one_request_can_import_in_time_is_refused_at_once(app, tina):
    """50,000 rows take about 100 s to import, within the server's timeout; one more is a 400."""
    rows = [f"LDN-NONE-{n},assay,99.5,1,HPLC-UV,J. Lab," for n in range(50_001)]

    response = app.test_client().post(
        "/api/v1/results/import", data="\n".join([HEADER, *rows]), content_type="text/csv", headers=tina
    )

    assert response.status_code == 400
    assert rows_named(response) == [50_002]
    assert "50,000" in response.get_json()["error"]["rows"][0]["message"]


@pytest.mark.parametrize("text", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_a_json_reading_given_as_text_takes_plain_digits_only(app, tina, text):
    before = count(app, Reading)
    body = {
        "readings": [{"at": next_time(), "temperature_c": "21.5"}, {"at": next_time(), "temperature_c": text}]
    }

    response = app.test_client().post(READINGS, json=body, headers=tina)

    assert response.status_code == 400, response.get_json()
    assert rows_named(response) == [2]
    assert count(app, Reading) == before
