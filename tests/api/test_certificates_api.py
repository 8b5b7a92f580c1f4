"""Review, release, reject and recall through the API; certificates served and verified.

Includes the race of issue 6: two reviewers release the same batch at the same moment with
parallel requests (separate clients, separate connections) and exactly one wins; the other
gets 409. It runs against a SQLite file here and against PostgreSQL when TEST_DATABASE_URL is set.
"""

import hashlib
import re
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.extensions import db
from qa_app.models import AuditEvent, Certificate, User
from tests.api.conftest import actions
from tests.conftest import PASSWORD
from tests.services.test_release import add_releasers, completed_batch, ready_batch
from tests.services.test_results import shared_database_app


def sign(username: str, meaning: str, password: str = PASSWORD) -> dict:
    return {"username": username, "password": password, "meaning": meaning}


@pytest.fixture(scope="module")
def app(databases, tmp_path_factory) -> Iterator[Flask]:
    """One database for the module (role users, the two releasers, master data); each test
    compounds its own batches, so tests stay independent."""
    for shared in shared_database_app(databases, str(tmp_path_factory.mktemp("certificates-api"))):
        add_releasers(shared)
        yield shared


@pytest.fixture
def lots(app):
    """The master data (made once for the module)."""
    return app.config["TEST_LOTS"]


@pytest.fixture
def ready(app, lots) -> str:
    with app.app_context():
        return ready_batch()


def certificates_of(app, lot: str) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(Certificate).where(Certificate.batch.has(lot_number=lot))
        )


@pytest.fixture
def rita(auth, lots):
    return auth.token("rita")


def release(client, headers, lot, username="rita", **signature):
    return client.post(
        f"/api/v1/batches/{lot}/release",
        json={"signature": sign(username, "released", **signature)},
        headers=headers,
    )


def test_release_answers_the_batch_with_its_certificate(client, rita, ready):
    response = release(client, rita, ready)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "released"
    certificate = body["certificate"]
    assert re.fullmatch(r"COA-20\d\d-\d{5}", certificate["number"])
    assert (certificate["version"], certificate["status"]) == (1, "valid")
    assert [s["meaning"] for s in body["signatures"]] == ["verified", "released"]
    assert body["signatures"][-1]["signer"] == "Rita Release, PharmD"


def code_of(app, number: str) -> str:
    """The verification code printed on the certificate (and in its QR code)."""
    with app.app_context():
        return db.session.scalar(sa.select(Certificate.verification_code).where(Certificate.number == number))


def test_the_certificate_is_served_byte_for_byte_and_verifies_publicly(app, client, rita, ready):
    number = release(client, rita, ready).get_json()["certificate"]["number"]

    first = client.get(f"/api/v1/batches/{ready}/certificate.pdf", headers=rita)
    second = client.get(f"/api/v1/batches/{ready}/certificate.pdf", headers=rita)
    # no token: anyone holding the certificate may verify it with its printed code
    public = client.get(f"/api/v1/certificates/{number}", query_string={"code": code_of(app, number)})

    assert first.status_code == 200
    assert first.mimetype == "application/pdf"
    assert first.data == second.data
    digest = hashlib.sha256(first.data).hexdigest()
    assert first.headers["ETag"] == f'"{digest}"'
    assert first.headers["X-Certificate-Number"] == number
    assert public.status_code == 200
    status = public.get_json()
    assert {k: status[k] for k in ("number", "version", "lot_number", "status", "sha256")} == {
        "number": number,
        "version": 1,
        "lot_number": ready,
        "status": "valid",
        "sha256": digest,
    }
    assert status["issued_at"].endswith("Z")


def test_a_recall_revokes_the_certificate(client, rita, auth, ready):
    number = release(client, rita, ready).get_json()["certificate"]["number"]
    raj = auth.token("raj")

    missing = client.post(
        f"/api/v1/batches/{ready}/recall", json={"signature": sign("raj", "recalled")}, headers=raj
    )
    recalled = client.post(
        f"/api/v1/batches/{ready}/recall",
        json={"signature": sign("raj", "recalled"), "reason": "Wrong label printed"},
        headers=raj,
    )

    assert missing.status_code == 400
    assert missing.get_json()["error"]["fields"] == {"reason": "Required."}
    assert recalled.status_code == 200, recalled.get_json()
    assert recalled.get_json()["status"] == "recalled"
    assert recalled.get_json()["certificate"]["status"] == "revoked"
    assert client.get(f"/api/v1/certificates/{number}").get_json()["status"] == "revoked"


def test_a_batch_that_is_not_ready_gets_409_listing_the_unmet_items(app, client, rita, lots):
    with app.app_context():
        lot = completed_batch()

    response = release(client, rita, lot)

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert set(error["fields"]) == {"status", "tests"}
    assert error["fields"]["tests"] == "Missing or not passing: Assay, Content uniformity, Appearance."
    assert error["message"].startswith(f"Batch {lot} cannot be released: ")
    assert certificates_of(app, lot) == 0


@pytest.mark.parametrize(
    ("username", "why"),
    [
        ("rob", "You verified this batch's API weighing; another reviewer must release it."),
        ("tina", "This needs the role reviewer."),
    ],
)
def test_the_verifier_and_a_technician_are_forbidden(client, auth, ready, username, why):
    response = release(client, auth.token(username), ready, username=username)

    assert response.status_code == 403
    assert response.get_json()["error"]["message"] == why


