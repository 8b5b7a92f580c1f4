"""The audit trail: hash-chained, append-only in the database, and every tampering is found."""

import threading

import pytest
import sqlalchemy as sa

from qa_app.errors import WrongState
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


# --- the seal: an HMAC under a key kept outside the database -----------------------------------


def _rewrite_and_recompute(app, seq: int, reason: str) -> None:
    """The attack: change event ``seq``, recompute every later hash and the chain head.

    Run with the append-only triggers removed, as someone with write access to the database
    could; it leaves the seals as they were, since the key is not in the database.
    """
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
        prev_hash = events[seq - 2].hash if seq > 1 else "0" * 64
        for event in events[seq - 1 :]:
            if event.seq == seq:
                event.reason = reason
            event.prev_hash = prev_hash
            event.hash = audit.event_hash(event, prev_hash)
            prev_hash = event.hash
        db.session.flush()
        db.session.execute(
            sa.update(audit.AuditChainHead).where(audit.AuditChainHead.id == 1).values(hash=prev_hash)
        )
        db.session.commit()


def _hashes_alone_pass(app) -> bool:
    """What the check found before seals existed: each hash follows the one before it."""
    with app.app_context():
        prev_hash = "0" * 64
        for event in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)):
            if event.prev_hash != prev_hash or audit.event_hash(event, prev_hash) != event.hash:
                return False
            prev_hash = event.hash
        return db.session.get(audit.AuditChainHead, 1).hash == prev_hash


def test_every_event_and_the_head_carry_a_seal_under_the_audit_key(app):
    _write_events(app, 3)
    with app.app_context():
        key = b"test-audit-key-not-for-production-0123456789"
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [e.seal for e in events] == [audit.event_seal(key, e.seq, e.hash) for e in events]
        head = db.session.get(audit.AuditChainHead, 1)
        assert head.seal == audit.head_seal(key, 3, events[2].hash)
        assert all(len(e.seal) == 64 for e in events)


def test_rewriting_event_2_and_recomputing_every_later_hash_and_the_head_is_found(app):
    _write_events(app, 5)
    _unprotect(app)
    _rewrite_and_recompute(app, 2, "nothing happened")
    assert _hashes_alone_pass(app)  # the hashes alone no longer show it
    check = _verify(app)
    assert (check.ok, check.checked, check.first_bad) == (False, 1, 2)
    assert check.problem.startswith("its seal does not match the audit key")


def test_rewriting_event_2_through_replace_with_the_guards_dropped_is_found(app):
    _write_events(app, 5)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("REPLACE is SQLite's; PostgreSQL refuses ON CONFLICT DO UPDATE (below)")
        for name in ("audit_event_no_update", "audit_event_no_delete", "audit_event_no_replace"):
            db.session.execute(sa.text(f"DROP TRIGGER {name}"))
        columns = [c.name for c in AuditEvent.__table__.columns]
        chosen = ", ".join("'paid in cash'" if c == "reason" else c for c in columns)
        db.session.execute(
            sa.text(
                f"REPLACE INTO audit_event ({', '.join(columns)}) SELECT {chosen} FROM audit_event WHERE seq = 2"
            )
        )
        db.session.commit()
        assert db.session.scalar(sa.select(AuditEvent.reason).where(AuditEvent.seq == 2)) == "paid in cash"
    _rewrite_and_recompute(app, 2, "paid in cash")
    assert _hashes_alone_pass(app)
    check = _verify(app)
    assert (check.ok, check.first_bad) == (False, 2)
    assert "seal does not match" in check.problem


def test_removing_the_seals_from_event_2_on_is_found(app):
    _write_events(app, 4)
    _unprotect(app)
    _rewrite_and_recompute(app, 2, "nothing happened")
    _raw(app, "UPDATE audit_event SET seal = NULL WHERE seq >= 2", "UPDATE audit_chain_head SET seal = NULL")
    check = _verify(app)
    assert (check.ok, check.first_bad) == (False, 2)
    assert check.problem == "it has no seal, though the events before it are sealed"


