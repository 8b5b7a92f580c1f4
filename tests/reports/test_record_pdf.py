"""The inspector's record.pdf always renders, however long what the API accepted: a deviation
reason of 2,000 characters wraps in its cell, and a capsule weight check of 1,000 weights runs
over pages with the table headers repeated. Read back with pdftotext, as a reader sees it.
"""

import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from flask import Flask

from qa_app.extensions import db
from qa_app.services import batches
from tests.builders import user
from tests.conftest import PASSWORD
from tests.services.test_results import shared_database_app

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)


@pytest.fixture(scope="module")
def app(databases, tmp_path_factory) -> Iterator[Flask]:
    yield from shared_database_app(databases, str(tmp_path_factory.mktemp("record-pdf")))


def token(client, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "record.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()


def squeeze(text: str) -> str:
    return "".join(text.split())


def long_reason(length: int) -> str:
    """Words of 7 letters and their number, so a cut or a lost line shows: "Reason1 Reason2 ..."."""
    words, n = [], 1
    while len(" ".join(words)) < length:
        words.append(f"Reason{n}")
        n += 1
    return " ".join(words)[:length].rstrip()


def draft(app, quantity: int) -> str:
    with app.app_context():
        batch = batches.create_batch(
            user("tina"),
            formula="LDN-CAP",
            strength_mg=1.5,
            quantity=quantity,
            api_lot=app.config["TEST_LOTS"]["api"],
        )
        db.session.commit()
        return batch.lot_number


def test_a_record_with_long_reasons_and_1000_weights_renders_them_all(app, tmp_path):
    client = app.test_client()
    tina, lots = token(client, "tina"), app.config["TEST_LOTS"]
    lot = draft(app, 1000)
    with app.app_context():
        calc = batches.get_batch(lot).calculation
    reason = long_reason(2000)
    component = client.post(
        f"/api/v1/batches/{lot}/components",
        json={
            "barcode": lots["api"],
            "quantity_mg": calc["api_mg"] * 1.5,
            "balance": "XS205",
            "deviation_reason": reason,
        },
        headers=tina,
    )
    assert component.status_code in (200, 201), component.get_json()
    weights = [225.0] * 999 + [226.789]
    check = client.post(f"/api/v1/batches/{lot}/weight-check", json={"weights_mg": weights}, headers=tina)
    assert check.status_code in (200, 201), check.get_json()

    answer = client.get(f"/api/v1/batches/{lot}/record.pdf", headers=token(client, "ivan"))

    assert answer.status_code == 200
    text = pdf_text(answer.data, tmp_path)
    # The components table alone (the deviations list below repeats the reason): the reason's
    # cell runs over pages beside the other columns, so its words are read in order.
    table = text.split("Components, weighing and verification", 1)[1].split("In-process checks", 1)[0]
    assert re.findall(r"Reason\d+", table) == reason.split()
    weights_note = squeeze(text.split("Weights (", 1)[1])
    assert weights_note.count("225,") >= 999
    assert "226.789" in weights_note
