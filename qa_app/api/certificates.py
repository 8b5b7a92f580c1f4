"""Review, release, rejection and recall; certificates of analysis and the compounding record (api.md)."""

from flask import Response, g, jsonify, request

from qa_app.api import bp, serialise
from qa_app.api.registry import ANY_USER, PUBLIC, operation
from qa_app.api.schemas import ref
from qa_app.ratelimit import limit_verification
from qa_app.services import batch_view, certificates, records, release, review
from qa_app.services.signatures import SignatureInput

REVIEWERS = ("reviewer",)
PDF = {"type": "string", "format": "binary"}


def _batch(lot_number: str):
    view = batch_view.load(lot_number, with_history=False)
    return jsonify(serialise.batch(view.batch, view))


def pdf_response(data: bytes, filename: str, **headers: str) -> Response:
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', **headers},
    )


def certificate_download(lot_number: str) -> Response:
    """The issued certificate byte for byte, or before release a preview marked NOT RELEASED."""
    doc = certificates.document(review.load(lot_number))
    headers = {"X-Certificate-Status": doc.status}
    if doc.number:
        headers |= {"X-Certificate-Number": doc.number, "ETag": f'"{doc.sha256}"'}
    return pdf_response(doc.data, doc.filename, **headers)


def record_download(lot_number: str, actor) -> Response:
    checked = review.load(lot_number)
    return pdf_response(records.record_pdf_for(checked, actor), f"{checked.batch.lot_number}-record.pdf")


@operation(
    bp,
    "/batches/<lot_number>/review",
    "GET",
    summary="The release checklist of a batch",
    roles=ANY_USER,
    tag="release",
    response=ref("Review"),
    errors=(404,),
)
def batch_review(lot_number):
    """Every checklist item with ``ok`` and why, the deviations, and who did what and when.
    ``ready`` is true when the batch may be released (by a reviewer who did not make it)."""
    return jsonify(serialise.review(review.load(lot_number)))


@operation(
    bp,
    "/batches/<lot_number>/release",
    "POST",
    summary="Release a batch",
    roles=REVIEWERS,
    tag="release",
    body="Signed",
    response=ref("Batch"),
    errors=(404, 409),
)
def release_batch(lot_number, body):
    """Signed ``released`` by a reviewer who is neither the compounder nor the weighing verifier
    (403). Issues certificate version 1. A batch that is not ready: 409 with each unmet checklist
    item in ``fields``; a release that lost a race with another: 409."""
    release.release(g.actor, lot_number, SignatureInput.from_json(body["signature"]))
    return _batch(lot_number)


@operation(
    bp,
    "/batches/<lot_number>/reject",
    "POST",
    summary="Reject a batch",
    roles=REVIEWERS,
    tag="release",
    body="SignedWithReason",
    response=ref("Batch"),
    errors=(404, 409),
)
def reject_batch(lot_number, body):
    """Signed ``rejected``, with the reason, from quarantine, on hold or awaiting release."""
    release.reject(g.actor, lot_number, SignatureInput.from_json(body["signature"]), body["reason"])
    return _batch(lot_number)


@operation(
    bp,
    "/batches/<lot_number>/recall",
    "POST",
    summary="Recall a released batch",
    roles=REVIEWERS,
    tag="release",
    body="SignedWithReason",
    response=ref("Batch"),
    errors=(404, 409),
)
def recall_batch(lot_number, body):
    """Signed ``recalled``, with the reason; the batch's certificate becomes ``revoked``."""
    release.recall(g.actor, lot_number, SignatureInput.from_json(body["signature"]), body["reason"])
    return _batch(lot_number)


@operation(
    bp,
    "/batches/<lot_number>/certificate.pdf",
    "GET",
    summary="The certificate of analysis (PDF)",
    roles=ANY_USER,
    tag="release",
    response=PDF,
    response_types=("application/pdf",),
    errors=(404,),
)
def certificate_pdf(lot_number):
    """The issued certificate, byte for byte as stored (its SHA-256 is the ETag); before
    release, a preview marked NOT RELEASED that is never stored."""
    return certificate_download(lot_number)


@operation(
    bp,
    "/batches/<lot_number>/record.pdf",
    "GET",
    summary="The complete compounding record (PDF)",
    roles=ANY_USER,
    tag="release",
    response=PDF,
    response_types=("application/pdf",),
    errors=(404,),
)
def record_pdf(lot_number):
    """Every component and lot, calculation, weighing and verification, checks, results with
    their evaluations, investigations, storage history and excursions, signatures, audit history."""
    return record_download(lot_number, g.actor)


@operation(
    bp,
    "/certificates/<number>",
    "GET",
    summary="Verify a certificate",
    roles=PUBLIC,
    tag="release",
    response=ref("CertificateStatus"),
    errors=(404, 429),
    query=(
        {
            "name": "code",
            "description": "The verification code printed on the certificate and in its QR code.",
            "schema": {"type": "string", "maxLength": 64},
        },
    ),
)
def get_certificate(number):
    """Anyone may check a certificate's status (valid, superseded, revoked) and SHA-256; with the
    verification code printed on it also its batch, version and issue time. Requests are
    limited per address (429 with Retry-After)."""
    limit_verification()
    found = certificates.get(number)
    with_code = certificates.code_matches(found, request.args.get("code"))
    return jsonify(serialise.certificate_status(found, with_code))
