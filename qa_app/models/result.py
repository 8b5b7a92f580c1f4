"""Test results, their invalidation by an investigation, and OOS investigations."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models.types import UTCDateTime, utcnow
from qa_app.models.user import User

RESULT_SOURCES = ("entered", "imported", "api")
INVESTIGATION_CAUSES = ("laboratory", "manufacturing", "none")


class Result(db.Model):
    """One reported result: never edited or deleted; a retest adds a result.

    Content uniformity at stage 2 is a result of 20 values that points at its stage-1 result;
    its evaluation judges all 30 units.
    """

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    batch_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("batch.id"), index=True)
    test_key: so.Mapped[str] = so.mapped_column(sa.String(40))
    kind: so.Mapped[str] = so.mapped_column(sa.String(30))
    values: so.Mapped[list[float] | None] = so.mapped_column(sa.JSON)
    text_value: so.Mapped[str | None] = so.mapped_column(sa.Text)
    unit: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    method: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    analyst: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    tested_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    source: so.Mapped[str] = so.mapped_column(sa.String(20))
    status: so.Mapped[str] = so.mapped_column(sa.String(30))
    evaluation: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    stage1_result_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("result.id"))
    retest_of_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("investigation.id", use_alter=True))
    recorded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    recorded_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    recorded_by: so.Mapped[User] = so.relationship(lazy="joined")

    __table_args__ = (
        sa.Index("ix_result_batch_test", "batch_id", "test_key"),
        sa.CheckConstraint(sa.column("source").in_(RESULT_SOURCES), name="known_source"),
    )


class Investigation(db.Model):
    """An OOS investigation on one failing result (FDA OOS guidance; 21 CFR 211.192)."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    batch_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("batch.id"), index=True)
    result_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("result.id"), unique=True)
    test_key: so.Mapped[str] = so.mapped_column(sa.String(40))
    retests_allowed: so.Mapped[int]
    phase: so.Mapped[str] = so.mapped_column(sa.String(2), default="I")
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="open")
    opened_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    opened_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    assignable_cause: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    cause: so.Mapped[str | None] = so.mapped_column(sa.Text)
    conclusion: so.Mapped[str | None] = so.mapped_column(sa.Text)
    outcome: so.Mapped[str | None] = so.mapped_column(sa.String(20))  # invalidated | confirmed
    closed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    closed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # Retests recorded under the plan when it closed: after a laboratory cause, one result may
    # replace the invalidated one even when the allowance is used up (domain.md §5).
    retests_at_close: so.Mapped[int | None]
    row_version: so.Mapped[int] = so.mapped_column(default=1)

    opened_by: so.Mapped[User] = so.relationship(foreign_keys=[opened_by_id], lazy="joined")
    closed_by: so.Mapped[User | None] = so.relationship(foreign_keys=[closed_by_id], lazy="joined")

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (
        sa.CheckConstraint(sa.column("phase").in_(("I", "II")), name="known_phase"),
        sa.CheckConstraint(sa.column("status").in_(("open", "closed")), name="known_status"),
    )


class ResultInvalidation(db.Model):
    """A result invalidated by an investigation that found a laboratory cause. It stays visible."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    result_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("result.id"), unique=True)
    investigation_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("investigation.id"))
    reason: so.Mapped[str] = so.mapped_column(sa.Text)
    invalidated_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    invalidated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
