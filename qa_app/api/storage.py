"""Storage units (api.md)."""

import sqlalchemy as sa
from flask import g, jsonify, request

from qa_app.api import bp, serialise
from qa_app.api.registry import ANY_USER, operation
from qa_app.api.schemas import page_of, ref
from qa_app.api.users import PAGE_QUERY
from qa_app.extensions import db
from qa_app.models import StorageUnit
from qa_app.models.types import utcnow
from qa_app.services import excursions, readings, stays, storage, tokens
from qa_app.services.pagination import page_args, paginate
from qa_app.services.readings import default_window
from qa_app.validation import datetime_field


@operation(
    bp,
    "/storage-units",
    "GET",
    summary="List storage units",
    roles=ANY_USER,
    tag="storage",
    response=page_of(ref("StorageUnit")),
    query=PAGE_QUERY,
)
def list_storage_units():
    """Every storage unit with its limits."""
    page, per_page = page_args(request.args)
    stmt = sa.select(StorageUnit).order_by(StorageUnit.code)
    return jsonify(paginate(stmt, page, per_page).as_dict(serialise.storage_unit))


@operation(
    bp,
    "/storage-units",
    "POST",
    summary="Create a storage unit",
    roles=("admin",),
    tag="storage",
    body="NewStorageUnit",
    response=ref("StorageUnit"),
    status=201,
    errors=(409,),
)
def create_storage_unit(body):
    """A new unit; limits default from the condition: room 20–25, refrigerated 2–8, freezer −25…−10 °C."""
    unit = storage.create_unit(
        g.actor,
        code=body["code"],
        name=body["name"],
        condition=body["condition"],
        min_c=body.get("min_c"),
        max_c=body.get("max_c"),
        alarm_delay_minutes=body.get("alarm_delay_minutes", 30),
    )
    return jsonify(serialise.storage_unit(unit)), 201


@operation(
    bp,
    "/storage-units/<code>",
    "GET",
    summary="One storage unit",
    roles=ANY_USER,
    tag="storage",
    response=ref("StorageUnit"),
    errors=(404,),
)
def get_storage_unit(code):
    """The unit with its condition and limits."""
    return jsonify(serialise.storage_unit(storage.get_unit(code)))


@operation(
    bp,
    "/storage-units/<code>/readings",
    "POST",
    summary="Post temperature readings",
    roles=readings.RECORDERS,
    tag="storage",
    body="NewReadings",
    text_body="text/csv",
    response=ref("ReadingsAccepted"),
    errors=(404, 409),
    devices=True,
)
def post_readings(code, body):
    """JSON ``{"readings": [{"at", "temperature_c"}]}`` or ``text/csv`` with the header
    ``at,temperature_c``. All rows or none; a reading sent again counts as a duplicate; the same
    time with another value is refused with 409. A device token posts only to its own unit."""
    if body is None:
        rows, source = readings.rows_from_csv(request.get_data()), "csv"
    else:
        rows, source = readings.rows_from_json(body), "api"
    if g.actor is None:
        source = "device"
    result = readings.ingest(code, rows, source=source, actor=g.actor, token=g.token)
    return jsonify({"accepted": result.accepted, "duplicates": result.duplicates})


@operation(
    bp,
    "/storage-units/<code>/summary",
    "GET",
    summary="Temperature summary of a window",
    roles=ANY_USER,
    tag="storage",
    response=ref("TemperatureSummary"),
    query=(
        {
            "name": "start",
            "schema": {"type": "string"},
            "description": "default: end − the condition's window",
        },
        {"name": "end", "schema": {"type": "string"}, "description": "default: now"},
    ),
    errors=(404,),
)
def storage_summary(code):
    """Count, min, max, mean and time-weighted MKT of the readings in ``[start, end]``, with
    the excursions that overlap it. ``mkt_c`` is null when there are no readings."""
    unit = storage.get_unit(code)
    end = datetime_field(request.args, "end") or utcnow()
    start = datetime_field(request.args, "start") or end - default_window(unit)
    summary = readings.summarise_window(unit, start, end)
    found = list(db.session.scalars(excursions.overlapping(unit, start, end)))
    during = stays.batches_during_each(found)
    body = serialise.temperature_summary(summary)
    body["start"], body["end"] = serialise.iso(start), serialise.iso(end)
    state = excursions.states(found, during)
    body["excursions"] = [serialise.excursion(e, during[e.id], state[e.id]) for e in found]
    return jsonify(body)


@operation(
    bp,
    "/storage-units/<code>/device-tokens",
    "POST",
    summary="Make a sensor's device token",
    roles=("admin",),
    tag="storage",
    body="NewDeviceToken",
    response=ref("DeviceToken"),
    status=201,
    errors=(404,),
)
def create_device_token(code, body):
    """A token for one sensor: it may only post readings to this unit and does not expire.
    The secret is in this answer only."""
    secret, token = tokens.issue_device_token(g.actor, code, body["label"])
    return jsonify(serialise.device_token(token) | {"token": secret}), 201


@operation(
    bp,
    "/storage-units/<code>/device-tokens",
    "GET",
    summary="List a unit's device tokens",
    roles=("admin",),
    tag="storage",
    response={"type": "object", "properties": {"items": {"type": "array", "items": ref("DeviceToken")}}},
    errors=(404,),
)
def list_device_tokens(code):
    """Every device token of the unit, revoked ones included."""
    return jsonify({"items": [serialise.device_token(t) for t in tokens.device_tokens(code)]})


@operation(
    bp,
    "/storage-units/<code>/device-tokens/<int:token_id>",
    "DELETE",
    summary="Revoke a device token",
    roles=("admin",),
    tag="storage",
    response=ref("DeviceToken"),
    errors=(404, 409),
)
def revoke_device_token(code, token_id):
    """The sensor's token stops working at once; the readings it sent stay."""
    return jsonify(serialise.device_token(tokens.revoke_device_token(g.actor, code, token_id)))
