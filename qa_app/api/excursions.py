"""Excursions and dispositions (api.md)."""

from flask import g, jsonify, request

from qa_app.api import bp, serialise
from qa_app.api.registry import ANY_USER, operation
from qa_app.api.schemas import page_of, ref
from qa_app.api.users import PAGE_QUERY
from qa_app.errors import InvalidInput
from qa_app.services import excursions, stays
from qa_app.services.excursions import DispositionInput
from qa_app.services.pagination import page_args, paginate
from qa_app.services.signatures import SignatureInput


def _open_filter(value: str | None) -> bool | None:
    if value in (None, ""):
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidInput("open is true or false.", {"open": "Use true or false."})


@operation(
    bp,
    "/excursions",
    "GET",
    summary="List excursions",
    roles=ANY_USER,
    tag="excursions",
    response=page_of(ref("Excursion")),
    query=(
        {"name": "storage_unit", "schema": {"type": "string"}},
        {"name": "open", "schema": {"type": "boolean"}, "description": "true: not yet acknowledged"},
        *PAGE_QUERY,
    ),
    errors=(404,),
)
def list_excursions():
    """Newest first, each with the batches that were in the unit during it (released included)."""
    stmt = excursions.list_statement(request.args.get("storage_unit"), _open_filter(request.args.get("open")))
    page, per_page = page_args(request.args)
    found = paginate(stmt, page, per_page)
    during = stays.batches_during_each(found.items)
    state = excursions.states(found.items, during)
    return jsonify(found.as_dict(lambda e: serialise.excursion(e, during[e.id], state[e.id])))


@operation(
    bp,
    "/excursions/<int:excursion_id>",
    "GET",
    summary="One excursion",
    roles=ANY_USER,
    tag="excursions",
    response=ref("Excursion"),
    errors=(404,),
)
def get_excursion(excursion_id):
    """The excursion and the batches it touched."""
    excursion = excursions.get(excursion_id)
    return jsonify(serialise.excursion(excursion, stays.batches_during(excursion)))


@operation(
    bp,
    "/excursions/<int:excursion_id>/acknowledge",
    "POST",
    summary="Acknowledge an excursion",
    roles=("reviewer",),
    tag="excursions",
    body="Acknowledgement",
    response=ref("Excursion"),
    errors=(404, 409),
)
def acknowledge_excursion(excursion_id, body):
    """A reviewer has seen it and says what was found or done; audited."""
    excursion = excursions.acknowledge(g.actor, excursion_id, body["comment"])
    return jsonify(serialise.excursion(excursion, stays.batches_during(excursion)))


@operation(
    bp,
    "/batches/<lot_number>/dispositions",
    "POST",
    summary="Record an excursion disposition",
    roles=("reviewer",),
    tag="excursions",
    body="NewDisposition",
    response=ref("Disposition"),
    status=201,
    errors=(404, 409),
)
def record_disposition(lot_number, body):
    """Signed with the meaning ``reviewed``. ``acceptable`` (with the justification, e.g. the
    MKT) lifts the excursion's hold on the batch; ``reject`` rejects the batch."""
    disposition = excursions.record_disposition(
        g.actor,
        lot_number,
        DispositionInput(body["excursion_id"], body["decision"], body["comment"]),
        SignatureInput.from_json(body["signature"]),
    )
    return jsonify(serialise.disposition(disposition, lot_number.strip().upper())), 201
