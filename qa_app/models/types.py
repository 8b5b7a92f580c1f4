"""Column types shared by the models."""

from datetime import UTC, datetime

import sqlalchemy as sa


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the default of every timestamp column)."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    PostgreSQL keeps it as ``timestamptz``; SQLite has no zone, so the UTC wall time is
    stored and the zone is put back on reading. Naive datetimes are refused: a time without
    a zone is a bug, not an input.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a timestamp must carry its time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
