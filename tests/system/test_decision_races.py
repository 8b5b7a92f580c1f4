"""Signed decisions on one record at the same moment: one wins, every other one gets 409.

Two reviewers deciding one material lot, one formula draft or one OOS investigation at once
used to both succeed on PostgreSQL: two signatures, and a final status that contradicted the
audit trail. Each decision now locks the record first, as the batch release does; the loser
finds the record decided and is refused with nothing written. Workers are threads, each
sending its request through its own test client (its own session and connection), released
together by a barrier. On SQLite the write lock taken at BEGIN queues the writers; the same
tests then also show that a second decision on a decided record is a 409.
"""

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import AuditEvent, Investigation, ResultInvalidation, Signature
from qa_app.services import clock, formulas, investigations, materials
from tests.builders import capsule_formula_body, setup_master_data, user
from tests.conftest import PASSWORD, make_user
from tests.services.test_results import quarantined_batch, record
from tests.system.test_concurrency import together

WORKERS = 4


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    make_user(app, "rita", ("reviewer",), "Rita Reviewer, PharmD")
    with app.app_context():
        lots = setup_master_data(clock.today())
        app.config["TEST_LOTS"] = lots
        return lots


@pytest.fixture
def tokens(app, auth, lots) -> dict[str, dict[str, str]]:
    return {name: auth.token(name) for name in ("rob", "rita", "ada", "tina")}


def signed(username: str, meaning: str) -> dict:
    return {"signature": {"username": username, "password": PASSWORD, "meaning": meaning}}


def reviewer(i: int) -> str:
    return ("rob", "rita")[i % 2]


def signatures_of(entity_type: str, key: str) -> list[tuple[str, str]]:
    rows = db.session.execute(
        sa.select(Signature.signer_name, Signature.meaning)
        .where(Signature.entity_type == entity_type, Signature.entity_key == key)
        .order_by(Signature.id)
    )
    return [tuple(row) for row in rows]


def actions(entity_type: str, key: str) -> Counter:
    return Counter(
        db.session.scalars(
            sa.select(AuditEvent.action).where(
                AuditEvent.entity_type == entity_type, AuditEvent.entity_key == key
            )
        )
    )


def received_lot(app) -> str:
    with app.app_context():
        return materials.receive_lot(
            user("tina"),
            material="NTX-HCL",
            supplier="Fagron",
            supplier_lot="RACE-1",
            expiry_date=date(2030, 1, 31),
            assay_percent=99.2,
        ).barcode


# --- material lots ---------------------------------------------------------------------------


def test_approve_and_reject_of_one_lot_at_once_leave_one_signed_decision(app, tokens):
    """Rob approves and Rita rejects the same lot, twice each, at once: one decision, three 409."""
    barcode = received_lot(app)

    def decide(i: int) -> tuple[int, str]:
        name = reviewer(i)
        if i < 2:
            body, path = signed(name, "approved"), "approve"
        else:
            body, path = signed(name, "rejected") | {"reason": "Seal broken on arrival"}, "reject"
        response = app.test_client().post(
            f"/api/v1/material-lots/{barcode}/{path}", json=body, headers=tokens[name]
        )
        return response.status_code, path

    outcomes = together(WORKERS, decide)
    assert sorted(code for code, _ in outcomes) == [200, 409, 409, 409]
    winner = next(path for code, path in outcomes if code == 200)
    final = {"approve": "approved", "reject": "rejected"}[winner]
    with app.app_context():
        lot = materials.get_lot(barcode)
        assert lot.status == final
        assert [meaning for _, meaning in signatures_of("material_lot", barcode)] == [final]
        assert signatures_of("material_lot", barcode)[0][0] == lot.decided_by.full_name
        events = actions("material_lot", barcode)
        assert (events["lot.approved"], events["lot.rejected"]) == ((1, 0) if final == "approved" else (0, 1))


def test_a_decided_lot_refuses_a_second_decision_with_409(app, client, tokens):
    barcode = received_lot(app)
    approved = client.post(
        f"/api/v1/material-lots/{barcode}/approve", json=signed("rob", "approved"), headers=tokens["rob"]
    )
    assert approved.status_code == 200
    rejected = client.post(
        f"/api/v1/material-lots/{barcode}/reject",
        json=signed("rita", "rejected") | {"reason": "Changed my mind"},
        headers=tokens["rita"],
    )
    assert rejected.status_code == 409
    assert rejected.get_json()["error"]["message"] == (
        f"Lot {barcode} is approved; only a lot in quarantine can be rejected."
    )
    with app.app_context():
        assert materials.get_lot(barcode).status == "approved"
        assert signatures_of("material_lot", barcode) == [("Rob Reviewer, PharmD", "approved")]


