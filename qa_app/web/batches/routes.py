"""The batch pages: the list, a new batch, and the record where a batch is compounded."""

from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from qa_app.errors import ServiceError
from qa_app.extensions import db
from qa_app.models import BATCH_STATUSES
from qa_app.reports.labels import batch_label_pdf
from qa_app.services import (
    batch_view,
    batches,
    formulas,
    investigations,
    labels,
    result_import,
    results,
    storage,
)
from qa_app.services.pagination import page_args
from qa_app.web.access import action_required, may
from qa_app.web.balances import workstation
from qa_app.web.batches import trituration_view
from qa_app.web.batches.forms import (
    CloseInvestigationForm,
    CompleteForm,
    ComponentForm,
    DiscardForm,
    ImportForm,
    MoveForm,
    NewBatchForm,
    OpenInvestigationForm,
    ResultForm,
    VerifyForm,
    WeightCheckForm,
    decimal_or_none,
    local_moment,
)
from qa_app.web.forms import apply_field_errors

bp = Blueprint("batches", __name__, url_prefix="/batches")

STEPS = "steps-h"
"""Where the record opens after a step's form is accepted: its steps, the next one open."""
FORMS = {
    "component": ComponentForm,
    "verify": VerifyForm,
    "weight_check": WeightCheckForm,
    "complete": CompleteForm,
    "discard": DiscardForm,
    "move": MoveForm,
}


@bp.route("/")
def index():
    """Batches, newest first: filter by status, formula, strength and dates; search by lot number.
    A box left empty in the filter bar (the form sends it as ``from=``) filters nothing."""
    filters = batches.BatchFilter.from_args({k: v for k, v in request.args.items() if v.strip()})
    page, per_page = page_args(request.args)
    result = batch_view.list_page(filters, page, per_page)
    return render_template(
        "batches/index.html",
        result=result,
        filters=filters,
        statuses=BATCH_STATUSES,
        formulas=formulas.list_formulas(),
    )


def _formula_choices() -> list[SelectChoice]:
    return [
        SelectChoice(
            f.code,
            f"{f.code} — {f.name} (v{f.approved.version}, {f.approved.dosage_form.replace('_', ' ')})"
            + (" — breaks a preparation rule: no new batch" if formulas.broken_rules(f.approved) else ""),
        )
        for f in formulas.list_formulas()
        if f.approved is not None
    ]


@bp.route("/new", methods=["GET", "POST"])
@action_required("batch.create")
def new():
    """Open a batch record from an approved formula; the calculation is shown on the next page."""
    form = NewBatchForm()
    form.formula.choices = [SelectChoice("", "Choose…"), *_formula_choices()]
    if form.validate_on_submit():
        try:
            batch = batches.create_batch(
                current_user,
                formula=form.formula.data,
                quantity=float(form.quantity.data),
                strength_mg=decimal_or_none(form.strength_mg),
                concentration=decimal_or_none(form.concentration),
                dose_amount=decimal_or_none(form.dose_amount),
                api_lot=form.api_lot.data or None,
                compounded_at=local_moment(form.compounded_at.data),
            )
        except ServiceError as exc:
            apply_field_errors(
                form,
                exc,
                aliases={
                    "concentration_mg_per_ml": "concentration",
                    "concentration_mg_per_g": "concentration",
                    "dose_volume_ml": "dose_amount",
                    "dose_g": "dose_amount",
                    "quantity_mg": "quantity",  # a trituration's total mass is typed as the quantity
                },
            )
        else:
            flash(
                f"Batch {batch.lot_number} opened. Weigh {batch.calculation['api_mg']} mg of API.", "success"
            )
            return redirect(url_for("batches.record", lot_number=batch.lot_number))
    return render_template("batches/new.html", form=form), 400 if form.errors or form.form_errors else 200


def _render_record(lot_number: str, submitted: tuple[str, object] | None = None, status: int = 200):
    view = batch_view.load(lot_number)
    forms = {name: cls(formdata=None) for name, cls in FORMS.items()}
    waiting = view.evidence.pending_stage1
    for test in view.batch.specification["tests"]:
        cells = {"values": [None] * (20 if test["key"] in waiting else 10)}
        forms[f"result:{test['key']}"] = ResultForm(formdata=None, prefix=f"r-{test['key']}", data=cells)
    for result in view.evidence.results:
        forms[f"open:{result.id}"] = OpenInvestigationForm(formdata=None, prefix=f"inv-{result.id}")
    for investigation in view.evidence.investigations:
        forms[f"close:{investigation.id}"] = CloseInvestigationForm(
            formdata=None, prefix=f"close-{investigation.id}"
        )
    if submitted is not None:
        forms[submitted[0]] = submitted[1]
    units = [
        SelectChoice(u.code, f"{u.code} — {u.name} ({u.min_c:g}–{u.max_c:g} °C)")
        for u in batches.fitting_units(view.batch)
    ]
    workstation.prepare_field(forms["component"].balance)
    for name in ("complete", "move"):
        if not forms[name].storage_unit.choices:
            forms[name].storage_unit.choices = [SelectChoice("", "Choose…"), *units]
    return render_template(
        "batches/record.html",
        view=view,
        b=view.batch,
        forms=forms,
        can_compound=may("batch.compound"),
        can_review=may("investigation.open"),
        pending_stage1=waiting,
        related=related_batches(view),
        trituration=trituration_view.load(view.batch),
        weight_target=_weight_target(view.batch, forms["component"].barcode.data),
        submitted=submitted[0] if submitted else None,
        full=request.args.get("view") == "full",
    ), status


