"""Annual product reviews of a formula (api.md, domain.md §10): signed by a reviewer, kept byte
for byte with their SHA-256; before signing, a preview marked DRAFT."""

from flask import g, jsonify

from qa_app.api import bp
from qa_app.api.certificates import PDF, pdf_response
from qa_app.api.registry import operation
from qa_app.api.schemas import COMPONENTS, ref
from qa_app.models import ProductReview
from qa_app.services import product_reviews
from qa_app.services.signatures import SignatureInput

READERS = ("reviewer", "admin", "inspector")

COMPONENTS.update(
    {
        "ProductReviewSigning": {
            "type": "object",
            "required": ["year", "conclusions", "signature"],
            "properties": {
                "year": {
                    "type": "integer",
                    "minimum": 1900,
                    "maximum": 9998,
                    "description": "the local year reviewed",
                },
                "conclusions": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": product_reviews.MAX_CONCLUSIONS,
                    "description": "the reviewer's conclusions, printed in the review",
                },
                "signature": {"$ref": "#/components/schemas/Signature"},
            },
            "additionalProperties": False,
        },
        "ProductReviewSigned": {
            "type": "object",
            "required": ["id", "sha256", "signed_by"],
            "properties": {
                "id": {"type": "integer"},
                "formula": {"type": "string"},
                "year": {"type": "integer"},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "size": {"type": "integer"},
                "signed_by": {"type": "string", "description": "the reviewer's full name"},
                "signed_at": {"type": "string", "format": "date-time"},
                "conclusions": {"type": "string"},
            },
        },
    }
)


def _review(review: ProductReview) -> dict:
    return {
        "id": review.id,
        "formula": review.formula.code,
        "year": review.year,
        "sha256": review.sha256,
        "size": review.size,
        "signed_by": review.signed_by.full_name,
        "signed_at": review.signed_at.isoformat(),
        "conclusions": review.conclusions,
    }


@operation(
    bp,
    "/formulas/<code>/reviews",
    "POST",
    summary="Sign the annual product review of a year",
    roles=("reviewer",),
    tag="formulas",
    body="ProductReviewSigning",
    response=ref("ProductReviewSigned"),
    status=201,
    errors=(404, 409),
)
def sign_product_review(code, body):
    """Signed ``reviewed`` with the reviewer's conclusions: the review of the formula's batches
    compounded in that local year is rendered, signed over its SHA-256 and stored. A year signed
    already, one not begun yet or one without a batch: 409."""
    review = product_reviews.sign(
        g.actor, code, body["year"], body["conclusions"], SignatureInput.from_json(body["signature"])
    )
    return jsonify(_review(review)), 201


@operation(
    bp,
    "/formulas/<code>/reviews",
    "GET",
    summary="The signed annual product reviews of a formula",
    roles=READERS,
    tag="formulas",
    response={
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": ref("ProductReviewSigned")}},
    },
    errors=(404,),
)
def list_product_reviews(code):
    """Each signed review, newest year first, with its SHA-256."""
    return jsonify({"items": [_review(r) for r in product_reviews.signed_reviews(code)]})


@operation(
    bp,
    "/formulas/<code>/reviews/<int:year>.pdf",
    "GET",
    summary="The annual product review (PDF)",
    roles=READERS,
    tag="formulas",
    response=PDF,
    response_types=("application/pdf",),
    errors=(404,),
)
def product_review_pdf(code, year):
    """The signed review byte for byte as stored (its SHA-256 is the ETag); before signing, a
    preview marked DRAFT that is never stored. A year without a batch of the formula: 404."""
    doc = product_reviews.document(code, year)
    headers = {"X-Review-Status": doc.status}
    if doc.sha256:
        headers["ETag"] = f'"{doc.sha256}"'
    return pdf_response(doc.data, doc.filename, **headers)