def test_removing_every_seal_leaves_a_trail_that_does_not_verify(app):
    _write_events(app, 4)
    _unprotect(app)
    _rewrite_and_recompute(app, 2, "nothing happened")
    _raw(app, "UPDATE audit_event SET seal = NULL", "UPDATE audit_chain_head SET seal = NULL")
    check = _verify(app)
    assert (check.ok, check.checked, check.first_bad, check.problem) == (False, 4, 1, audit.UNSEALED)


def test_removing_the_newest_events_and_winding_back_the_head_is_found(app):
    _write_events(app, 5)
    _unprotect(app)
    with app.app_context():
        third = db.session.get(AuditEvent, 3)
        third_hash = third.hash
    _raw(
        app,
        "DELETE FROM audit_event WHERE seq >= 4",
        f"UPDATE audit_chain_head SET seq = 3, hash = '{third_hash}'",
    )
    check = _verify(app)
    assert (check.ok, check.checked, check.first_bad) == (False, 3, 4)
    assert check.problem.startswith("the chain head's seal does not match the audit key")


def _app_with_key(app, tmp_path, **key_settings):
    from config import TestConfig
    from qa_app import create_app

    settings = {"QA_AUDIT_KEY": None, **key_settings}
    return create_app(
        TestConfig,
        instance_path=str(tmp_path / "other-instance"),
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        **settings,
    )


def _dispose(other) -> None:
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_wrong_key_fails_verification_at_the_first_event_and_writes_nothing(app, tmp_path):
    _write_events(app, 3)
    other = _app_with_key(app, tmp_path, QA_AUDIT_KEY="another-key-of-at-least-32-characters-00")
    try:
        with other.app_context():
            check = audit.verify_chain()
            assert (check.ok, check.checked, check.first_bad) == (False, 0, 1)
            assert "this is not the key it was sealed with" in check.problem
            with pytest.raises(RuntimeError, match="not sealed with this audit key"):
                audit.record("test.event", "thing", "T-4", username="tester")
            db.session.rollback()
            assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 3
    finally:
        _dispose(other)
    assert _verify(app).ok


def test_without_a_key_one_is_made_in_the_instance_folder_once_and_kept(app, tmp_path):
    other = _app_with_key(app, tmp_path)
    try:
        with other.app_context():
            key = audit.audit_key()
        path = tmp_path / "other-instance" / "audit.key"
        assert path.read_bytes().strip() == key
        assert len(key) == 64
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        _dispose(other)
    again = _app_with_key(app, tmp_path)
    try:
        with again.app_context():
            assert audit.audit_key() == key
    finally:
        _dispose(again)


def test_processes_starting_at_once_all_get_the_one_key_made(tmp_path):
    """Eight workers reading the key for the first time at the same moment."""
    from types import SimpleNamespace

    folder = tmp_path / "fresh-instance"
    folder.mkdir()
    settings = SimpleNamespace(config={}, instance_path=str(folder))
    start = threading.Barrier(8)
    keys: list[bytes] = []

    def reader() -> None:
        start.wait()
        keys.append(audit._read_key(settings)[0])

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) == 64
    assert [p.name for p in folder.iterdir()] == ["audit.key"]


def test_the_key_can_come_from_a_named_file_and_must_be_long_enough(app, tmp_path):
    named = tmp_path / "audit-key.txt"
    named.write_text("a-key-read-from-a-file-0123456789abcdef\n")
    other = _app_with_key(app, tmp_path, QA_AUDIT_KEY_FILE=str(named))
    try:
        with other.app_context():
            assert audit.audit_key() == b"a-key-read-from-a-file-0123456789abcdef"
    finally:
        _dispose(other)
    short = _app_with_key(app, tmp_path, QA_AUDIT_KEY="too-short")
    try:
        with short.app_context(), pytest.raises(RuntimeError, match="at least 32 characters"):
            audit.audit_key()
    finally:
        _dispose(short)
    missing = _app_with_key(app, tmp_path, QA_AUDIT_KEY_FILE=str(tmp_path / "nowhere.key"))
    try:
        with missing.app_context(), pytest.raises(RuntimeError, match="cannot be read"):
            audit.audit_key()
    finally:
        _dispose(missing)


