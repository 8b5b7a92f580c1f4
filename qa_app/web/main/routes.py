"""The home page: the signed-in person's own work."""

from flask import Blueprint, render_template
from flask_login import current_user

from qa_app.services import accounts, excursions, trends, worklists
from qa_app.web.trends.routes import rule_text

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    """Each role's queue: drafts and verifications for technicians; approvals and BUDs for
    reviewers; failed sign-ins, failed signings and lockouts for administrators."""
    compounder = current_user.has_role("technician", "reviewer")
    reviewer = current_user.has_role("reviewer")
    approver = current_user.has_role("reviewer", "admin")
    open_excursions = worklists.open_excursions() if reviewer else []
    return render_template(
        "main/home.html",
        my_drafts=worklists.my_drafts(current_user) if compounder else [],
        to_verify=worklists.drafts_to_verify(current_user) if compounder else [],
        lots_in_quarantine=worklists.lots_in_quarantine() if reviewer else [],
        formula_drafts=worklists.formula_drafts(current_user) if approver else [],
        near_bud=worklists.near_bud() if reviewer else [],
        awaiting_results=worklists.awaiting_results() if compounder else [],
        review_queue=worklists.review_queue() if reviewer else None,
        open_investigations=worklists.open_investigations() if reviewer else [],
        open_excursions=open_excursions,
        excursion_states=excursions.states(open_excursions),
        awaiting_disposition=worklists.awaiting_disposition() if reviewer else [],
        open_trend_signals=trends.open_signals() if reviewer else [],
        trend_labels=trends.ATTRIBUTE_LABELS,
        rule_text=rule_text,
        security_events=accounts.recent_security_events() if current_user.has_role("admin") else [],
        last_sign_in=accounts.previous_sign_in(current_user),
    )
