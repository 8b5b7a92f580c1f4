"""The flask commands: users, demo, audit verify and backup, on both database engines."""

import sqlite3
from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_app.demo import DEMO_PASSWORD
from qa_app.extensions import db
from qa_app.models import AuditEvent, Batch, Certificate, Excursion, Reading, ReadingUpload, StorageUnit, User
from qa_app.services import clock, stays
from tests.conftest import PASSWORD, make_user
from tests.databases import POSTGRES

GOOD_PASSWORD = "a-long-enough-password"
SAM = ["users", "create", "sam", "--role", "technician", "--role", "reviewer", "--name", "Sam Smith"]


def create_sam(runner, password: str = GOOD_PASSWORD, *extra: str):
    return runner.invoke(args=[*SAM, "--password-stdin", *extra], input=f"{password}\n")


def get_user(app, username: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is not None:
            user.roles  # noqa: B018  (load the roles before the session closes)
            db.session.expunge(user)
        return user


def last_event(app) -> AuditEvent:
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        db.session.expunge(event)
        return event


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_create_a_user_with_two_roles_from_standard_input(app, runner):
    result = create_sam(runner)
    assert result.exit_code == 0, result.output
    assert "Created sam (reviewer, technician)" in result.output
    sam = get_user(app, "sam")
    assert (sam.full_name, sam.roles, sam.active) == ("Sam Smith", {"technician", "reviewer"}, True)


def test_the_created_user_signs_in_with_that_password(client, runner):
    create_sam(runner)
    response = client.post("/api/v1/tokens", json={"username": "sam", "password": GOOD_PASSWORD})
    assert response.status_code == 201


def test_a_created_user_is_in_the_audit_trail_as_made_by_the_command_line(app, runner):
    create_sam(runner)
    event = last_event(app)
    assert (event.action, event.entity_key, event.username, event.user_id) == (
        "user.created",
        "sam",
        "command line",
        None,
    )
    assert event.new_values["roles"] == ["reviewer", "technician"]


def test_the_password_can_come_from_a_prompt_typed_twice(app, runner):
    result = runner.invoke(args=SAM, input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert get_user(app, "sam") is not None


def test_a_prompt_whose_two_entries_differ_asks_again(app, runner):
    result = runner.invoke(args=SAM, input=f"{GOOD_PASSWORD}\nsomething-else-entirely\n")
    assert result.exit_code != 0
    assert get_user(app, "sam") is None


def test_a_short_password_is_refused_naming_twelve_characters(app, runner):
    result = create_sam(runner, "eleven-char")
    assert result.exit_code != 0
    assert "12 characters" in result.output
    assert get_user(app, "sam") is None
    assert count(app, AuditEvent) == 0


def test_an_unknown_role_is_refused_by_the_choice(app, runner):
    result = runner.invoke(
        args=["users", "create", "sam", "--role", "chef", "--name", "Sam", "--password-stdin"],
        input=f"{GOOD_PASSWORD}\n",
    )
    assert result.exit_code == 2
    assert "chef" in result.output
    assert get_user(app, "sam") is None


def test_a_role_is_required(app, runner):
    result = runner.invoke(
        args=["users", "create", "sam", "--name", "Sam", "--password-stdin"], input=f"{GOOD_PASSWORD}\n"
    )
    assert result.exit_code == 2
    assert get_user(app, "sam") is None


def test_a_duplicate_username_is_refused(app, runner):
    create_sam(runner)
    before = count(app, AuditEvent)
    result = create_sam(runner)
    assert result.exit_code != 0
    assert "exists already" in result.output
    assert count(app, User) == 1
    assert count(app, AuditEvent) == before


def test_deactivate_makes_the_user_inactive_and_records_why(app, runner):
    create_sam(runner)
    result = runner.invoke(args=["users", "deactivate", "sam", "--reason", "left the pharmacy"])
    assert result.exit_code == 0, result.output
    assert "Deactivated sam" in result.output
    assert get_user(app, "sam").active is False
    event = last_event(app)
    assert (event.action, event.username, event.reason) == (
        "user.deactivated",
        "command line",
        "left the pharmacy",
    )


def test_deactivating_twice_fails(runner):
    create_sam(runner)
    runner.invoke(args=["users", "deactivate", "sam"])
    result = runner.invoke(args=["users", "deactivate", "sam"])
    assert result.exit_code != 0
    assert "already deactivated" in result.output


@pytest.mark.parametrize("command", ["deactivate", "unlock"])
def test_an_unknown_user_fails(runner, command):
    result = runner.invoke(args=["users", command, "nobody"])
    assert result.exit_code != 0
    assert "No user named 'nobody'" in result.output


def lock_out(client, username: str) -> None:
    for _ in range(5):
        response = client.post("/api/v1/tokens", json={"username": username, "password": "not-the-password"})
        assert response.status_code == 401


def test_unlock_lifts_a_lockout(app, client, runner):
    make_user(app, "tina", ["technician"])
    lock_out(client, "tina")
    assert client.post("/api/v1/tokens", json={"username": "tina", "password": PASSWORD}).status_code == 401
    result = runner.invoke(args=["users", "unlock", "tina"])
    assert result.exit_code == 0, result.output
    assert "Unlocked tina" in result.output
    assert client.post("/api/v1/tokens", json={"username": "tina", "password": PASSWORD}).status_code == 201
    assert last_event(app).action == "token.issued"


def test_unlock_is_in_the_audit_trail(app, client, runner):
    make_user(app, "tina", ["technician"])
    lock_out(client, "tina")
    runner.invoke(args=["users", "unlock", "tina"])
    event = last_event(app)
    assert (event.action, event.entity_key, event.username) == ("user.unlocked", "tina", "command line")
    assert event.new_values == {"locked_until": None, "failed_attempts": 0}


def test_unlocking_a_user_who_is_not_locked_fails(app, runner):
    make_user(app, "tina", ["technician"])
    result = runner.invoke(args=["users", "unlock", "tina"])
    assert result.exit_code != 0
    assert "not locked" in result.output


def test_audit_verify_reports_an_intact_trail_with_the_count(app, runner):
    create_sam(runner)
    runner.invoke(args=["users", "deactivate", "sam"])
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    assert "2 events checked" in result.output


def test_audit_verify_of_an_empty_trail_is_intact(runner):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "intact: 0 events checked" in result.output


def tamper_with_the_first_event(app) -> None:
    """Get past the append-only trigger, as someone with database access could, and edit event 1."""
    with app.app_context():
        if POSTGRES:
            db.session.execute(sa.text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change"))
        else:
            db.session.execute(sa.text("DROP TRIGGER audit_event_no_update"))
        db.session.execute(sa.text("UPDATE audit_event SET reason = 'x' WHERE seq = 1"))
        db.session.commit()


def test_audit_verify_fails_naming_the_altered_event(app, runner):
    create_sam(runner)
    runner.invoke(args=["users", "deactivate", "sam"])
    tamper_with_the_first_event(app)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at event 1" in result.stderr
    assert "intact" not in result.stdout


def test_the_append_only_trigger_refuses_an_edit(app, runner):
    create_sam(runner)
    with app.app_context(), pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.text("UPDATE audit_event SET reason = 'x' WHERE seq = 1"))
        db.session.commit()


def test_demo_prints_the_logins(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert DEMO_PASSWORD in result.output
    logins = [line.split()[0] for line in result.output.splitlines()[1:]]
    assert {"tech", "reviewer", "admin", "inspector"} <= set(logins)


def test_demo_logins_work(app, client, runner):
    runner.invoke(args=["demo"])
    response = client.post("/api/v1/tokens", json={"username": "admin", "password": DEMO_PASSWORD})
    assert response.status_code == 201


def test_demo_twice_creates_no_duplicates(app, runner):
    first = runner.invoke(args=["demo"])
    users, events, readings = count(app, User), count(app, AuditEvent), count(app, Reading)
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert second.output == first.output
    assert (count(app, User), count(app, AuditEvent), count(app, Reading)) == (users, events, readings)


def demo_readings(app) -> dict:
    """Per unit: readings, first and last time, and the uploads (source, accepted) in order."""
    with app.app_context():
        found = {}
        for code in ("SHELF-A", "FRIDGE-1"):
            unit = db.session.scalar(sa.select(StorageUnit).where(StorageUnit.code == code))
            n, first, last = db.session.execute(
                sa.select(sa.func.count(), sa.func.min(Reading.at), sa.func.max(Reading.at)).where(
                    Reading.storage_unit_id == unit.id
                )
            ).one()
            uploads = db.session.execute(
                sa.select(ReadingUpload.source, ReadingUpload.accepted)
                .where(ReadingUpload.storage_unit_id == unit.id)
                .order_by(ReadingUpload.id)
            ).all()
            found[code] = {
                "count": n,
                "span": last - first,
                "last": last,
                "uploads": [tuple(u) for u in uploads],
            }
        return found


def demo_excursions(app) -> list[tuple]:
    """(unit, days before today it began, minutes, min °C, max °C, classification), oldest first."""
    with app.app_context():
        today = clock.today()
        rows = db.session.execute(
            sa.select(
                StorageUnit.code,
                Excursion.start,
                Excursion.duration_minutes,
                Excursion.min_c,
                Excursion.max_c,
                Excursion.classification,
            )
            .join(StorageUnit)
            .where(Excursion.withdrawn_at.is_(None))
            .order_by(Excursion.start)
        ).all()
        return [(code, (today - clock.local_date(start)).days, *rest) for code, start, *rest in rows]


def test_demo_loads_a_year_of_readings_every_five_minutes_for_each_unit(app, runner):
    started = clock.utcnow()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Readings every 5 minutes: SHELF-A 105,120, FRIDGE-1 105,120; 4 excursions" in result.output
    found = demo_readings(app)
    for code in ("SHELF-A", "FRIDGE-1"):
        assert found[code]["count"] == 105_120  # 365 days × 288 a day
        assert found[code]["span"] == timedelta(days=365) - timedelta(minutes=5)
        assert started - timedelta(minutes=5) < found[code]["last"] <= clock.utcnow()
        # The logger's export for the year, then the last week as the sensor posts it.
        assert found[code]["uploads"] == [("csv", 103_104), ("api", 2_016)]

    # Door left open, a night's power cut, a hot afternoon and a power cut three days ago.
    assert demo_excursions(app) == [
        ("FRIDGE-1", 200, 40.0, 9.5, 11.1, "allowable"),
        ("FRIDGE-1", 130, 305.0, 8.1, 17.0, "needs_disposition"),
        ("SHELF-A", 75, 190.0, 25.1, 28.1, "allowable"),
        ("FRIDGE-1", 3, 235.0, 8.4, 16.2, "needs_disposition"),
    ]

    # The oral liquid placed in FRIDGE-1 six days ago waits for a disposition on the last one.
    with app.app_context():
        held = db.session.scalars(sa.select(Batch).where(Batch.status == "on_hold")).all()
        assert [(b.formula_version.formula.code, b.storage_unit.code) for b in held] == [
            ("LDN-LIQ-1", "FRIDGE-1")
        ]
        waiting = stays.pending_dispositions(held[0].id)
        assert [(e.max_c, e.classification) for e in waiting] == [(16.2, "needs_disposition")]
        assert held[0].locations[0].placed_at < waiting[0].start
        lot = held[0].lot_number
    assert f"On hold for a disposition: {lot}." in result.output

    # A batch in every state, and the certificates: valid for the released, revoked for the recalled.
    with app.app_context():
        states = sorted(db.session.scalars(sa.select(Batch.status)))
        certificates = db.session.execute(
            sa.select(Batch.status, Certificate.status, Certificate.version)
            .join(Batch, Certificate.batch_id == Batch.id)
            .order_by(Batch.status)
        ).all()
    assert states == [
        "awaiting_release", "discarded", "draft", "draft", "on_hold", "quarantine", "recalled", "rejected", "released",
    ]  # fmt: skip
    assert [tuple(c) for c in certificates] == [("recalled", "revoked", 1), ("released", "valid", 1)]


def user_rows_of_the_app(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            sa.text('SELECT id, username, full_name, password_hash FROM "user" ORDER BY id')
        )
        return [tuple(row) for row in rows]


def test_backup_copies_sqlite_online_and_points_postgresql_to_pg_dump(app, runner, tmp_path):
    """One test, both engines: each CI run checks the half its database allows, and nothing skips."""
    if POSTGRES:
        target = tmp_path / "copy.sqlite3"
        result = runner.invoke(args=["backup", str(target)])
        assert result.exit_code != 0
        assert "pg_dump" in result.output
        assert not target.exists()
        return
    runner.invoke(args=["demo"])
    target = tmp_path / "copy.sqlite3"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output
    with sqlite3.connect(target) as copy:
        rows = copy.execute(
            'SELECT id, username, full_name, password_hash FROM "user" ORDER BY id'
        ).fetchall()
    assert rows == user_rows_of_the_app(app)
    assert {"tech", "reviewer", "admin", "inspector"} <= {row[1] for row in rows}
    written = target.read_bytes()
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code != 0
    assert "exists already" in again.output
    assert target.read_bytes() == written
