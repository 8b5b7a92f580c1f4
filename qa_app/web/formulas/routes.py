"""Master formulas: the list, every version as a master formulation record, drafting, approval."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from qa_app.errors import ServiceError
from qa_app.models import Formula
from qa_app.services import formulas, materials
from qa_app.web.access import action_required
from qa_app.web.forms import apply_field_errors
from qa_app.web.formulas.forms import (
    COMPONENTS_HINT,
    NEW_FORMULA,
    SIGNATURE_ALIASES,
    SPECIFICATION_HINT,
    ApproveFormulaForm,
    FormulaForm,
    formula_errors,
    initial_data,
    produces_choices,
)

bp = Blueprint("formulas", __name__, url_prefix="/formulas")

HINTS = {"components": COMPONENTS_HINT, "specification": SPECIFICATION_HINT}


@bp.route("/")
def index():
    """Every formula with its approved version and the draft waiting for approval, if any."""
    return render_template(
        "formulas/index.html", formulas=formulas.list_formulas(), broken_rules=formulas.broken_rules
    )


def _render_formula(formula: Formula, version: str | None, form=None, status: int = 200):
    if version is None:
        selected = formula.approved or formula.versions[-1]
    else:
        selected = next((v for v in formula.versions if str(v.version) == version), None)
        if selected is None:
            abort(404, description=f"{formula.code} has no version {version}.")
    return render_template(
        "formulas/formula.html",
        formula=formula,
        selected=selected,
        draft=formula.draft,
        broken=formulas.broken_rules(selected),
        approve_form=form or ApproveFormulaForm(formdata=None),
    ), status


@bp.route("/<code>")
def formula(code: str):
    """One formula: its versions, and the chosen one (?version=N) shown as the complete record."""
    return _render_formula(formulas.get_formula(code), request.args.get("version"))


def _save(form: FormulaForm, save, heading: str, code: str | None = None, notice: str | None = None):
    """Run the service on the typed body; on refusal show the form again with every message in place."""
    status = 200
    form.produces.choices = produces_choices(materials.list_materials())
    if form.validate_on_submit():
        body = form.body(code)
        try:
            version = save(body)
        except ServiceError as exc:
            apply_field_errors(form, *formula_errors(exc, body))
            status = exc.status
        else:
            flash(f"{version.label} saved as a draft; another reviewer or admin approves it.", "success")
            return redirect(url_for("formulas.formula", code=version.formula.code, version=version.version))
    if form.errors and status == 200:
        status = 400
    return render_template(
        "formulas/edit.html", form=form, heading=heading, code=code, hints=HINTS, notice=notice
    ), status


@bp.route("/new", methods=["GET", "POST"])
@action_required("formula.create")
def new():
    """A new master formula: version 1, in draft."""
    return _save(
        FormulaForm(data=NEW_FORMULA),
        lambda body: formulas.create_formula(current_user, body),
        "New master formula",
    )


@bp.route("/<code>/versions/new", methods=["GET", "POST"])
@action_required("formula.new_version")
def new_version(code: str):
    """A new draft version, starting from the newest version's content."""
    formula = formulas.get_formula(code)
    newest = formula.versions[-1]
    return _save(
        FormulaForm() if request.method == "POST" else FormulaForm(data=initial_data(newest.body)),
        lambda body: formulas.new_version(current_user, formula.code, body),
        f"New version of {formula.code} (from version {newest.version})",
        formula.code,
        notice=f"Version {formula.draft.version} is still a draft: approve it before drafting another."
        if formula.draft
        else None,
    )


@bp.route("/<code>/approve", methods=["POST"])
@action_required("formula.approve")
def approve(code: str):
    """Approve the newest draft (e-signature, meaning approved); never by its author."""
    formula = formulas.get_formula(code)
    form = ApproveFormulaForm()
    draft = formula.draft
    shown = str(draft.version) if draft else None
    if form.validate_on_submit():
        try:
            version = formulas.approve_formula(current_user, code, form.signature_input("approved"))
        except ServiceError as exc:
            apply_field_errors(form, exc, aliases=SIGNATURE_ALIASES)
            return _render_formula(formulas.get_formula(code), shown, form, exc.status)
        flash(f"{version.label} approved and signed; it is now the version batches are made with.", "success")
        return redirect(url_for("formulas.formula", code=version.formula.code))
    return _render_formula(formula, shown, form, 400)


from qa_app.web.formulas import reviews  # noqa: E402,F401  (the annual product reviews on this blueprint)
