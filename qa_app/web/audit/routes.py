"""The audit trail pages for reviewers, administrators and inspectors."""

from flask import Blueprint, Response, render_template, request, stream_with_context

from qa_app.services import audit, audit_trail
from qa_app.services.pagination import page_args
from qa_app.web.access import action_required

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@action_required("audit.read")
def events():
    """Every recorded change, newest first, filtered by entity, key, action or user."""
    query = audit_trail.AuditQuery.from_args(request.args)
    page, per_page = page_args(request.args, default_per_page=100)
    result = audit_trail.page(query, page, per_page, newest_first=True)
    return render_template("audit/events.html", query=query, result=result)


@bp.route("/export.csv")
@action_required("audit.read")
def export_csv():
    """The filtered trail as CSV, oldest first, for an inspector's own tools."""
    query = audit_trail.AuditQuery.from_args(request.args)
    return Response(
        stream_with_context(audit_trail.csv_lines(query)),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit-trail.csv"},
    )


@bp.route("/verify")
@action_required("audit.read")
def verify():
    """Recompute the hash chain and say whether any event was altered, removed or reordered."""
    return render_template("audit/verify.html", check=audit.verify_chain(), unsealed_problem=audit.UNSEALED)
