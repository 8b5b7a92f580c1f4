"""E-mail alerts in the outbox: written with their cause, once per cause and person, only to
the people who chose the kind and gave an e-mail address."""

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask, current_app

from qa_app.errors import InvalidInput
from qa_app.extensions import db
from qa_app.models import Alert, AuditEvent, UserAlert
from qa_app.services import alerts, batches, clock, results
from tests.builders import user
from tests.services.test_excursions import power_cut, rows, stored_batch, unit_excursions
from tests.services.test_results import quarantined_batch, shared_database_app


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    """rob and ada receive every kind; tina chose oos but gave no e-mail; ivan chose nothing."""
    for app in shared_database_app(databases, str(tmp_path_factory.mktemp("alerts-instance"))):
        with app.app_context():
            ada = user("ada")
            alerts.set_alerts(ada, "rob", "rob@pharmacy.example", list(alerts.ALERT_KINDS))
            alerts.set_alerts(ada, "ada", "ada@pharmacy.example", list(alerts.ALERT_KINDS))
            alerts.set_alerts(ada, "ivan", "ivan@pharmacy.example", [])
            db.session.add(UserAlert(user_id=user("tina").id, kind="oos"))  # chosen, but no address
            db.session.commit()
        yield app


@pytest.fixture
def ctx(shared_app):
    with shared_app.app_context():
        yield


def outbox(cause: str) -> list[tuple[str, str]]:
    """(e-mail address, kind) of the alerts written for ``cause``."""
    stmt = sa.select(Alert.email, Alert.kind).where(Alert.cause == cause).order_by(Alert.email)
    return [tuple(row) for row in db.session.execute(stmt)]


def test_a_cause_alerts_each_person_who_chose_the_kind_once(ctx):
    for _ in range(3):
        alerts.raise_alert(
            "trend_signal", "trend:assay:7", "Assay trend", "Seven rising points.", "/trends/assay"
        )
        db.session.commit()
    assert outbox("trend:assay:7") == [
        ("ada@pharmacy.example", "trend_signal"),
        ("rob@pharmacy.example", "trend_signal"),
    ]
    alert = db.session.scalar(sa.select(Alert).where(Alert.cause == "trend:assay:7").limit(1))
    assert (alert.status, alert.attempts) == ("pending", 0)
    assert alert.link == "http://127.0.0.1:5000/trends/assay"


def test_nobody_without_an_address_or_the_kind_is_alerted(ctx):
    alerts.raise_alert("oos", "result:test-only", "OOS", "A failing result.", "/batches/X")
    db.session.commit()
    emails = [email for email, _kind in outbox("result:test-only")]
    assert emails == ["ada@pharmacy.example", "rob@pharmacy.example"]  # not tina (no address), not ivan


def test_a_deactivated_person_is_not_alerted(ctx):
    alerts.set_alerts(user("ada"), "ivan", "ivan@pharmacy.example", ["lot_expiring"])
    user("ivan").active = False
    db.session.commit()
    alerts.raise_alert("lot_expiring", "lot:TEST:2030-01-01", "Expiring", "A lot expires.", "/lots/TEST")
    db.session.commit()
    assert "ivan@pharmacy.example" not in [email for email, _ in outbox("lot:TEST:2030-01-01")]
    user("ivan").active = True
    alerts.set_alerts(user("ada"), "ivan", "ivan@pharmacy.example", [])


def test_an_out_of_specification_result_writes_its_alert_with_it(ctx):
    lot = quarantined_batch()
    result = results.record_result(user("tina"), lot, test="assay", value=89.94)
    assert result.status == "fail"
    assert outbox(f"result:{result.id}") == [("ada@pharmacy.example", "oos"), ("rob@pharmacy.example", "oos")]
    alert = db.session.scalar(sa.select(Alert).where(Alert.cause == f"result:{result.id}").limit(1))
    assert alert.subject == f"Out of specification: Assay of batch {lot}"
    assert f"Assay result {result.id} of batch {lot} is out of specification: 89.94 % LC" in alert.body
    assert "below the lower limit 90.0 % LC" in alert.body
    assert alert.link == f"http://127.0.0.1:5000/batches/{lot}"


def test_a_failing_result_rolled_back_leaves_no_alert(ctx):
    lot = quarantined_batch()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Alert))
    batch = batches.get_batch(lot, for_update=True)
    result = results.add_result(user("tina"), batch, test="assay", value=80.0)
    assert len(outbox(f"result:{result.id}")) == 2  # written in the same transaction ...
    db.session.rollback()  # ... and gone with it
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alert)) == before


