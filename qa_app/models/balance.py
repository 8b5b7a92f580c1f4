"""Balances (USP <41>) and their daily performance checks."""

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models.types import UTCDateTime, utcnow
from qa_app.models.user import User


class Balance(db.Model):
    """A weighing balance with the figures of its last USP <41> repeatability test.

    Its minimum weight follows from them (``domain.weighing.minimum_weight_mg``); a balance
    taken out of use keeps its record and its checks.
    """

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    readability_mg: so.Mapped[float]
    repeatability_sd_mg: so.Mapped[float]
    capacity_g: so.Mapped[float]
    qualified_on: so.Mapped[date | None] = so.mapped_column(sa.Date)
    """The date of the USP <41> repeatability test the standard deviation comes from."""
    active: so.Mapped[bool] = so.mapped_column(default=True)
    changed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    """When its figures, capacity or use last changed: only a check made since counts."""
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    row_version: so.Mapped[int] = so.mapped_column(default=1)

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (
        sa.CheckConstraint("readability_mg > 0", name="positive_readability"),
        sa.CheckConstraint("repeatability_sd_mg > 0", name="positive_repeatability"),
        sa.CheckConstraint("capacity_g > 0", name="positive_capacity"),
    )


class BalanceCheck(db.Model):
    """A daily performance check: a test weight read on the balance (append-only)."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    balance_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("balance.id"), index=True)
    nominal_mg: so.Mapped[float]
    observed_mg: so.Mapped[float]
    error_percent: so.Mapped[float]
    passed: so.Mapped[bool]
    reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    """Why the check failed, in words (None when it passed)."""
    local_date: so.Mapped[date] = so.mapped_column(sa.Date)
    """The pharmacy's local date of the check: a weighing needs a passing one on its own date."""
    recorded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    recorded_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    balance: so.Mapped[Balance] = so.relationship(lazy="joined", innerjoin=True)
    recorded_by: so.Mapped[User] = so.relationship(lazy="joined")

    __table_args__ = (sa.Index("ix_balance_check_balance_date", "balance_id", "local_date"),)
