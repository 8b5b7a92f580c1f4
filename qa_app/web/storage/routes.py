"""Storage units: the list with their limits, and creating one."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from qa_app.errors import ServiceError
from qa_app.services import storage
from qa_app.web.access import roles_required
from qa_app.web.forms import apply_field_errors
from qa_app.web.storage.forms import LIMITS_HINT, NewUnitForm

bp = Blueprint("storage", __name__, url_prefix="/storage")


def limits_text(min_c: float, max_c: float) -> str:
    """Limits as the pages show them: 2.0–8.0 °C, and −25.0…−10.0 °C with true minus signs."""
    low, high = (f"{value:.1f}".replace("-", "\u2212") for value in (min_c, max_c))
    return f"{low}{'…' if min_c < 0 else '–'}{high} °C"


@bp.route("/")
def units():
    """Every refrigerator, shelf and freezer with its temperature limits and alarm delay."""
    return render_template("storage/units.html", units=storage.list_units(), limits_text=limits_text)


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def new_unit():
    """Create a storage unit; on an error the form comes back with what was typed."""
    form = NewUnitForm()
    status = 200
    if form.validate_on_submit():
        try:
            unit = storage.create_unit(
                current_user,
                code=form.code.data,
                name=form.name.data,
                condition=form.condition.data,
                min_c=float(form.min_c.data) if form.min_c.data is not None else None,
                max_c=float(form.max_c.data) if form.max_c.data is not None else None,
                alarm_delay_minutes=form.alarm_delay_minutes.data,
            )
        except ServiceError as exc:
            apply_field_errors(form, exc)
            status = exc.status
        else:
            flash(f"Storage unit {unit.code} created: {limits_text(unit.min_c, unit.max_c)}.", "success")
            return redirect(url_for("storage.units"))
    if form.errors and status == 200:
        status = 400
    return render_template("storage/new_unit.html", form=form, limits_hint=LIMITS_HINT), status
