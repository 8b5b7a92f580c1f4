"""The flask commands: users, demo, audit verify and backup, on both database engines."""

import hashlib
import sqlite3
from collections import Counter
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from qa_app.demo import (
    DEMO_PASSWORD,
    FROZEN_ACKNOWLEDGEMENT,
    GAP_DISPOSITION,
    LABORATORY_CAUSE,
    LIQUID_FORMULA,
    REFILL_REASON,
    REJECTED_API_REASON,
)
from qa_app.extensions import db
from qa_app.models import (
    AuditEvent,
    BalanceCheck,
    Batch,
    Certificate,
    Disposition,
    Excursion,
    Formula,
    Material,
    MaterialLot,
    Reading,
    ReadingUpload,
    Result,
    ResultInvalidation,
    StorageUnit,
    TrendSignal,
    User,
    WeightCheck,
)
from qa_app.services import balances, batches, clock, product_reviews, stays
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
    assert (
        "Readings every 5 minutes: SHELF-A 105,120, FRIDGE-1 105,103; 6 excursions, 4 needing a disposition."
        in result.output
    )
    found = demo_readings(app)
    for code in ("SHELF-A", "FRIDGE-1"):
        assert found[code]["span"] == timedelta(days=365) - timedelta(minutes=5)
        assert started - timedelta(minutes=5) < found[code]["last"] <= clock.utcnow()
    # 365 days × 288 a day: the logger's export for the year, then the last week as the sensor
    # posts it; FRIDGE-1's sensor sent nothing for 1 h 30 min five days ago (17 readings).
    assert (found["SHELF-A"]["count"], found["FRIDGE-1"]["count"]) == (105_120, 105_103)
    assert found["SHELF-A"]["uploads"] == [("csv", 103_104), ("api", 2_016)]
    assert found["FRIDGE-1"]["uploads"] == [("csv", 103_104), ("api", 1_999)]

    # Door left open, a night's power cut, a hot afternoon, 25 minutes below 0 °C, the sensor's
    # outage while restocking and a power cut three days ago.
    assert demo_excursions(app) == [
        ("FRIDGE-1", 200, 40.0, 9.5, 11.1, "allowable"),
        ("FRIDGE-1", 130, 305.0, 8.1, 17.0, "needs_disposition"),
        ("SHELF-A", 75, 190.0, 25.1, 28.1, "allowable"),
        ("FRIDGE-1", 45, 25.0, -1.4, 1.1, "needs_disposition"),
        ("FRIDGE-1", 5, 110.0, 8.3, 9.5, "needs_disposition"),
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
    # The history's 52 capsule batches (one a fortnight: 50 released, 1 rejected, 1 recalled) and
    # the twelve recent ones; every released capsule batch has its certificate, the trituration none.
    assert Counter(states) == {
        "awaiting_release": 2, "discarded": 1, "draft": 2, "on_hold": 1, "quarantine": 1, "recalled": 2,
        "rejected": 2, "released": 53,
    }  # fmt: skip
    assert Counter(tuple(c) for c in certificates) == {
        ("recalled", "revoked", 1): 2, ("released", "valid", 1): 52,
    }  # fmt: skip

    # Three balances with a month of checks, and one each on the 52 mornings of the history's
    # weighings; a 10 % trituration approved, 0.5 mg capsules made from it.
    with app.app_context():
        figures = [(b.code, float(balances.minimum_weight_mg(b))) for b in balances.list_balances()]
        failed = db.session.scalars(sa.select(BalanceCheck).where(BalanceCheck.passed.is_(False))).all()
        checks = db.session.scalar(sa.select(sa.func.count()).select_from(BalanceCheck))
        usable = [b.code for b, _minimum in balances.usable_balances()]
    assert figures == [("AB204-02", 100.0), ("PB3002", 12000.0), ("XS205-01", 8.2)]
    assert checks == 3 * 31 + 1 + 3 * 52
    assert [(c.balance.code, c.nominal_mg, c.observed_mg) for c in failed] == [
        ("AB204-02", 100_000.0, 100_140.0)
    ]
    assert usable == ["XS205-01", "AB204-02", "PB3002"]
    trit = demo_batch(app, "LDN-TRIT10", "released")
    made = [demo_batch(app, "LDN-CAP-T", status) for status in ("released", "awaiting_release")]
    with app.app_context():
        produced = batches.get_batch(trit.lot_number).produced_lot
        assert (produced.material.code, produced.status, produced.assay_percent) == (
            "NTX-TRIT10",
            "approved",
            10.0,
        )
        assert [b.calculation["api_mg"] for b in made] == [500.0, 500.0]
        assert [b.api_lot_id for b in made] == [produced.id, produced.id]


def demo_api(client, url: str) -> dict:
    token = client.post("/api/v1/tokens", json={"username": "inspector", "password": DEMO_PASSWORD})
    response = client.get(url, headers={"Authorization": f"Bearer {token.get_json()['token']}"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def demo_batch(app, code: str, status: str) -> Batch:
    """The latest batch of the formula in that status (the history's are older)."""
    with app.app_context():
        batch = db.session.scalars(
            sa.select(Batch)
            .join(Batch.formula_version)
            .join(Formula)
            .where(Formula.code == code, Batch.status == status)
            .order_by(Batch.compounded_at.desc())
            .limit(1)
        ).one()
        db.session.expunge(batch)
        return batch


def test_demo_shows_each_rule_through_the_record_it_leaves(app, client, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    excursions = {
        (e["min_c"], e["max_c"]): e for e in demo_api(client, "/api/v1/excursions?per_page=100")["items"]
    }

    # 25 minutes below 0 °C, shorter than FRIDGE-1's 30-minute alarm delay: beyond the
    # allowance it counts at once; acknowledged, and no batch was in the refrigerator.
    frozen = excursions[(-1.4, 1.1)]
    assert (frozen["duration_minutes"], frozen["gap_minutes"], frozen["affected_batches"]) == (25.0, 0.0, [])
    assert frozen["reason"] == "Needs disposition: it fell to −1.4 °C, beyond the allowance (below 0 °C)."
    assert (frozen["acknowledged_by"], frozen["acknowledgement"]) == ("reviewer", FROZEN_ACKNOWLEDGEMENT)
    with app.app_context():
        delay = db.session.scalar(
            sa.select(StorageUnit.alarm_delay_minutes).where(StorageUnit.code == "FRIDGE-1")
        )
    assert delay == 30

    # 9.5 °C at most, but the sensor sent nothing for 90 minutes: a data gap is not evidence. It
    # held the oral liquid, which has a signed disposition on it; the later power cut still holds it.
    gap = excursions[(8.3, 9.5)]
    assert (gap["gap_minutes"], gap["duration_minutes"], gap["classification"], gap["state"]) == (
        90.0, 110.0, "needs_disposition", "dispositioned",
    )  # fmt: skip
    assert gap["reason"] == (
        "Needs disposition: no readings for 1 h 30 min during it or next to it: a data gap is not evidence."
    )
    held = demo_batch(app, "LDN-LIQ-1", "on_hold")
    assert gap["batches"] == [{"lot_number": held.lot_number, "status": "on_hold"}]
    with app.app_context():
        disposition = db.session.scalars(
            sa.select(Disposition).where(Disposition.excursion_id == gap["id"])
        ).one()
        assert (disposition.batch_id, disposition.decision, disposition.comment) == (
            held.id, "acceptable", GAP_DISPOSITION,
        )  # fmt: skip
        assert (disposition.decided_by.username, disposition.signature.meaning) == ("reviewer", "reviewed")
        assert [e.max_c for e in stays.pending_dispositions(held.id)] == [16.2]

    # The API lot whose certificate assay (97.2 % anhydrous) is outside the monograph's
    # 98.0–102.0 % could not be approved: it was rejected with that reason.
    lots = {lot["lot_number"]: lot for lot in demo_api(client, "/api/v1/material-lots?per_page=100")["items"]}
    short = lots["LT-3390"]
    assert (short["status"], short["assay_basis"], short["assay_anhydrous_percent"], short["water_percent"]) == (
        "rejected", "anhydrous", 97.2, 0.6,
    )  # fmt: skip
    assert short["decision_reason"] == REJECTED_API_REASON
    assert all(lot["assay_basis"] in ("as_is", "anhydrous") for lot in lots.values() if lot["kind"] == "api")
    with app.app_context():
        material = db.session.scalar(sa.select(Material).where(Material.code == "NTX-HCL"))
        assert (material.assay_min_percent, material.assay_max_percent) == (98.0, 102.0)
        # Four eyes: the syrup lot was received by one reviewer and approved by another.
        syrup = db.session.scalar(sa.select(MaterialLot).where(MaterialLot.supplier_lot == "OS-5510"))
        assert (syrup.received_by.username, syrup.decided_by.username, syrup.status) == (
            "reviewer2", "reviewer", "approved",
        )  # fmt: skip
        decided = db.session.scalars(
            sa.select(MaterialLot).where(MaterialLot.decided_by_id.is_not(None))
        ).all()
        assert all(lot.received_by_id != lot.decided_by_id for lot in decided)

    # The oral liquid was dated by its category (aqueous, not preserved, so refrigerated), then
    # by its stability study; the capsules are nonaqueous (other), on the room shelf.
    versions = demo_api(client, "/api/v1/formulas/LDN-LIQ-1")["versions"]
    assert [(v["version"], v["status"], v["body"]["storage"], v["body"]["bud"]) for v in versions] == [
        (1, "superseded", "refrigerated", {"category": "aqueous_nonpreserved"}),
        (2, "approved", "refrigerated", {"days": 60, "reference": LIQUID_FORMULA["bud"]["reference"]}),
    ]

    # The released capsules: a failed weight check (199.8 and 201.7 mg under 202.5 mg), then a
    # passing one whose reason documents it on the review.
    released = demo_batch(app, "LDN-CAP", "released")
    with app.app_context():
        checks = db.session.scalars(
            sa.select(WeightCheck).where(WeightCheck.batch_id == released.id).order_by(WeightCheck.id)
        ).all()
        assert [(c.passed, min(c.weights_mg), c.reason) for c in checks] == [
            (False, 199.8, None),
            (True, 222.9, REFILL_REASON),
        ]

    # The capsules awaiting release: assay 86.4 % out of specification, a phase I investigation
    # with a laboratory cause and no retest planned, and its one replacement result, 99.1 %.
    waiting = demo_batch(app, "LDN-CAP", "awaiting_release")
    with app.app_context():
        assays = db.session.scalars(
            sa.select(Result)
            .where(Result.batch_id == waiting.id, Result.test_key == "assay")
            .order_by(Result.id)
        ).all()
        assert [(r.values, r.status, r.retest_of_id is not None) for r in assays] == [
            ([86.4], "fail", False),
            ([99.1], "pass", True),
        ]
        replacement_of = assays[1].retest_of_id
        invalidation = db.session.scalars(sa.select(ResultInvalidation)).one()
        assert (invalidation.result_id, invalidation.investigation_id) == (assays[0].id, replacement_of)
    investigation = demo_api(client, f"/api/v1/investigations/{replacement_of}")
    assert (
        investigation["phase"], investigation["assignable_cause"], investigation["outcome"],
        investigation["retests_allowed"], investigation["cause"],
    ) == ("I", "laboratory", "invalidated", 0, LABORATORY_CAUSE)  # fmt: skip

    # The released batch's certificate carries its verification code; the trail verifies.
    with app.app_context():
        code = db.session.scalar(
            sa.select(Certificate.verification_code).where(Certificate.batch_id == released.id)
        )
    assert len(code) >= 16

    # The pages show them to a reviewer.
    client.post("/login", data={"username": "reviewer", "password": DEMO_PASSWORD})
    page = client.get(f"/storage/excursions/{gap['id']}").get_data(as_text=True)
    assert "dispositioned" in page and "1 h 30 min" in page and "Sensor offline" in page
    page = client.get(f"/review/{released.lot_number}").get_data(as_text=True)
    assert "199.8" in page and "powder bridged in the filling plate" in page
    page = client.get(f"/lots/{short['barcode']}").get_data(as_text=True)
    assert "97.2" in page and "outside the monograph limits" in page

    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "Audit trail intact" in verified.output


def demo_pdf(client, url: str):
    token = client.post("/api/v1/tokens", json={"username": "inspector", "password": DEMO_PASSWORD})
    response = client.get(url, headers={"Authorization": f"Bearer {token.get_json()['token']}"})
    assert response.status_code == 200
    return response


def test_demo_trends_two_years_of_capsules_with_a_drift_and_signs_last_years_review(app, client, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output

    # 1.5 mg: 26 batches, one every four weeks; the assay creeps up over the last ten and the
    # ninth of them above the centre line completes Nelson rule 2, two days after it was made
    # (when its results came in). It is the demo's one trend signal, waiting for a reviewer.
    drift = demo_api(client, "/api/v1/trends?formula=LDN-CAP&attribute=assay&strength=1.5")
    points = drift["points"]
    assert drift["n"] == 26
    assert all(p["value"] > drift["center"] for p in points[16:25])
    assert drift["signals"] == [
        {
            "rule": 2,
            "lot_number": points[24]["lot_number"],
            "description": "Nine points in a row above the centre line.",
        }
    ]
    with app.app_context():
        stored = db.session.scalars(sa.select(TrendSignal)).all()
        assert [(s.formula.code, s.strength_mg, s.attribute, s.rule, s.batch.lot_number) for s in stored] == [
            ("LDN-CAP", 1.5, "assay", 2, points[24]["lot_number"])
        ]
        signal = stored[0]
        assert signal.acknowledged_at is None
        made_on = clock.local_date(signal.batch.compounded_at)
        assert clock.local_date(signal.detected_at) == made_on + timedelta(days=2)

    # 4.5 mg stays in control: 26 batches and the recent rejected one, Cpk far above 1.33.
    steady = demo_api(client, "/api/v1/trends?formula=LDN-CAP&attribute=assay&strength=4.5")
    assert (steady["n"], steady["signals"]) == (27, [])
    assert steady["capability"]["n"] == 27
    assert steady["capability"]["cpk"] > 1.33

    # Last year's review, signed by the reviewer in January: the stored PDF is the one its SHA-256
    # names, and its conclusions count the year's batches, one rejected and one recalled.
    with app.app_context():
        today = clock.today()
    year = today.year - 1
    assert (
        f"Annual product review of LDN-CAP signed for {year}; 1 trend signal waiting for a reviewer."
        in result.output
    )
    listed = demo_api(client, "/api/v1/formulas/LDN-CAP/reviews")["items"]
    assert [(r["year"], r["signed_by"]) for r in listed] == [(year, "Rita Reviewer, PharmD")]
    pdf = demo_pdf(client, f"/api/v1/formulas/LDN-CAP/reviews/{year}.pdf")
    assert pdf.headers["X-Review-Status"] == "signed"
    assert hashlib.sha256(pdf.data).hexdigest() == listed[0]["sha256"]
    with app.app_context():
        review = product_reviews.get("LDN-CAP", year)
        assert review.sha256 == hashlib.sha256(review.pdf).hexdigest()
        assert (review.signature.meaning, review.signed_by.username) == ("reviewed", "reviewer")
        assert clock.local_date(review.signed_at) == min(date(today.year, 1, 15), today - timedelta(days=2))
        made = db.session.scalars(
            sa.select(Batch.status).where(
                Batch.compounded_at >= clock.start_of_local_day(date(year, 1, 1)),
                Batch.compounded_at < clock.start_of_local_day(date(year + 1, 1, 1)),
            )
        ).all()
    assert 26 <= len(made) <= 28  # 13 or 14 of each strength in a year of four-week steps
    assert Counter(made) == {"released": len(made) - 2, "rejected": 1, "recalled": 1}
    assert review.conclusions.startswith(f"{len(made)} batches were compounded in {year} ")
    assert "Rejected before release: 1" in review.conclusions
    assert "Recalled after release: 1" in review.conclusions


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
