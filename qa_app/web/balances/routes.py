"""Balances: the list with minimum weights and today's state, creating and changing one (admin),
and each balance's page with its minimum weight worked out, today's check and the checks before."""

from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from qa_app.domain import weighing
from qa_app.errors import ServiceError
from qa_app.services import balances
from qa_app.web.access import action_required, may
from qa_app.web.balances.forms import CheckForm, EditBalanceForm, NewBalanceForm
from qa_app.web.balances.text import minimum_weight_explained, plain
from qa_app.web.forms import apply_field_errors

bp = Blueprint("balances", __name__, url_prefix="/balances")

CHECKS_SHOWN = 60


def _figures(form) -> dict:
    def number(field):
        return float(field.data) if field.data is not None else None

    return {
        "name": form.name.data,
        "readability_mg": number(form.readability_mg),
        "repeatability_sd_mg": number(form.repeatability_sd_mg),
        "capacity_g": number(form.capacity_g),
        "qualified_on": form.qualified_on.data,
    }


@bp.route("/")
def index():
    """Every balance with its figures, its minimum weight, and whether it may be weighed on now."""
    rows = [(b, balances.minimum_weight_mg(b), state) for b, state in balances.states()]
    return render_template("balances/index.html", rows=rows, plain=plain, mg_text=weighing.mg_text)


@bp.route("/new", methods=["GET", "POST"])
@action_required("balance.create")
def new():
    """Create a balance from its USP <41> figures; it is usable once a check passes today."""
    form = NewBalanceForm()
    status = 200
    if form.validate_on_submit():
        try:
            created = balances.create_balance(current_user, code=form.code.data, **_figures(form))
        except ServiceError as exc:
            apply_field_errors(form, exc)
            status = exc.status
        else:
            minimum = weighing.mg_text(balances.minimum_weight_mg(created))
            flash(
                f"Balance {created.code} created: minimum weight {minimum} mg. Check it before use.",
                "success",
            )
            return redirect(url_for("balances.balance", balance_code=created.code))
    if (form.errors or form.form_errors) and status == 200:
        status = 400
    return render_template("balances/edit.html", form=form, balance=None), status


@bp.route("/<balance_code>/edit", methods=["GET", "POST"])
@action_required("balance.edit")
def edit(balance_code: str):
    """New figures after a USP <41> test, a new name, or out of use; the reason goes to the audit trail."""
    found = balances.get_balance(balance_code)
    form = EditBalanceForm(
        data={
            "name": found.name,
            "readability_mg": Decimal(plain(found.readability_mg)),
            "repeatability_sd_mg": Decimal(plain(found.repeatability_sd_mg)),
            "capacity_g": Decimal(plain(found.capacity_g)),
            "qualified_on": found.qualified_on,
            "out_of_use": not found.active,
        }
    )
    status = 200
    if form.validate_on_submit():
        try:
            balances.update_balance(
                current_user,
                found.code,
                reason=form.reason.data,
                active=not form.out_of_use.data,
                **_figures(form),
            )
        except ServiceError as exc:
            apply_field_errors(form, exc)
            status = exc.status
        else:
            flash(f"Balance {found.code} saved.", "success")
            return redirect(url_for("balances.balance", balance_code=found.code))
    if (form.errors or form.form_errors) and status == 200:
        status = 400
    return render_template("balances/edit.html", form=form, balance=found), status


def _render_balance(balance_code: str, form: CheckForm | None = None, status: int = 200):
    found = balances.get_balance(balance_code)
    low, high = weighing.check_weight_range_mg(found.capacity_g)
    return render_template(
        "balances/balance.html",
        balance=found,
        minimum=weighing.mg_text(balances.minimum_weight_mg(found)),
        explained=minimum_weight_explained(found.readability_mg, found.repeatability_sd_mg),
        state=balances.usability(found),
        checks=balances.checks(found, CHECKS_SHOWN),
        check_range=(plain(low), plain(high)),
        form=form or CheckForm(formdata=None),
        can_check=may("balance.check"),
        plain=plain,
    ), status


@bp.route("/<balance_code>")
def balance(balance_code: str):
    """One balance: its figures, its minimum weight worked out, whether it is usable now, its checks."""
    return _render_balance(balance_code)


@bp.route("/<balance_code>/checks", methods=["POST"])
@action_required("balance.check")
def record_check(balance_code: str):
    """Today's performance check; a failed one is kept and shown, and the balance is not usable."""
    found = balances.get_balance(balance_code)
    form = CheckForm()
    if not form.validate_on_submit():
        return _render_balance(found.code, form, 400)
    try:
        check = balances.record_check(
            current_user,
            found.code,
            nominal_mg=float(form.nominal_mg.data),
            observed_mg=float(form.observed_mg.data),
        )
    except ServiceError as exc:
        apply_field_errors(form, exc)
        return _render_balance(found.code, form, exc.status)
    if check.passed:
        flash(f"Check passed ({check.error_percent:+.3f} %): {found.code} may be used today.", "success")
    else:
        flash(f"Check failed: {check.reason}. {found.code} may not be used.", "error")
    return redirect(url_for("balances.balance", balance_code=found.code) + "#checks")