# --- formulas --------------------------------------------------------------------------------


def drafted_version_2(app) -> None:
    with app.app_context():
        formulas.new_version(user("ada"), "LDN-CAP", capsule_formula_body(name="LDN capsules v2"))


def test_two_approvals_of_one_formula_draft_at_once_sign_it_once(app, tokens):
    """Rob and Rita approve version 2 twice each at once: one approval, version 1 superseded once."""
    drafted_version_2(app)

    def approve(i: int) -> int:
        name = reviewer(i)
        response = app.test_client().post(
            "/api/v1/formulas/LDN-CAP/approve", json=signed(name, "approved"), headers=tokens[name]
        )
        return response.status_code

    assert sorted(together(WORKERS, approve)) == [200, 409, 409, 409]
    with app.app_context():
        formula = formulas.get_formula("LDN-CAP")
        assert [(v.version, v.status) for v in formula.versions] == [(1, "superseded"), (2, "approved")]
        assert len(signatures_of("formula", "LDN-CAP v2")) == 1
        events = actions("formula", "LDN-CAP")
        assert (events["formula.approved"], events["formula.superseded"]) == (2, 1)  # v1 once, v2 once


def test_an_approved_formula_version_refuses_a_second_approval_with_409(app, client, tokens):
    drafted_version_2(app)
    first = client.post(
        "/api/v1/formulas/LDN-CAP/approve", json=signed("rob", "approved"), headers=tokens["rob"]
    )
    assert first.status_code == 200
    second = client.post(
        "/api/v1/formulas/LDN-CAP/approve", json=signed("rita", "approved"), headers=tokens["rita"]
    )
    assert second.status_code == 409
    assert second.get_json()["error"]["message"] == "LDN-CAP has no draft version to approve."
    with app.app_context():
        assert len(signatures_of("formula", "LDN-CAP v2")) == 1


# --- investigations --------------------------------------------------------------------------


def open_investigation(app) -> tuple[str, int]:
    """A batch in quarantine with an assay of 85.0 % under investigation (phase I)."""
    with app.app_context():
        lot = quarantined_batch()
        failing = record(lot, "assay", 85.0)
        return lot, investigations.open_investigation(
            user("rob"), lot, result_id=failing.id, retests_allowed=1
        ).id


CLOSING = {
    "phase": "I",
    "assignable_cause": "laboratory",
    "cause": "Standard prepared at the wrong dilution",
    "conclusion": "Original result invalid",
}


def test_two_closings_of_one_investigation_at_once_sign_it_once(app, tokens):
    lot, investigation_id = open_investigation(app)

    def close(i: int) -> int:
        name = reviewer(i)
        response = app.test_client().post(
            f"/api/v1/investigations/{investigation_id}/close",
            json=signed(name, "reviewed") | CLOSING,
            headers=tokens[name],
        )
        return response.status_code

    assert sorted(together(WORKERS, close)) == [200, 409, 409, 409]
    with app.app_context():
        investigation = db.session.get(Investigation, investigation_id)
        assert investigation.status == "closed"
        signers = signatures_of("batch", lot)
        assert [meaning for _, meaning in signers].count("reviewed") == 1
        assert actions("batch", lot)["investigation.closed"] == 1
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(ResultInvalidation)
                .where(ResultInvalidation.investigation_id == investigation_id)
            )
            == 1
        )


def test_a_closed_investigation_refuses_a_second_closing_with_409(app, client, tokens):
    lot, investigation_id = open_investigation(app)
    path = f"/api/v1/investigations/{investigation_id}/close"
    assert (
        client.post(path, json=signed("rob", "reviewed") | CLOSING, headers=tokens["rob"]).status_code == 200
    )
    again = client.post(path, json=signed("rita", "reviewed") | CLOSING, headers=tokens["rita"])
    assert again.status_code == 409
    assert again.get_json()["error"]["message"] == f"Investigation {investigation_id} is closed already."
    with app.app_context():
        assert actions("batch", lot)["investigation.closed"] == 1
