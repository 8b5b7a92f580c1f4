"""Storage units (api.md)."""

import sqlalchemy as sa
from flask import g, jsonify, request

from qa_app.api import bp, serialise
from qa_app.api.registry import ANY_USER, operation
from qa_app.api.schemas import page_of, ref
from qa_app.api.users import PAGE_QUERY
from qa_app.models import StorageUnit
from qa_app.services import storage
from qa_app.services.pagination import page_args, paginate


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
