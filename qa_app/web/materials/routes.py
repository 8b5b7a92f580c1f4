"""Material lots: the list, receiving, approval or rejection by signature, labels, scan checks."""

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from qa_app.domain.rounding import round_half_up
from qa_app.errors import NotFound, ServiceError
from qa_app.extensions import db
from qa_app.models import LOT_STATUSES, MaterialLot
from qa_app.reports.labels import LotLabel, lot_label_pdf
from qa_app.services import batches, clock, materials, recalls, triturations
from qa_app.services.pagination import page_args, paginate
from qa_app.web.access import action_required, may
from qa_app.web.forms import apply_field_errors
from qa_app.web.materials.forms import (
    ASSAY_HINT,
    LIMIT_HINT,
    SIGNATURE_ALIASES,
    ApproveLotForm,
    EditMaterialForm,
    NewMaterialForm,
    RecallLotForm,
    ReceiveLotForm,
    RejectLotForm,
    float_or_none,
)

bp = Blueprint("materials", __name__, url_prefix="/lots")


@bp.route("/")
def index():
    """Lots, newest first: filter by status and material, search by barcode or supplier lot."""
    filters = materials.LotFilter.from_args(request.args)
    page, per_page = page_args(request.args)
    result = paginate(filters.statement(), page, per_page)
    return render_template(
        "materials/index.html",
        result=result,
        filters=filters,
        statuses=LOT_STATUSES,
        materials=materials.list_materials(),
        today=clock.today(),
    )


@bp.route("/new", methods=["GET", "POST"])
@action_required("lot.receive")
def new_lot():
    """Receive a lot into quarantine; on an error the form comes back with what was typed."""
    form = ReceiveLotForm()
    form.material.choices = [SelectChoice("", "Choose…")] + [
        SelectChoice(m.code, f"{m.code} — {m.name} ({m.kind})") for m in materials.list_materials()
    ]
    if not form.is_submitted():
        form.received_date.data = clock.today()
    status = 200
    if form.validate_on_submit():
        try:
            lot = materials.receive_lot(
                current_user,
                material=form.material.data,
                supplier=form.supplier.data,
                supplier_lot=form.lot_number.data,
                expiry_date=form.expiry_date.data,
                received_date=form.received_date.data,
                assay_percent=float_or_none(form.assay_percent),
                water_percent=float_or_none(form.water_percent),
                assay_basis=(form.assay_basis.data or None) if form.assay_percent.data is not None else None,
            )
        except ServiceError as exc:
            apply_field_errors(form, exc)
            status = exc.status
        else:
            flash(
                f"Lot {lot.barcode} received; it is in quarantine until a reviewer approves it. "
                f"Print its label and stick it on the container.",
                "success",
            )
            return redirect(url_for("materials.lot", barcode=lot.barcode))
    if form.errors and status == 200:
        status = 400
    return render_template("materials/new_lot.html", form=form, assay_hint=ASSAY_HINT), status


def _approval_problem(lot: MaterialLot) -> str | None:
    """Why approving an intermediate lot would be refused now (its trituration batch misses a
    result, or the reviewer made or verified it): the service's own check, shown before signing.
    Nothing is written; the check's row lock is let go at once."""
    if lot.produced_by is None or lot.status != "quarantine" or not may("lot.approve"):
        return None
    try:
        triturations.check_decision(current_user, lot, "approved")
    except ServiceError as exc:
        return exc.message
    finally:
        db.session.rollback()
    return None


