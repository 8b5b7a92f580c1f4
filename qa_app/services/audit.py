"""The audit trail: one helper appends events in the caller's transaction; one checks the chain.

Every event is chained to the one before it by SHA-256 and sealed with an HMAC under the audit
key, which is kept outside the database (``QA_AUDIT_KEY``, ``QA_AUDIT_KEY_FILE`` or
``audit.key`` in the instance folder). Someone who can write to the database can recompute
hashes, but not seals: a rewritten event no longer matches its seal.
"""

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, has_request_context, request

from qa_app.errors import WrongState
from qa_app.extensions import db
from qa_app.keyfiles import create_key_file
from qa_app.models import (
    GENESIS_HASH,
    AuditChainHead,
    AuditEvent,
    Batch,
    Certificate,
    Result,
    Signature,
    User,
)
from qa_app.models.types import utcnow

CHAIN_HEAD_ID = 1
KEY_FILE_NAME = "audit.key"
MIN_KEY_LENGTH = 32


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


# --- the audit key and seals -----------------------------------------------------------------


def _read_key(app) -> tuple[bytes, str]:
    """The key and where it came from: QA_AUDIT_KEY, QA_AUDIT_KEY_FILE, or the instance file."""
    if app.config.get("QA_AUDIT_KEY"):
        text, source = app.config["QA_AUDIT_KEY"], "QA_AUDIT_KEY"
    else:
        named = app.config.get("QA_AUDIT_KEY_FILE")
        path = Path(named) if named else Path(app.instance_path) / KEY_FILE_NAME
        if not named and not path.exists():
            create_key_file(path)
        try:
            text, source = path.read_text().strip(), str(path)
        except OSError as exc:
            raise RuntimeError(f"The audit key file {path} cannot be read: {exc}") from exc
    if len(text) < MIN_KEY_LENGTH:
        raise RuntimeError(f"The audit key ({source}) must be at least {MIN_KEY_LENGTH} characters long.")
    return text.encode("utf-8"), source


def audit_key() -> bytes:
    """The key that seals events; read once per application."""
    key = current_app.extensions.get("qa_audit_key")
    if key is None:
        key = current_app.extensions["qa_audit_key"] = _read_key(current_app)[0]
    return key


def event_seal(key: bytes, seq: int, hash_: str) -> str:
    return hmac.new(key, f"audit-event:{seq}:{hash_}".encode(), hashlib.sha256).hexdigest()


def head_seal(key: bytes, seq: int, hash_: str) -> str:
    return hmac.new(key, f"audit-head:{seq}:{hash_}".encode(), hashlib.sha256).hexdigest()


def _sealed_by(seal: str | None, expected: str) -> bool:
    return seal is not None and hmac.compare_digest(seal, expected)


def client_address() -> str | None:
    return request.remote_addr if has_request_context() else None


@dataclass(frozen=True)
class Entry:
    """One event to append: what was done, to which record, by whom, and the values it changed."""

    action: str
    entity_type: str
    entity_key: str | int
    actor: User | None = None
    username: str | None = None
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None
    reason: str | None = None


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
    """Append one event to the trail, in the current transaction (see :func:`record_many`)."""
    entry = Entry(action, entity_type, entity_key, actor, username, old, new, reason)
    return record_many([entry])[0]


