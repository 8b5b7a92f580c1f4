"""Storage units: refrigerators, room shelves and freezers with their temperature limits."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models.types import UTCDateTime, utcnow
from qa_app.models.user import User

CONDITIONS = ("room", "refrigerated", "freezer")
READING_SOURCES = ("api", "device", "csv", "manual")


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


class ReadingUpload(db.Model):
    """One arrival of readings: who or which sensor sent them, how, and what was kept."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    storage_unit_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("storage_unit.id"), index=True)
    source: so.Mapped[str] = so.mapped_column(sa.String(20))
    recorded_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    token_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("api_token.id"))
    filename: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    received_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    accepted: so.Mapped[int]
    duplicates: so.Mapped[int]
    first_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    last_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    recorded_by: so.Mapped[User | None] = so.relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint(sa.column("source").in_(READING_SOURCES), name="known_source"),)


class Reading(db.Model):
    """One temperature reading, stored once per unit and instant; never changed or deleted."""

    storage_unit_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("storage_unit.id"), primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), primary_key=True)
    temperature_c: so.Mapped[float]
    upload_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("reading_upload.id"))


class ReadingHour(db.Model):
    """Per-hour sums over a unit's readings, so a year's summary reads 8,760 rows, not 525,600.

    Derived data, rebuilt from the readings for every hour an upload touches. Each reading's
    weight is the time to the next reading (``sum_w``/``sum_w_exp`` cover readings that have
    a next one); the largest two intervals are kept so a summary can apply the data-gap rule
    of domain.md §6 with the window's own median interval.
    """

    storage_unit_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("storage_unit.id"), primary_key=True)
    hour: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), primary_key=True)
    count: so.Mapped[int]
    sum_c: so.Mapped[float]
    min_c: so.Mapped[float]
    max_c: so.Mapped[float]
    intervals: so.Mapped[int]
    sum_w: so.Mapped[float]
    sum_w_exp: so.Mapped[float]
    median_interval: so.Mapped[float | None]
    max_interval: so.Mapped[float | None]
    max_interval_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    max_interval_exp: so.Mapped[float | None]
    second_interval: so.Mapped[float | None]
