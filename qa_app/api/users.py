"""User administration over the API (an addition to api.md for pharmacy systems)."""

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import g, jsonify, request

from qa_app.api import bp, serialise
from qa_app.api.registry import ANY_USER, operation
from qa_app.api.schemas import page_of, ref
from qa_app.models import User
from qa_app.services import accounts, alerts
from qa_app.services.pagination import page_args, paginate

PAGE_QUERY = (
    {"name": "page", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
)


@operation(
    bp,
    "/users",
    "GET",
    summary="List users",
    roles=("admin",),
    tag="users",
    response=page_of(ref("User")),
    query=PAGE_QUERY,
)
def list_users():
    """Every account, active or not, ordered by username."""
    page, per_page = page_args(request.args)
    stmt = (
        sa.select(User)
        .options(so.selectinload(User.role_rows), so.selectinload(User.alert_rows))
        .order_by(User.username)
    )
    result = paginate(stmt, page, per_page)
    return jsonify(result.as_dict(serialise.user))


@operation(
    bp,
    "/users",
    "POST",
    summary="Create a user",
    roles=("admin",),
    tag="users",
    body="NewUser",
    response=ref("User"),
    status=201,
    errors=(409,),
)
def create_user(body):
    """A new account with its roles; the password needs at least 12 characters. ``email`` and
    ``alerts`` (optional) choose the e-mail alerts the person receives."""
    user = accounts.create_user(
        g.actor,
        username=body["username"],
        full_name=body["full_name"],
        roles=body["roles"],
        password=body["password"],
        email=body.get("email"),
        alerts=body.get("alerts"),
    )
    return jsonify(serialise.user(user)), 201


@operation(
    bp,
    "/users/<username>/alerts",
    "PUT",
    summary="Choose a person's e-mail alerts",
    roles=ANY_USER,
    tag="users",
    body="UserAlerts",
    response=ref("User"),
    errors=(403, 404),
)
def set_user_alerts(username, body):
    """The e-mail address and the alert kinds the person receives (that person or an admin):
    excursion (one needing a disposition), oos (a failing result), trend_signal, lot_expiring (an
    approved lot within 30 days of expiry), batch_near_bud (a batch within 14 days of its BUD)."""
    user = alerts.set_alerts(
        g.actor, username, body.get("email"), body["alerts"], keep_email="email" not in body
    )
    return jsonify(serialise.user(user))


@operation(
    bp,
    "/users/<username>/deactivate",
    "POST",
    summary="Deactivate a user",
    roles=("admin",),
    tag="users",
    body="Reason",
    response=ref("User"),
    errors=(404, 409),
)
def deactivate_user(username, body):
    """Deactivate an account: its sessions and tokens stop working at once."""
    user = accounts.set_active(g.actor, username, False, reason=body.get("reason"))
    return jsonify(serialise.user(user))


@operation(
    bp,
    "/users/<username>/unlock",
    "POST",
    summary="Lift a lockout",
    roles=("admin",),
    tag="users",
    response=ref("User"),
    errors=(404, 409),
)
def unlock_user(username):
    """End a lockout before its 15 minutes are over."""
    return jsonify(serialise.user(accounts.unlock(g.actor, username)))
