"""E-mail alerts: who receives which kind, the outbox written with each cause, and delivery.

An alert is written to the outbox (:class:`Alert`) in the same transaction as what caused it,
once per cause and person, so it exists exactly when its cause does. ``flask --app qa_app alerts
send`` delivers the pending ones by SMTP: each is claimed in a short transaction of its own
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises the claims),
sent, then marked sent, or left pending with its error and a later time to try again.
"""

import re
import secrets
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from qa_app.domain import compounding
from qa_app.errors import InvalidInput, NotAuthenticated, NotPermitted
from qa_app.extensions import db
from qa_app.models import ALERT_KINDS, Alert, AuditEvent, Batch, MaterialLot, User, UserAlert
from qa_app.models.types import utcnow
from qa_app.services import audit, clock

KIND_WORDS = {
    "excursion": "A temperature excursion needs a disposition",
    "oos": "A result is out of specification",
    "trend_signal": "A trend chart shows a signal",
    "lot_expiring": "An approved material lot expires within 30 days",
    "batch_near_bud": "A batch reaches its beyond-use date within 14 days",
}
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
CLAIM_FOR = timedelta(minutes=5)
BACKOFF_CAP_MINUTES = 60
LOT_EXPIRY_DAYS = 30
NEAR_BUD_DAYS = 14
BATCHES_WATCHED_FOR_BUD = ("quarantine", "on_hold", "awaiting_release", "released")
SCAN_ACTION = "alerts.daily_scan"


# --- who receives what ------------------------------------------------------------------------


def clean_choice(email: str | None, kinds: Iterable[str] | None) -> tuple[str | None, list[str]]:
    """The e-mail address and alert kinds as stored, or InvalidInput naming ``email`` or ``alerts``."""
    address = (email or "").strip() or None
    chosen = {(k or "").strip().lower() for k in kinds or []}
    fields: dict[str, str] = {}
    if address is not None and (len(address) > 254 or not EMAIL_PATTERN.match(address)):
        fields["email"] = "Enter an e-mail address such as name@pharmacy.example (at most 254 characters)."
    unknown = sorted(chosen - set(ALERT_KINDS))
    if unknown:
        fields["alerts"] = f"Unknown alert kind {', '.join(unknown)}; use {', '.join(ALERT_KINDS)}."
    elif chosen and address is None and "email" not in fields:
        fields["email"] = "Enter the e-mail address the chosen alerts are sent to, or choose no alerts."
    if fields:
        raise InvalidInput("The e-mail alerts were not saved: correct the marked fields.", fields)
    return address, [k for k in ALERT_KINDS if k in chosen]


def set_alerts(
    actor: User | None,
    username: str,
    email: str | None,
    kinds: Iterable[str] | None,
    keep_email: bool = False,
) -> User:
    """Set a person's e-mail address (``keep_email``: leave it) and the alert kinds they receive.

    The person themself or an administrator; audited as ``user.alerts_changed``."""
    from qa_app.services.accounts import get_user

    if actor is None:
        raise NotAuthenticated("Sign in first.")
    if actor.username != (username or "").strip().lower() and not actor.has_role("admin"):
        raise NotPermitted("Only the person themself or an administrator may change their e-mail alerts.")
    user = get_user((username or "").strip().lower())
    address, chosen = clean_choice(user.email if keep_email else email, kinds)
    old = {"email": user.email, "alerts": user.alerts}
    new = {"email": address, "alerts": chosen}
    if old == new:
        return user
    user.email = address
    user.alert_rows = [row for row in user.alert_rows if row.kind in chosen] + [
        UserAlert(kind=k) for k in chosen if k not in old["alerts"]
    ]
    audit.record("user.alerts_changed", "user", user.username, actor=actor, old=old, new=new)
    db.session.commit()
    return user


# --- the outbox -------------------------------------------------------------------------------


def public_link(path: str) -> str:
    """``path`` on the site as people reach it (QA_PUBLIC_URL), never the host of a request."""
    return f"{current_app.config['QA_PUBLIC_URL'].rstrip('/')}/{path.lstrip('/')}"


def local_text(moment: datetime) -> str:
    """A time as the pharmacy reads it: local, with the zone's name."""
    return moment.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M %Z")


def raise_alert(kind: str, cause: str, subject: str, body: str, path: str) -> int:
    """Write one pending alert per active person who chose ``kind`` and has an e-mail address,
    in the caller's transaction (no commit). A cause already alerted to a person is skipped, so
    code that finds the same cause again writes nothing. Returns how many rows were written."""
    return raise_alerts(kind, [Cause(cause, subject, body, path)])


