"""Master formulas: versioned, each version carrying its specification."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models.types import UTCDateTime, utcnow
from qa_app.models.user import User

FORMULA_STATUSES = ("draft", "approved", "superseded")


class Formula(db.Model):
    """A master formulation record; its content lives in its versions."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    versions: so.Mapped[list["FormulaVersion"]] = so.relationship(
        back_populates="formula", order_by="FormulaVersion.version", lazy="selectin"
    )

    @property
    def approved(self) -> "FormulaVersion | None":
        return next((v for v in self.versions if v.status == "approved"), None)

    @property
    def draft(self) -> "FormulaVersion | None":
        return next((v for v in reversed(self.versions) if v.status == "draft"), None)


class FormulaVersion(db.Model):
    """One version: draft → approved → superseded. ``body`` is the api.md Formula shape."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    formula_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("formula.id"))
    version: so.Mapped[int]
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="draft")
    dosage_form: so.Mapped[str] = so.mapped_column(sa.String(30))
    body: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    authored_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    approved_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    approved_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    superseded_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    row_version: so.Mapped[int] = so.mapped_column(default=1)

    formula: so.Mapped[Formula] = so.relationship(back_populates="versions")
    authored_by: so.Mapped[User] = so.relationship(foreign_keys=[authored_by_id], lazy="joined")
    approved_by: so.Mapped[User | None] = so.relationship(foreign_keys=[approved_by_id], lazy="joined")

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (
        sa.UniqueConstraint("formula_id", "version", name="uq_formula_version_number"),
        sa.CheckConstraint(sa.column("status").in_(FORMULA_STATUSES), name="known_status"),
    )

    @property
    def label(self) -> str:
        return f"{self.formula.code} v{self.version}"