def _weight_target(batch, barcode: str | None):
    """The target beside the weight field when the page comes back with a scanned API lot."""
    if batch.status != "draft" or not barcode:
        return None
    try:
        return batches.weighing_target(batch.lot_number, barcode)
    except ServiceError:
        return None


def related_batches(view) -> dict[int, list]:
    """For phase II investigations, the other batches that share the API lot or formula version."""
    return {
        inv.id: investigations.related_batches(inv)
        for inv in view.evidence.investigations
        if inv.phase == "II" or inv.status == "closed"
    }


@bp.route("/<lot_number>")
def record(lot_number: str):
    """The whole story of one batch, with the forms for the next steps of a draft."""
    return _render_record(lot_number)


def _act(
    lot_number: str,
    name: str,
    action: Callable,
    done: str | None,
    prepare: Callable | None = None,
    form=None,
    anchor: str | None = None,
    aliases: dict[str, str] | None = None,
):
    """Run one service for a submitted form; on refusal show the record again with the form as typed."""
    form = form if form is not None else FORMS[name]()
    if prepare:
        prepare(form)
    if form.validate_on_submit():
        try:
            action(form)
        except ServiceError as exc:
            apply_field_errors(form, exc, aliases=aliases)
            flash(exc.message, "error")  # also where it is seen when the form is no longer shown
            return _render_record(lot_number, (name, form), exc.status)
        if done:
            flash(done, "success")
        return redirect(url_for("batches.record", lot_number=lot_number) + f"#{anchor or name}")
    return _render_record(lot_number, (name, form), 400)


def _unit_choices(form) -> None:
    form.storage_unit.choices = [SelectChoice(u.code) for u in storage.list_units()]


@bp.route("/<lot_number>/components", methods=["POST"])
@action_required("batch.compound")
def add_component(lot_number: str):
    """A scanned lot with its weighed mass, or its count for containers; after a weighing the
    workstation remembers the balance for the next one."""
    response = _act(
        lot_number,
        "component",
        lambda f: batches.record_component(
            current_user,
            lot_number,
            barcode=f.barcode.data,
            quantity_mg=decimal_or_none(f.quantity_mg),
            count=f.count.data,
            balance=f.balance.data,
            deviation_reason=f.deviation_reason.data,
        ),
        "Component recorded.",
        # The barcode field itself: a browser skips autofocus when the URL has a fragment, but
        # focuses a focusable fragment target, so the next scan lands in the field.
        anchor="barcode",
    )
    weighed = request.form.get("balance") if request.form.get("quantity_mg") else None
    return workstation.remember(response, weighed)


@bp.route("/<lot_number>/verify", methods=["POST"])
@action_required("batch.compound")
def verify(lot_number: str):
    """Second-person verification of the API weighing (e-signature, meaning verified)."""
    return _act(
        lot_number,
        "verify",
        lambda f: batches.verify_weighing(current_user, lot_number, f.signature_input("verified")),
        "API weighing verified and signed.",
        anchor=STEPS,
    )


@bp.route("/<lot_number>/weight-check", methods=["POST"])
@action_required("batch.compound")
def weight_check(lot_number: str):
    """Individual capsule content weights (at least 10); a failed check stays on the record."""
    outcome: dict[str, str] = {}

    def run(form) -> None:
        check = batches.record_weight_check(current_user, lot_number, form.weights_mg(), form.reason.data)
        outcome["message"] = check.summary["message"]
        outcome["category"] = "success" if check.passed else "error"

    response = _act(lot_number, "weight_check", run, None, anchor=STEPS, aliases={"weights_mg": "weights"})
    if outcome:
        flash(
            f"Capsule weight check {'passed' if outcome['category'] == 'success' else 'FAILED'}: "
            f"{outcome['message']}",
            outcome["category"],
        )
    return response


@bp.route("/<lot_number>/complete", methods=["POST"])
@action_required("batch.compound")
def complete(lot_number: str):
    """Yield and storage unit: the batch goes to quarantine."""
    return _act(
        lot_number,
        "complete",
        lambda f: batches.complete(
            current_user,
            lot_number,
            actual_yield=float(f.actual_yield.data),
            storage_unit=f.storage_unit.data,
            at=local_moment(f.at.data),
            deviation_reason=f.deviation_reason.data,
        ),
        "Batch completed: it is in quarantine until its results are in.",
        prepare=_unit_choices,
    )


