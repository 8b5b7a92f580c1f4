"""Reading the audit trail: filters, pages, CSV export and chain verification."""

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import AuditEvent
from qa_app.services import clock
from qa_app.services.pagination import Page, paginate
from qa_app.validation import date_field, search_field

CSV_COLUMNS = (
    "seq",
    "occurred_at",
    "username",
    "action",
    "entity_type",
    "entity_key",
    "old_values",
    "new_values",
    "reason",
    "client_address",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class AuditQuery:
    entity: str | None = None
    key: str | None = None
    action: str | None = None
    username: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "AuditQuery":
        """``entity``, ``key``, ``action``, ``user``, and ``from``/``to``: local dates, both included."""

        def clean(name: str) -> str | None:
            return (args.get(name) or "").strip() or None

        dates = {name: clean(name) for name in ("from", "to")}
        return cls(
            clean("entity"),
            clean("key"),
            search_field(args, "action"),
            clean("user"),
            date_field(dates, "from"),
            date_field(dates, "to"),
        )

    def statement(self, newest_first: bool = False) -> sa.Select:
        stmt = sa.select(AuditEvent)
        if self.entity:
            stmt = stmt.where(AuditEvent.entity_type == self.entity)
        if self.key:
            stmt = stmt.where(AuditEvent.entity_key == self.key)
        if self.action:
            stmt = stmt.where(AuditEvent.action.startswith(self.action))
        if self.username:
            stmt = stmt.where(AuditEvent.username == self.username)
        if self.date_from:
            stmt = stmt.where(AuditEvent.occurred_at >= clock.start_of_local_day(self.date_from))
        if self.date_to:
            stmt = stmt.where(AuditEvent.occurred_at < clock.start_of_local_day(self.date_to, days_after=1))
        return stmt.order_by(AuditEvent.seq.desc() if newest_first else AuditEvent.seq)


def page(query: AuditQuery, page_number: int, per_page: int, newest_first: bool = False) -> Page:
    return paginate(query.statement(newest_first), page_number, per_page)


def _cell(value) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    # A spreadsheet would run a cell that starts like a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(query: AuditQuery) -> Iterator[str]:
    """The matching events as CSV, oldest first, streamed in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    stmt = query.statement().execution_options(yield_per=2000)
    for n, event in enumerate(db.session.scalars(stmt), start=1):
        writer.writerow(
            [
                event.seq,
                event.occurred_at.isoformat(),
                *(_cell(getattr(event, c)) for c in CSV_COLUMNS[2:]),
            ]
        )
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
