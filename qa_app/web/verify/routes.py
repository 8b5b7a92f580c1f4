"""Public verification of a certificate: its status, and whether a PDF is the one issued."""

from flask import Blueprint, redirect, render_template, request, url_for

from qa_app.errors import NotFound
from qa_app.ratelimit import limit_verification
from qa_app.services import certificates
from qa_app.web.verify.forms import LookupForm, UploadForm

bp = Blueprint("verify", __name__, url_prefix="/verify")


@bp.route("/")
def lookup():
    """Type a certificate's number (printed on it) to check it, for those who cannot scan the QR code."""
    form = LookupForm(request.args)
    if request.args and form.validate():
        return redirect(url_for("verify.certificate", number=form.number.data.strip().upper()))
    return render_template("verify/lookup.html", form=form), 400 if request.args else 200


@bp.route("/<number>", methods=["GET", "POST"])
def certificate(number: str):
    """Anyone may see whether a certificate is valid, superseded or revoked and its SHA-256, and
    check that a PDF they hold is byte for byte the one issued; with the verification code
    printed on the certificate (its QR code carries it) also its batch, product and dates.
    Requests are limited per address."""
    limit_verification()
    form = UploadForm()
    try:
        found = certificates.get(number)
    except NotFound:
        return render_template("verify/certificate.html", certificate=None, number=number, form=form), 404
    code = request.args.get("code")
    code_ok = with_code = certificates.code_matches(found, code)
    check, status = None, 200
    if form.validate_on_submit():
        check = certificates.check_upload(found.number, form.file.data.read())
        with_code = with_code or check.matches  # whoever holds the issued PDF has read it all
    elif form.is_submitted():
        status = 400
    return render_template(
        "verify/certificate.html",
        certificate=found,
        number=found.number,
        form=form,
        check=check,
        status_text=certificates.status_text(found),
        with_code=with_code,
        code=code if code_ok else None,
        wrong_code=bool(code) and not with_code,
    ), status
