"""Balances as records (admin), their daily performance checks (technician), and the weighing
gate every weighed component passes (domain.md §2.1)."""

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.domain import weighing
from qa_app.errors import Conflict, InvalidInput, NotFound
from qa_app.extensions import db
from qa_app.models import Balance, BalanceCheck, User
from qa_app.services import audit, clock
from qa_app.services.accounts import require_role
from qa_app.services.materials import COMPOUNDERS

BALANCE_CODE = re.compile(r"[A-Z0-9_-]+")
_FIGURES = {
    "readability_mg": ("Readability", 0.000001, 1000.0, "mg"),
    "repeatability_sd_mg": ("Repeatability (standard deviation)", 0.000001, 1000.0, "mg"),
    "capacity_g": ("Capacity", 0.001, 100000.0, "g"),
}
NAME_MAX = 200


def minimum_weight_mg(balance: Balance) -> Decimal:
    return weighing.minimum_weight_mg(balance.readability_mg, balance.repeatability_sd_mg)


def balance_state(balance: Balance) -> dict[str, Any]:
    return {
        "code": balance.code,
        "name": balance.name,
        "readability_mg": balance.readability_mg,
        "repeatability_sd_mg": balance.repeatability_sd_mg,
        "capacity_g": balance.capacity_g,
        "qualified_on": balance.qualified_on,
        "active": balance.active,
        "minimum_weight_mg": float(minimum_weight_mg(balance)),
    }


def _check_figures(values: dict[str, Any], fields: dict[str, str]) -> None:
    for name, (label, low, high, unit) in _FIGURES.items():
        value = values.get(name)
        if value is None:
            fields[name] = f"{label} is required, in {unit}."
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            fields[name] = f"{label} must be a number of {unit}."
        elif not low <= value <= high:
            fields[name] = f"{label} must be between {low:.6f}".rstrip("0").rstrip(".") + (
                f" and {high:,.0f} {unit}."
            )
    qualified = values.get("qualified_on")
    if qualified is not None and qualified > clock.today():
        fields["qualified_on"] = "The USP <41> test date must not be in the future."


def create_balance(
    actor: User,
    *,
    code: str,
    name: str,
    readability_mg: float,
    repeatability_sd_mg: float,
    capacity_g: float,
    qualified_on: date | None = None,
) -> Balance:
    """A balance with the figures of its last USP <41> repeatability test."""
    require_role(actor, "admin")
    code, name = (code or "").strip().upper(), (name or "").strip()
    fields: dict[str, str] = {}
    if not code or len(code) > 40:
        fields["code"] = "Give a short code of 1–40 characters, e.g. XS205."
    elif not BALANCE_CODE.fullmatch(code):  # it is part of page and API addresses
        fields["code"] = "Use only letters A–Z, digits, hyphens (-) and underscores (_), e.g. XS205."
    if not name:
        fields["name"] = "Give the balance's name (make, model, where it stands)."
    elif len(name) > NAME_MAX:
        fields["name"] = f"At most {NAME_MAX} characters."
    values = {
        "readability_mg": readability_mg,
        "repeatability_sd_mg": repeatability_sd_mg,
        "capacity_g": capacity_g,
        "qualified_on": qualified_on,
    }
    _check_figures(values, fields)
    if fields:
        raise InvalidInput("The balance was not saved: correct the marked fields.", fields)
    if db.session.scalar(sa.select(Balance.id).where(Balance.code == code)):
        raise Conflict(f"Balance {code} exists already.", {"code": "This code is taken."})
    balance = Balance(code=code, name=name, active=True, **values)
    db.session.add(balance)
    db.session.flush()
    audit.record("balance.created", "balance", balance.code, actor=actor, new=balance_state(balance))
    db.session.commit()
    return balance


