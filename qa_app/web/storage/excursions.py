"""Excursion pages: the list with its filters, and one excursion with its numbers, its chart, the
reviewer's acknowledgement and a signed disposition for each batch it holds."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from qa_app.errors import InvalidInput, ServiceError
from qa_app.services import excursions, storage, storage_view
from qa_app.services.excursions import DispositionInput
from qa_app.services.pagination import page_args, paginate
from qa_app.web.access import action_required, may
from qa_app.web.forms import apply_field_errors
from qa_app.web.storage.forms import AcknowledgeForm, DispositionForm
from qa_app.web.storage.routes import bp, chart_svg

OPEN_FILTERS = {"": None, "open": True, "acknowledged": False}


@bp.route("/excursions")
def excursions_list():
    """Excursions newest first; filter by unit and by whether a reviewer has acknowledged them."""
    unit_code = request.args.get("storage_unit", "").strip()
    state = request.args.get("open", "")
    if state not in OPEN_FILTERS:
        raise InvalidInput("open must be open or acknowledged.", {"open": "Use open or acknowledged."})
    page, per_page = page_args(request.args)
    result = paginate(
        excursions.list_statement(storage_unit=unit_code or None, open_only=OPEN_FILTERS[state]),
        page,
        per_page,
    )
    return render_template(
        "storage/excursions.html",
        result=result,
        units=storage.list_units(),
        unit_code=unit_code.upper(),
        state=state,
        states=excursions.states(result.items),
    )


def _disposition_prefix(lot_number: str) -> str:
    return f"disp-{lot_number}"


def _render_excursion(excursion_id: int, submitted: tuple[str, object] | None = None, status: int = 200):
    view = storage_view.excursion_view(excursion_id)
    excursion = view.excursion
    forms: dict[str, object] = {"acknowledge": AcknowledgeForm(formdata=None)}
    for row in view.batches:
        if row.needs_disposition:
            key = f"disposition:{row.batch.lot_number}"
            forms[key] = DispositionForm(formdata=None, prefix=_disposition_prefix(row.batch.lot_number))
    if submitted is not None:
        forms[submitted[0]] = submitted[1]
    chart = chart_svg(
        excursion.storage_unit,
        view.series,
        view.chart_start,
        view.chart_end,
        view.neighbours,
        title=f"{excursion.storage_unit.code} around excursion {excursion.id}",
        hourly=view.hourly,
        element_id="excursion-chart",
    )
    return render_template(
        "storage/excursion.html",
        view=view,
        e=excursion,
        chart=chart,
        forms=forms,
        can_review=may("excursion.acknowledge"),
    ), status


@bp.route("/excursions/<int:excursion_id>")
def excursion(excursion_id: int):
    """One excursion: its numbers and classification, a chart of the hours around it, who
    acknowledged it, and every batch that was in the unit during it with its disposition."""
    return _render_excursion(excursion_id)


def _refused(excursion_id: int, name: str, form, exc: ServiceError):
    apply_field_errors(form, exc)
    flash(exc.message, "error")
    return _render_excursion(excursion_id, (name, form), exc.status)


@bp.route("/excursions/<int:excursion_id>/acknowledge", methods=["POST"])
@action_required("excursion.acknowledge")
def acknowledge_excursion(excursion_id: int):
    """A reviewer has seen the excursion and says what was found or done (audited)."""
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return _render_excursion(excursion_id, ("acknowledge", form), 400)
    try:
        excursions.acknowledge(current_user, excursion_id, form.comment.data)
    except ServiceError as exc:
        return _refused(excursion_id, "acknowledge", form, exc)
    flash(f"Excursion {excursion_id} acknowledged.", "success")
    return redirect(url_for("storage.excursion", excursion_id=excursion_id) + "#acknowledgement")


@bp.route("/excursions/<int:excursion_id>/dispositions/<lot_number>", methods=["POST"])
@action_required("excursion.disposition")
def record_disposition(excursion_id: int, lot_number: str):
    """A reviewer's signed decision for one batch (meaning reviewed): acceptable lifts the hold,
    reject rejects the batch."""
    lot_number = lot_number.strip().upper()
    name = f"disposition:{lot_number}"
    form = DispositionForm(prefix=_disposition_prefix(lot_number))
    if not form.validate_on_submit():
        excursions.get(excursion_id)  # an unknown excursion is a 404, not a form error
        return _render_excursion(excursion_id, (name, form), 400)
    try:
        excursions.record_disposition(
            current_user,
            lot_number,
            DispositionInput(excursion_id, form.decision.data, form.comment.data),
            form.signature_input("reviewed"),
        )
    except ServiceError as exc:
        return _refused(excursion_id, name, form, exc)
    decision = form.decision.data
    outcome = "the hold for this excursion is lifted" if decision == "acceptable" else "the batch is rejected"
    flash(f"Disposition for {lot_number} recorded and signed: {decision}; {outcome}.", "success")
    return redirect(url_for("storage.excursion", excursion_id=excursion_id) + "#batches")
