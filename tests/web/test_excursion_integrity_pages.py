"""What a person sees of the excursion rules: a data gap on the excursion page, an excursion kept
whole by late readings, "dispositioned" once decided, and only fitting units to store a batch in."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import Excursion
from qa_app.services import batches, clock, readings, storage
from tests.builders import setup_master_data, user
from tests.services.test_excursions import now_5min, power_cut, rows, stored_batch
from tests.web.pages import field_error, messages, sign_in, text
from tests.web.test_batch_pages import section, words
from tests.web.test_excursion_pages import disposition_form, in_app, local

HOUR = timedelta(hours=1)
STEP = timedelta(minutes=5)


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    with app.app_context():
        app.config["TEST_LOTS"] = setup_master_data(clock.today())
        return app.config["TEST_LOTS"]


@pytest.fixture
def power_cut_in_the_fridge(app, lots):
    """An oral liquid in FRIDGE-1 for two days at 5 °C, with four hours at 18 °C ending six hours
    ago: (lot number, excursion id, the excursion's start and end)."""
    end = now_5min()
    start = end - timedelta(days=2)
    cut_from, cut_to = end - 10 * HOUR, end - 6 * HOUR

    def build():
        lot = stored_batch("FRIDGE-1", start)
        readings.ingest(
            "FRIDGE-1",
            rows(start, 576, power_cut(start, cut_from, cut_to, 18.0)),
            source="api",
            actor=user("tina"),
        )
        return lot, only_excursion_id()

    lot, excursion = in_app(app, build)
    return lot, excursion, cut_from, cut_to


def heading(page: str) -> str:
    return words(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1))


def row_of(page: str, title: str) -> str:
    match = re.search(rf"<tr><th>{re.escape(title)}</th><td[^>]*>(.*?)</td></tr>", page, re.S)
    assert match, f"no row {title!r}"
    return words(match.group(1))


def ingest(code: str, start, temps: list[float]) -> None:
    """Readings every five minutes from ``start``."""
    listed = [readings.RowInput(i + 1, (start + i * STEP).isoformat(), t) for i, t in enumerate(temps)]
    readings.ingest(code, listed, source="csv", actor=user("tina"))


def only_excursion_id() -> int:
    return db.session.scalar(sa.select(Excursion.id))


def test_the_excursion_page_says_how_long_the_unit_was_unobserved(app, client, lots):
    start = now_5min() - 16 * HOUR

    def build():
        ingest("FRIDGE-1", start, [5.0] * 24 + [12.0, 13.0, 14.0])  # 02:00–02:10 at 12–14 °C
        ingest("FRIDGE-1", start + 12 * HOUR + 2 * STEP, [5.0] * 12)  # nothing until 12:10
        return only_excursion_id()

    excursion = in_app(app, build)
    sign_in(client, "ivan")
    page = text(client.get(f"/storage/excursions/{excursion}"))
    assert heading(page) == f"Excursion {excursion} in FRIDGE-1 needs disposition data gap"
    assert row_of(page, "Unobserved") == (
        "no readings for 10 h 00 min during it or next to it (a data gap is not evidence)"
    )
    assert "no readings for 600 min during it or next to it: a data gap is not evidence" in row_of(
        page, "Classification"
    )


def test_late_readings_leave_the_held_excursion_on_its_page(app, client, lots):
    start = now_5min() - 8 * HOUR

    def build():
        lot = stored_batch("FRIDGE-1", start - HOUR)
        ingest("FRIDGE-1", start, [5.0] * 12)
        readings.ingest(
            "FRIDGE-1",
            [
                readings.RowInput(1, (start + HOUR).isoformat(), 12.0),
                readings.RowInput(2, (start + 1.5 * HOUR).isoformat(), 12.0),
            ],
            source="manual",
            actor=user("tina"),
        )
        ingest("FRIDGE-1", start + HOUR + STEP, [5.0] * 5)
        ingest("FRIDGE-1", start + 1.5 * HOUR + STEP, [5.0] * 7)
        return lot, only_excursion_id()

    lot, excursion = in_app(app, build)
    sign_in(client, "ivan")
    page = text(client.get(f"/storage/excursions/{excursion}"))
    assert heading(page) == f"Excursion {excursion} in FRIDGE-1 needs disposition"
    assert "withdrawn" not in heading(page)
    assert "late data never lift a hold" in row_of(page, "Classification")
    assert f"{lot} On hold Held until a reviewer records a disposition." in section(page, "batches")


