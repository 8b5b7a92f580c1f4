"""Trend signals to be acknowledged, and signed annual product reviews."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models.audit import Signature
from qa_app.models.batch import Batch
from qa_app.models.formula import Formula
from qa_app.models.types import UTCDateTime, utcnow
from qa_app.models.user import User

TREND_ATTRIBUTES = ("assay", "cu_av", "weight_rsd", "yield")


class TrendSignal(db.Model):
    """A Nelson signal on a formula's trend, stored once, shown until a reviewer acknowledges it."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    formula_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("formula.id"), index=True)
    strength_mg: so.Mapped[float]
    attribute: so.Mapped[str] = so.mapped_column(sa.String(20))
    rule: so.Mapped[int]
    batch_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("batch.id"), index=True)
    """The batch where the pattern completes."""
    description: so.Mapped[str] = so.mapped_column(sa.Text)
    detected_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    acknowledged_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    comment: so.Mapped[str | None] = so.mapped_column(sa.Text)
    row_version: so.Mapped[int] = so.mapped_column(default=1)

    formula: so.Mapped[Formula] = so.relationship(lazy="joined", innerjoin=True)
    batch: so.Mapped[Batch] = so.relationship(lazy="joined", innerjoin=True)
    acknowledged_by: so.Mapped[User | None] = so.relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (
        sa.UniqueConstraint(
            "formula_id", "strength_mg", "attribute", "rule", "batch_id", name="uq_trend_signal_once"
        ),
        sa.CheckConstraint(sa.column("attribute").in_(TREND_ATTRIBUTES), name="known_attribute"),
        sa.CheckConstraint("rule BETWEEN 1 AND 4", name="nelson_rule"),
    )


class ProductReview(db.Model):
    """The signed annual product review of a formula for one year: the PDF as signed (append-only)."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    formula_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("formula.id"), index=True)
    year: so.Mapped[int]
    conclusions: so.Mapped[str] = so.mapped_column(sa.Text)
    pdf: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    size: so.Mapped[int]
    signed_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    signature_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("signature.id"))
    signed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    formula: so.Mapped[Formula] = so.relationship(lazy="joined", innerjoin=True)
    signed_by: so.Mapped[User] = so.relationship(lazy="joined")
    signature: so.Mapped[Signature] = so.relationship()

    __table_args__ = (sa.UniqueConstraint("formula_id", "year", name="uq_product_review_year"),)
