"""Balances (USP <41>) and their daily performance checks (api.md)."""

from typing import Any

import sqlalchemy as sa
from flask import g, jsonify, request

from qa_app.api import bp
from qa_app.api.registry import ANY_USER, operation
from qa_app.api.schemas import page_of, ref
from qa_app.api.serialise import iso
from qa_app.api.users import PAGE_QUERY
from qa_app.models import Balance, BalanceCheck
from qa_app.services import balances
from qa_app.services.materials import COMPOUNDERS
from qa_app.services.pagination import page_args, paginate
from qa_app.validation import date_field

CHECKS_SHOWN = 60


def balance_check(c: BalanceCheck) -> dict[str, Any]:
    return {
        "id": c.id,
        "balance": c.balance.code,
        "nominal_mg": c.nominal_mg,
        "observed_mg": c.observed_mg,
        "error_percent": c.error_percent,
        "passed": c.passed,
        "reason": c.reason,
        "local_date": c.local_date.isoformat(),
        "recorded_by": c.recorded_by.username,
        "recorded_at": iso(c.recorded_at),
    }


def balance(b: Balance) -> dict[str, Any]:
    """The Balance shape: its figures, its minimum weight, and whether it may be weighed on now."""
    state = balances.usability(b)
    return {
        "code": b.code,
        "name": b.name,
        "readability_mg": b.readability_mg,
        "repeatability_sd_mg": b.repeatability_sd_mg,
        "capacity_g": b.capacity_g,
        "qualified_on": b.qualified_on.isoformat() if b.qualified_on else None,
        "active": b.active,
        "minimum_weight_mg": float(balances.minimum_weight_mg(b)),
        "usable": state.usable,
        "usable_reason": state.reason,
        "last_check": balance_check(state.check) if state.check else None,
    }


@operation(
    bp,
    "/balances",
    "GET",
    summary="List balances",
    roles=ANY_USER,
    tag="balances",
    response=page_of(ref("Balance")),
    query=PAGE_QUERY,
)
def list_balances():
    """Every balance, by code, with its minimum weight and whether it is usable now."""
    page, per_page = page_args(request.args)
    return jsonify(paginate(sa.select(Balance).order_by(Balance.code), page, per_page).as_dict(balance))


@operation(
    bp,
    "/balances",
    "POST",
    summary="Create a balance",
    roles=("admin",),
    tag="balances",
    body="NewBalance",
    response=ref("Balance"),
    status=201,
    errors=(409,),
)
def create_balance(body):
    """A balance with the figures of its last USP <41> repeatability test; its minimum weight is
    2000 × max(s, 0.41 d). It is not usable until a performance check passes today."""
    created = balances.create_balance(
        g.actor,
        code=body["code"],
        name=body["name"],
        readability_mg=body["readability_mg"],
        repeatability_sd_mg=body["repeatability_sd_mg"],
        capacity_g=body["capacity_g"],
        qualified_on=date_field(body, "qualified_on"),
    )
    return jsonify(balance(created)), 201


@operation(
    bp,
    "/balances/<code>",
    "GET",
    summary="One balance with its checks",
    roles=ANY_USER,
    tag="balances",
    response=ref("Balance"),
    errors=(404,),
)
def get_balance(code):
    """The balance with its performance checks, newest first (up to 60)."""
    found = balances.get_balance(code)
    return jsonify(
        balance(found) | {"checks": [balance_check(c) for c in balances.checks(found, CHECKS_SHOWN)]}
    )


@operation(
    bp,
    "/balances/<code>",
    "PATCH",
    summary="Change a balance",
    roles=("admin",),
    tag="balances",
    body="BalanceChange",
    response=ref("Balance"),
    errors=(404,),
)
def change_balance(code, body):
    """New figures after a USP <41> test, a new name, or ``"active": false`` to take it out of
    use; what is left out stays as it is. ``reason`` goes into the audit trail."""
    changes = {name: value for name, value in body.items() if name != "reason"}
    if "qualified_on" in changes:
        changes["qualified_on"] = date_field(body, "qualified_on")
    changed = balances.update_balance(g.actor, code, reason=body.get("reason"), **changes)
    return jsonify(balance(changed))


@operation(
    bp,
    "/balances/<code>/checks",
    "POST",
    summary="Record today's performance check",
    roles=COMPOUNDERS,
    tag="balances",
    body="NewBalanceCheck",
    response=ref("BalanceCheck"),
    status=201,
    errors=(404,),
)
def record_check(code, body):
    """A test weight of 5–100 % of the capacity read on the balance; it passes within 0.10 %.
    A failed check is kept too, and leaves the balance unusable until a passing one follows
    on the same day."""
    found = balances.get_balance(code)  # an unknown balance in the path is no record: 404
    check = balances.record_check(
        g.actor, found.code, nominal_mg=body["nominal_mg"], observed_mg=body["observed_mg"]
    )
    return jsonify(balance_check(check)), 201
