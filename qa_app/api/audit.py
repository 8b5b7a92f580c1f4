"""The audit trail for reviewers, admins and inspectors: JSON or CSV, and chain verification."""

from flask import Response, jsonify, request, stream_with_context

from qa_app.api import bp, serialise
from qa_app.api.registry import operation
from qa_app.api.schemas import page_of, ref
from qa_app.api.users import PAGE_QUERY
from qa_app.errors import InvalidInput
from qa_app.services import audit, audit_trail
from qa_app.services.pagination import page_args

READERS = ("reviewer", "admin", "inspector")


@operation(
    bp,
    "/audit",
    "GET",
    summary="Audit events, oldest first",
    roles=READERS,
    tag="audit",
    response=page_of(ref("AuditEvent")),
    response_types=("application/json", "text/csv"),
    query=(
        {"name": "entity", "schema": {"type": "string"}, "description": "entity type, e.g. user"},
        {"name": "key", "schema": {"type": "string"}, "description": "the entity's key"},
        {
            "name": "from",
            "schema": {"type": "string", "format": "date"},
            "description": "on or after this local date",
        },
        {
            "name": "to",
            "schema": {"type": "string", "format": "date"},
            "description": "on or before this local date",
        },
        {"name": "format", "schema": {"type": "string", "enum": ["json", "csv"]}},
        *PAGE_QUERY,
    ),
)
def list_audit():
    """Audit events filtered by entity type and key and by local dates; ``format=csv`` streams every match."""
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise InvalidInput("format must be json or csv.", {"format": "Use json or csv."})
    query = audit_trail.AuditQuery.from_args(request.args)
    if fmt == "csv":
        return Response(
            stream_with_context(audit_trail.csv_lines(query)),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=audit-trail.csv"},
        )
    page, per_page = page_args(request.args)
    return jsonify(audit_trail.page(query, page, per_page).as_dict(serialise.audit_event))


@operation(
    bp,
    "/audit/verify",
    "GET",
    summary="Verify the audit chain",
    roles=READERS,
    tag="audit",
    response=ref("AuditVerify"),
)
def verify_audit():
    """Recompute every event's hash and name the first altered, removed or reordered one."""
    return jsonify(audit.verify_chain().as_dict())