def test_a_wrong_signing_password_is_401_audited_and_counted(app, client, rita, ready):
    response = release(client, rita, ready, password="not-the-password")

    assert response.status_code == 401
    assert response.get_json()["error"]["fields"] == {
        "signature.password": "Wrong password; enter your own password again."
    }
    assert actions(app, key="rita")[-1] == "signature.failed"
    with app.app_context():
        assert db.session.scalar(sa.select(User.failed_attempts).where(User.username == "rita")) == 1
    assert certificates_of(app, ready) == 0
    assert client.get(f"/api/v1/batches/{ready}", headers=rita).get_json()["status"] == "awaiting_release"


def test_another_meaning_is_refused_with_400(client, rita, ready):
    response = client.post(
        f"/api/v1/batches/{ready}/release", json={"signature": sign("rita", "approved")}, headers=rita
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"signature.meaning": "Use 'released' for this action."}


def test_reject_needs_a_reason_and_records_it(app, client, rita, ready):
    rejected = client.post(
        f"/api/v1/batches/{ready}/reject",
        json={"signature": sign("rita", "rejected"), "reason": "Capsules <cracked> & leaking"},
        headers=rita,
    )

    assert rejected.status_code == 200, rejected.get_json()
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["certificate"] is None
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "batch.rejected", AuditEvent.entity_key == ready)
        )
        assert event.reason == "Capsules <cracked> & leaking"
    again = release(client, rita, ready)
    assert again.status_code == 409


def test_before_release_the_certificate_is_a_preview_that_is_not_stored(app, client, rita, ready):
    response = client.get(f"/api/v1/batches/{ready}/certificate.pdf", headers=rita)

    assert response.status_code == 200
    assert response.headers["X-Certificate-Status"] == "preview"
    assert "PREVIEW-NOT-RELEASED" in response.headers["Content-Disposition"]
    assert certificates_of(app, ready) == 0
    assert client.get(f"/api/v1/batches/{ready}", headers=rita).get_json()["certificate"] is None


def test_the_review_lists_every_item_and_who_did_what(client, rita, ready):
    body = client.get(f"/api/v1/batches/{ready}/review", headers=rita).get_json()

    assert body["ready"] is True
    assert body["unmet"] == []
    assert [item["key"] for item in body["items"]] == [
        "status",
        "components",
        "api_weighing",
        "deviations",
        "in_process",
        "tests",
        "investigations",
        "excursions",
        "bud",
        "specification",
    ]
    assert {"who": "Tina Technician (tina)", "what": "opened the compounding record"}.items() <= body[
        "steps"
    ][0].items()


def test_the_record_pdf_is_served_to_an_inspector(client, auth, ready):
    response = client.get(f"/api/v1/batches/{ready}/record.pdf", headers=auth.token("ivan"))

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")


def test_an_unknown_certificate_is_404_for_anyone(client):
    response = client.get("/api/v1/certificates/COA-2026-99999")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_the_openapi_document_describes_the_release_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    for path, method in [
        ("/api/v1/batches/{lot_number}/release", "post"),
        ("/api/v1/batches/{lot_number}/reject", "post"),
        ("/api/v1/batches/{lot_number}/recall", "post"),
        ("/api/v1/batches/{lot_number}/certificate.pdf", "get"),
        ("/api/v1/batches/{lot_number}/record.pdf", "get"),
        ("/api/v1/batches/{lot_number}/review", "get"),
        ("/api/v1/certificates/{number}", "get"),
    ]:
        assert method in paths[path], path
    assert "security" not in paths["/api/v1/certificates/{number}"]["get"]
    assert set(paths["/api/v1/batches/{lot_number}/release"]["post"]["responses"]) >= {
        "200",
        "400",
        "401",
        "403",
        "404",
        "409",
    }


# --- the race ---------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(3))
def test_two_reviewers_releasing_at_the_same_moment_exactly_one_wins(app, auth, lots, attempt):
    with app.app_context():
        lot = ready_batch()
    headers = {"rita": auth.token("rita"), "raj": auth.token("raj")}
    start = threading.Barrier(2)
    answers: dict[str, tuple[int, dict]] = {}

    def reviewer(username: str) -> None:
        client = app.test_client()  # each reviewer has a client (and a connection) of their own
        start.wait(timeout=10)
        response = release(client, headers[username], lot, username=username)
        answers[username] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=reviewer, args=(name,)) for name in headers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(code for code, _ in answers.values()) == [200, 409]
    [(loser, (_, refused))] = [(name, a) for name, a in answers.items() if a[0] == 409]
    assert refused["error"]["message"] in (
        f"Batch {lot} is released already; it cannot be released now.",
        "Someone else changed this record at the same moment; reload it and try again.",
    )
    with app.app_context():
        issued = db.session.scalars(sa.select(Certificate).where(Certificate.batch.has(lot_number=lot))).all()
        assert len(issued) == 1
        winner = next(name for name, a in answers.items() if a[0] == 200)
        assert issued[0].issued_by.username == winner != loser
        released_events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "batch.released", AuditEvent.entity_key == lot)
        ).all()
        assert len(released_events) == 1
