"""The annual product reviews on a formula's page: the years with batches, the signed reviews
with their SHA-256, a DRAFT preview, and the reviewer's signing form."""

from flask import Response, flash, g, redirect, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from qa_app.errors import ServiceError
from qa_app.services import clock, formulas, product_reviews
from qa_app.web.access import action_required
from qa_app.web.forms import PlainIntegerField, SignatureFields, apply_field_errors
from qa_app.web.formulas.routes import _render_formula, bp


class ProductReviewForm(SignatureFields, FlaskForm):
    year = PlainIntegerField("Year", validators=[DataRequired("Give the year to review, e.g. 2026.")])
    conclusions = TextAreaField(
        "Conclusions",
        validators=[
            DataRequired("Write the conclusions: what the year's batches, results and trends show."),
            Length(max=product_reviews.MAX_CONCLUSIONS),
        ],
    )


def panel(formula) -> dict:
    """What the section shows: each year with batches, its signed review if any."""
    signed = {r.year: r for r in product_reviews.signed_reviews(formula.code)}
    years = sorted(set(product_reviews.years_with_batches(formula)) | set(signed), reverse=True)
    form = getattr(g, "product_review_form", None)
    if form is None:
        unsigned = [y for y in years if y not in signed]
        form = ProductReviewForm(
            formdata=None, data={"year": unsigned[0] if unsigned else clock.today().year}
        )
    return {"years": years, "signed": signed, "form": form}


@bp.app_context_processor
def _product_reviews() -> dict:
    return {"product_review_panel": panel}


@bp.route("/<code>/reviews/<int:year>.pdf")
@action_required("product_review.read")
def review_pdf(code: str, year: int) -> Response:
    """The signed review as stored, or before signing a preview marked DRAFT."""
    doc = product_reviews.document(code, year)
    headers = {"Content-Disposition": f'inline; filename="{doc.filename}"', "X-Review-Status": doc.status}
    if doc.sha256:
        headers["ETag"] = f'"{doc.sha256}"'
    return Response(doc.data, mimetype="application/pdf", headers=headers)


@bp.route("/<code>/reviews", methods=["POST"])
@action_required("product_review.sign")
def sign_review(code: str):
    """Sign a year's review (meaning reviewed) with the conclusions typed."""
    formula = formulas.get_formula(code)
    form = ProductReviewForm()
    g.product_review_form = form
    if form.validate_on_submit():
        try:
            review = product_reviews.sign(
                current_user, code, form.year.data, form.conclusions.data, form.signature_input("reviewed")
            )
        except ServiceError as exc:
            apply_field_errors(form, exc)
            return _render_formula(formulas.get_formula(code), None, status=exc.status)
        flash(
            f"The {review.year} review of {formula.code} is signed and stored (SHA-256 {review.sha256}).",
            "success",
        )
        return redirect(url_for("formulas.formula", code=formula.code, _anchor="product-reviews"))
    return _render_formula(formula, None, status=400)
