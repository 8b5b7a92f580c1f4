"""User administration: list, create, set roles, deactivate, reactivate, unlock."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from qa_app.errors import ServiceError
from qa_app.extensions import db
from qa_app.models.types import utcnow
from qa_app.services import accounts, alerts
from qa_app.web.access import action_required
from qa_app.web.admin.forms import NewUserForm, ReasonForm, RolesForm
from qa_app.web.auth.forms import AlertsForm
from qa_app.web.forms import apply_field_errors

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@action_required("users.manage")
def users():
    """Every account with its roles and whether it can sign in now."""
    return render_template("admin/users.html", users=accounts.list_users(), now=utcnow())


@bp.route("/users/new", methods=["GET", "POST"])
@action_required("users.manage")
def new_user():
    """Create an account; on an error the form comes back with what was typed."""
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                current_user,
                username=form.username.data,
                full_name=form.full_name.data,
                roles=form.roles.data,
                password=form.password.data,
            )
        except ServiceError as exc:
            apply_field_errors(form, exc)
        else:
            flash(f"User {user.username} created.", "success")
            return redirect(url_for("admin.user", username=user.username))
    return render_template("admin/new_user.html", form=form), 400 if form.errors else 200


@bp.route("/users/<username>", methods=["GET", "POST"])
@action_required("users.manage")
def user(username: str):
    """One account: change its roles; deactivate, reactivate or unlock it."""
    person = accounts.get_user(username)
    form = RolesForm()
    if not form.is_submitted():
        form.roles.data = sorted(person.roles)
    if form.validate_on_submit():
        try:
            accounts.set_roles(current_user, username, form.roles.data, reason=form.reason.data or None)
        except ServiceError as exc:
            apply_field_errors(form, exc)
        else:
            flash(f"Roles of {username} saved.", "success")
            return redirect(url_for("admin.user", username=username))
    return render_template(
        "admin/user.html",
        person=person,
        form=form,
        reason_form=ReasonForm(prefix="account"),
        alerts_form=_alerts_form(person),
        now=utcnow(),
    ), 400 if form.errors else 200


def _alerts_form(person) -> AlertsForm:
    form = AlertsForm(formdata=None)
    form.email.data, form.alerts.data = person.email or "", person.alerts
    return form


@bp.route("/users/<username>/alerts", methods=["POST"])
@action_required("users.manage")
def alerts_of(username: str):
    """Set the e-mail address and the alerts a person receives."""
    person = accounts.get_user(username)
    form = AlertsForm()
    status = 400
    if form.validate_on_submit():
        try:
            alerts.set_alerts(current_user, username, form.email.data, form.alerts.data)
        except ServiceError as exc:
            apply_field_errors(form, exc)
            status = exc.status
            person = accounts.get_user(username)
        else:
            flash(f"E-mail alerts of {username} saved.", "success")
            return redirect(url_for("admin.user", username=username))
    roles_form = RolesForm(formdata=None)
    roles_form.roles.data = sorted(person.roles)
    return render_template(
        "admin/user.html",
        person=person,
        form=roles_form,
        reason_form=ReasonForm(prefix="account"),
        alerts_form=form,
        now=utcnow(),
    ), status


@bp.route("/users/<username>/deactivate", methods=["POST"])
@action_required("users.manage")
def deactivate(username: str):
    """Deactivate an account; its sessions and tokens stop at once. Nothing is deleted."""
    return _account_action(
        username,
        lambda reason: accounts.set_active(current_user, username, False, reason),
        f"{username} is deactivated.",
    )


@bp.route("/users/<username>/reactivate", methods=["POST"])
@action_required("users.manage")
def reactivate(username: str):
    """Let a deactivated account sign in again."""
    return _account_action(
        username,
        lambda reason: accounts.set_active(current_user, username, True, reason),
        f"{username} is active again.",
    )


@bp.route("/users/<username>/unlock", methods=["POST"])
@action_required("users.manage")
def unlock(username: str):
    """End a lockout before its 15 minutes are over."""
    return _account_action(
        username, lambda _reason: accounts.unlock(current_user, username), f"{username} is unlocked."
    )


def _account_action(username: str, action, done: str):
    form = ReasonForm(prefix="account")
    if form.validate_on_submit():
        try:
            action(form.reason.data or None)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            flash(done, "success")
    else:
        for name, messages in form.errors.items():
            flash(
                f"Nothing was changed: {form[name].label.text if name in form else name}: {' '.join(messages)}",
                "error",
            )
    return redirect(url_for("admin.user", username=username))
