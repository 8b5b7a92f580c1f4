"""Records as the API shows them."""

from datetime import datetime
from typing import Any

from qa_app.models import AuditEvent, User
from qa_app.models.types import utcnow


def iso(value: datetime | None) -> str | None:
    """UTC with an explicit offset, ``2026-11-25T09:30:00Z``."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def user(u: User) -> dict[str, Any]:
    return {
        "username": u.username,
        "full_name": u.full_name,
        "roles": sorted(u.roles),
        "active": u.active,
        "locked": u.is_locked(utcnow()),
        "locked_until": iso(u.locked_until),
        "created_at": iso(u.created_at),
    }


def audit_event(e: AuditEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "occurred_at": iso(e.occurred_at),
        "username": e.username,
        "action": e.action,
        "entity_type": e.entity_type,
        "entity_key": e.entity_key,
        "old_values": e.old_values,
        "new_values": e.new_values,
        "reason": e.reason,
        "client_address": e.client_address,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }
