"""Materials and the lots received of them."""

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models.types import UTCDateTime, utcnow
from qa_app.models.user import User

MATERIAL_KINDS = ("api", "excipient", "container", "intermediate")
LOT_STATUSES = ("quarantine", "approved", "rejected", "recalled")


class Material(db.Model):
    """Something a batch is made of: the API, an excipient, a container such as a capsule shell,
    or an intermediate (a trituration made in house from the API; its lots come from batches)."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    # Monograph limits of an API's assay (% on the anhydrous basis), e.g. USP naltrexone HCl 98.0–102.0.
    assay_min_percent: so.Mapped[float | None] = so.mapped_column(sa.Float)
    assay_max_percent: so.Mapped[float | None] = so.mapped_column(sa.Float)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (sa.CheckConstraint(sa.column("kind").in_(MATERIAL_KINDS), name="known_kind"),)


class MaterialLot(db.Model):
    """A received lot. Usable only when approved and not past its expiry date."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    barcode: so.Mapped[str] = so.mapped_column(sa.String(40), unique=True)
    material_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("material.id"), index=True)
    supplier: so.Mapped[str] = so.mapped_column(sa.String(200))
    supplier_lot: so.Mapped[str] = so.mapped_column(sa.String(100), index=True)
    expiry_date: so.Mapped[date] = so.mapped_column(sa.Date)
    received_date: so.Mapped[date] = so.mapped_column(sa.Date)
    assay_percent: so.Mapped[float | None] = so.mapped_column(sa.Float)  # as-is basis
    assay_anhydrous_percent: so.Mapped[float | None] = so.mapped_column(sa.Float)
    water_percent: so.Mapped[float | None] = so.mapped_column(sa.Float)
    assay_basis: so.Mapped[str | None] = so.mapped_column(sa.String(10))  # as the certificate states it
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="quarantine", index=True)
    decision_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    received_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    decided_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    recalled_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    recalled_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    recall_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    produced_by_batch_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("batch.id", use_alter=True, name="fk_material_lot_produced_by_batch_id_batch"),
        unique=True,
    )
    """The trituration batch that made this lot (intermediate materials only)."""
    row_version: so.Mapped[int] = so.mapped_column(default=1)

    material: so.Mapped[Material] = so.relationship(lazy="joined", innerjoin=True)
    received_by: so.Mapped[User] = so.relationship(foreign_keys=[received_by_id])
    decided_by: so.Mapped[User | None] = so.relationship(foreign_keys=[decided_by_id])
    recalled_by: so.Mapped[User | None] = so.relationship(foreign_keys=[recalled_by_id])
    produced_by: so.Mapped["Batch | None"] = so.relationship(  # noqa: F821 (models.batch imports this module)
        "Batch", foreign_keys=[produced_by_batch_id], viewonly=True
    )

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (sa.CheckConstraint(sa.column("status").in_(LOT_STATUSES), name="known_status"),)

    def unusable_reason(self, today: date) -> str | None:
        """Why this lot may not be used today, or None when it may."""
        if self.status == "recalled":
            return f"lot {self.barcode} was recalled"
        if self.status == "rejected":
            return f"lot {self.barcode} was rejected"
        if self.status != "approved":
            return f"lot {self.barcode} is in quarantine (not approved)"
        if self.expiry_date < today:
            return f"lot {self.barcode} expired on {self.expiry_date.isoformat()}"
        return self.outside_monograph()

    def outside_monograph(self) -> str | None:
        """Why the lot's assay is outside its material's monograph limits as they are now (limits
        set or tightened after the lot was approved), or None. The anhydrous figure is compared
        when the water content is known, else the as-is one (as at approval)."""
        low, high = self.material.assay_min_percent, self.material.assay_max_percent
        figure = self.monograph_figure()
        if low is None or high is None or figure is None or low <= figure[0] <= high:
            return None
        value, basis = figure
        return (
            f"lot {self.barcode}'s assay, {value:.1f} % {'anhydrous' if basis == 'anhydrous' else 'as is'}, "
            f"is outside the monograph limits {low:.1f}–{high:.1f} %"
        )

    def monograph_figure(self) -> tuple[float, str] | None:
        """The assay compared with the monograph limits and its basis: the anhydrous figure when
        the water content is known, else the as-is one (which can only be lower)."""
        if self.assay_anhydrous_percent is not None:
            return self.assay_anhydrous_percent, "anhydrous"
        if self.assay_percent is not None:
            return self.assay_percent, "as_is"
        return None