# --- the database refuses REPLACE and ON CONFLICT DO UPDATE on append-only rows -----------------


@pytest.fixture(scope="module")
def records_app(databases, tmp_path_factory):
    """A database holding events, a signature, a result and a reading, to try to replace."""
    from qa_app.services import readings, results
    from qa_app.services.readings import RowInput
    from tests.builders import user
    from tests.services.test_results import quarantined_batch, shared_database_app

    for application in shared_database_app(databases, str(tmp_path_factory.mktemp("replace-instance"))):
        with application.app_context():
            lot = quarantined_batch()
            results.record_result(user("tina"), lot, test="assay", value=99.8, method="HPLC-UV")
            readings.ingest(
                "SHELF-1", [RowInput(1, "2026-03-02T12:00:00Z", 21.5)], source="api", actor=user("tina")
            )
            db.session.commit()
        yield application


# table, the row's key, the column the attacker rewrites and the value they give it
APPEND_ONLY_ROWS = {
    "audit_event": ("seq = 1", "reason", "'rewritten'"),
    "signature": ("id = 1", "meaning", "'approved'"),
    "result": ("id = 1", "analyst", "'Somebody Else'"),
    "reading": ("temperature_c = 21.5", "temperature_c", "5.0"),
}


def _copy_with(table: str, where: str, column: str, value: str) -> tuple[str, str]:
    """The column list, and a SELECT that copies the row with one column changed."""
    columns = [c.name for c in db.metadata.tables[table].columns]
    chosen = ", ".join(value if c == column else f'"{c}"' for c in columns)
    return ", ".join(f'"{c}"' for c in columns), f"SELECT {chosen} FROM {table} WHERE {where}"


def _row(table: str, where: str) -> tuple:
    return tuple(db.session.execute(sa.text(f"SELECT * FROM {table} WHERE {where}")).one())


@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
@pytest.mark.parametrize("table", APPEND_ONLY_ROWS)
def test_sqlite_refuses_replace_on_every_append_only_table(records_app, table, verb):
    with records_app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only; PostgreSQL's ON CONFLICT DO UPDATE is tested below")
        where, column, value = APPEND_ONLY_ROWS[table]
        before = _row(table, where)
        columns, select = _copy_with(table, where, column, value)
        with pytest.raises(sa.exc.DatabaseError, match=f"{table} is append-only"):
            db.session.execute(sa.text(f"{verb} INTO {table} ({columns}) {select}"))
        db.session.rollback()
        assert _row(table, where) == before
    assert _verify(records_app).ok


@pytest.mark.parametrize("table", APPEND_ONLY_ROWS)
def test_sqlite_refuses_replace_from_a_plain_connection_too(records_app, table):
    """A connection that is not the application's (no pragmas set): the guard trigger refuses."""
    import sqlite3

    with records_app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        where, column, value = APPEND_ONLY_ROWS[table]
        columns, select = _copy_with(table, where, column, value)
        before = _row(table, where)
        db.session.rollback()
        plain = sqlite3.connect(db.engine.url.database)
        try:
            assert plain.execute("PRAGMA recursive_triggers").fetchone() == (0,)
            with pytest.raises(sqlite3.IntegrityError, match=f"{table} is append-only: REPLACE refused"):
                plain.execute(f"INSERT OR REPLACE INTO {table} ({columns}) {select}")
            plain.rollback()
        finally:
            plain.close()
        assert _row(table, where) == before


