"""Master formulas and their versions (api.md)."""

import sqlalchemy as sa
from flask import g, jsonify, request

from qa_app.api import bp, serialise
from qa_app.api.registry import ANY_USER, operation
from qa_app.api.schemas import page_of, ref
from qa_app.api.users import PAGE_QUERY
from qa_app.models import Formula
from qa_app.services import formulas
from qa_app.services.pagination import page_args, paginate
from qa_app.services.signatures import SignatureInput

FORMULA_OUT = {"type": "object", "properties": {"code": {"type": "string"}, "versions": {"type": "array"}}}


@operation(
    bp,
    "/formulas",
    "GET",
    summary="List formulas",
    roles=ANY_USER,
    tag="formulas",
    response=page_of(FORMULA_OUT),
    query=PAGE_QUERY,
)
def list_formulas():
    """Every formula with its versions."""
    page, per_page = page_args(request.args)
    return jsonify(
        paginate(sa.select(Formula).order_by(Formula.code), page, per_page).as_dict(serialise.formula)
    )


@operation(
    bp,
    "/formulas/<code>",
    "GET",
    summary="One formula with its versions",
    roles=ANY_USER,
    tag="formulas",
    response=FORMULA_OUT,
    errors=(404,),
)
def get_formula(code):
    """A formula, every version and its specification."""
    return jsonify(serialise.formula(formulas.get_formula(code)))


@operation(
    bp,
    "/formulas",
    "POST",
    summary="Create a formula (version 1, draft)",
    roles=("admin",),
    tag="formulas",
    body="Formula",
    response=ref("FormulaVersion"),
    status=201,
    errors=(409,),
)
def create_formula(body):
    """A new master formula; the specification defaults to the LDN tests for its dosage form."""
    return jsonify(serialise.formula_version(formulas.create_formula(g.actor, body))), 201


@operation(
    bp,
    "/formulas/<code>/versions",
    "POST",
    summary="Draft a new version",
    roles=("admin",),
    tag="formulas",
    body="Formula",
    response=ref("FormulaVersion"),
    status=201,
    errors=(404, 409),
)
def new_version(code, body):
    """A new draft version with a full Formula body; batches keep the version they were made with."""
    return jsonify(serialise.formula_version(formulas.new_version(g.actor, code, body))), 201


@operation(
    bp,
    "/formulas/<code>/approve",
    "POST",
    summary="Approve the newest draft",
    roles=("reviewer", "admin"),
    tag="formulas",
    body="Signed",
    response=ref("FormulaVersion"),
    errors=(404, 409),
)
def approve_formula(code, body):
    """Approve the newest draft (not by its author); the previous approved version is superseded."""
    version = formulas.approve_formula(g.actor, code, SignatureInput.from_json(body["signature"]))
    return jsonify(serialise.formula_version(version))
