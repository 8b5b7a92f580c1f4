"""The audit trail: hash-chained, append-only in the database, and every tampering is found."""

import threading

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import AuditEvent
from qa_app.services import audit


def _write_events(app, n: int) -> None:
    with app.app_context():
        for i in range(1, n + 1):
            audit.record("test.event", "thing", f"T-{i}", username="tester", new={"n": i, "value": i * 1.5})
        db.session.commit()


def _unprotect(app) -> None:
    """What an attacker with database access would do first: remove the triggers."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            db.session.execute(sa.text("DROP TRIGGER audit_event_no_update"))
            db.session.execute(sa.text("DROP TRIGGER audit_event_no_delete"))
        else:
            db.session.execute(sa.text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        db.session.commit()


def _raw(app, *statements: str) -> None:
    with app.app_context():
        for statement in statements:
            db.session.execute(sa.text(statement))
        db.session.commit()


def _verify(app) -> audit.ChainCheck:
    with app.app_context():
        return audit.verify_chain()


def test_each_event_links_to_the_hash_of_the_one_before(app):
    _write_events(app, 3)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [e.seq for e in events] == [1, 2, 3]
        assert events[0].prev_hash == "0" * 64
        assert events[1].prev_hash == events[0].hash
        assert events[2].prev_hash == events[1].hash
        assert events[2].new_values == {"n": 3, "value": 4.5}
        assert all(len(e.hash) == 64 for e in events)
    assert _verify(app) == audit.ChainCheck(True, 3, None)


def test_an_event_is_written_only_with_the_change_it_records(app):
    with app.app_context():
        audit.record("test.event", "thing", "T-1", username="tester")
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0
    assert _verify(app) == audit.ChainCheck(True, 0, None)


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_event SET reason = 'edited' WHERE seq = 1", "DELETE FROM audit_event WHERE seq = 1"],
)
def test_the_database_refuses_to_change_or_delete_an_event(app, statement):
    _write_events(app, 2)
    with app.app_context(), pytest.raises(sa.exc.DatabaseError, match="append-only"):
        db.session.execute(sa.text(statement))
    assert _verify(app).ok


@pytest.mark.parametrize(
    "statement",
    ["UPDATE signature SET meaning = 'approved'", "DELETE FROM signature"],
)
def test_the_database_refuses_to_change_or_delete_a_signature(app, statement):
    with app.app_context():
        db.session.execute(
            sa.text(
                'INSERT INTO "user" (id, username, full_name, password_hash, active, failed_attempts, created_at)'
                " VALUES (99, 'x', 'X', 'h', true, 0, CURRENT_TIMESTAMP)"
            )
        )
        db.session.execute(
            sa.text(
                "INSERT INTO signature (user_id, signer_name, meaning, signed_at, entity_type, entity_key,"
                " content_sha256) VALUES (99, 'X', 'released', CURRENT_TIMESTAMP, 'batch', 'B', 'abc')"
            )
        )
        db.session.commit()
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(sa.text(statement))


def test_an_altered_value_is_found(app):
    _write_events(app, 5)
    _unprotect(app)
    _raw(app, 'UPDATE audit_event SET new_values = \'{"n": 3, "value": 99.0}\' WHERE seq = 3')
    check = _verify(app)
    assert (check.ok, check.checked, check.first_bad) == (False, 2, 3)


def test_an_altered_time_is_found(app):
    _write_events(app, 5)
    _unprotect(app)
    with app.app_context():
        db.session.execute(
            sa.update(AuditEvent).where(AuditEvent.seq == 4).values(occurred_at=sa.func.current_timestamp())
        )
        db.session.commit()
    assert _verify(app).first_bad == 4


def test_a_removed_event_is_found(app):
    _write_events(app, 5)
    _unprotect(app)
    _raw(app, "DELETE FROM audit_event WHERE seq = 2")
    check = _verify(app)
    assert (check.ok, check.checked, check.first_bad) == (False, 1, 2)
    assert check.problem == "event 2 is missing"


def test_removing_the_newest_events_is_found(app):
    _write_events(app, 5)
    _unprotect(app)
    _raw(app, "DELETE FROM audit_event WHERE seq >= 4")
    check = _verify(app)
    assert (check.ok, check.checked, check.first_bad) == (False, 3, 4)


def test_renumbering_after_a_removal_is_found(app):
    _write_events(app, 5)
    _unprotect(app)
    _raw(app, "DELETE FROM audit_event WHERE seq = 3", "UPDATE audit_event SET seq = seq - 1 WHERE seq > 3")
    check = _verify(app)
    assert (check.ok, check.first_bad) == (False, 3)


def test_reordered_events_are_found(app):
    _write_events(app, 5)
    _unprotect(app)
    _raw(
        app,
        "UPDATE audit_event SET seq = 100 WHERE seq = 2",
        "UPDATE audit_event SET seq = 2 WHERE seq = 3",
        "UPDATE audit_event SET seq = 3 WHERE seq = 100",
    )
    check = _verify(app)
    assert (check.ok, check.checked, check.first_bad) == (False, 1, 2)


def test_concurrent_writers_never_fork_the_chain(app):
    """Eight writers append 25 events each at the same time: one unbroken chain of 200."""
    writers, per_writer = 8, 25
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(per_writer):
                    audit.record("test.parallel", "writer", f"W{n}", username=f"w{n}", new={"i": i})
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported below, with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    check = _verify(app)
    assert (check.ok, check.checked) == (True, writers * per_writer)
    with app.app_context():
        per_key = dict(
            db.session.execute(
                sa.select(AuditEvent.entity_key, sa.func.count()).group_by(AuditEvent.entity_key)
            ).all()
        )
    assert per_key == {f"W{n}": per_writer for n in range(writers)}
