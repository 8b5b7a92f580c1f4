"""Accounts: creating users and their roles, signing in, lockout, deactivation."""

import contextlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import NoReturn

import sqlalchemy as sa
import sqlalchemy.orm as so
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from qa_app.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.models import ROLES, AuditEvent, User, UserAlert, UserRole
from qa_app.models.types import utcnow
from qa_app.services import audit

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
SIGN_IN_FAILED = (
    "Sign-in failed: the username or password is wrong, or the account is locked or "
    "deactivated. After 5 failed attempts an account is locked for 15 minutes; an "
    "administrator can unlock it sooner."
)


def password_hasher() -> PasswordHasher:
    """The app's argon2id hasher (cheap parameters only under the test configuration)."""
    hasher = current_app.extensions.get("qa_password_hasher")
    if hasher is None:
        cfg = current_app.config
        hasher = PasswordHasher(
            time_cost=cfg["QA_ARGON2_TIME_COST"],
            memory_cost=cfg["QA_ARGON2_MEMORY_COST"],
            parallelism=cfg["QA_ARGON2_PARALLELISM"],
        )
        current_app.extensions["qa_password_hasher"] = hasher
    return hasher


def require_role(actor: User | None, *roles: str) -> User:
    """``actor`` if it holds one of ``roles``; otherwise a 403 naming the roles needed."""
    if actor is None:
        raise NotAuthenticated("Sign in first.")
    if not actor.has_role(*roles):
        raise NotPermitted(f"This needs the role {' or '.join(roles)}.")
    return actor


def _password_errors(password: str | None) -> str | None:
    minimum = current_app.config["QA_PASSWORD_MIN_LENGTH"]
    if not password or len(password) < minimum:
        return f"Use at least {minimum} characters."
    return None


def _clean_roles(roles: Iterable[str] | None) -> list[str]:
    chosen = sorted({(r or "").strip().lower() for r in roles or []})
    if not chosen:
        raise InvalidInput("Choose at least one role.", {"roles": "Choose at least one role."})
    unknown = [r for r in chosen if r not in ROLES]
    if unknown:
        raise InvalidInput(
            f"Unknown role {', '.join(unknown)}.",
            {"roles": f"Unknown role {', '.join(unknown)}; use {', '.join(ROLES)}."},
        )
    return chosen


