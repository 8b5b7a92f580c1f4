"""The audit trail: one helper appends events in the caller's transaction; one checks the chain."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

from qa_app.extensions import db
from qa_app.models import GENESIS_HASH, AuditChainHead, AuditEvent, User
from qa_app.models.types import utcnow

CHAIN_HEAD_ID = 1


def jsonable(value: Any) -> Any:
    """``value`` made of JSON types only, so that it hashes the same after a round trip."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    """SHA-256 over the previous hash and the event's canonical form."""
    body = canonical_json(
        {
            "seq": event.seq,
            "occurred_at": event.occurred_at,
            "user_id": event.user_id,
            "username": event.username,
            "action": event.action,
            "entity_type": event.entity_type,
            "entity_key": event.entity_key,
            "old_values": event.old_values,
            "new_values": event.new_values,
            "reason": event.reason,
            "client_address": event.client_address,
        }
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def client_address() -> str | None:
    return request.remote_addr if has_request_context() else None


def record(
    action: str,
    entity_type: str,
    entity_key: str | int,
    *,
    actor: User | None = None,
    username: str | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append one event to the trail, in the current transaction.

    The chain head row is locked first, so concurrent writers queue up and each links to the
    event committed before it. The caller commits (or rolls back) the event together with the
    change it records.
    """
    head = db.session.execute(
        sa.select(AuditChainHead)
        .where(AuditChainHead.id == CHAIN_HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    event = AuditEvent(
        seq=head.seq + 1,
        occurred_at=utcnow(),
        user_id=actor.id if actor else None,
        username=actor.username if actor else username,
        action=action,
        entity_type=entity_type,
        entity_key=str(entity_key),
        old_values=jsonable(old) if old is not None else None,
        new_values=jsonable(new) if new is not None else None,
        reason=reason,
        client_address=client_address(),
        prev_hash=head.hash,
    )
    event.hash = event_hash(event, head.hash)
    head.seq, head.hash = event.seq, event.hash
    db.session.add(event)
    db.session.flush()
    return event


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    first_bad: int | None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_bad": self.first_bad}


def _events_in_order() -> Iterator[AuditEvent]:
    stmt = sa.select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    yield from db.session.scalars(stmt)


def verify_chain() -> ChainCheck:
    """Walk the whole trail and name the first event that was altered, removed or reordered."""
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    for event in _events_in_order():
        if event.seq != expected_seq:
            return ChainCheck(False, checked, expected_seq, f"event {expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return ChainCheck(False, checked, event.seq, "does not follow the event before it")
        if event_hash(event, prev_hash) != event.hash:
            return ChainCheck(False, checked, event.seq, "its content no longer matches its hash")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = db.session.get(AuditChainHead, CHAIN_HEAD_ID)
    if head is None or head.seq != checked or head.hash != prev_hash:
        first_bad = min(head.seq if head else 0, checked) + 1
        return ChainCheck(False, checked, first_bad, "the chain head does not name the last event")
    return ChainCheck(True, checked, None)