@dataclass(frozen=True)
class Cause:
    """What one alert is about: its cause key, subject, text and the page it links to."""

    cause: str
    subject: str
    body: str
    path: str


ALERT_ROWS_PER_STATEMENT = 500
"""Rows of one INSERT: eleven parameters each, well within SQLite's and PostgreSQL's limits."""


def raise_alerts(kind: str, causes: list[Cause]) -> int:
    """:func:`raise_alert` for many causes of one kind (an import's failing results): the
    recipients read once and the rows written in a few statements. Returns rows written."""
    if kind not in ALERT_KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    if not causes:
        return 0
    recipients = db.session.execute(
        sa.select(User.id, User.email)
        .join(UserAlert, UserAlert.user_id == User.id)
        .where(UserAlert.kind == kind, User.active.is_(True), User.email.is_not(None), User.email != "")
        .order_by(User.id)
    ).all()
    if not recipients:
        return 0
    now = utcnow()
    rows = [
        {
            "user_id": user_id,
            "kind": kind,
            "cause": item.cause[:120],
            "email": email,
            "subject": item.subject[:300],
            "body": item.body,
            "link": public_link(item.path)[:500],
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for item in causes
        for user_id, email in recipients
    ]
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    written = 0
    for first in range(0, len(rows), ALERT_ROWS_PER_STATEMENT):
        chunk = rows[first : first + ALERT_ROWS_PER_STATEMENT]
        stmt = (
            dialect.insert(Alert)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=["user_id", "kind", "cause"])
        )
        written += len(db.session.execute(stmt.returning(Alert.id)).all())
    return written


def message_text(alert: Alert) -> str:
    """The e-mail: what happened, to which record, and where to see it."""
    return f"{alert.body.rstrip()}\n\nOpen the record: {alert.link}\n\n{KIND_WORDS[alert.kind]}: you receive this alert because you chose it under E-mail alerts on your account page.\n"


# --- delivery ---------------------------------------------------------------------------------


@dataclass
class Claimed:
    id: int
    token: str
    attempts: int
    email: str
    subject: str
    text: str


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed delivery: 1, 2, 4 … minutes, at most 60."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), BACKOFF_CAP_MINUTES))


def claim(batch_size: int = 50, now: datetime | None = None) -> list[Claimed]:
    """Claim up to ``batch_size`` alerts due now for this sender, in a short transaction of its own.

    A claimed row is another sender's for five minutes; on PostgreSQL rows being claimed
    elsewhere are skipped (SKIP LOCKED), on SQLite the claims take turns (BEGIN IMMEDIATE)."""
    now = now or utcnow()
    db.session.commit()  # nothing of the caller's is carried into the claim
    stmt = (
        sa.select(Alert)
        .where(
            Alert.status == "pending",
            Alert.next_attempt_at <= now,
            sa.or_(Alert.claimed_until.is_(None), Alert.claimed_until < now),
        )
        .order_by(Alert.next_attempt_at, Alert.id)
        .limit(batch_size)
        .options(so.noload(Alert.user))
    )
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Alert)
    rows = list(db.session.scalars(stmt))
    token = secrets.token_hex(16)
    claimed = []
    for row in rows:
        row.claim_token, row.claimed_until = token, now + CLAIM_FOR
        claimed.append(Claimed(row.id, token, row.attempts, row.email, row.subject, message_text(row)))
    db.session.commit()
    return claimed


def _message(item: Claimed) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["QA_MAIL_FROM"]
    message["To"] = item.email
    message["Subject"] = item.subject
    message["Message-ID"] = make_msgid(domain="qa-alerts")
    message.set_content(item.text)
    return message