def _render_lot(barcode: str, submitted: tuple[str, object] | None = None, status: int = 200):
    check = materials.check_lot(barcode)
    forms = {
        "approve": ApproveLotForm(prefix="approve", formdata=None),
        "reject": RejectLotForm(prefix="reject", formdata=None),
        "recall": RecallLotForm(prefix="recall", formdata=None),
    }
    if submitted is not None:
        forms[submitted[0]] = submitted[1]
    assay = round_half_up(check.lot.assay_percent, 1) if check.lot.assay_percent is not None else None
    return render_template(
        "materials/lot.html",
        check=check,
        lot=check.lot,
        forms=forms,
        assay=assay,
        monograph=materials.monograph_check(check.lot),
        approver_problem=materials.approver_problem(current_user, check.lot),
        approval_problem=_approval_problem(check.lot),
        chain=triturations.chain(check.lot) if check.lot.produced_by_batch_id else [],
        uses=triturations.where_used(check.lot),
        made_from=triturations.made_from(check.lot.produced_by) if check.lot.produced_by else [],
        recall_preview=_recall_preview(check.lot),
    ), status


@bp.route("/<barcode>")
def lot(barcode: str):
    """Everything about one lot, whether it may be used today, and the decision forms for reviewers."""
    return _render_lot(barcode)


def _decide(barcode: str, name: str, form, action, done: str):
    """Run the signed decision; on refusal show the lot again with the form as typed (password aside)."""
    if form.validate_on_submit():
        try:
            action(form)
        except ServiceError as exc:
            apply_field_errors(form, exc, aliases=SIGNATURE_ALIASES)
            return _render_lot(barcode, (name, form), exc.status)
        flash(done, "success")
        return redirect(url_for("materials.lot", barcode=barcode))
    return _render_lot(barcode, (name, form), 400)


@bp.route("/<barcode>/approve", methods=["POST"])
@action_required("lot.approve")
def approve(barcode: str):
    """Release a lot from quarantine for use (e-signature, meaning approved)."""
    return _decide(
        barcode,
        "approve",
        ApproveLotForm(prefix="approve"),
        lambda f: materials.approve_lot(current_user, barcode, f.signature_input("approved")),
        f"Lot {barcode} approved and signed.",
    )


@bp.route("/<barcode>/reject", methods=["POST"])
@action_required("lot.reject")
def reject(barcode: str):
    """Reject a lot in quarantine, with the reason (e-signature, meaning rejected)."""
    return _decide(
        barcode,
        "reject",
        RejectLotForm(prefix="reject"),
        lambda f: materials.reject_lot(current_user, barcode, f.signature_input("rejected"), f.reason.data),
        f"Lot {barcode} rejected and signed.",
    )


# --- recall -------------------------------------------------------------------------------------


def _recall_preview(lot: MaterialLot) -> recalls.RecallPreview | None:
    """What recalling the lot would change, for a reviewer, shown above the recall form."""
    if lot.status == "recalled" or not may("lot.recall"):
        return None
    return recalls.preview(lot)


@bp.route("/<barcode>/recall")
def recall_page(barcode: str):
    """What the recall of the lot changed and where it all stands now (409 when it was not recalled)."""
    lot = materials.get_lot(barcode)
    return render_template("materials/recall.html", lot=lot, report=recalls.report(lot))


@bp.route("/<barcode>/recall", methods=["POST"])
@action_required("lot.recall")
def recall(barcode: str):
    """Recall the lot and everything made from it (e-signature, meaning recalled)."""
    form = RecallLotForm(prefix="recall")
    if not form.validate_on_submit():
        return _render_lot(barcode, ("recall", form), 400)
    try:
        signed = form.signature_input("recalled")
        outcome = recalls.recall_lot(current_user, barcode, signed, form.reason.data)
    except ServiceError as exc:
        apply_field_errors(form, exc, aliases=SIGNATURE_ALIASES)
        return _render_lot(barcode, ("recall", form), exc.status)
    flash(
        f"Lot {barcode} recalled and signed: {_count(len(outcome.recalled), 'batch', 'batches')} recalled, "
        f"{_count(len(outcome.held), 'batch', 'batches')} put on hold, "
        f"{_count(len(outcome.lots), 'lot', 'lots')} recalled.",
        "success",
    )
    return redirect(url_for("materials.recall_page", barcode=barcode))


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@bp.route("/<barcode>/recall-report.pdf")
def recall_report(barcode: str):
    """The recall report, printed from the records as they are now (409 when it was not recalled)."""
    pdf = recalls.report_pdf(materials.get_lot(barcode), current_user)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{barcode}-recall.pdf"'},
    )


