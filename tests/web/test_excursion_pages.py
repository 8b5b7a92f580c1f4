"""The excursion pages: what happened and why it matters, the reviewer's acknowledgement, and a
signed disposition for each batch it holds; the reviewer's home lists what waits."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.extensions import db
from qa_app.models import Batch, Disposition, Excursion
from qa_app.services import batches, clock, readings
from tests.builders import setup_master_data, user
from tests.services.test_excursions import now_5min, power_cut, rows, stored_batch
from tests.web.pages import field_error, messages, sign_in, text
from tests.web.test_batch_pages import section, section_html, words

COMMENT = "Door found ajar at 07:40 and closed; back in range by 08:10."
JUSTIFICATION = "24-h MKT 8.98 °C; stability data cover 18 °C for 4 h."


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    with app.app_context():
        app.config["TEST_LOTS"] = setup_master_data(clock.today())
        return app.config["TEST_LOTS"]


def in_app(app: Flask, action, *args, **kwargs):
    with app.app_context():
        return action(*args, **kwargs)


def local(app: Flask, moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(ZoneInfo(app.config["QA_TIMEZONE"])).strftime(fmt)


@pytest.fixture
def power_cut_in_the_fridge(app, lots):
    """A batch in FRIDGE-1 for two days of 5-minute readings at 5 °C, with four hours at 18 °C
    ending six hours ago. Returns (lot number, excursion id, the excursion's start and end)."""
    end = now_5min()
    start = end - timedelta(days=2)
    cut_from, cut_to = end - timedelta(hours=10), end - timedelta(hours=6)

    def build():
        lot = stored_batch("FRIDGE-1", start)
        readings.ingest(
            "FRIDGE-1",
            rows(start, 576, power_cut(start, cut_from, cut_to, 18.0)),
            source="api",
            actor=user("tina"),
        )
        excursion = db.session.scalar(sa.select(Excursion.id))
        return lot, excursion

    lot, excursion = in_app(app, build)
    return lot, excursion, cut_from, cut_to


def batch_status(app: Flask, lot: str) -> str:
    return in_app(app, lambda: batches.get_batch(lot).status)


def dispositions(app: Flask) -> int:
    return in_app(app, lambda: db.session.scalar(sa.select(sa.func.count()).select_from(Disposition)))


def record_row(page: str, heading: str) -> str:
    match = re.search(rf"<tr><th>{re.escape(heading)}</th><td[^>]*>(.*?)</td></tr>", page, re.S)
    assert match, f"no row {heading!r}"
    return words(match.group(1))


def disposition_form(lot: str, password: str = "correct-horse-battery", **changes) -> dict[str, str]:
    fields = {
        "decision": "acceptable",
        "comment": JUSTIFICATION,
        "sig_username": "rob",
        "sig_password": password,
        **changes,
    }
    return {f"disp-{lot}-{name}": value for name, value in fields.items()}


def test_the_excursion_page_gives_its_numbers_and_why_it_needs_a_disposition(
    app, client, power_cut_in_the_fridge
):
    lot, excursion, cut_from, cut_to = power_cut_in_the_fridge
    sign_in(client, "ivan")
    page = text(client.get(f"/storage/excursions/{excursion}"))
    assert words(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)) == (
        f"Excursion {excursion} in FRIDGE-1 needs disposition"
    )
    assert record_row(page, "Start") == local(app, cut_from, "%Y-%m-%d %H:%M:%S %Z")
    assert record_row(page, "End") == local(app, cut_to, "%Y-%m-%d %H:%M:%S %Z")
    assert record_row(page, "Duration") == "4 h 00 min"
    assert record_row(page, "Lowest") == "18.0 °C"
    assert record_row(page, "Highest") == "18.0 °C"
    # 24 hours to the end: 241 readings at 5 °C and 48 at 18 °C, equally spaced:
    # 10 000 / −ln((241·e^(−10 000/278.15) + 48·e^(−10 000/291.15)) / 289) − 273.15 = 8.98 °C
    assert record_row(page, "MKT of the window holding it") == "8.98 °C"
    assert record_row(page, "Classification") == (
        "needs disposition — Needs disposition: it reached 18 °C, above 15 °C; the 24-hour MKT was 8.98 °C, "
        "above 8 °C (allowance for refrigerated: "
        "readings within 0–15 °C, and a 24-hour MKT of at most 8 °C). Every unreleased batch that was in "
        "FRIDGE-1 during it is on hold until a reviewer records a signed disposition for it."
    )
    chart = section_html(page, "numbers")
    assert 'aria-labelledby="excursion-chart-title excursion-chart-desc"' in chart
    assert 'class="excursion excursion-needs_disposition"' in chart
    assert f"{lot} On hold Held until a reviewer records a disposition." in section(page, "batches")
    # the inspector reads, but finds no form to act with
    assert "Open: waiting for a reviewer's acknowledgement." in section(page, "acknowledgement")
    assert 'id="acknowledge"' not in page
    assert f'id="disposition-{lot}"' not in page


