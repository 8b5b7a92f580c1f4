"""Results, the laboratory's CSV import, and OOS investigations (api.md)."""

from flask import g, jsonify, request

from qa_app.api import bp, serialise
from qa_app.api.registry import ANY_USER, operation
from qa_app.api.schemas import ref
from qa_app.services import investigations, judgement, result_import, results
from qa_app.services.signatures import SignatureInput
from qa_app.validation import datetime_field

ANALYSTS = ("technician", "reviewer")


@operation(
    bp,
    "/batches/<lot_number>/results",
    "POST",
    summary="Record a result",
    roles=ANALYSTS,
    tag="results",
    body="NewResult",
    response=ref("Result"),
    status=201,
    errors=(404, 409),
)
def record_result(lot_number, body):
    """One result: ``value`` (a number, or the observed text) or ``values`` (content uniformity:
    10 at stage 1, then 20 more when AV exceeds L1). The batch moves to where its results put it."""
    result = results.record_result(
        g.actor,
        lot_number,
        test=body["test"],
        value=body.get("value"),
        values=body.get("values"),
        method=body.get("method"),
        analyst=body.get("analyst"),
        tested_at=datetime_field(body, "tested_at"),
        source="api",
    )
    return jsonify(serialise.result(result, judgement.evidence(result.batch_id))), 201


@operation(
    bp,
    "/results/import",
    "POST",
    summary="Import the laboratory's results CSV",
    roles=ANALYSTS,
    tag="results",
    text_body="text/csv",
    response=ref("ImportSummary"),
    status=201,
)
def import_results():
    """Header ``lot_number,test,value,replicate,method,analyst,tested_at``; one row per value.
    All rows or none: a bad file answers 400 with every bad row named."""
    summary = result_import.import_csv(g.actor, request.get_data())
    return jsonify({"results": summary.results, "rows": summary.rows, "batches": summary.batches}), 201


@operation(
    bp,
    "/batches/<lot_number>/investigations",
    "POST",
    summary="Open an OOS investigation",
    roles=("reviewer",),
    tag="investigations",
    body="NewInvestigation",
    response=ref("Investigation"),
    status=201,
    errors=(404, 409),
)
def open_investigation(lot_number, body):
    """On a failing result, with the number of retests allowed fixed now, before any retest."""
    investigation = investigations.open_investigation(
        g.actor, lot_number, result_id=body["result_id"], retests_allowed=body["retests_allowed"]
    )
    return jsonify(serialise.investigation(investigation)), 201


@operation(
    bp,
    "/investigations/<int:investigation_id>",
    "GET",
    summary="One investigation",
    roles=ANY_USER,
    tag="investigations",
    response=ref("Investigation"),
    errors=(404,),
)
def get_investigation(investigation_id):
    """The investigation, and the other batches that share its API lot or formula version."""
    investigation = investigations.get_investigation(investigation_id)
    return jsonify(
        {
            **serialise.investigation(investigation),
            "related_batches": investigations.related_batches(investigation),
        }
    )


@operation(
    bp,
    "/investigations/<int:investigation_id>/close",
    "POST",
    summary="Close an investigation",
    roles=("reviewer",),
    tag="investigations",
    body="CloseInvestigation",
    response=ref("Investigation"),
    errors=(404, 409),
)
def close_investigation(investigation_id, body):
    """Signed ``reviewed``. Phase I closes only with a laboratory cause (else 409: continue as phase II)."""
    investigation = investigations.close_investigation(
        g.actor,
        investigation_id,
        SignatureInput.from_json(body["signature"]),
        phase=body["phase"],
        assignable_cause=body["assignable_cause"],
        cause=body.get("cause"),
        conclusion=body["conclusion"],
    )
    return jsonify(serialise.investigation(investigation))
