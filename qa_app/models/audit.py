"""The audit trail: append-only, hash-chained events, and signatures."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models.types import UTCDateTime, utcnow

GENESIS_HASH = "0" * 64


class AuditEvent(db.Model):
    """One recorded change or security event.

    ``seq`` is assigned under the chain-head lock, so sequence order is chain order. The
    database refuses UPDATE and DELETE on this table (triggers made by a migration).
    ``seal`` is an HMAC of the hash under the audit key, which is kept outside the database:
    whoever can write to the database still cannot rewrite an event and re-seal it. Events
    written before keys were introduced have none; the first sealed event after them covers
    them through the chain.
    """

    seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    occurred_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    username: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    action: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    entity_type: so.Mapped[str] = so.mapped_column(sa.String(64))
    entity_key: so.Mapped[str] = so.mapped_column(sa.String(200))
    old_values: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    new_values: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    client_address: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    prev_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    seal: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    __table_args__ = (sa.Index("ix_audit_event_entity", "entity_type", "entity_key", "seq"),)


class AuditChainHead(db.Model):
    """The single row that names the newest event.

    Appending locks this row (``SELECT … FOR UPDATE``), which serialises writers so the chain
    never forks; it also lets verification notice events removed from the end. Its ``seal``
    (HMAC under the audit key) stops the head from being wound back after such a removal.
    """

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    hash: so.Mapped[str] = so.mapped_column(sa.String(64), default=GENESIS_HASH)
    seal: so.Mapped[str | None] = so.mapped_column(sa.String(64))


class Signature(db.Model):
    """An electronic signature (21 CFR 11.50): who, what it means, when, and over what content."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    signer_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    meaning: so.Mapped[str] = so.mapped_column(sa.String(20))
    signed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    entity_type: so.Mapped[str] = so.mapped_column(sa.String(64))
    entity_key: so.Mapped[str] = so.mapped_column(sa.String(200))
    content_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))

    __table_args__ = (sa.Index("ix_signature_entity", "entity_type", "entity_key"),)