@bp.route("/<barcode>/label.pdf")
def label(barcode: str):
    """The container label: material, supplier lot, dates, status and the Code 128 of the barcode."""
    item = materials.get_lot(barcode)
    pdf = lot_label_pdf(
        LotLabel(
            barcode=item.barcode,
            material_code=item.material.code,
            material_name=item.material.name,
            supplier=item.supplier,
            supplier_lot=item.supplier_lot,
            expiry_date=item.expiry_date,
            received_date=item.received_date,
            status=item.status,
            assay_percent=item.assay_percent,
        )
    )
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename={item.barcode}-label.pdf"},
    )


@bp.route("/check")
def check():
    """An htmx fragment for scan fields: does the lot exist, what is it, may it be used today.

    The scanned value is read from ``barcode``, or else from the one parameter the scan field
    sends under its own name. With ``batch``, the lot must also be a material of that batch's
    formula, and an API lot's target weight with the range its tolerance accepts goes beside
    the weight field (an out-of-band swap). An unknown lot is answered with 200, so htmx
    shows the message.
    """
    scanned = request.args.get("barcode")
    if scanned is None:
        scanned = next((v for k, v in request.args.items() if k != "batch"), "")
    batch = request.args.get("batch")
    # On a batch's page the answer also fills the target beside the weight field (emptied
    # when the scan is refused or is not the API).
    on_batch = {"target": None} if batch else {}
    try:
        result = batches.check_scan(batch, scanned) if batch else materials.check_lot(scanned)
    except NotFound as exc:
        return render_template(
            "materials/_check.html", check=None, message=exc.message, scanned=scanned, **on_batch
        )
    if batch and result.usable:
        on_batch["target"] = batches.weighing_target(batch, scanned)
    return render_template("materials/_check.html", check=result, message=None, scanned=scanned, **on_batch)


@bp.route("/materials")
def material_list():
    """Every material: the API, excipients and containers."""
    return render_template("materials/materials.html", materials=materials.list_materials())


@bp.route("/materials/new", methods=["GET", "POST"])
@action_required("material.create")
def new_material():
    """Create a material; its kind (api, excipient, container) decides what its lots carry."""
    form = NewMaterialForm()
    status = 200
    if form.validate_on_submit():
        try:
            material = materials.create_material(
                current_user,
                code=form.code.data,
                name=form.name.data,
                kind=form.kind.data,
                assay_min_percent=float_or_none(form.assay_min_percent),
                assay_max_percent=float_or_none(form.assay_max_percent),
            )
        except ServiceError as exc:
            apply_field_errors(form, exc)
            status = exc.status
        else:
            flash(f"Material {material.code} created.", "success")
            return redirect(url_for("materials.material_list"))
    if form.errors and status == 200:
        status = 400
    return render_template("materials/new_material.html", form=form, limit_hint=LIMIT_HINT), status


@bp.route("/materials/<material_code>/edit", methods=["GET", "POST"])
@action_required("material.edit")
def edit_material(material_code: str):
    """Change a material's name and, for an API, its monograph assay limits."""
    material = materials.get_material_or_404(material_code)
    form = EditMaterialForm(obj=material)
    status = 200
    if form.validate_on_submit():
        try:
            material = materials.update_material(
                current_user,
                material.code,
                name=form.name.data,
                assay_min_percent=float_or_none(form.assay_min_percent),
                assay_max_percent=float_or_none(form.assay_max_percent),
            )
        except ServiceError as exc:
            apply_field_errors(form, exc)
            status = exc.status
        else:
            flash(f"Material {material.code} saved.", "success")
            return redirect(url_for("materials.material_list"))
    if form.errors and status == 200:
        status = 400
    return render_template(
        "materials/edit_material.html", form=form, material=material, limit_hint=LIMIT_HINT
    ), status
