"""Temperature excursions of a storage unit and the dispositions of the batches they touched."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models.audit import Signature
from qa_app.models.storage import StorageUnit
from qa_app.models.types import UTCDateTime, utcnow
from qa_app.models.user import User

CLASSIFICATIONS = ("allowable", "needs_disposition")
DECISIONS = ("acceptable", "reject")


class Excursion(db.Model):
    """An excursion found in a unit's readings (domain.md §6).

    Found again whenever readings arrive, so late readings can extend, end or withdraw it;
    every such change is audited. ``end`` is ``None`` while the unit is still outside its
    range. It stays open for review until a reviewer acknowledges it with a comment.
    """

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    storage_unit_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("storage_unit.id"), index=True)
    start: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    end: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    last_reading_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    duration_minutes: so.Mapped[float]
    min_c: so.Mapped[float]
    max_c: so.Mapped[float]
    mkt_c: so.Mapped[float | None]
    classification: so.Mapped[str] = so.mapped_column(sa.String(20))
    reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    """Which rule decided the classification, in words."""
    gap_minutes: so.Mapped[float] = so.mapped_column(default=0.0, server_default="0")
    """Time without readings (data gaps) inside the excursion or touching it."""
    detected_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    withdrawn_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    acknowledged_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    acknowledged_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    acknowledgement: so.Mapped[str | None] = so.mapped_column(sa.Text)
    row_version: so.Mapped[int] = so.mapped_column(default=1)

    storage_unit: so.Mapped[StorageUnit] = so.relationship(lazy="joined", innerjoin=True)
    acknowledged_by: so.Mapped[User | None] = so.relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (
        sa.CheckConstraint(sa.column("classification").in_(CLASSIFICATIONS), name="known_classification"),
    )

    @property
    def ongoing(self) -> bool:
        return self.end is None

    @property
    def needs_disposition(self) -> bool:
        return self.classification == "needs_disposition" and self.withdrawn_at is None

    @property
    def until(self) -> datetime:
        """The end, or the last reading while it goes on: the time it is known to cover."""
        return self.end or self.last_reading_at


class Disposition(db.Model):
    """A reviewer's signed decision on one batch stored in a unit during one excursion.

    It covers the excursion as it was signed: when later readings show it went further (a
    higher maximum or a lower minimum), the batch is held again for a new decision.
    """

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    batch_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("batch.id"), index=True)
    excursion_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("excursion.id"), index=True)
    decision: so.Mapped[str] = so.mapped_column(sa.String(20))
    comment: so.Mapped[str] = so.mapped_column(sa.Text)
    decided_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    decided_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    signature_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("signature.id"))
    covered_min_c: so.Mapped[float]
    covered_max_c: so.Mapped[float]

    decided_by: so.Mapped[User] = so.relationship(lazy="joined")
    signature: so.Mapped[Signature] = so.relationship()
    excursion: so.Mapped[Excursion] = so.relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint(sa.column("decision").in_(DECISIONS), name="known_decision"),)

    def covers(self, excursion: Excursion) -> bool:
        return excursion.min_c >= self.covered_min_c and excursion.max_c <= self.covered_max_c
