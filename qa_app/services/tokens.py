"""API bearer tokens: issued against a password, stored only as a hash, expiring."""

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from qa_app.errors import NotAuthenticated
from qa_app.extensions import db
from qa_app.models import ApiToken, User
from qa_app.models.types import utcnow
from qa_app.services import accounts, audit


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_user_token(username: str, password: str) -> tuple[str, datetime]:
    """A new 8-hour token for a user; a failure counts toward the lockout like a sign-in."""
    user = accounts.check_password(username, password, "token")
    secret = secrets.token_urlsafe(32)
    expires_at = utcnow() + current_app.config["QA_TOKEN_LIFETIME"]
    token = ApiToken(token_hash=token_digest(secret), user_id=user.id, expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record(
        "token.issued",
        "user",
        user.username,
        actor=user,
        new={"token_id": token.id, "expires_at": expires_at},
    )
    db.session.commit()
    return secret, expires_at


def resolve(secret: str) -> ApiToken:
    """The live token for ``secret``: not revoked, not expired, its user active and unlocked."""
    now = utcnow()
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_digest(secret)))
    if token is None or token.revoked_at is not None:
        raise NotAuthenticated("The token is unknown or revoked; request a new one.")
    if token.expires_at is not None and token.expires_at <= now:
        raise NotAuthenticated("The token has expired; request a new one.")
    user: User | None = token.user
    if user is not None and not user.can_act(now):
        raise NotAuthenticated("The account is locked or deactivated.")
    return token
