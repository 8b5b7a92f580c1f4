"""The alert outbox: one e-mail per cause and person, written with its cause, sent later."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models.types import UTCDateTime, utcnow
from qa_app.models.user import ALERT_KINDS, User

ALERT_STATUSES = ("pending", "sent")


class Alert(db.Model):
    """An alert waiting to be e-mailed (``pending``) or delivered (``sent``).

    ``cause`` names what raised it (``excursion:12``, ``result:345``, ``lot:LOT000003``); the
    unique key (person, kind, cause) makes a cause alert each person once, however often the
    code that found it runs. A sender claims a row until ``claimed_until``; a failed delivery
    stays pending with its error and the time of the next attempt.
    """

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    cause: so.Mapped[str] = so.mapped_column(sa.String(120))
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    subject: so.Mapped[str] = so.mapped_column(sa.String(300))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    link: so.Mapped[str] = so.mapped_column(sa.String(500))
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="pending")
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    claim_token: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    user: so.Mapped[User] = so.relationship(lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("user_id", "kind", "cause", name="uq_alert_once_per_cause"),
        sa.CheckConstraint(sa.column("kind").in_(ALERT_KINDS), name="known_kind"),
        sa.CheckConstraint(sa.column("status").in_(ALERT_STATUSES), name="known_status"),
        sa.Index("ix_alert_status_next", "status", "next_attempt_at"),
    )
