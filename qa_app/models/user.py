"""People who use the system, their roles and their API tokens."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin

from qa_app.extensions import db
from qa_app.models.types import UTCDateTime, utcnow

ROLES = ("technician", "reviewer", "admin", "inspector")
ALERT_KINDS = ("excursion", "oos", "trend_signal", "lot_expiring", "batch_near_bud")


class User(UserMixin, db.Model):
    """A person with one or more roles. Users are deactivated, never deleted."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    full_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    failed_attempts: so.Mapped[int] = so.mapped_column(default=0)
    locked_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    # Raised by sign-out, a password change, deactivation and lockout: every session and user
    # token issued under an earlier number stops working.
    session_version: so.Mapped[int] = so.mapped_column(default=1, server_default="1")
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254))

    role_rows: so.Mapped[list["UserRole"]] = so.relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserRole.role"
    )

    alert_rows: so.Mapped[list["UserAlert"]] = so.relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserAlert.kind"
    )

    @property
    def alerts(self) -> list[str]:
        """The alert kinds this person receives by e-mail, in ``ALERT_KINDS`` order."""
        chosen = {row.kind for row in self.alert_rows}
        return [kind for kind in ALERT_KINDS if kind in chosen]

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(row.role for row in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        """True when the user holds any of ``roles``."""
        return not self.roles.isdisjoint(roles)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def can_act(self, now: datetime) -> bool:
        """Whether this user's sessions and tokens work right now."""
        return self.active and not self.is_locked(now)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.can_act(utcnow())

    def get_id(self) -> str:  # Flask-Login: the session names the user and its session version
        return f"{self.id}:{self.session_version}"

    def end_sessions(self) -> None:
        """End every session and user token issued so far (they carry the old version)."""
        self.session_version += 1

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserRole(db.Model):
    """One role held by one user."""

    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), primary_key=True)
    role: so.Mapped[str] = so.mapped_column(sa.String(20), primary_key=True)

    user: so.Mapped[User] = so.relationship(back_populates="role_rows")

    __table_args__ = (sa.CheckConstraint(sa.column("role").in_(ROLES), name="known_role"),)


class UserAlert(db.Model):
    """One kind of alert a person has chosen to receive by e-mail."""

    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(20), primary_key=True)

    user: so.Mapped[User] = so.relationship(back_populates="alert_rows")

    __table_args__ = (sa.CheckConstraint(sa.column("kind").in_(ALERT_KINDS), name="known_kind"),)


class ApiToken(db.Model):
    """A bearer token. Only its SHA-256 is stored; the secret is shown once, at issue."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # A device token belongs to one storage unit instead of a user (api.md).
    storage_unit_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("storage_unit.id"), index=True)
    label: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    # A user token works only while its user's session version is the one it was issued under.
    session_version: so.Mapped[int | None]

    user: so.Mapped[User | None] = so.relationship(foreign_keys=[user_id], lazy="joined")