def test_the_acknowledgement_shows_the_reviewer_and_the_comment(app, client, power_cut_in_the_fridge):
    _lot, excursion, *_ = power_cut_in_the_fridge
    sign_in(client, "rob")
    home = text(client.get("/"))
    assert f"Excursion {excursion} in FRIDGE-1" in section(home, "excursions-h")

    response = client.post(
        f"/storage/excursions/{excursion}/acknowledge", data={"comment": COMMENT}, follow_redirects=True
    )
    page = text(response)
    assert messages(page) == [f"Excursion {excursion} acknowledged."]
    assert section(page, "acknowledgement").startswith(
        "Acknowledgement Acknowledged by Rob Reviewer, PharmD (rob) at "
    )
    assert words(
        re.search(r'<blockquote[^>]*id="acknowledgement-comment">(.*?)</blockquote>', page, re.S)[1]
    ) == (COMMENT)
    assert 'id="acknowledge"' not in page
    assert (
        section(text(client.get("/")), "excursions-h")
        == "Open excursions (0) No excursion waits for acknowledgement."
    )
    open_list = text(client.get("/storage/excursions?open=open"))
    assert "No excursion matches these filters." in open_list
    acknowledged = text(client.get("/storage/excursions?open=acknowledged&storage_unit=FRIDGE-1"))
    assert f'<a href="/storage/excursions/{excursion}">{excursion}</a>' in acknowledged
    assert "rob, " in acknowledged

    again = client.post(f"/storage/excursions/{excursion}/acknowledge", data={"comment": "twice"})
    assert again.status_code == 409
    assert messages(text(again)) == [f"Excursion {excursion} was acknowledged already by rob."]


def test_an_acknowledgement_needs_a_comment(client, power_cut_in_the_fridge):
    _lot, excursion, *_ = power_cut_in_the_fridge
    sign_in(client, "rob")
    response = client.post(f"/storage/excursions/{excursion}/acknowledge", data={"comment": "  "})
    assert response.status_code == 400
    assert field_error(text(response), "comment") == "Say what was found or done."


def test_a_comment_with_markup_is_shown_as_text(client, power_cut_in_the_fridge):
    _lot, excursion, *_ = power_cut_in_the_fridge
    sign_in(client, "rob")
    client.post(
        f"/storage/excursions/{excursion}/acknowledge",
        data={"comment": '<script>alert("x")</script> door ajar'},
    )
    page = text(client.get(f"/storage/excursions/{excursion}"))
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; door ajar" in page


def test_a_disposition_with_a_wrong_password_is_refused_and_nothing_recorded(
    app, client, power_cut_in_the_fridge
):
    lot, excursion, *_ = power_cut_in_the_fridge
    sign_in(client, "rob")
    response = client.post(
        f"/storage/excursions/{excursion}/dispositions/{lot}", data=disposition_form(lot, password="not-mine")
    )
    assert response.status_code == 401
    page = text(response)
    assert field_error(page, f"disp-{lot}-sig_password") == "Wrong password; enter your own password again."
    assert JUSTIFICATION in page  # what was typed is kept
    assert dispositions(app) == 0
    assert batch_status(app, lot) == "on_hold"


def test_an_acceptable_disposition_lifts_the_hold(app, client, power_cut_in_the_fridge):
    lot, excursion, *_ = power_cut_in_the_fridge
    sign_in(client, "rob")
    home = text(client.get("/"))
    assert section(home, "dispositions-h").startswith(
        f"Batches waiting for an excursion disposition (1) {lot} (on hold) — excursion {excursion} in FRIDGE-1"
    )

    response = client.post(
        f"/storage/excursions/{excursion}/dispositions/{lot}",
        data=disposition_form(lot),
        follow_redirects=True,
    )
    page = text(response)
    assert messages(page) == [
        f"Disposition for {lot} recorded and signed: acceptable; the hold for this excursion is lifted."
    ]
    shown = section(page, "batches")
    assert f"{lot} In quarantine Disposition: acceptable, signed by Rob Reviewer, PharmD (rob) at " in shown
    assert JUSTIFICATION in shown
    assert f'id="disposition-{lot}"' not in page
    assert batch_status(app, lot) == "quarantine"
    assert section(text(client.get("/")), "dispositions-h").endswith("No batch waits for a disposition.")

    record = text(client.get(f"/batches/{lot}"))
    assert f"Excursion {excursion} in FRIDGE-1" in section(record, "storage-h")
    assert "disposition acceptable by rob" in section(record, "storage-h")


