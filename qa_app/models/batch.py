"""The batch compounding record and what is recorded on it."""

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models.balance import Balance
from qa_app.models.formula import FormulaVersion
from qa_app.models.material import Material, MaterialLot
from qa_app.models.storage import StorageUnit
from qa_app.models.types import UTCDateTime, utcnow
from qa_app.models.user import User

BATCH_STATUSES = (
    "draft",
    "quarantine",
    "on_hold",
    "awaiting_release",
    "released",
    "rejected",
    "recalled",
    "discarded",
)


class Batch(db.Model):
    """One batch. The calculation and the specification are frozen onto it when it is created."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lot_number: so.Mapped[str] = so.mapped_column(sa.String(30), unique=True)
    formula_version_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("formula_version.id"), index=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="draft", index=True)
    dosage_form: so.Mapped[str] = so.mapped_column(sa.String(30))
    strength_mg: so.Mapped[float]
    quantity: so.Mapped[float]
    concentration: so.Mapped[float | None]  # mg/mL or mg/g
    dose_amount: so.Mapped[float | None]  # mL or g per dose
    compounded_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    compounded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    api_lot_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("material_lot.id"), index=True)
    calculation: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    specification: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    bud: so.Mapped[date] = so.mapped_column(sa.Date, index=True)
    bud_reason: so.Mapped[str] = so.mapped_column(sa.Text)
    storage_unit_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("storage_unit.id"), index=True)
    api_verified_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    api_verified_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    actual_yield: so.Mapped[float | None]
    yield_percent: so.Mapped[float | None]
    yield_deviation_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    completed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    discard_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    row_version: so.Mapped[int] = so.mapped_column(default=1)

    formula_version: so.Mapped[FormulaVersion] = so.relationship(lazy="joined", innerjoin=True)
    compounded_by: so.Mapped[User] = so.relationship(foreign_keys=[compounded_by_id], lazy="joined")
    api_verified_by: so.Mapped[User | None] = so.relationship(foreign_keys=[api_verified_by_id])
    api_lot: so.Mapped[MaterialLot | None] = so.relationship(foreign_keys=[api_lot_id])
    storage_unit: so.Mapped[StorageUnit | None] = so.relationship(lazy="joined")
    components: so.Mapped[list["BatchComponent"]] = so.relationship(
        back_populates="batch", order_by="BatchComponent.id"
    )
    weight_checks: so.Mapped[list["WeightCheck"]] = so.relationship(
        back_populates="batch", order_by="WeightCheck.id"
    )
    locations: so.Mapped[list["BatchLocation"]] = so.relationship(
        back_populates="batch", order_by="BatchLocation.placed_at"
    )
    produced_lot: so.Mapped[MaterialLot | None] = so.relationship(
        primaryjoin="MaterialLot.produced_by_batch_id == Batch.id",
        foreign_keys="MaterialLot.produced_by_batch_id",
        viewonly=True,
        uselist=False,
    )
    """The intermediate lot a trituration batch made, once completed."""

    __mapper_args__ = {"version_id_col": row_version}

    @property
    def strength_text(self) -> str:
        """The dose as lists show it ("1.5 mg"), or a trituration's concentration ("10 % w/w")."""
        if self.dosage_form == "trituration":
            return f"{self.concentration:g} % w/w"
        return f"{self.strength_mg:g} mg"

    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(BATCH_STATUSES), name="known_status"),
        sa.Index("ix_batch_formula_status", "formula_version_id", "status"),
        sa.Index("ix_batch_formula_strength", "formula_version_id", "strength_mg"),
    )


class BatchComponent(db.Model):
    """A lot used in a batch: weighed (mg) or counted (containers)."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    batch_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("batch.id"), index=True)
    material_lot_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("material_lot.id"), index=True)
    material_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("material.id"))
    role: so.Mapped[str] = so.mapped_column(sa.String(20))
    quantity_mg: so.Mapped[float | None]
    count: so.Mapped[int | None]
    theoretical_mg: so.Mapped[float | None]
    deviation_percent: so.Mapped[float | None]
    within_tolerance: so.Mapped[bool | None]
    deviation_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    balance: so.Mapped[str | None] = so.mapped_column(sa.String(60))
    """The balance's code as it was weighed on (free text on records made before balances)."""
    balance_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("balance.id"), index=True)
    balance_minimum_mg: so.Mapped[float | None]
    """The balance's minimum weight (USP <41>) when the weighing was recorded."""
    recorded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    recorded_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    batch: so.Mapped[Batch] = so.relationship(back_populates="components")
    lot: so.Mapped[MaterialLot] = so.relationship(lazy="joined", innerjoin=True)
    material: so.Mapped[Material] = so.relationship(lazy="joined", innerjoin=True)
    recorded_by: so.Mapped[User] = so.relationship(lazy="joined")
    balance_record: so.Mapped[Balance | None] = so.relationship()

    __table_args__ = (sa.UniqueConstraint("batch_id", "material_lot_id", name="uq_batch_component_lot"),)


class WeightCheck(db.Model):
    """An in-process capsule weight check: individual content weights and their statistics."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    batch_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("batch.id"), index=True)
    weights_mg: so.Mapped[list[float]] = so.mapped_column(sa.JSON)
    theoretical_mg: so.Mapped[float]
    summary: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    passed: so.Mapped[bool]
    reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    """Why the check was made again after a failed one; that failure's documentation."""
    recorded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    recorded_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    batch: so.Mapped[Batch] = so.relationship(back_populates="weight_checks")
    recorded_by: so.Mapped[User] = so.relationship(lazy="joined")


class BatchLocation(db.Model):
    """Where a batch was put and from when (completion and every move)."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    batch_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("batch.id"), index=True)
    storage_unit_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("storage_unit.id"), index=True)
    placed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    recorded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    recorded_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    batch: so.Mapped[Batch] = so.relationship(back_populates="locations")
    storage_unit: so.Mapped[StorageUnit] = so.relationship(lazy="joined", innerjoin=True)
    recorded_by: so.Mapped[User] = so.relationship(lazy="joined")


class LotCounter(db.Model):
    """The last lot number handed out per prefix and day, so numbers never collide."""

    prefix: so.Mapped[str] = so.mapped_column(sa.String(20), primary_key=True)
    day: so.Mapped[str] = so.mapped_column(sa.String(6), primary_key=True)
    last: so.Mapped[int] = so.mapped_column(default=0)
