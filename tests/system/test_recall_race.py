"""Two reviewers recalling one lot at the same moment: one recall, one 409, nothing done twice.

Workers are threads, each sending its request through its own test client (its own session and
connection), released together by a barrier. On PostgreSQL the recall locks the lot row first,
so the second waits and then finds it recalled; on SQLite the write lock taken at BEGIN queues
them, with the same outcome.
"""

from collections import Counter

import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import AuditEvent, BatchDecision, Signature
from qa_app.services import batches, materials
from tests.conftest import PASSWORD
from tests.recalls import build
from tests.system.test_concurrency import together


def signed(username: str, reason: str) -> dict:
    return {
        "signature": {"username": username, "password": PASSWORD, "meaning": "recalled"},
        "reason": reason,
    }


def events(entity_type: str) -> Counter:
    return Counter(
        db.session.scalars(
            sa.select(AuditEvent.action + " " + AuditEvent.entity_key).where(
                AuditEvent.entity_type == entity_type
            )
        )
    )


def test_two_reviewers_recalling_one_lot_at_once_recall_it_once(app, auth, users):
    s = build(app)
    tokens = {name: auth.token(name) for name in ("rob", "rita")}
    names = ("rob", "rita")

    def recall(i: int) -> tuple[int, dict]:
        name = names[i]
        response = app.test_client().post(
            f"/api/v1/material-lots/{s.api}/recall",
            json=signed(name, f"Supplier notice, sent to {name}"),
            headers=tokens[name],
        )
        return response.status_code, response.get_json()

    outcomes = together(2, recall)
    assert sorted(code for code, _ in outcomes) == [200, 409]
    won = next(body for code, body in outcomes if code == 200)
    lost = next(body for code, body in outcomes if code == 409)
    assert won["recalled"] == [s.trituration_batch, s.released]
    assert won["held"] == [s.quarantined, s.draft, s.direct]
    assert f"Lot {s.api} was recalled already" in lost["error"]["message"]
    with app.app_context():
        lot = materials.get_lot(s.api)
        assert lot.recall_reason == won["reason"]
        signed_rows = db.session.scalars(
            sa.select(Signature.meaning).where(
                Signature.entity_type == "material_lot", Signature.entity_key == s.api
            )
        ).all()
        assert signed_rows.count("recalled") == 1
        assert events("material_lot")[f"lot.recalled {s.api}"] == 1
        assert events("material_lot")[f"lot.recalled {s.trituration_lot}"] == 1
        assert events("certificate")[f"certificate.revoked {s.certificate}"] == 1
        released = batches.get_batch(s.released)
        decisions = db.session.scalars(
            sa.select(BatchDecision.decision).where(BatchDecision.batch_id == released.id)
        )
        assert sorted(decisions) == ["recalled", "released"]
        assert batches.get_batch(s.quarantined).status == "on_hold"


def test_the_api_lot_and_the_lot_made_from_it_recalled_at_once_neither_deadlocks(app, auth, users):
    """Rob recalls the API lot while Rita recalls the trituration lot made from it: Rob's recall
    succeeds; Rita's too when it came first, else it finds the lot recalled already (409). Either
    way everything made from them ends recalled or on hold once, and no request fails."""
    s = build(app)
    tokens = {name: auth.token(name) for name in ("rob", "rita")}
    targets = (("rob", s.api), ("rita", s.trituration_lot))

    def recall(i: int) -> tuple[int, dict]:
        name, barcode = targets[i]
        response = app.test_client().post(
            f"/api/v1/material-lots/{barcode}/recall",
            json=signed(name, "Supplier notice"),
            headers=tokens[name],
        )
        return response.status_code, response.get_json()

    (rob, _), (rita, answer) = together(2, recall)
    assert rob == 200
    assert rita == 200 or (rita, answer["error"]["message"]) == (
        409,
        f"Lot {s.trituration_lot} was recalled already (made from recalled lot {s.api}: Supplier notice).",
    )
    with app.app_context():
        assert materials.get_lot(s.api).status == "recalled"
        assert materials.get_lot(s.trituration_lot).status == "recalled"
        assert batches.get_batch(s.released).status == "recalled"
        for lot_number in (s.quarantined, s.draft, s.direct):
            assert batches.get_batch(lot_number).status == "on_hold"
        assert events("certificate")[f"certificate.revoked {s.certificate}"] == 1
        assert events("batch")[f"batch.recalled {s.released}"] == 1
