"""Two reviewers deciding the same excursion at the same moment: one wins, the other gets 409.

The workers are released together by a barrier (see test_concurrency.py), each through its own
test client, on the suite's database: SQLite files, or PostgreSQL when TEST_DATABASE_URL is set.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import AuditEvent, Disposition, Excursion
from qa_app.services import audit, batches, clock, readings
from tests.builders import setup_master_data, user
from tests.conftest import PASSWORD, make_user
from tests.services.test_excursions import stored_batch
from tests.system.test_concurrency import together

STEP = timedelta(minutes=5)


@pytest.fixture
def held(app, users) -> tuple[str, int]:
    """An oral liquid in FRIDGE-1 held by an hour at 18 °C that ended yesterday: (lot, excursion id).
    A second reviewer, rita, joins rob."""
    make_user(app, "rita", ("reviewer",), "Rita Reviewer, PharmD")
    with app.app_context():
        app.config["TEST_LOTS"] = setup_master_data(clock.today())
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
        lot = stored_batch("FRIDGE-1", start - timedelta(hours=1))
        temps = [5.0] * 12 + [18.0] * 12 + [5.0] * 12
        rows = [readings.RowInput(i + 1, (start + i * STEP).isoformat(), t) for i, t in enumerate(temps)]
        readings.ingest("FRIDGE-1", rows, source="csv", actor=user("tina"))
        assert batches.get_batch(lot).status == "on_hold"
        return lot, db.session.scalar(sa.select(Excursion.id))


def actions(app, key: str) -> Counter:
    with app.app_context():
        return Counter(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_key == key)))


def test_two_reviewers_acknowledging_one_excursion_at_once_one_wins(app, auth, held):
    _lot, excursion = held
    headers = [auth.token("rob"), auth.token("rita")]

    def acknowledge(i: int) -> int:
        response = app.test_client().post(
            f"/api/v1/excursions/{excursion}/acknowledge",
            json={"comment": f"Seen by reviewer {i}: door closed, unit back in range."},
            headers=headers[i],
        )
        return response.status_code

    outcomes = together(2, acknowledge)
    assert sorted(outcomes) == [200, 409]
    assert actions(app, str(excursion))["excursion.acknowledged"] == 1
    with app.app_context():
        assert audit.verify_chain().ok


@pytest.mark.parametrize("decisions", [("acceptable", "acceptable"), ("acceptable", "reject")])
def test_two_dispositions_for_one_batch_at_once_one_wins(app, auth, held, decisions):
    lot, excursion = held
    people = ["rob", "rita"]
    headers = [auth.token(name) for name in people]

    def decide(i: int) -> tuple[int, str]:
        body = {
            "excursion_id": excursion,
            "decision": decisions[i],
            "comment": f"Decision {i}: 18 °C for one hour, 24-hour MKT 6.9 °C.",
            "signature": {"username": people[i], "password": PASSWORD, "meaning": "reviewed"},
        }
        response = app.test_client().post(
            f"/api/v1/batches/{lot}/dispositions", json=body, headers=headers[i]
        )
        return response.status_code, decisions[i]

    outcomes = together(2, decide)
    assert sorted(status for status, _ in outcomes) == [201, 409]
    [winner] = [decision for status, decision in outcomes if status == 201]
    with app.app_context():
        recorded = list(db.session.scalars(sa.select(Disposition)))
        assert [d.decision for d in recorded] == [winner]
        assert batches.get_batch(lot).status == ("quarantine" if winner == "acceptable" else "rejected")
        assert audit.verify_chain().ok
    assert actions(app, lot)["batch.disposition_recorded"] == 1