@bp.route("/<lot_number>/discard", methods=["POST"])
@action_required("batch.compound")
def discard(lot_number: str):
    """Abandon a draft, with the reason."""
    return _act(
        lot_number,
        "discard",
        lambda f: batches.discard(current_user, lot_number, f.reason.data),
        "Batch discarded.",
    )


@bp.route("/<lot_number>/move", methods=["POST"])
@action_required("batch.move")
def move(lot_number: str):
    """Put the batch in another storage unit."""
    return _act(
        lot_number,
        "move",
        lambda f: batches.move(
            current_user,
            lot_number,
            storage_unit=f.storage_unit.data,
            at=local_moment(f.at.data),
        ),
        "Batch moved.",
        prepare=_unit_choices,
    )


@bp.route("/<lot_number>/label.pdf")
def label(lot_number: str):
    """The batch label: product, the naltrexone hydrochloride amount, form and route, the quantity
    made, lot, BUD, storage and the Code 128 of the lot number."""
    b = batches.get_batch(lot_number)
    pdf = batch_label_pdf(labels.batch_label(b))
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename={b.lot_number}-label.pdf"},
    )


@bp.route("/<lot_number>/results/<test>", methods=["POST"])
@action_required("result.record")
def add_result(lot_number: str, test: str):
    """One result of one test of the frozen specification; the batch is judged again at once."""
    batch = batches.get_batch(lot_number)
    spec = results.spec_test(batch, test)
    form = ResultForm(prefix=f"r-{test}")

    def run(f) -> None:
        data = (
            {"values": f.number_values()}
            if spec["kind"] == "content_uniformity"
            else {"value": f.number_or_text(spec["kind"])}
        )
        result = results.record_result(
            current_user,
            lot_number,
            test=test,
            method=f.method.data or None,
            analyst=f.analyst.data or None,
            tested_at=local_moment(f.tested_at.data),
            source="entered",
            **data,
        )
        flash(
            f"{test}: {result.evaluation.get('message', result.status)}",
            "error" if result.status == "fail" else "success",
        )

    # A refusal of the test itself (no result outside the plan) is shown beside the value typed.
    beside = {"test": "values" if spec["kind"] == "content_uniformity" else "value"}
    return _act(lot_number, f"result:{test}", run, None, form=form, anchor="results", aliases=beside)


@bp.route("/<lot_number>/investigations/<int:result_id>", methods=["POST"])
@action_required("investigation.open")
def open_investigation(lot_number: str, result_id: int):
    """Open an OOS investigation on a failing result, with its retest allowance fixed now."""
    form = OpenInvestigationForm(prefix=f"inv-{result_id}")
    return _act(
        lot_number,
        f"open:{result_id}",
        lambda f: investigations.open_investigation(
            current_user,
            lot_number,
            result_id=result_id,
            retests_allowed=f.retests_allowed.data,
        ),
        "Investigation opened (phase I).",
        form=form,
        anchor="investigations",
    )


@bp.route("/<lot_number>/investigations/<int:investigation_id>/close", methods=["POST"])
@action_required("investigation.close")
def close_investigation(lot_number: str, investigation_id: int):
    """Close an investigation with a signed conclusion (meaning reviewed)."""
    if investigations.get_investigation(investigation_id).batch_id != batches.get_batch(lot_number).id:
        abort(404, description=f"Investigation {investigation_id} is not one of {lot_number}.")
    form = CloseInvestigationForm(prefix=f"close-{investigation_id}")
    return _act(
        lot_number,
        f"close:{investigation_id}",
        lambda f: investigations.close_investigation(
            current_user,
            investigation_id,
            f.signature_input("reviewed"),
            phase=f.phase.data,
            assignable_cause=f.assignable_cause.data,
            cause=f.cause.data,
            conclusion=f.conclusion.data,
        ),
        "Investigation closed and signed.",
        form=form,
        anchor="investigations",
    )


@bp.route("/import-results", methods=["GET", "POST"])
@action_required("result.import")
def import_results():
    """Upload the contract laboratory's CSV: every row is recorded, or none, with each bad row named."""
    form = ImportForm()
    rows: list[dict] = []
    status = 200
    if form.validate_on_submit():
        upload = request.files.get(form.file.name)
        raw = upload.read() if upload and upload.filename else (form.text.data or "").encode()
        try:
            summary = result_import.import_csv(current_user, raw)
        except ServiceError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
            rows, status = exc.rows, exc.status
        else:
            flash(
                f"Imported {summary.results} result(s) from {summary.rows} row(s) for "
                f"{', '.join(summary.batches)}.",
                "success",
            )
            return redirect(url_for("batches.import_results"))
    return render_template("batches/import.html", form=form, rows=rows, header=result_import.HEADER), status
