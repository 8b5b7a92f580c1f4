"""Results, signatures and certificates against the audit events that created them.

Someone with write access to the database who removes the append-only triggers can change a
result without touching the trail; the chain then still verifies, but the result no longer
matches the event that recorded it, and that is what this check names.
"""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.extensions import db
from qa_app.models import AuditEvent, Certificate, Result, Signature
from qa_app.services import audit
from tests.services.test_release import add_releasers, ready_batch, released
from tests.services.test_results import shared_database_app


@pytest.fixture
def released_app(databases, tmp_path) -> Iterator[tuple[Flask, str]]:
    """An app whose database holds one released batch: its results, signatures, certificate."""
    for app in shared_database_app(databases, str(tmp_path / "instance")):
        add_releasers(app)
        with app.app_context():
            lot = ready_batch()
            released(lot)
        yield app, lot


def unprotect(table: str) -> None:
    if db.engine.dialect.name == "sqlite":
        db.session.execute(sa.text(f"DROP TRIGGER {table}_no_update"))
        db.session.execute(sa.text(f"DROP TRIGGER {table}_no_delete"))
    else:
        db.session.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def creating_event(action: str, field: str, value: int) -> AuditEvent:
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()
    [event] = [e for e in events if e.new_values.get(field) == value]
    return event


def assay(lot: str) -> Result:
    return db.session.scalar(sa.select(Result).where(Result.test_key == "assay"))


def test_an_untouched_database_matches_its_trail(released_app):
    app, _lot = released_app
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Result)) == 3
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 9
        assert audit.check_records() == []


def test_a_result_whose_value_was_changed_with_the_triggers_dropped_is_named(released_app):
    app, lot = released_app
    with app.app_context():
        result = assay(lot)
        event = creating_event("result.recorded", "result_id", result.id)
        assert (result.values, event.new_values["values"]) == ([99.8], [99.8])
        unprotect("result")
        db.session.execute(
            sa.text("UPDATE result SET \"values\" = '[101.5]' WHERE id = :id"), {"id": result.id}
        )
        db.session.commit()
        assert audit.verify_chain().ok  # the chain alone does not show it
        assert audit.check_records() == [
            f"result {result.id} (batch {lot}): values differ from event {event.seq} (result.recorded) "
            "that created it"
        ]


def test_a_result_without_an_event_and_an_event_without_its_result_are_named(released_app):
    app, lot = released_app
    with app.app_context():
        result = assay(lot)
        result_id, event = result.id, creating_event("result.recorded", "result_id", result.id)
        columns = [c.name for c in Result.__table__.columns if c.name != "id"]
        listed = ", ".join(f'"{c}"' for c in columns)
        db.session.execute(
            sa.text(f"INSERT INTO result ({listed}) SELECT {listed} FROM result WHERE id = :id"),
            {"id": result.id},
        )
        added = db.session.scalar(sa.select(sa.func.max(Result.id)))
        unprotect("result")
        db.session.execute(sa.text("DELETE FROM result WHERE id = :id"), {"id": result.id})
        db.session.commit()
        assert audit.check_records() == [
            f"result {added} (batch {lot}) has no result.recorded event",
            f"event {event.seq} recorded result {result_id}, which is missing",
        ]


def test_a_signature_whose_signer_was_changed_is_named(released_app):
    app, _lot = released_app
    with app.app_context():
        signature = db.session.scalar(sa.select(Signature).where(Signature.meaning == "released"))
        event = creating_event("signature.signed", "signature_id", signature.id)
        unprotect("signature")
        db.session.execute(
            sa.text("UPDATE signature SET signer_name = 'Somebody Else', user_id = 1 WHERE id = :id"),
            {"id": signature.id},
        )
        db.session.commit()
        assert audit.check_records() == [
            f"signature {signature.id}: signer_name, signer differ from event {event.seq} "
            "(signature.signed) that created it"
        ]


def test_a_certificate_whose_bytes_status_or_size_were_changed_is_named(released_app):
    app, _lot = released_app
    with app.app_context():
        certificate = db.session.scalar(sa.select(Certificate))
        number, size = certificate.number, certificate.size
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "certificate.issued"))
        db.session.execute(
            sa.update(Certificate)
            .where(Certificate.id == certificate.id)
            .values(pdf=b"%PDF-1.7 another document", status="revoked", size=size + 1)
        )
        db.session.commit()
        assert audit.check_records() == [
            f"certificate {number}: its stored PDF no longer matches its SHA-256",
            f"certificate {number} is revoked, but its audit events leave it valid",
            f"certificate {number}: size differ from event {event.seq} (certificate.issued) that created it",
        ]


def test_a_recalled_certificate_matches_its_revocation(released_app):
    from qa_app.services import release
    from tests.builders import signature, user

    app, lot = released_app
    with app.app_context():
        release.recall(user("rita"), lot, signature("rita", "recalled"), "Customer complaint")
        assert db.session.scalar(sa.select(Certificate.status)) == "revoked"
        assert audit.check_records() == []