def get_user(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    return user


def list_users() -> list[User]:
    return list(
        db.session.scalars(sa.select(User).options(so.selectinload(User.role_rows)).order_by(User.username))
    )


def create_user(
    actor: User | None,
    *,
    username: str,
    full_name: str,
    roles: Iterable[str],
    password: str,
    actor_name: str | None = None,
    email: str | None = None,
    alerts: Iterable[str] | None = None,
) -> User:
    """Create an account. ``actor`` is the admin; None with ``actor_name`` for the command line.
    ``email`` and ``alerts`` choose the e-mail alerts the person receives, in the same transaction."""
    from qa_app.services.alerts import clean_choice  # noqa: PLC0415 (it reads accounts)

    if actor is not None:
        require_role(actor, "admin")
    username = (username or "").strip().lower()
    full_name = (full_name or "").strip()
    fields: dict[str, str] = {}
    if not USERNAME_PATTERN.match(username):
        fields["username"] = (
            "Use 3–64 characters: lower-case letters, digits, dot, hyphen or underscore, "
            "starting with a letter or digit."
        )
    if not full_name:
        fields["full_name"] = "Enter the person's full name as it is printed on signatures."
    elif len(full_name) > 200:
        fields["full_name"] = "Use at most 200 characters."
    if problem := _password_errors(password):
        fields["password"] = problem
    try:
        chosen = _clean_roles(roles)
    except InvalidInput as exc:
        fields.update(exc.fields)
        chosen = []
    address, kinds = None, []
    if email is not None or alerts:
        try:
            address, kinds = clean_choice(email, alerts)
        except InvalidInput as exc:
            fields.update(exc.fields)
    if fields:
        raise InvalidInput("The user was not created: correct the marked fields.", fields)
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise Conflict(
            f"A user named {username!r} exists already.",
            {"username": "This username is taken; users are never deleted, so choose another."},
        )
    user = User(
        username=username,
        full_name=full_name,
        password_hash=password_hasher().hash(password),
        role_rows=[UserRole(role=r) for r in chosen],
        email=address,
        alert_rows=[UserAlert(kind=k) for k in kinds],
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.created",
        "user",
        username,
        actor=actor,
        username=actor_name,
        new={
            "username": username,
            "full_name": full_name,
            "roles": chosen,
            "active": True,
            **({"email": address, "alerts": kinds} if address or kinds else {}),
        },
    )
    db.session.commit()
    return user


def set_roles(actor: User, username: str, roles: Iterable[str], reason: str | None = None) -> User:
    require_role(actor, "admin")
    user = get_user(username)
    chosen = _clean_roles(roles)
    old = sorted(user.roles)
    if old == chosen:
        return user
    if user.id == actor.id and "admin" not in chosen:
        raise NotPermitted(
            "You cannot remove your own admin role; ask another administrator.",
            {"roles": "Keep the admin role on your own account."},
        )
    user.role_rows = [row for row in user.role_rows if row.role in chosen] + [
        UserRole(role=r) for r in chosen if r not in old
    ]
    audit.record(
        "user.roles_changed",
        "user",
        username,
        actor=actor,
        old={"roles": old},
        new={"roles": chosen},
        reason=reason,
    )
    db.session.commit()
    return user


def set_active(
    actor: User | None,
    username: str,
    active: bool,
    reason: str | None = None,
    actor_name: str | None = None,
) -> User:
    """Deactivate (or reactivate) an account; its sessions and tokens stop at once."""
    if actor is not None:
        require_role(actor, "admin")
    user = get_user(username)
    if user.active == active:
        raise WrongState(f"{username} is already {'active' if active else 'deactivated'}.")
    if actor is not None and user.id == actor.id and not active:
        raise NotPermitted("You cannot deactivate your own account; ask another administrator.")
    user.active = active
    user.end_sessions()  # reactivation never revives what deactivation ended
    audit.record(
        "user.reactivated" if active else "user.deactivated",
        "user",
        username,
        actor=actor,
        username=actor_name,
        old={"active": not active},
        new={"active": active},
        reason=reason,
    )
    db.session.commit()
    return user


def unlock(actor: User | None, username: str, actor_name: str | None = None) -> User:
    """Lift a lockout before its 15 minutes are over."""
    if actor is not None:
        require_role(actor, "admin")
    user = get_user(username)
    if not user.is_locked(utcnow()) and user.failed_attempts == 0:
        raise WrongState(f"{username} is not locked.")
    old = {"locked_until": user.locked_until, "failed_attempts": user.failed_attempts}
    user.locked_until, user.failed_attempts = None, 0
    audit.record(
        "user.unlocked",
        "user",
        username,
        actor=actor,
        username=actor_name,
        old=old,
        new={"locked_until": None, "failed_attempts": 0},
    )
    db.session.commit()
    return user


def _verify(user: User | None, password: str) -> bool:
    hasher = password_hasher()
    if user is None:
        # Same work as for a real account, so timing does not reveal which usernames exist.
        _dummy_verify(hasher, password)
        return False
    try:
        hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def _dummy_verify(hasher: PasswordHasher, password: str) -> None:
    dummy = current_app.extensions.get("qa_dummy_hash")
    if dummy is None:
        dummy = current_app.extensions["qa_dummy_hash"] = hasher.hash(secrets.token_hex(16))
    with contextlib.suppress(VerificationError, InvalidHashError):
        hasher.verify(dummy, password or "")


def check_password(username: str, password: str, channel: str, now: datetime | None = None) -> User:
    """The user whose password this is, or NotAuthenticated with one answer for every failure.

    Every failure is written to the audit trail and committed at once (even though the
    caller's use case fails), counts toward the lockout, and five in a row lock the account for
    15 minutes. ``channel`` says where it happened: ``login``, ``token`` or ``signature``.
    """
    now = now or utcnow()
    typed = (username or "").strip().lower()
    user = db.session.scalar(sa.select(User).where(User.username == typed).with_for_update())
    usable = user is not None and user.can_act(now)
    if _verify(user, password) and usable:
        if user.failed_attempts:
            user.failed_attempts = 0
        return user
    refuse(typed, channel, now=now)


def refuse(
    typed: str,
    channel: str,
    *,
    now: datetime | None = None,
    why: str | None = None,
    message: str | None = None,
) -> NoReturn:
    """Refuse an attempt: roll back the use case, record the failure, commit it, raise 401.

    A failure counts toward the lockout whatever ``why`` says, so guessing through the
    signature form is as limited as guessing through the login page.
    """
    db.session.rollback()
    _record_failure(typed, channel, now or utcnow(), why)
    db.session.commit()
    if channel == "signature":
        raise NotAuthenticated(
            message or "The signature was refused: wrong password.",
            {"signature.password": "Wrong password; enter your own password again."},
        )
    raise NotAuthenticated(SIGN_IN_FAILED)


USERNAME_MAX = 64  # the audit trail's username column; a longer one is no user's


def _record_failure(typed: str, channel: str, now: datetime, why: str | None) -> None:
    user = db.session.scalar(sa.select(User).where(User.username == typed).with_for_update())
    action = "signature.failed" if channel == "signature" else "auth.failed"
    if user is None:
        shown = typed if len(typed) <= USERNAME_MAX else typed[: USERNAME_MAX - 1] + "…"  # no such user
        audit.record(
            action,
            "user",
            shown or "(blank)",
            username=shown or None,
            new={"channel": channel, "why": "unknown username", "typed_length": len(typed)},
        )
        return
    if not user.active:
        why = "deactivated"
    elif user.is_locked(now):
        why = "locked"
    else:
        why = why or "wrong password"
        user.failed_attempts += 1
    audit.record(
        action,
        "user",
        typed,
        username=typed,
        new={"channel": channel, "why": why, "failed_attempts": user.failed_attempts},
    )
    threshold = current_app.config["QA_LOCKOUT_THRESHOLD"]
    if user.active and not user.is_locked(now) and user.failed_attempts >= threshold:
        user.locked_until = now + current_app.config["QA_LOCKOUT_DURATION"]
        user.failed_attempts = 0
        user.end_sessions()
        audit.record(
            "user.locked",
            "user",
            typed,
            username=typed,
            new={"locked_until": user.locked_until, "after_failures": threshold},
        )


def sign_in(username: str, password: str, channel: str = "login") -> User:
    """Check a sign-in and record the success."""
    user = check_password(username, password, channel)
    audit.record("auth.signed_in", "user", user.username, actor=user, new={"channel": channel})
    db.session.commit()
    return user


def sign_out(user: User) -> None:
    """Sign out: every session and user token of ``user`` issued so far stops working."""
    user.end_sessions()
    audit.record("auth.signed_out", "user", user.username, actor=user)
    db.session.commit()


def change_password(actor: User, current_password: str, new_password: str) -> User:
    """Change one's own password; every earlier session and token of the account ends.

    The current password is checked like a sign-in (a wrong one counts toward the lockout).
    """
    if problem := _password_errors(new_password):
        raise InvalidInput("The password was not changed.", {"new_password": problem})
    if new_password == current_password:
        raise InvalidInput(
            "The password was not changed.",
            {"new_password": "Choose a password different from the current one."},
        )
    try:
        user = check_password(actor.username, current_password, "password")
    except NotAuthenticated:
        raise NotAuthenticated(
            "The password was not changed: the current password is wrong.",
            {"current_password": "Wrong password; type your current password again."},
        ) from None
    user.password_hash = password_hasher().hash(new_password)
    user.end_sessions()
    audit.record("user.password_changed", "user", user.username, actor=user)
    db.session.commit()
    return user


SECURITY_ACTIONS = ("auth.failed", "signature.failed", "user.locked")


def recent_security_events(limit: int = 20):
    """Failed sign-ins, failed signings and lockouts, newest first (21 CFR 11.300(d))."""

    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.action.in_(SECURITY_ACTIONS))
        .order_by(AuditEvent.seq.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def previous_sign_in(user: User) -> AuditEvent | None:
    """The sign-in before the current one, so a person notices a sign-in that was not theirs."""
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.action == "auth.signed_in", AuditEvent.user_id == user.id)
        .order_by(AuditEvent.seq.desc())
        .offset(1)
        .limit(1)
    )
    return db.session.scalar(stmt)
