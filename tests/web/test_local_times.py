"""Local times on daylight-saving days, and storage unit codes that are safe in a URL.

In America/New_York the clocks jump from 02:00 to 03:00 on 2026-03-08 (02:30 never happens)
and go back from 02:00 to 01:00 on 2026-11-01 (01:30 happens twice).
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import Reading, StorageUnit
from qa_app.reports.chart import time_ticks
from qa_app.services import clock
from tests.builders import setup_master_data
from tests.web.pages import field_error, messages, sign_in, text

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def new_york(app, users):
    app.config["QA_TIMEZONE"] = "America/New_York"
    with app.app_context():
        app.config["TEST_LOTS"] = setup_master_data(clock.today())
    return app


def readings_of(app, unit: str) -> list[datetime]:
    with app.app_context():
        stmt = (
            sa.select(Reading.at)
            .join(StorageUnit, Reading.storage_unit_id == StorageUnit.id)
            .where(StorageUnit.code == unit)
        )
        return list(db.session.scalars(stmt))


def manual_reading(client, at: str):
    return client.post("/storage/FRIDGE-1/readings/manual", data={"temperature_c": "5.0", "at": at})


def test_a_time_the_clocks_skipped_is_refused_beside_its_field(new_york, client):
    sign_in(client, "tina")
    response = manual_reading(client, "2026-03-08T02:30")
    assert response.status_code == 400
    assert field_error(text(response), "at") == (
        "2026-03-08 02:30 does not exist in America/New_York: the clocks jumped an hour forward "
        "(daylight saving time began). Enter the time the clock showed after the change, e.g. 03:30."
    )
    assert readings_of(new_york, "FRIDGE-1") == []


def test_a_time_that_happened_twice_is_refused_beside_its_field(new_york, client):
    sign_in(client, "tina")
    response = manual_reading(client, "2026-11-01T01:30")
    assert response.status_code == 400
    assert field_error(text(response), "at") == (
        "2026-11-01 01:30 happened twice in America/New_York: the clocks went an hour back "
        "(daylight saving time ended). Enter a time outside 01:00–01:59, or send it through the "
        "API with its UTC offset."
    )
    assert readings_of(new_york, "FRIDGE-1") == []


def test_the_hours_around_the_changes_are_taken_at_their_real_instants(new_york, client):
    sign_in(client, "tina")
    for typed in ("2026-03-08T01:59", "2026-03-08T03:00", "2026-11-01T00:59", "2026-11-01T02:00"):
        response = manual_reading(client, typed)
        assert response.status_code == 302, (typed, messages(text(response)))
    stored = sorted(
        moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for moment in readings_of(new_york, "FRIDGE-1")
    )
    assert stored == ["2026-03-08 06:59", "2026-03-08 07:00", "2026-11-01 04:59", "2026-11-01 07:00"]


def test_a_backdated_batch_start_in_the_skipped_hour_is_refused(new_york, client):
    sign_in(client, "tina")
    response = client.post(
        "/batches/new",
        data={
            "formula": "LDN-CAP",
            "strength_mg": "1.5",
            "quantity": "100",
            "compounded_at": "2026-03-08T02:15",
        },
    )
    assert response.status_code == 400
    assert field_error(text(response), "compounded_at").startswith("2026-03-08 02:15 does not exist")


def labels(ticks) -> list[str]:
    return [label for _moment, label in ticks]


def test_hourly_ticks_on_the_spring_forward_day_skip_the_missing_hour():
    start = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST; 6 real hours: hourly ticks
    ticks = time_ticks(start, start + timedelta(hours=10), NEW_YORK)
    assert labels(ticks)[:7] == ["08 Mar", "01:00", "03:00", "04:00", "05:00", "06:00", "07:00"]
    instants = [moment.astimezone(UTC).strftime("%H:%M") for moment, _label in ticks]
    assert instants[:7] == ["05:00", "06:00", "07:00", "08:00", "09:00", "10:00", "11:00"]
    assert "02:00" not in labels(ticks)


def test_hourly_ticks_on_the_fall_back_day_show_the_repeated_hour_twice_with_its_zone():
    start = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    ticks = time_ticks(start, start + timedelta(hours=10), NEW_YORK)
    assert labels(ticks)[:7] == ["01 Nov", "01:00 EDT", "01:00 EST", "02:00", "03:00", "04:00", "05:00"]
    instants = [moment.astimezone(UTC).strftime("%H:%M") for moment, _label in ticks]
    assert instants[:7] == ["04:00", "05:00", "06:00", "07:00", "08:00", "09:00", "10:00"]


def test_two_and_three_hourly_ticks_on_both_change_days_fall_on_real_local_hours():
    spring = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    ticks = time_ticks(spring, spring + timedelta(hours=24), NEW_YORK)  # every 2 hours
    assert labels(ticks)[:4] == ["08 Mar", "04:00", "06:00", "08:00"]
    assert [m.astimezone(UTC).hour for m, _ in ticks][:4] == [5, 8, 10, 12]
    ticks = time_ticks(spring, spring + timedelta(hours=30), NEW_YORK)  # every 3 hours
    assert labels(ticks)[:4] == ["08 Mar", "03:00", "06:00", "09:00"]
    assert [m.astimezone(UTC).hour for m, _ in ticks][:4] == [5, 7, 10, 13]
    autumn = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    ticks = time_ticks(autumn, autumn + timedelta(hours=30), NEW_YORK)
    assert labels(ticks)[:4] == ["01 Nov", "03:00", "06:00", "09:00"]
    assert [m.astimezone(UTC).hour for m, _ in ticks][:4] == [4, 8, 11, 14]


def test_daily_ticks_across_the_fall_back_day_stay_on_local_midnight():
    start = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)
    ticks = time_ticks(start, start + timedelta(days=10), NEW_YORK)
    assert labels(ticks)[:4] == ["31 Oct", "01 Nov", "02 Nov", "03 Nov"]
    assert [m.astimezone(UTC).hour for m, _ in ticks][:4] == [4, 4, 5, 5]


BAD_CODES = ["FRIDGE 1", "FRIDGE/1", "../ADMIN", "FRIDGE?1", "KÜHL-1", "FRIDGE#1", "A.B"]
CODE_FIX = "Use only letters A–Z, digits, hyphens (-) and underscores (_), e.g. FRIDGE-1."


@pytest.mark.parametrize("code", BAD_CODES)
def test_a_storage_unit_code_with_other_characters_is_400_naming_code_on_the_api(
    new_york, client, auth, code
):
    headers = auth.token("ada")
    response = client.post(
        "/api/v1/storage-units",
        json={"code": code, "name": "Fridge", "condition": "refrigerated"},
        headers=headers,
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"code": CODE_FIX}
    with new_york.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(StorageUnit)) == 2
        )  # FRIDGE-1, SHELF-1


def test_a_storage_unit_code_with_a_slash_is_refused_on_the_page(client, new_york):
    sign_in(client, "ada")
    response = client.post(
        "/storage/new",
        data={"code": "fridge/2", "name": "Fridge", "condition": "refrigerated", "alarm_delay_minutes": "30"},
    )
    assert response.status_code == 400
    assert field_error(text(response), "code") == CODE_FIX


def test_a_code_of_letters_digits_hyphens_and_underscores_is_taken(client, auth, new_york):
    response = client.post(
        "/api/v1/storage-units",
        json={"code": "walk_in-2", "name": "Walk-in", "condition": "refrigerated"},
        headers=auth.token("ada"),
    )
    assert response.status_code == 201
    assert response.get_json()["code"] == "WALK_IN-2"