def update_balance(actor: User, code: str, reason: str | None = None, **changes: Any) -> Balance:
    """New figures after a USP <41> test, a new name, or taking the balance out of use (audited)."""
    require_role(actor, "admin")
    balance = get_balance(code, for_update=True)
    allowed = {"name", "readability_mg", "repeatability_sd_mg", "capacity_g", "qualified_on", "active"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise InvalidInput(
            f"These fields cannot be changed: {', '.join(unknown)}.",
            {name: "Not a balance field." for name in unknown},
        )
    old = balance_state(balance)
    values = {name: changes.get(name, getattr(balance, name)) for name in allowed}
    fields: dict[str, str] = {}
    values["name"] = (values["name"] or "").strip()
    if not values["name"]:
        fields["name"] = "Give the balance's name."
    elif len(values["name"]) > NAME_MAX:
        fields["name"] = f"At most {NAME_MAX} characters."
    if not isinstance(values["active"], bool):
        fields["active"] = "Use true or false."
    _check_figures(values, fields)
    if fields:
        raise InvalidInput("The balance was not saved: correct the marked fields.", fields)
    judged_on = ("readability_mg", "repeatability_sd_mg", "capacity_g", "active")
    if any(values[name] != getattr(balance, name) for name in judged_on):
        balance.changed_at = clock.utcnow()  # today's earlier checks no longer count
    for name, value in values.items():
        setattr(balance, name, value)
    new = balance_state(balance)
    if new != old:
        audit.record(
            "balance.updated",
            "balance",
            balance.code,
            actor=actor,
            old=old,
            new=new,
            reason=(reason or "").strip() or None,
        )
    db.session.commit()
    return balance


def get_balance(code: str, for_update: bool = False) -> Balance:
    stmt = sa.select(Balance).where(Balance.code == (code or "").strip().upper())
    if for_update:
        stmt = stmt.with_for_update(of=Balance).execution_options(populate_existing=True)
    balance = db.session.scalar(stmt)
    if balance is None:
        raise NotFound(f"No balance with code {code!r}.")
    return balance


def list_balances(active_only: bool = False) -> list[Balance]:
    stmt = sa.select(Balance).order_by(Balance.code)
    if active_only:
        stmt = stmt.where(Balance.active.is_(True))
    return list(db.session.scalars(stmt))


def checks(balance: Balance, limit: int | None = 60) -> list[BalanceCheck]:
    """The balance's performance checks, newest first."""
    stmt = (
        sa.select(BalanceCheck).where(BalanceCheck.balance_id == balance.id).order_by(BalanceCheck.id.desc())
    )
    return list(db.session.scalars(stmt.limit(limit) if limit else stmt))


def record_check(actor: User, code: str, *, nominal_mg: float, observed_mg: float) -> BalanceCheck:
    """Today's performance check: a test weight of 5–100 % of the capacity within 0.10 %.

    A failed check is kept (it makes the balance unusable until a passing one follows on the
    same local date); a check cannot be dated: it counts for the day it is recorded on.
    """
    require_role(actor, *COMPOUNDERS)
    balance = get_balance_for_input(code)
    fields: dict[str, str] = {}
    for name, value, label in (
        ("nominal_mg", nominal_mg, "Test weight"),
        ("observed_mg", observed_mg, "Reading"),
    ):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            fields[name] = f"{label} must be a number of mg."
        elif value <= 0 or value > 10_000_000:
            fields[name] = f"{label} must be more than 0 and at most 10,000,000 mg."
    if not balance.active:
        fields["balance"] = f"Balance {balance.code} is out of use; an admin can put it back in use."
    if fields:
        raise InvalidInput("The check was not recorded: correct the marked fields.", fields)
    check = store_check(actor, balance, nominal_mg, observed_mg, clock.today(), clock.utcnow())
    db.session.commit()
    return check


def store_check(
    actor: User, balance: Balance, nominal_mg: float, observed_mg: float, day: date, at: datetime
) -> BalanceCheck:
    """Judge and write one check for ``day`` with its audit event (caller commits). Checks made
    through the pages and the API are always today's (:func:`record_check`); an earlier day is
    only written when the demonstration data is loaded."""
    result = weighing.performance_check(nominal_mg, observed_mg, balance.capacity_g)
    check = BalanceCheck(
        balance=balance,
        nominal_mg=nominal_mg,
        observed_mg=observed_mg,
        error_percent=float(result.error_percent),
        passed=result.passed,
        reason=result.reason,
        local_date=day,
        recorded_by_id=actor.id,
        recorded_at=at,
    )
    db.session.add(check)
    db.session.flush()
    audit.record(
        "balance.checked",
        "balance",
        balance.code,
        actor=actor,
        new={
            "nominal_mg": nominal_mg,
            "observed_mg": observed_mg,
            "error_percent": check.error_percent,
            "passed": check.passed,
            "local_date": check.local_date,
            "reason": check.reason,
        },
    )
    return check


def get_balance_for_input(code: str | None, field: str = "balance") -> Balance:
    """The balance a form or request names, or InvalidInput naming ``field``."""
    if not (code or "").strip():
        raise InvalidInput(
            "Name the balance the amount is weighed on.", {field: "Choose the balance you weigh on."}
        )
    try:
        return get_balance(code or "")
    except NotFound as exc:
        raise InvalidInput(
            exc.message, {field: f"No balance with code {code!r}; choose one from the list."}
        ) from None


@dataclass(frozen=True)
class Usability:
    usable: bool
    reason: str | None
    check: BalanceCheck | None
    """Today's latest check, if any."""


def todays_check(balance: Balance, today: date | None = None) -> BalanceCheck | None:
    """The latest performance check on the pharmacy's local date ``today``."""
    stmt = (
        sa.select(BalanceCheck)
        .where(BalanceCheck.balance_id == balance.id, BalanceCheck.local_date == (today or clock.today()))
        .order_by(BalanceCheck.id.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def usability(balance: Balance, today: date | None = None) -> Usability:
    """Usable for weighing now: in use, and today's latest performance check passed."""
    today = today or clock.today()
    return _judge(balance, todays_check(balance, today), today)


def states(active_only: bool = False, today: date | None = None) -> list[tuple[Balance, Usability]]:
    """Every balance (by code) with its usability now, read in one statement."""
    today = today or clock.today()
    latest = (
        sa.select(BalanceCheck.balance_id, sa.func.max(BalanceCheck.id).label("check_id"))
        .where(BalanceCheck.local_date == today)
        .group_by(BalanceCheck.balance_id)
        .subquery()
    )
    stmt = (
        sa.select(Balance, BalanceCheck)
        .outerjoin(latest, latest.c.balance_id == Balance.id)
        .outerjoin(BalanceCheck, BalanceCheck.id == latest.c.check_id)
        .options(so.lazyload(BalanceCheck.balance))  # its eager inner join would drop the unchecked
        .order_by(Balance.code)
    )
    if active_only:
        stmt = stmt.where(Balance.active.is_(True))
    return [(balance, _judge(balance, check, today)) for balance, check in db.session.execute(stmt).unique()]


def _judge(balance: Balance, check: BalanceCheck | None, today: date) -> Usability:
    if not balance.active:
        return Usability(False, f"balance {balance.code} is out of use", check)
    if check is None:
        return Usability(
            False,
            f"balance {balance.code} has no performance check today ({today.isoformat()}): "
            "check it with a test weight first",
            None,
        )
    if check.recorded_at < balance.changed_at:
        return Usability(
            False,
            f"balance {balance.code} was changed at {clock.local_time_text(balance.changed_at)} (its figures, "
            "capacity or use): check it again with a test weight",
            check,
        )
    if not check.passed:
        return Usability(
            False,
            f"today's last performance check of balance {balance.code} failed ({check.reason}); "
            "use another balance, or check this one again once it is put right",
            check,
        )
    return Usability(True, None, check)


def usable_balances(today: date | None = None) -> list[tuple[Balance, Decimal]]:
    """The balances usable now with their minimum weights, the smallest minimum first."""
    found = [(b, minimum_weight_mg(b)) for b, state in states(active_only=True, today=today) if state.usable]
    return sorted(found, key=lambda pair: (pair[1], pair[0].code))


def gate(code: str | None, quantity_mg: float) -> Balance:
    """The weighing gate: the balance is known, usable today, and fits the amount; else InvalidInput
    naming ``balance`` or ``quantity_mg`` with what to do instead."""
    balance = get_balance_for_input(code)
    state = usability(balance)
    if not state.usable:
        raise InvalidInput(
            f"This weighing cannot be recorded: {state.reason}.", {"balance": _capital(state.reason)}
        )
    refusal = weighing.weighing_refusal(
        quantity_mg, balance.code, balance.readability_mg, balance.repeatability_sd_mg, balance.capacity_g
    )
    if refusal is not None:
        hint = _other_balances(balance, quantity_mg)
        message = refusal.message + (f" ({hint})" if hint else "")
        raise InvalidInput(
            f"This weighing cannot be recorded: {message}.", {refusal.field: _capital(message)}
        )
    return balance


def _other_balances(balance: Balance, quantity_mg: float) -> str | None:
    amount = Decimal(repr(float(quantity_mg)))
    fits = [
        f"{b.code}: {weighing.mg_text(minimum)} mg minimum"
        for b, minimum in usable_balances()
        if b.id != balance.id and minimum <= amount <= weighing.capacity_mg(b.capacity_g)
    ]
    return ("usable today: " + ", ".join(fits)) if fits else None


def _capital(text: str | None) -> str:
    text = text or ""
    return text[:1].upper() + text[1:]
