"""The batch compounding record (api.md)."""

from flask import g, jsonify, request

from qa_app.api import bp, serialise
from qa_app.api.registry import ANY_USER, operation
from qa_app.api.schemas import page_of, ref
from qa_app.api.users import PAGE_QUERY
from qa_app.services import batch_view, batches, clock
from qa_app.services.pagination import page_args
from qa_app.services.signatures import SignatureInput
from qa_app.validation import datetime_field

COMPOUNDERS = ("technician", "reviewer")
BATCH = ref("Batch")


def _batch(lot_number: str):
    return jsonify(serialise.batch(*_view(lot_number)))


def _view(lot_number: str):
    view = batch_view.load(lot_number, with_history=False)
    return view.batch, view


@operation(
    bp,
    "/batches",
    "GET",
    summary="List batches",
    roles=ANY_USER,
    tag="batches",
    response=page_of(BATCH),
    query=(
        {"name": "status", "schema": {"type": "string"}},
        {"name": "formula", "schema": {"type": "string"}},
        {"name": "q", "schema": {"type": "string"}, "description": "part of a lot number"},
        {"name": "strength", "schema": {"type": "number"}},
        {
            "name": "from",
            "schema": {"type": "string", "format": "date"},
            "description": "compounded on or after",
        },
        {
            "name": "to",
            "schema": {"type": "string", "format": "date"},
            "description": "compounded on or before",
        },
        *PAGE_QUERY,
    ),
)
def list_batches():
    """Batches, newest first, filtered by status, formula, strength and dates, searched by lot number."""
    page, per_page = page_args(request.args)
    result = batch_view.list_page(batches.BatchFilter.from_args(request.args), page, per_page)
    today = clock.today()
    return jsonify(result.as_dict(lambda b: serialise.batch_row(b, today)))


@operation(
    bp,
    "/batches",
    "POST",
    summary="Create a batch",
    roles=COMPOUNDERS,
    tag="batches",
    body="NewBatch",
    response=BATCH,
    status=201,
    errors=(409,),
)
def create_batch(body):
    """A draft batch from the formula's approved version, with its calculation frozen on it."""
    concentration = body.get("concentration_mg_per_ml", body.get("concentration_mg_per_g"))
    dose_amount = body.get("dose_volume_ml", body.get("dose_g"))
    batch = batches.create_batch(
        g.actor,
        formula=body["formula"],
        quantity=body.get("quantity"),
        quantity_mg=body.get("quantity_mg"),
        strength_mg=body.get("strength_mg"),
        concentration=concentration,
        dose_amount=dose_amount,
        api_lot=body.get("api_lot"),
        compounded_at=datetime_field(body, "compounded_at"),
    )
    return jsonify(serialise.batch(*_view(batch.lot_number))), 201


@operation(
    bp,
    "/batches/<lot_number>",
    "GET",
    summary="One batch",
    roles=ANY_USER,
    tag="batches",
    response=BATCH,
    errors=(404,),
)
def get_batch(lot_number):
    """The whole batch record."""
    return _batch(lot_number)


@operation(
    bp,
    "/batches/<lot_number>/components",
    "POST",
    summary="Record a component by scan",
    roles=COMPOUNDERS,
    tag="batches",
    body="NewComponent",
    response=BATCH,
    status=201,
    errors=(404, 409),
)
def record_component(lot_number, body):
    """A scanned lot with its weighed mass (or count, for containers); the API is judged against the tolerance."""
    batches.record_component(
        g.actor,
        lot_number,
        barcode=body["barcode"],
        quantity_mg=body.get("quantity_mg"),
        count=body.get("count"),
        balance=body.get("balance"),
        deviation_reason=body.get("deviation_reason"),
    )
    return _batch(lot_number), 201


@operation(
    bp,
    "/batches/<lot_number>/verify-weighing",
    "POST",
    summary="Verify the API weighing",
    roles=COMPOUNDERS,
    tag="batches",
    body="Signed",
    response=BATCH,
    errors=(404, 409),
)
def verify_weighing(lot_number, body):
    """Second-person check of the API weighing, signed ``verified`` by someone other than the compounder.

    The signature's username names the verifier: the signed-in user, or a colleague (technician
    or reviewer, neither the compounder nor the weigher) signing at that user's workstation.
    """
    batches.verify_weighing(g.actor, lot_number, SignatureInput.from_json(body["signature"]))
    return _batch(lot_number)


@operation(
    bp,
    "/batches/<lot_number>/weight-check",
    "POST",
    summary="Record a capsule weight check",
    roles=COMPOUNDERS,
    tag="batches",
    body="WeightCheckRequest",
    response=BATCH,
    status=201,
    errors=(404, 409),
)
def weight_check(lot_number, body):
    """Individual capsule content weights; each must be 90–110 % of the theoretical fill.

    After a failed check a new one needs ``reason``; the failure stays on the record."""
    batches.record_weight_check(g.actor, lot_number, body["weights_mg"], body.get("reason"))
    return _batch(lot_number), 201


@operation(
    bp,
    "/batches/<lot_number>/complete",
    "POST",
    summary="Complete a batch",
    roles=COMPOUNDERS,
    tag="batches",
    body="CompleteRequest",
    response=BATCH,
    errors=(404, 409),
)
def complete(lot_number, body):
    """Yield and storage unit: the batch goes to quarantine (409 lists what is missing)."""
    batches.complete(
        g.actor,
        lot_number,
        actual_yield=body["actual_yield"],
        storage_unit=body["storage_unit"],
        at=datetime_field(body, "at"),
        deviation_reason=body.get("deviation_reason"),
    )
    return _batch(lot_number)


@operation(
    bp,
    "/batches/<lot_number>/discard",
    "POST",
    summary="Discard a draft",
    roles=COMPOUNDERS,
    tag="batches",
    body="DiscardRequest",
    response=BATCH,
    errors=(404, 409),
)
def discard(lot_number, body):
    """Abandon a draft, with the reason; it stays on record as discarded."""
    batches.discard(g.actor, lot_number, body["reason"])
    return _batch(lot_number)


@operation(
    bp,
    "/batches/<lot_number>/move",
    "POST",
    summary="Move a batch",
    roles=COMPOUNDERS,
    tag="batches",
    body="MoveRequest",
    response=BATCH,
    errors=(404, 409),
)
def move(lot_number, body):
    """Put a completed batch in another storage unit from ``at`` (default now)."""
    batches.move(g.actor, lot_number, storage_unit=body["storage_unit"], at=datetime_field(body, "at"))
    return _batch(lot_number)
