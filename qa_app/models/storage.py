"""Storage units: refrigerators, room shelves and freezers with their temperature limits."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models.types import UTCDateTime, utcnow

CONDITIONS = ("room", "refrigerated", "freezer")


class StorageUnit(db.Model):
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    condition: so.Mapped[str] = so.mapped_column(sa.String(20))
    min_c: so.Mapped[float]
    max_c: so.Mapped[float]
    alarm_delay_minutes: so.Mapped[int] = so.mapped_column(default=30)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(sa.column("condition").in_(CONDITIONS), name="known_condition"),
        sa.CheckConstraint("min_c < max_c", name="limits_in_order"),
    )
