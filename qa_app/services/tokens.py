"""API bearer tokens: issued against a password, stored only as a hash, expiring."""

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from qa_app.errors import InvalidInput, NotAuthenticated, NotFound, WrongState
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
    token = ApiToken(
        token_hash=token_digest(secret),
        user_id=user.id,
        expires_at=expires_at,
        session_version=user.session_version,
    )
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
    if user is not None and token.session_version != user.session_version:
        raise NotAuthenticated(
            "The token was ended by a sign-out, password change, deactivation or lockout; request a new one."
        )
    return token


def issue_device_token(actor: User, unit_code: str, label: str) -> tuple[str, ApiToken]:
    """A token for one sensor: it may only post readings to ``unit_code``, and never expires."""
    from qa_app.services import storage

    accounts.require_role(actor, "admin")
    unit = storage.get_unit(unit_code)
    label = (label or "").strip()
    if not label or len(label) > 200:
        raise InvalidInput("Name the sensor, e.g. its serial number.", {"label": "Give 1–200 characters."})
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=token_digest(secret), storage_unit_id=unit.id, label=label, created_by_id=actor.id
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "device_token.issued",
        "storage_unit",
        unit.code,
        actor=actor,
        new={"token_id": token.id, "label": label},
    )
    db.session.commit()
    return secret, token


def device_tokens(unit_code: str) -> list[ApiToken]:
    """A unit's device tokens, revoked ones included (they stay on record)."""
    from qa_app.services import storage

    unit = storage.get_unit(unit_code)
    stmt = sa.select(ApiToken).where(ApiToken.storage_unit_id == unit.id).order_by(ApiToken.id)
    return list(db.session.scalars(stmt))


def revoke_device_token(actor: User, unit_code: str, token_id: int) -> ApiToken:
    """Stop a sensor's token at once; its readings stay."""
    from qa_app.services import storage

    accounts.require_role(actor, "admin")
    unit = storage.get_unit(unit_code)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.storage_unit_id != unit.id:
        raise NotFound(f"No device token {token_id} for {unit.code}.")
    if token.revoked_at is not None:
        raise WrongState(f"Device token {token_id} was revoked already.")
    token.revoked_at = utcnow()
    audit.record(
        "device_token.revoked",
        "storage_unit",
        unit.code,
        actor=actor,
        old={"token_id": token.id, "label": token.label},
    )
    db.session.commit()
    return token
