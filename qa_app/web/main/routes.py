"""The home page: the signed-in person's own work, by role."""

from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user

from qa_app.services import accounts, excursions, trends, worklists
from qa_app.web.access import may
from qa_app.web.trends.routes import rule_text

bp = Blueprint("main", __name__)

SECURITY_EVENTS_SHOWN = 20


def _reviewer_work() -> dict[str, Any]:
    """Decisions first: the release queue and holds, open investigations, excursions and trend
    signals; then lots in quarantine and batches near their BUD."""
    open_excursions = worklists.open_excursions()
    return {
        "review_queue": worklists.review_queue(),
        "open_investigations": worklists.open_investigations(),
        "open_excursions": open_excursions,
        "excursion_states": excursions.states(open_excursions.items),
        "awaiting_disposition": worklists.awaiting_disposition(),
        "open_trend_signals": worklists.open_trend_signals(),
        "trend_labels": trends.ATTRIBUTE_LABELS,
        "rule_text": rule_text,
        "lots_in_quarantine": worklists.lots_in_quarantine(),
        "near_bud": worklists.near_bud(),
    }


def _bench_work() -> dict[str, Any]:
    """The bench: this person's drafts, today's balance checks, other people's weighings to
    verify, and batches waiting for their results."""
    return {
        "my_drafts": worklists.my_drafts(current_user),
        "balance_checks": worklists.balance_checks(),
        "to_verify": worklists.drafts_to_verify(current_user),
        "awaiting_results": worklists.awaiting_results(),
    }


def _admin_work() -> dict[str, Any]:
    """Failed sign-ins, failed signings and lockouts, and the accounts."""
    return {
        "security_events": accounts.recent_security_events(SECURITY_EVENTS_SHOWN),
        "accounts": worklists.accounts_overview(),
    }


@bp.route("/")
def home():
    """Each role's sections, a reviewer's first, then a technician's, then an administrator's;
    each section counts its items in its heading and says so when it is empty."""
    roles = current_user.roles
    work: dict[str, Any] = {}
    if "reviewer" in roles:
        work |= _reviewer_work()
    if "technician" in roles:
        work |= _bench_work()
    elif may("batch.create"):  # a reviewer who compounds sees their own drafts
        work["my_drafts"] = worklists.my_drafts(current_user)
    if "admin" in roles:
        work |= _admin_work()
    if may("formula.approve"):
        work["formula_drafts"] = worklists.formula_drafts(current_user)
    return render_template(
        "main/home.html",
        reviewer="reviewer" in roles,
        technician="technician" in roles,
        admin="admin" in roles,
        security_limit=SECURITY_EVENTS_SHOWN,
        last_sign_in=accounts.previous_sign_in(current_user),
        **work,
    )
