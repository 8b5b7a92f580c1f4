"""Signing in and out of the pages."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from qa_app.errors import NotAuthenticated, ServiceError
from qa_app.services import accounts, alerts
from qa_app.web.auth.forms import AlertsForm, LoginForm, PasswordChangeForm
from qa_app.web.forms import apply_field_errors

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would help a phishing page."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form. A failure keeps the username and never says which part was wrong."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.sign_in(form.username.data, form.password.data, "login")
        except NotAuthenticated as exc:
            form.form_errors.append(exc.message)
            form.password.data = ""
            return render_template("auth/login.html", form=form), 401
        _start_session(user)
        return redirect(_safe_next(request.args.get("next")))
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


def _start_session(user) -> None:
    session.clear()  # a fresh session on sign-in: no fixation
    login_user(user)
    session.permanent = True
    session["seen"] = datetime.now(UTC).timestamp()


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password: every other session and API token of the account ends."""
    form = PasswordChangeForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            user = accounts.change_password(current_user, form.current_password.data, form.new_password.data)
        except ServiceError as exc:
            apply_field_errors(form, exc)
            status = exc.status
        else:
            _start_session(user)  # this workstation stays signed in, under the new session version
            flash(
                "Your password is changed. Your other sessions and API tokens have ended; sign in "
                "there again.",
                "success",
            )
            return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form, alerts_form=_alerts_form(current_user)), status


def _alerts_form(person) -> AlertsForm:
    """The E-mail alerts form, filled with what ``person`` chose."""
    form = AlertsForm(formdata=None)
    form.email.data, form.alerts.data = person.email or "", person.alerts
    return form


@bp.route("/account/alerts", methods=["POST"])
@login_required
def change_alerts():
    """Choose which alerts reach you by e-mail, and the address they go to."""
    form = AlertsForm()
    if form.validate_on_submit():
        try:
            alerts.set_alerts(current_user, current_user.username, form.email.data, form.alerts.data)
        except ServiceError as exc:
            apply_field_errors(form, exc)
            status = exc.status
        else:
            flash("Your e-mail alerts are saved.", "success")
            return redirect(url_for("auth.change_password"))
    else:
        status = 400
    return render_template(
        "auth/password.html", form=PasswordChangeForm(formdata=None), alerts_form=form
    ), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out (a POST with the CSRF token, so another site cannot sign you out)."""
    accounts.sign_out(current_user)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