def test_a_signed_disposition_makes_the_excursion_read_dispositioned(app, client, power_cut_in_the_fridge):
    lot, excursion, *_ = power_cut_in_the_fridge
    sign_in(client, "rob")
    response = client.post(f"/storage/excursions/{excursion}/dispositions/{lot}", data=disposition_form(lot))
    assert response.status_code == 302
    page = text(client.get(f"/storage/excursions/{excursion}"))
    assert heading(page) == f"Excursion {excursion} in FRIDGE-1 dispositioned"
    assert row_of(page, "Classification").startswith("dispositioned — ")
    listed = text(client.get("/storage/excursions?storage_unit=FRIDGE-1"))
    assert "dispositioned" in listed and "needs disposition" not in listed
    unit = text(client.get("/storage/FRIDGE-1"))
    assert "dispositioned" in unit and "needs disposition" not in unit
    home = section(text(client.get("/")), "excursions-h")
    assert f"Excursion {excursion} in FRIDGE-1" in home and "dispositioned" in home
    assert "needs disposition" not in home


def test_a_move_form_offers_only_fitting_units_and_a_back_dated_move_is_refused(
    app, client, power_cut_in_the_fridge
):
    lot, excursion, cut_from, _ = power_cut_in_the_fridge
    in_app(
        app,
        lambda: storage.create_unit(
            user("ada"), code="FRIDGE-2", name="Second refrigerator", condition="refrigerated"
        ),
    )
    sign_in(client, "tina")
    page = text(client.get(f"/batches/{lot}"))
    move_form = re.search(r'<select[^>]*name="storage_unit"[^>]*>(.*?)</select>', page, re.S).group(1)
    offered = re.findall(r'<option value="([^"]*)"', move_form)
    assert offered == ["", "FRIDGE-1", "FRIDGE-2"]  # no room shelf for a refrigerated liquid

    early = client.post(
        f"/batches/{lot}/move",
        data={"storage_unit": "FRIDGE-2", "at": local(app, cut_from - HOUR, "%Y-%m-%dT%H:%M")},
    )
    assert early.status_code == 409
    refused = text(early)
    assert messages(refused)[0].startswith(f"A move of {lot} cannot be dated before excursion {excursion}")
    assert field_error(refused, "at") == f"Not before {cut_from.isoformat()}."
    assert in_app(app, lambda: batches.get_batch(lot).storage_unit.code) == "FRIDGE-1"

    shelf = client.post(f"/batches/{lot}/move", data={"storage_unit": "SHELF-1"})
    assert shelf.status_code == 400
    assert field_error(text(shelf), "storage_unit") == (
        "Choose a refrigerated unit: the formula's storage is refrigerated."
    )


def test_the_unit_page_reports_the_gaps_in_its_window_mkt(app, client, lots):
    start = now_5min() - 16 * HOUR
    in_app(app, ingest, "FRIDGE-1", start, [5.0] * 24)  # 00:00–01:55
    in_app(app, ingest, "FRIDGE-1", start + 12 * HOUR, [5.0] * 24)  # nothing from 01:55 to 12:00
    sign_in(client, "ivan")
    page = text(client.get("/storage/FRIDGE-1"))
    gaps = re.search(r'<span class="mark-warn" id="condition-mkt-gaps">(.*?)</span>', page, re.S)
    assert gaps, "no gap beside the 24-hour MKT"
    assert words(gaps.group(1)) == "with 1 data gap: no readings for 10 h 05 min, not covered by this MKT"
