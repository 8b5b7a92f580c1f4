"""Materials and material lots (api.md)."""

import sqlalchemy as sa
from flask import Response, g, jsonify, request

from qa_app.api import bp, serialise
from qa_app.api.registry import ANY_USER, operation
from qa_app.api.schemas import page_of, ref
from qa_app.api.users import PAGE_QUERY
from qa_app.models import Material
from qa_app.services import clock, materials, recalls, triturations
from qa_app.services.pagination import page_args, paginate
from qa_app.services.signatures import SignatureInput
from qa_app.validation import date_field


@operation(
    bp,
    "/materials",
    "GET",
    summary="List materials",
    roles=ANY_USER,
    tag="materials",
    response=page_of(ref("Material")),
    query=PAGE_QUERY,
)
def list_materials():
    """Every material: the API, excipients and containers."""
    page, per_page = page_args(request.args)
    return jsonify(
        paginate(sa.select(Material).order_by(Material.code), page, per_page).as_dict(serialise.material)
    )


@operation(
    bp,
    "/materials",
    "POST",
    summary="Create a material",
    roles=("admin",),
    tag="materials",
    body="NewMaterial",
    response=ref("Material"),
    status=201,
    errors=(409,),
)
def create_material(body):
    """A new material; its kind decides what its lots carry. An API may carry its monograph assay limits."""
    material = materials.create_material(
        g.actor,
        code=body["code"],
        name=body["name"],
        kind=body["kind"],
        assay_min_percent=body.get("assay_min_percent"),
        assay_max_percent=body.get("assay_max_percent"),
    )
    return jsonify(serialise.material(material)), 201


@operation(
    bp,
    "/materials/<code>",
    "PATCH",
    summary="Change a material",
    roles=("admin",),
    tag="materials",
    body="MaterialChange",
    response=ref("Material"),
    errors=(404,),
)
def change_material(code, body):
    """Its name and, for an API, its monograph assay limits (both, or both null for none); what is
    left out stays as it is. Lots decided already keep their decision."""
    material = materials.get_material_or_404(code)
    material = materials.update_material(
        g.actor,
        material.code,
        name=body.get("name", material.name),
        assay_min_percent=body.get("assay_min_percent", material.assay_min_percent),
        assay_max_percent=body.get("assay_max_percent", material.assay_max_percent),
    )
    return jsonify(serialise.material(material))


@operation(
    bp,
    "/material-lots",
    "GET",
    summary="List material lots",
    roles=ANY_USER,
    tag="materials",
    response=page_of(ref("Lot")),
    query=(
        {"name": "status", "schema": {"type": "string", "enum": ["quarantine", "approved", "rejected"]}},
        {"name": "material", "schema": {"type": "string"}},
        {"name": "q", "schema": {"type": "string"}, "description": "part of a barcode or supplier lot"},
        *PAGE_QUERY,
    ),
)
def list_lots():
    """Lots, newest first, filtered by status and material, searched by barcode or supplier lot."""
    page, per_page = page_args(request.args)
    filters = materials.LotFilter.from_args(request.args)
    today = clock.today()
    return jsonify(
        paginate(filters.statement(), page, per_page).as_dict(lambda lot: serialise.lot(lot, today))
    )


@operation(
    bp,
    "/material-lots",
    "POST",
    summary="Receive a lot",
    roles=("technician", "reviewer"),
    tag="materials",
    body="NewLot",
    response=ref("Lot"),
    status=201,
)
def receive_lot(body):
    """Record a received lot, in quarantine; the answer carries its barcode."""
    lot = materials.receive_lot(
        g.actor,
        material=body["material"],
        supplier=body["supplier"],
        supplier_lot=body["lot_number"],
        expiry_date=date_field(body, "expiry_date"),
        received_date=date_field(body, "received_date"),
        assay_percent=body.get("assay_percent"),
        water_percent=body.get("water_percent"),
        assay_basis=body.get("assay_basis"),
    )
    return jsonify(serialise.lot(lot, clock.today())), 201