def test_a_reject_disposition_rejects_the_batch(app, client, power_cut_in_the_fridge):
    lot, excursion, *_ = power_cut_in_the_fridge
    sign_in(client, "rob")
    response = client.post(
        f"/storage/excursions/{excursion}/dispositions/{lot}",
        data=disposition_form(lot, decision="reject", comment="18 °C for 4 h: no stability data"),
        follow_redirects=True,
    )
    assert messages(text(response)) == [
        f"Disposition for {lot} recorded and signed: reject; the batch is rejected."
    ]
    assert batch_status(app, lot) == "rejected"


def test_a_disposition_needs_a_decision_and_a_justification(app, client, power_cut_in_the_fridge):
    lot, excursion, *_ = power_cut_in_the_fridge
    sign_in(client, "rob")
    data = disposition_form(lot, comment="")
    del data[f"disp-{lot}-decision"]
    response = client.post(f"/storage/excursions/{excursion}/dispositions/{lot}", data=data)
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, f"disp-{lot}-decision") == "Choose acceptable or reject."
    assert field_error(page, f"disp-{lot}-comment") == (
        "Give the justification, e.g. the MKT and how long it lasted."
    )
    assert dispositions(app) == 0


def test_a_released_batch_is_listed_for_follow_up_without_a_form(app, client, lots):
    end = now_5min()
    start = end - timedelta(days=1)

    def build():
        lot = stored_batch("SHELF-1", start - timedelta(hours=1))
        # Released before the readings came in (set directly: the release path is not under test).
        db.session.execute(sa.update(Batch).where(Batch.lot_number == lot).values(status="released"))
        db.session.commit()
        warm = lambda moment: 42.0 if end - timedelta(hours=5) <= moment < end - timedelta(hours=2) else 22.0  # noqa: E731
        readings.ingest("SHELF-1", rows(start, 288, warm), source="csv", actor=user("tina"))
        return lot, db.session.scalar(sa.select(Excursion.id))

    lot, excursion = in_app(app, build)
    sign_in(client, "rob")
    page = text(client.get(f"/storage/excursions/{excursion}"))
    assert section(page, "batches") == (
        f"Batches in SHELF-1 during the excursion {lot} Released released: follow up "
        "Already released before a disposition could hold it: follow up (recall if needed)."
    )
    assert f'id="disposition-{lot}"' not in page
    assert "it reached 42 °C, above 40 °C" in record_row(page, "Classification")
    assert batch_status(app, lot) == "released"


def test_the_excursion_list_filters_by_unit(client, power_cut_in_the_fridge):
    _lot, excursion, *_ = power_cut_in_the_fridge
    sign_in(client, "tina")
    fridge = text(client.get("/storage/excursions?storage_unit=FRIDGE-1"))
    rows_shown = re.findall(r"<tr>\s*<td><a [^>]*>(\d+)</a></td>\s*<td><a [^>]*>([^<]+)</a></td>", fridge)
    assert rows_shown == [(str(excursion), "FRIDGE-1")]
    shelf = text(client.get("/storage/excursions?storage_unit=SHELF-1"))
    assert "No excursion matches these filters." in shelf
    assert client.get("/storage/excursions?open=maybe").status_code == 400
    assert client.get("/storage/excursions?storage_unit=NOPE").status_code == 404
    assert client.get("/storage/excursions/999999").status_code == 404


def test_a_technician_may_not_acknowledge_or_decide(client, power_cut_in_the_fridge):
    lot, excursion, *_ = power_cut_in_the_fridge
    sign_in(client, "tina")
    assert (
        client.post(f"/storage/excursions/{excursion}/acknowledge", data={"comment": "x"}).status_code == 403
    )
    response = client.post(f"/storage/excursions/{excursion}/dispositions/{lot}", data=disposition_form(lot))
    assert response.status_code == 403