def test_sqlite_without_the_guard_the_application_connection_still_refuses_replace(records_app):
    """Every connection the application opens turns recursive triggers on, so REPLACE fires the
    DELETE trigger even where the guard was removed (the removal is rolled back here)."""
    with records_app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        where, column, value = APPEND_ONLY_ROWS["audit_event"]
        columns, select = _copy_with("audit_event", where, column, value)
        before = _row("audit_event", where)
        db.session.execute(sa.text("DROP TRIGGER audit_event_no_replace"))
        with pytest.raises(sa.exc.DatabaseError, match="audit_event is append-only: DELETE refused"):
            db.session.execute(sa.text(f"REPLACE INTO audit_event ({columns}) {select}"))
        db.session.rollback()
        assert _row("audit_event", where) == before
        assert (
            db.session.scalar(
                sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'audit_event_no_replace'")
            )
            == 1
        )


PRIMARY_KEYS = {"audit_event": "seq", "signature": "id", "result": "id", "reading": "storage_unit_id, at"}


@pytest.mark.parametrize("table", APPEND_ONLY_ROWS)
def test_postgresql_refuses_on_conflict_do_update_on_every_append_only_table(records_app, table):
    with records_app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only; SQLite's REPLACE is tested above")
        where, column, value = APPEND_ONLY_ROWS[table]
        before = _row(table, where)
        columns, select = _copy_with(table, where, column, value)
        with pytest.raises(sa.exc.DatabaseError, match=f"{table} is append-only: UPDATE refused"):
            db.session.execute(
                sa.text(
                    f"INSERT INTO {table} ({columns}) {select} "
                    f'ON CONFLICT ({PRIMARY_KEYS[table]}) DO UPDATE SET "{column}" = EXCLUDED."{column}"'
                )
            )
        db.session.rollback()
        assert _row(table, where) == before