def _connect() -> smtplib.SMTP:
    cfg = current_app.config
    smtp = smtplib.SMTP(cfg["QA_SMTP_HOST"], int(cfg["QA_SMTP_PORT"]), timeout=float(cfg["QA_SMTP_TIMEOUT"]))
    try:
        if cfg.get("QA_SMTP_STARTTLS"):
            smtp.starttls()
        if cfg.get("QA_SMTP_USERNAME"):
            smtp.login(cfg["QA_SMTP_USERNAME"], cfg.get("QA_SMTP_PASSWORD") or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _mark_sent(item: Claimed) -> None:
    db.session.execute(
        sa.update(Alert)
        .where(Alert.id == item.id, Alert.claim_token == item.token)
        .values(status="sent", sent_at=utcnow(), claim_token=None, claimed_until=None, last_error=None)
    )
    db.session.commit()


def _mark_failed(item: Claimed, error: str) -> None:
    attempts = item.attempts + 1
    db.session.execute(
        sa.update(Alert)
        .where(Alert.id == item.id, Alert.claim_token == item.token)
        .values(
            attempts=attempts,
            last_error=error[:2000],
            next_attempt_at=utcnow() + backoff(attempts),
            claim_token=None,
            claimed_until=None,
        )
    )
    db.session.commit()


def _error_text(exc: BaseException) -> str:
    host = f"{current_app.config['QA_SMTP_HOST']}:{current_app.config['QA_SMTP_PORT']}"
    return f"Not delivered through {host}: {type(exc).__name__}: {exc}".strip()


def send_batch(items: list[Claimed]) -> SendResult:
    """Deliver claimed alerts over one SMTP connection; each is marked as it goes."""
    result = SendResult()
    if not items:
        return result
    try:
        smtp = _connect()
    except (OSError, smtplib.SMTPException) as exc:
        for item in items:
            _mark_failed(item, _error_text(exc))
        result.failed += len(items)
        return result
    try:
        for item in items:
            try:
                smtp.send_message(_message(item))
            except (OSError, smtplib.SMTPException) as exc:
                _mark_failed(item, _error_text(exc))
                result.failed += 1
            else:
                _mark_sent(item)
                result.sent += 1
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return result


def send_pending(batch_size: int = 50) -> SendResult:
    """Deliver every alert due now; a failed one waits for its next attempt (a later run)."""
    total = SendResult()
    while True:
        items = claim(batch_size)
        if not items:
            return total
        done = send_batch(items)
        total.sent += done.sent
        total.failed += done.failed


# --- the daily scan ---------------------------------------------------------------------------


def scanned_on(today: date) -> bool:
    """Whether the expiry and beyond-use date scan ran on the pharmacy's date ``today``."""
    return (
        db.session.scalar(
            sa.select(AuditEvent.seq)
            .where(AuditEvent.action == SCAN_ACTION, AuditEvent.entity_key == today.isoformat())
            .limit(1)
        )
        is not None
    )


def daily_scan(today: date) -> int | None:
    """Alert lots expiring within 30 days and batches within 14 days of their BUD, once a day.

    Returns how many alerts were written, or None when the scan ran on ``today`` already."""
    if scanned_on(today):
        db.session.rollback()
        return None
    written = 0
    lots = db.session.scalars(
        sa.select(MaterialLot)
        .where(
            MaterialLot.status == "approved",
            MaterialLot.expiry_date >= today,
            MaterialLot.expiry_date <= today + timedelta(days=LOT_EXPIRY_DAYS),
        )
        .order_by(MaterialLot.expiry_date, MaterialLot.barcode)
    ).all()
    for lot in lots:
        days = (lot.expiry_date - today).days
        within = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        written += raise_alert(
            "lot_expiring",
            f"lot:{lot.barcode}:{lot.expiry_date.isoformat()}",
            f"Lot {lot.barcode} ({lot.material.name}) expires on {lot.expiry_date.isoformat()}",
            f"Approved material lot {lot.barcode} of {lot.material.name} (supplier lot "
            f"{lot.supplier_lot}) expires on {lot.expiry_date.isoformat()}, {within}. Batches "
            "compounded after that date cannot use it.",
            f"/lots/{lot.barcode}",
        )
    batches = db.session.scalars(
        sa.select(Batch)
        .where(
            Batch.status.in_(BATCHES_WATCHED_FOR_BUD),
            Batch.bud >= today,
            Batch.bud <= today + timedelta(days=NEAR_BUD_DAYS),
        )
        .order_by(Batch.bud, Batch.lot_number)
    ).all()
    for batch in batches:
        if not compounding.near_bud(batch.bud, today, NEAR_BUD_DAYS):
            continue
        days = (batch.bud - today).days
        within = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        state = (
            "released" if batch.status == "released" else f"not released ({batch.status.replace('_', ' ')})"
        )
        written += raise_alert(
            "batch_near_bud",
            f"batch:{batch.lot_number}:{batch.bud.isoformat()}",
            f"Batch {batch.lot_number} reaches its beyond-use date on {batch.bud.isoformat()}",
            f"Batch {batch.lot_number} ({batch.strength_mg:g} mg, {state}) reaches its beyond-use date "
            f"on {batch.bud.isoformat()}, {within}. It must not be dispensed after that date.",
            f"/batches/{batch.lot_number}",
        )
    audit.record(
        SCAN_ACTION,
        "alerts",
        today.isoformat(),
        username="command line",
        new={"lots_expiring": len(lots), "batches_near_bud": len(batches), "alerts_written": written},
    )
    db.session.commit()
    return written
