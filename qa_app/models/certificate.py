"""Release decisions and the certificates of analysis they issue.

A decision (released, rejected, recalled) is a signed record of its own, so the batch's story
keeps who decided what, when and why even after a recall. A certificate's PDF bytes are stored
with their SHA-256 at issue and served unchanged ever after; only its status moves on
(valid → superseded or revoked).
"""

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models.audit import Signature
from qa_app.models.batch import Batch
from qa_app.models.types import UTCDateTime, utcnow
from qa_app.models.user import User

BATCH_DECISIONS = ("released", "rejected", "recalled")
CERTIFICATE_STATUSES = ("valid", "superseded", "revoked")
EXPORT_STATUSES = ("running", "done", "failed")


class BatchDecision(db.Model):
    """A reviewer's signed decision on a batch: release, reject or recall, with the reason."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    batch_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("batch.id"), index=True)
    decision: so.Mapped[str] = so.mapped_column(sa.String(20))
    reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    decided_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    decided_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    signature_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("signature.id"))

    decided_by: so.Mapped[User] = so.relationship(lazy="joined")
    signature: so.Mapped[Signature] = so.relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint(sa.column("decision").in_(BATCH_DECISIONS), name="known_decision"),)


class Certificate(db.Model):
    """One issued certificate of analysis: ``COA-2026-00042``, version 1 of its batch's certificates."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    number: so.Mapped[str] = so.mapped_column(sa.String(20), unique=True)
    version: so.Mapped[int]
    batch_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("batch.id"), index=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default="valid")
    pdf: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, deferred=True)
    size: so.Mapped[int]
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    # Printed on the certificate and in its QR code: without it the public check shows the
    # status only, so numbers in sequence cannot be walked for lots, products and dates.
    verification_code: so.Mapped[str] = so.mapped_column(sa.String(32))
    issued_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    issued_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    signature_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("signature.id"))
    supersedes_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("certificate.id"))
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    revoked_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    revoked_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    row_version: so.Mapped[int] = so.mapped_column(default=1)

    batch: so.Mapped[Batch] = so.relationship(lazy="joined", innerjoin=True)
    issued_by: so.Mapped[User] = so.relationship(foreign_keys=[issued_by_id], lazy="joined")
    revoked_by: so.Mapped[User | None] = so.relationship(foreign_keys=[revoked_by_id])
    supersedes: so.Mapped["Certificate | None"] = so.relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (
        sa.UniqueConstraint("batch_id", "version", name="uq_certificate_batch_version"),
        sa.CheckConstraint(sa.column("status").in_(CERTIFICATE_STATUSES), name="known_status"),
    )

    @property
    def filename(self) -> str:
        return f"{self.number}-v{self.version}-{self.batch.lot_number}.pdf"


class CertificateCounter(db.Model):
    """The last certificate number handed out per year, so numbers never collide."""

    year: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    last: so.Mapped[int] = so.mapped_column(default=0)


class CertificateExport(db.Model):
    """A ZIP of the certificates issued in a date range, made a chunk at a time while its
    progress page polls, so it works with any number of web workers and shows how far it got."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    requested_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    requested_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    date_from: so.Mapped[date] = so.mapped_column(sa.Date)
    date_to: so.Mapped[date] = so.mapped_column(sa.Date)
    up_to_id: so.Mapped[int]  # certificates issued after the export started are not in it
    total: so.Mapped[int]
    done: so.Mapped[int] = so.mapped_column(default=0)
    last_certificate_id: so.Mapped[int] = so.mapped_column(default=0)
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="running")
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    size: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)

    requested_by: so.Mapped[User] = so.relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint(sa.column("status").in_(EXPORT_STATUSES), name="known_status"),)