def test_every_append_only_table_has_its_triggers(records_app):
    """UPDATE, DELETE (and on SQLite REPLACE; on PostgreSQL TRUNCATE) are refused on each."""
    tables = (
        "audit_event",
        "signature",
        "result",
        "result_invalidation",
        "reading_upload",
        "reading",
        "disposition",
        "batch_decision",
    )
    with records_app.app_context():
        if db.engine.dialect.name == "sqlite":
            names = set(db.session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
            expected = {f"{t}_no_{what}" for t in tables for what in ("update", "delete", "replace")}
        else:
            names = set(db.session.scalars(sa.text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
            expected = {f"{t}_no_{what}" for t in tables for what in ("change", "truncate")}
        assert expected <= names


# --- a database that had events before the audit key was introduced ----------------------------


def _legacy_database(databases, tmp_path, events: int, tamper: str | None = None):
    """A database at the revision before seals holding ``events`` events, then upgraded to
    head; ``tamper`` is run on it (triggers removed) before the upgrade."""
    from datetime import UTC, datetime

    import flask_migrate

    from tests.conftest import build_app

    url = databases.new_url()
    legacy = build_app(url, str(tmp_path / "legacy-instance"))
    columns = [c for c in AuditEvent.__table__.columns if c.name != "seal"]
    with legacy.app_context():
        flask_migrate.upgrade(revision="0007")
        prev_hash = "0" * 64
        for seq in range(1, events + 1):
            event = AuditEvent(
                seq=seq,
                occurred_at=datetime(2026, 1, seq, 9, 0, tzinfo=UTC),
                username="before",
                action="test.legacy",
                entity_type="thing",
                entity_key=f"L-{seq}",
                new_values={"n": seq},
                prev_hash=prev_hash,
            )
            event.hash = audit.event_hash(event, prev_hash)
            db.session.execute(
                sa.insert(sa.table("audit_event", *[sa.column(c.name, c.type) for c in columns])).values(
                    {c.name: getattr(event, c.key) for c in columns}
                )
            )
            prev_hash = event.hash
        db.session.execute(
            sa.text("UPDATE audit_chain_head SET seq = :seq, hash = :hash"),
            {"seq": events, "hash": prev_hash},
        )
        db.session.commit()
    if tamper:
        _unprotect(legacy)
        _raw(legacy, tamper)
    with legacy.app_context():
        flask_migrate.upgrade()
        db.session.remove()
        db.engine.dispose()
    return url, legacy


def _drop(databases, url, application) -> None:
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


def test_the_upgrade_vouches_for_the_events_written_before_the_key(databases, tmp_path):
    url, legacy = _legacy_database(databases, tmp_path, 3)
    try:
        with legacy.app_context():
            events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
            assert [e.seal is None for e in events] == [True, True, True, False]
            assert (events[3].action, events[3].username) == ("audit.sealed", "database upgrade")
            assert events[3].new_values == {"sealed_through": 3, "hash": events[2].hash}
            assert audit.verify_chain() == audit.ChainCheck(True, 4, None, None, unsealed=3)
            assert audit.seal_trail("command line") is None  # nothing left to seal

            audit.record("test.event", "thing", "T-5", username="tester")
            db.session.commit()
            assert audit.verify_chain() == audit.ChainCheck(True, 5, None, None, unsealed=3)
            db.session.remove()
            db.engine.dispose()
        _unprotect(legacy)
        _rewrite_and_recompute(legacy, 2, "nothing happened")
        check = _verify(legacy)
        assert (check.ok, check.checked, check.first_bad) == (False, 3, 4)
        assert "it or one of the unsealed events 1 to 3 before it was rewritten" in check.problem
    finally:
        _drop(databases, url, legacy)


def test_a_broken_trail_is_not_sealed_by_the_upgrade_nor_by_the_command(databases, tmp_path):
    url, legacy = _legacy_database(
        databases, tmp_path, 3, tamper="UPDATE audit_event SET reason = 'edited' WHERE seq = 2"
    )
    try:
        with legacy.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 3
            check = audit.verify_chain()
            assert (check.ok, check.first_bad, check.problem) == (
                False,
                2,
                "its content no longer matches its hash",
            )
            with pytest.raises(WrongState, match="broken at event 2"):
                audit.seal_trail("command line")
            assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 3
    finally:
        _drop(databases, url, legacy)


def test_removing_every_seal_and_writing_on_is_found(databases, tmp_path):
    """Seals removed from the events and the head, as if the trail predated the key: the next
    event is sealed, but nothing vouches for the unsealed ones before it."""
    url, legacy = _legacy_database(databases, tmp_path, 3)
    try:
        _unprotect(legacy)
        _raw(legacy, "UPDATE audit_event SET seal = NULL", "UPDATE audit_chain_head SET seal = NULL")
        with legacy.app_context():
            audit.record("test.event", "thing", "T-5", username="tester")
            db.session.commit()
        check = _verify(legacy)
        assert (check.ok, check.checked, check.first_bad) == (False, 4, 5)
        assert check.problem == (
            "events 1 to 4 have no seal, and this event is not the audit.sealed event that vouches for them"
        )
    finally:
        _drop(databases, url, legacy)


def test_nothing_is_written_after_the_head_lost_its_seal(app):
    _write_events(app, 5)
    _unprotect(app)
    with app.app_context():
        third_hash = db.session.get(AuditEvent, 3).hash
    _raw(
        app,
        "DELETE FROM audit_event WHERE seq >= 4",
        f"UPDATE audit_chain_head SET seq = 3, hash = '{third_hash}', seal = NULL",
    )
    with app.app_context():
        with pytest.raises(RuntimeError, match="has lost its seal"):
            audit.record("test.event", "thing", "T-6", username="tester")
        db.session.rollback()
    check = _verify(app)
    assert (check.ok, check.checked, check.first_bad, check.problem) == (
        False,
        3,
        4,
        "the chain head has lost its seal",
    )
