"""The review page of a batch (checklist, release, reject, recall), its PDFs, and certificate exports."""

from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from qa_app.errors import ServiceError
from qa_app.services import certificates, exports, records, release, review
from qa_app.web.access import action_required, may
from qa_app.web.forms import apply_field_errors
from qa_app.web.review.forms import ExportForm, RecallForm, RejectForm, ReleaseForm

bp = Blueprint("review", __name__, url_prefix="/review")

FORMS = {"release": ReleaseForm, "reject": RejectForm, "recall": RecallForm}


def _render(lot_number: str, submitted: tuple[str, object] | None = None, status: int = 200):
    checked = review.load(lot_number)
    forms = {name: cls(formdata=None, prefix=name) for name, cls in FORMS.items()}
    if submitted is not None:
        forms[submitted[0]] = submitted[1]
    can_review = may("batch.release")
    return render_template(
        "review/page.html",
        r=checked,
        b=checked.batch,
        forms=forms,
        can_review=can_review,
        releaser_problem=review.releaser_problem(current_user, checked.batch) if can_review else None,
        can_read_audit=may("audit.read"),
    ), status


@bp.route("/<lot_number>")
def page(lot_number: str):
    """The release checklist, computed by the services, with the signed decisions a reviewer may take."""
    return _render(lot_number)


def _decide(lot_number: str, name: str, action: Callable, done: str):
    """Run one signed decision; on refusal show the page again with the form as typed."""
    form = FORMS[name](prefix=name)
    if form.validate_on_submit():
        try:
            action(form)
        except ServiceError as exc:
            apply_field_errors(form, exc)
            flash(exc.message, "error")
            return _render(lot_number, (name, form), exc.status)
        flash(done, "success")
        return redirect(url_for("review.page", lot_number=lot_number))
    return _render(lot_number, (name, form), 400)


@bp.route("/<lot_number>/release", methods=["POST"])
@action_required("batch.release")
def release_batch(lot_number: str):
    """Release with an e-signature (meaning released); certificate version 1 is issued."""
    issued: dict[str, str] = {}

    def run(form) -> None:
        certificate = release.release(current_user, lot_number, form.signature_input("released"))
        issued["number"] = certificate.number

    response = _decide(lot_number, "release", run, "Batch released and signed.")
    if issued:
        flash(f"Certificate {issued['number']} version 1 issued.", "success")
    return response


@bp.route("/<lot_number>/reject", methods=["POST"])
@action_required("batch.reject")
def reject_batch(lot_number: str):
    """Reject with an e-signature (meaning rejected) and the reason."""
    return _decide(
        lot_number,
        "reject",
        lambda f: release.reject(current_user, lot_number, f.signature_input("rejected"), f.reason.data),
        "Batch rejected and signed.",
    )


@bp.route("/<lot_number>/recall", methods=["POST"])
@action_required("batch.recall")
def recall_batch(lot_number: str):
    """Recall a released batch with an e-signature (meaning recalled); its certificate is revoked."""
    return _decide(
        lot_number,
        "recall",
        lambda f: release.recall(current_user, lot_number, f.signature_input("recalled"), f.reason.data),
        "Batch recalled and signed; its certificate is revoked.",
    )


def _pdf(data: bytes, filename: str, **headers: str) -> Response:
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', **headers},
    )


@bp.route("/<lot_number>/certificate.pdf")
def certificate_pdf(lot_number: str):
    """The issued certificate as stored, or before release a preview marked NOT RELEASED."""
    doc = certificates.document(review.load(lot_number))
    return _pdf(doc.data, doc.filename, **{"X-Certificate-Status": doc.status})


@bp.route("/<lot_number>/record.pdf")
def record_pdf(lot_number: str):
    """The complete compounding record for inspectors."""
    checked = review.load(lot_number)
    return _pdf(records.record_pdf_for(checked, current_user), f"{checked.batch.lot_number}-record.pdf")


# --- exports ----------------------------------------------------------------------------------


@bp.route("/exports", methods=["GET", "POST"])
@action_required("certificates.export")
def export_list():
    """Start a ZIP of the certificates issued in a date range; earlier exports are listed."""
    form = ExportForm()
    status = 200
    if form.validate_on_submit():
        try:
            export = exports.start(current_user, form.date_from.data, form.date_to.data)
        except ServiceError as exc:
            apply_field_errors(form, exc)
            status = exc.status
        else:
            return redirect(url_for("review.export", export_id=export.id))
    elif form.is_submitted():
        status = 400
    return render_template("review/exports.html", form=form, items=exports.recent()), status


@bp.route("/exports/<int:export_id>")
@action_required("certificates.export")
def export(export_id: int):
    """The export's progress; the page advances it while it is open (htmx), or with a button."""
    return render_template("review/export.html", export=exports.get(export_id))


@bp.route("/exports/<int:export_id>/advance", methods=["POST"])
@action_required("certificates.export")
def export_advance(export_id: int):
    """Append the next certificates to the ZIP and answer with the progress (a fragment for htmx)."""
    try:
        current = exports.advance(current_user, export_id)
    except ServiceError as exc:
        flash(exc.message, "error")
        current = exports.get(export_id)
    if request.headers.get("HX-Request"):
        return render_template("review/_export_progress.html", export=current)
    return redirect(url_for("review.export", export_id=export_id))


@bp.route("/exports/<int:export_id>/download")
@action_required("certificates.export")
def export_download(export_id: int):
    """The finished ZIP: one PDF per certificate and manifest.csv."""
    current = exports.get(export_id)
    path = exports.zip_path(current)
    if current.status != "done" or not path.exists():
        abort(
            404,
            description="This export is not finished, or its ZIP was removed after a day; start it again.",
        )
    return send_file(
        path, mimetype="application/zip", as_attachment=True, download_name=exports.download_name(current)
    )