def record_many(entries: list[Entry]) -> list[AuditEvent]:
    """Append events to the trail in the given order, in the current transaction, with one lock
    of the chain head and one flush however many there are (an import's thousand results).

    The chain head row is locked first, so concurrent writers queue up and each links to the
    event committed before it. The caller commits (or rolls back) the events together with the
    change they record. Nothing is written while the head is sealed under another key (new
    events sealed with a different key would make the whole trail unverifiable), nor when the
    head has lost the seal its newest event shows it had (events may have been removed).
    """
    if not entries:
        return []
    key = audit_key()
    head = db.session.execute(
        sa.select(AuditChainHead)
        .where(AuditChainHead.id == CHAIN_HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if head.seal is not None and not _sealed_by(head.seal, head_seal(key, head.seq, head.hash)):
        raise RuntimeError(
            "The audit chain head is not sealed with this audit key (a wrong QA_AUDIT_KEY, or "
            "the head was altered): nothing is written. Restore the key, then run `flask audit verify`."
        )
    if head.seal is None and head.seq > 0 and db.session.scalar(_seal_of(head.seq)) is not None:
        raise RuntimeError(
            "The audit chain head has lost its seal, though its newest event is sealed: nothing is "
            "written. Preserve the database as it is and run `flask audit verify`."
        )
    address = client_address()
    events = []
    for entry in entries:
        event = AuditEvent(
            seq=head.seq + 1,
            occurred_at=utcnow(),
            user_id=entry.actor.id if entry.actor else None,
            username=entry.actor.username if entry.actor else entry.username,
            action=entry.action,
            entity_type=entry.entity_type,
            entity_key=str(entry.entity_key),
            old_values=jsonable(entry.old) if entry.old is not None else None,
            new_values=jsonable(entry.new) if entry.new is not None else None,
            reason=entry.reason,
            client_address=address,
            prev_hash=head.hash,
        )
        event.hash = event_hash(event, head.hash)
        event.seal = event_seal(key, event.seq, event.hash)
        head.seq, head.hash = event.seq, event.hash
        events.append(event)
    head.seal = head_seal(key, head.seq, head.hash)
    db.session.add_all(events)
    db.session.flush()
    return events


def _seal_of(seq: int) -> sa.Select:
    return sa.select(AuditEvent.seal).where(AuditEvent.seq == seq)


UNSEALED = "no event is sealed yet"
SEALED_ACTION = "audit.sealed"
HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "user_id",
    "username",
    "action",
    "entity_type",
    "entity_key",
    "old_values",
    "new_values",
    "reason",
    "client_address",
)


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of a walk along the chain.

    ``unsealed`` counts the events written before the audit key was introduced: they carry no
    seal of their own and are covered, through the chain, by the ``audit.sealed`` event written
    after them when the key was introduced (by the upgrade, or ``flask audit seal``).
    """

    ok: bool
    checked: int
    first_bad: int | None
    problem: str | None = None
    unsealed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_bad": self.first_bad}


def _events_in_order() -> Iterator[AuditEvent]:
    stmt = sa.select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    yield from db.session.scalars(stmt)


def verify_chain() -> ChainCheck:
    """Walk the whole trail and name the first event that was altered, removed or reordered.

    Each hash is recomputed and each seal checked under the audit key, so an event rewritten
    with every later hash and the head recomputed is still found: its seal no longer matches.
    """
    key = audit_key()
    prev_hash, expected_seq, checked, unsealed = GENESIS_HASH, 1, 0, 0

    def broken(seq: int, problem: str) -> ChainCheck:
        return ChainCheck(False, checked, seq, problem, unsealed)

    for event in _events_in_order():
        if event.seq != expected_seq:
            return broken(expected_seq, f"event {expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return broken(event.seq, "does not follow the event before it")
        if event_hash(event, prev_hash) != event.hash:
            return broken(event.seq, "its content no longer matches its hash")
        if event.seal is None:
            if unsealed < checked:
                return broken(event.seq, "it has no seal, though the events before it are sealed")
            unsealed += 1
        elif unsealed == checked > 0 and not _vouches_for(event, unsealed):
            return broken(
                event.seq,
                f"events 1 to {unsealed} have no seal, and this event is not the audit.sealed "
                "event that vouches for them",
            )
        elif not _sealed_by(event.seal, event_seal(key, event.seq, event.hash)):
            rewritten = (
                f"it or one of the unsealed events 1 to {unsealed} before it" if unsealed else "the event"
            )
            return broken(
                event.seq,
                f"its seal does not match the audit key: {rewritten} was rewritten, "
                "or this is not the key it was sealed with",
            )
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = db.session.get(AuditChainHead, CHAIN_HEAD_ID)
    if head is None or head.seq != checked or head.hash != prev_hash:
        first_bad = min(head.seq if head else 0, checked) + 1
        return broken(first_bad, "the chain head does not name the last event")
    if head.seal is None and unsealed < checked:
        return broken(checked + 1, "the chain head has lost its seal")
    if head.seal is not None and not _sealed_by(head.seal, head_seal(key, head.seq, head.hash)):
        return broken(
            checked + 1,
            f"the chain head's seal does not match the audit key: events after event {checked} "
            "were removed, or this is not the key the trail was sealed with",
        )
    if checked and unsealed == checked:
        return broken(1, UNSEALED)
    return ChainCheck(True, checked, None, None, unsealed)


def _vouches_for(event: AuditEvent, unsealed: int) -> bool:
    return event.action == SEALED_ACTION and (event.new_values or {}).get("sealed_through") == unsealed


def _sealed_values(seq: int, hash_: str) -> dict[str, Any]:
    return {"sealed_through": seq, "hash": hash_}


def seal_trail(actor_name: str) -> AuditEvent | None:
    """Seal a trail whose events were all written before the audit key was introduced.

    Writes one sealed event, ``audit.sealed``, that names the newest event; through the chain
    its seal covers every event before it. The chain is checked first: a broken trail is never
    sealed over. Returns None when the trail needs no seal (empty, or sealed already). The
    upgrade that introduced the key does this itself (``seal_on_upgrade``); this is for a trail
    it could not seal.
    """
    check = verify_chain()
    if check.ok:
        return None
    if check.problem != UNSEALED:
        raise WrongState(
            f"The audit trail is broken at event {check.first_bad}: {check.problem}. "
            "It is not sealed over; preserve the database as it is."
        )
    head = db.session.get(AuditChainHead, CHAIN_HEAD_ID)
    event = record(
        SEALED_ACTION, "audit_trail", "chain", username=actor_name, new=_sealed_values(head.seq, head.hash)
    )
    db.session.commit()
    return event


def seal_on_upgrade(bind: sa.Connection, key: bytes, actor_name: str) -> int | None:
    """For the migration that introduces the key: vouch for the events written before it.

    Works on the migration's connection, below the ORM. When the chain verifies by its hashes,
    appends one sealed ``audit.sealed`` event naming the newest event and seals the head;
    returns its sequence number. A broken chain is left as it is (``flask audit verify`` names
    the break) and an empty one needs nothing: both return None.
    """
    events, heads = AuditEvent.__table__, AuditChainHead.__table__
    head = bind.execute(sa.select(heads.c.seq, heads.c.hash).where(heads.c.id == CHAIN_HEAD_ID)).one()
    if head.seq == 0:
        return None
    prev_hash, expected_seq = GENESIS_HASH, 1
    rows = bind.execute(
        sa.select(*[events.c[name] for name in (*HASHED_FIELDS, "prev_hash", "hash")]).order_by(events.c.seq)
    )
    for row in rows:
        if row.seq != expected_seq or row.prev_hash != prev_hash or event_hash(row, prev_hash) != row.hash:
            return None
        prev_hash, expected_seq = row.hash, expected_seq + 1
    if (head.seq, head.hash) != (expected_seq - 1, prev_hash):
        return None
    event = AuditEvent(
        seq=head.seq + 1,
        occurred_at=utcnow(),
        user_id=None,
        username=actor_name,
        action=SEALED_ACTION,
        entity_type="audit_trail",
        entity_key="chain",
        old_values=None,
        new_values=_sealed_values(head.seq, head.hash),
        reason=None,
        client_address=None,
        prev_hash=head.hash,
    )
    event.hash = event_hash(event, head.hash)
    event.seal = event_seal(key, event.seq, event.hash)
    bind.execute(
        sa.insert(events).values(
            {name: getattr(event, name) for name in (*HASHED_FIELDS, "prev_hash", "hash", "seal")}
        )
    )
    bind.execute(
        sa.update(heads)
        .where(heads.c.id == CHAIN_HEAD_ID)
        .values(seq=event.seq, hash=event.hash, seal=head_seal(key, event.seq, event.hash))
    )
    return event.seq


# --- records against their events ------------------------------------------------------------

# Field in the creating event → attribute of the record, compared wherever the event has it.
RESULT_FIELDS = {
    "test": "test_key",
    "values": "values",
    "text": "text_value",
    "source": "source",
    "status": "status",
    "evaluation": "evaluation",
    "retest_of_investigation": "retest_of_id",
    "stage1_result": "stage1_result_id",
}
SIGNATURE_FIELDS = {"meaning": "meaning", "signer_name": "signer_name", "content_sha256": "content_sha256"}
CERTIFICATE_FIELDS = {
    "version": "version",
    "sha256": "sha256",
    "size": "size",
    "signature_id": "signature_id",
}


def _creating_events(action: str, id_field: str | None = None) -> dict[Any, AuditEvent]:
    """The first ``action`` event per record: keyed by ``new_values[id_field]`` or entity_key."""
    found: dict[Any, AuditEvent] = {}
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.action == action)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=2000)
    )
    for event in db.session.scalars(stmt):
        key = (event.new_values or {}).get(id_field) if id_field else event.entity_key
        if key is not None:
            found.setdefault(key, event)
    return found


def _differences(
    record_: object, event: AuditEvent, fields: dict[str, str], extra: dict[str, Any]
) -> list[str]:
    """The names of the fields in which ``record_`` differs from what ``event`` recorded."""
    recorded = event.new_values or {}
    differ = [
        attribute
        for name, attribute in fields.items()
        if name in recorded and jsonable(getattr(record_, attribute)) != recorded[name]
    ]
    differ += [name for name, (theirs, ours) in extra.items() if theirs != ours]
    return differ


def _mismatch(what: str, event: AuditEvent, differ: list[str]) -> str:
    return f"{what}: {', '.join(differ)} differ from event {event.seq} ({event.action}) that created it"


def check_records() -> list[str]:
    """Each result, signature and certificate against the audit event that created it.

    A row without its creating event, a row whose values differ from the event's, and an
    event whose row is gone are each named. Certificates are also checked against their own
    stored SHA-256 and against the status their later events gave them.
    """
    problems: list[str] = []

    events = _creating_events("result.recorded", "result_id")
    rows = db.session.execute(
        sa.select(Result, Batch.lot_number)
        .join(Batch, Batch.id == Result.batch_id)
        .order_by(Result.id)
        .execution_options(yield_per=2000)
    )
    for result, lot_number in rows:
        event = events.pop(result.id, None)
        if event is None:
            problems.append(f"result {result.id} (batch {lot_number}) has no result.recorded event")
            continue
        extra = {
            "batch": (event.entity_key, lot_number),
            "recorded by": (event.user_id, result.recorded_by_id),
        }
        if differ := _differences(result, event, RESULT_FIELDS, extra):
            problems.append(_mismatch(f"result {result.id} (batch {lot_number})", event, differ))
    problems += [f"event {e.seq} recorded result {key}, which is missing" for key, e in events.items()]

    events = _creating_events("signature.signed", "signature_id")
    signatures = sa.select(Signature).order_by(Signature.id).execution_options(yield_per=2000)
    for signature in db.session.scalars(signatures):
        event = events.pop(signature.id, None)
        if event is None:
            problems.append(f"signature {signature.id} has no signature.signed event")
            continue
        extra = {
            "signer": (event.user_id, signature.user_id),
            "entity_type": (event.entity_type, signature.entity_type),
            "entity_key": (event.entity_key, signature.entity_key),
        }
        if differ := _differences(signature, event, SIGNATURE_FIELDS, extra):
            problems.append(_mismatch(f"signature {signature.id}", event, differ))
    problems += [f"event {e.seq} recorded signature {key}, which is missing" for key, e in events.items()]

    events = _creating_events("certificate.issued")
    statuses = _certificate_statuses()
    rows = db.session.execute(
        sa.select(Certificate, Batch.lot_number)
        .join(Batch, Batch.id == Certificate.batch_id)
        .options(so.undefer(Certificate.pdf))
        .order_by(Certificate.id)
        .execution_options(yield_per=100)
    )
    for certificate, lot_number in rows:
        what = f"certificate {certificate.number}"
        if hashlib.sha256(certificate.pdf).hexdigest() != certificate.sha256:
            problems.append(f"{what}: its stored PDF no longer matches its SHA-256")
        expected_status = statuses.get(certificate.number, "valid")
        if certificate.status != expected_status:
            problems.append(
                f"{what} is {certificate.status}, but its audit events leave it {expected_status}"
            )
        event = events.pop(certificate.number, None)
        if event is None:
            problems.append(f"{what} has no certificate.issued event")
            continue
        recorded = event.new_values or {}
        extra = {
            "lot_number": (recorded.get("lot_number", lot_number), lot_number),
            "issued by": (event.user_id, certificate.issued_by_id),
        }
        if differ := _differences(certificate, event, CERTIFICATE_FIELDS, extra):
            problems.append(_mismatch(what, event, differ))
    problems += [f"event {e.seq} issued certificate {key}, which is missing" for key, e in events.items()]
    return problems


def _certificate_statuses() -> dict[str, str]:
    """The status each certificate's newest status-changing event gave it."""
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "certificate")
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=2000)
    )
    statuses: dict[str, str] = {}
    for event in db.session.scalars(stmt):
        status = (event.new_values or {}).get("status")
        if isinstance(status, str):
            statuses[event.entity_key] = status
    return statuses