def test_a_passing_or_refused_result_writes_no_alert(ctx):
    lot = quarantined_batch()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Alert))
    results.record_result(user("tina"), lot, test="assay", value=99.5)
    with pytest.raises(InvalidInput):
        results.record_result(user("tina"), lot, test="assay", value="not a number")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Alert)) == before


def test_an_excursion_needing_a_disposition_alerts_once(ctx):
    end = clock.utcnow().replace(second=0, microsecond=0)
    end = end.replace(minute=end.minute - end.minute % 5)
    start = end - timedelta(days=2)
    stored_batch("FRIDGE-1", start)
    cut = power_cut(start, end - timedelta(hours=10), end - timedelta(hours=6), 18.0)
    from qa_app.services import readings

    readings.ingest("FRIDGE-1", rows(start, 2 * 288, cut), source="api", actor=user("tina"))
    [found] = [e for e in unit_excursions("FRIDGE-1") if e.needs_disposition]
    assert outbox(f"excursion:{found.id}") == [
        ("ada@pharmacy.example", "excursion"),
        ("rob@pharmacy.example", "excursion"),
    ]
    alert = db.session.scalar(sa.select(Alert).where(Alert.cause == f"excursion:{found.id}").limit(1))
    assert "needs a disposition" in alert.subject
    assert "highest 18.0 °C" in alert.body and "240 minutes" in alert.body
    assert alert.link == f"http://127.0.0.1:5000/storage/excursions/{found.id}"

    readings.ingest("FRIDGE-1", rows(start, 2 * 288, cut), source="api", actor=user("tina"))
    assert len(outbox(f"excursion:{found.id}")) == 2


def test_the_daily_scan_finds_expiring_lots_and_batches_near_their_bud_once_a_day(ctx):
    api_lot = current_app.config["TEST_LOTS"]["api"]  # expires on 2028-06-30
    day = date(2028, 6, 20)
    written = alerts.daily_scan(day)
    assert written >= 2
    cause = f"lot:{api_lot}:2028-06-30"
    assert outbox(cause) == [
        ("ada@pharmacy.example", "lot_expiring"),
        ("rob@pharmacy.example", "lot_expiring"),
    ]
    alert = db.session.scalar(sa.select(Alert).where(Alert.cause == cause).limit(1))
    assert alert.subject == f"Lot {api_lot} (Naltrexone hydrochloride USP) expires on 2028-06-30"
    assert "in 10 days" in alert.body
    assert alert.link == f"http://127.0.0.1:5000/lots/{api_lot}"

    assert alerts.daily_scan(day) is None  # once a day
    scans = db.session.scalars(
        sa.select(AuditEvent.entity_key).where(AuditEvent.action == "alerts.daily_scan")
    ).all()
    assert scans.count("2028-06-20") == 1
    assert alerts.daily_scan(day + timedelta(days=1)) == 0  # the next day: nothing new to say
    assert len(outbox(cause)) == 2


def test_the_daily_scan_alerts_a_batch_within_14_days_of_its_bud(ctx):
    lot = quarantined_batch()
    bud = batches.get_batch(lot).bud
    assert alerts.daily_scan(bud - timedelta(days=15)) is not None
    assert outbox(f"batch:{lot}:{bud.isoformat()}") == []  # 15 days before: not yet
    alerts.daily_scan(bud - timedelta(days=14))
    assert len(outbox(f"batch:{lot}:{bud.isoformat()}")) == 2
    alert = db.session.scalar(
        sa.select(Alert).where(Alert.cause == f"batch:{lot}:{bud.isoformat()}").limit(1)
    )
    assert alert.subject == f"Batch {lot} reaches its beyond-use date on {bud.isoformat()}"
    assert "in 14 days" in alert.body and "not released (quarantine)" in alert.body


def test_choosing_alerts_names_the_wrong_field(ctx):
    with pytest.raises(InvalidInput) as refused:
        alerts.set_alerts(user("rob"), "rob", "rob at pharmacy", ["oos"])
    assert list(refused.value.fields) == ["email"]
    with pytest.raises(InvalidInput) as refused:
        alerts.set_alerts(user("rob"), "rob", "rob@pharmacy.example", ["oos", "weather"])
    assert refused.value.fields == {
        "alerts": "Unknown alert kind weather; use excursion, oos, trend_signal, lot_expiring, batch_near_bud."
    }
    with pytest.raises(InvalidInput) as refused:
        alerts.set_alerts(user("rob"), "rob", "", ["oos"])
    assert list(refused.value.fields) == ["email"]
