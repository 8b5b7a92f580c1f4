"""Who may see what: sign-in for every page, idle time-out, and security headers."""

from datetime import UTC, datetime

from flask import Flask, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from qa_app.errors import InvalidInput
from qa_app.extensions import db, login_manager
from qa_app.models import User
from qa_app.models.types import utcnow

# Pages anyone may reach. The API marks its own public operations (api/registry.py).
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "verify.lookup", "verify.certificate"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The signed-in user, or nobody once the account is locked or deactivated, or once the
    session was ended (sign-out, password change, deactivation, lockout: a new session version)."""
    number, _, version = user_id.partition(":")
    if not (number.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(number))
    if user is None or user.session_version != int(version):
        return None
    return user if user.can_act(utcnow()) else None


def init_app(app: Flask) -> None:
    hide_server_versions()
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @app.before_request
    def refuse_nul_characters():
        """A NUL in a path, query or form field is never valid text (PostgreSQL cannot store it)."""
        fields = [("path", request.path), *request.args.items(multi=True)]
        if request.method == "POST" and request.mimetype in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            fields += request.form.items(multi=True)
        named = {name: "Remove the NUL character." for name, value in fields if "\x00" in name + value}
        if named:
            raise InvalidInput("The request holds a NUL character; remove it.", named)
        return None

    @app.before_request
    def require_sign_in():
        """Every page needs a signed-in user, except the public ones; idle sessions end."""
        if request.blueprint == "api" or request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        now = datetime.now(UTC).timestamp()
        last_seen = session.get("seen", now)
        if now - last_seen > app.config["PERMANENT_SESSION_LIFETIME"].total_seconds():
            logout_user()
            session.clear()
            flash("You were signed out after 15 minutes without activity. Sign in again.", "info")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        session["seen"] = now
        return None

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if (
            request.blueprint == "api"  # tokens, users, records: never kept by a cache
            or response.mimetype == "application/pdf"
            or (request.blueprint != "static" and current_user and current_user.is_authenticated)
        ):
            headers["Cache-Control"] = "no-store"
        return response


def hide_server_versions() -> None:
    """The development server names itself without its or Python's version (``Server: qa-app``).

    gunicorn sends ``Server: gunicorn`` without a version; the header comes from the server,
    not the application, so the application does not add one of its own (it would be sent twice).
    """
    from werkzeug.serving import WSGIRequestHandler

    WSGIRequestHandler.version_string = lambda _handler: DEV_SERVER_NAME  # type: ignore[method-assign]


DEV_SERVER_NAME = "qa-app"
