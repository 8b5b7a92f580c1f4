"""Balances, service level: the records (admin), the daily performance checks (technician), and
the weighing gate every weighed component passes (USP <41>)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_app.errors import Conflict, InvalidInput, NotPermitted
from qa_app.extensions import db
from qa_app.models import AuditEvent, BalanceCheck, BatchComponent
from qa_app.services import balances, batches, clock
from tests.builders import setup_master_data, user


@pytest.fixture
def lots(app, users):
    """The master data with XS205 (minimum weight 8.2 mg) and UMX2 (0.2 mg), both checked today."""
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def ctx(app, lots):
    with app.app_context():
        yield


def precision_balance(code: str = "PB3002", check: bool = True):
    """A precision balance, d 0.1 mg and s 0.05 mg: minimum weight 100.0 mg, capacity 3100 g."""
    balance = balances.create_balance(
        user("ada"),
        code=code,
        name="Mettler Toledo PB3002 precision balance",
        readability_mg=0.1,
        repeatability_sd_mg=0.05,
        capacity_g=3100.0,
    )
    if check:
        balances.record_check(user("tina"), code, nominal_mg=1000000.0, observed_mg=1000000.0)
    return balance


def events(action: str, key: str | None = None) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    if key is not None:
        stmt = stmt.where(AuditEvent.entity_key == key)
    return list(db.session.scalars(stmt))


def capsule_draft() -> str:
    """100 capsules of 1.5 mg: 151.52 mg of API on the default lot."""
    return batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number


def refused(lot: str, barcode: str, quantity_mg: float, balance: str | None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        batches.record_component(user("tina"), lot, barcode=barcode, quantity_mg=quantity_mg, balance=balance)
    db.session.rollback()  # as the request that asked for it ends
    return caught.value


def nothing_recorded(lot: str) -> bool:
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(BatchComponent))
    return rows == 0 and events("batch.component_recorded", lot) == []


# --- the balance records ---------------------------------------------------------------------------


def test_an_admin_creates_a_balance_with_its_minimum_weight(ctx):
    balance = precision_balance(check=False)
    assert (balance.code, balance.readability_mg, balance.repeatability_sd_mg, balance.capacity_g) == (
        "PB3002",
        0.1,
        0.05,
        3100.0,
    )
    assert balance.active is True
    assert float(balances.minimum_weight_mg(balance)) == 100.0
    [created] = events("balance.created", "PB3002")
    assert created.username == "ada"
    assert created.new_values["minimum_weight_mg"] == 100.0


def test_the_two_balances_of_the_master_data_have_their_minimum_weights(ctx):
    assert [(b.code, float(m)) for b, m in balances.usable_balances()] == [("UMX2", 0.2), ("XS205", 8.2)]


@pytest.mark.parametrize("username", ["tina", "rob", "ivan"])
def test_only_an_admin_creates_a_balance(ctx, username):
    with pytest.raises(NotPermitted):
        balances.create_balance(
            user(username),
            code="PB3002",
            name="Precision",
            readability_mg=0.1,
            repeatability_sd_mg=0.05,
            capacity_g=3100.0,
        )
    db.session.rollback()
    assert [b.code for b in balances.list_balances()] == ["UMX2", "XS205"]


def test_bad_fields_are_each_named(ctx):
    with pytest.raises(InvalidInput) as caught:
        balances.create_balance(
            user("ada"),
            code="XS 205",
            name="  ",
            readability_mg=0,
            repeatability_sd_mg="0.05",
            capacity_g=None,
        )
    fields = caught.value.fields
    assert fields == {
        "code": "Use only letters A–Z, digits, hyphens (-) and underscores (_), e.g. XS205.",
        "name": "Give the balance's name (make, model, where it stands).",
        "readability_mg": fields["readability_mg"],
        "repeatability_sd_mg": "Repeatability (standard deviation) must be a number of mg.",
        "capacity_g": "Capacity is required, in g.",
    }
    assert fields["readability_mg"].startswith(
        "Readability must be between 0.000001 and 1"
    )  # 0 is too little
    assert caught.value.message == "The balance was not saved: correct the marked fields."


def test_a_usp_41_test_date_in_the_future_is_refused(ctx):
    with pytest.raises(InvalidInput) as caught:
        balances.create_balance(
            user("ada"),
            code="PB3002",
            name="Precision",
            readability_mg=0.1,
            repeatability_sd_mg=0.05,
            capacity_g=3100.0,
            qualified_on=clock.today() + timedelta(days=1),
        )
    assert caught.value.fields == {"qualified_on": "The USP <41> test date must not be in the future."}


def test_a_code_taken_already_is_a_conflict(ctx):
    with pytest.raises(Conflict) as caught:
        balances.create_balance(
            user("ada"),
            code="xs205",
            name="Another",
            readability_mg=0.1,
            repeatability_sd_mg=0.05,
            capacity_g=200.0,
        )
    assert caught.value.message == "Balance XS205 exists already."
    assert caught.value.fields == {"code": "This code is taken."}


def test_new_figures_are_audited_with_the_old_and_new_minimum_weight(ctx):
    precision_balance()
    balances.update_balance(user("ada"), "PB3002", reason="USP <41> test repeated", repeatability_sd_mg=0.02)
    assert float(balances.minimum_weight_mg(balances.get_balance("PB3002"))) == 82.0
    [updated] = events("balance.updated", "PB3002")
    assert (updated.username, updated.reason) == ("ada", "USP <41> test repeated")
    assert updated.old_values["minimum_weight_mg"] == 100.0
    assert updated.new_values["minimum_weight_mg"] == 82.0
    assert (updated.old_values["repeatability_sd_mg"], updated.new_values["repeatability_sd_mg"]) == (
        0.05,
        0.02,
    )


def test_only_an_admin_changes_a_balance(ctx):
    with pytest.raises(NotPermitted):
        balances.update_balance(user("tina"), "XS205", active=False)
    db.session.rollback()
    assert balances.get_balance("XS205").active is True


def test_a_balance_taken_out_of_use_is_unusable_and_keeps_its_record(ctx):
    balances.update_balance(user("ada"), "XS205", reason="sent for service", active=False)
    balance = balances.get_balance("XS205")
    state = balances.usability(balance)
    assert (balance.active, state.usable, state.reason) == (False, False, "balance XS205 is out of use")
    assert len(balances.checks(balance)) == 1
    [updated] = events("balance.updated", "XS205")
    assert (updated.old_values["active"], updated.new_values["active"]) == (True, False)
    assert [b.code for b, _minimum in balances.usable_balances()] == ["UMX2"]


# --- the daily performance check -------------------------------------------------------------------


def test_a_passing_check_is_stored_for_today_and_audited(ctx):
    precision_balance(check=False)
    check = balances.record_check(user("tina"), "PB3002", nominal_mg=1000000.0, observed_mg=1000800.0)
    assert (check.passed, check.error_percent, check.reason) == (True, 0.08, None)
    assert (check.local_date, check.recorded_by.username) == (clock.today(), "tina")
    [checked] = events("balance.checked", "PB3002")
    assert checked.username == "tina"
    assert checked.new_values["passed"] is True
    assert checked.new_values["error_percent"] == 0.08
    assert balances.usability(check.balance).usable is True


def test_a_failing_check_is_stored_with_its_reason_and_audited(ctx):
    precision_balance(check=False)
    check = balances.record_check(user("rob"), "PB3002", nominal_mg=1000000.0, observed_mg=1001200.0)
    assert (check.passed, check.error_percent) == (False, 0.12)
    assert check.reason == (
        "the balance read 1001200 mg for 1000000 mg, an error of +0.120 %, beyond ±0.10 %; "
        "have the balance adjusted or serviced, then check it again"
    )
    [checked] = events("balance.checked", "PB3002")
    assert (checked.new_values["passed"], checked.new_values["reason"]) == (False, check.reason)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BalanceCheck)) == 3  # with XS205, UMX2
    state = balances.usability(check.balance)
    assert state.usable is False
    assert state.reason.startswith(
        "today's last performance check of balance PB3002 failed (the balance read"
    )


def test_an_inspector_does_not_check_a_balance(ctx):
    with pytest.raises(NotPermitted):
        balances.record_check(user("ivan"), "XS205", nominal_mg=100000.0, observed_mg=100000.0)


def test_a_failed_check_then_a_passing_repeat_makes_the_balance_usable(ctx):
    precision_balance(check=False)
    tina = user("tina")
    balances.record_check(tina, "PB3002", nominal_mg=1000000.0, observed_mg=998000.0)  # −0.200 %
    assert balances.usability(balances.get_balance("PB3002")).usable is False
    balances.record_check(tina, "PB3002", nominal_mg=1000000.0, observed_mg=1000000.0)
    state = balances.usability(balances.get_balance("PB3002"))
    assert (state.usable, state.reason, state.check.passed) == (True, None, True)


def test_a_pass_then_a_failing_check_makes_the_balance_unusable(ctx):
    """The latest check of the day counts."""
    precision_balance()
    balances.record_check(user("tina"), "PB3002", nominal_mg=1000000.0, observed_mg=1002000.0)
    state = balances.usability(balances.get_balance("PB3002"))
    assert (state.usable, state.check.passed) == (False, False)
    assert [b.code for b, _minimum in balances.usable_balances()] == ["UMX2", "XS205"]


def test_a_passing_check_of_yesterday_does_not_count_today(ctx, monkeypatch):
    precision_balance(check=False)
    now = clock.utcnow()
    monkeypatch.setattr(clock, "utcnow", lambda: now - timedelta(days=1))
    yesterday = clock.today()
    check = balances.record_check(user("tina"), "PB3002", nominal_mg=1000000.0, observed_mg=1000000.0)
    assert (check.passed, check.local_date) == (True, yesterday)
    monkeypatch.undo()
    state = balances.usability(balances.get_balance("PB3002"))
    assert state.usable is False
    assert state.reason == (
        f"balance PB3002 has no performance check today ({clock.today().isoformat()}): "
        "check it with a test weight first"
    )


def test_the_database_refuses_to_change_or_delete_a_check(ctx):
    for statement in ("UPDATE balance_check SET passed = false", "DELETE FROM balance_check"):
        with pytest.raises(sa.exc.DatabaseError, match="balance_check is append-only"):
            db.session.execute(sa.text(statement))
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BalanceCheck)) == 2
    assert all(check.passed for check in db.session.scalars(sa.select(BalanceCheck)))


# --- the weighing gate, through the batch record ---------------------------------------------------


def test_a_weighing_without_a_balance_is_refused(ctx, lots):
    error = refused(capsule_draft(), lots["api"], 151.52, None)
    assert error.fields == {"balance": "Choose the balance you weigh on."}


def test_a_weighing_on_an_unknown_balance_is_refused(ctx, lots):
    error = refused(capsule_draft(), lots["api"], 151.52, "BAL-9")
    assert error.fields == {"balance": "No balance with code 'BAL-9'; choose one from the list."}


def test_a_weighing_on_a_balance_not_checked_today_is_refused(ctx, lots):
    precision_balance(check=False)
    lot = capsule_draft()
    error = refused(lot, lots["api"], 151.52, "PB3002")
    assert list(error.fields) == ["balance"]
    assert error.fields["balance"].startswith("Balance PB3002 has no performance check today")
    assert "check it with a test weight first" in error.fields["balance"]
    assert nothing_recorded(lot)


def test_a_weighing_on_a_balance_whose_check_failed_is_refused(ctx, lots):
    precision_balance()
    balances.record_check(user("tina"), "PB3002", nominal_mg=1000000.0, observed_mg=1002000.0)
    lot = capsule_draft()
    error = refused(lot, lots["api"], 151.52, "PB3002")
    assert list(error.fields) == ["balance"]
    assert error.fields["balance"].startswith("Today's last performance check of balance PB3002 failed")
    assert nothing_recorded(lot)


def test_a_weighing_below_the_minimum_weight_is_refused_and_nothing_is_written(ctx, lots):
    precision_balance()  # minimum weight 100.0 mg
    lot = capsule_draft()
    error = refused(lot, lots["mcc"], 50.0, "PB3002")
    assert list(error.fields) == ["quantity_mg"]
    message = error.fields["quantity_mg"]
    assert message.startswith("50.0 mg is below the minimum weight of balance PB3002 (100.0 mg, USP <41>)")
    assert "trituration" in message
    assert message.endswith(
        "(usable today: UMX2: 0.2 mg minimum, XS205: 8.2 mg minimum)"
    )  # those that would do
    assert nothing_recorded(lot)


def test_a_weighing_above_the_capacity_is_refused(ctx, lots):
    lot = capsule_draft()
    error = refused(lot, lots["mcc"], 230000.0, "XS205")
    assert list(error.fields) == ["quantity_mg"]
    assert error.fields["quantity_mg"].startswith(
        "230000.0 mg is above the capacity of balance XS205 (220.0 g)"
    )
    assert nothing_recorded(lot)


def test_a_weighing_on_a_balance_out_of_use_is_refused(ctx, lots):
    balances.update_balance(user("ada"), "XS205", reason="sent for service", active=False)
    lot = capsule_draft()
    error = refused(lot, lots["api"], 151.52, "XS205")
    assert error.fields == {"balance": "Balance XS205 is out of use"}
    assert nothing_recorded(lot)


def test_a_recorded_weighing_carries_its_balance_and_minimum_weight(ctx, lots):
    lot = capsule_draft()
    row = batches.record_component(
        user("tina"), lot, barcode=lots["api"], quantity_mg=151.52, balance="XS205"
    )
    assert (row.quantity_mg, row.balance, row.balance_minimum_mg) == (151.52, "XS205", 8.2)
    assert row.balance_id == balances.get_balance("XS205").id
    [recorded] = events("batch.component_recorded", lot)
    assert recorded.new_values["balance"] == "XS205"
    assert recorded.new_values["balance_minimum_mg"] == 8.2
    assert recorded.new_values["quantity_mg"] == 151.52


def test_an_amount_below_8_2_mg_is_weighed_on_the_ultra_micro_balance(ctx, lots):
    lot = capsule_draft()
    error = refused(lot, lots["mcc"], 5.0, "XS205")
    assert "usable today: UMX2: 0.2 mg minimum" in error.fields["quantity_mg"]
    row = batches.record_component(user("tina"), lot, barcode=lots["mcc"], quantity_mg=5.0, balance="umx2")
    assert (row.balance, row.balance_minimum_mg) == ("UMX2", 0.2)


def test_a_counted_container_needs_no_balance(ctx, lots):
    row = batches.record_component(user("tina"), capsule_draft(), barcode=lots["caps"], count=100)
    assert (row.count, row.balance, row.balance_minimum_mg) == (100, None, None)
