"""``flask audit verify`` and ``flask audit seal``: the seals, the records, a trail from before
the audit key, on both database engines."""

import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import Result
from tests.services.test_audit import (
    _app_with_key,
    _dispose,
    _legacy_database,
    _rewrite_and_recompute,
    _unprotect,
    _write_events,
)
from tests.services.test_audit_records import released_app, unprotect  # noqa: F401  (fixture)


def test_verify_says_the_trail_and_the_records_are_intact(app, runner):
    _write_events(app, 3)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Audit trail intact: 3 events checked.",
        "Results, signatures and certificates match the events that created them.",
    ]


def test_verify_names_event_2_after_it_was_rewritten_and_every_later_hash_recomputed(app, runner):
    _write_events(app, 5)
    _unprotect(app)
    _rewrite_and_recompute(app, 2, "nothing happened")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "Audit trail BROKEN at event 2: its seal does not match the audit key" in result.stderr
    assert "intact" not in result.stdout


def test_verify_with_the_wrong_key_fails_at_event_1(app, tmp_path):
    _write_events(app, 2)
    other = _app_with_key(app, tmp_path, QA_AUDIT_KEY="another-key-of-at-least-32-characters-00")
    try:
        result = other.test_cli_runner().invoke(args=["audit", "verify"])
        assert result.exit_code == 1
        assert "BROKEN at event 1: its seal does not match the audit key" in result.stderr
        assert "this is not the key it was sealed with" in result.stderr
    finally:
        _dispose(other)


def test_verify_names_a_result_changed_behind_the_trail(released_app):  # noqa: F811
    app, lot = released_app
    with app.app_context():
        result_id = db.session.scalar(sa.select(Result.id).where(Result.test_key == "assay"))
        unprotect("result")
        db.session.execute(
            sa.text("UPDATE result SET \"values\" = '[101.5]' WHERE id = :id"), {"id": result_id}
        )
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "Audit trail intact" in result.stdout
    assert (
        f"Record does not match the audit trail: result {result_id} (batch {lot}): values differ"
        in result.stderr
    )
    assert "1 records do not match the audit trail." in result.stderr


def test_the_upgrade_seals_the_events_from_before_the_key(databases, tmp_path):
    url, legacy = _legacy_database(databases, tmp_path, 3)
    try:
        result = legacy.test_cli_runner().invoke(args=["audit", "verify"])
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == [
            "Audit trail intact: 4 events checked.",
            "Events 1 to 3 were written before the audit key was introduced: they have no seal "
            "of their own and are covered by the sealed events after them.",
            "Results, signatures and certificates match the events that created them.",
        ]
        again = legacy.test_cli_runner().invoke(args=["audit", "seal"])
        assert again.exit_code == 0
        assert "Nothing to seal: the audit trail is sealed already." in again.stdout
    finally:
        _dispose(legacy)
        databases.drop(url)


def test_seal_once_a_trail_that_has_no_seal(app, runner):
    _write_events(app, 3)
    _unprotect(app)
    with app.app_context():
        db.session.execute(sa.text("UPDATE audit_event SET seal = NULL"))
        db.session.execute(sa.text("UPDATE audit_chain_head SET seal = NULL"))
        db.session.commit()
    before = runner.invoke(args=["audit", "verify"])
    assert before.exit_code == 1
    assert "Audit trail NOT SEALED: none of its 3 events has a seal." in before.stderr

    sealed = runner.invoke(args=["audit", "seal"])
    assert sealed.exit_code == 0, sealed.output
    assert "Sealed: event 4 covers the 3 events before it." in sealed.stdout

    after = runner.invoke(args=["audit", "verify"])
    assert after.exit_code == 0, after.output
    assert after.stdout.splitlines()[0] == "Audit trail intact: 4 events checked."


def test_seal_refuses_a_broken_trail(app, runner):
    _write_events(app, 3)
    _unprotect(app)
    with app.app_context():
        db.session.execute(sa.text("UPDATE audit_event SET seal = NULL"))
        db.session.execute(sa.text("UPDATE audit_event SET reason = 'edited' WHERE seq = 2"))
        db.session.commit()
    result = runner.invoke(args=["audit", "seal"])
    assert result.exit_code == 1
    assert "The audit trail is broken at event 2: its content no longer matches its hash." in result.output
