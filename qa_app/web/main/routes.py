"""The home page: the signed-in person's own work."""

from flask import Blueprint, render_template
from flask_login import current_user

from qa_app.services import accounts

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    """Each role's queue; administrators also see failed sign-ins, failed signings and lockouts."""
    security_events = accounts.recent_security_events() if current_user.has_role("admin") else []
    return render_template(
        "main/home.html",
        security_events=security_events,
        last_sign_in=accounts.previous_sign_in(current_user),
    )