@operation(
    bp,
    "/material-lots/<barcode>",
    "GET",
    summary="Look a lot up by its barcode",
    roles=ANY_USER,
    tag="materials",
    response=ref("Lot"),
    errors=(404,),
)
def get_lot(barcode):
    """The lot with ``usable`` and, when it is not, the reason (quarantine, rejected, expired)."""
    return jsonify(serialise.lot(materials.get_lot(barcode), clock.today()))


@operation(
    bp,
    "/material-lots/<barcode>/approve",
    "POST",
    summary="Approve a lot",
    roles=("reviewer",),
    tag="materials",
    body="Signed",
    response=ref("Lot"),
    errors=(404, 409),
)
def approve_lot(barcode, body):
    """Release a lot from quarantine for use; signed ``approved``, by a reviewer other than the one who
    received it (403), with the assay within the material's monograph limits (else 409)."""
    lot = materials.approve_lot(g.actor, barcode, SignatureInput.from_json(body["signature"]))
    return jsonify(serialise.lot(lot, clock.today()))


@operation(
    bp,
    "/material-lots/<barcode>/reject",
    "POST",
    summary="Reject a lot",
    roles=("reviewer",),
    tag="materials",
    body="SignedWithReason",
    response=ref("Lot"),
    errors=(404, 409),
)
def reject_lot(barcode, body):
    """Reject a lot in quarantine, with the reason; signed with the meaning ``rejected``."""
    lot = materials.reject_lot(g.actor, barcode, SignatureInput.from_json(body["signature"]), body["reason"])
    return jsonify(serialise.lot(lot, clock.today()))


@operation(
    bp,
    "/material-lots/<barcode>/where-used",
    "GET",
    summary="Every batch a lot went into",
    roles=ANY_USER,
    tag="materials",
    errors=(404,),
)
def where_used(barcode):
    """Every batch that used the lot, directly or through intermediate lots to any depth (``via``
    names the intermediate lots between, nearest the lot first), and their certificates."""
    lot = materials.get_lot(barcode)
    uses = triturations.where_used(lot)
    numbers = {u.batch_id: u.lot_number for u in uses}
    return jsonify(
        {
            "lot": lot.barcode,
            "batches": [
                {"lot_number": u.lot_number, "status": u.status, "dosage_form": u.dosage_form, "via": u.via}
                for u in uses
            ],
            "certificates": [
                {
                    "number": c.number,
                    "version": c.version,
                    "status": c.status,
                    "lot_number": numbers[c.batch_id],
                }
                for c in triturations.certificates_of(uses)
            ],
        }
    )


@operation(
    bp,
    "/material-lots/<barcode>/recall",
    "POST",
    summary="Recall a lot and everything made from it",
    roles=("reviewer",),
    tag="materials",
    body="SignedWithReason",
    errors=(404, 409),
)
def recall_lot(barcode, body):
    """Signed ``recalled``, with the reason, in one transaction: the lot is recalled (never usable
    again), every released batch in its where-used recalled and its certificates revoked, every
    unreleased one put on hold (``material_recall``), every lot made from it recalled. Answers
    ``recalled`` and ``held`` (lot numbers), ``lots`` (barcodes, the lot first) and
    ``revoked_certificates``. A lot recalled already: 409."""
    signed = SignatureInput.from_json(body["signature"])
    outcome = recalls.recall_lot(g.actor, barcode, signed, body["reason"])
    return jsonify(outcome.as_dict())


@operation(
    bp,
    "/material-lots/<barcode>/recall-report.pdf",
    "GET",
    summary="The recall report of a lot (PDF)",
    roles=ANY_USER,
    tag="materials",
    response={"type": "string", "format": "binary"},
    response_types=("application/pdf",),
    errors=(404, 409),
)
def recall_report(barcode):
    """Who recalled the lot, when and why, the lots recalled with it, every batch made from it
    with its chain and its status now, and their certificates; from the records as they are when
    printed. A lot that was not recalled: 409."""
    lot = materials.get_lot(barcode)
    return Response(
        recalls.report_pdf(lot, g.actor),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{lot.barcode}-recall.pdf"'},
    )
